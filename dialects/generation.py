"""generate(): a parsed statement in the target backend's dialect, with the driver's placeholders.

Order of work on a copy of the AST: refuse what the target cannot do
(RETURNING, hints), replace session functions by proxy-bound placeholders,
apply time travel and branches, run the dialect's rewrites, generate, then
turn placeholder marks into the driver's paramstyle.
"""

from __future__ import annotations

import re
from dataclasses import replace

from sqlglot import exp
from sqlglot.errors import UnsupportedError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

from dialects import classify, ddl, hints, records, returning, sequence_calls, sequences, sqlite_ddl
from dialects.api import Generated, Kind, Statement, Step, Target, TranslationError
from dialects.base import MARK, PgProxyBackend
from dialects.colnames import name_columns
from dialects.dolt import PgProxyDolt
from dialects.engines import MYSQL_SERVERS, TSQL_SERVERS, stock
from dialects.functions import proxy_values
from dialects.mysql import PgProxyMariaDB, PgProxyMySQL
from dialects.mysql_ddl import plan as mysql_plan
from dialects.parsing import _PARAM
from dialects.postgres import tokenize
from dialects.series import series
from dialects.sqlite import PgProxySQLite
from dialects.tsql import PgProxyBabelfish, PgProxyTSQL, tsql_transaction
from dialects.valuesdefault import split_rows

_DIALECTS: dict[str, PgProxyBackend] = {
    "sqlite": PgProxySQLite(),
    "mysql": PgProxyMySQL(),
    "mariadb": PgProxyMariaDB(),
    "dolt": PgProxyDolt(),
    "tsql": PgProxyTSQL(),
    "babelfish": PgProxyBabelfish(),
}
# What each dialect can express, whatever a Target claims.
_TIME_TRAVEL = {
    "sqlite": frozenset(),
    "mysql": frozenset(),
    "mariadb": frozenset({"timestamp"}),
    "dolt": frozenset({"ref", "timestamp", "branch"}),
    "tsql": frozenset({"timestamp"}),
    "babelfish": frozenset(),  # no system-versioned tables
}
_MARKS = re.compile(f"{MARK}([^{MARK}]+){MARK}")
_READ_ONLY = re.compile(r"\bREAD\s+ONLY\b", re.IGNORECASE)
_UTILITY_DDL = frozenset({"DO", "VACUUM", "ANALYZE", "LOCK TABLE", "REINDEX"})
# LISTEN / UNLISTEN / NOTIFY never get here: the proxy keeps the channels (pgproxy/notify.py).
_PASSED_TO_PROXY = {"DISCARD", "DISCARD ALL", "DEALLOCATE", "DEALLOCATE ALL"}
# LOCK TABLE … IN ACCESS SHARE / ROW SHARE MODE (pg_dump's): it only keeps DDL away, and a
# backend's transaction already reads one snapshot, so nothing needs doing.
_SHARE_LOCK = re.compile(r"\bIN\s+(ACCESS|ROW)\s+SHARE\s+MODE\b", re.IGNORECASE)

# Session values the proxy binds: node -> (Generated.params key, PostgreSQL's column name).
_SESSION: dict[type[exp.Expr], tuple[str, str]] = {
    exp.CurrentUser: ("current_user", "current_user"),
    exp.SessionUser: ("session_user", "session_user"),
    exp.CurrentCatalog: ("current_database", "current_catalog"),
    exp.CurrentDatabase: ("current_database", "current_database"),
    exp.CurrentSchema: ("current_schema", "current_schema"),
    exp.CurrentVersion: ("version", "version"),
}


def dialect_for(name: str) -> PgProxyBackend:
    """The backend dialect object by its Target.dialect name."""
    return _DIALECTS[name]


