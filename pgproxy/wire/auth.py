"""Server-side password authentication, sans I/O: AuthenticationRequest bodies out, 'p' bodies in.

The wire layer drives one `Exchange` per connection attempt:

    exchange = auth.start(user, users, method=..., loopback=..., allow_remote_trust=...)
    request = exchange.first()            # None: trust, nothing to ask
    while request is not None:
        send 'R' + int32 len + request; read the client's next message,
        which must be a 'p' (else 08P01, see `Exchange.expecting`)
        request, final = exchange.step(body)   # raises InvalidPassword (28P01), ProtocolViolation
        if final is not None:
            send 'R' + final (AuthenticationSASLFinal; the client does not answer it)
            break
    send AuthenticationOk, then BackendKeyData, ParameterStatus, ReadyForQuery

Every payload here is an AuthenticationRequest body, int32 code then data, so
the caller only frames it as an 'R' message. `exchange.succeeded` is True once
the password checked out; any failure raises, so the caller sends the FATAL
ErrorResponse and closes.

Methods are PostgreSQL's pg_hba names: trust, password (cleartext), md5 and
scram-sha-256, with SCRAM-SHA-256-PLUS (tls-server-end-point) offered only
when the caller passes the TLS certificate's channel-binding data.

Also a command line: `python -m pgproxy.wire.auth scram-verifier < password`
prints a verifier for the configuration, as PostgreSQL would store it.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import enum
import getpass
import hashlib
import hmac
import secrets
import struct
import sys
from collections.abc import Mapping

from pgproxy import errors
from pgproxy.users import (
    SCRAM_DEFAULT_ITERATIONS,
    Md5Secret,
    PlainSecret,
    ScramSecret,
    Secret,
    UserStore,
    md5_hash,
    scram_verifier,
)

# AuthenticationRequest codes (the int32 after the 'R' message length).
AUTH_OK = 0
AUTH_CLEARTEXT_PASSWORD = 3
AUTH_MD5_PASSWORD = 5
AUTH_SASL = 10
AUTH_SASL_CONTINUE = 11
AUTH_SASL_FINAL = 12

SCRAM_SHA_256 = "SCRAM-SHA-256"
SCRAM_SHA_256_PLUS = "SCRAM-SHA-256-PLUS"
SCRAM_NONCE_LEN = 18  # PostgreSQL's SCRAM_RAW_NONCE_LEN

_i32 = struct.Struct("!i")


class AuthMethod(enum.StrEnum):
    """How a client proves who it is; the values are pg_hba.conf's names."""

    TRUST = "trust"
    PASSWORD = "password"
    MD5 = "md5"
    SCRAM_SHA_256 = "scram-sha-256"


# ---------------------------------------------------------------- payloads


def auth_ok() -> bytes:
    return _i32.pack(AUTH_OK)


def auth_cleartext_password() -> bytes:
    return _i32.pack(AUTH_CLEARTEXT_PASSWORD)


def auth_md5_password(salt: bytes) -> bytes:
    if len(salt) != 4:
        raise ValueError("md5 salt is 4 bytes")
    return _i32.pack(AUTH_MD5_PASSWORD) + salt


def auth_sasl(mechanisms: list[str]) -> bytes:
    return _i32.pack(AUTH_SASL) + b"".join(m.encode() + b"\0" for m in mechanisms) + b"\0"


def auth_sasl_continue(data: bytes) -> bytes:
    return _i32.pack(AUTH_SASL_CONTINUE) + data


def auth_sasl_final(data: bytes) -> bytes:
    return _i32.pack(AUTH_SASL_FINAL) + data


# ---------------------------------------------------------------- method choice


