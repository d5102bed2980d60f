"""Backends by URL scheme: `from_url(url)` builds the Backend a URL names (registry.py).

Driver modules are imported only when their scheme is used, so a missing
optional driver (the Dolt library) costs nothing until a configuration asks
for it.
"""

from __future__ import annotations

import importlib
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

from pgproxy import errors
from pgproxy.backends.base import Backend
from pgproxy.backends.registry import SCHEMES, Scheme


def schemes() -> list[str]:
    return sorted(name for name, scheme in SCHEMES.items() if not scheme.missing)


def register(scheme: str, module: str, factory: str, dialect: str) -> None:
    """Add or replace a scheme; for backends living outside this package."""
    SCHEMES[scheme] = Scheme(f"{module}:{factory}", dialect)


def from_url(url: str) -> Backend:
    """The Backend for `url`; FeatureNotSupported for a scheme that has none."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    entry = SCHEMES.get(scheme)
    if entry is None:
        raise errors.FeatureNotSupported(
            f"unknown backend URL scheme {scheme!r} in {redact_url(url)!r}",
            hint="known schemes: " + ", ".join(schemes()),
        )
    if entry.missing:
        raise errors.FeatureNotSupported(
            f"{entry.missing}: cannot serve {redact_url(url)!r}",
            hint="usable schemes: " + ", ".join(schemes()),
        )
    module_name, attr = entry.factory.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise errors.FeatureNotSupported(
            f"backend {scheme!r} is not available: {exc}",
            hint="install the driver this backend needs",
        ) from exc
    factory: Callable[[str], Backend] = getattr(module, attr)
    return factory(url)


Converter = Callable[[Any], Any] | dict[Any, Any]


def row_converter(
    width: int, convs: list[tuple[int, Converter]]
) -> Callable[[tuple], tuple] | None:
    """One function that converts the columns in `convs` and copies the rest.

    Built once per result, as namedtuple builds its classes, so converting a
    row is one call with no per-column loop or type dispatch. A converter is a
    function (not called for NULL) or a dict, whose misses keep the value.
    """
    if not convs:
        return None
    namespace: dict[str, Any] = {}
    by_index = dict(convs)
    parts = []
    for i in range(width):
        conv = by_index.get(i)
        if conv is None:
            parts.append(f"r[{i}]")
            continue
        namespace[f"c{i}"] = conv
        if isinstance(conv, dict):
            parts.append(f"c{i}.get(r[{i}], r[{i}])")
        else:
            parts.append(f"(None if r[{i}] is None else c{i}(r[{i}]))")
    exec(f"def convert(r):\n    return ({', '.join(parts)},)\n", namespace)
    return namespace["convert"]


def redact_url(url: str) -> str:
    """`url` with the password replaced by '***' (the user name stays: it helps)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable backend URL>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:***@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment).geturl()


def scrub(message: str, password: str | None) -> str:
    """Remove a password from a driver's message, should a driver ever echo it."""
    if password:
        message = message.replace(password, "***")
    return message


def url_parts(url: str) -> tuple[SplitResult, str | None, str | None, str | None]:
    """(parts, user, password, database) with percent-escapes decoded."""
    parts = urlsplit(url)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    database = unquote(parts.path.lstrip("/")) or None
    return parts, user, password, database


def connect_timeout(options: dict[str, str], url: str) -> float:
    """The URL's connect_timeout option in seconds (10 without it); 22023 unless positive."""
    try:
        seconds = float(options.get("connect_timeout", "10"))
    except ValueError:
        seconds = 0
    if not seconds > 0:
        raise errors.InvalidParameterValue(
            f"connect_timeout must be a positive number of seconds in {redact_url(url)}")
    return seconds


def shut_down(sock: Any) -> None:
    """Shut a driver's socket both ways from any thread: a call blocked on it returns."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed already
