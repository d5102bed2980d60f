"""What the query cache may keep (dialects/cacheability.py) and what its key holds, no sockets."""

from __future__ import annotations

from pathlib import Path

import pytest

import dialects
from dialects.cacheability import ANY_TEMP
from pgproxy.backends.unavailable import open_backend
from pgproxy.cache import CacheOptions, QueryCache
from pgproxy.cache.stage import _written
from pgproxy.proxy import Proxy
from pgproxy.router import Router
from pgproxy.session import Session
from pgproxy.settings import RESULT_SETTINGS, Settings


def one(sql: str) -> dialects.Statement:
    (stmt,) = dialects.parse(sql)
    return stmt


@pytest.mark.parametrize(
    ("sql", "cacheable"),
    [
        ("SELECT id, name FROM t WHERE id = $1", True),
        ("SELECT count(*), lower(b) FROM t GROUP BY 2", True),
        ("SELECT a FROM t UNION SELECT b FROM u", True),
        ("SELECT * FROM t WHERE a IN (SELECT a FROM u)", True),
        ("WITH c AS (SELECT a FROM t) SELECT sum(a) FROM c", True),
        ("VALUES (1), (2)", True),
        ("SELECT age(d, '2020-01-01') FROM t", True),
        ("SELECT '2020-01-01'::date, timestamp '2020-01-01 10:00', 'epoch'::timestamp", True),
        ("SELECT * FROM generate_series(1, 3) g", True),
        # PostgreSQL's immutable built-ins, by pg_proc (dialects/pg_functions.txt)
        ("SELECT sha512(b::bytea), trim_scale(a), int4range(1, 2), cosh(a) FROM t", True),
        ("SELECT regexp_count(b, 'x'), array_fill(0, ARRAY[2]), unistr(b) FROM t", True),
        ("SELECT to_tsvector(b) FROM t", False),  # stable: default_text_search_config
        ("SELECT make_timestamptz(2020, 1, 1, 0, 0, 0)", False),  # stable, not allow-listed
        # the clock
        ("SELECT now()", False),
        ("SELECT current_timestamp", False),
        ("SELECT localtimestamp", False),
        ("SELECT localtime", False),
        ("SELECT current_date", False),
        ("SELECT current_time", False),
        ("SELECT clock_timestamp()", False),
        ("SELECT statement_timestamp()", False),
        ("SELECT transaction_timestamp()", False),
        ("SELECT timeofday()", False),
        ("SELECT 'now'::timestamp", False),
        ("SELECT date 'today'", False),
        ("SELECT 'tomorrow'::timestamptz", False),
        ("SELECT age(d) FROM t", False),  # from today
        ("SELECT * FROM t WHERE d > now() - interval '1 day'", False),
        ("SELECT date_trunc('day', now())", False),
        # randomness, sequences, ids
        ("SELECT random()", False),
        ("SELECT * FROM t ORDER BY random()", False),
        ("SELECT gen_random_uuid()", False),
        ("SELECT uuid_generate_v4()", False),
        ("SELECT uuid_generate_v1mc()", False),
        ("SELECT nextval('s')", False),
        ("SELECT currval('s')", False),
        ("SELECT setval('s', 5)", False),
        ("SELECT lastval()", False),
        ("SELECT txid_current()", False),
        ("SELECT pg_current_xact_id()", False),
        ("SELECT a FROM t TABLESAMPLE SYSTEM (10)", False),
        # the session
        ("SELECT current_user", False),
        ("SELECT session_user", False),
        ("SELECT current_role", False),
        ("SELECT user", False),
        ("SELECT current_schema", False),
        ("SELECT current_database()", False),
        ("SELECT current_setting('timezone')", False),
        ("SELECT set_config('search_path', 'public', false)", False),
        ("SELECT pg_backend_pid()", False),
        ("SELECT inet_client_addr()", False),
        ("SELECT pg_advisory_lock(1)", False),
        ("SELECT pg_try_advisory_xact_lock(1)", False),
        ("SELECT pg_sleep(1)", False),
        # functions the proxy does not know: maybe volatile, maybe writing
        ("SELECT my_function(a) FROM t", False),
        ("SELECT * FROM my_set_returning_function()", False),
        # Dolt: version control moves without writes
        ("SELECT dolt_commit('-Am', 'x')", False),
        ("SELECT * FROM dolt_log", False),
        ("SELECT active_branch()", False),
        ("SELECT * FROM t AS OF 'HEAD~1'", False),
        # locks, writes, temporary relations
        ("SELECT * FROM t FOR UPDATE", False),
        ("SELECT * FROM t FOR SHARE", False),
        ("SELECT * FROM t FOR NO KEY UPDATE", False),
        ("SELECT a INTO u FROM t", False),
        ("SELECT a INTO TEMP u FROM t", False),
        ("SELECT * FROM pg_temp.secrets", False),
        ("INSERT INTO t VALUES (1) RETURNING *", False),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", False),
        ("EXPLAIN SELECT * FROM t", False),
    ],
)
def test_cacheable(sql, cacheable):
    assert one(sql).cacheable is cacheable


