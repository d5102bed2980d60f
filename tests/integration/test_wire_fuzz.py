"""A wire fuzzer: seeded hypothesis cases of startup, authentication and post-auth messages.

Each case opens a raw socket to a real proxy process and sends what the
strategies built: startup packets with bad lengths, codes and parameters;
SASL and password messages of any shape; Query, Parse, Bind, Describe,
Execute, Close, Sync and Flush with hostile counts, lengths, format codes,
type OIDs, values and SQL, plus frames of unknown types and lying lengths.
After every case the proxy must still serve a fresh psycopg connection, no
reply may carry XX000, and its RSS must stay bounded; at the end its log must
hold no traceback.

Deterministic (derandomized): the CI run is PGPROXY_FUZZ_EXAMPLES cases per
phase (default 150; keep the file under a minute), more with a larger value:

    PGPROXY_FUZZ_EXAMPLES=5000 python -m pytest tests/integration/test_wire_fuzz.py
"""

from __future__ import annotations

import os
import socket
import struct

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgproxy import pgtypes as t
from pgproxy.types import CODECS
from tests.fix_proxy import ProxyProcess, run_proxy
from tests.fix_wire import SYNC, RawClient, frame, query, startup

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("PGPROXY_FUZZ_EXAMPLES", "150"))
RSS_LIMIT_KB = 400_000
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run: a failure reproduces
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@pytest.fixture(scope="module")
def proxies(tmp_path_factory: pytest.TempPathFactory):
    """A trusting proxy (no users) and a guarded one (SCRAM), short authentication_timeout."""
    where = tmp_path_factory.mktemp("fuzz")
    config = "[server]\nauthentication_timeout = 2\n"
    with (
        run_proxy(f"sqlite:///{where}/trust.db", config=config) as trusting,
        run_proxy(
            f"sqlite:///{where}/guarded.db", config=config, users={"alice": "secret"}
        ) as guarded,
    ):
        yield trusting, guarded
        for proxy in (trusting, guarded):
            log = proxy.log()
            assert "Traceback" not in log, log[-6000:]
            assert "internal error" not in log, log[-6000:]


# ---------------------------------------------------------------- strategies

i16 = st.integers(-(2**15), 2**15 - 1)
i32 = st.one_of(st.integers(-(2**31), 2**31 - 1), st.sampled_from([0, -1, 1, 2**31 - 1]))
u16 = st.integers(0, 2**16 - 1)
cstring = st.one_of(
    st.text(max_size=12).map(lambda s: s.replace("\0", "").encode()),
    st.binary(max_size=12).map(lambda b: b.replace(b"\0", b"")),
)
OIDS = sorted(CODECS)
oid = st.one_of(st.sampled_from(OIDS), st.sampled_from([0, 705, 2249]), i32)

# SQL pieces that have broken or stressed something: $n, brackets, casts,
# literals of every kind, comments, invalid UTF-8, NUL.
_PIECES = [
    "SELECT ",
    "$",
    "1",
    "0",
    "65536",
    "2147483648",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "'",
    '"',
    "+",
    "-",
    "*",
    "/",
    "||",
    "::int",
    "::int[]",
    "::numeric",
    "::interval",
    "::date",
    "::bytea",
    "ARRAY",
    "CASE WHEN true THEN ",
    " END",
    ",",
    ";",
    " AND ",
    " OR ",
    "NOT ",
    "E'\\",
    "'\\x",
    "--",
    "/*",
    "*/",
    "$$",
    "$a$",
    "\xff",
    "\x00",
    "9" * 30,
    "1e999999999",
    "'{{1},{2,3}}'",
    "'99999999999 years'",
    "interval ",
    " FROM t",
    " WHERE ",
    "x",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SET ",
    "SHOW ",
    "DECLARE c CURSOR FOR ",
    "FETCH ",
    "pg_catalog.pg_class",
    "SAVEPOINT s",
    "COPY ",
    "\\",
    "\n",
]
sql = st.one_of(
    st.lists(st.sampled_from(_PIECES), max_size=30).map("".join),
    # A few pieces repeated thousands of times: deep nesting and long chains.
    st.tuples(
        st.sampled_from(
            ["(", "[", "1+", "ARRAY[", "CASE WHEN true THEN ", "::int", "NOT ", "-", "'", "$1"]
        ),
        st.integers(0, 6000),
    ).map(lambda p: "SELECT " + p[0] * p[1] + "1"),
    st.text(max_size=60),
).map(lambda s: s.encode("utf-8", "surrogatepass"))


