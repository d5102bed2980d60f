"""The watch on the statement path: times each statement to its last row, then reports it.

A hook (pgproxy/core/hooks): it reports to the observers (statement and write
events) and to telemetry (span and metrics). With neither configured the
proxy registers no Watch and a statement pays nothing for it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Iterable
from itertools import compress, repeat
from operator import add, itemgetter, mul, setitem, truediv
from typing import Any

import dialects
from pgproxy import errors
from pgproxy.core.hooks import Hook
from pgproxy.observers import columns, events

try:  # built from _statements.c when a C compiler was at hand (pyproject.toml)
    from pgproxy.observers._statements import dicts as _compiled_dicts
    from pgproxy.observers._statements import json as _compiled
except ImportError:  # pragma: no cover - depends on the install
    _compiled = _compiled_dicts = None
from pgproxy.observers.bus import Observers
from pgproxy.results import BackendResult, Batch, PassThrough, command_tag
from pgproxy.telemetry import Telemetry

log = logging.getLogger("pgproxy.observers")
Kind = dialects.Kind
_clock = time.perf_counter
_WRITES = frozenset({Kind.INSERT, Kind.UPDATE, Kind.DELETE, Kind.DDL})
_STATEMENT, _WRITE = events.STATEMENT, events.WRITE  # globals: no module attribute per read


class Watch(Hook):
    def __init__(self, observers: Observers | None, telemetry: Telemetry | None) -> None:
        self.observers = observers
        self.telemetry = telemetry
        # Whether any subscriber takes these at all: if none does, none is made.
        self._statement_events = observers is not None and observers.wants(events.STATEMENT)
        # The kinds of statement a write event is made for (none if no subscriber takes it).
        self._writes = _WRITES if observers is not None and observers.wants(events.WRITE) \
            else frozenset()
        # SHOW STATS' counters: summed from the statement events' records as the collector
        # takes them (_tally), when there are such records, else counted per statement.
        self._counting = not self._statement_events
        if not self._counting:
            observers.tally = self._tally  # type: ignore[union-attr]
        self.statements = 0
        self.errors = 0
        self.rows = 0
        self.seconds = 0.0
        self.connects = 0
        self._report = self._finish  # bound once: the path makes no bound method
        if telemetry is not None:
            self.answered = None  # a span needs the full path: hits take it

    @classmethod
    def build(cls, observers: Observers | None, telemetry: Telemetry | None) -> Watch | None:
        return cls(observers, telemetry) if observers or telemetry else None

    # ------------------------------------------------------------ the statement hook

    # Its before and after catch their own bugs: Hooks calls them directly (Hook.guarded).
    guarded = True

    def before(self, ctx: Any) -> Any:
        """The clock starts; the statement's span is made current for the stages' steps.
        The state: the start time alone without telemetry, else (start, span, token)."""
        tel = self.telemetry
        if tel is None:
            return _clock()
        try:
            span, token = tel.start(ctx, ctx.stmt)
        except Exception:  # telemetry's bug: the statement goes on, without its span
            log.exception("telemetry failed before a statement")
            span = token = None
        return _clock(), span, token

    def after(self, ctx: Any, state: Any, result: Any) -> Any:
        """The result to send: a backend's whose end is known already (a write's, no
        rows) reported now, one whose rows all came with the execute (a point query's)
        told to report its end itself (BackendResult.watch), any other wrapped."""
        try:
            if state.__class__ is float:
                if result.__class__ is BackendResult:
                    if result.done:  # no rows: it ended with its execute
                        self._finish(ctx, ctx.stmt, state, result.tag, None, None)
                        return result
                    if result.settled:
                        result.watch = (self._report, ctx, ctx.stmt, state)
                        return result
                return Watched(self, ctx, state, result)
            start, span, token = state
            if token is not None:
                self.telemetry.detach(token)  # type: ignore[union-attr]
            return Spanned(self, ctx, start, result, span)
        except Exception:  # a bug of the watch's own: the client's result goes out unwatched
            log.exception("the observers' watch failed after a statement")
            return result

    def error(self, ctx: Any, state: Any, exc: BaseException) -> None:
        if state.__class__ is float:
            start, span = state, None
        else:
            start, span, token = state
            if token is not None:
                self.telemetry.detach(token)  # type: ignore[union-attr]
        if isinstance(exc, errors.PgError):
            self._finish(ctx, ctx.stmt, start, "", 0, None, exc.sqlstate, span)

    def _finish(
        self,
        session: Any,
        stmt: dialects.Statement,
        start: float,
        tag: str | BackendResult,
        rows: int | None = None,
        hit: Any = True,
        sqlstate: str | None = None,
        span: Any = None,
    ) -> None:
        """Count and report a statement: its result's tag and cache hit are passed, not
        the result, which the collector would keep: a result held until its event is made
        holds its cursor and batches, hundreds of them per linger, which the garbage
        collector then walks again and again. `rows` None: a result without rows, whose
        count is its tag's. Called by a settled result telling its end
        (BackendResult.watch: `tag` is that result), whose rows are those sent, or fetched
        before it was closed part way. (A read the wire answered goes to _record alone.)"""
        if tag.__class__ is BackendResult:
            rows = tag.rows  # type: ignore[union-attr]
            # Its tag as (verb, rows): the collector writes it out (_rest), once per
            # distinct one, rather than the path for every statement.
            tag, hit = (tag.verb, rows), None  # type: ignore[union-attr]
        elif rows is None:
            rows = _affected(tag)  # type: ignore[arg-type]
        now = self._record(session, stmt, start, tag, rows, hit, sqlstate)  # type: ignore[arg-type]
        seconds = now - start
        if span is not None:  # (a span only with telemetry)
            self.telemetry.finish(  # type: ignore[union-attr]
                span, session, stmt, seconds, rows, hit, sqlstate)
        if stmt.kind in self._writes and sqlstate is None:
            obs = self.observers
            raw = obs.raw  # type: ignore[union-attr]
            if not raw:
                obs.kick()  # type: ignore[union-attr]
            raw += (_write_event, _WRITE, now, session.route, session.user, stmt,
                    tag, None, None, None, None)

    def _record(
        self, session: Any, stmt: dialects.Statement, start: float, tag: Any, rows: int,
        hit: Any = True, sqlstate: str | None = None,
    ) -> float:
        """The statement counted, or its record laid for the bus; the time it ended.
        Called by _finish, and as it is for a read the wire answered (`answered`: a cache
        hit, cache_hit true; a read run at the wire, hit None, or False for a cache miss
        it kept), which has nothing else of _finish's to do: no result to unwrap, no
        span (telemetry takes the full path), no error, no write event."""
        now = _clock()
        if self._counting:
            self.statements += 1
            self.seconds += now - start
            self.rows += rows
            if sqlstate is not None:
                self.errors += 1
            return now
        # The bus gets a record of references to what is at hand (Observers.hand,
        # inlined; events.WIDTH fields): the event, its dict and its JSON are made off
        # the statement path, in batches; the counters are summed from these (_tally).
        obs = self.observers
        raw = obs.raw  # type: ignore[union-attr]
        if not raw:
            obs.kick()  # type: ignore[union-attr]
        raw += (_statement_event, _STATEMENT, now, session.route, session.user, stmt, tag, hit,
                now - start, rows, sqlstate)
        return now

    answered = _record

    # ------------------------------------------------------------ sessions and backends

    def connected(self, session: Any) -> None:
        self.connects += 1
        if self.telemetry is not None:
            self.telemetry.sessions.add(1)
        if self.observers is not None:
            self.observers.emit(events.CONNECT, _who(session))

    def disconnected(self, session: Any, reason: str) -> None:
        if self.telemetry is not None:
            self.telemetry.sessions.add(-1)
        if self.observers is not None:
            self.observers.emit(events.DISCONNECT, {**_who(session), "reason": reason})

    def backend(self, name: str, up: bool, detail: str = "") -> None:
        """For the router's health checks: a backend went down or came back."""
        if self.telemetry is not None:
            self.telemetry.backend_health.add(1 if up else -1, {"backend": name})
        if self.observers is not None:
            kind = events.BACKEND_UP if up else events.BACKEND_DOWN
            self.observers.emit(kind, {"backend": name, "detail": detail})

    def route_event(self, kind: str, payload: dict[str, Any]) -> None:
        """A route's failover, ban or unban (routing/groups.py)."""
        if self.observers is not None and kind in events.TYPES:
            self.observers.emit(kind, payload)

    def _tally(self, raw: list[Any]) -> None:
        """Count the statements of records the collector took (Observers.tally)."""
        n, errors, rows, seconds = _sums(raw)
        self.statements += n
        self.errors += errors
        self.rows += rows
        self.seconds += seconds

    def counters(self) -> dict[str, Any]:
        statements, errors, rows, seconds = self.statements, self.errors, self.rows, self.seconds
        if not self._counting:  # with those laid and not taken yet
            n, more_errors, more_rows, more_seconds = _sums(self.observers.raw)  # type: ignore[union-attr]
            statements, errors = statements + n, errors + more_errors
            rows, seconds = rows + more_rows, seconds + more_seconds
        return {
            "statements": statements,
            "statement_errors": errors,
            "rows": rows,
            "statement_seconds": round(seconds, 3),
            "connects": self.connects,
        }


class Watched(PassThrough):
    """The result as the wire streams it, reporting once when it ends (or is closed early)."""

    # Plain attributes where PassThrough has properties the wire reads per statement:
    # `columns`, `style`, `notices`, `copy` and `row_description` are fixed when a
    # result is made (the stages set a result's notices before its hooks see it);
    # `done` mirrors the inner result's, which changes only through this one's fetch
    # and close. (Not `tag`: a COPY FROM's is made by its copy, which the wire feeds
    # without this result; it is kept once the result ended, for the wire's
    # CommandComplete, instead of the inner result making it again.)
    # `row_description` is None unless the inner result keeps
    # one, as the wire asks: PassThrough's method would have it encode the
    # RowDescription anew for every statement instead of taking the statement's memo.
    # `_tag` is None until the result ended: one slot says both.
    __slots__ = ("_ctx", "_start", "_tag", "_watch", "columns", "copy", "done", "notices",
                 "row_description", "sent", "style")

    def __init__(self, watch: Watch, ctx: Any, start: float, inner: Any) -> None:
        self._watch = watch
        self._ctx = ctx
        self._start = start
        self._inner = inner
        self._tag: str | None = None
        self.sent = 0
        self.columns = columns = inner.columns
        self.style = inner.style
        self.notices = getattr(inner, "notices", ())
        self.copy = getattr(inner, "copy", None)
        self.row_description = getattr(inner, "row_description", None)
        self.done = done = inner.done
        if done and columns is None:
            self._end(None)

    async def fetch(self, max_rows: int) -> Batch:
        inner = self._inner
        try:
            batch = await inner.fetch(max_rows)
        except errors.PgError as exc:
            self.done = inner.done
            if self._tag is None:
                self._end(exc.sqlstate)
            raise
        self.sent += batch.count
        if inner.done:
            self.done = True
            if self._tag is None:  # _end inlined: a statement's usual end
                tag = self._tag = inner.tag or ""
                ctx = self._ctx
                self._watch._finish(ctx, ctx.stmt, self._start, tag,
                                    self.sent if self.columns is not None else None,
                                    getattr(inner, "hit", None))
        return batch

    @property
    def tag(self) -> str:
        tag = self._tag
        return self._inner.tag if tag is None else tag

    def close(self) -> Awaitable[None]:
        """Ends the report (if its last fetch did not) and hands back the inner result's
        close to await: no frame of its own (the wire closes a result twice)."""
        inner = self._inner
        if self._tag is None:  # usually ended by its last fetch already
            self._end(getattr(inner, "sqlstate", None))  # a failed COPY FROM says how
        self.done = True  # closed is done, whatever it had sent
        return inner.close()

    def _end(self, sqlstate: str | None) -> None:
        """The report: the rows sent, None for a result without rows (its tag's count)."""
        inner = self._inner
        tag = self._tag = inner.tag or ""
        ctx = self._ctx
        self._watch._finish(ctx, ctx.stmt, self._start, tag,
                            self.sent if self.columns is not None else None,
                            getattr(inner, "hit", None), sqlstate)


class Spanned(Watched):
    """A watched result with a telemetry span: its stream (first fetch to last row) a
    child span of the statement's."""

    __slots__ = ("_first", "_span")

    def __init__(self, watch: Watch, ctx: Any, start: float, inner: Any, span: Any) -> None:
        self._span = span
        self._first = 0
        super().__init__(watch, ctx, start, inner)

    async def fetch(self, max_rows: int) -> Batch:
        if not self._first:
            self._first = time.time_ns()
        inner = self._inner
        try:
            batch = await inner.fetch(max_rows)
        except errors.PgError as exc:
            self.done = inner.done
            self._end(exc.sqlstate)
            raise
        self.sent += batch.count
        if inner.done:
            self.done = True
            self._end(None)
        return batch

    def _end(self, sqlstate: str | None) -> None:
        if self._tag is not None:
            return
        if self._first:
            self._watch.telemetry.stream_span(self._span, self._first).end()  # type: ignore[union-attr]
        inner = self._inner
        tag = self._tag = inner.tag or ""
        ctx = self._ctx
        self._watch._finish(ctx, ctx.stmt, self._start, tag,
                            self.sent if self.columns is not None else None,
                            getattr(inner, "hit", None), sqlstate, self._span)


# str(Kind) is an enum's __str__ (a Python call): each name made once.
_OPERATIONS = {k: str(k) for k in Kind}


def _statement_event(id: str, at: float, item: tuple[Any, ...]) -> dict[str, Any]:
    """A statement event's fields, from the record Watch._finish handed the bus (the
    one-by-one form of _statement_events: the same fields, in the same order)."""
    _, _, _, route, user, stmt, tag, hit, seconds, rows, sqlstate = item
    fields = _rest(route, user, stmt, tag, rows, hit, sqlstate)[1].copy()
    fields.update(id=id, time=_us(at), duration_ms=_ms(seconds), tables=list(fields["tables"]))
    return fields


def _ms(seconds: float) -> float:
    return round(seconds * 1e6) / 1000  # round(…, 3) without its dtoa


def _us(at: float) -> float:
    return round(at * 1e6) / 1e6  # a time to the microsecond, as _statement_events writes it


def _rest(route: Any, user: str, stmt: dialects.Statement, tag: str, rows: int, hit: Any,
          sqlstate: str | None) -> tuple[bytes, dict[str, Any]]:
    """What statement events repeat (all but id, time and duration): as the JSON that
    follows the duration (its comma and closing brace included), and as a dict of all the
    fields, in order, to copy. `tag` may be a (verb, rows) the path left to write out."""
    if tag.__class__ is tuple:
        tag = command_tag(*tag)
    read, written = stmt.tables_read, stmt.tables_written
    rest = {
        "route": route.name,
        "backend": route.backend.name,
        "user": user,
        "operation": _OPERATIONS[stmt.kind],
        "tables": sorted(read | written if written else read),
        "tag": tag,
        "rows": rows,
        "cache_hit": hit,
        "sqlstate": sqlstate,
    }
    fields = {"id": None, "type": events.STATEMENT, "time": None, "duration_ms": None, **rest}
    return b"," + events.dumps(rest)[1:], fields


_RESTS = columns.Pieces(_rest)
_ID = b'{"id":"' + events.boot().encode() + b"-"
_ID_TEXT = events.boot() + "-%d"
_TIME = b'","type":"statement","time":'
_DURATION = b',"duration_ms":'
_piece = itemgetter(0)
_fields = itemgetter(1)
_join = b"".join
_tables = itemgetter("tables")
_round = float.__round__
_set = deque(maxlen=0).extend  # runs a map for its effects


def _statement_events(
    by_field: list[list[Any]], ids: Iterable[int], offset: float, dicts: bool
) -> tuple[list[bytes], list[dict[str, Any]] | None]:
    """Many statement events at once, column by column (pgproxy/observers/columns.py): a
    Python step per batch, not per event, but for the statements, tags ... not seen
    before; each event's JSON made in C (_statements.json) when it was built, else one
    join of its pieces; and their dicts, if asked for, each a copy of its kept one.
    `by_field`: the records' fields, column by column (events.encode). Times are
    written to the microsecond, durations in milliseconds to the microsecond."""
    _, _, nows, routes, users, stmts, tags, hits, seconds, rows, sqlstates = by_field
    n = len(nows)
    varied = (routes, users, stmts, tags, rows, hits, sqlstates)
    rests: Any
    if all(column.count(column[0]) == n for column in varied):
        # One statement run again and again (the usual batch): one piece for all, found
        # by a compare per column and event rather than a key made and hashed per event.
        rest = _RESTS.get([(id(routes[0]), users[0], id(stmts[0]), tags[0], rows[0],
                            hits[0], sqlstates[0])],
                          [[column[0] for column in varied]])[0]
        pieces: Any = rest[0]
        rests = repeat(rest, n)
    else:
        rests = _RESTS.get(
            list(zip(map(id, routes), users, map(id, stmts), tags, rows, hits, sqlstates,
                     strict=True)),
            zip(*varied, strict=True))
        pieces = list(map(_piece, rests))
    ids = list(ids)
    parts = None
    compiled = _compiled is not None and ids[-1] - ids[0] == n - 1  # (C numbers them from ids[0])
    if compiled:
        parts = _compiled(_ID, _TIME, _DURATION, ids[0], nows, offset, seconds, pieces)
    times = ms = None
    if parts is None or (dicts and not compiled):
        # round(x * 1e6) / 1e6 and / 1000 in C maps, as the compiled builder writes them.
        times = list(map(truediv, map(_round, map(mul, map(add, nows, repeat(offset)),
                                                  repeat(1e6))), repeat(1e6)))
        ms = list(map(truediv, map(_round, map(mul, seconds, repeat(1e6))), repeat(1000)))
    if parts is None:
        if pieces.__class__ is bytes:
            pieces = repeat(pieces, n)
        parts = list(map(_join, zip(
            repeat(_ID), columns.numbers(ids), repeat(_TIME), columns.numbers(times),
            repeat(_DURATION), columns.numbers(ms), pieces)))
    if not dicts:
        return parts, None
    if compiled:  # each a copy of its kept one, its own fields set, in C
        kept = _fields(rest) if rests.__class__ is repeat else list(map(_fields, rests))
        return parts, _compiled_dicts(  # type: ignore[misc]
            _ID_TEXT[:-2], ids[0], nows, offset, seconds, kept)
    # Each dict a copy of its kept one (the keys' table cloned), its own fields set field
    # by field for the whole batch, in C maps: no Python step per event.
    kept = list(map(_fields, rests))
    ds = list(map(dict.copy, kept))
    text = "\n".join(repeat(_ID_TEXT, n)) % tuple(ids)  # n ids' text in one format
    _set(map(setitem, ds, repeat("id"), text.split("\n")))
    _set(map(setitem, ds, repeat("time"), times))
    _set(map(setitem, ds, repeat("duration_ms"), ms))
    _set(map(setitem, ds, repeat("tables"), map(list.copy, map(_tables, kept))))
    return parts, ds


_statement_event.many = _statement_events  # type: ignore[attr-defined]


def _write_event(id: str, at: float, item: tuple[Any, ...]) -> dict[str, Any]:
    _, type, _, route, user, stmt, tag = item[:7]
    return {
        "id": id,
        "type": type,
        "time": at,
        "route": route.name,
        "backend": route.backend.name,
        "user": user,
        "operation": _OPERATIONS[stmt.kind],
        "tables": sorted(stmt.tables_written),
        "rows": tag[1] if tag.__class__ is tuple else _affected(tag),
    }


def _sums(raw: list[Any]) -> tuple[int, int, int, float]:
    """(statements, errors, rows, seconds) of the statement events' records in `raw`
    (Observers.raw's form: events.WIDTH fields each), a C call per field."""
    builders = raw[0::events.WIDTH]
    n = builders.count(_statement_event)
    if not n:
        return 0, 0, 0, 0.0
    fields = [raw[k::events.WIDTH] for k in (8, 9, 10)]  # seconds, rows, sqlstate
    if n != len(builders):  # other events among them
        mine = [b is _statement_event for b in builders]
        fields = [list(compress(f, mine)) for f in fields]
    seconds, rows, sqlstates = fields
    return n, n - sqlstates.count(None), sum(rows), sum(seconds)


def _affected(tag: str) -> int:
    last = tag.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


def _who(session: Any) -> dict[str, Any]:
    return {"pid": session.pid, "user": session.user, "database": session.database,
            "peer": session.peer}