# PostgreSQL functions the allow-list knows, as a client writes them: if a sqlglot
# upgrade parses one into another node, this says which.
SAFE_CALLS = [
    "count(*)", "count(distinct a)", "sum(a)", "avg(a)", "min(a)", "max(a)", "bool_and(a)",
    "bool_or(a)", "every(a)", "string_agg(b, ',')", "array_agg(a)", "json_agg(a)",
    "jsonb_agg(a)", "json_object_agg(b, a)", "jsonb_object_agg(b, a)", "stddev(a)",
    "var_pop(a)", "var_samp(a)", "corr(a, a)", "bit_and(a)", "bit_or(a)",
    "percentile_cont(0.5) within group (order by a)", "mode() within group (order by a)",
    "row_number() over ()", "rank() over (order by a)", "dense_rank() over (order by a)",
    "ntile(2) over (order by a)", "lag(a) over (order by a)", "lead(a) over (order by a)",
    "first_value(a) over (order by a)", "nth_value(a, 2) over (order by a)",
    "lower(b)", "upper(b)", "initcap(b)", "length(b)", "char_length(b)", "octet_length(b)",
    "substr(b, 1, 2)", "substring(b from 1 for 2)", "position('a' in b)", "strpos(b, 'a')",
    "trim(b)", "btrim(b)", "ltrim(b)", "rtrim(b)", "lpad(b, 5)", "rpad(b, 5, '*')",
    "replace(b, 'a', 'b')", "translate(b, 'a', 'b')", "overlay(b placing 'x' from 1)",
    "concat(b, a)", "concat_ws(',', b, a)", "b || 'x'", "left(b, 2)", "right(b, 2)",
    "repeat(b, 2)", "reverse(b)", "split_part(b, ',', 1)", "starts_with(b, 'a')", "ascii(b)",
    "chr(65)", "to_hex(a)", "md5(b)", "encode(b::bytea, 'hex')", "format('%s', a)",
    "quote_ident(b)", "regexp_replace(b, 'a', 'b')", "regexp_match(b, 'a')", "b ~ 'x'",
    "b ~* 'x'", "b ilike 'x'", "string_to_array(b, ',')", "array_to_string(x, ',')",
    "abs(a)", "ceil(a)", "floor(a)", "round(a, 2)", "trunc(a)", "mod(a, 2)", "div(a, 2)",
    "power(a, 2)", "sqrt(a)", "exp(a)", "ln(a)", "log(a)", "log10(a)", "sign(a)", "pi()",
    "gcd(a, 2)", "width_bucket(a, 1, 10, 3)", "greatest(a, 1)", "least(a, 1)",
    "coalesce(a, 1)", "nullif(a, 1)", "case when a > 1 then 1 else 2 end", "cast(a as text)",
    "a::numeric(10, 2)", "interval '1 day'", "extract(year from d)", "date_part('year', d)",
    "date_trunc('day', d)", "to_char(d, 'YYYY-MM-DD')", "to_date(b, 'YYYY-MM-DD')",
    "to_timestamp(a)", "to_number(b, '999')", "make_date(2020, 1, 1)",
    "make_interval(days => 1)", "justify_days(i)", "d + interval '1 day'",
    "d at time zone 'UTC'", "json_build_object('a', a)", "jsonb_build_object('a', a)",
    "to_jsonb(a)", "row_to_json(t)", "jsonb_array_length(j)", "jsonb_typeof(j)",
    "jsonb_set(j, '{a}', '1')", "j -> 'a'", "j ->> 'a'", "j #>> '{a}'", "j @> '{}'",
    "j ? 'a'", "'{}'::jsonb", "array[1, 2]", "array_length(x, 1)", "cardinality(x)",
    "array_append(x, 1)", "array_position(x, 1)", "unnest(x)", "x[1]", "a = any(x)",
    "exists (select 1)", "num_nulls(a, b)", "pg_typeof(a)", "row(1, 2)",
    # operators sqlglot models as functions
    "a > 1 and b = 'x'", "a > 1 or b = 'x'", "x <@ x", "x @> x", "x && x",
    "j::jsonb @> '{}'::jsonb", "j ?& array['a']", "j ?| array['a']", "j #- '{a}'",
]


