"""Configured users and their password secrets, in PostgreSQL's own formats.

A secret is what `pg_authid.rolpassword` would hold: a SCRAM-SHA-256 verifier
(`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`), an md5 hash
(`md5<32 hex>`, the md5 of password + user name), or, unlike PostgreSQL, a
plain password, so that a quick configuration can say `alice = "secret"`.
Nothing here knows the wire protocol; `pgproxy.wire.auth` runs the exchanges.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import stringprep
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

SCRAM_DEFAULT_ITERATIONS = 4096  # PostgreSQL's scram_iterations default
SCRAM_SALT_LEN = 16  # PostgreSQL's SCRAM_DEFAULT_SALT_LEN
SCRAM_KEY_LEN = 32  # SHA-256 digest size

_SCRAM_RE = re.compile(
    r"SCRAM-SHA-256\$(?P<iter>[0-9]+):(?P<salt>[A-Za-z0-9+/=]+)"
    r"\$(?P<stored>[A-Za-z0-9+/=]+):(?P<server>[A-Za-z0-9+/=]+)"
)
_MD5_RE = re.compile(r"md5[0-9a-f]{32}")

# Salts the proxy makes up (for plain passwords and for unknown users) come
# from one per-process key and the user name, so they are stable per name
# however often a store is rebuilt: a salt that changed on every attempt for
# one name but not another would tell a prober which users exist.
_PROCESS_KEY = secrets.token_bytes(32)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _hmac(key: bytes, msg: bytes) -> bytes:
    return hmac.digest(key, msg, "sha256")


def saslprep(password: str) -> str | None:
    """SASLprep (RFC 4013) as PostgreSQL's pg_saslprep applies it to passwords.

    Returns the prepared string, or None where PostgreSQL gives up and uses the
    raw password bytes instead (prohibited characters, bad bidi). Pure ASCII
    passes unchanged, control characters included, because libpq and the
    server both short-circuit it that way and we must derive the same keys.
    """
    if password.isascii():
        return password
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch
        for ch in password
        if not stringprep.in_table_b1(ch)
    )
    if not mapped:
        return None
    # pg_saslprep checks the mapped string, not the normalized one; follow it
    # so both ends agree on which passwords fall back to raw bytes.
    for ch in mapped:
        if (
            stringprep.in_table_c21_c22(ch)
            or stringprep.in_table_c3(ch)
            or stringprep.in_table_c4(ch)
            or stringprep.in_table_c5(ch)
            or stringprep.in_table_c6(ch)
            or stringprep.in_table_c7(ch)
            or stringprep.in_table_c8(ch)
            or stringprep.in_table_c9(ch)
            or stringprep.in_table_a1(ch)
        ):
            return None
    if any(stringprep.in_table_d1(ch) for ch in mapped):
        if any(stringprep.in_table_d2(ch) for ch in mapped):
            return None
        if not (stringprep.in_table_d1(mapped[0]) and stringprep.in_table_d1(mapped[-1])):
            return None
    return unicodedata.normalize("NFKC", mapped)


def _scram_password_bytes(password: str | bytes) -> bytes:
    # A password off the wire may not be UTF-8; PostgreSQL then uses the raw
    # bytes, and so does libpq, so the keys still agree.
    if isinstance(password, bytes):
        try:
            text = password.decode("utf-8")
        except UnicodeDecodeError:
            return password
    else:
        text = password
    prepared = saslprep(text)
    return (text if prepared is None else prepared).encode("utf-8", "surrogateescape")


def _bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class ScramSecret:
    """A SCRAM-SHA-256 verifier: enough to check a proof, not to log in."""

    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes

    @classmethod
    def parse(cls, text: str) -> ScramSecret:
        m = _SCRAM_RE.fullmatch(text)
        if m is None:
            raise ValueError("not a SCRAM-SHA-256 verifier")
        try:
            salt = _unb64(m["salt"])
            stored, server = _unb64(m["stored"]), _unb64(m["server"])
        except binascii.Error as exc:
            raise ValueError("bad base64 in SCRAM-SHA-256 verifier") from exc
        iterations = int(m["iter"])
        if (
            iterations < 1
            or not salt
            or len(stored) != SCRAM_KEY_LEN
            or len(server) != SCRAM_KEY_LEN
        ):
            raise ValueError("malformed SCRAM-SHA-256 verifier")
        return cls(iterations, salt, stored, server)

    @classmethod
    def from_password(
        cls,
        password: str | bytes,
        *,
        iterations: int = SCRAM_DEFAULT_ITERATIONS,
        salt: bytes | None = None,
    ) -> ScramSecret:
        salt = secrets.token_bytes(SCRAM_SALT_LEN) if salt is None else salt
        salted = hashlib.pbkdf2_hmac("sha256", _scram_password_bytes(password), salt, iterations)
        client_key = _hmac(salted, b"Client Key")
        return cls(
            iterations,
            salt,
            hashlib.sha256(client_key).digest(),
            _hmac(salted, b"Server Key"),
        )

    def verify_password(self, password: str | bytes) -> bool:
        """Check a cleartext password against this verifier (for method `password`)."""
        other = ScramSecret.from_password(password, iterations=self.iterations, salt=self.salt)
        return hmac.compare_digest(other.stored_key, self.stored_key)

    def __str__(self) -> str:
        return (
            f"SCRAM-SHA-256${self.iterations}:{_b64(self.salt)}"
            f"${_b64(self.stored_key)}:{_b64(self.server_key)}"
        )


@dataclass(frozen=True, slots=True)
class Md5Secret:
    """PostgreSQL's md5 hash: md5(password + user name), salted per login on the wire."""

    hexdigest: str  # the 32 hex characters, without the "md5" prefix

    @classmethod
    def parse(cls, text: str) -> Md5Secret:
        if _MD5_RE.fullmatch(text) is None:
            raise ValueError("not an md5 password hash")
        return cls(text[3:])

    @classmethod
    def from_password(cls, password: str | bytes, user: str) -> Md5Secret:
        return cls(hashlib.md5(_bytes(password) + _bytes(user)).hexdigest())

    def verify_password(self, password: str | bytes, user: str) -> bool:
        return hmac.compare_digest(
            Md5Secret.from_password(password, user).hexdigest, self.hexdigest
        )

    def __str__(self) -> str:
        return "md5" + self.hexdigest


