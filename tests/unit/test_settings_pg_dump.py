"""The settings pg_dump and its output set, and the advertised server version."""

from __future__ import annotations

import pytest

from pgproxy import errors, settings
from pgproxy.settings import Settings

# What pg_dump 15 sets when it connects, then what its plain output sets before restoring.
PG_DUMP_SETS = [
    ("datestyle", "ISO"), ("intervalstyle", "POSTGRES"), ("extra_float_digits", "3"),
    ("synchronize_seqscans", "off"), ("statement_timeout", "0"), ("lock_timeout", "0"),
    ("idle_in_transaction_session_timeout", "0"), ("row_security", "off"),
    ("quote_all_identifiers", "true"), ("client_encoding", "'UTF8'"),
    ("standard_conforming_strings", "on"), ("search_path", "''"),
    ("check_function_bodies", "false"), ("xmloption", "content"),
    ("client_min_messages", "warning"), ("default_tablespace", "''"),
    ("default_table_access_method", "heap"), ("default_with_oids", "false"),
    ("session_replication_role", "replica"),
]


# The value SHOW then gives where PostgreSQL spells it otherwise than it was set.
SPELLED = {"datestyle": "ISO, MDY", "intervalstyle": "postgres"}


@pytest.mark.parametrize(("name", "value"), PG_DUMP_SETS)
def test_pg_dump_sets(name, value):
    s = Settings({})
    s.set(name, value)
    assert s.get(name) == SPELLED.get(name, value.strip("'"))


def test_session_authorization_to_oneself_only():
    s = Settings({"user": "tester"})
    s.set("session_authorization", "tester", startup=True)
    s.set("session_authorization", "'tester'")
    s.set("session_authorization", None)  # RESET SESSION AUTHORIZATION
    s.set("session_authorization", "DEFAULT")
    assert s.get("session_authorization") == "tester"
    with pytest.raises(errors.InsufficientPrivilege):
        s.set("session_authorization", "postgres")


@pytest.fixture
def restore_version():
    yield
    settings.set_server_version(settings.DEFAULT_SERVER_VERSION)


@pytest.mark.parametrize(("given", "version", "num"), [
    ("15.18", "15.18", "150018"), ("16.4", "16.4", "160004"), ("14", "14.0", "140000"),
])
def test_advertised_version(restore_version, given, version, num):
    settings.set_server_version(given)
    s = Settings({})
    assert (s.get("server_version"), s.get("server_version_num")) == (version, num)
    assert settings.VERSION_STRING.startswith(f"PostgreSQL {version} (pgproxy)")
    assert s.reported()["server_version"] == version


@pytest.mark.parametrize("bad", ["fifteen", "9.6", "15.x", ""])
def test_advertised_version_refuses_nonsense(restore_version, bad):
    with pytest.raises(ValueError, match="server_version"):
        settings.set_server_version(bad)
