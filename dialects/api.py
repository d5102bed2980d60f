"""The contract between dialects/ and the proxy: what parse and generate return.

dialects/ is pure: SQL text and options in, SQL text plus what the proxy needs
to know out. It performs no I/O and imports nothing from pgproxy/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

ParamStyle = Literal["qmark", "format", "dollar"]


class Kind(StrEnum):
    SELECT = "select"
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    DDL = "ddl"
    BEGIN = "begin"
    COMMIT = "commit"
    ROLLBACK = "rollback"
    SAVEPOINT = "savepoint"
    RELEASE = "release"
    ROLLBACK_TO = "rollback_to"
    SET = "set"  # SET / SET LOCAL / SET SESSION / RESET / SET TIME ZONE ...
    SHOW = "show"
    USE = "use"  # USE "db/branch"
    CALL = "call"
    EMPTY = "empty"  # only whitespace / comments
    OTHER = "other"


class TranslationError(Exception):
    """A statement that cannot be translated; carries the SQLSTATE to report."""

    def __init__(self, message: str, sqlstate: str = "42601") -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate


@dataclass(frozen=True, slots=True)
class Hints:
    """Time travel and branch requests, validated, from any of the written forms."""

    as_of: str | None = None  # commit, branch, tag or HEAD~n
    as_of_timestamp: str | None = None  # a timestamp literal's text
    branch: str | None = None
    # per-table AS OF: table name -> (kind, value) with kind 'ref' or 'timestamp'
    tables: tuple[tuple[str, str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.as_of or self.as_of_timestamp or self.branch or self.tables)


@dataclass(frozen=True, slots=True)
class Setting:
    """A SET / RESET / SHOW of a named parameter."""

    name: str  # lower-cased: 'search_path', 'timezone', 'pgproxy.branch', 'all' ...
    value: str | None = None  # None for RESET / SET ... TO DEFAULT / SHOW
    local: bool = False  # SET LOCAL
    # set_config($1, $2, $3): the 0-based client parameter each argument comes
    # from (name, value, is_local), None where the argument is the constant above.
    params: tuple[int | None, int | None, int | None] | None = None
    # More settings the same statement makes: BEGIN ISOLATION LEVEL … READ ONLY DEFERRABLE.
    also: tuple[Setting, ...] = ()


@dataclass(slots=True)
class Statement:
    """One parsed statement of the client's text (a simple query may hold several)."""

    sql: str  # this statement's own text, as the client wrote it
    kind: Kind
    tag: str  # CommandComplete verb: 'SELECT', 'INSERT', 'CREATE TABLE', 'BEGIN' ...
    tables_read: frozenset[str] = frozenset()
    tables_written: frozenset[str] = frozenset()
    cacheable: bool = False  # a single read of only allow-listed functions (cacheability.py)
    returns_rows: bool = False
    nparams: int = 0  # highest $n used
    param_types: tuple[int, ...] = ()  # OID per $n inferred from casts; 0 = unknown
    # 0-based $n PostgreSQL cannot type unless the client declares it (42P18): each use
    # is an argument of a function taking "any" (concat, format, pg_typeof …).
    indeterminate: tuple[int, ...] = ()
    # Where each $n still unknown above is bound: (0-based index, table lower-cased or ''
    # when ambiguous, column lower-cased or '#<position>' for INSERT without a column
    # list); the proxy types them from the backend's schema (dialects/paramcols.py).
    param_columns: tuple[tuple[int, str, str], ...] = ()
    # Result columns that are a table's column or its min()/max(): (position, table,
    # column) as above, for backends that report them untyped (paramcols.result_columns).
    result_columns: tuple[tuple[int, str, str], ...] = ()
    summed_columns: tuple[tuple[int, str, str], ...] = ()  # sum(<column>) results, as above
    zoned_columns: tuple[tuple[int, str, str], ...] = ()  # <column> AT TIME ZONE …, as above
    # The column each literal a shape lifted out meets (0-based literal index), as above.
    literal_columns: tuple[tuple[int, str, str], ...] = ()
    # Result columns and $n (0-based) cast to a user-defined type, by the type's name
    # ('mood', 'mood[]'), for the proxy to type by the OID its catalog gives (usertypes.py).
    result_type_names: tuple[tuple[int, str], ...] = ()
    param_type_names: tuple[tuple[int, str], ...] = ()
    hints: Hints = field(default_factory=Hints)
    setting: Setting | None = None
    catalog_only: bool = False  # reads only pg_catalog / information_schema relations
    # Temporary relations it creates, bare and lower-cased; '*' when it may create ones
    # its text does not name (CALL, DO, EXECUTE). The query cache never shares a
    # session's reads of these names.
    temp_created: frozenset[str] = frozenset()
    # Tables a SELECT's function calls may change: a sequence for nextval('s'); '*' for
    # a function the proxy does not know (a user-defined one may write any table).
    side_effects: frozenset[str] = frozenset()
    expression: Any = None  # the sqlglot AST (None when sqlglot could not parse it)
    copy: Any = None  # a COPY statement's dialects.copy.Copy: table or query, options


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how a statement is to run: everything generate needs besides the AST."""

    dialect: str  # 'sqlite', 'mysql', 'mariadb', 'dolt', 'tsql', 'postgres'
    paramstyle: ParamStyle
    backend: str  # the backend's name, for messages ('sqlite', 'mysql', 'dolt' ...)
    as_of_commit: bool = False
    as_of_timestamp: bool = False
    branches: bool = False
    returning: bool = False
    # session-level time travel, from SET pgproxy.branch / pgproxy.as_of or the database name
    branch: str | None = None
    as_of: str | None = None
    database: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a statement the backend runs as several: its SQL, or a routine of the proxy's.

    `sql` runs with `values` bound (constants from the statement's own text,
    never pasted in); `routine` names work that must look at the backend's
    schema first (e.g. SQLite's table rebuild), run with `args`.

    `params` are this step's placeholders as `Generated.params` spells them: the
    proxy binds them (a steps statement's `Generated.params` is every step's, in
    order) and the step takes that many of the bound values, a routine as its last
    argument. A `result` step is part of what the client gets: the statement's rows
    are its rows, in step order, and its row count is their sum (otherwise the last
    step's count). A routine that returns rows gives in `sql` a query with the same
    result columns, for Describe.
    """

    sql: str = ""
    values: tuple[Any, ...] = ()
    routine: str = ""
    args: tuple[Any, ...] = ()
    params: tuple[int | str, ...] = ()
    result: bool = False


