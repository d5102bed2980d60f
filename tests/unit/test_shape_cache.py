"""Shape cache: which literals are lifted, which shapes are refused, same results on SQLite."""

from __future__ import annotations

import re
from decimal import Decimal

import apsw
import pytest

from dialects import Target, generate, parse
from dialects.cache import TranslationCache
from dialects.shapes import scan

SQLITE = Target("sqlite", "qmark", "sqlite", returning=True)
MARIADB = Target("mariadb", "format", "mariadb", returning=True)
POSTGRES = Target("postgres", "dollar", "postgres")

LIFTED = [
    ("SELECT abalance FROM pgbench_accounts WHERE aid = 48213;",
     "SELECT abalance FROM pgbench_accounts WHERE aid = $1;"),
    ("UPDATE a SET abalance = abalance + -3006 WHERE aid = 7",
     "UPDATE a SET abalance = abalance + -$1 WHERE aid = $2"),
    ("INSERT INTO h (tid, delta, mtime) VALUES (7, -3006, CURRENT_TIMESTAMP)",
     "INSERT INTO h (tid, delta, mtime) VALUES ($1, -$2, CURRENT_TIMESTAMP)"),
    ("SELECT 1, 'a' FROM t WHERE x = 'it''s' ORDER BY 1, 2 LIMIT 10 OFFSET 5",
     "SELECT 1, 'a' FROM t WHERE x = $1 ORDER BY 1, 2 LIMIT 10 OFFSET 5"),
    ("SELECT a FROM t WHERE d > DATE '2020-01-01' AND e = E'x' AND g = '2020-01-01'::date",
     "SELECT a FROM t WHERE d > DATE '2020-01-01' AND e = E'x' AND g = $1::date"),
    ("SELECT a FROM t WHERE c::varchar(10) = 'x' AND n = 1.5 AND m = 1.5e3 AND k = 0x1f",
     "SELECT a FROM t WHERE c::varchar(10) = $1 AND n = $2 AND m = 1.5e3 AND k = 0x1f"),
    ("SELECT a FROM t WHERE id = $1 AND b IN (3, 4) AND c BETWEEN 1 AND 9",
     "SELECT a FROM t WHERE id = $1 AND b IN ($2, $3) AND c BETWEEN $4 AND $5"),
    ("SELECT a FROM t WHERE ts > now() - interval '1 day' AND s LIKE 'a%' ESCAPE '!'",
     "SELECT a FROM t WHERE ts > now() - interval '1 day' AND s LIKE $1 ESCAPE '!'"),
    ("SELECT a FROM t WHERE n = 12345678901234567890", None),  # too big for an int64 bind
    ("SELECT count(*) FROM t GROUP BY 1", None),
    ("SET search_path = 'x'", None),
    ("CREATE TABLE t (a int DEFAULT 5)", None),
    ("SHOW work_mem", None),
    ("/*+ as_of('HEAD~1') */ SELECT a FROM t WHERE id = 1", None),
    ("SELECT a FROM t WHERE s = $$x$$ AND id = 1", None),
    ("SELECT a FROM t WHERE id = 1; SELECT 2", None),
    ("SELECT a FROM t WHERE id = 'unterminated", None),
]


@pytest.mark.parametrize(("sql", "shaped"), LIFTED)
def test_scan(sql: str, shaped: str | None) -> None:
    shape = scan(sql)
    assert (shape.text if shape else None) == shaped


REFUSED = [
    "SELECT a FROM t WHERE a IS DISTINCT FROM 5",  # nothing lifted
    "SELECT a FROM t AS OF 'HEAD~1' WHERE id = 5",  # time travel
    "SELECT set_config('x', 'y', false) FROM t WHERE id = 5",
    "SELECT a FROM t WHERE current_setting('search_path') = 'x'",
    "SELECT a FROM t WHERE b = current_user AND id = 5",
    "SELECT relname FROM pg_class WHERE oid = 5",  # catalog_only
    "SELECT a FROM t WHERE to_char(d, 'YYYY') = '2020'",  # unknown/rewritten function
    "SELECT a IS DISTINCT FROM 5, 7 FROM t",  # a projection literal the scanner missed
    "SELECT a FROM t WHERE b = 5 ORDER BY CASE WHEN a = 1 THEN 0 END",
    "SELECT a FROM t WHERE b = 5 LIMIT 3",
    "SELECT a FROM t WHERE b = 7 / 2",  # integer literals make it integer division
]


