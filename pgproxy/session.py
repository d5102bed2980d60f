"""One client's session behind the wire: its settings, route, backend connection, transaction.

This is the one place a session's state changes: settings, branch and
AS OF, the backend connection, and the transaction status, which comes from
the backend driver's real state (plus the failed flag PostgreSQL keeps after
an error inside a transaction block).

The backend connection is borrowed from its member's pool (routing/pool.py).
In pool_mode "transaction" it goes back between transactions (_settle) unless
the session came to depend on it (_pin): a temporary table, a sequence's
currval, an open SQL cursor, a branch or USE, a statement the proxy cannot
see into. A read outside a transaction block may borrow a replica's instead
(routing/groups.py), and is retried once on another member when its own
cannot be reached.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from functools import partial
from time import perf_counter
from typing import Any, Protocol, TypeVar

import dialects
from dialects.hints import classify_as_of, validate_ref
from pgproxy import errors, notify
from pgproxy import settings as settings_mod
from pgproxy.advisory import AdvisoryLocks
from pgproxy.backends.base import Backend, Column, Connection, abort, broken
from pgproxy.core.statement import PreparedStatement
from pgproxy.cursors import Cursors
from pgproxy.health import UNAVAILABLE
from pgproxy.routing.groups import Member
from pgproxy.routing.pool import ConnectionPool, Lease, close_connection, open_connection
from pgproxy.routing.router import Route, Router
from pgproxy.savepoints import Savepoints
from pgproxy.settings import Settings, truthy
from pgproxy.types import decoder, encode
from pgproxy.workers import FINISHED, NOT_INLINE, QUEUED, Job, Workers

log = logging.getLogger("pgproxy.session")
T = TypeVar("T")

TEXT_OID = 25
# Query texts from this size on are parsed off the event loop.
LARGE_TEXT = 1 << 20
# Statements a session remembers what it learnt of (_prepared), and the longest text.
MEMO_STATEMENTS = 64
MEMO_TEXT = 4096
# How long a timed-out statement's cancel may take before the call is abandoned
# (a hung backend never answers it): its statement_timeout, within these bounds.
CANCEL_GRACE = (0.1, 1.0)
# Statement kinds the statement path tests, read once (an enum's Kind.X is a class lookup).
_EMPTY, _ROLLBACK_TO = dialects.Kind.EMPTY, dialects.Kind.ROLLBACK_TO
_ENDS_TX = frozenset({dialects.Kind.COMMIT, dialects.Kind.ROLLBACK})
_ROLLS_BACK = frozenset({dialects.Kind.ROLLBACK, dialects.Kind.ROLLBACK_TO})
_LITERAL_OIDS = {"date": 1082, "timestamp": 1114, "timestamptz": 1184, "time": 1083,
                 "timetz": 1266}


class Runner(Protocol):
    """The statement path as a session drives it (pgproxy.pipeline.Pipeline)."""

    def parse_shaped(
        self, sql: str, target: dialects.Target, declared: int = 0, simple_query: bool = False
    ) -> tuple[list[dialects.Statement], tuple[Any, ...]]: ...

    def execute(
        self, session: Session, prepared: PreparedStatement, params: Sequence[Any],
        formats: Sequence[int],
    ) -> Awaitable[Any]: ...

    async def describe(
        self, session: Session, prepared: PreparedStatement, params: Sequence[Any] | None = None
    ) -> Sequence[Column] | None: ...

    async def begin_implicit(
        self, session: Session, statements: Sequence[PreparedStatement]
    ) -> bool: ...

    async def end_implicit(self, session: Session, commit: bool) -> None: ...

    async def param_types(
        self, session: Session, stmt: dialects.Statement, declared: Sequence[int]
    ) -> Sequence[int]: ...


Activity = tuple[str, int, str, str | None, bool]  # database, pid, user, application, is me


class Elsewhere(Protocol):
    """The sessions of the other worker processes (--workers; pgproxy/worker.py)."""

    async def activity(self) -> list[Activity]: ...

    async def locks(self, space: str) -> list[tuple[Any, ...]]:
        """pg_locks rows of the advisory locks the others' sessions hold in `space`."""
        ...

    async def signal(self, pid: int, terminate: bool, user: str) -> str:
        """'ok', 'denied' (another user's session) or 'none' (no such pid)."""
        ...


class SessionServices(Protocol):
    """What a session is given by its owner (pgproxy.proxy.Proxy); nothing else reaches it."""

    pipeline: Runner
    workers: Workers
    router: Router
    notifications: notify.Hub
    advisory: AdvisoryLocks
    sessions: set[Session]
    elsewhere: Elsewhere | None

    def pool(self, backend: Backend) -> Workers: ...

    def connections(self, member: Member) -> ConnectionPool: ...

    def unreachable(self, member: Member) -> None: ...

    def closed(self, session: Session, reason: str = "") -> None: ...


