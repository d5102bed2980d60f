"""Repeated reads on an asyncio driver (asyncmy: MariaDB, MySQL) answered at the wire.

wire_reads.py answers a repeated SQLite read from data_received itself, run
inline. A read on MariaDB waits for the server, so its answer cannot be
written there: the same plan (learned from the full path, checked the same
way) starts the read from data_received on the session's connection at hand,
or on the next one its pool lends it (in turn with the sessions waiting on the
full path: ConnectionPool.wait_soon), and its reply — rows, CommandComplete
and ReadyForQuery in one write — goes out when the read returns (`deliver`,
the connection's: WireConnection._deliver). The read is the driver's coroutine
(AsyncMySQLConnection.read_now, pipeline._read's steps) stepped on by the done
callbacks of the futures it waits for: no greenlet (whose switches copy the
driver's deep C stack each way, a fifth of the cost), no task, no coroutine of
the statement path. Meanwhile the connection holds every byte that arrives
after the request, an EOF and a lost connection, and hands them on in order
once the reply is written, so pipelined requests, a Terminate or a disconnect
are taken exactly as after the full path's answer. With the query cache on,
its hits are answered first (cache/hits.py) and a miss it keyed comes here:
run so, and kept in the cache as wire_reads.py keeps an inline read's (unless
one of its tables was written after the read began).

Nothing is written before the read has returned, and anything in doubt goes
the full path as in wire_reads.py: a backend error (the read runs again there
and is reported with its SQLSTATE: only plain reads have plans, so it repeats
nothing), changed columns, a result larger than one batch (left open: the full
path's next statement reads it out), no connection within pool_timeout. A
statement_timeout is the full path's to enforce. A CancelRequest during the
read sends its KILL QUERY as for the full path's (the session's connection is
running), and the read's 57014 is answered here, as the full path answers it,
not run again (the observers, who hear of each read answered here, hear
nothing of a canceled one).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from pgproxy import errors
from pgproxy.results import DEFAULT_BATCH
from pgproxy.wire import messages as m
from pgproxy.wire.repeats import PENDING
from pgproxy.wire_reads import FULL_PATH, Plan, Reads

log = logging.getLogger("pgproxy.wire_reads")
_CANCELED = "57014"


class AsyncReads(Reads):
    """One session's answers at the wire by running its repeated reads as the driver's
    coroutines, stepped by callbacks."""

    __slots__ = ("_pending", "deliver")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        # The read under way: (statement, plan, formats, described, head, start, fill); while it
        # waits for a connection, what _begin takes (the driver's values for the start).
        self._pending: tuple[Any, ...] | None = None
        # The connection's: writes a reply `at_wire` answered PENDING (None: the request
        # goes the full path), then hands on what arrived meanwhile.
        self.deliver: Callable[[bytes | None], None] | None = None

    @staticmethod
    def serves(backend: Any) -> bool:
        """Whether this answers reads on `backend`: its driver is asyncio's (asyncmy, whose
        calls the full path runs in greenlets on the loop)."""
        return bool(getattr(backend, "greenlets", False))

    def _run(
        self, prepared: Any, plan: Plan, params: list[Any], formats: list[int],
        describe: bool, head: list[bytes], keyed: Any = None,
    ) -> bytes | None:
        """PENDING: the read is under way (or waits for a connection), its reply to come
        (`deliver`); or None. With the query cache on, a miss (`keyed`: as the cache
        decoded and keyed it) is kept in the cache once it ran."""
        session = self._session
        if self.deliver is None or session._replicas or session._active is not None \
                or session.settings.timeout_ms("statement_timeout") > 0:
            # A connection that cannot take a later reply, reads the route spreads over its
            # replicas, a result open, a timeout to keep: the full path's.
            return None
        values = self._values(prepared, plan, params, formats, keyed)
        if values is None:
            return None
        fill = self._fill(prepared, plan, params, formats, values, keyed)
        if fill is False:
            return None
        job = (prepared, plan, values, formats, describe, head, fill)
        conn = session._connection_now()
        if conn is not None:
            return self._begin(conn, job)
        if not session.lease_soon(self._leased):
            return None  # a connection to open, or a branch's: the full path's
        self._pending = job  # waiting with the full path's for one to come back
        return PENDING

    def _leased(self, conn: Any) -> None:
        """The pool lent the session a connection for the read waiting (None: it did not)."""
        job, self._pending = self._pending, None
        reply = None
        if conn is not None:
            try:
                reply = self._begin(conn, job)  # type: ignore[arg-type]
            except errors.PgError:
                pass  # the full path binds it again, and reports it
            except Exception:  # a bug here must not leave the request unanswered
                log.exception("answering a read at the wire failed")
        if reply is not PENDING:
            self.deliver(reply)  # type: ignore[misc]  # set while a read waits

    def _begin(self, conn: Any, job: tuple[Any, ...]) -> bytes | None:
        """Start the read on `conn`: PENDING, or its reply when it returned at once."""
        prepared, plan, values, formats, describe, head, fill = job
        session = self._session
        start = time.perf_counter()
        self._pending = (prepared, plan, formats, describe, head, start, fill)
        session._running = True  # a CancelRequest sends its KILL QUERY; settle waits
        now = _step(conn.read_now(plan.generated.sql, values, DEFAULT_BATCH), self._ran)
        if now is None:
            return PENDING
        return self._finish(*now)  # returned at once (it failed before any I/O)

    def _ran(self, ok: bool, value: Any) -> None:
        """The read returned: its reply (or the full path) to the connection."""
        reply = self._finish(ok, value)
        self.deliver(reply)  # type: ignore[misc]  # set while a read runs

    def _finish(self, ok: bool, value: Any) -> bytes | None:
        """The reply to the read that returned `value` (raised it: not `ok`), or None."""
        prepared, plan, formats, describe, head, start, fill = self._pending  # type: ignore[misc]
        self._pending = None
        session = self._session
        session._running = False
        try:
            if ok and value is None:
                return None  # a result open on the connection
            if ok and not value[2]:
                prepared.read_plan = FULL_PATH  # more than a batch: streamed by the full path
                return None
            if ok:
                return self._reply(prepared, plan, value, formats, describe, head, start, fill)
            if value.__class__ is errors.QueryCanceled or (
                    isinstance(value, errors.PgError) and value.sqlstate == _CANCELED):
                return self._canceled(head, start)
            if not isinstance(value, errors.PgError):
                log.error("a read at the wire failed", exc_info=value)
        except errors.PgError:
            pass
        except Exception:  # a bug here must not end the connection: the full path answers
            log.exception("answering a read at the wire failed")
        return None  # the full path runs it again, and reports it

    def _canceled(self, head: list[bytes], start: float) -> bytes:
        """A CancelRequest stopped the read: the full path's answer to it (ParseComplete and
        BindComplete, as sent, then 57014 and ReadyForQuery), not a second run."""
        session = self._session
        exc = errors.QueryCanceled("canceling statement due to user request")
        head.append(m.error_response(exc.fields()))
        head.append(m.READY_IDLE)
        session.settle()
        session._member.record(time.perf_counter() - start, False)
        return b"".join(head)


def _step(coro: Any, done: Callable[[bool, Any], None], _: Any = None) -> tuple[bool, Any] | None:
    """Step `coro` on: (True, its value) or (False, its exception) when it ends now, else
    None, and `done(ok, value)` once it ends, each later step run by the done callback of
    the future it waits for (no task: nothing else may await it, nor cancel it)."""
    try:
        blocked = coro.send(None)
    except StopIteration as stop:
        ended = True, stop.value
    except BaseException as exc:  # handed to `done`, which answers by it
        ended = False, exc
    else:
        if blocked is None:  # one loop turn (asyncio.sleep(0))
            asyncio.get_running_loop().call_soon(_step, coro, done, True)
        else:
            blocked.add_done_callback(partial(_step, coro, done))
        return None
    if _ is None:
        return ended
    done(*ended)
    return None