@pytest.mark.parametrize("sql", REFUSED)
def test_refused(sql: str) -> None:
    cache = TranslationCache()
    statements, literals = cache.parse_shaped(sql, SQLITE)
    if sql.endswith("LIMIT 3") or "ORDER BY" in sql:
        assert literals == (5,)  # the LIMIT / ORDER BY literal stays in the shape's text
        assert "3" in statements[0].sql or "1" in statements[0].sql
    else:
        assert literals == ()
        assert statements[0].sql == sql


def test_shared_parse_and_values() -> None:
    cache = TranslationCache()
    one, v1 = cache.parse_shaped("SELECT a FROM t WHERE id = 1 AND n = 2.50 AND s = 'x'", MARIADB)
    two, v2 = cache.parse_shaped("SELECT a FROM t WHERE id = 9 AND n = 0.5 AND s = 'y''z'", MARIADB)
    assert one is two
    assert v1 == (1, Decimal("2.50"), "x") and v2 == (9, Decimal("0.5"), "y'z")
    _, v3 = cache.parse_shaped("SELECT a FROM t WHERE id = 1 AND n = 2.50 AND s = 'x'", SQLITE)
    assert v3 == (1, 2.5, "x") and isinstance(v3[1], float)
    assert cache.stats()["shapes_hits"] >= 2


def test_client_params_keep_their_numbers() -> None:
    cache = TranslationCache()
    (st,), values = cache.parse_shaped("SELECT a FROM t WHERE id = $1::int AND b = 5", SQLITE, 1)
    assert st.nparams == 1 and len(st.param_types) == 1 and values == (5,)
    assert generate(st, SQLITE).params == (0, 1)
    # a simple query with $n is not shaped (nothing is bound), nor is postgres, nor
    # a statement with more declared types than $n
    assert cache.parse_shaped("SELECT a FROM t WHERE id = $1 AND b = 5", SQLITE,
                              simple_query=True)[1] == ()
    assert cache.parse_shaped("SELECT a FROM t WHERE b = 5", POSTGRES)[1] == ()
    assert cache.parse_shaped("SELECT a FROM t WHERE b = 5", SQLITE, declared=1)[1] == ()