def auth_method_for(
    user: str,
    users: Mapping[str, object] | None,
    *,
    loopback: bool,
    allow_remote_trust: bool = False,
    method: str | AuthMethod | None = None,
) -> AuthMethod:
    """The method to run for this user on this listener.

    No users configured: trust, but only on a loopback listener unless
    `allow_remote_trust`; otherwise 28000, so an open proxy is never an
    accident. Users configured: `method`, where None means scram-sha-256 for
    everyone except users whose stored secret is an md5 hash (md5 is all
    that secret can do). As in PostgreSQL, `md5` runs SCRAM for a user with a
    SCRAM verifier, and an explicit `scram-sha-256` fails md5-hash users.
    An unknown user gets what a plain-password user would, so the choice of
    method does not tell which names exist.
    """
    chosen = AuthMethod(method) if method is not None else None
    if not users or chosen is AuthMethod.TRUST:
        if loopback or allow_remote_trust:
            return AuthMethod.TRUST
        raise errors.InvalidAuthorizationSpecification(
            f'no password authentication configured for user "{user}"',
            hint="Configure users, or allow trust authentication on non-loopback listeners.",
        )
    secret = _secret(users, user)
    if chosen is None:
        return AuthMethod.MD5 if isinstance(secret, Md5Secret) else AuthMethod.SCRAM_SHA_256
    if chosen is AuthMethod.MD5 and isinstance(secret, ScramSecret):
        return AuthMethod.SCRAM_SHA_256
    return chosen


def _secret(users: Mapping[str, object], user: str) -> Secret | None:
    value = users.get(user)
    if value is None:
        return None
    if isinstance(value, ScramSecret | Md5Secret | PlainSecret):
        return value
    return UserStore({user: str(value)})[user]


def start(
    user: str,
    users: Mapping[str, object] | None,
    *,
    loopback: bool,
    allow_remote_trust: bool = False,
    method: str | AuthMethod | None = None,
    channel_binding: bytes | None = None,
) -> Exchange:
    """Choose the method (see `auth_method_for`) and begin an exchange for `user`.

    `users` is best a `UserStore` built once at startup: it caches the SCRAM
    keys derived from plain passwords. A plain `{name: secret string}`
    mapping works too, at the cost of one PBKDF2 per login.
    `channel_binding`: `tls_server_end_point(cert_der)` when this connection
    is TLS, to offer SCRAM-SHA-256-PLUS; None otherwise.
    """
    chosen = auth_method_for(
        user, users, loopback=loopback, allow_remote_trust=allow_remote_trust, method=method
    )
    if chosen is AuthMethod.TRUST:
        store = UserStore()
    elif isinstance(users, UserStore):
        store = users
    else:
        store = UserStore({user: users[user]} if users and user in users else {})  # type: ignore[dict-item]
    return Exchange(user, chosen, store, channel_binding=channel_binding)


# ---------------------------------------------------------------- the exchange


