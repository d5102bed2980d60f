"""The wire's cache hits (pgproxy/cache/hits.py) in-process: what the memo learns from the
full path, when it answers, and when it leaves the request to the full path."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path

import dialects
from pgproxy.backends import from_url
from pgproxy.cache import CacheOptions, QueryCache
from pgproxy.cache.hits import Hits
from pgproxy.core.hooks import Hook, Hooks
from pgproxy.observers import AuditLog, DeadLetterStore, Observers, Subscriber, Watch
from pgproxy.proxy import Proxy
from pgproxy.router import Router
from pgproxy.session import Session
from pgproxy.settings import Settings
from pgproxy.wire import messages as m
from pgproxy.wire.batches import encoder_for, frames_of
from pgproxy.wire.protocol import ServerProtocol, State
from tests.fix_wire import SYNC, frame

DESCRIBE_EXECUTE_SYNC = frame(b"D", b"P\0") + frame(b"E", b"\0" + struct.pack("!i", 0)) + SYNC


def bind_body(statement: str, value: bytes) -> bytes:
    return (b"\0" + statement.encode() + b"\0" + struct.pack("!HH", 0, 1)
            + struct.pack("!i", len(value)) + value + struct.pack("!H", 0))


class Seen(Hook):
    """A statement hook that counts what it is shown."""

    seen = 0

    def after(self, ctx, state, result):
        self.seen += 1
        return result


class Client:
    """A session with the wire's protocol state and reader, driven without sockets."""

    def __init__(self, proxy: Proxy) -> None:
        self.session = Session(proxy, {"user": "u", "database": "app"},
                               proxy.router.resolve("app"), 1, "test")
        self.protocol = ServerProtocol()
        self.protocol.state = State.READY
        self.reader = m.FrameReader()
        self.reader.startup = False
        hits = proxy.hit_path(self.session)
        assert isinstance(hits, Hits)
        self.hits = hits

    async def run(self, prepared, params: list, formats=()) -> list[bytes]:
        """The full path, read to the end as the wire reads it (encoded frames)."""
        result = await self.session.execute(prepared, params, formats)
        out = []
        encode = None
        while not result.done:
            batch = await result.fetch(0)
            if result.columns is not None:
                encode = encode or encoder_for(result.columns, formats, result.style)
                out.append(frames_of(batch, encode))
        await result.close()
        return out

    async def teach(self, statement: str, value: bytes, prepared, params: list) -> list[bytes]:
        """A miss fills the entry; the request then goes the full path once more, a hit
        there, which the memo learns."""
        await self.run(prepared, params)
        assert not self.bind(statement, value)
        return await self.run(prepared, params)

    def bind(self, statement: str, value: bytes, rest: bytes = DESCRIBE_EXECUTE_SYNC) -> bool:
        """Offer a Bind (with `rest` received after it) to the hit path."""
        self.reader.feed(rest)
        answered = self.hits.answer(b"B", bind_body(statement, value), self.protocol, self.reader)
        if not answered:
            self.reader = m.FrameReader()  # what the full path would have read
            self.reader.startup = False
        return answered


def with_proxy(test: Callable[[Proxy], Awaitable[None]], tmp: Path) -> None:
    async def main() -> None:
        proxy = Proxy(Router({"default": from_url(f"sqlite:///{tmp}/t.db")}))
        proxy.pipeline.cache = QueryCache(CacheOptions(enabled=True, ttl=0))
        try:
            await test(proxy)
        finally:
            proxy.close()

    asyncio.run(main())


async def setup(c: Client):
    for sql in ("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
                "INSERT INTO t VALUES (1, 'one'), (2, 'two')"):
        for prepared in await c.session.split(sql):
            await c.run(prepared, [])
    select = await c.session.prepare("SELECT v FROM t WHERE id = $1", [23])
    c.protocol.statements["s"] = select
    return select