def generate(statement: Statement, target: Target) -> Generated:
    if target.dialect == "postgres":
        return _postgres(statement, target)
    dialect = _DIALECTS.get(target.dialect)
    if dialect is None:
        raise TranslationError(f"no translation to the {target.dialect} dialect", "0A000")
    kind = statement.kind
    if kind is Kind.EMPTY or kind in (Kind.SET, Kind.SHOW):
        return Generated("")
    if kind in (Kind.BEGIN, Kind.COMMIT, Kind.ROLLBACK, Kind.SAVEPOINT, Kind.RELEASE,
                Kind.ROLLBACK_TO):
        return _transaction(statement, target)
    if kind is Kind.USE:
        return _use(statement, target)
    if statement.expression is None or isinstance(statement.expression, exp.Command):
        return _utility(statement, target)

    _check_columns(statement.expression, target)
    tree = statement.expression.copy()
    # pg_dump's ONLY (FROM ONLY t, ALTER TABLE ONLY t): no table inherits on these backends;
    # its USING btree: every index is a btree there.
    for node in tree.find_all(exp.Table, exp.Alter, exp.IndexParameters):
        if isinstance(node, exp.IndexParameters):
            using = node.args.get("using")
            if using is not None and using.name.lower() == "btree":
                node.set("using", None)
        else:
            node.set("only", None)
    normalize_identifiers(tree, dialect="postgres")
    _check_returning(tree, dialect, target)
    tree = _session_functions(tree)
    tree = name_columns(tree)
    tree = _time_travel(tree, statement, target)
    notices: tuple[str, ...] = ()
    if kind is Kind.DDL:
        tree, notices = ddl.prepare(tree, target)
    tree = proxy_values(tree if dialect.NATIVE_SERIES else series(tree))
    types = classify.projection_types(statement.expression)
    if kind is Kind.INSERT and target.dialect == "sqlite" and (
        parts := split_rows(tree)
    ) is not None:
        steps = tuple(_step(part, dialect, target, statement.nparams) for part in parts)
        return Generated("", tuple(p for s in steps for p in s.params), types, steps=steps)
    if target.dialect == "mariadb" and kind is not Kind.DDL and sequence_calls.needs_plan(tree):
        described = _backend_sql(tree.copy(), dialect, target, statement.nparams)
        found = sequence_calls.prepare(tree)
        generated = _backend_sql(tree, dialect, target, statement.nparams)
        step = sequence_calls.step(found, generated, described)
        return Generated("", step.params, types, steps=(step,))
    for rewrite in dialect.PREPROCESS:
        tree = rewrite(tree)
    try:
        if kind is Kind.UPDATE and tree.args.get("returning") and not _native_returning(
            tree, dialect, target
        ):
            plan = returning.update_plan(tree, lambda node: _placeholders(
                dialect.generator().generate(node), target, statement.nparams))
            return Generated("", plan.params, types, steps=(plan,))
        if kind is Kind.DDL:
            steps = _plan(tree, dialect, target)
            if steps is not None:
                return Generated("", steps=steps, notices=notices)
        sql = dialect.generator().generate(tree, copy=False)
    except UnsupportedError as e:
        raise TranslationError(f"{target.backend}: {_first_line(e)}", "0A000") from None
    if notices:
        return Generated(sql, notices=notices)
    generated = _placeholders(sql, target, statement.nparams)
    if not types:
        return generated
    generated = replace(generated, column_types=types,
                        column_typmods=classify.projection_typmods(statement.expression))
    fields = records.field_types(statement.expression)
    return replace(generated, record_fields=fields) if fields else generated


def _backend_sql(tree: exp.Expr, dialect: PgProxyBackend, target: Target,
                 nparams: int) -> Generated:
    """A (part of a) statement in the backend's SQL, with its placeholders' sources."""
    for rewrite in dialect.PREPROCESS:
        tree = rewrite(tree)
    try:
        sql = dialect.generator().generate(tree, copy=False)
    except UnsupportedError as e:
        raise TranslationError(f"{target.backend}: {_first_line(e)}", "0A000") from None
    return _placeholders(sql, target, nparams)


def _step(tree: exp.Expr, dialect: PgProxyBackend, target: Target, nparams: int) -> Step:
    """One statement of several whose rows and counts add up to the client's statement."""
    generated = _backend_sql(tree, dialect, target, nparams)
    return Step(sql=generated.sql, params=generated.params, result=True)


def _plan(tree: exp.Expr, dialect: PgProxyBackend, target: Target) -> tuple | None:
    """Steps for DDL the backend has no single statement for (see dialects/ddl.py)."""
    if target.dialect == "sqlite":
        return sqlite_ddl.plan(tree, dialect)
    if target.dialect in MYSQL_SERVERS:
        return mysql_plan(tree, dialect)
    return None


