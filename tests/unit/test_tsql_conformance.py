"""The conformance cases (conformance/cases) translated to T-SQL: each statement either
translates to SQL that sqlglot's T-SQL reader parses (SQL Server's documented grammar as
sqlglot implements it), or is refused with a SQLSTATE. No SQL Server needed; the live run
is tests/integration/test_mssql_live.py."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from conformance.runner import CASES_DIR, load_cases
from dialects import TranslationError, generate, parse
from tests.unit.test_tsql_generate import DOCUMENTED_FORMS, NOT_IN_SQLGLOT, TSQL, as_server_reads

CASES = load_cases(CASES_DIR)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_translates_to_tsql_or_is_refused(case) -> None:
    translated = refused = 0
    for statement in case.statements:
        try:
            parsed = parse(statement.sql)
        except TranslationError:
            continue  # the proxy's own parse refuses it, before any backend
        for one in parsed:
            try:
                generated = generate(one, TSQL)
            except TranslationError as e:
                assert len(e.sqlstate) == 5, statement.sql
                refused += 1
                continue
            texts = [generated.sql] if generated.sql else [s.sql for s in generated.steps]
            for text in filter(None, texts):
                if text.startswith(NOT_IN_SQLGLOT):
                    assert any(form.fullmatch(text) for form in DOCUMENTED_FORMS), text
                    translated += 1
                    continue
                try:
                    sqlglot.parse(as_server_reads(text), read="tsql",
                                  error_level=ErrorLevel.RAISE)
                except sqlglot.errors.ParseError as e:
                    pytest.fail(f"{statement.sql!r} -> {text!r}: {str(e).splitlines()[0]}")
                translated += 1
    assert translated or refused