def test_a_key_learned_from_the_full_path_answers_the_repeat(tmp_path):
    async def test(proxy: Proxy) -> None:
        c = Client(proxy)
        select = await setup(c)
        full = await c.teach("s", b"1", select, [1])
        c.protocol.take()
        hits = proxy.pipeline.cache.stats.hits
        assert c.bind("s", b"1")
        out = c.protocol.take()
        assert out[0] == m.BIND_COMPLETE and out[1][:1] == b"T"
        assert b"".join(out[2:-1]) == b"".join(full)
        assert out[-1] == m.command_complete("SELECT 1")
        assert proxy.pipeline.cache.stats.hits == hits + 1
        assert c.reader.pending() == 0  # the Describe, Execute and Sync were answered too
        assert not c.bind("s", b"2")  # another value: another key, not in the cache yet
        await c.run(select, [2])  # a miss fills the entry
        # The statement's first request was checked: the memo keys its others itself.
        assert c.bind("s", b"2") and b"two" in b"".join(c.protocol.take())
        assert c.bind("s", b"2") and b"two" in b"".join(c.protocol.take())

    with_proxy(test, tmp_path)


def test_a_key_is_kept_only_for_the_statement_and_values_it_was_computed_for(tmp_path):
    async def test(proxy: Proxy) -> None:
        c, other = Client(proxy), Client(proxy)
        select = await setup(c)
        await c.run(select, [1])
        await c.run(select, [2])  # both entries filled
        assert not c.bind("s", b"1")
        await c.run(select, [2])  # a hit, but not what the Bind said: never answers `1`
        assert not c.bind("s", b"1")  # checked on this repeat, and forgotten
        assert not c.bind("s", b"1")
        await other.run(select, [1])  # another session's hit teaches c nothing
        assert not c.bind("s", b"1")
        await c.run(select, [1])
        assert c.bind("s", b"1") and b"one" in b"".join(c.protocol.take())

    with_proxy(test, tmp_path)


def test_a_changed_session_a_transaction_that_wrote_or_hooks_take_the_full_path(tmp_path):
    async def test(proxy: Proxy) -> None:
        c = Client(proxy)
        select = await setup(c)
        await c.teach("s", b"1", select, [1])
        assert c.bind("s", b"1")
        c.session.apply_setting(dialects.Setting("datestyle", "German"))  # a result setting
        assert not c.bind("s", b"1")
        await c.teach("s", b"1", select, [1])
        assert c.bind("s", b"1")
        c.session.apply_setting(dialects.Setting("datestyle", "ISO, MDY"))
        assert c.bind("s", b"1")  # the state before, as the memo knows it
        c.session.apply_setting(dialects.Setting("application_name", "x"))  # in no key
        assert c.bind("s", b"1")
        assert not c.bind("s", b"1", rest=frame(b"E", b"\0" + struct.pack("!i", 1)) + SYNC)
        for sql in ("BEGIN", "UPDATE t SET v = 'uno' WHERE id = 1"):
            for prepared in await c.session.split(sql):
                await c.run(prepared, [])
        assert not c.bind("s", b"1")  # this transaction wrote t
        assert await c.run(select, [1]) == [m.data_row([b"uno"])]
        for prepared in await c.session.split("ROLLBACK"):
            await c.run(prepared, [])
        hook = Seen()
        proxy.pipeline.hooks.add(hook)
        c.bind("s", b"1")
        await c.run(select, [1])
        assert not c.bind("s", b"1")  # statement hooks see every statement: the full path
        assert hook.seen == 1
        proxy.pipeline.hooks.remove(hook)
        assert c.bind("s", b"1")
        c.protocol.state = State.EXTENDED  # after a Parse in the same extended query
        c.protocol.describe_pending = "p"  # … but a Describe before the Bind waits
        assert not c.bind("s", b"1")
        c.protocol.describe_pending = None
        assert c.bind("s", b"1")
        c.protocol.state = State.DISCARD
        assert not c.bind("s", b"1")

    with_proxy(test, tmp_path)


def test_what_one_session_learned_answers_another_in_the_same_state(tmp_path):
    async def test(proxy: Proxy) -> None:
        c, other = Client(proxy), Client(proxy)
        select = await setup(c)
        other.protocol.statements["s"] = await other.session.prepare(
            "SELECT v FROM t WHERE id = $1", [23])
        await c.teach("s", b"1", select, [1])
        assert other.bind("s", b"1") and b"one" in b"".join(other.protocol.take())
        other.session.apply_setting(dialects.Setting("timezone", "Asia/Tokyo"))
        assert not other.bind("s", b"1")  # another state: its own key
        # A statement binding a value of the session's own is never learned.
        mine = await c.session.prepare(
            "SELECT v, current_setting('application_name') FROM t WHERE id = $1", [23])
        c.protocol.statements["mine"] = mine
        for _ in range(3):
            assert not c.bind("mine", b"1")
            await c.run(mine, [1])

    with_proxy(test, tmp_path)


