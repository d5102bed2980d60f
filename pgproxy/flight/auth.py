"""Who a Flight call is from: basic auth against [users] (SCRAM verifiers, md5 hashes and
plain passwords, as pgproxy/users.py keeps them) answered with a bearer token, the token
on later calls, and the `database` header that picks the route.

The same rules as the PostgreSQL wire: with no users configured, a loopback listener
trusts (the user is the basic-auth name or the `user` header); a listener on the network
refuses unless allow_remote_trust. Tokens live in memory for TOKEN_SECONDS.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from typing import Any

import pyarrow.flight as fl

from pgproxy import errors
from pgproxy.users import Md5Secret, PlainSecret, ScramSecret, UserStore
from pgproxy.wire.auth import AuthMethod, auth_method_for

MIDDLEWARE = "pgproxy"
TOKEN_SECONDS = 12 * 3600
DEFAULT_USER = "pgproxy"  # trust with no name given


class Caller(fl.ServerMiddleware):
    """One call's authenticated user and the database it asked for."""

    def __init__(self, user: str, database: str | None, token: str | None) -> None:
        self.user = user
        self.database = database
        self._token = token

    def sending_headers(self) -> dict[str, str]:
        # A basic-auth login (the Handshake ADBC sends) gets its bearer token back.
        return {"authorization": f"Bearer {self._token}"} if self._token else {}


class Handshake(fl.ServerAuthHandler):
    """Accepts the Handshake call: the middleware has checked its basic auth already and
    answers it with the bearer token (a header, as Flight's basic-token flow expects)."""

    def authenticate(self, outgoing: Any, incoming: Any) -> None:
        pass

    def is_valid(self, token: bytes) -> str:
        return ""  # every call is checked by Authenticator from its own headers


class Authenticator(fl.ServerMiddlewareFactory):
    """Checks every call's `authorization` header; hands out and keeps bearer tokens."""

    def __init__(
        self,
        users: dict[str, str],
        method: str | None,
        *,
        loopback_listener: bool,
        allow_remote_trust: bool,
    ) -> None:
        super().__init__()
        self._users = UserStore(dict(users))
        self._method = method
        self._loopback = loopback_listener
        self._remote_trust = allow_remote_trust
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def start_call(self, info: Any, headers: dict[str, list[str]]) -> Caller:
        database = _header(headers, "database")
        auth = _header(headers, "authorization") or ""
        scheme, _, credentials = auth.partition(" ")
        if scheme.lower() == "bearer":
            return Caller(self._bearer(credentials.strip()), database, None)
        if scheme.lower() == "basic":
            user, password = _basic(credentials.strip())
            self._check(user, password)
            return Caller(user, database, self._issue(user))
        user = _header(headers, "user") or DEFAULT_USER
        if self._trusted(user):
            return Caller(user, database, None)
        raise fl.FlightUnauthenticatedError(
            "authentication required: basic auth (user and password of [users]) or a bearer "
            "token (SQLSTATE 28000)"
        )

    def _trusted(self, user: str) -> bool:
        try:
            method = auth_method_for(
                user,
                self._users,
                loopback=self._loopback,
                allow_remote_trust=self._remote_trust,
                method=self._method,
            )
        except errors.PgError as exc:
            raise fl.FlightUnauthenticatedError(
                f"{exc.message} (SQLSTATE {exc.sqlstate})"
            ) from None
        return method is AuthMethod.TRUST

    def _check(self, user: str, password: str) -> None:
        if self._trusted(user):
            return
        secret = self._users.get(user)
        if isinstance(secret, PlainSecret):
            ok = hmac.compare_digest(secret.password.encode(), password.encode())
        elif isinstance(secret, Md5Secret):
            ok = secret.verify_password(password, user)
        elif isinstance(secret, ScramSecret):
            ok = secret.verify_password(password)
        else:  # an unknown user costs what a known one does: names stay secret
            self._users.mock_scram_secret(user).verify_password(password)
            ok = False
        if not ok:
            raise fl.FlightUnauthenticatedError(
                f'password authentication failed for user "{user}" (SQLSTATE 28P01)'
            )

    def _issue(self, user: str) -> str:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._tokens = {t: e for t, e in self._tokens.items() if e[1] > now}
            self._tokens[token] = (user, now + TOKEN_SECONDS)
        return token

    def _bearer(self, token: str) -> str:
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None or entry[1] <= time.monotonic():
            raise fl.FlightUnauthenticatedError(
                "unknown or expired bearer token: log in again with basic auth (SQLSTATE 28000)"
            )
        return entry[0]


def _header(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    if not values:
        return None
    value = values[0]
    return value.decode() if isinstance(value, bytes) else value


def _basic(credentials: str) -> tuple[str, str]:
    padded = credentials + "=" * (-len(credentials) % 4)  # Go's clients leave it off
    try:
        user, sep, password = base64.b64decode(padded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        sep = ""
    if not sep:
        raise fl.FlightUnauthenticatedError("malformed basic authorization header")
    return user, password