class Exchange:
    """One connection attempt's authentication, driven by the wire layer."""

    __slots__ = (
        "_cbind_data",
        "_client_first_bare",
        "_client_nonce",
        "_doomed",
        "_gs2_header",
        "_md5_salt",
        "_mechanism",
        "_scram",
        "_server_first",
        "_server_nonce",
        "_state",
        "_users",
        "method",
        "succeeded",
        "user",
    )

    def __init__(
        self,
        user: str,
        method: AuthMethod | str,
        users: UserStore | None = None,
        *,
        channel_binding: bytes | None = None,
    ) -> None:
        self.user = user
        self.method = AuthMethod(method)
        self.succeeded = False
        self._users = users if users is not None else UserStore()
        self._cbind_data = channel_binding
        self._state = "new"
        self._md5_salt = b""
        self._scram: ScramSecret | None = None
        self._doomed = False
        self._mechanism = ""
        self._gs2_header = ""
        self._client_first_bare = ""
        self._client_nonce = ""
        self._server_nonce = ""
        self._server_first = ""

    @property
    def expecting(self) -> str | None:
        """What the client's next 'p' message is, for error messages; None: nothing."""
        return {
            "password": "password response",
            "sasl-initial": "SASL response",
            "sasl-response": "SASL response",
        }.get(self._state)

    @property
    def mechanisms(self) -> list[str]:
        if self._cbind_data is not None:
            return [SCRAM_SHA_256_PLUS, SCRAM_SHA_256]
        return [SCRAM_SHA_256]

    def first(self) -> bytes | None:
        """The first AuthenticationRequest body to send; None when trust needs none."""
        if self._state != "new":
            raise RuntimeError("exchange already started")
        m = self.method
        if m is AuthMethod.TRUST:
            self._state = "done"
            self.succeeded = True
            return None
        if m is AuthMethod.PASSWORD:
            self._state = "password"
            return auth_cleartext_password()
        if m is AuthMethod.MD5:
            self._state = "password"
            self._md5_salt = secrets.token_bytes(4)
            return auth_md5_password(self._md5_salt)
        scram = self._users.scram_secret(self.user)
        if scram is None:
            # Unknown user, or only an md5 hash stored: go through the motions
            # with a verifier nothing matches, and fail only at the proof.
            scram, self._doomed = self._users.mock_scram_secret(self.user), True
        self._scram = scram
        self._state = "sasl-initial"
        return auth_sasl(self.mechanisms)

    def step(self, body: bytes) -> tuple[bytes | None, bytes | None]:
        """Take the body of the client's 'p' message.

        Returns (request, final): `request` is the next AuthenticationRequest
        body, whose answer goes to `step` again; `final` is one to send with
        no answer expected (SASLFinal). Both None: the password checked out.
        Raises InvalidPassword (28P01) on a wrong password or unknown user,
        ProtocolViolation (08P01) on a malformed message.
        """
        state = self._state
        try:
            if state == "password":
                self._check_password(_read_cstring(body, "password packet"))
                return None, None
            if state == "sasl-initial":
                return self._sasl_initial(body), None
            if state == "sasl-response":
                if not self._client_nonce:
                    return self._client_first(body), None
                return None, self._client_final(body)
        except errors.PgError:
            self._state = "failed"
            raise
        raise errors.ProtocolViolation(f"unexpected password message in state {state}")

    # ------------------------------------------------ password and md5

    def _fail(self) -> errors.InvalidPassword:
        self._state = "failed"
        return errors.InvalidPassword(f'password authentication failed for user "{self.user}"')

    def _check_password(self, password: bytes) -> None:
        secret = self._users.get(self.user)
        if self.method is AuthMethod.MD5:
            ok = self._check_md5(password, secret)
        elif not password:
            ok = False  # PostgreSQL never accepts an empty password
        elif isinstance(secret, PlainSecret):
            ok = hmac.compare_digest(password, secret.password.encode("utf-8"))
        elif isinstance(secret, Md5Secret | ScramSecret):
            ok = (
                secret.verify_password(password, self.user)
                if isinstance(secret, Md5Secret)
                else secret.verify_password(password)
            )
        else:
            ok = False
        if not ok:
            raise self._fail()
        self._state = "done"
        self.succeeded = True

    def _check_md5(self, response: bytes, secret: Secret | None) -> bool:
        if isinstance(secret, PlainSecret):
            inner = Md5Secret.from_password(secret.password, self.user).hexdigest
        elif isinstance(secret, Md5Secret):
            inner = secret.hexdigest
        else:
            # Unknown user, or a SCRAM verifier md5 cannot use: the same work,
            # but the result is ignored, since anyone can compute this digest.
            inner = "0" * 32
        expected = b"md5" + hashlib.md5(inner.encode("ascii") + self._md5_salt).hexdigest().encode()
        matched = hmac.compare_digest(response, expected)
        return matched and isinstance(secret, PlainSecret | Md5Secret)

    # ------------------------------------------------ SCRAM-SHA-256

    def _sasl_initial(self, body: bytes) -> bytes:
        """SASLInitialResponse: mechanism NUL, int32 length (-1: none), data."""
        end = body.find(b"\0")
        if end < 0 or len(body) < end + 5:
            raise errors.ProtocolViolation("invalid SASLInitialResponse message")
        mechanism = body[:end].decode("ascii", "replace")
        if mechanism not in self.mechanisms:
            raise errors.ProtocolViolation(
                "client selected an invalid SASL authentication mechanism"
            )
        self._mechanism = mechanism
        (length,) = _i32.unpack_from(body, end + 1)
        data = body[end + 5 :]
        self._state = "sasl-response"
        if length == -1 and not data:
            # The mechanism allows the client to wait for an empty challenge.
            return auth_sasl_continue(b"")
        if length != len(data):
            raise errors.ProtocolViolation("invalid SASLInitialResponse message")
        return self._client_first(data)

    def _client_first(self, data: bytes) -> bytes:
        text = _decode(data)
        flag, authzid, bare = _split_gs2(text)
        plus = self._mechanism == SCRAM_SHA_256_PLUS
        if flag == "y":
            if self._cbind_data is not None:
                # Offering PLUS and hearing "you don't support binding" means
                # someone rewrote our mechanism list: a downgrade.
                raise errors.ProtocolViolation(
                    "SCRAM channel binding negotiation error",
                    detail="The client supports SCRAM channel binding but thinks the server "
                    "does not. However, this server does support channel binding.",
                )
        elif flag.startswith("p="):
            if not plus:
                raise _malformed(
                    "The client selected SCRAM-SHA-256 without channel binding, "
                    "but the SCRAM message includes channel binding data."
                )
            if flag[2:] != "tls-server-end-point":
                raise errors.ProtocolViolation(
                    f'unsupported SCRAM channel-binding type "{flag[2:]}"'
                )
        elif flag != "n":
            raise _malformed(f'Unexpected channel-binding flag "{flag[:1]}".')
        if plus and not flag.startswith("p="):
            raise _malformed(
                "The client selected SCRAM-SHA-256-PLUS, "
                "but the SCRAM message does not include channel binding data."
            )
        if authzid:
            raise errors.FeatureNotSupported(
                "client uses authorization identity, but it is not supported"
            )
        attrs = bare.split(",")
        if attrs[0].startswith("m="):
            raise errors.FeatureNotSupported("client requires an unsupported SCRAM extension")
        # n= is read and ignored: PostgreSQL authenticates the startup user,
        # and libpq sends an empty name here.
        if len(attrs) < 2 or not attrs[0].startswith("n=") or not attrs[1].startswith("r="):
            raise _malformed("Expected attributes n= and r= in client-first-message.")
        nonce = attrs[1][2:]
        if not nonce or not all(0x21 <= ord(c) <= 0x7E for c in nonce):
            raise _malformed("Client nonce is not printable.")
        assert self._scram is not None
        self._gs2_header = f"{flag},{authzid},"
        self._client_first_bare = bare
        self._client_nonce = nonce
        self._server_nonce = nonce + _server_nonce_suffix()
        self._server_first = (
            f"r={self._server_nonce},s={_b64(self._scram.salt)},i={self._scram.iterations}"
        )
        return auth_sasl_continue(self._server_first.encode("ascii"))

    def _client_final(self, data: bytes) -> bytes:
        assert self._scram is not None
        text = _decode(data)
        without_proof, _, proof_attr = text.rpartition(",")
        attrs = without_proof.split(",")
        if len(attrs) < 2 or not attrs[0].startswith("c=") or not attrs[1].startswith("r="):
            raise _malformed("Expected attributes c= and r= in client-final-message.")
        if not proof_attr.startswith("p="):
            raise _malformed("Expected attribute p= at the end of client-final-message.")
        cbind_input = self._gs2_header.encode("utf-8", "surrogateescape")
        if self._mechanism == SCRAM_SHA_256_PLUS:
            assert self._cbind_data is not None
            cbind_input += self._cbind_data
        if not hmac.compare_digest(_unb64(attrs[0][2:]), cbind_input):
            raise errors.ProtocolViolation(
                "SCRAM channel binding check failed"
                if self._mechanism == SCRAM_SHA_256_PLUS
                else "unexpected SCRAM channel-binding attribute in client-final-message"
            )
        if not hmac.compare_digest(attrs[1][2:].encode(), self._server_nonce.encode()):
            raise _malformed("Nonce does not match.")
        proof = _unb64(proof_attr[2:])
        if len(proof) != hashlib.sha256().digest_size:
            raise _malformed("Malformed proof in client-final-message.")
        auth_message = ",".join(
            (self._client_first_bare, self._server_first, without_proof)
        ).encode("utf-8", "surrogateescape")
        client_signature = hmac.digest(self._scram.stored_key, auth_message, "sha256")
        client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
        ok = hmac.compare_digest(hashlib.sha256(client_key).digest(), self._scram.stored_key)
        if not ok or self._doomed:
            raise self._fail()
        server_signature = hmac.digest(self._scram.server_key, auth_message, "sha256")
        self._state = "done"
        self.succeeded = True
        return auth_sasl_final(b"v=" + base64.b64encode(server_signature))


