"""The backend registry: a URL scheme gives the backend's factory, its dialect and its capabilities.

Whatever pgproxy decides per engine (time travel, branches, RETURNING, how the
catalog reads the schema, whether the proxy emulates the catalog at all) is a
capability in ENGINES, read by attribute; no other module tests a dialect's
name. Factories are named, not imported: a driver module loads only when a
configuration uses its scheme.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgproxy.backends.base import Capabilities


@dataclass(frozen=True, slots=True)
class Engine:
    """One engine the dialect layer targets: what it can do, and what telemetry calls it."""

    dialect: str  # the dialects/ target
    capabilities: Capabilities
    db_system: str  # OpenTelemetry's db.system
    # 'module:function' that runs a statement the dialect layer made several steps of
    # (dialects.api.Step); '' where the engine takes no such DDL.
    steps: str = ""


@dataclass(frozen=True, slots=True)
class Scheme:
    """A URL scheme: the factory (`module:attribute`, called with the whole URL)."""

    factory: str
    dialect: str  # the engine it reaches (MySQL's may turn out MariaDB's once connected)
    missing: str = ""  # set: the scheme is known but cannot be used (0A000 with this reason)


_MYSQL_STEPS = "pgproxy.backends.mysql_ddl:run"

ENGINES: dict[str, Engine] = {
    "sqlite": Engine(
        "sqlite",
        Capabilities(returning=True, open_results=True, typed_results=False,
                     schema_source="sqlite_master", inline_reads=True),
        "sqlite",
        "pgproxy.backends.sqlite_ddl:run",
    ),
    "mysql": Engine(
        "mysql",
        Capabilities(transactional_ddl=False, schema_source="information_schema"),
        "mysql",
        _MYSQL_STEPS,
    ),
    # MariaDB: system-versioned tables (a timestamp AS OF), INSERT/DELETE ... RETURNING.
    "mariadb": Engine(
        "mariadb",
        Capabilities(as_of_timestamp=True, returning=True, transactional_ddl=False,
                     schema_source="information_schema"),
        "mariadb",
        _MYSQL_STEPS,
    ),
    "dolt": Engine(
        "dolt",
        Capabilities(as_of_commit=True, as_of_timestamp=True, branches=True,
                     transactional_ddl=False, schema_source="information_schema"),
        "other_sql",
    ),
    "postgres": Engine("postgres", Capabilities(returning=True, passthrough=True), "postgresql"),
    # SQL Server: temporal tables (a timestamp AS OF), OUTPUT INSERTED/DELETED for RETURNING.
    "tsql": Engine(
        "tsql",
        Capabilities(as_of_timestamp=True, returning=True, schema_source="sys"),
        "mssql",
    ),
    # Babelfish for PostgreSQL: T-SQL over TDS without temporal tables.
    "babelfish": Engine(
        "babelfish",
        Capabilities(returning=True, schema_source="sys"),
        "mssql",
    ),
}

SCHEMES: dict[str, Scheme] = {
    "sqlite": Scheme("pgproxy.backends.sqlite:SQLiteBackend", "sqlite"),
    "mysql": Scheme("pgproxy.backends.mysql:MySQLBackend", "mysql"),
    "mariadb": Scheme("pgproxy.backends.mysql:mariadb", "mariadb"),
    "dolt+mysql": Scheme("pgproxy.backends.mysql:dolt_mysql", "dolt"),
    "postgresql": Scheme("pgproxy.backends.postgresql:PostgreSQLBackend", "postgres"),
    "postgres": Scheme("pgproxy.backends.postgresql:PostgreSQLBackend", "postgres"),
    "dolt": Scheme("pgproxy.backends.dolt:from_url", "dolt"),
    "mssql": Scheme("pgproxy.backends.mssql:MSSQLBackend", "tsql"),
    "babelfish": Scheme("pgproxy.backends.mssql:BabelfishBackend", "babelfish"),
}

# A dialect the registry does not know (a backend registered from outside): nothing
# beyond plain SQL, and no catalog emulation.
_UNKNOWN = Engine("", Capabilities(), "other_sql")


def engine(dialect: str) -> Engine:
    """The registry's entry for a dialect (a bare one for a dialect it does not know)."""
    return ENGINES.get(dialect, _UNKNOWN)


def capabilities(dialect: str) -> Capabilities:
    return engine(dialect).capabilities