SETUP = [
    "CREATE TABLE acc (aid INTEGER PRIMARY KEY, bal INTEGER, f REAL, n NUMERIC, s TEXT, d TEXT)",
    "INSERT INTO acc VALUES (1, 10, 1.5, 2.25, 'it''s', '2020-01-01'), "
    "(2, -5, 0.1, 3, 'b', '2021-06-30'), (3, 0, 2.0, 1.5, 'a%b', '2020-01-01'), "
    "(4, 7, NULL, NULL, NULL, NULL), (5, 12, 1.0, 10, '5', '2019-12-31')",
]
CORPUS = [
    "SELECT bal FROM acc WHERE aid = 2",
    "SELECT aid FROM acc WHERE f = 1.5",
    "SELECT aid FROM acc WHERE f > 0.1 ORDER BY aid",
    "SELECT aid FROM acc WHERE abs(f) > 1.5 ORDER BY aid",
    "SELECT aid FROM acc WHERE n = 2.25",
    "SELECT aid FROM acc WHERE n = 3 ORDER BY 1",
    "SELECT aid FROM acc WHERE s = 'it''s'",
    "SELECT aid FROM acc WHERE s = 5",
    "SELECT aid FROM acc WHERE s = '5'",
    "SELECT aid FROM acc WHERE s LIKE 'a%' ORDER BY aid",
    "SELECT aid FROM acc WHERE d = '2020-01-01'::date ORDER BY aid",
    "SELECT aid FROM acc WHERE d > DATE '2020-01-01' ORDER BY aid",
    "SELECT aid FROM acc WHERE aid IN (1, 3, 5) AND bal BETWEEN 0 AND 11 ORDER BY aid",
    "SELECT aid, CASE WHEN bal > 5 THEN 'hi' ELSE 'lo' END FROM acc WHERE bal + 1 > 6 ORDER BY 1",
    "SELECT aid FROM acc WHERE CASE WHEN bal > 5 THEN 'hi' ELSE 'lo' END = 'hi' ORDER BY aid",
    "SELECT aid FROM acc WHERE coalesce(f, 9) = 9",
    "SELECT aid FROM acc WHERE bal / 2 = 3 ORDER BY aid",
    "SELECT aid FROM acc WHERE bal / 2.0 = 3.5",
    "SELECT aid, 1, 'x' FROM acc WHERE aid = 1",
    "SELECT count(*) FROM acc WHERE aid > 1 GROUP BY bal > 5 HAVING count(*) > 1",
    "SELECT a.aid FROM acc a JOIN acc b ON b.aid = a.aid + 1 WHERE a.bal > -1 ORDER BY 1",
    "SELECT aid FROM acc WHERE aid = (SELECT max(aid) FROM acc WHERE bal < 10)",
    "SELECT aid FROM acc WHERE s || 'z' = 'bz'",
    "SELECT aid FROM acc WHERE bal > 0 ORDER BY aid LIMIT 2 OFFSET 1",
    "UPDATE acc SET bal = bal + -3 WHERE aid = 1",
    "UPDATE acc SET s = 'new''s', f = 2.5 WHERE aid = 2 RETURNING aid, bal, s, f",
    "INSERT INTO acc (aid, bal, f, s) VALUES (6, 1, 0.25, 'six'), (7, 2, 0.5, '')",
    "DELETE FROM acc WHERE aid = 7 AND s = ''",
    "SELECT aid, bal, f, n, s, d FROM acc ORDER BY aid",
]


def _run(db: apsw.Connection, sql: str, params: tuple) -> list[tuple]:
    return [tuple(row) for row in db.cursor().execute(sql, params)]


def _translated(cache: TranslationCache | None, sql: str) -> tuple[str, tuple]:
    if cache is None:
        (statement,) = parse(sql)
        generated = generate(statement, SQLITE)
        # Only date/time literals, which the proxy reads and binds itself (ISO text here).
        assert all(str(p).startswith("literal:") for p in generated.params)
        return generated.sql, tuple(str(p).split(":", 2)[2] for p in generated.params)
    (statement,), literals = cache.parse_shaped(sql, SQLITE)
    generated = generate(statement, SQLITE)
    return generated.sql, tuple(
        str(i).split(":", 2)[2] if isinstance(i, str) else literals[i] for i in generated.params
    )


def test_same_results_on_sqlite() -> None:
    exact, shaped = apsw.Connection(":memory:"), apsw.Connection(":memory:")
    for db in (exact, shaped):
        for sql in SETUP:
            db.execute(sql)
    cache = TranslationCache()
    lifted = 0
    for sql in CORPUS:
        plain = _run(exact, *_translated(None, sql))
        text, values = _translated(cache, sql)
        lifted += bool(values)
        assert _run(shaped, text, values) == plain, sql
    assert lifted >= 20


def test_repeat_with_other_literal_shares_generate() -> None:
    cache = TranslationCache()
    (a,), _ = cache.parse_shaped("SELECT bal FROM acc WHERE aid = 1", SQLITE)
    (b,), values = cache.parse_shaped("SELECT bal FROM acc WHERE aid = 2", SQLITE)
    assert a is b and values == (2,)
    assert cache.generate(a, SQLITE) is cache.generate(b, SQLITE)


