"""Server-side authentication: payload bytes, method choice, and each exchange.

The client side of every exchange is written here from the RFCs and from what
libpq sends, independently of pgproxy's code, so a bug shared by both sides
cannot hide.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import struct

import pytest

from pgproxy import errors
from pgproxy.users import (
    Md5Secret,
    PlainSecret,
    ScramSecret,
    UserStore,
    md5_hash,
    parse_secret,
    saslprep,
    scram_verifier,
)
from pgproxy.wire import auth
from pgproxy.wire.auth import AuthMethod, Exchange

# Made by PostgreSQL 15 (CREATE ROLE ... PASSWORD; SELECT rolpassword FROM pg_authid).
PG_VERIFIERS = {
    "pencil": "SCRAM-SHA-256$4096:rikEUuw6BNt/Ut55RZP2fQ==$RzibO0/LpMKIkiLpdtwzgo8sN7WBs0"
    "curIoKK8xRkcM=:phYe4K5FTq5MY0rk1CKp0lsj/UKNIGO6F3gkZGeGjqw=",
    # 'I' SOFT HYPHEN 'X': SASLprep maps the hyphen to nothing.
    "I\u00adX": "SCRAM-SHA-256$4096:KV93XooyGqd5pbvzsBvBgw==$VIepT19tiUGoYerH0LfmFc2oaEpSAJL"
    "8Dvn7/ruxYys=:X85BJlWSQbLQ0+GmdJIKID90f0McUbBvCNB1xjuND4Q=",
    # ROMAN NUMERAL NINE: NFKC makes it "IX".
    "\u2168": "SCRAM-SHA-256$4096:qI26nqpsejruAbgw9BNVrw==$1COABU1JsJS4n8maSUchaM5dtl2uxm7E"
    "iFaQ5DBVAUA=:mNZYXlgLzgT209GIrIztsGUDujJ3hOmCGTTOnqsgHEM=",
    # Arabic letter then Latin: fails the bidi rule, so both ends use raw bytes.
    "\u0627x": "SCRAM-SHA-256$4096:+aL0A5q93fqY3wV4LQmk/A==$BBRCFCMkH74fjZVuFv1NFL7z4+sZY5aC"
    "YoS0bRBIfqE=:iz8kyCNjImMpoRl7j02WpkbfZVBdPIN3yDPuy5bqyjM=",
}
PG_MD5_CAROL_PENCIL = "md5bd9b2f028f0da30651d603cf780feee9"  # password_encryption = md5


# ---------------------------------------------------------------- a client, from RFC 5802


class ScramClient:
    """SCRAM-SHA-256 client side as RFC 5802 section 3 describes it."""

    def __init__(
        self,
        password: str,
        nonce: str,
        *,
        user: str = "",
        gs2: str = "n,,",
        cbind_data: bytes = b"",
    ) -> None:
        self.password = password.encode()
        self.gs2 = gs2
        self.cbind_data = cbind_data
        self.first_bare = f"n={user},r={nonce}"
        self.nonce = nonce

    def first(self) -> str:
        return self.gs2 + self.first_bare

    def final(self, server_first: str) -> str:
        fields = dict(kv.split("=", 1) for kv in server_first.split(","))
        assert fields["r"].startswith(self.nonce)
        salted = hashlib.pbkdf2_hmac(
            "sha256", self.password, base64.b64decode(fields["s"]), int(fields["i"])
        )
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored_key = hashlib.sha256(client_key).digest()
        cbind = base64.b64encode(self.gs2.encode() + self.cbind_data).decode()
        without_proof = f"c={cbind},r={fields['r']}"
        auth_message = f"{self.first_bare},{server_first},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, "sha256").digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        server_key = hmac.new(salted, b"Server Key", "sha256").digest()
        self.expected_v = base64.b64encode(
            hmac.new(server_key, auth_message, "sha256").digest()
        ).decode()
        return f"{without_proof},p={base64.b64encode(proof).decode()}"


def sasl_initial(mechanism: str, data: bytes | None) -> bytes:
    """SASLInitialResponse body, as libpq builds it."""
    if data is None:
        return mechanism.encode() + b"\0" + struct.pack("!i", -1)
    return mechanism.encode() + b"\0" + struct.pack("!i", len(data)) + data


def code_of(payload: bytes) -> int:
    return struct.unpack("!i", payload[:4])[0]


def scram_login(exchange: Exchange, client: ScramClient, mechanism: str = "SCRAM-SHA-256") -> str:
    """Run a whole SCRAM exchange; returns the server's v= value."""
    request = exchange.first()
    assert request is not None and code_of(request) == auth.AUTH_SASL
    request, final = exchange.step(sasl_initial(mechanism, client.first().encode()))
    assert final is None and request is not None and code_of(request) == auth.AUTH_SASL_CONTINUE
    request, final = exchange.step(client.final(request[4:].decode()).encode())
    assert request is None and final is not None and code_of(final) == auth.AUTH_SASL_FINAL
    return final[4:].decode()