def test_a_request_read_whole_is_answered_with_one_reply_before_any_task(tmp_path):
    async def test(proxy: Proxy) -> None:
        c = Client(proxy)
        select = await setup(c)
        request = frame(b"B", bind_body("s", b"1")) + DESCRIBE_EXECUTE_SYNC
        assert c.hits.at_wire(request, c.protocol) is None  # not in the memo yet
        assert not c.bind("s", b"1")  # the request at_wire missed: no second lookup ...
        await c.run(select, [1])  # ... and the full path's miss fills the entry
        assert c.hits.at_wire(request, c.protocol) is None
        assert not c.bind("s", b"1")
        await c.run(select, [1])  # a hit on the full path: learned for what at_wire missed
        c.protocol.take()
        assert c.bind("s", b"1")
        answered = b"".join(c.protocol.take())
        hits = proxy.pipeline.cache.stats.hits
        reply = c.hits.at_wire(request, c.protocol)
        assert reply == answered + m.READY_IDLE  # the full path's bytes and ReadyForQuery
        assert proxy.pipeline.cache.stats.hits == hits + 1 and not c.protocol.out
        assert c.hits.at_wire(b"Q" + struct.pack("!i", 5) + b"x", c.protocol) is None
        # Only a request whole in the bytes and nothing else, from a ready connection
        # outside a transaction block with no portal open: else the connection's task.
        for data in (request[:-1], request + SYNC, request + request,
                     frame(b"B", bind_body("s", b"1")) + frame(b"H")):
            assert c.hits.at_wire(data, c.protocol) is None
        c.protocol.state = State.EXTENDED
        assert c.hits.at_wire(request, c.protocol) is None
        c.protocol.state = State.READY
        for prepared in await c.session.split("BEGIN"):
            await c.run(prepared, [])
        assert c.hits.at_wire(request, c.protocol) is None
        for prepared in await c.session.split("COMMIT"):
            await c.run(prepared, [])
        assert c.hits.at_wire(request, c.protocol) == reply
        # A statement of the name parsed again: the memo's number for the old one is not
        # the new one's.
        c.protocol.statements["s"] = await c.session.prepare("SELECT v || v FROM t WHERE id = $1",
                                                             [23])
        assert c.hits.at_wire(request, c.protocol) is None

    with_proxy(test, tmp_path)


def test_a_checked_statement_keys_requests_never_seen_as_the_full_path_does(tmp_path):
    async def test(proxy: Proxy) -> None:
        c, other = Client(proxy), Client(proxy)
        select = await setup(c)
        other.protocol.statements["o"] = await other.session.prepare(
            "SELECT v FROM t WHERE id = $1", [23])
        await c.teach("s", b"1", select, [1])
        assert c.bind("s", b"1")  # checked: the statement has a plan in this state
        full = await other.run(other.protocol.statements["o"], [2])  # another session fills 2
        c.protocol.take()
        assert c.bind("s", b"2")  # never seen by c: keyed from its Bind
        out = c.protocol.take()
        assert b"".join(out[2:-1]) == b"".join(full)
        assert other.bind("o", b"2")  # the same statement in the same state: the same plan
        request = frame(b"B", bind_body("s", b"1")) + DESCRIBE_EXECUTE_SYNC
        assert c.hits.at_wire(request.replace(b"\x011", b"\x012"), c.protocol) is not None
        c.session.apply_setting(dialects.Setting("datestyle", "German"))
        assert not c.bind("s", b"2")  # another state: its own plan, learned anew
        c.session.apply_setting(dialects.Setting("datestyle", "ISO, MDY"))
        await c.run(select, [1])  # translated again for the session's new target
        assert c.bind("s", b"1")  # a memo hit numbers the state the session is in
        # Keys made for nothing lower the plan's score: then it is tried now and then.
        for i in range(100, 140):
            assert not c.bind("s", str(i).encode())
        plans = list(proxy.pipeline.cache.memo.plans.values())
        assert any(p.score <= 0 and p.skipped > 0 for p in plans)
        await c.run(select, [1])
        assert c.bind("s", b"1")  # what the memo knows by its bytes is answered still

    with_proxy(test, tmp_path)