@pytest.mark.parametrize("call", SAFE_CALLS)
def test_known_safe_functions_are_cacheable(call):
    assert one(f"SELECT {call} FROM t").cacheable


@pytest.mark.parametrize(
    ("sql", "created"),
    [
        ("CREATE TEMP TABLE secrets (v text)", {"secrets"}),
        ("CREATE TEMPORARY TABLE Secrets (v text)", {"secrets"}),
        ('CREATE TEMPORARY TABLE "Mixed" (v int) ON COMMIT DROP', {"mixed"}),
        ("CREATE GLOBAL TEMPORARY TABLE g (v int)", {"g"}),
        ("CREATE LOCAL TEMP TABLE IF NOT EXISTS l (v text) ON COMMIT DROP", {"l"}),
        ("CREATE TABLE pg_temp.p (v int)", {"p"}),
        ("CREATE TEMP TABLE c AS SELECT 1 AS v", {"c"}),
        ("SELECT 1 AS v INTO TEMP i", {"i"}),
        ("SELECT 1 AS v INTO TEMPORARY TABLE j", {"j"}),
        ("CREATE TEMP VIEW w AS SELECT 1", {"w"}),
        ("CREATE TEMP SEQUENCE q", {"q"}),
        ("CALL refill()", {ANY_TEMP}),
        ("DO $$ BEGIN CREATE TEMP TABLE x (v int); END $$", {ANY_TEMP}),
        ("EXECUTE prepared_one", {ANY_TEMP}),
        ("CREATE TABLE permanent (v int)", set()),
        ("CREATE UNLOGGED TABLE u (v int)", set()),
        ("SELECT 1 AS v INTO permanent2", set()),
        ("CREATE VIEW v AS SELECT 1", set()),
        ("INSERT INTO secrets VALUES ('x')", set()),
        ("SELECT * FROM secrets", set()),
    ],
)
def test_temp_created(sql, created):
    assert set(one(sql).temp_created) == created


def test_result_key_follows_every_change_of_a_result_setting():
    settings = Settings({"TimeZone": "UTC"})
    first = settings.result_key()
    assert settings.result_key() is first  # built once per change
    assert len(first) == len(RESULT_SETTINGS)
    for name, value in [
        ("timezone", "Europe/Berlin"), ("search_path", "other, public"),
        ("extra_float_digits", "3"), ("intervalstyle", "iso_8601"), ("bytea_output", "escape"),
        ("datestyle", "ISO, DMY"), ("standard_conforming_strings", "off"),
    ]:
        before = settings.result_key()
        settings.set(name, value, local=True)
        assert settings.result_key() != before, name
    settings.end_transaction()  # SET LOCAL reverts: so does the key
    assert settings.result_key() == first


@pytest.fixture
def proxy(tmp_path: Path) -> Proxy:
    proxy = Proxy(Router({"default": open_backend(f"sqlite:///{tmp_path / 'app.db'}")}))
    yield proxy
    proxy.close()