def _server_nonce_suffix() -> str:
    # A function of its own so a test can pin it to the RFC 7677 example.
    return _b64(secrets.token_bytes(SCRAM_NONCE_LEN))


def _split_gs2(text: str) -> tuple[str, str, str]:
    parts = text.split(",", 2)
    if len(parts) != 3:
        raise _malformed("Expected a GS2 header in client-first-message.")
    flag, authzid, bare = parts
    if authzid and not authzid.startswith("a="):
        raise _malformed(f'Unexpected attribute "{authzid[:2]}" in client-first-message.')
    return flag, authzid, bare


def _malformed(detail: str) -> errors.ProtocolViolation:
    return errors.ProtocolViolation("malformed SCRAM message", detail=detail)


def _decode(data: bytes) -> str:
    # surrogateescape: a client may put a non-UTF-8 user name in n=, and the
    # signature covers the exact bytes, so they must round-trip.
    return data.decode("utf-8", "surrogateescape")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _malformed("Invalid base64 in SCRAM message.") from exc


def _read_cstring(body: bytes, what: str) -> bytes:
    end = body.find(b"\0")
    if end < 0 or end != len(body) - 1:
        raise errors.ProtocolViolation(f"invalid {what} size")
    return body[:end]


# ---------------------------------------------------------------- TLS binding