@dataclass(frozen=True, slots=True)
class Generated:
    """Backend SQL and the list of values to bind, in driver placeholder order.

    Each entry of `params` is either an int, the 0-based index of a client
    parameter ($1 is 0), or a str naming a session value the proxy binds
    ('current_database', 'current_user', 'session_user', 'current_schema',
    'version', 'backend_pid', 'setting:<name>[:<missing_ok>]'). Client values
    never appear in `sql`. In a setting key, `<name>` is a lower-cased
    constant or `$n` (the name is client parameter n, 1-based), and
    `<missing_ok>` (current_setting's second argument) is `true`, `false` or `$n`.
    'literal:<date|timestamp|timestamptz|time|timetz>:<text>' is a date/time literal for the
    proxy to read in the session's DateStyle and TimeZone and bind.

    - qmark (`?`) and format (`%s`): one entry per placeholder, in text order, so
      `$1` used twice gives two entries (0, 0).
    - dollar (`$n`): entry i is the value for `$(i+1)`; client parameters keep
      their numbers and session values take `$(nparams+1)` onwards, once each.
    - format: every literal `%` in `sql` is doubled (`%%`), with or without
      placeholders, so the proxy must ALWAYS pass a tuple (empty when there are
      no params), never None: pymysql %-formats the query only when args is not
      None, and `'%%' % ()` is `'%'`.
    - `sql == ""`: nothing to send to the backend; the proxy handles the
      statement itself (SET / RESET / SHOW, DISCARD, DEALLOCATE, USE on SQLite).
    - 'setting:<name>' after `SELECT set_config(...)`: the proxy applies
      `Statement.setting` first, then binds the setting's new value.
    - `steps`: the statement is several backend steps (DDL the backend has no
      single statement for); the proxy runs them in order, atomically where the
      backend can, and `sql` is "".
    """

    sql: str
    params: tuple[int | str, ...] = ()
    # PostgreSQL type OID per result column where the statement itself says it
    # (a cast, a predicate is bool); 0 where only the backend can tell.
    column_types: tuple[int, ...] = ()
    # The type modifier per result column a cast writes (varchar(42), numeric(10,3),
    # timestamp(2)), as RowDescription carries it; -1 where the cast writes none,
    # BACKEND_TYPMOD where there is no cast. Empty when no cast writes one.
    column_typmods: tuple[int, ...] = ()
    steps: tuple[Step, ...] = ()
    notices: tuple[str, ...] = ()  # NOTICEs for the client (options accepted but meaningless)
    # Result columns that are anonymous records: (position, each field's type OID), for
    # their binary form (dialects/records.py).
    record_fields: tuple[tuple[int, tuple[int, ...]], ...] = ()


# A `Generated.column_types` entry for `sum(x)` where x's type is unknown (a column):
# int8 when the backend reports an exact integral number of at most 32 digits (MySQL
# and MariaDB type the SUM of an INT or narrower integer as DECIMAL(32+, 0); of a BIGINT
# as DECIMAL(41, 0), which stays numeric as PostgreSQL's sum(int8) is), else the
# backend's own type. PostgreSQL's sum(int2/int4) is int8. See DIFFERENCES.md.
SUM_OF_INTEGERS_IF_INTEGRAL = -20


# A `Generated.column_typmods` entry for a column no cast types: the backend's modifier.
BACKEND_TYPMOD = -2


# `Generated.column_types` entries from PARAMETER_TYPE down: the column is the client's
# parameter $(i+1) itself (`SELECT $1`), so its type is that parameter's declared or
# inferred type, which only the prepared statement knows.
PARAMETER_TYPE = -1000


def param_type(index: int) -> int:
    """The column_types entry for a result column that is parameter $(index+1)."""
    return PARAMETER_TYPE - index