def test_one_shape_text_with_and_without_client_parameters():
    # `VALUES (7, 2, 'b')` and `VALUES ($1, 5, 'z')` shape to the same text; the cached
    # parse of one must not describe the other's client parameters.
    cache = TranslationCache()
    literal, values = cache.parse_shaped("INSERT INTO t VALUES (7, 2, 'b')", SQLITE)
    assert literal[0].nparams == 0 and values == (7, 2, "b")
    bound, values = cache.parse_shaped("INSERT INTO t VALUES ($1, 5, 'z')", SQLITE, 1)
    assert bound[0].nparams == 1 and values == (5, "z")


SKELETON_TEXTS = [
    "SELECT a FROM t WHERE x = .5 AND y = 1.5.3 AND z = 1e5 AND w = 'a''b' -- = 5",
    "SELECT a FROM t WHERE x = \"t1\".c AND y = 3 AND \"q\"\"2\" = '7'",
    "SELECT a FROM t1 WHERE t1.x2 = 44 AND $1 = 5 AND $12 = 7",
    "SELECT a FROM t WHERE b = 3; ",
    "UPDATE t SET a = 'x', b = 3.25 WHERE c IN (1,2,3)",
    "INSERT INTO t VALUES (1, 'a'), (2, 'b')",
    "SELECT a FROM t WHERE b = '' AND c = '''' AND d = E'\\'' AND e = 3",
    "SELECT a FROM t WHERE b = 1 /* c = 2 */",
    "SELECT a FROM t WHERE b = 123456789012345678 AND c = 1234567890123456789",
    "SELECT a FROM t WHERE b = 0.000000000000000001 AND c = 1234567890.1234567",
    "SELECT a FROM t WHERE b = \u0663 AND c = '\u00e9'",
    "WITH x AS (SELECT 1) SELECT * FROM x WHERE a = 2",
    "SELECT a FROM t WHERE b::numeric(10, 2) = 3.5 AND (c = 1",
    "SELECT a FROM t WHERE b = 1abc AND c = 1e AND d = 3.e4 AND e = 1'x' AND f = $1'y'",
    "SELECT a FROM t WHERE a = $123456 AND b = 2",
    "SELECT a FROM t WHERE a = 'x'E'y' AND b = 'open",
]


@pytest.mark.parametrize("sql", [sql for sql, _ in LIFTED] + REFUSED + SKELETON_TEXTS)
def test_skeleton_memo_matches_the_scan(sql: str) -> None:
    """A text of a skeleton seen before (other literal values) gets what scanning it
    token by token gives: its lifted literals, its kept ones, its refusal."""
    from dialects.shapes import _scan

    variants = [sql, re.sub(r"\b\d{1,9}\b", lambda m: str(int(m.group()) * 7 + 3), sql),
                re.sub(r"\b\d{1,9}\b", "98765432109876543210", sql),
                re.sub(r"'([^']*)'", "'it''s 5'", sql), re.sub(r"'([^']*)'", "''", sql)]
    for text in variants * 2:  # the second round answers from the skeletons' memo
        assert scan(text) == _scan(text)[0], text


def test_the_compiled_literal_reader_reads_as_the_regex_does() -> None:
    """dialects/_shapes.c gives what shapes._literals gives, on the texts above and on
    random ones made of the characters that matter to it (quotes doubled and unclosed,
    $n, exponents, dots, words with digits)."""
    import random

    compiled = pytest.importorskip(
        "dialects._shapes", reason="built by pip install when a C compiler is at hand")
    from dialects.shapes import _literals

    texts = [sql for sql, _ in LIFTED] + REFUSED + SKELETON_TEXTS
    picker = random.Random(20261204)
    alphabet = "ab1 20'\"$_.,;()=<>-+*/\neE9x"
    texts += ["".join(picker.choice(alphabet) for _ in range(picker.randint(0, 30)))
              for _ in range(50_000)]
    for text in texts:
        if text.isascii():
            assert compiled.literals(text) == _literals(text), text
