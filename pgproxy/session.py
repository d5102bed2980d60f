"""One client's session behind the wire: its settings, route, backend connection, transaction.

This is the one place a session's state changes: settings, branch and
AS OF, the backend connection, and the transaction status, which comes from
the backend driver's real state (plus the failed flag PostgreSQL keeps after
an error inside a transaction block).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import dialects
from dialects.hints import classify_as_of, validate_ref
from pgproxy import errors
from pgproxy.backends.base import Backend, Column, Connection
from pgproxy.cursors import Cursors
from pgproxy.health import UNAVAILABLE
from pgproxy.settings import VERSION_STRING, Settings
from pgproxy.wire.codecs import decoder

if TYPE_CHECKING:
    from pgproxy.proxy import Proxy
    from pgproxy.router import Route

log = logging.getLogger("pgproxy.session")
T = TypeVar("T")

TEXT_OID = 25


@dataclass(slots=True)
class PreparedStatement:
    """A parsed statement with its parameter types (declared, inferred, or text)."""

    statement: dialects.Statement
    param_types: list[int]
    empty: bool
    literals: tuple[Any, ...] = ()  # values lifted out of a shaped text, bound after $n


class Session:
    """Implements the wire's CoreSession for one client."""

    def __init__(
        self, proxy: Proxy, params: Mapping[str, str], route: Route, pid: int, peer: str
    ) -> None:
        self.proxy = proxy
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
        self.in_transaction = False
        self.failed = False
        self.cache_tx: Any = None  # the query cache's view of the open transaction
        self._target: dialects.Target | None = None
        self._active: Any = None  # the result whose cursor is open on `conn`
        self.cursors = Cursors()
        self._running = False
        self._timed_out = False
        self._closed = False

    # ------------------------------------------------------------ wire-facing

    def parameter_status(self) -> Mapping[str, str]:
        return self.settings.reported()

    def changed_parameters(self) -> list[tuple[str, str]]:
        return self.settings.changed()

    @property
    def transaction_status(self) -> bytes:
        if self.failed:
            return b"E"
        return b"T" if self.in_transaction else b"I"

    async def prepare(self, sql: str, param_types: Sequence[int] = ()) -> PreparedStatement:
        statements, literals = self.proxy.pipeline.parse_shaped(
            sql, self.target(), len(param_types)
        )
        if len(statements) > 1:
            raise errors.SyntaxError("cannot insert multiple commands into a prepared statement")
        if not statements:
            statements = [dialects.Statement(sql, dialects.Kind.EMPTY, "")]
        stmt = statements[0]
        inferred: Sequence[int] = ()
        if stmt.param_columns and self.route.backend.dialect != "postgres" and any(
            not (i < len(param_types) and param_types[i]) for i, _, _ in stmt.param_columns
        ):
            # PostgreSQL types an uncast $n by its column; so does the catalog's schema.
            inferred = await self.proxy.pipeline.catalog.param_types(self, stmt)
        prepared = self._prepared(stmt, param_types, inferred)
        prepared.literals = literals
        return prepared

    def split(self, sql: str) -> list[PreparedStatement]:
        statements, literals = self.proxy.pipeline.parse_shaped(
            sql, self.target(), simple_query=True
        )
        prepared = [self._prepared(s, ()) for s in statements]
        if literals:  # a shape is always one statement
            prepared[0].literals = literals
        return prepared

    def _prepared(
        self, stmt: dialects.Statement, declared: Sequence[int], inferred: Sequence[int] = ()
    ) -> PreparedStatement:
        """Each $n's type: declared in Parse, else a cast's, else its column's, else text."""
        n = max(stmt.nparams, len(declared))
        types = []
        for i in range(n):
            oid = declared[i] if i < len(declared) else 0
            if not oid and i < len(stmt.param_types):
                oid = stmt.param_types[i]
            if not oid and i < len(inferred):
                oid = inferred[i]
            types.append(oid or TEXT_OID)
        return PreparedStatement(stmt, types, stmt.kind is dialects.Kind.EMPTY)

    async def begin_implicit(self, statements: Sequence[PreparedStatement]) -> bool:
        return await self.proxy.pipeline.begin_implicit(self, statements)

    async def end_implicit(self, commit: bool) -> None:
        await self.proxy.pipeline.end_implicit(self, commit)

    def decode_params(
        self, prepared: PreparedStatement, values: Sequence[bytes | None], formats: Sequence[int]
    ) -> list[Any]:
        out: list[Any] = []
        for oid, fmt, value in zip(prepared.param_types, formats, values, strict=True):
            out.append(None if value is None else decoder(oid, fmt)(value))
        return out

    async def describe(self, prepared: PreparedStatement) -> Sequence[Column] | None:
        return await self.proxy.pipeline.describe(self, prepared)

    async def execute(
        self, prepared: PreparedStatement, params: Sequence[Any], result_formats: Sequence[int]
    ) -> Any:
        run = self.proxy.pipeline.run(self, prepared, params, result_formats)
        watch = self.proxy.watch
        return await (run if watch is None else watch.statement(self, prepared.statement, run))

    def cursor_description(self, name: str) -> tuple[Sequence[Column], list[int]] | None:
        return self.cursors.description(name)

    def end_of_sync(self) -> None:
        pass

    def cancel(self) -> None:
        conn = self.conn
        if conn is not None and self._running:
            self.proxy.workers.cancel_soon(conn.cancel)

    async def close(self, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        self.proxy.closed(self, reason)
        conn, self.conn = self.conn, None
        if conn is None:
            return
        # Open results are abandoned, not drained: closing the connection ends
        # them, where draining a large unread MySQL result could take seconds.
        self._active = None
        self.cursors = Cursors()
        await self.proxy.workers.run(_close_connection, conn, self.in_transaction)

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
            self.settings.set(name, setting.value, local=setting.local)
        self._target = None

    def use(self, database: str) -> None:
        """USE "db/branch": switch route and branch for the rest of the session."""
        route = self.proxy.router.resolve(database)
        if route.backend is not self.route.backend:
            raise errors.FeatureNotSupported(
                f'USE cannot move a session to another backend ("{database}")', sqlstate="0A000"
            )
        if route.branch:
            _validated(validate_ref, route.branch)
        self.route = route
        self.database = database
        self._target = None

    def session_value(self, name: str) -> Any:
        """A value the dialect layer asked the proxy to bind (current_user, version() …)."""
        if name == "current_database":
            return self.database
        if name in ("current_user", "session_user", "user"):
            return self.user
        if name == "current_schema":
            return "public"
        if name == "version":
            return VERSION_STRING
        if name == "backend_pid":
            return self.pid
        if name.startswith("setting:"):
            return self.settings.get(name[8:])
        raise errors.InternalError(f"the dialect asked for an unknown session value {name!r}")

    # ------------------------------------------------------------ the backend connection

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a driver call in a worker; keep the transaction state true afterwards.

        statement_timeout is enforced here: the timer cancels the backend
        statement, and the client gets 57014 as from PostgreSQL.
        """
        loop = asyncio.get_running_loop()
        timeout = self.settings.statement_timeout_ms()
        timer = loop.call_later(timeout / 1000, self._on_timeout) if timeout > 0 else None
        self._running = True
        self._timed_out = False
        try:
            return await self.proxy.workers.run(fn, *args)
        except errors.QueryCanceled:
            if self._timed_out:
                raise errors.QueryCanceled("canceling statement due to statement timeout") from None
            raise errors.QueryCanceled("canceling statement due to user request") from None
        except errors.PgError as exc:
            if exc.sqlstate in UNAVAILABLE and self.proxy.health is not None:
                self.proxy.health.mark_down(self.route.backend, exc.message)
            if self.conn is not None:
                self.in_transaction = await self.proxy.workers.run(_in_transaction, self.conn)
                if self.in_transaction:
                    self.failed = True
            raise
        finally:
            self._running = False
            if timer is not None:
                timer.cancel()

    def _on_timeout(self) -> None:
        self._timed_out = True
        self.cancel()

    async def connection(self) -> Connection:
        # A branch (the route's `db/branch`, USE, or SET pgproxy.branch) is the
        # connection's own database, Dolt's revision database, so dolt_commit()
        # and active_branch() act on it too, not only the tables the dialect
        # qualifies; any other name uses the database in the backend's URL.
        route = self.route
        branch = self.settings.get("pgproxy.branch") or route.branch or None
        if self.conn is None:
            database = f"{route.name}/{branch}" if branch else None
            setup = dialects.session_setup(route.backend.dialect)
            try:
                self.conn = await self.proxy.workers.run(_connect, route.backend, database, setup)
            except errors.PgError as exc:
                if exc.sqlstate in UNAVAILABLE and self.proxy.health is not None:
                    self.proxy.health.mark_down(route.backend, exc.message)
                raise
            self._conn_branch = branch
        elif branch != self._conn_branch:
            database = (
                f"{route.name}/{branch}" if branch
                else getattr(route.backend, "database", None) or route.name
            )
            use = "USE `{}`".format(database.replace("`", "``"))
            await self.proxy.workers.run(_run_closed, self.conn, use)
            self._conn_branch = branch
        return self.conn

    async def release_active(self) -> None:
        """Close a result still open on the connection before another statement runs."""
        active, self._active = self._active, None
        if active is not None:
            await active.close()

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

    def after_statement(self, kind: dialects.Kind, in_transaction: bool) -> None:
        self.in_transaction = in_transaction
        if kind in (dialects.Kind.COMMIT, dialects.Kind.ROLLBACK):
            self.failed = False
            self.settings.end_transaction()
        elif kind is dialects.Kind.ROLLBACK_TO:
            self.failed = False


def _validated(check: Callable[[str], Any], value: str) -> None:
    """A hint value checked by the dialect layer, its refusal as a PgError."""
    try:
        check(value)
    except dialects.TranslationError as exc:
        raise errors.from_sqlstate(exc.sqlstate, exc.message) from None


def _connect(backend: Backend, database: str | None, setup: Sequence[str]) -> Connection:
    conn = backend.connect(database)
    for sql in setup:
        conn.execute(sql, ()).close()
    return conn


def _run_closed(conn: Connection, sql: str) -> None:
    conn.execute(sql, ()).close()


def _in_transaction(conn: Connection) -> bool:
    try:
        return conn.in_transaction
    except Exception:  # a broken connection is in no transaction we can continue
        return False


def _close_connection(conn: Connection, in_transaction: bool) -> None:
    try:
        conn.close()
    except Exception:  # the client is gone; a failed close only needs a log line
        log.debug("error closing backend connection", exc_info=True)


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
