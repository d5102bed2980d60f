"""One client's session behind the wire: its settings, route, backend connection, transaction.

This is the one place a session's state changes: settings, branch and AS
OF, and the transaction status, which comes from the backend driver's real
state (plus the failed flag PostgreSQL keeps after an error inside a
transaction block); the backend connection, borrowed from its pool, given
back and called on, is its base class's part, BackendLink
(pgproxy/session_link.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, Protocol

import dialects
from dialects.hints import classify_as_of, validate_ref
from pgproxy import errors, notify
from pgproxy import settings as settings_mod
from pgproxy.advisory import AdvisoryLocks
from pgproxy.backends.base import Backend, Column
from pgproxy.core.statement import PreparedStatement
from pgproxy.cursors import Cursors
from pgproxy.routing.router import Route, Router
from pgproxy.savepoints import Savepoints
from pgproxy.session_link import BackendLink, Pools
from pgproxy.settings import Settings, truthy
from pgproxy.types import decoder, encode
from pgproxy.workers import Workers

TEXT_OID = 25
# Query texts from this size on are parsed off the event loop.
LARGE_TEXT = 1 << 20
# Statements a session remembers what it learnt of (_prepared), and the longest text.
MEMO_STATEMENTS = 64
MEMO_TEXT = 4096
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

    def known_param_types(
        self, session: Session, stmt: dialects.Statement, declared: Sequence[int]
    ) -> Sequence[int] | None: ...


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


class SessionServices(Pools, Protocol):
    """What a session is given by its owner (pgproxy.proxy.Proxy); nothing else reaches it."""

    pipeline: Runner
    workers: Workers
    router: Router
    notifications: notify.Hub
    advisory: AdvisoryLocks
    sessions: set[Session]
    elsewhere: Elsewhere | None

    def pool(self, backend: Backend) -> Workers: ...

    def closed(self, session: Session, reason: str = "") -> None: ...


class Session(BackendLink):
    """Implements the wire's CoreSession for one client."""

    _services: SessionServices

    def __init__(
        self, services: SessionServices, params: Mapping[str, str], route: Route, pid: int,
        peer: str,
    ) -> None:
        super().__init__(services, route)
        self._pipeline = services.pipeline
        # execute(): the pipeline's own coroutine, through a C partial (no frame of ours).
        self.execute = partial(services.pipeline.execute, self)  # type: ignore[method-assign]
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
        self._reported = -1  # the settings version changed_parameters last reported at
        self._idle_seen = -1  # the version _idle_ms was read at
        self._idle_ms = (0, 0)  # idle_session_timeout, idle_in_transaction_session_timeout
        self.in_transaction = False
        self.failed = False
        self.lost_transaction = False  # the backend connection died inside a transaction block
        self.cache_tx: Any = None  # the query cache's view of the open transaction
        # Temporary relations this session created (dialects.cacheability.temp_created):
        # the query cache neither keeps nor serves this session's reads of these names.
        self.temp_names: frozenset[str] = frozenset()
        self.target_now: dialects.Target | None = None
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
        self._lock_wait: asyncio.Future[None] | None = None  # an advisory lock's wait
        # What else a cancel request stops (a query across routes: DuckDB, other routes).
        self.on_cancel: set[Callable[[], None]] = set()
        self._closed = False

    # ------------------------------------------------------------ wire-facing

    def parameter_status(self) -> Mapping[str, str]:
        return self.settings.reported()

    def changed_parameters(self) -> list[tuple[str, str]]:
        # Asked as ReadyForQuery goes out: the session is idle now, so a pooled connection
        # it no longer needs goes back (after a COPY, a Describe, a Sync that closed portals).
        if self._lease is not None:
            self.settle()
        settings = self.settings
        if settings.version == self._reported:
            return []  # no value changed since the last ReadyForQuery: most statements
        self._reported = settings.version
        return settings.changed()

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
        inferred: Sequence[int] | None = ()
        if stmt.nparams:
            pipeline = self._pipeline
            inferred = pipeline.known_param_types(self, stmt, param_types)
            if inferred is None:
                inferred = await pipeline.param_types(self, stmt, param_types)
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
        if len(statements) == 1:  # most texts: no comprehension's frame
            prepared = [self._prepared(statements[0], ())]
        else:
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
            prepared.read_plan, prepared.read_learner = last.read_plan, last.read_learner
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
        settings = self.settings  # text dates read by DateStyle, in the TimeZone
        style = settings.style_now or settings.style()
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
        """The pipeline's own coroutine: it also marks the transaction failed on an error.
        (Each session binds it in __init__ as a partial: this is its signature.)"""
        return self._pipeline.execute(self, prepared, params, result_formats)

    def idle_timeout(self) -> tuple[float, errors.PgError] | None:
        """The idle timeout in force while the client is to send its next command."""
        in_tx = self.in_transaction or self.failed
        settings = self.settings
        if settings.version != self._idle_seen:  # both read again after a change only
            self._idle_seen = settings.version
            self._idle_ms = (settings.timeout_ms("idle_session_timeout"),
                             settings.timeout_ms("idle_in_transaction_session_timeout"))
        ms = self._idle_ms[in_tx]
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

    # ------------------------------------------------------------ state changes

    def target(self) -> dialects.Target:
        """The dialect target for this session's backend, branch and AS OF (cached)."""
        if self.target_now is None:
            backend = self.route.backend
            caps = backend.capabilities
            branch = self.settings.get("pgproxy.branch") or self.route.branch
            self.target_now = dialects.Target(
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
        return self.target_now

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
        self.target_now = None

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
        self.target_now = None

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

    async def end_lost_transaction(self) -> None:
        """ROLLBACK or COMMIT of a transaction whose connection died: nothing is left to end."""
        self.lost_transaction = False
        self.after_statement(dialects.Kind.ROLLBACK, False)
        await self.cursors.end_transaction(commit=False)


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
            if self.advisory.held:
                self.advisory.release(self.pid, xact=True)
            if self.savepoints.stack:
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
