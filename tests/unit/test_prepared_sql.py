"""SQL-level PREPARE / EXECUTE / DEALLOCATE statements, as pg_dump 15 writes them."""

from __future__ import annotations

import pytest

from pgproxy import errors, pgtypes
from pgproxy.prepared import parse_deallocate, parse_execute, parse_prepare


def test_prepare_with_types():
    p = parse_prepare("PREPARE dumpEnumType(pg_catalog.oid) AS\n"
                      "SELECT oid, enumlabel FROM pg_catalog.pg_enum WHERE enumtypid = $1")
    assert p.name == "dumpenumtype" and p.param_types == [pgtypes.OID]
    assert p.query.startswith("SELECT oid, enumlabel")
    p = parse_prepare('PREPARE "Q" (integer, character varying, text) AS SELECT $1, $2, $3;')
    assert (p.name, p.param_types) == ("Q", [pgtypes.INT4, pgtypes.VARCHAR, pgtypes.TEXT])
    assert parse_prepare("prepare q as select 1").param_types == []


def test_execute_arguments_are_constants():
    assert parse_execute("EXECUTE dumpEnumType('16385')") == ("dumpenumtype", ["16385"])
    assert parse_execute("EXECUTE q (1, -2.5, NULL, true, 'it''s', '7'::oid)") == (
        "q", ["1", "-2.5", None, "true", "it's", "7"])
    assert parse_execute("EXECUTE q") == ("q", [])
    with pytest.raises(errors.FeatureNotSupported):
        parse_execute("EXECUTE q (now())")
    with pytest.raises(errors.SyntaxError):
        parse_execute("EXECUTE")


def test_deallocate():
    assert parse_deallocate("DEALLOCATE PREPARE q") == "q"
    assert parse_deallocate('DEALLOCATE "Q"') == "Q"
    assert parse_deallocate("DEALLOCATE ALL") is None
