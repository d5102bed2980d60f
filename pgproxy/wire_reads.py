"""Repeated SQLite reads answered at the wire: a plan learned from the full path, run inline.

A point SELECT repeated on SQLite costs the engine a few microseconds and the
full path (the Bind's portal, the session's task woken, the stages, the hooks,
the result object and its fetch) many times that. With no query cache, a
request read whole while the connection waits at ReadyForQuery outside a
transaction block (wire/repeats.py recognises it, as it does for the cache's
hits) is answered from data_received itself when its prepared statement has a
plan: what the full path did for it, learned from its last run there — the
generated SQL (its translation for the session's target), the columns the full
path typed its result with, in the session's state (route, target, the result
settings, temporary tables: a SET DateStyle or TimeZone changes it). The
repeat decodes the Bind's values as the full path does (Session.decode_params,
pipeline._bind), runs the statement on the session's connection at hand with
the pipeline's own inline read (Workers.inline: no job, no future, no
coroutine), types the cursor's columns as the full path does and compares them
with the plan's (DDL by any session or worker process changes them: the plan is
dropped and the full path answers, and learns anew), and writes the rows with
the statement's own row encoder and RowDescription (wire/described.shape_of),
CommandComplete and ReadyForQuery in one write.

Anything in doubt goes the full path, which answers exactly as before, and
nothing is written before the statement has run to its end: a backend error
(the full path runs the read again and reports it with its SQLSTATE), a read
that moves off the loop (it ran past the inline budget: the statement is not
tried here again), a result larger than one batch, a statement the full path
ran with anything that needs a coroutine or pins the connection (summed or
ROW() columns, enum casts, several steps, notices, temporary tables, side
effects, the catalog's emulation, a pass-through backend), a query cache (a miss
must fill it), hooks that need the full path (telemetry's spans, steps' timers;
the observers hear of each answer as of the full path's, cache_hit unset), a
client_encoding other than UTF-8. An unnamed statement's Parse before the Bind
is answered here when it is byte for byte the Parse the full path last made that
statement of, with no schema change since (the Parse may type its parameters by
their columns). A simple Query of one statement is parsed as the full path parses
it (Pipeline.parse_shaped: its literals lifted out), and answered when the
statement of its shape has a plan (Session._prepared carries it from one
statement of a shape to the next), its literals bound as the full path binds them.

The plan is learned, not guessed: a request whose statement has none asks the
statement to teach one (PreparedStatement.read_learner), and Pipeline.backend,
when it runs the client's own statement with the client's own parameters, hands
its result to `learn`, which keeps a plan only for a plain read that ran to its
end in one batch, in a state the wire serves.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from pgproxy import errors
from pgproxy.core.context import StatementContext
from pgproxy.params import timelike
from pgproxy.pipeline import _bind, _read
from pgproxy.results import DEFAULT_BATCH, BackendResult, command_tag
from pgproxy.wire import messages as m
from pgproxy.wire import repeats
from pgproxy.wire.described import shape_of
from pgproxy.wire.protocol import ServerProtocol
from pgproxy.workers import INLINE_BUDGET, NOT_INLINE

if TYPE_CHECKING:
    from pgproxy.cache.hits import Keyed
    from pgproxy.core.hooks import Hooks
    from pgproxy.pipeline import Pipeline
    from pgproxy.session import Session
    from pgproxy.wire.messages import FrameReader

log = logging.getLogger("pgproxy.wire_reads")


class Plan:
    """What the full path did for a prepared statement in one session state."""

    __slots__ = ("columns", "drops", "generated", "overruns", "state", "version")

    def __init__(
        self, state: int, generated: Any, columns: list[Any], version: int = 0, drops: int = 0
    ) -> None:
        self.state = state  # DROPPED: its columns changed, the full path learns anew
        self.generated = generated  # the statement's translation for the session's target
        self.columns = columns  # its result's columns as the full path typed them
        # (RowDescription and row encoder: the statement's own, wire/described.shape_of)
        self.version = version  # the catalog's schema version when it was learned
        # Plans of the statement dropped with no schema change (columns typed from the
        # rows, which change with them): past MAX_DROPS it is the full path's for good.
        self.drops = drops
        # Runs in a row that outgrew the inline budget and moved to a worker: one alone
        # may be the machine's load (the process preempted mid-read), MAX_OVERRUNS in a
        # row a read too long for the loop.
        self.overruns = 0


# A statement that ran too long or too large to answer here: the full path's for good.
FULL_PATH = Plan(-1, None, [])
DROPPED = -2
MAX_DROPS = 3
MAX_OVERRUNS = 3
# at_wire's answer for a request to offer again once the event loop has turned (the
# inline budget of this turn is spent): the full path would run it in a worker thread.
LATER = b""


class Shared(repeats.Numbers):
    """A worker's numbers for its sessions' states and statements, and how many reads
    were answered here (SHOW STATS reads_at_wire)."""

    __slots__ = ("answered",)

    def __init__(self) -> None:
        super().__init__()
        self.answered = 0


class Reads:
    """One session's answers at the wire by running its repeated reads inline."""

    __slots__ = (
        "_hooks", "_numbers", "_pipeline", "_session", "_st", "_statements", "unnamed",
    )

    def __init__(
        self, pipeline: Pipeline, session: Session, hooks: Hooks, numbers: Shared
    ) -> None:
        self._pipeline = pipeline
        self._session = session
        self._hooks = hooks
        self._numbers = numbers
        self._st = repeats.SessionState(numbers, session, False)
        self._statements = repeats.Statements(numbers)
        # The unnamed statement's Parse resent before its Bind, outdated by the schema
        # (public: the query cache's hits, which offer this their misses, clear the
        # Parse it left to the full path when they answer a request themselves).
        self.unnamed = repeats.UnnamedParse()

    @staticmethod
    def serves(backend: Any) -> bool:
        """Whether this answers reads on `backend`: an engine whose reads run inline."""
        return bool(backend.capabilities.inline_reads)

    def at_wire(
        self, data: bytes, protocol: ServerProtocol, keyed: Keyed | None = None
    ) -> bytes | None:
        """The whole reply, ReadyForQuery included, to a request read in one piece while
        the connection waited for a command outside a transaction block
        (WireConnection.data_received): a Bind of a statement with a plan, with its
        Execute and Sync (a Describe of its portal between), or a Query of one statement
        of a shape with a plan, run here. None: nothing was written, and the connection
        handles the bytes as usual; LATER (b""): nothing was written, and the request is
        to be offered again once the loop has turned. `keyed`: the query cache decoded
        and keyed this request (a Bind, a Query) already: a miss it offers here."""
        self.unnamed.forget()
        request = repeats.recognise(data)
        if request is None:
            return None
        session = self._session
        if not repeats.waiting(session, protocol, self._hooks) or self._st.now() < 0:
            return None  # the full path's state, a client_encoding converted
        try:
            if request is repeats.QUERY:
                return self._query(data, protocol, keyed)
            return self._bind(data, request, protocol, keyed)
        except errors.PgError:
            return None  # the full path runs it again, and reports it
        except Exception:  # a bug here must not end the connection: the full path answers
            log.exception("answering a read at the wire failed")
            return None

    def _bind(
        self, data: bytes, request: tuple[int, int, int, bool], protocol: ServerProtocol,
        keyed: Keyed | None = None,
    ) -> bytes | None:
        at, end, name_end, describe = request
        head: list[bytes] = []
        if at:  # a Parse of the unnamed statement again, then its Bind
            if not self.unnamed.known(data, at, protocol, self._pipeline.catalog.version):
                return None  # answer() learns what the full path makes of it
            head.append(m.PARSE_COMPLETE)
        known = self._statements.named(data[at + 6 : name_end], protocol)
        if known is None:
            return None
        prepared = known[1]
        plan = self._plan(prepared)
        if plan is None:
            return None
        head.append(m.BIND_COMPLETE)
        if keyed is not None:
            return self._run(prepared, plan, keyed.params, keyed.formats, describe, head, keyed)
        msg = m.parse_bind(data[at + 5 : end])
        if len(msg.params) != len(prepared.param_types):
            return None  # the full path's 08P01
        codes = msg.param_formats
        if len(codes) != len(msg.params):
            codes = m.formats_for(codes, len(msg.params))
        params = self._session.decode_params(prepared, msg.params, codes)
        return self._run(prepared, plan, params, msg.result_formats, describe, head)

    def _query(
        self, data: bytes, protocol: ServerProtocol, keyed: Keyed | None = None
    ) -> bytes | None:
        """A Query of one statement of a shape the full path ran: its literals bound as
        the full path binds them (Pipeline.parse_shaped, Session._prepared), or as the
        query cache's memo did just now (`keyed`)."""
        if keyed is not None:
            prepared = keyed.prepared
        else:
            session = self._session
            statements, literals = self._pipeline.parse_shaped(
                m.parse_query(data[5:]), session.target(), 0, True)
            if len(statements) != 1:
                return None
            prepared = session._prepared(statements[0], ())  # the full path's, memos and all
            prepared.literals = literals
        plan = self._plan(prepared)
        if plan is None:
            return None
        protocol.statements.pop("", None)  # as a simple Query does (the full path's too)
        return self._run(prepared, plan, [], [0] * len(plan.columns), True, [], keyed)

    def _plan(self, prepared: Any) -> Plan | None:
        """The statement's plan in the session's state (numbered by at_wire just now);
        else None, and the full path's next run of it learns one."""
        plan = prepared.read_plan
        if plan is FULL_PATH:
            return None
        if plan is None or plan.state != self._st.number:
            prepared.read_learner = self  # the full path's run of it teaches a plan
            return None
        return plan

    def _run(
        self, prepared: Any, plan: Plan, params: list[Any], formats: list[int],
        describe: bool, head: list[bytes], keyed: Keyed | None = None,
    ) -> bytes | None:
        """The reply to a run of a statement with a plan, with `params` (the Bind's values
        decoded), or None."""
        session = self._session
        values = self._values(prepared, plan, params, formats, keyed)
        if values is None:
            return None
        if session.pool.spent():
            return LATER  # the loop's inline budget is spent: asked again once it turns
        conn = session._connection_now()
        if conn is None or session._active is not None:
            return None  # a connection to wait for, a result open on it: the full path's
        start = time.perf_counter()
        fill = self._fill(prepared, plan, params, formats, values, keyed)
        if fill is False:
            return None
        out = session.pool.inline(_read, conn, plan.generated, values, DEFAULT_BATCH)
        if out is NOT_INLINE:
            if time.perf_counter() - start > INLINE_BUDGET / 2:
                plan.overruns += 1  # it ran long and moved: past MAX_OVERRUNS a worker's
                if plan.overruns >= MAX_OVERRUNS:
                    prepared.read_plan = FULL_PATH
            return None
        if plan.overruns:
            plan.overruns = 0
        return self._reply(prepared, plan, out, formats, describe, head, start, fill)

    def _values(
        self, prepared: Any, plan: Plan, params: list[Any], formats: list[int],
        keyed: Keyed | None,
    ) -> list[Any] | None:
        """The driver's values for a run of the plan: as the query cache bound them
        (`keyed`) for this plan's translation and statement, else bound here (_bound)."""
        if keyed is not None and keyed.generated is plan.generated \
                and keyed.prepared is prepared:
            return keyed.values
        return self._bound(prepared, plan, params, formats)

    def _fill(
        self, prepared: Any, plan: Plan, params: list[Any], formats: list[int],
        values: list[Any], keyed: Keyed | None,
    ) -> Any:
        """With the query cache on, a miss (Hits.at_wire found no entry) to be kept once
        it ran: what keeps it (QueryCache.keep, all but the result given); False: the full
        path's (its key has an entry, a stale one to refresh, or a fill in flight); None:
        nothing to keep (no cache, a statement it does not keep)."""
        cache = self._pipeline.cache
        if cache is None:
            return None
        ctx = StatementContext(self._session, prepared, params, formats)
        stmt = prepared.statement
        key = keyed.key if keyed is not None and keyed.values is values \
            else cache.key_of(ctx, stmt, plan.generated.sql, values, formats)
        if key is None:
            return None
        if not cache.fills_at_wire(key):
            return False
        return partial(cache.keep, ctx, key, stmt, cache.store.clock, self._pipeline.rerun(
            stmt, plan.generated, values, prepared.param_types))

    def _bound(
        self, prepared: Any, plan: Plan, params: list[Any], formats: list[int]
    ) -> list[Any] | None:
        """The driver's values for a run with the Bind's `params`, as the full path binds
        them (the literals of a simple Query's shape after them); None when the plan is no
        longer the statement's translation for the session's target (learned anew)."""
        translated = prepared.translated
        if translated is None or translated[2] is not plan.generated \
                or translated[0] is not self._session.target() \
                or (prepared.statement.literal_columns and timelike(prepared.literals)):
            prepared.read_plan = None
            return None
        if prepared.literals:
            params = [*params, *prepared.literals]
        return _bind(StatementContext(self._session, prepared, params, formats),
                     plan.generated, params, prepared.param_types)

    def _reply(
        self, prepared: Any, plan: Plan, out: Any, formats: list[int], describe: bool,
        head: list[bytes], start: float, fill: Any = None,
    ) -> bytes | None:
        """The reply to a run that returned `out` (_read's), or None: the full path's.
        `fill(columns, frames, rows, tag)` keeps a cache miss's result (QueryCache.keep)."""
        session = self._session
        stmt = prepared.statement
        cursor, rows, exhausted, in_tx = out
        if not exhausted or in_tx:
            if not exhausted:
                cursor.close()
            prepared.read_plan = FULL_PATH
            return None
        shown = plan.columns
        columns = cursor.columns
        if columns != shown:
            typed = None if columns is None else self._pipeline.typed_now(
                stmt, session.route.backend, plan.generated, prepared.param_types, columns)
            if typed != shown:
                # DDL changed the result (the full path learns anew), or its typing needs
                # the schema, or changes with the rows.
                self._drop(prepared, plan, typed is None)
                return None
        if len(formats) > 1 and len(formats) != len(shown):
            return None  # the full path's 08P01
        settings = session.settings
        description, encode = shape_of(
            prepared, tuple(shown), settings.style_now or settings.style(), formats)
        if describe:
            head.append(description)
        frames = encode(rows) if rows and encode is not None else b""
        if frames:
            head.append(frames)
        tag = command_tag(stmt.tag, len(rows))
        head.append(m.command_complete(tag))
        head.append(m.READY_IDLE)
        if fill is not None:
            fill(shown, frames, len(rows), tag)
        session.settle()  # transaction pooling: the connection goes back, as after the full path
        session._member.record(time.perf_counter() - start, True)
        self._numbers.answered += 1
        report = self._hooks.answered
        if report is not None:  # a cache miss kept (cache_hit false), else none
            report(session, stmt, start, tag, len(rows), None if fill is None else False)
        return b"".join(head)

    def _drop(self, prepared: Any, plan: Plan, schema: bool) -> None:
        """A plan whose columns are not the result's any more."""
        if plan.version != self._pipeline.catalog.version:
            plan.state = DROPPED  # the schema changed: learned anew from the full path
        elif schema:
            prepared.read_plan = FULL_PATH  # typed by a schema read every time
        else:
            plan.state = DROPPED
            plan.drops += 1

    def answer(
        self, mtype: bytes, body: bytes, protocol: ServerProtocol, reader: FrameReader
    ) -> bool:
        """The connection's way in for a Bind or Query it reads itself: never answered
        here (False), but the unnamed statement a Parse at_wire left to the full path
        made is kept for the next such Parse, and asked to learn its plan."""
        prepared = self.unnamed.made(mtype, protocol, self._pipeline.catalog.version)
        if prepared is not None and prepared.read_plan is None:
            prepared.read_learner = self
        return False

    def learn(self, ctx: StatementContext, generated: Any, result: Any) -> None:
        """The full path ran a statement asked to learn its plan (Pipeline.backend), with
        the client's own parameters: a plan for it if it is a plain read that ran inline
        to its end, in a state the wire serves."""
        session = self._session
        prepared = ctx.prepared
        if ctx.session_id != id(session) or prepared is None:
            return
        stmt = prepared.statement
        if not stmt.cacheable or not stmt.returns_rows or stmt.catalog_only \
                or stmt.summed_columns or stmt.result_type_names or stmt.temp_created \
                or stmt.side_effects or generated.steps or generated.notices \
                or generated.record_fields:
            # Never a plain read: not asked again (the statements of its shape neither).
            prepared.read_plan = FULL_PATH
            return
        caps = ctx.route.backend.capabilities
        if result.__class__ is not BackendResult or not result.settled \
                or result.columns is None or session.in_transaction or session.failed \
                or session.temp_names or not self.serves(ctx.route.backend) or caps.passthrough \
                or (stmt.literal_columns and timelike(prepared.literals)):
            return
        translated = prepared.translated
        if translated is None or translated[2] is not generated:
            return
        state = self._st.now()
        if state >= 0:
            old = prepared.read_plan
            drops = old.drops if old is not None else 0
            prepared.read_plan = FULL_PATH if drops >= MAX_DROPS else Plan(
                state, generated, list(result.columns), self._pipeline.catalog.version, drops)