def session(proxy: Proxy, user: str = "alice", **settings: str) -> Session:
    return Session(proxy, {"user": user, "database": "app", **settings}, proxy.router.resolve(
        "app"), 1, "test")


def key(cache: QueryCache, s: Session, sql: str, values=()) -> object:
    (stmt,) = dialects.parse(sql)
    return cache.key(s, stmt, sql, list(values), ())


def test_key_holds_the_settings_and_the_user_when_users_are_configured(proxy):
    shared = QueryCache(CacheOptions(enabled=True))
    per_user = QueryCache(CacheOptions(enabled=True), per_user=True)
    q = "SELECT v FROM t WHERE id = $1"
    a, b = session(proxy, "alice"), session(proxy, "bob")
    assert key(shared, a, q, [1]) == key(shared, b, q, [1])
    assert key(per_user, a, q, [1]) != key(per_user, b, q, [1])
    assert key(shared, a, q, [1]) != key(shared, a, q, [2])
    berlin = session(proxy, "alice", TimeZone="Europe/Berlin")
    assert key(shared, a, q, [1]) != key(shared, berlin, q, [1])
    path = session(proxy, "alice", search_path="other")
    assert key(shared, a, q, [1]) != key(shared, path, q, [1])
    a.apply_setting(dialects.Setting("search_path", "other"))
    assert key(shared, a, q, [1]) == key(shared, path, q, [1])
    assert key(shared, a, "SELECT now()") is None


def test_a_session_with_a_temp_table_never_uses_the_cache_for_its_name(proxy):
    cache = QueryCache(CacheOptions(enabled=True))
    a, b = session(proxy), session(proxy)
    read = "SELECT v FROM secrets"
    assert key(cache, a, read) is not None
    cache.after_execute(a, one("CREATE TEMP TABLE secrets (v text)"), False, False)
    assert key(cache, a, read) is None
    assert key(cache, a, "SELECT v FROM public.secrets") is None  # the bare name decides
    assert key(cache, a, "SELECT v FROM other") is not None
    assert key(cache, b, read) is not None  # b has no temp table: b reads the real one
    # A view over a temporary table is temporary (PostgreSQL makes it so).
    cache.after_execute(a, one("CREATE VIEW leak AS SELECT v FROM secrets"), False, False)
    assert key(cache, a, "SELECT * FROM leak") is None
    assert key(cache, b, "SELECT * FROM leak") is not None
    # Code the proxy cannot see may create any temporary table.
    cache.after_execute(b, one("CALL refill()"), False, False)
    assert key(cache, b, "SELECT v FROM other") is None


@pytest.mark.parametrize(
    ("sql", "tables", "everything"),
    [
        ("SELECT lower(b) FROM t", set(), False),
        ("SELECT now(), random(), current_setting('x'), pg_advisory_lock(1)", set(), False),
        ("SELECT gen_random_uuid(), uuid_generate_v4(), pg_backend_pid()", set(), False),
        ("SELECT pg_is_in_recovery(), pg_notify('c', 'x'), current_schemas(true)", set(), False),
        ("SELECT nextval('orders_id_seq')", {"orders_id_seq"}, False),
        ("SELECT nextval('public.Orders_id_seq'::regclass)", {"orders_id_seq"}, False),
        ("SELECT setval('s', 10)", {"s"}, False),
        ("SELECT nextval(name) FROM seqs", set(), True),  # which sequence: unknown
        ("SELECT my_writer()", set(), True),  # a user-defined function may write anything
        ("SELECT gen_random_bytes(8)", set(), True),  # an extension's: not a built-in
        ("SELECT to_tsvector(b), sha512(b::bytea), txid_current() FROM t", set(), False),
        ("SELECT * FROM t WHERE my_check(a)", set(), True),
        ("SELECT dolt_merge('feature')", set(), True),
        ("SELECT dolt_checkout('-b', 'x')", set(), True),
        ("SELECT * FROM dolt_log", set(), False),  # a system table, read
    ],
)
def test_what_a_select_may_write(sql, tables, everything):
    assert _written(one(sql)) == (tables, everything)