def _array(ndim: int, flags: int, elem: int, dims: list[int], items: list[bytes | None]) -> bytes:
    out = struct.pack("!iii", ndim, flags, elem)
    out += b"".join(struct.pack("!ii", d, 1) for d in dims)
    for item in items:
        out += struct.pack("!i", -1) if item is None else struct.pack("!i", len(item)) + item
    return out


value = st.one_of(
    st.none(),
    st.binary(max_size=24),
    st.sampled_from(
        [
            b"\xc3\x28",
            b"\xff",
            b"\x00",
            b"{{1},{2,3}}",
            b"{" * 1001 + b"}" * 1001,
            b"1e999999999",
            b"99999999999 years",
            b"NaN",
            b"infinity",
            b"9" * 5000,
            b"-",
            b"P99999999999Y",
            b"24:00:00",
            b"{}",
        ]
    ),
    st.builds(
        _array,
        st.integers(-2, 8),
        st.integers(-1, 2),
        oid,
        st.lists(st.one_of(st.integers(-2, 4), i32), max_size=7),
        st.lists(st.one_of(st.none(), st.binary(max_size=9)), max_size=6),
    ),
    st.builds(
        lambda n, w, s, d, g: struct.pack("!hhHH", n, w, s, d) + g,
        i16,
        i16,
        st.sampled_from([0, 0x4000, 0xC000, 0xD000, 0xF000, 1]),
        u16,
        st.binary(max_size=16),
    ),
    st.builds(struct.pack, st.just("!qii"), st.integers(-(2**63), 2**63 - 1), i32, i32),
)


def _bind(
    portal: bytes,
    name: bytes,
    formats: list[int],
    values: list[bytes | None],
    results: list[int],
    count_lie: int,
) -> bytes:
    body = portal + b"\0" + name + b"\0" + struct.pack("!H", len(formats))
    body += b"".join(struct.pack("!h", f) for f in formats)
    body += struct.pack("!H", (len(values) + count_lie) % 65536)
    for v in values:
        body += struct.pack("!i", -1) if v is None else struct.pack("!i", len(v)) + v
    body += struct.pack("!H", len(results)) + b"".join(struct.pack("!h", f) for f in results)
    return frame(b"B", body)


fmt = st.one_of(st.sampled_from([0, 1]), i16)
name = st.one_of(st.just(b""), cstring)
message = st.one_of(
    st.builds(lambda q: frame(b"Q", q + b"\0"), sql),
    st.builds(
        lambda n, q, types, lie: frame(
            b"P",
            n
            + b"\0"
            + q
            + b"\0"
            + struct.pack("!H", (len(types) + lie) % 65536)
            + b"".join(struct.pack("!i", x) for x in types),
        ),
        name,
        sql,
        st.lists(oid, max_size=4),
        st.sampled_from([0, 0, 1, 65535]),
    ),
    st.builds(
        _bind,
        name,
        name,
        st.lists(fmt, max_size=3),
        st.lists(value, max_size=4),
        st.lists(fmt, max_size=3),
        st.sampled_from([0, 0, 0, 1, -1, 65535]),
    ),
    st.builds(lambda k, n: frame(b"D", k + n + b"\0"), st.sampled_from([b"S", b"P", b"X"]), name),
    st.builds(lambda n, rows: frame(b"E", n + b"\0" + struct.pack("!i", rows)), name, i32),
    st.builds(lambda k, n: frame(b"C", k + n + b"\0"), st.sampled_from([b"S", b"P", b"?"]), name),
    st.just(SYNC),
    st.just(frame(b"H")),
    # Any type byte, any body, and a length that may lie about either.
    st.builds(
        lambda ty, body: frame(ty, body), st.binary(min_size=1, max_size=1), st.binary(max_size=40)
    ),
    st.builds(
        lambda ty, length, body: ty + struct.pack("!i", length) + body,
        st.binary(min_size=1, max_size=1),
        i32,
        st.binary(max_size=40),
    ),
)