def _check_columns(tree: exp.Expr, target: Target) -> None:
    """PostgreSQL has zero-column tables and results; SQLite and MySQL have neither."""
    if isinstance(tree, exp.Select) and not tree.expressions:
        raise TranslationError(
            f"{target.backend}: a SELECT without result columns is not supported", "0A000"
        )
    if (
        isinstance(tree, exp.Create)
        and tree.kind == "TABLE"
        and isinstance(tree.this, exp.Schema)
        and not tree.this.expressions
        and tree.expression is None
    ):
        raise TranslationError(
            f"{target.backend}: a table without columns is not supported", "0A000"
        )


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]


def _placeholders(sql: str, target: Target, nparams: int) -> Generated:
    if MARK not in sql:
        return Generated(sql.replace("%", "%%") if target.paramstyle == "format" else sql)
    params: list[int | str] = []
    if target.paramstyle == "dollar":
        session: dict[str, int] = {}

        def dollar(match: re.Match[str]) -> str:
            key = match.group(1)
            if key.isdigit():
                return f"${key}"
            return f"${session.setdefault(key, nparams + len(session) + 1)}"

        sql = _MARKS.sub(dollar, sql)
        params = [*range(nparams), *(k.removeprefix("session:") for k in session)]
        return Generated(sql, tuple(params))

    if target.paramstyle == "format":
        sql = sql.replace("%", "%%")
    mark = "?" if target.paramstyle == "qmark" else "%s"

    def positional(match: re.Match[str]) -> str:
        key = match.group(1)
        params.append(int(key) - 1 if key.isdigit() else key.removeprefix("session:"))
        return mark

    return Generated(_MARKS.sub(positional, sql), tuple(params))


def _text_marks(text: str) -> str:
    """The client's own text with `$n` outside strings and comments turned into marks."""
    return _PARAM.sub(
        lambda m: f"{MARK}{m.group(1)}{MARK}" if m.group(1) else m.group(0), text
    )


def _postgres(statement: Statement, target: Target) -> Generated:
    if statement.hints or target.branch or target.as_of:
        raise TranslationError(
            f"{target.backend}: PostgreSQL has no time travel or branches "
            f"(asked for {_describe(statement, target)})",
            "0A000",
        )
    if statement.kind is Kind.EMPTY:
        return Generated("")
    if target.paramstyle == "dollar":
        return Generated(statement.sql, tuple(range(statement.nparams)))
    return _placeholders(_text_marks(statement.sql), target, statement.nparams)


def _describe(statement: Statement, target: Target) -> str:
    h = statement.hints
    parts = [f"AS OF {kind} {value!r} on {table}" for table, kind, value in h.tables]
    if h.as_of or target.as_of:
        parts.append(f"AS OF {h.as_of or target.as_of!r}")
    if h.as_of_timestamp:
        parts.append(f"AS OF TIMESTAMP {h.as_of_timestamp!r}")
    if h.branch or target.branch:
        parts.append(f"branch {h.branch or target.branch!r}")
    return ", ".join(parts) or "nothing"


def _quote(name: str, target: Target) -> str:
    return exp.to_identifier(name, quoted=True).sql(stock(target.dialect))


def _transaction(statement: Statement, target: Target) -> Generated:
    kind = statement.kind
    if target.dialect in TSQL_SERVERS:
        name = classify.savepoint_name(tokenize(statement.sql)) if kind in _SAVEPOINTS else ""
        return tsql_transaction(kind, name)
    mysql_like = target.dialect != "sqlite"
    if kind is Kind.BEGIN:
        if not mysql_like:
            return Generated("BEGIN")
        read_only = " READ ONLY" if _READ_ONLY.search(statement.sql) else ""
        return Generated(f"START TRANSACTION{read_only}")
    if kind is Kind.COMMIT:
        return Generated("COMMIT")
    if kind is Kind.ROLLBACK:
        return Generated("ROLLBACK")
    name = _quote(classify.savepoint_name(tokenize(statement.sql)), target)
    if kind is Kind.SAVEPOINT:
        return Generated(f"SAVEPOINT {name}")
    if kind is Kind.RELEASE:
        return Generated(f"RELEASE SAVEPOINT {name}")
    return Generated(f"ROLLBACK TO SAVEPOINT {name}")


_SAVEPOINTS = (Kind.SAVEPOINT, Kind.RELEASE, Kind.ROLLBACK_TO)