def test_a_checked_query_keys_texts_of_its_shape_never_seen(tmp_path):
    async def test(proxy: Proxy) -> None:
        c, other = Client(proxy), Client(proxy)
        await setup(c)

        async def query(client: Client, sql: str) -> bool:
            """The wire's way: the hit path first, else the full path."""
            body = sql.encode() + b"\0"
            if client.hits.answer(b"Q", body, client.protocol, client.reader):
                return True
            for prepared in await client.session.split(sql):
                await client.run(prepared, [])
            return False

        one = "SELECT v FROM t WHERE id = 1"
        assert not await query(c, one)  # a miss fills the entry
        assert not await query(c, one)  # a hit on the full path: learned
        assert await query(c, one)  # checked: the statement of its shape has a plan
        assert not await query(other, "SELECT v FROM t WHERE id = 2")  # another fills 2
        reply = c.hits.at_wire(query_frame("SELECT v FROM t WHERE id = 2"), c.protocol)
        assert reply is not None and b"two" in reply and reply.endswith(m.READY_IDLE)
        assert c.hits.at_wire(query_frame("SELECT v FROM t WHERE id = 2"), c.protocol) == reply
        assert c.hits.at_wire(query_frame("SELECT v, v FROM t WHERE id = 2"), c.protocol) is None
        assert c.hits.at_wire(query_frame("SELECT v FROM t WHERE id = 9"), c.protocol) is None

    with_proxy(test, tmp_path)


def query_frame(sql: str) -> bytes:
    return frame(b"Q", sql.encode() + b"\0")


def test_result_key_is_rebuilt_on_any_set():
    """hits.py compares result_key() by identity to know that no setting changed."""
    settings = Settings({})
    key = settings.result_key()
    assert settings.result_key() is key
    settings.set("application_name", "x")  # not one of RESULT_SETTINGS
    assert settings.result_key() is not key and settings.result_key() == key


def test_frame_reader_peeks_and_skips_whole_messages():
    reader = m.FrameReader()
    reader.startup = False
    reader.feed(SYNC + frame(b"H"))
    assert reader.unread_starts(SYNC) and not reader.unread_starts(frame(b"H"))
    reader.skip(len(SYNC))
    assert reader.next() == (b"H", b"")


def test_a_hit_answered_here_is_reported_to_the_observers(tmp_path):
    async def test(proxy: Proxy) -> None:
        audit = tmp_path / "audit.jsonl"
        observers = Observers([Subscriber("audit", AuditLog(str(audit)), linger=0)],
                              DeadLetterStore())
        await observers.start()
        proxy.watch = Watch.build(observers, None)
        try:
            c = Client(proxy)
            select = await setup(c)
            await c.teach("s", b"1", select, [1])  # a miss, then the full path's hit
            assert c.bind("s", b"1")  # observers keep hits on the fast path
            assert c.bind("s", b"2") is False  # a request not learned yet: the full path
            assert proxy.watch is not None and proxy.watch.counters()["statements"] >= 4
            await observers.flush()
        finally:
            proxy.watch = None
            await observers.stop()
        events = [json.loads(line) for line in audit.read_text().splitlines()]
        reads = [(e["cache_hit"], e["rows"], e["tag"], e["tables"]) for e in events
                 if e["type"] == "statement" and e["operation"] == "select"]
        assert reads == [(False, 1, "SELECT 1", ["t"]), (True, 1, "SELECT 1", ["t"]),
                         (True, 1, "SELECT 1", ["t"])]
        ids = [int(e["id"].rpartition("-")[2]) for e in events]
        assert ids == sorted(ids)  # in the order the statements ran

    with_proxy(test, tmp_path)


def test_telemetry_keeps_hits_on_the_full_path(tmp_path):
    watch = Watch(None, object())  # type: ignore[arg-type]  # any telemetry: spans need the path
    hooks = Hooks()
    hooks.add(watch)
    assert hooks.wraps and hooks.answered is None
    hooks.remove(watch)
    plain = Watch(Observers([Subscriber("audit", AuditLog(str(tmp_path / "a.jsonl")))],
                            DeadLetterStore()), None)
    hooks.add(plain)
    hooks.add(Seen())  # a second hook that wraps: the full path for every statement
    assert hooks.answered is None
    hooks.remove(hooks.statement[-1])
    assert hooks.answered == plain.answered