class Session:
    """Implements the wire's CoreSession for one client."""

    def __init__(
        self, services: SessionServices, params: Mapping[str, str], route: Route, pid: int,
        peer: str,
    ) -> None:
        self._services = services
        self._pipeline = services.pipeline
        self.workers = services.workers  # work that is no backend's (catalog, large parses)
        self.notifications = services.notifications
        self.advisory = services.advisory
        self.pid = pid
        self.peer = peer
        self.user = params["user"]
        self.database = params["database"]
        self.route = route
        startup = {k: v for k, v in params.items() if k not in ("user", "database", "options")}
        startup.update(_options(params.get("options", "")))
        self.settings = Settings(startup)
        self.settings.set("session_authorization", self.user, startup=True)
        self.conn: Connection | None = None
        self._conn_branch: str | None = None  # the branch `conn` has open
        # The connection's pool, and its member's workers (a replica's while a read holds one).
        self._home = services.connections(route.group.primary)  # type: ignore[union-attr]
        self.pool = self._home.workers
        self._lease: Lease | None = None
        self._lease_pool: ConnectionPool | None = None
        self._member: Member = route.group.primary  # type: ignore[union-attr]
        # Transaction pooling: the connection goes back between transactions, until pinned.
        self._lend = self._home.transaction_mode
        self._dirty = False  # the connection holds state of this session's (see _pin)
        group = route.group
        self._replicas = bool(group and group.replicas)
        self._sticky = group.options.sticky_after_write if self._replicas else 0.0  # type: ignore[union-attr]
        self._sticky_until = 0.0  # reads stay on the primary until then (sticky_after_write)
        self.in_transaction = False
        self.failed = False
        self.lost_transaction = False  # the backend connection died inside a transaction block
        self.cache_tx: Any = None  # the query cache's view of the open transaction
        # Temporary relations this session created (dialects.cacheability.temp_created):
        # the query cache neither keeps nor serves this session's reads of these names.
        self.temp_names: frozenset[str] = frozenset()
        self._target: dialects.Target | None = None
        self._active: Any = None  # the result whose cursor is open on `conn`
        self.cursors = Cursors()
        self.savepoints = Savepoints()
        # What drops each object DDL made inside the open transaction block on a backend
        # that committed it by itself (dialects/implicit_commit.py): run by a ROLLBACK.
        self.ddl_undo: list[str] = []
        self.sql_statements: dict[str, PreparedStatement] = {}  # SQL-level PREPARE
        # id(statement) -> the last PreparedStatement made of it (see _prepared).
        self._learnt: dict[int, PreparedStatement] = {}
        # The wire's Parse statements by name (the wire owns them; pg_prepared_statements).
        self.protocol_statements: dict[str, Any] = {}
        self.inbox = notify.Inbox()  # LISTEN channels and notifications to deliver
        self.on_terminate: Callable[[], None] | None = None  # the wire's: close with 57P01
        self._running = False
        self._timed_out = False
        self._abandoned = False  # the last call was given up on (statement_timeout)
        self._timer: asyncio.TimerHandle | None = None
        self._lock_wait: asyncio.Future[None] | None = None  # an advisory lock's wait
        # What else a cancel request stops (a query across routes: DuckDB, other routes).
        self.on_cancel: set[Callable[[], None]] = set()
        self._closed = False
        # A PostgreSQL backend reads literals by its own TimeZone and DateStyle order:
        # what was last sent to it, and whether inside a transaction (a ROLLBACK undoes it).
        self._pushed: tuple[str, str] | None = None
        self._pushed_in_tx = False

    # ------------------------------------------------------------ wire-facing

    def parameter_status(self) -> Mapping[str, str]:
        return self.settings.reported()

    def changed_parameters(self) -> list[tuple[str, str]]:
        # Asked as ReadyForQuery goes out: the session is idle now, so a pooled connection
        # it no longer needs goes back (after a COPY, a Describe, a Sync that closed portals).
        if self._lease is not None:
            self.settle()
        return self.settings.changed()

    @property
    def client_encoding(self) -> str:
        return self.settings.value("client_encoding")

    @property
    def transaction_status(self) -> bytes:
        if self.failed:
            return b"E"
        return b"T" if self.in_transaction else b"I"

    async def _parse_large(
        self, sql: str, declared: int = 0, simple_query: bool = False
    ) -> tuple[list[dialects.Statement], tuple[Any, ...]]:
        # Megabytes of SQL keep sqlglot busy for seconds: in a worker thread the
        # event loop still gets the GIL every few milliseconds and serves the others.
        parse = self._pipeline.parse_shaped
        return await self.workers.run(parse, sql, self.target(), declared, simple_query)

    async def prepare(self, sql: str, param_types: Sequence[int] = ()) -> PreparedStatement:
        if len(sql) < LARGE_TEXT:  # on the loop: no frame of its own (_parse_large's)
            statements, literals = self._pipeline.parse_shaped(sql, self.target(),
                                                               len(param_types))
        else:
            statements, literals = await self._parse_large(sql, len(param_types))
        if len(statements) > 1:
            raise errors.SyntaxError("cannot insert multiple commands into a prepared statement")
        if not statements:
            statements = [dialects.Statement(sql, dialects.Kind.EMPTY, "")]
        stmt = statements[0]
        # Types of the $n left undeclared: from a column or a lock call (see the pipeline).
        inferred = await self._pipeline.param_types(self, stmt, param_types) if stmt.nparams \
            else ()
        prepared = self._prepared(stmt, param_types, inferred)
        prepared.literals = literals
        prepared.text = sql
        prepared.prepared_at = time.time()
        return prepared

    def prepared_rows(self) -> list[tuple[str, str, float, list[int], bool]]:
        """pg_prepared_statements: (name, statement, prepared at, parameter types, from_sql)."""
        rows = [(name, p.text, p.prepared_at, p.param_types, True)
                for name, p in self.sql_statements.items()]
        rows += [(name, p.text, p.prepared_at, p.param_types, False)
                 for name, p in self.protocol_statements.items() if name]
        return rows

    async def split(self, sql: str) -> list[PreparedStatement]:
        if len(sql) < LARGE_TEXT:
            statements, literals = self._pipeline.parse_shaped(sql, self.target(), 0, True)
        else:
            statements, literals = await self._parse_large(sql, simple_query=True)
        prepared = [self._prepared(s, ()) for s in statements]
        if literals:  # a shape is always one statement
            prepared[0].literals = literals
        return prepared

    def _prepared(
        self, stmt: dialects.Statement, declared: Sequence[int], inferred: Sequence[int] = ()
    ) -> PreparedStatement:
        """Each $n's type: declared in Parse, else a cast's, else its column's, else text."""
        for i in stmt.indeterminate:  # only a "any" argument: PostgreSQL cannot type it
            if not (i < len(declared) and declared[i]):
                raise errors.from_sqlstate(
                    "42P18", f"could not determine data type of parameter ${i + 1}"
                )
        n = max(stmt.nparams, len(declared))
        types = []
        for i in range(n):
            oid = declared[i] if i < len(declared) else 0
            if not oid and i < len(stmt.param_types):
                oid = stmt.param_types[i]
            if not oid and i < len(inferred):
                oid = inferred[i]
            types.append(oid or TEXT_OID)
        prepared = PreparedStatement(stmt, types, stmt.kind is _EMPTY)
        # The same statement again (a driver's unnamed Parse before every Bind, a simple
        # query of a shape seen before): what the last one learnt holds for this one, each
        # memo being keyed by what it depends on (types, target, columns and formats).
        learnt = self._learnt
        last = learnt.get(id(stmt))
        if last is not None and last.statement is stmt:
            if last.param_types == types:
                prepared.decoders = last.decoders
            prepared.translated, prepared.frontend = last.translated, last.frontend
        elif len(stmt.sql) > MEMO_TEXT:
            return prepared  # a huge one-off text is not kept alive here
        elif len(learnt) >= MEMO_STATEMENTS:
            learnt.clear()  # bound it; the statements in use come back
        learnt[id(stmt)] = prepared
        return prepared

    async def begin_implicit(self, statements: Sequence[PreparedStatement]) -> bool:
        return await self._pipeline.begin_implicit(self, statements)

    async def end_implicit(self, commit: bool) -> None:
        await self._pipeline.end_implicit(self, commit)

    def decode_params(
        self, prepared: PreparedStatement, values: Sequence[bytes | None], formats: Sequence[int]
    ) -> list[Any]:
        style = self.settings.style()  # text dates read by DateStyle, in the TimeZone
        # One decoder per parameter, chosen once per (formats, Style) the statement is
        # bound with: a repeated Bind looks nothing up.
        known = prepared.decoders
        if known is None or known[1] is not style or known[0] != formats:
            decoders = [decoder(oid, fmt, style)
                        for oid, fmt in zip(prepared.param_types, formats, strict=True)]
            known = prepared.decoders = (list(formats), style, decoders)
        out: list[Any] = []
        for decode, value in zip(known[2], values, strict=True):
            out.append(None if value is None else decode(value))
        return out

    async def describe(
        self, prepared: PreparedStatement, params: Sequence[Any] | None = None
    ) -> Sequence[Column] | None:
        return await self._pipeline.describe(self, prepared, params)

    def execute(
        self, prepared: PreparedStatement, params: Sequence[Any], result_formats: Sequence[int]
    ) -> Awaitable[Any]:
        # The pipeline's own coroutine: it also marks the transaction failed on an error.
        return self._pipeline.execute(self, prepared, params, result_formats)

    def idle_timeout(self) -> tuple[float, errors.PgError] | None:
        """The idle timeout in force while the client is to send its next command."""
        in_tx = self.in_transaction or self.failed
        ms = self.settings.timeout_ms(
            "idle_in_transaction_session_timeout" if in_tx else "idle_session_timeout")
        if ms <= 0:
            return None
        if in_tx:
            return ms / 1000, errors.IdleInTransactionSessionTimeout(
                "terminating connection due to idle-in-transaction timeout")
        return ms / 1000, errors.IdleSessionTimeout(
            "terminating connection due to idle-session timeout")

    def cursor_description(self, name: str) -> tuple[Sequence[Column], list[int]] | None:
        return self.cursors.description(name)

    def end_of_sync(self) -> None:
        pass

    def terminate(self) -> None:
        """pg_terminate_backend() from another session: the client gets 57P01 and is closed."""
        self.cancel()
        if self.on_terminate is not None:
            self.on_terminate()

    def cancel(self) -> None:
        waiter = self._lock_wait
        if waiter is not None and not waiter.done():
            waiter.set_exception(errors.QueryCanceled("canceling statement due to user request"))
        conn = self.conn
        if conn is not None and self._running:
            self.pool.cancel_soon(conn.cancel)
        for stop in list(self.on_cancel):
            stop()

    async def close(self, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        self.notifications.unlisten(self.database, self.inbox, None)
        self._services.closed(self, reason)
        self.advisory.release(self.pid)
        if self._home.transaction_mode and not self._lend:
            self._home.pinned -= 1
        if self.conn is None:
            return
        # Open results are abandoned, not drained: closing the connection ends
        # them, where draining a large unread MySQL result could take seconds.
        # Not awaited: a hung backend's workers may take long to get to it.
        self._put_back()

    def _put_back(self) -> None:
        """End the session's hold on its connection: back to its pool if it is as clean as a
        new one, else closed (rolling back, and undoing DDL: pool.close_connection)."""
        conn, lease, pool = self.conn, self._lease, self._lease_pool
        clean = not (self._active is not None or self.in_transaction or self.failed
                     or self._depends())
        self._active = None
        self.cursors = Cursors()
        undo, self.ddl_undo = self.ddl_undo, []
        self._unhold()
        if conn is None:
            return
        if lease is None or pool is None:  # a branch's own connection, never pooled
            self.pool.submit(close_connection, conn, undo)
        elif clean:
            pool.release(lease)
        else:
            pool.discard(lease, undo)

    def _unhold(self) -> None:
        self.conn = None
        self._lease = self._lease_pool = None
        self._conn_branch = None
        self._member = self.route.group.primary  # type: ignore[union-attr]
        self.pool = self._home.workers

    def _depends(self) -> bool:
        """The connection holds state of this session's that a new one would not have."""
        return bool(self._dirty or self.temp_names or len(self.cursors) or self.ddl_undo
                    or self._conn_branch)

    def _pin(self) -> None:
        """From now on the session keeps its connection (transaction mode's exception)."""
        self._dirty = True
        if self._lend and self._lease_pool is self._home:
            self._lend = False
            self._home.pinned += 1

    def pin(self) -> None:
        """A statement left state on the backend connection (a temporary table, a sequence's
        currval, what an unknown statement or a CALL may have set)."""
        self._pin()

    def settle(self) -> None:
        """Give the connection back if the session no longer needs it (transaction mode)."""
        lease = self._lease
        if lease is None or self._running or self._active is not None or self.in_transaction \
                or self.failed or self.lost_transaction:
            return
        pool = self._lease_pool
        if pool is self._home:
            if not self._lend:
                return
            if self._depends():
                self._pin()
                return
            # _unhold, inlined: this runs once per statement in transaction mode
            self.conn = self._lease = self._lease_pool = self._conn_branch = None
        elif len(self.cursors):  # a cursor read on a replica keeps it until detached
            return
        else:
            self._unhold()
        pool.release(lease)  # type: ignore[union-attr]

    # ------------------------------------------------------------ state changes

    def target(self) -> dialects.Target:
        """The dialect target for this session's backend, branch and AS OF (cached)."""
        if self._target is None:
            backend = self.route.backend
            caps = backend.capabilities
            branch = self.settings.get("pgproxy.branch") or self.route.branch
            self._target = dialects.Target(
                dialect=backend.dialect,
                paramstyle=backend.paramstyle,
                backend=backend.name,
                as_of_commit=caps.as_of_commit,
                as_of_timestamp=caps.as_of_timestamp,
                branches=caps.branches,
                returning=caps.returning,
                branch=branch or None,
                as_of=self.settings.get("pgproxy.as_of") or None,
                database=self.route.name,
            )
        return self._target

    def apply_setting(self, setting: dialects.Setting) -> None:
        name = setting.name
        if name in ("pgproxy.branch", "pgproxy.as_of") and setting.value:
            caps = self.route.backend.capabilities
            able = caps.branches if name == "pgproxy.branch" else (
                caps.as_of_commit or caps.as_of_timestamp
            )
            if not able:
                raise errors.FeatureNotSupported(
                    f"the {self.route.backend.name} backend cannot honour {name}",
                    sqlstate="0A000",
                )
            _validated(classify_as_of if name == "pgproxy.as_of" else validate_ref, setting.value)
        if name == "all" and setting.value is None:
            self.settings.reset_all()
        else:
            tx = self.in_transaction
            self.settings.set(name, setting.value, local=setting.local, in_transaction=tx)
            for more in setting.also:
                self.settings.set(more.name, more.value, local=more.local, in_transaction=tx)
        self._target = None

    def use(self, database: str) -> None:
        """USE "db/branch": switch route and branch for the rest of the session."""
        route = self._services.router.resolve(database)
        if route.backend is not self.route.backend:
            raise errors.FeatureNotSupported(
                f'USE cannot move a session to another backend ("{database}")', sqlstate="0A000"
            )
        if route.branch:
            _validated(validate_ref, route.branch)
        self.route = route
        self.database = database
        self._target = None

    def session_value(self, name: str, params: Sequence[Any] = ()) -> Any:
        """A value the dialect layer asked the proxy to bind (current_user, version() …)."""
        if name == "current_database":
            return self.database
        if name in ("current_user", "session_user", "user"):
            return self.user
        if name == "current_schema":
            return "public"
        if name == "version":
            return settings_mod.VERSION_STRING
        if name == "backend_pid":
            return self.pid
        if name.startswith("setting:"):
            return self._current_setting(name[8:].split(":"), params)
        if name.startswith("literal:"):
            _, typname, text = name.split(":", 2)
            oid = _LITERAL_OIDS[typname]
            value = self.read_literal(oid, text)
            if typname == "timetz" and not isinstance(value, str):
                return encode(value, oid).decode()  # drivers drop a time's offset: bind text
            return value
        raise errors.InternalError(f"the dialect asked for an unknown session value {name!r}")

    def read_literal(self, oid: int, text: str) -> Any:
        """A literal's text read as type `oid`, by the session's DateStyle and TimeZone."""
        return decoder(oid, 0, self.settings.style())(text.encode())

    def _current_setting(self, spec: list[str], params: Sequence[Any]) -> str | None:
        """current_setting(name [, missing_ok]), each a constant or a client's $n."""
        name = _argument(spec[0], params)
        missing_ok = len(spec) > 1 and _argument(spec[1], params)
        if name is None or missing_ok is None:
            return None  # current_setting is strict: NULL in, NULL out
        try:
            return self.settings.get(str(name))
        except errors.UndefinedObject:
            if truthy(missing_ok):
                return None
            raise

    def resolve_setting(self, setting: dialects.Setting, params: Sequence[Any]) -> dialects.Setting:
        """set_config($1, $2, $3): the Setting with the client's values in place."""
        if setting.params is None:
            return setting
        name_ref, value_ref, local_ref = setting.params
        name = setting.name if name_ref is None else _argument(f"${name_ref + 1}", params)
        if name is None:
            raise errors.NullValueNotAllowed("SET requires parameter name")
        value = setting.value if value_ref is None else _argument(f"${value_ref + 1}", params)
        local = setting.local
        if local_ref is not None:
            flag = _argument(f"${local_ref + 1}", params)
            local = truthy(flag)
        return dialects.Setting(str(name).lower(), None if value is None else str(value), local)

    # ------------------------------------------------------------ the backend connection

    async def run(self, fn: Callable[..., T], *args: Any, retry: bool = False) -> T:
        """`fn(conn, *args)` on the session's connection, opened first if need be.

        `retry`: the call is safe to repeat (a read with no side effects whose
        rows have not reached the client). Outside a transaction block, such a
        call that lost its connection runs once more on a fresh one, so a
        session open through a backend restart carries on unnoticed.
        """
        if retry and self._replicas and self._to_replicas():
            if self.conn is not None:  # lent for an earlier call (the catalog's schema read)
                self.settle()
            if self.conn is None:
                return await self._read(fn, args)
        conn = await self.connection()
        member = self._member
        if not retry and self._sticky:  # a write: the session's reads stay on the primary
            self._sticky_until = time.monotonic() + self._sticky
        start = perf_counter()
        try:
            try:  # at once on the loop where its pool can: no job, no future, no timer
                out = self.pool.inline(fn, conn, *args)
            except errors.PgError as exc:
                self._timed_out = self._abandoned = False
                raise await self._failed(exc, conn) from None
            if out is NOT_INLINE:
                out = await self.call(fn, conn, *args)
        except errors.PgError as exc:
            member.record(perf_counter() - start, False)
            lost = self.conn is None and exc.sqlstate in UNAVAILABLE
            if not (retry and lost and not self.in_transaction and not self._closed):
                if lost:
                    raise self._unreachable(member, exc) from None
                raise
            backend = self.route.backend.redacted_url()
            log.info("retrying a read on a new connection to %s: %s", backend, exc.message)
            member.retries += 1
        else:
            member.record(perf_counter() - start, True)
            return out
        conn = await self.connection()
        if self.route.backend.capabilities.passthrough:
            await self.push_settings(conn)  # the new connection has the backend's defaults
        return await self.call(fn, conn, *args)

    def _to_replicas(self) -> bool:
        """Whether a read may borrow a replica's connection now."""
        group = self.route.group
        return bool(
            group is not None and group.replicas and self._lend and not self.in_transaction
            and not self.failed and not len(self.cursors)
            and time.monotonic() >= self._sticky_until
            # A result kept open on a replica could not follow the session to the primary.
            and not self.route.backend.capabilities.open_results
        )

    async def _read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """A read on the member the route picks; once more on another should it be
        unreachable, at connect or before any of its rows reached the client."""
        group = self.route.group
        assert group is not None
        tried: frozenset[Member] = frozenset()
        while True:
            member = group.pick_read(tried)
            pool = self._home if member is group.primary else self._services.connections(member)
            start = perf_counter()
            try:
                conn = await self._borrow(pool, member)
                out = await self.call(fn, conn, *args)
            except errors.PgError as exc:
                member.record(perf_counter() - start, False)
                lost = self.conn is None and exc.sqlstate in UNAVAILABLE
                if not lost or tried or self._closed or self.in_transaction:
                    raise
                self._services.unreachable(member)
                group.ban(member, exc.message)
                tried = frozenset({member})
                nxt = group.pick_read(tried)
                if nxt is member:
                    raise
                group.failover(member, nxt, exc.message)
                log.info("read on %s failed (%s): retrying on %s", member.name, exc.message,
                         nxt.name)
                continue
            member.record(perf_counter() - start, True)
            return out

    async def _borrow(self, pool: ConnectionPool, member: Member) -> Connection:
        """A connection of `member`'s pool becomes the session's."""
        lease = pool.take_idle()
        if lease is None:
            group = self.route.group
            if member.down and group is not None and group.replicas:
                raise self._unreachable(member, errors.ConnectionFailure(
                    f"backend {member.name} is down"))
            try:
                lease = await self._acquire(pool)
            except errors.PgError as exc:
                if exc.sqlstate in UNAVAILABLE:
                    raise self._unreachable(member, exc) from None
                raise
        return self._hold(lease, pool, member)

    def _hold(self, lease: Lease, pool: ConnectionPool, member: Member) -> Connection:
        self._lease, self._lease_pool, self._member = lease, pool, member
        self.pool = pool.workers
        self.conn = lease.conn
        self._pushed = None
        return lease.conn

    async def _acquire(self, pool: ConnectionPool) -> Lease:
        """A connection opened or waited for, within statement_timeout: given up on, one
        that arrives later goes to the pool's idle list."""
        timeout = self.settings.statement_timeout_ms()
        if timeout <= 0:
            return await pool.acquire()
        task = asyncio.ensure_future(pool.acquire())
        done, _ = await asyncio.wait({task}, timeout=timeout / 1000)
        if not done:
            task.add_done_callback(partial(_late_lease, pool))
            raise errors.QueryCanceled("canceling statement due to statement timeout")
        return task.result()

    def _unreachable(self, member: Member, exc: errors.PgError) -> errors.PgError:
        """The error for a member that cannot be reached: for a route with replicas it names
        the route, and says 58000 when no member at all is left."""
        group = self.route.group
        if group is None or not group.replicas:
            return exc
        if member.role == "replica":
            return exc  # a read: _read tries another member
        now = time.monotonic()
        if all(m.down or m.banned(now) for m in group.replicas):
            return errors.SystemError(
                f'route "{group.name}" is down: no member can be reached',
                detail=f"primary {member.name}: {exc.message}",
            )
        return errors.ConnectionFailure(
            f'route "{group.name}": its primary {member.backend.redacted_url()} cannot be '
            "reached; only reads outside a transaction block can run now",
            detail=exc.message, hint=exc.hint,
        )

    def call(self, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        """Run a driver call on the session's connection in the backend's workers (its
        awaitable: no frame of its own on the hot path).

        Keeps the transaction state true afterwards, and drops a connection the
        backend lost, so the next statement gets a new one.
        """
        return self._wait(self.pool.submit(fn, *args), self.conn)

    async def _wait(self, job: Job[T], conn: Connection | None) -> T:
        """The result of `job`, running on `conn` (None: it opens one).

        statement_timeout is enforced here: the timer cancels the backend
        statement; should the backend not answer the cancel within a grace
        period (a hung server), the call is abandoned and the connection broken
        off and closed in the worker, so the client gets 57014 on time either way.
        """
        timeout = self.settings.timeout_ms("statement_timeout")
        self._timed_out = self._abandoned = False
        if timeout > 0:
            self._timer = asyncio.get_running_loop().call_later(
                timeout / 1000, self._on_timeout, job, conn, timeout / 1000
            )
        self._running = True
        try:
            return await job.future
        except errors.PgError as exc:
            raise await self._failed(exc, conn) from None
        finally:
            self._running = False
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    async def _failed(self, exc: errors.PgError, conn: Connection | None) -> errors.PgError:
        """Bring the session's state in line with a failed call; returns the error to send."""
        if exc.sqlstate == "57014":
            why = "statement timeout" if self._timed_out else "user request"
            exc = errors.QueryCanceled(f"canceling statement due to {why}")
        if conn is None or conn is not self.conn:
            return exc  # a connect that failed, or a call whose connection is gone already
        if self._abandoned:  # queued behind a hung backend: the connection is as it was
            self.failed = self.in_transaction
            return exc
        if exc.sqlstate in UNAVAILABLE and broken(conn):
            in_transaction = self.in_transaction
            self._lose_connection(conn)
            if in_transaction:
                return errors.ConnectionFailure(
                    "the connection to the backend was lost inside a transaction block; "
                    "the backend rolled the transaction back",
                    detail=exc.message,
                    hint="ROLLBACK, then run the transaction again.",
                )
            return exc
        self.in_transaction = await self.pool.run(_in_transaction, conn)
        if self.in_transaction:
            self.failed = True
        return exc

    def _lose_connection(self, conn: Connection, closing: bool = False) -> None:
        """`conn` is gone: the next statement opens another; an open transaction went with it.
        It is closed in a worker (`closing`: its closing is on its way already)."""
        if self.conn is conn:
            lease, pool = self._lease, self._lease_pool
            self._unhold()
            self._active = None
            if lease is not None and pool is not None:
                pool.discard(lease, closed=closing, lost=True)
            elif not closing:
                self.pool.submit(close_connection, conn)
            if self.in_transaction:
                self.failed = True
                self.lost_transaction = True

    def _on_timeout(self, job: Job[Any], conn: Connection | None, timeout: float) -> None:
        self._timed_out = True
        if job.state == QUEUED:  # still waiting for a worker: nothing to cancel
            self._give_up(job, conn)
            return
        if conn is not None:
            self.pool.cancel_soon(conn.cancel)
        grace = min(max(timeout, CANCEL_GRACE[0]), CANCEL_GRACE[1])
        self._timer = asyncio.get_running_loop().call_later(grace, self._give_up, job, conn)

    def _give_up(self, job: Job[Any], conn: Connection | None) -> None:
        """The cancel has not landed: answer 57014 now and leave the call behind."""
        if job.future.done():
            return
        state = self.pool.abandon(job, partial(_discard, conn))
        if state == FINISHED:
            return  # it came back meanwhile: its own result stands
        if state != QUEUED and conn is not None:
            self._lose_connection(conn, closing=True)
            abort(conn)  # wakes the worker blocked on the hung socket
        self._abandoned = True
        job.future.set_exception(
            errors.QueryCanceled("canceling statement due to statement timeout")
        )

    async def connection(self) -> Connection:
        # A branch (the route's `db/branch`, USE, or SET pgproxy.branch) is the
        # connection's own database, Dolt's revision database, so dolt_commit()
        # and active_branch() act on it too, not only the tables the dialect
        # qualifies; any other name uses the database in the backend's URL.
        route = self.route
        branch = self.settings.value("pgproxy.branch") or route.branch or None
        conn = self.conn
        if conn is not None and self._lease_pool is not self._home and self._lease is not None:
            self.settle()  # a replica's, lent for a read: the primary's is wanted now
            conn = self.conn
            if conn is not None:  # held by a cursor: released by release_active first
                await self.release_active()
                lease, pool = self._lease, self._lease_pool
                self._unhold()
                pool.release(lease)  # type: ignore[union-attr]
                conn = None
        if conn is None:
            if branch:  # a branch's connection is the session's own, never pooled
                self._pin()
                job = self.pool.submit(open_connection, route.backend, f"{route.name}/{branch}")
                self.conn = await self._wait(job, None)
                self._pushed = None
            else:
                primary = route.group.primary  # type: ignore[union-attr]
                lease = self._home.take_idle()  # the hot path: no coroutine, no thread hop
                if lease is not None:
                    self._hold(lease, self._home, primary)
                else:
                    await self._borrow(self._home, primary)
            self._conn_branch = branch
        elif branch != self._conn_branch:
            database = (
                f"{route.name}/{branch}" if branch
                else getattr(route.backend, "database", None) or route.name
            )
            use = "USE `{}`".format(database.replace("`", "``"))
            self._pin()
            await self.call(_run_closed, self.conn, use)
            self._conn_branch = branch
        return self.conn  # type: ignore[return-value]

    async def end_lost_transaction(self) -> None:
        """ROLLBACK or COMMIT of a transaction whose connection died: nothing is left to end."""
        self.lost_transaction = False
        self.after_statement(dialects.Kind.ROLLBACK, False)
        await self.cursors.end_transaction(commit=False)

    async def push_settings(self, conn: Connection) -> None:
        """Give a PostgreSQL backend the session's TimeZone and DateStyle order, so it reads
        literals as the client's PostgreSQL would (output stays ISO: the proxy prints)."""
        settings = self.settings
        want = (settings.get("timezone"), settings.style().order)
        if want == self._pushed or self.failed:
            return
        await self.call(_run_closed_params, conn,
                        "SELECT set_config('TimeZone', $1, false), "
                        "set_config('DateStyle', $2, false)", [want[0], f"ISO, {want[1]}"])
        self._pushed, self._pushed_in_tx = want, self.in_transaction

    async def release_active(self) -> None:
        """Close a result still open on the connection before another statement runs."""
        active, self._active = self._active, None
        if active is not None:
            await active.close()
        if not self.route.backend.capabilities.open_results:
            await self.cursors.detach()  # another statement would end their results

    def set_active(self, result: Any) -> None:
        self._active = result

    def keep_open(self, result: Any) -> None:
        """A DECLAREd cursor's result outlives the statements that follow it."""
        if self._active is result:
            self._active = None

    def statement_failed(self) -> None:
        """An error raised before the backend ran anything (translation, binding): inside a
        transaction block it aborts the transaction, as any error does in PostgreSQL."""
        if self.in_transaction:
            self.failed = True

    def commit_failed(self) -> None:
        """A COMMIT the backend refused ends the transaction all the same: its ROLLBACK runs
        next, and must not be refused as a statement of a failed transaction."""
        self.failed = False

    def set_cache_tx(self, tx: Any) -> None:
        """The query cache's view of the open transaction (None: none open)."""
        self.cache_tx = tx

    def add_temp_names(self, names: set[str]) -> None:
        """Temporary relations this statement created on the session's connection."""
        if not names <= self.temp_names:
            self.temp_names = self.temp_names | names

    def forget_active(self, result: Any) -> None:
        """`result` has ended: it no longer holds the connection."""
        if self._active is result:
            self._active = None
            if self._lease is not None:
                self.settle()

    # ------------------------------------------------------------ other sessions

    def session_by_pid(self, pid: int) -> Session | None:
        """The open session with this backend pid (pg_terminate_backend and friends)."""
        return next((s for s in self._services.sessions if s.pid == pid), None)

    def activity(self) -> list[Activity]:
        """pg_stat_activity, taken on the event loop: (database, pid, user,
        application_name, whether it is this session) per open session."""
        return activity(self._services.sessions, self)

    def elsewhere(self) -> Elsewhere | None:
        return self._services.elsewhere

    def spawn(self, route: Route, user: str, peer: str) -> Session:
        """A session of the proxy's own on `route` (a cache refresh): no client, pid 0."""
        return Session(self._services, {"user": user, "database": route.name}, route, 0, peer)

    async def drop_connection(self) -> None:
        """Give back the backend connection of a session that never was a client's."""
        self._put_back()

    async def wait_for_lock(self, waiter: asyncio.Future[None]) -> None:
        """Wait for an advisory lock's holder to let go: a cancel or statement_timeout
        ends the wait with 57014."""
        self._lock_wait = waiter
        timeout = self.settings.statement_timeout_ms()
        try:
            async with asyncio.timeout(timeout / 1000 if timeout > 0 else None):
                await waiter
        except TimeoutError:
            raise errors.QueryCanceled("canceling statement due to statement timeout") from None
        finally:
            self._lock_wait = None

    def after_statement(self, kind: dialects.Kind, in_transaction: bool) -> None:
        if not in_transaction:  # the transaction's advisory locks and savepoints go with it
            self.advisory.release(self.pid, xact=True)
            self.savepoints.clear()
        self.in_transaction = in_transaction
        if not in_transaction and self.inbox.pending:
            # MySQL's DDL commits implicitly: only a ROLLBACK drops them.
            notify.end_transaction(self.notifications, self.database, self.inbox,
                                   commit=kind is not dialects.Kind.ROLLBACK)
        if kind in _ENDS_TX:
            self.failed = False
            self.settings.end_transaction(commit=kind is dialects.Kind.COMMIT)
        elif kind is _ROLLBACK_TO:
            self.failed = False
        if self._pushed_in_tx and kind in _ROLLS_BACK:
            self._pushed = None  # the backend rolled the pushed settings back too


def _argument(spec: str, params: Sequence[Any]) -> Any:
    """A setting function's argument: a constant, or `$n`, the client's parameter n."""
    if spec.startswith("$"):
        n = int(spec[1:])
        if n > len(params):
            raise errors.UndefinedParameter(f"there is no parameter ${n}")
        return params[n - 1]
    if spec in ("true", "false"):
        return spec == "true"
    return spec


def _validated(check: Callable[[str], Any], value: str) -> None:
    """A hint value checked by the dialect layer, its refusal as a PgError."""
    try:
        check(value)
    except dialects.TranslationError as exc:
        raise errors.from_sqlstate(exc.sqlstate, exc.message) from None


def _run_closed(conn: Connection, sql: str) -> None:
    conn.execute(sql, ()).close()


def _run_closed_params(conn: Connection, sql: str, params: list[Any]) -> None:
    conn.execute(sql, params).close()


def _in_transaction(conn: Connection) -> bool:
    try:
        return conn.in_transaction
    except Exception:  # a broken connection is in no transaction we can continue
        return False


def _discard(conn: Connection | None, result: Any) -> None:
    """Worker-side, after an abandoned call returned: close the connection it used or opened."""
    if conn is None:
        conn = result  # an abandoned connect: its new connection
    if conn is not None:
        close_connection(conn)


def _late_lease(pool: ConnectionPool, task: asyncio.Future[Lease]) -> None:
    """A connection its borrower gave up waiting for: the pool keeps it."""
    if not task.cancelled() and task.exception() is None:
        pool.release(task.result())


def _options(options: str) -> dict[str, str]:
    """The startup `options` string: `-c name=value` pairs (libpq's PGOPTIONS)."""
    out: dict[str, str] = {}
    words = options.replace("--", "-c ").split()
    for i, word in enumerate(words):
        if word == "-c" and i + 1 < len(words) and "=" in words[i + 1]:
            name, value = words[i + 1].split("=", 1)
            out[name.replace("-", "_")] = value
        elif word.startswith("-c") and "=" in word[2:]:
            name, value = word[2:].split("=", 1)
            out[name.replace("-", "_")] = value
    return out


def activity(sessions: Iterable[Session], me: Session | None = None) -> list[Activity]:
    """pg_stat_activity's rows of `sessions`, taken on the event loop."""
    return [(s.database, s.pid, s.user, s.settings.get("application_name"), s is me)
            for s in list(sessions)]