def _use(statement: Statement, target: Target) -> Generated:
    value = statement.setting.value if statement.setting else ""
    db, branch = hints.validate_database(value or "")
    if branch and not (target.branches and "branch" in _TIME_TRAVEL[target.dialect]):
        raise TranslationError(
            f"{target.backend} has no branches (USE {value!r} asked for branch {branch!r})", "0A000"
        )
    if target.dialect == "sqlite":
        return Generated("")
    return Generated(f"USE {_quote(value or db, target)}")


def _utility(statement: Statement, target: Target) -> Generated:
    if statement.tag in _PASSED_TO_PROXY or (
        statement.tag == "LOCK TABLE" and _SHARE_LOCK.search(statement.sql)
    ):
        return Generated("")
    found = None
    if statement.tag in ("CREATE SEQUENCE", "ALTER SEQUENCE", "DROP SEQUENCE"):
        found = sequences.generate(statement, target)
    elif statement.kind is Kind.DDL or statement.tag in _UTILITY_DDL:
        found = ddl.utility(statement, tokenize(statement.sql), target)
    if found is not None:
        if target.paramstyle == "format" and "%" in found.sql:
            found = replace(found, sql=found.sql.replace("%", "%%"))  # see Generated
        return found
    if statement.kind is Kind.CALL and target.dialect != "sqlite":
        return _placeholders(_text_marks(statement.sql), target, statement.nparams)
    raise TranslationError(
        f"{target.backend}: {statement.tag or 'this statement'} is not supported on this backend",
        "0A000",
    )


def _native_returning(tree: exp.Expr, dialect: PgProxyBackend, target: Target) -> bool:
    return target.returning and isinstance(tree, getattr(dialect, "RETURNING", ()))


def _check_returning(tree: exp.Expr, dialect: PgProxyBackend, target: Target) -> None:
    if not tree.args.get("returning"):
        return
    if isinstance(tree, exp.Update) and target.returning and target.dialect == "mariadb":
        return  # several steps (dialects/returning.py)
    if not _native_returning(tree, dialect, target):
        verb = tree.key.upper()
        raise TranslationError(
            f"{target.backend} does not support {verb} ... RETURNING; "
            "run the statement, then SELECT the rows",
            "0A000",
        )


def _session_node(node: exp.Expr) -> tuple[str, str] | None:
    found = _SESSION.get(type(node))
    if found:
        return found
    if classify.is_user_column(node):
        return "current_user", "user"
    if isinstance(node, exp.CurrentRole) or (
        isinstance(node, exp.Column) and not node.table and isinstance(node.this, exp.Identifier)
        and not node.this.quoted and node.this.name.lower() == "current_role"
    ):  # a reserved word: unquoted it is always the function (sqlglot reads it as a column)
        return "current_user", "current_role"
    literal = _temporal_literal(node)
    if literal is not None:
        return literal
    if not isinstance(node, exp.Anonymous):
        return None
    name = node.name.lower()
    if name == "pg_backend_pid" and not node.expressions:
        return "backend_pid", "pg_backend_pid"
    if name in ("current_setting", "set_config"):
        return _setting_key(name, node.expressions), name
    return None


# Date/time literals the proxy reads itself, as PostgreSQL does: by the session's
# DateStyle order and in its TimeZone ('01/02/2024', a timestamptz without an
# offset), with PostgreSQL's special values ('infinity', 'epoch', 'now', BC).
_TEMPORAL_LITERALS = {
    exp.DType.DATE: "date", exp.DType.TIMESTAMP: "timestamp",
    exp.DType.TIMESTAMPTZ: "timestamptz", exp.DType.TIME: "time", exp.DType.TIMETZ: "timetz",
}
# Where such a literal may become a bound value: not inside arithmetic, whose
# translation goes by the operand's type.
_LITERAL_PARENTS = (exp.Select, exp.Alias, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE,
                    exp.Between, exp.In, exp.Tuple)


def _temporal_literal(node: exp.Expr) -> tuple[str, str] | None:
    if not (isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal)
            and node.this.is_string and isinstance(node.to, exp.DataType)):
        return None
    name = _TEMPORAL_LITERALS.get(node.to.this)
    if name is None or node.to.expressions or not isinstance(node.parent, _LITERAL_PARENTS):
        return None
    if isinstance(node.parent, exp.Tuple) and not isinstance(node.parent.parent, exp.Values):
        return None
    return f"literal:{name}:{node.this.this}", name


