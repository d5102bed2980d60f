"""from_url: schemes, names, dialects, capabilities; URL redaction."""

from __future__ import annotations

import pytest

from pgproxy import errors
from pgproxy.backends import from_url, redact_url, registry
from pgproxy.backends.base import Backend


@pytest.mark.parametrize(
    ("url", "name", "dialect", "paramstyle"),
    [
        ("sqlite://:memory:", "sqlite", "sqlite", "qmark"),
        ("mysql://u:pw@127.0.0.1:3306/db", "mysql", "mysql", "format"),
        ("mariadb://u:pw@127.0.0.1/db", "mariadb", "mariadb", "format"),
        ("dolt+mysql://root@127.0.0.1:3306/mydb", "dolt+mysql", "dolt", "format"),
        ("postgresql://u:pw@127.0.0.1:5432/db", "postgresql", "postgres", "dollar"),
        ("postgres://u@127.0.0.1/db", "postgresql", "postgres", "dollar"),
    ],
)
def test_schemes(url: str, name: str, dialect: str, paramstyle: str) -> None:
    b = from_url(url)  # building a backend connects to nothing
    assert isinstance(b, Backend)
    assert (b.name, b.dialect, b.paramstyle) == (name, dialect, paramstyle)
    assert "pw" not in b.redacted_url()
    b.close()


def test_dolt_mysql_capabilities() -> None:
    caps = from_url("dolt+mysql://root@127.0.0.1:3306/mydb").capabilities
    assert caps.as_of_commit and caps.as_of_timestamp and caps.branches
    plain = from_url("mysql://root@127.0.0.1/db").capabilities
    assert not (plain.as_of_commit or plain.as_of_timestamp or plain.branches)
    sqlite = from_url("sqlite://:memory:").capabilities
    assert not (sqlite.as_of_commit or sqlite.as_of_timestamp or sqlite.branches)


def test_capabilities_come_from_the_registry() -> None:
    """A backend's capabilities are its engine's entry, and follow a MySQL URL to MariaDB."""
    for url in ("sqlite://:memory:", "mysql://u@127.0.0.1/db", "mariadb://u@127.0.0.1/db",
                "dolt+mysql://root@127.0.0.1/db", "postgresql://u@127.0.0.1/db"):
        b = from_url(url)
        assert b.capabilities is registry.engine(b.dialect).capabilities
        assert registry.SCHEMES[url.split(":")[0]].dialect == b.dialect
    mysql = from_url("mysql://u@127.0.0.1/db")
    assert not mysql.capabilities.returning and not mysql.probed
    mysql.server_version("10.11.6-MariaDB-log")
    assert (mysql.dialect, mysql.capabilities) == ("mariadb", registry.capabilities("mariadb"))
    assert mysql.capabilities.returning and mysql.capabilities.as_of_timestamp
    assert from_url("postgresql://u@127.0.0.1/db").capabilities.passthrough
    assert not from_url("sqlite://:memory:").capabilities.typed_results


def test_every_scheme_names_a_known_engine_and_a_real_factory() -> None:
    import importlib

    for name, scheme in registry.SCHEMES.items():
        assert scheme.dialect in registry.ENGINES, name
        if scheme.missing:
            continue
        module, attr = scheme.factory.split(":")
        assert callable(getattr(importlib.import_module(module), attr)), name
    for dialect, engine in registry.ENGINES.items():
        assert engine.dialect == dialect
        if engine.steps:
            module, attr = engine.steps.split(":")
            assert callable(getattr(importlib.import_module(module), attr)), dialect


def test_mssql_is_sql_server_through_python_tds() -> None:
    """mssql:// builds the SQL Server backend (connecting to nothing): T-SQL, temporal
    tables, OUTPUT for RETURNING, the catalog from sys.*; its options are read."""
    b = from_url("mssql://sa:s3cret@127.0.0.1:1433/db?encrypt=true&application_name=app1")
    assert (b.name, b.dialect, b.paramstyle) == ("mssql", "tsql", "format")
    assert b.capabilities is registry.engine("tsql").capabilities
    caps = b.capabilities
    assert caps.as_of_timestamp and caps.returning and caps.schema_source == "sys"
    assert not (caps.as_of_commit or caps.branches)
    assert "s3cret" not in b.redacted_url()
    args = b.connect_args(None)
    assert (args["appname"], args["database"], args["port"]) == ("app1", "db", 1433)
    assert args["validate_host"] and "cafile" in args
    trusting = from_url("mssql://sa@h/db?trust_server_certificate=true")
    assert trusting.encrypt and not trusting.connect_args("other")["validate_host"]
    assert "cafile" not in from_url("mssql://sa@h/db").connect_args(None)
    with pytest.raises(errors.InvalidParameterValue) as info:
        from_url("mssql://sa:s3cret@h/db?encrypt=maybe")
    assert "s3cret" not in info.value.message


def test_babelfish_is_the_sql_server_backend_without_temporal_tables() -> None:
    """babelfish:// is the same backend and options, its own dialect and no time travel."""
    b = from_url("babelfish://u:s3cret@127.0.0.1:1433/db?application_name=app1")
    assert (b.name, b.dialect, b.paramstyle) == ("babelfish", "babelfish", "format")
    caps = b.capabilities
    assert caps.returning and caps.schema_source == "sys" and not caps.as_of_timestamp
    assert b.connect_args(None)["appname"] == "app1" and "s3cret" not in b.redacted_url()


def test_unknown_scheme_is_0A000() -> None:
    with pytest.raises(errors.FeatureNotSupported) as info:
        from_url("oracle://scott:tiger@db/orcl")
    assert "tiger" not in info.value.message


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("mysql://u:s3cret@h:3306/db", "mysql://u:***@h:3306/db"),
        ("postgresql://u:p%40ss@h/db?sslmode=require", "postgresql://u:***@h/db?sslmode=require"),
        ("mysql://u@h/db", "mysql://u@h/db"),
        ("sqlite:///tmp/a.db", "sqlite:///tmp/a.db"),
        ("mysql://u:pw@[::1]:3306/db", "mysql://u:***@[::1]:3306/db"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_dolt_mysql_connect_selects_the_named_database(mariadb_url: str) -> None:
    """connect('mydb/feature-x') must reach the server as that exact database
    name (Dolt's revision database); MariaDB accepts the same name, so it
    stands in for a Dolt sql-server here."""
    setup = from_url(mariadb_url).connect()
    setup.execute("CREATE DATABASE IF NOT EXISTS `mydb/feature-x`", ()).close()
    setup.close()
    b = from_url(mariadb_url.replace("mysql://", "dolt+mysql://", 1))
    c = b.connect("mydb/feature-x")
    cur = c.execute("SELECT DATABASE()", ())
    assert cur.fetch(1) == [("mydb/feature-x",)]
    c.close()
