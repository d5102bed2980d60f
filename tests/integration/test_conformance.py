"""Conformance: every case in conformance/cases runs on real PostgreSQL and through
the proxy on SQLite and on MariaDB; what psycopg sees must match.

A case passes when column names, rows (the Python values psycopg decodes),
command tags and the SQLSTATEs of expected errors all match PostgreSQL's. A
statement annotated `-- known[backend]: reason` (a difference documented in
dialects/DIFFERENCES.md) or `-- bug[backend]: what` (an open proxy bug) may
differ; anything else that differs fails the test. See conformance/README.md.
"""

from __future__ import annotations

import pytest

from conformance.runner import load_cases, run_case

pytestmark = pytest.mark.integration

CASES = load_cases()


def test_cases_exist_and_parse():
    assert len(CASES) >= 20
    for case in CASES:
        assert case.statements, case.name
        assert case.title, f"{case.name}: first comment line should say what the case covers"


@pytest.mark.parametrize("backend", ["sqlite", "mysql"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_matches_postgresql(case, backend, postgresql_url, request):
    proxy = request.getfixturevalue(f"proxy_{backend}")
    result = run_case(case, postgresql_url, backend, proxy.dsn())
    assert result.status != "fail", "\n" + result.report(verbose=True)


def test_case_format():
    from conformance.runner import parse_case

    case = parse_case(
        "-- what it covers\n"
        "SELECT 'a;b' AS x, E'it\\'s;' AS y; -- trailing\n"
        "-- unordered\n"
        "-- known[sqlite]: a reason\n"
        "-- bug[mysql]: a bug\n"
        "SELECT $$;$$ /* ; */\n  FROM t;\n"
        "-- expect: error 42P01\n"
        "-- expect[mysql]: error 0A000\n"
        "SELECT * FROM missing;\n",
        "inline",
    )
    assert case.title == "what it covers"
    first, second, third = case.statements
    assert first.sql == "SELECT 'a;b' AS x, E'it\\'s;' AS y" and first.line == 2
    assert second.unordered and second.known == {"sqlite": "a reason"}
    assert second.bugs == {"mysql": "a bug"} and second.line == 6
    assert second.sql == "SELECT $$;$$ /* ; */\n  FROM t"
    assert third.expected_error(None) == "42P01"
    assert third.expected_error("sqlite") == "42P01"
    assert third.expected_error("mysql") == "0A000"