@dataclass(frozen=True, slots=True)
class PlainSecret:
    """A password kept as written in the configuration."""

    password: str = field(repr=False)  # never in a log line or a traceback

    def __str__(self) -> str:
        return self.password


Secret = ScramSecret | Md5Secret | PlainSecret


def parse_secret(text: str) -> Secret:
    """Read a configured password: a PostgreSQL verifier or hash if it looks like one.

    As in PostgreSQL, a plain password that happens to look like `md5<32 hex>`
    or a SCRAM verifier is taken as that hash, not as a password.
    """
    if text.startswith("SCRAM-SHA-256$"):
        return ScramSecret.parse(text)
    if _MD5_RE.fullmatch(text):
        return Md5Secret.parse(text)
    if not text:
        raise ValueError("empty password")  # PostgreSQL refuses them too
    return PlainSecret(text)


def scram_verifier(
    password: str, *, iterations: int = SCRAM_DEFAULT_ITERATIONS, salt: bytes | None = None
) -> str:
    """A verifier string for the configuration, the same as PostgreSQL stores."""
    return str(ScramSecret.from_password(password, iterations=iterations, salt=salt))


def md5_hash(password: str, user: str) -> str:
    """The `md5<hex>` string PostgreSQL stores for this user and password."""
    return str(Md5Secret.from_password(password, user))


class UserStore(Mapping[str, Secret]):
    """The configured users, by name. Empty means no password authentication."""

    __slots__ = ("_scram_cache", "_users")

    def __init__(self, users: Mapping[str, str | Secret] | None = None) -> None:
        self._users: dict[str, Secret] = {
            name: parse_secret(value) if isinstance(value, str) else value
            for name, value in (users or {}).items()
        }
        self._scram_cache: dict[str, ScramSecret] = {}

    def __getitem__(self, user: str) -> Secret:
        return self._users[user]

    def __iter__(self) -> Iterator[str]:
        return iter(self._users)

    def __len__(self) -> int:
        return len(self._users)

    def scram_secret(self, user: str) -> ScramSecret | None:
        """The SCRAM verifier for a user, derived once from a plain password.

        None when the user is unknown or only an md5 hash is stored (from
        which no SCRAM verifier can be made).
        """
        secret = self._users.get(user)
        if isinstance(secret, ScramSecret):
            return secret
        if isinstance(secret, PlainSecret):
            cached = self._scram_cache.get(user)
            if cached is None:
                cached = ScramSecret.from_password(
                    secret.password, salt=_derived_salt("plain", user)
                )
                self._scram_cache[user] = cached
            return cached
        return None

    def mock_scram_secret(self, user: str) -> ScramSecret:
        """A verifier no password matches, with a salt stable per user name.

        Used for unknown users so that the exchange looks the same as for a
        real one until the proof fails, as PostgreSQL's mock authentication.
        """
        return ScramSecret(
            SCRAM_DEFAULT_ITERATIONS,
            _derived_salt("mock", user),
            secrets.token_bytes(SCRAM_KEY_LEN),
            secrets.token_bytes(SCRAM_KEY_LEN),
        )


def _derived_salt(purpose: str, user: str) -> bytes:
    return _hmac(_PROCESS_KEY, f"{purpose}:".encode() + _bytes(user))[:SCRAM_SALT_LEN]