# Signature algorithm OID -> the hash tls-server-end-point uses (RFC 5929 4.1:
# the certificate's own hash, with MD5 and SHA-1 replaced by SHA-256).
_CERT_HASHES = {
    "1.2.840.113549.1.1.4": "sha256",  # md5WithRSAEncryption
    "1.2.840.113549.1.1.5": "sha256",  # sha1WithRSAEncryption
    "1.2.840.113549.1.1.11": "sha256",
    "1.2.840.113549.1.1.12": "sha384",
    "1.2.840.113549.1.1.13": "sha512",
    "1.2.840.113549.1.1.14": "sha224",
    "1.2.840.10045.4.1": "sha256",  # ecdsa-with-SHA1
    "1.2.840.10045.4.3.1": "sha224",
    "1.2.840.10045.4.3.2": "sha256",
    "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
    "1.2.840.10040.4.3": "sha256",  # dsa-with-sha1
    "2.16.840.1.101.3.4.3.2": "sha256",  # dsa-with-sha256
}


def tls_server_end_point(cert_der: bytes) -> bytes | None:
    """Channel-binding data for the server's certificate (DER), or None.

    None for signature algorithms with no single hash (RSA-PSS, Ed25519),
    where PostgreSQL cannot bind either; then offer no PLUS mechanism.
    Read the certificate once: `ssl.PEM_cert_to_DER_cert(open(certfile).read())`.
    """
    try:
        oid = _signature_oid(cert_der)
    except (IndexError, ValueError):
        return None
    name = _CERT_HASHES.get(oid)
    return None if name is None else hashlib.new(name, cert_der).digest()


def _der(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at pos."""
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if not 0 < n <= 4:
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + n])
        pos += n
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def _signature_oid(cert: bytes) -> str:
    tag, pos, _ = _der(cert, 0)  # Certificate
    if tag != 0x30:
        raise ValueError("not a certificate")
    _, _, pos = _der(cert, pos)  # skip tbsCertificate
    tag, pos, _ = _der(cert, pos)  # signatureAlgorithm
    tag, start, end = _der(cert, pos)
    if tag != 0x06:
        raise ValueError("no algorithm OID")
    raw = cert[start:end]
    arcs = [raw[0] // 40, raw[0] % 40] if raw[0] < 80 else [2, raw[0] - 80]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return ".".join(map(str, arcs))


# ---------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pgproxy.wire.auth",
        description="Make password secrets for pgproxy's [users] configuration.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    scram = sub.add_parser("scram-verifier", help="a SCRAM-SHA-256 verifier (the default)")
    scram.add_argument("--iterations", type=int, default=SCRAM_DEFAULT_ITERATIONS)
    md5 = sub.add_parser("md5-hash", help="an md5 hash (PostgreSQL's md5<hex>) for one user")
    md5.add_argument("user")
    args = parser.parse_args(argv)
    # The password comes from stdin, never argv, where `ps` and shell
    # history would show it.
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        parser.error("empty password")
    if args.command == "scram-verifier":
        print(scram_verifier(password, iterations=args.iterations))
    else:
        print(md5_hash(password, args.user))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
