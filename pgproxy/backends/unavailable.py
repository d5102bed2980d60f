"""A configured backend that could not be opened at start-up.

A Dolt directory that is not a Dolt directory, a path that is a file, a
directory another process holds: the proxy logs why and keeps serving its
other backends. A client routed to this one gets the reason, with its
SQLSTATE, when it connects; each such connection tries to open the backend
again, so fixing the directory (or stopping the process that holds it)
needs no restart. A URL the proxy can never use (an unknown scheme, a
missing option) still stops start-up.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit

from pgproxy import errors
from pgproxy.backends import from_url, redact_url
from pgproxy.backends.base import Backend, Capabilities

log = logging.getLogger("pgproxy.backends")

# Errors in the URL itself: no retry can fix them.
_FATAL_AT_START = ("0A000", "22023")


class UnavailableBackend:
    """Stands in for a backend that failed to open; `reopen()` tries again."""

    paramstyle = "qmark"
    # Permissive, so routing (`db/branch`) reaches reopen() and its real error; and
    # passthrough, so no stage emulates anything before the connect that reports it.
    capabilities = Capabilities(as_of_commit=True, as_of_timestamp=True, branches=True,
                                passthrough=True)

    def __init__(self, url: str, error: errors.PgError) -> None:
        self.url = url
        self.error = error
        self.name = urlsplit(url).scheme or "backend"
        self.dialect = "postgres"
        self._lock = threading.Lock()
        self._opened: Backend | None = None

    def reopen(self) -> Backend:
        """The backend, opened now; else the reason it cannot be, as a PgError."""
        with self._lock:
            if self._opened is None:
                try:
                    self._opened = from_url(self.url)
                except errors.PgError as exc:
                    self.error = exc
                    raise unavailable_error(self.url, exc) from None
                log.info("backend %s is available now", self.redacted_url())
            return self._opened

    def connect(self, database: str | None = None) -> Any:
        return self.reopen().connect(database)

    def close(self) -> None:
        if self._opened is not None:
            self._opened.close()

    def redacted_url(self) -> str:
        return redact_url(self.url)


def unavailable_error(url: str, exc: errors.PgError) -> errors.PgError:
    return errors.from_sqlstate(
        exc.sqlstate,
        f"backend {redact_url(url)} is unavailable: {exc.message}",
        detail=getattr(exc, "detail", None),
        hint=getattr(exc, "hint", None),
    )


def open_backend(url: str) -> Backend:
    """from_url(url), or an UnavailableBackend when opening it failed."""
    try:
        return from_url(url)
    except errors.PgError as exc:
        if exc.sqlstate in _FATAL_AT_START:
            raise
        log.error("%s; the proxy goes on without it", unavailable_error(url, exc).message)
        return UnavailableBackend(url, exc)