def libpq_md5(password: str, user: str, salt: bytes) -> bytes:
    """What libpq's pg_password_sendauth sends for AUTH_REQ_MD5 (without the NUL)."""
    inner = hashlib.md5((password + user).encode()).hexdigest()
    return b"md5" + hashlib.md5(inner.encode() + salt).hexdigest().encode()


# ---------------------------------------------------------------- payload bytes


def test_authentication_request_payloads_are_exact_bytes():
    assert auth.auth_ok() == b"\x00\x00\x00\x00"
    assert auth.auth_cleartext_password() == b"\x00\x00\x00\x03"
    assert auth.auth_md5_password(b"\x01\x02\x03\x04") == b"\x00\x00\x00\x05\x01\x02\x03\x04"
    assert auth.auth_sasl(["SCRAM-SHA-256"]) == b"\x00\x00\x00\x0aSCRAM-SHA-256\x00\x00"
    assert (
        auth.auth_sasl(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"])
        == b"\x00\x00\x00\x0aSCRAM-SHA-256-PLUS\x00SCRAM-SHA-256\x00\x00"
    )
    assert auth.auth_sasl_continue(b"r=x") == b"\x00\x00\x00\x0br=x"
    assert auth.auth_sasl_final(b"v=y") == b"\x00\x00\x00\x0cv=y"


def test_sasl_offer_has_no_plus_without_channel_binding_data():
    exchange = Exchange("alice", AuthMethod.SCRAM_SHA_256, UserStore({"alice": "pw"}))
    assert exchange.first() == b"\x00\x00\x00\x0aSCRAM-SHA-256\x00\x00"
    assert exchange.expecting == "SASL response"


# ---------------------------------------------------------------- method choice


@pytest.mark.parametrize(
    ("users", "loopback", "remote", "method", "expected"),
    [
        ({}, True, False, None, AuthMethod.TRUST),
        ({}, False, True, None, AuthMethod.TRUST),
        ({"alice": "pw"}, True, False, None, AuthMethod.SCRAM_SHA_256),
        ({"alice": PG_MD5_CAROL_PENCIL}, True, False, None, AuthMethod.MD5),
        ({"alice": "pw"}, True, False, "md5", AuthMethod.MD5),
        ({"alice": PG_VERIFIERS["pencil"]}, True, False, "md5", AuthMethod.SCRAM_SHA_256),
        ({"alice": PG_MD5_CAROL_PENCIL}, True, False, "scram-sha-256", AuthMethod.SCRAM_SHA_256),
        ({"alice": "pw"}, False, False, "password", AuthMethod.PASSWORD),
        ({"alice": "pw"}, True, False, "trust", AuthMethod.TRUST),
        # an unknown user gets what a plain-password user would
        ({"bob": "pw"}, True, False, None, AuthMethod.SCRAM_SHA_256),
        ({"bob": PG_MD5_CAROL_PENCIL}, True, False, "md5", AuthMethod.MD5),
    ],
)
def test_auth_method_for(users, loopback, remote, method, expected):
    got = auth.auth_method_for(
        "alice", users, loopback=loopback, allow_remote_trust=remote, method=method
    )
    assert got is expected


@pytest.mark.parametrize("users", [{}, {"alice": "pw"}])
def test_trust_on_a_remote_listener_needs_explicit_permission(users):
    method = "trust" if users else None
    with pytest.raises(errors.InvalidAuthorizationSpecification) as info:
        auth.auth_method_for("alice", users, loopback=False, method=method)
    assert info.value.sqlstate == "28000"


def test_trust_exchange_asks_nothing():
    exchange = auth.start("anyone", None, loopback=True)
    assert exchange.first() is None
    assert exchange.succeeded


def test_unknown_method_name_is_refused():
    with pytest.raises(ValueError):
        auth.auth_method_for("alice", {"alice": "pw"}, loopback=True, method="ident")


# ---------------------------------------------------------------- SCRAM-SHA-256


def test_rfc7677_example(monkeypatch):
    # RFC 7677 section 3: user "user", password "pencil".
    monkeypatch.setattr(auth, "_server_nonce_suffix", lambda: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
    secret = ScramSecret.from_password(
        "pencil", salt=base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ=="), iterations=4096
    )
    exchange = Exchange("user", AuthMethod.SCRAM_SHA_256, UserStore({"user": secret}))
    exchange.first()
    request, _ = exchange.step(sasl_initial("SCRAM-SHA-256", b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"))
    assert request == auth.auth_sasl_continue(
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    )
    request, final = exchange.step(
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    assert request is None
    assert final == auth.auth_sasl_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    assert exchange.succeeded


@pytest.mark.parametrize("secret", ["pencil", PG_VERIFIERS["pencil"]])
def test_scram_login_as_libpq_does_it(secret):
    # libpq sends an empty n= and the 'n' flag when it has no TLS.
    exchange = auth.start("alice", UserStore({"alice": secret}), loopback=False)
    client = ScramClient("pencil", "fyko+d2lbbFgONRv9qkxdawL")
    assert scram_login(exchange, client) == "v=" + client.expected_v
    assert exchange.succeeded


def test_scram_ignores_the_user_name_in_the_message():
    exchange = auth.start("alice", {"alice": "pencil"}, loopback=True)
    client = ScramClient("pencil", "abcdefghijkl", user="mallory")
    assert scram_login(exchange, client) == "v=" + client.expected_v


def test_scram_y_flag_when_no_plus_was_offered():
    exchange = auth.start("alice", {"alice": "pencil"}, loopback=True)
    client = ScramClient("pencil", "abcdefghijkl", gs2="y,,")
    assert scram_login(exchange, client) == "v=" + client.expected_v


def test_scram_initial_response_without_data():
    exchange = Exchange("alice", AuthMethod.SCRAM_SHA_256, UserStore({"alice": "pencil"}))
    exchange.first()
    request, _ = exchange.step(sasl_initial("SCRAM-SHA-256", None))
    assert request == auth.auth_sasl_continue(b"")
    client = ScramClient("pencil", "abcdefghijkl")
    request, _ = exchange.step(client.first().encode())
    assert code_of(request) == auth.AUTH_SASL_CONTINUE
    _, final = exchange.step(client.final(request[4:].decode()).encode())
    assert final == auth.auth_sasl_final(b"v=" + client.expected_v.encode())


@pytest.mark.parametrize("password", list(PG_VERIFIERS))
def test_scram_against_postgresql_verifiers_with_saslprep(password):
    exchange = auth.start("u", {"u": PG_VERIFIERS[password]}, loopback=True)
    prepared = saslprep(password)
    client = ScramClient(prepared if prepared is not None else password, "n0nce")
    scram_login(exchange, client)
    assert exchange.succeeded


def test_scram_wrong_password_is_28p01():
    exchange = auth.start("alice", {"alice": "pencil"}, loopback=True)
    with pytest.raises(errors.InvalidPassword) as info:
        scram_login(exchange, ScramClient("pencel", "abcdefghijkl"))
    assert info.value.sqlstate == "28P01"
    assert info.value.message == 'password authentication failed for user "alice"'
    assert not exchange.succeeded
    with pytest.raises(errors.ProtocolViolation):
        exchange.step(b"anything")  # a failed exchange stays failed


def _server_first(user: str, users: UserStore) -> dict[str, str]:
    exchange = auth.start(user, users, loopback=True)
    exchange.first()
    request, _ = exchange.step(sasl_initial("SCRAM-SHA-256", b"n,,n=,r=abc"))
    return dict(kv.split("=", 1) for kv in request[4:].decode().split(","))


def test_unknown_user_looks_like_a_real_one_until_the_proof():
    users = UserStore({"alice": "pencil"})
    real, fake = _server_first("alice", users), _server_first("nobody", users)
    assert real.keys() == fake.keys()
    assert real["i"] == fake["i"] == "4096"
    assert len(base64.b64decode(real["s"])) == len(base64.b64decode(fake["s"])) == 16
    # Salts are stable per name, for real and unknown users alike, even when
    # the store is rebuilt (as a caller passing a plain dict does).
    assert _server_first("nobody", UserStore({"alice": "pencil"}))["s"] == fake["s"]
    assert _server_first("alice", UserStore({"alice": "pencil"}))["s"] == real["s"]
    exchange = auth.start("nobody", users, loopback=True)
    with pytest.raises(errors.InvalidPassword) as info:
        scram_login(exchange, ScramClient("pencil", "abc"))
    assert info.value.message == 'password authentication failed for user "nobody"'


def test_md5_only_user_cannot_pass_explicit_scram():
    exchange = auth.start(
        "carol", {"carol": PG_MD5_CAROL_PENCIL}, loopback=True, method="scram-sha-256"
    )
    with pytest.raises(errors.InvalidPassword):
        scram_login(exchange, ScramClient("pencil", "abc"))


def _after_first(exchange: Exchange, first: bytes, mechanism: str = "SCRAM-SHA-256") -> bytes:
    exchange.first()
    request, _ = exchange.step(sasl_initial(mechanism, first))
    return request[4:]


@pytest.mark.parametrize(
    ("mechanism", "first", "error"),
    [
        ("SCRAM-SHA-1", b"n,,n=,r=abc", errors.ProtocolViolation),
        ("SCRAM-SHA-256-PLUS", b"p=tls-server-end-point,,n=,r=abc", errors.ProtocolViolation),
        ("SCRAM-SHA-256", b"p=tls-server-end-point,,n=,r=abc", errors.ProtocolViolation),
        ("SCRAM-SHA-256", b"x,,n=,r=abc", errors.ProtocolViolation),
        ("SCRAM-SHA-256", b"n,a=admin,n=,r=abc", errors.FeatureNotSupported),
        ("SCRAM-SHA-256", b"n,,m=ext,n=,r=abc", errors.FeatureNotSupported),
        ("SCRAM-SHA-256", b"n,,n=,r=", errors.ProtocolViolation),
        ("SCRAM-SHA-256", b"n,,r=abc", errors.ProtocolViolation),
        ("SCRAM-SHA-256", b"n,,", errors.ProtocolViolation),
        ("SCRAM-SHA-256", b"garbage", errors.ProtocolViolation),
    ],
)
def test_malformed_client_first(mechanism, first, error):
    exchange = Exchange("alice", AuthMethod.SCRAM_SHA_256, UserStore({"alice": "pw"}))
    exchange.first()
    with pytest.raises(error):
        exchange.step(sasl_initial(mechanism, first))


@pytest.mark.parametrize(
    "body",
    [b"SCRAM-SHA-256", b"SCRAM-SHA-256\0\0\0", b"SCRAM-SHA-256\0\0\0\0\x0an,,n=,r=a"],
)
def test_malformed_sasl_initial_response(body):
    exchange = Exchange("alice", AuthMethod.SCRAM_SHA_256, UserStore({"alice": "pw"}))
    exchange.first()
    with pytest.raises(errors.ProtocolViolation):
        exchange.step(body)


def _good_client_final() -> tuple[str, str]:
    exchange = Exchange("alice", AuthMethod.SCRAM_SHA_256, UserStore({"alice": "pencil"}))
    server_first = _after_first(exchange, b"n,,n=,r=abc").decode()
    return ScramClient("pencil", "abc").final(server_first), server_first.split(",")[0][2:]


@pytest.mark.parametrize(
    "spoil",
    [
        lambda good, nonce: good.replace(nonce, nonce + "x"),  # not the nonce we sent
        lambda good, nonce: good.replace("c=biws", "c=eSws"),  # says 'y' now, said 'n' before
        lambda good, nonce: good.replace("c=biws", "c=!!"),  # not base64
        lambda good, nonce: good.rsplit(",p=", 1)[0] + ",p=AAAA",  # proof of the wrong length
        lambda good, nonce: good.rsplit(",p=", 1)[0],  # no proof at all
        lambda good, nonce: f"r={nonce},c=biws,p=" + good.rsplit("p=", 1)[1],  # out of order
    ],
)
def test_malformed_client_final(monkeypatch, spoil):
    monkeypatch.setattr(auth, "_server_nonce_suffix", lambda: "SERVERNONCE")
    good, nonce = _good_client_final()
    exchange = Exchange("alice", AuthMethod.SCRAM_SHA_256, UserStore({"alice": "pencil"}))
    _after_first(exchange, b"n,,n=,r=abc")
    with pytest.raises(errors.ProtocolViolation):
        exchange.step(spoil(good, nonce).encode())
    assert not exchange.succeeded


def test_good_client_final_passes_with_a_pinned_nonce(monkeypatch):
    monkeypatch.setattr(auth, "_server_nonce_suffix", lambda: "SERVERNONCE")
    good, _ = _good_client_final()
    exchange = Exchange("alice", AuthMethod.SCRAM_SHA_256, UserStore({"alice": "pencil"}))
    _after_first(exchange, b"n,,n=,r=abc")
    assert exchange.step(good.encode())[1] is not None


# ---------------------------------------------------------------- SCRAM-SHA-256-PLUS


CBIND = hashlib.sha256(b"the server certificate").digest()


def test_plus_offered_and_verified_with_channel_binding_data():
    exchange = auth.start("alice", {"alice": "pencil"}, loopback=False, channel_binding=CBIND)
    assert exchange.mechanisms == ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]
    client = ScramClient("pencil", "abc", gs2="p=tls-server-end-point,,", cbind_data=CBIND)
    assert scram_login(exchange, client, "SCRAM-SHA-256-PLUS") == "v=" + client.expected_v


def test_plus_with_other_binding_data_fails():
    # A man in the middle terminates TLS with his own certificate: different data.
    exchange = auth.start("alice", {"alice": "pencil"}, loopback=False, channel_binding=CBIND)
    client = ScramClient("pencil", "abc", gs2="p=tls-server-end-point,,", cbind_data=b"x" * 32)
    with pytest.raises(errors.ProtocolViolation):
        scram_login(exchange, client, "SCRAM-SHA-256-PLUS")


def test_plus_offered_but_client_says_y_is_a_downgrade():
    exchange = auth.start("alice", {"alice": "pencil"}, loopback=False, channel_binding=CBIND)
    with pytest.raises(errors.ProtocolViolation, match="negotiation"):
        scram_login(exchange, ScramClient("pencil", "abc", gs2="y,,"))


def test_plus_offered_client_may_still_choose_plain_scram():
    exchange = auth.start("alice", {"alice": "pencil"}, loopback=False, channel_binding=CBIND)
    client = ScramClient("pencil", "abc")
    assert scram_login(exchange, client) == "v=" + client.expected_v


@pytest.mark.parametrize(
    ("oid", "hash_name"),
    [
        (bytes.fromhex("2a864886f70d01010b"), "sha256"),  # sha256WithRSAEncryption
        (bytes.fromhex("2a864886f70d010105"), "sha256"),  # sha1WithRSAEncryption
        (bytes.fromhex("2a8648ce3d040303"), "sha384"),  # ecdsa-with-SHA384
        (bytes.fromhex("2b6570"), None),  # Ed25519: no hash to bind with
    ],
)
def test_tls_server_end_point_hash_follows_the_signature_algorithm(oid, hash_name):
    def der(tag: int, content: bytes) -> bytes:
        return bytes([tag, len(content)]) + content

    tbs = der(0x30, der(0x02, b"\x01") + b"\x00" * 200)  # long enough for a long-form length
    tbs = bytes([0x30, 0x81, len(tbs) - 2]) + tbs[2:]
    cert = der(0x30, tbs + der(0x30, der(0x06, oid)) + der(0x03, b"\x00sig"))
    cert = bytes([0x30, 0x81, len(cert) - 2]) + cert[2:]
    expected = None if hash_name is None else hashlib.new(hash_name, cert).digest()
    assert auth.tls_server_end_point(cert) == expected
    assert auth.tls_server_end_point(b"\x30\x05junk") is None


# ---------------------------------------------------------------- md5


@pytest.mark.parametrize("secret", ["pencil", PG_MD5_CAROL_PENCIL])
def test_md5_as_libpq_computes_it(secret):
    exchange = auth.start("carol", {"carol": secret}, loopback=True, method="md5")
    request = exchange.first()
    assert request[:4] == b"\x00\x00\x00\x05" and len(request) == 8
    assert exchange.expecting == "password response"
    assert exchange.step(libpq_md5("pencil", "carol", request[4:]) + b"\0") == (None, None)
    assert exchange.succeeded


@pytest.mark.parametrize(("user", "password"), [("carol", "pencel"), ("nobody", "pencil")])
def test_md5_wrong_password_or_unknown_user_is_28p01(user, password):
    exchange = auth.start(user, {"carol": "pencil"}, loopback=True, method="md5")
    salt = exchange.first()[4:]
    with pytest.raises(errors.InvalidPassword) as info:
        exchange.step(libpq_md5(password, user, salt) + b"\0")
    assert info.value.message == f'password authentication failed for user "{user}"'


def test_md5_for_a_scram_only_user_cannot_be_forged():
    # Forced md5 for a user with only a SCRAM verifier: whatever placeholder
    # digest the server computes must not be accepted.
    exchange = Exchange("alice", AuthMethod.MD5, UserStore({"alice": PG_VERIFIERS["pencil"]}))
    salt = exchange.first()[4:]
    forged = b"md5" + hashlib.md5(b"0" * 32 + salt).hexdigest().encode()
    with pytest.raises(errors.InvalidPassword):
        exchange.step(forged + b"\0")


def test_md5_for_unknown_user_cannot_be_forged():
    exchange = Exchange("nobody", AuthMethod.MD5, UserStore({"alice": "pw"}))
    salt = exchange.first()[4:]
    with pytest.raises(errors.InvalidPassword):
        exchange.step(b"md5" + hashlib.md5(b"0" * 32 + salt).hexdigest().encode() + b"\0")


def test_md5_salt_differs_per_attempt():
    salts = {auth.start("a", {"a": "pw"}, loopback=True, method="md5").first() for _ in range(8)}
    assert len(salts) == 8


# ---------------------------------------------------------------- cleartext


@pytest.mark.parametrize("secret", ["pencil", md5_hash("pencil", "alice"), PG_VERIFIERS["pencil"]])
def test_cleartext_password_against_each_kind_of_secret(secret):
    exchange = auth.start("alice", {"alice": secret}, loopback=True, method="password")
    assert exchange.first() == b"\x00\x00\x00\x03"
    assert exchange.step(b"pencil\0") == (None, None)
    assert exchange.succeeded


@pytest.mark.parametrize("body", [b"pencel\0", b"\0"])
def test_cleartext_wrong_or_empty_password_is_28p01(body):
    exchange = auth.start("alice", {"alice": "pencil"}, loopback=True, method="password")
    exchange.first()
    with pytest.raises(errors.InvalidPassword):
        exchange.step(body)


@pytest.mark.parametrize("body", [b"pencil", b"pen\0cil\0", b""])
def test_cleartext_malformed_packet_is_08p01(body):
    exchange = auth.start("alice", {"alice": "pencil"}, loopback=True, method="password")
    exchange.first()
    with pytest.raises(errors.ProtocolViolation) as info:
        exchange.step(body)
    assert info.value.sqlstate == "08P01"


def test_cleartext_non_ascii_password_against_postgresql_verifier():
    exchange = auth.start("u", {"u": PG_VERIFIERS["\u2168"]}, loopback=True, method="password")
    exchange.first()
    exchange.step("\u2168".encode() + b"\0")
    assert exchange.succeeded


# ---------------------------------------------------------------- secrets and the store


@pytest.mark.parametrize("password", list(PG_VERIFIERS))
def test_postgresql_verifiers_parse_round_trip_and_verify(password):
    secret = parse_secret(PG_VERIFIERS[password])
    assert isinstance(secret, ScramSecret)
    assert secret.iterations == 4096 and len(secret.salt) == 16
    assert str(secret) == PG_VERIFIERS[password]
    assert secret.verify_password(password)
    assert not secret.verify_password(password + "x")


def test_our_verifier_matches_postgresql_for_the_same_salt():
    pg = ScramSecret.parse(PG_VERIFIERS["pencil"])
    ours = scram_verifier("pencil", salt=pg.salt, iterations=pg.iterations)
    assert ours == PG_VERIFIERS["pencil"]


def test_md5_hash_matches_postgresql():
    assert md5_hash("pencil", "carol") == PG_MD5_CAROL_PENCIL
    assert parse_secret(PG_MD5_CAROL_PENCIL) == Md5Secret(PG_MD5_CAROL_PENCIL[3:])


@pytest.mark.parametrize(
    "text",
    [
        "SCRAM-SHA-256$4096:c2FsdA==$short:short",
        "SCRAM-SHA-256$0:c2FsdA==$" + "A" * 43 + "=:" + "A" * 43 + "=",
        "SCRAM-SHA-256$x:y",
        "",
    ],
)
def test_bad_secrets_are_refused(text):
    with pytest.raises(ValueError):
        parse_secret(text)


def test_plain_passwords_stay_out_of_repr():
    store = UserStore({"alice": "hunter2"})
    assert isinstance(store["alice"], PlainSecret)
    assert "hunter2" not in repr(store["alice"])
    assert "md5" not in repr(parse_secret("md5" + "0" * 31))  # 31 hex: a plain password


@pytest.mark.parametrize(
    ("given", "prepared"),
    [
        ("I\u00adX", "IX"),  # RFC 4013 section 3 examples
        ("user", "user"),
        ("USER", "USER"),
        ("\u00aa", "a"),
        ("\u2168", "IX"),
        ("\u0007", "\u0007"),  # ASCII passes untouched, as in pg_saslprep
        ("\u0627\u0031", None),  # bidi violation
        ("a\u2000b", "a b"),  # non-ASCII space becomes a space
        ("a\u0080", None),  # prohibited control character
        ("\u00ad", None),  # nothing left after mapping
    ],
)
def test_saslprep(given, prepared):
    assert saslprep(given) == prepared


# ---------------------------------------------------------------- command line


def test_command_line_prints_a_verifier_for_stdin(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("pencil\n"))
    assert auth.main(["scram-verifier", "--iterations", "1000"]) == 0
    secret = ScramSecret.parse(capsys.readouterr().out.strip())
    assert secret.iterations == 1000
    assert secret.verify_password("pencil")


def test_command_line_md5(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("pencil\n"))
    assert auth.main(["md5-hash", "carol"]) == 0
    assert capsys.readouterr().out.strip() == PG_MD5_CAROL_PENCIL