def _setting_key(name: str, args: list[exp.Expr]) -> str:
    """The session key of current_setting(name [, missing_ok]) / set_config's new value."""
    parts = []
    for i, arg in enumerate(args[: 2 if name == "current_setting" else 1]):
        arg = classify.uncast(arg)
        if isinstance(arg, exp.Parameter) and classify._param_number(arg):
            parts.append(f"${classify._param_number(arg)}")
        elif i == 0 and isinstance(arg, exp.Literal) and arg.is_string:
            parts.append(arg.this.lower())
        elif i == 1 and isinstance(arg, (exp.Boolean, exp.Literal)):
            parts.append("true" if classify.truthy(str(arg.this)) else "false")
        else:
            raise TranslationError(
                f"{name}() takes constant or $n arguments here", "0A000"
            )
    if not parts:
        raise TranslationError(f"{name}() needs a setting name", "42883")
    return "setting:" + ":".join(parts)


def _session_functions(tree: exp.Expr) -> exp.Expr:
    """version(), current_user, current_setting('x') ... become values the proxy binds."""

    def replace(node: exp.Expr) -> exp.Expr:
        found = _session_node(node)
        if found is None:
            return node
        key, column = found
        placeholder = exp.Parameter(this=exp.var(f"session:{key}"))
        parent = node.parent
        if isinstance(parent, exp.Select) and node.arg_key == "expressions":
            return exp.alias_(placeholder, exp.to_identifier(column, quoted=True))
        return placeholder

    return tree.transform(replace, copy=False)


def _time_travel(tree: exp.Expr, statement: Statement, target: Target) -> exp.Expr:
    found = statement.hints
    ref, stamp = found.as_of, found.as_of_timestamp
    if not (ref or stamp) and target.as_of:
        kind, value = hints.classify_as_of(target.as_of, "pgproxy.as_of")
        ref, stamp = (value, None) if kind == "ref" else (None, value)
    branch = found.branch or target.branch
    asked = {kind for _, kind, _ in found.tables}
    if ref:
        asked.add("ref")
    if stamp:
        asked.add("timestamp")
    if branch:
        asked.add("branch")
    if not asked:
        return tree
    can = set(_TIME_TRAVEL[target.dialect])
    flags = {"ref": target.as_of_commit, "timestamp": target.as_of_timestamp,
             "branch": target.branches}
    missing = sorted(k for k in asked if k not in can or not flags[k])
    if missing:
        raise TranslationError(
            f"{target.backend} cannot honour {_describe(statement, target)}: "
            f"it has no {' / '.join(_CAPABILITY[k] for k in missing)}",
            "0A000",
        )
    if (ref or stamp) and statement.kind is not Kind.SELECT:
        raise TranslationError("AS OF reads the past: writes cannot use it", "0A000")

    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    tables = [
        t for t in tree.find_all(exp.Table)
        if isinstance(t.this, exp.Identifier)
        and not (not t.db and t.name.lower() in ctes)
        and not classify.is_catalog(hints.table_key(t))
    ]
    for version in list(tree.find_all(exp.Version)):
        kind, value = hints.version_of(version)
        version.replace(_version(kind, value))
    if ref or stamp:
        for table in tables:
            if not table.args.get("version"):
                table.set("version", _version("ref" if ref else "timestamp", ref or stamp))
    if branch:
        database = (target.database or "").partition("/")[0]
        for table in tables:
            db = table.db or database
            if not db:
                raise TranslationError(
                    f"branch {branch!r} needs a database name: connect to a database or "
                    "qualify the table",
                    "0A000",
                )
            if "/" not in db:
                table.set("db", exp.to_identifier(f"{db}/{branch}", quoted=True))
    return tree


_CAPABILITY = {
    "ref": "AS OF a commit, branch or tag",
    "timestamp": "AS OF TIMESTAMP",
    "branch": "branches",
}


def _version(kind: str, value: str) -> exp.Version:
    return exp.Version(
        this="TIMESTAMP" if kind == "timestamp" else "VERSION",
        kind="AS OF",
        expression=exp.Literal.string(value),
    )