startup_packet = st.one_of(
    st.builds(
        lambda params: startup(**params),
        st.dictionaries(
            st.sampled_from(
                [
                    "application_name",
                    "options",
                    "client_encoding",
                    "_pq_.x",
                    "replication",
                    "DateStyle",
                ]
            ),
            st.text(max_size=20).map(lambda s: s.replace("\0", "")),
            max_size=3,
        ),
    ),
    st.builds(
        lambda code, body: struct.pack("!ii", len(body) + 8, code) + body,
        st.one_of(
            i32, st.sampled_from([196608, 196609, 131072, 80877103, 80877104, 80877102, 80877105])
        ),
        st.binary(max_size=60),
    ),
    st.builds(lambda length, body: struct.pack("!i", length) + body, i32, st.binary(max_size=60)),
    st.binary(max_size=64),
    # SSLRequest or GSSENCRequest, then a startup packet in the clear.
    st.builds(
        lambda code: struct.pack("!ii", 8, code) + startup(), st.sampled_from([80877103, 80877104])
    ),
)

sasl = st.one_of(
    st.builds(
        lambda mech, length, data: frame(b"p", mech + b"\0" + struct.pack("!i", length) + data),
        st.sampled_from([b"SCRAM-SHA-256", b"SCRAM-SHA-256-PLUS", b"", b"PLAIN"]),
        st.one_of(st.just(-1), i32, st.integers(0, 80)),
        st.one_of(
            st.binary(max_size=80),
            st.builds(
                lambda gs2, user, nonce: gs2 + b",,n=" + user + b",r=" + nonce,
                st.sampled_from([b"n", b"y", b"p=tls-server-end-point", b"x"]),
                cstring,
                cstring,
            ),
        ),
    ),
    st.builds(lambda body: frame(b"p", body), st.binary(max_size=80)),
    message,
)


# ---------------------------------------------------------------- the cases


END = query("SELECT 'fuzz-end'")


def _run(proxy: ProxyProcess, data: bytes, login: bytes = b"") -> None:
    codes: list[str] = []
    with RawClient(proxy.host, proxy.port, timeout=5) as client:
        try:
            if login:
                client.send(login)
                codes += client.reply(timeout=5, until=b"RZ").sqlstates
            # The case, then a Sync and a marker query: once the marker's answer is
            # back, every reply to the case has been read.
            client.send(data + SYNC + END)
        except OSError:  # the proxy already closed on a protocol violation
            pass
        while True:
            reply = client.reply(timeout=0.5)
            codes += reply.sqlstates
            if reply.closed or [b"fuzz-end"] in reply.rows():
                break
            if not reply.messages:
                # A frame whose length promised more: the proxy waits for it. End our
                # side; it must close without a word more than an error.
                client.sock.shutdown(socket.SHUT_WR)
                codes += client.reply(timeout=5, until=b"").sqlstates
                break
    assert "XX000" not in codes, codes
    assert proxy.alive(), proxy.log()[-4000:]
    with psycopg.connect(proxy.dsn(), autocommit=True, connect_timeout=10) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert proxy.rss_kb() < RSS_LIMIT_KB, proxy.rss_kb()


@FUZZ
@given(packet=startup_packet, rest=st.lists(message, max_size=3))
def test_fuzz_startup(proxies, packet, rest):
    trusting, _ = proxies
    _run(trusting, packet + b"".join(rest))


@FUZZ
@given(replies=st.lists(sasl, min_size=1, max_size=3))
def test_fuzz_authentication(proxies, replies):
    _, guarded = proxies
    _run(guarded, b"".join(replies), login=startup(user="alice"))


@FUZZ
@given(messages=st.lists(message, min_size=1, max_size=8))
def test_fuzz_after_authentication(proxies, messages):
    trusting, _ = proxies
    _run(trusting, b"".join(messages), login=startup())


def test_the_strategies_reach_each_message_type():
    """Not a fuzz case: the message strategy covers every frontend type it claims to."""
    seen: set[bytes] = set()

    @settings(max_examples=300, derandomize=True, database=None)
    @given(message)
    def collect(m: bytes) -> None:
        seen.add(m[:1])

    collect()
    assert {b"Q", b"P", b"B", b"D", b"E", b"C", b"S", b"H"} <= seen
    assert t.INT4 in OIDS
