# ruff: noqa: E501 -- pgbench's statements stay on one line each, as pgbench writes them.
"""DDL as pgbench, Hibernate, Django/knex migrations and pg_dump write it, through a real proxy
on SQLite and MariaDB (psycopg), with PostgreSQL itself as the reference where they must agree."""

from __future__ import annotations

import itertools
import subprocess
import time

import psycopg
import pytest

from tests.fix_proxy import ProxyProcess

_ids = itertools.count()


def _name(prefix: str) -> str:
    return f"{prefix}_{next(_ids)}"


@pytest.fixture(params=["sqlite", "mysql", "postgresql"])
def any_proxy(request: pytest.FixtureRequest) -> ProxyProcess:
    return request.getfixturevalue(f"proxy_{request.param}")


def _connect(proxy: ProxyProcess) -> psycopg.Connection:
    return psycopg.connect(proxy.dsn(), autocommit=True)


PGBENCH_SCHEMA = """
drop table if exists {p}_accounts, {p}_branches, {p}_history, {p}_tellers;
create table {p}_history(tid int,bid int,aid int,delta int,mtime timestamp,filler char(22));
create table {p}_tellers(tid int not null,bid int,tbalance int,filler char(84)) with (fillfactor=100);
create table {p}_accounts(aid int not null,bid int,abalance int,filler char(84)) with (fillfactor=100);
create table {p}_branches(bid int not null,bbalance int,filler char(88)) with (fillfactor=100)
"""


def test_pgbench_schema_steps(any_proxy: ProxyProcess) -> None:
    """pgbench -i's own statements: drop (d), create (t), primary keys (p), foreign keys (f),
    vacuum (v), and the truncate that precedes data generation (g)."""
    p = _name("pgb")
    with _connect(any_proxy) as conn:
        for statement in PGBENCH_SCHEMA.format(p=p).strip().split(";\n"):
            conn.execute(statement)
        conn.execute(f"insert into {p}_branches(bid, bbalance) values (1, 0), (2, 0)")
        conn.execute(f"insert into {p}_tellers(tid, bid, tbalance) values (1, 1, 0), (2, 2, 0)")
        conn.execute(f"insert into {p}_accounts(aid, bid, abalance) values (1, 1, 0)")
        for table, key in (("branches", "bid"), ("tellers", "tid"), ("accounts", "aid")):
            conn.execute(f"alter table {p}_{table} add primary key ({key})")
        conn.execute(f"alter table {p}_tellers add constraint {p}_tellers_bid_fkey "
                     f"foreign key (bid) references {p}_branches")
        conn.execute(f"alter table {p}_accounts add constraint {p}_accounts_bid_fkey "
                     f"foreign key (bid) references {p}_branches")
        for table in ("branches", "tellers", "accounts", "history"):
            assert conn.execute(f"vacuum analyze {p}_{table}").statusmessage == "VACUUM"
        # The primary key is real now; the rows survived the rebuild.
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(f"insert into {p}_branches(bid, bbalance) values (1, 0)")
        assert conn.execute(f"select count(*) from {p}_tellers").fetchone() == (2,)
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(f"insert into {p}_tellers(tid, bid) values (9, 99)")
        conn.execute(f"truncate table {p}_accounts, {p}_branches, {p}_history, {p}_tellers")
        for table in ("branches", "tellers", "accounts"):
            assert conn.execute(f"select count(*) from {p}_{table}").fetchone() == (0,)
        conn.execute(f"drop table if exists {p}_accounts, {p}_branches, {p}_history, "
                     f"{p}_tellers")


def test_pgbench_init_without_data(proxy: ProxyProcess) -> None:
    """`pgbench -i -I dtpfv`: every step but COPY's data generation, through pgbench itself,
    twice (the second run drops what the first made)."""
    env = {"PGPASSWORD": "", "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        result = subprocess.run(
            ["pgbench", "-i", "-I", "dtpfv", "-s", "1", "-h", proxy.host,
             "-p", str(proxy.port), "-U", proxy.user, "app"],
            capture_output=True, text=True, timeout=120, env=env,
        )
        assert result.returncode == 0, result.stderr
    with _connect(proxy) as conn:
        conn.execute("insert into pgbench_branches(bid, bbalance) values (1, 0)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("insert into pgbench_branches(bid, bbalance) values (1, 0)")
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("insert into pgbench_tellers(tid, bid, tbalance) values (1, 2, 0)")
        found = dict(conn.execute(
            "select conname, contype from pg_constraint c join pg_class r on r.oid = c.conrelid"
            " where r.relname = 'pgbench_tellers'").fetchall())
        assert found == {"pgbench_tellers_pkey": "p", "pgbench_tellers_bid_fkey": "f"}
        conn.execute("drop table pgbench_accounts, pgbench_branches, pgbench_history, "
                     "pgbench_tellers")


def test_hibernate_sequence(any_proxy: ProxyProcess) -> None:
    seq = _name("hibernate_sequence")
    with _connect(any_proxy) as conn:
        conn.execute(f"create sequence {seq} start 1 increment 50")
        first = conn.execute(f"select nextval('{seq}')").fetchone()[0]
        second = conn.execute(f"select nextval('{seq}')").fetchone()[0]
        assert (first, second) == (1, 51)
        assert conn.execute(f"select currval('{seq}')").fetchone()[0] == 51
        conn.execute(f"drop sequence {seq}")


def test_currval_before_nextval_is_55000(proxy_sqlite: ProxyProcess, proxy_mysql: ProxyProcess,
                                         proxy_postgresql: ProxyProcess) -> None:
    for proxy in (proxy_sqlite, proxy_mysql, proxy_postgresql):
        seq = _name("fresh_seq")
        with _connect(proxy) as conn:
            conn.execute(f"create sequence {seq}")
            with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
                conn.execute(f"select currval('{seq}')")
            assert conn.execute("select 1").fetchone() == (1,)  # the session goes on
            with pytest.raises(psycopg.errors.UndefinedTable):
                conn.execute("select nextval('no_such_sequence')")
            conn.execute(f"drop sequence {seq}")


# (statement, parameters, prepare): sequences named by constants and by parameters.
SEQUENCE_CALLS = [
    ("select currval('{s}')", None, False),
    ("select lastval()", None, False),
    ("select nextval('{s}'), currval('{s}')", None, False),
    ("select currval('{s}'), lastval()", None, True),
    ("select nextval(%s)", ("{t}",), True),
    ("select currval(%s::regclass), lastval()", ("{t}",), False),
    ("select nextval(%s)", ("no_such_{t}",), True),
    ("select nextval(%s)", ('public."{s}"',), False),
    ("insert into {s}_rows values (nextval('{s}'), 'x') returning id", None, False),
    ("select lastval(), currval('{s}')", None, False),
    # setval below the current value takes effect; is_called false gives v next
    ("select setval('{s}', 1)", None, False),
    ("select nextval('{s}')", None, False),
    ("select setval('{s}', 5, false)", None, True),
    ("select nextval('{s}')", None, False),
    ("select setval(%s, %s, %s)", ("{t}", 3, True), True),
    ("select nextval('{t}')", None, False),
    ("select pg_catalog.setval('public.{t}', 50, true)", None, False),
    ("select nextval('{t}'), lastval()", None, False),
    ("select setval('{s}', 0)", None, False),
]


def test_mariadb_sequence_calls_match_postgresql(proxy_mysql: ProxyProcess,
                                                 proxy_postgresql: ProxyProcess) -> None:
    """currval/lastval before nextval (55000), names as parameters, setval below the
    current value: MariaDB's own functions answer each otherwise."""
    answers = []
    for proxy in (proxy_mysql, proxy_postgresql):
        s, t = _name("calls_seq"), _name("calls_other")
        got = []
        with _connect(proxy) as conn:
            conn.execute(f"create sequence {s}")
            conn.execute(f"create sequence {t} start 100")
            conn.execute(f"create table {s}_rows (id bigint primary key, v text)")
            for sql, params, prepare in SEQUENCE_CALLS:
                args = tuple(p.format(s=s, t=t) if isinstance(p, str) else p
                             for p in params or ())
                try:
                    cur = conn.execute(sql.format(s=s, t=t), args or None, prepare=prepare)
                    got.append(cur.fetchall())
                except psycopg.Error as exc:
                    got.append(exc.sqlstate)
            with _connect(proxy) as other:  # another session has advanced nothing
                for sql in ("select lastval()", f"select currval('{s}')"):
                    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
                        other.execute(sql)
            conn.execute(f"drop table {s}_rows")
            conn.execute(f"drop sequence {s}")
            conn.execute(f"drop sequence {t}")
        answers.append(got)
    assert answers[0] == answers[1]
    assert answers[1][:2] == ["55000", "55000"] and answers[1][6] == "42P01"


def test_sequence_options_match_postgresql(proxy_sqlite: ProxyProcess,
                                           proxy_postgresql: ProxyProcess) -> None:
    script = [
        "create sequence {s} as integer increment by -2 minvalue -7 maxvalue -1 cycle",
        "select nextval('{s}'), nextval('{s}'), nextval('{s}'), nextval('{s}'), nextval('{s}')",
        "select setval('{s}', -3, false), nextval('{s}'), lastval()",
        "alter sequence {s} restart with -5",
        "select nextval('{s}')",
        "alter sequence {s} no cycle",
        "select nextval('{s}')",
    ]
    answers = []
    for proxy in (proxy_sqlite, proxy_postgresql):
        seq = _name("opt_seq")
        got = []
        with _connect(proxy) as conn:
            for line in script:
                cur = conn.execute(line.format(s=seq))
                got.append(cur.fetchall() if cur.description else cur.statusmessage)
            with pytest.raises(psycopg.errors.SequenceGeneratorLimitExceeded):
                conn.execute(f"select nextval('{seq}')")
            conn.execute(f"drop sequence {seq}")
        answers.append(got)
    assert answers[0] == answers[1]


def test_serial_owns_a_sequence(proxy_sqlite: ProxyProcess) -> None:
    table = _name("serials")
    with _connect(proxy_sqlite) as conn:
        conn.execute(f"create table {table} (id serial primary key, big bigserial, name text)")
        rows = conn.execute(
            f"insert into {table}(name) values ('a'), ('b') returning id, big"
        ).fetchall()
        assert rows == [(1, 1), (2, 2)]
        cur = conn.execute(f"select id, big from {table} where id = 1")
        # serial is int4 and bigserial int8, as in PostgreSQL
        assert [c.type_code for c in cur.description] == [23, 20]
        conn.execute(f"select setval('{table}_id_seq', 10)")
        assert conn.execute(
            f"insert into {table}(name) values ('c') returning id"
        ).fetchone() == (11,)
        conn.execute(f"drop table {table}")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute(f"select nextval('{table}_id_seq')")


def test_pg_dump_style_default_nextval(any_proxy: ProxyProcess) -> None:
    table = _name("dumped")
    with _connect(any_proxy) as conn:
        conn.execute(f"create table public.{table} (id integer NOT NULL, name text)")
        conn.execute(f"create sequence public.{table}_id_seq as integer start with 1 "
                     "increment by 1 no minvalue no maxvalue cache 1")
        conn.execute(f"alter sequence public.{table}_id_seq owned by public.{table}.id")
        conn.execute(f"alter table only public.{table} alter column id set default "
                     f"nextval('public.{table}_id_seq'::regclass)")
        conn.execute(f"insert into {table}(id, name) values (1, 'old')")
        conn.execute(f"select pg_catalog.setval('public.{table}_id_seq', 1, true)")
        conn.execute(f"alter table only public.{table} add constraint {table}_pkey "
                     "primary key (id)")
        conn.execute(f"insert into {table}(name) values ('new')")
        assert conn.execute(f"select id, name from {table} order by id").fetchall() == [
            (1, "old"), (2, "new")
        ]
        conn.execute(f"insert into {table} values (nextval('{table}_id_seq'), 'bound')")
        assert conn.execute(f"select max(id) from {table}").fetchone() == (3,)
        conn.execute(f"drop table {table}")
        conn.execute(f"drop sequence if exists {table}_id_seq")


def test_migration_alter_table(any_proxy: ProxyProcess) -> None:
    """ALTER TABLE as Django and knex migrations write it: several actions at once."""
    parent, child = _name("author"), _name("book")
    with _connect(any_proxy) as conn:
        conn.execute(f'create table "{parent}" ("id" integer not null primary key, '
                     '"name" varchar(100) not null)')
        conn.execute(f'create table "{child}" ("id" integer not null primary key, '
                     '"title" varchar(50) null, "author_id" integer null, "n" integer)')
        conn.execute(f"insert into {parent} values (1, 'ann')")
        conn.execute(f"insert into {child} values (1, 'x', 1, 5), (2, null, null, 6)")
        conn.execute(
            f'alter table "{child}" add constraint "{child}_author_fk" foreign key '
            f'("author_id") references "{parent}" ("id") deferrable initially deferred'
        )
        conn.execute(f'alter table "{child}" alter column "title" type varchar(200), '
                     'alter column "n" set not null')
        conn.execute(f'alter table "{child}" alter column "title" set default \'untitled\'')
        conn.execute(f'alter table "{child}" add constraint "{child}_n_check" check (n > 0)')
        conn.execute(f'alter table "{child}" rename column "n" to "pgs"')
        conn.execute(f'alter table "{child}" rename "pgs" to "pages"')  # knex: no COLUMN
        conn.execute(f'create index "{child}_title_idx" on "{child}" ("title" '
                     "varchar_pattern_ops)")
        conn.execute(f'alter table "{child}" add column "isbn" varchar(13) null')
        conn.execute(f"insert into {child}(id, author_id, pages) values (3, 1, 7)")
        assert conn.execute(f"select title, pages from {child} where id = 3").fetchone() == (
            "untitled", 7
        )
        with pytest.raises(psycopg.errors.NotNullViolation):
            conn.execute(f"insert into {child}(id) values (4)")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(f"insert into {child}(id, pages) values (5, -1)")
        conn.execute(f'alter table "{child}" drop constraint "{child}_n_check", '
                     'alter column "pages" drop not null')
        conn.execute(f"insert into {child}(id, pages) values (6, -1)")
        conn.execute(f'alter table "{child}" drop constraint "{child}_author_fk"')
        conn.execute(f"insert into {child}(id, author_id) values (7, 42)")
        conn.execute(f'alter index "{child}_title_idx" rename to "{child}_t_idx"')  # Django
        conn.execute(f"alter index if exists {child}_nope_idx rename to {child}_x_idx")
        found = conn.execute("select indexname from pg_indexes where tablename = %s",
                             (child,)).fetchall()
        assert (f"{child}_t_idx",) in found and (f"{child}_title_idx",) not in found
        conn.execute(f"drop index if exists {child}_t_idx, {child}_nope_idx")
        assert conn.execute(f"select count(*) from {child}").fetchone() == (5,)
        conn.execute(f"drop table {child}, {parent} cascade")


def test_alter_errors_keep_the_session(any_proxy: ProxyProcess) -> None:
    table = _name("errs")
    with _connect(any_proxy) as conn:
        conn.execute(f"create table {table} (a int primary key)")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute(f"alter table {table}_missing add column b int, alter column a "
                         "set not null")
        conn.execute(f"alter table if exists {table}_missing alter column a drop not null")
        with pytest.raises(psycopg.errors.UndefinedObject):
            conn.execute(f"alter table {table} drop constraint nope")
        if any_proxy.backend_url.startswith(("sqlite", "mysql")):  # PostgreSQL runs them
            with pytest.raises(psycopg.errors.FeatureNotSupported, match="DO blocks"):
                conn.execute("do $$ begin perform 1; end $$")
            with pytest.raises(psycopg.errors.FeatureNotSupported, match="CREATE FUNCTION"):
                conn.execute("create function f() returns int as $$ select 1 $$ language sql")
        assert conn.execute("select 1").fetchone() == (1,)
        conn.execute(f"drop table {table}")


def test_sqlite_ddl_is_transactional(proxy_sqlite: ProxyProcess) -> None:
    table = _name("tx")
    with _connect(proxy_sqlite) as conn:
        conn.execute(f"create table {table} (a int, b text)")
        conn.execute(f"insert into {table} values (1, 'x')")
        with conn.transaction(force_rollback=True):
            conn.execute(f"alter table {table} add primary key (a), alter column b set not null")
            conn.execute(f"create sequence {table}_seq")
            conn.execute(f"select nextval('{table}_seq')")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute(f"select nextval('{table}_seq')")
        conn.execute(f"insert into {table} values (1, null)")  # no key, no NOT NULL: rolled back
        conn.execute(f"drop table {table}")


def test_a_create_rolls_back_with_its_transaction_block(any_proxy: ProxyProcess) -> None:
    """On MariaDB the CREATE commits by itself: the block stays open and its ROLLBACK
    drops what the block made, as PostgreSQL's does; a COMMIT keeps it."""
    table, kept = _name("rb"), _name("kept")
    with psycopg.connect(any_proxy.dsn()) as conn:  # psycopg's own transaction blocks
        conn.execute(f"create table {table} (a int)")
        conn.execute(f"create index {table}_a on {table} (a)")
        conn.execute(f"create view {table}_v as select a from {table}")
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        conn.execute(f"insert into {table} values (1)")
        conn.rollback()
        for name in (table, f"{table}_v"):
            with pytest.raises(psycopg.errors.UndefinedTable):
                conn.execute(f"select * from {name}")
            conn.rollback()
        conn.execute(f"create table {kept} (a int)")
        conn.commit()
        assert conn.execute(f"select count(*) from {kept}").fetchone() == (0,)
        conn.execute(f"drop table {kept}")
        conn.commit()
        # The same name made again in a new block: nothing was left behind.
        conn.execute(f"create table {table} (a int)")
        conn.execute(f"create index {table}_a on {table} (a)")
        conn.rollback()


def test_a_create_goes_with_a_block_the_client_abandons(any_proxy: ProxyProcess) -> None:
    """A client that disconnects inside its transaction block leaves nothing it created."""
    table = _name("gone")
    conn = psycopg.connect(any_proxy.dsn())
    conn.execute(f"create table {table} (a int)")
    conn.execute(f"insert into {table} values (1)")
    conn.close()  # inside the block (a `with` would commit it)
    for _attempt in range(50):
        with _connect(any_proxy) as other:
            try:
                other.execute(f"select * from {table}")
            except psycopg.errors.UndefinedTable:
                return
        time.sleep(0.1)
    pytest.fail(f"{table} outlived the block that created it")


def test_oid_columns_and_constants(any_proxy: ProxyProcess) -> None:
    table = _name("oids")
    with _connect(any_proxy) as conn:
        conn.execute(f"create table {table} (id int primary key, o oid)")
        conn.execute(f"insert into {table} values (1, 4294967295), (2, %s)", (16,))
        assert conn.execute(f"select o from {table} order by id").fetchall() == [
            (4294967295,), (16,)]
        assert conn.execute("select '16'::oid, '-1'::oid").fetchone() == (16, 4294967295)
        with pytest.raises(psycopg.errors.NumericValueOutOfRange):
            conn.execute("select '99999999999'::oid")
        conn.execute(f"drop table {table}")


def test_lock_and_analyze(any_proxy: ProxyProcess) -> None:
    table = _name("locked")
    with _connect(any_proxy) as conn:
        conn.execute(f"create table {table} (a int)")
        with conn.transaction():
            assert conn.execute(f"lock table {table} in access exclusive mode").statusmessage == (
                "LOCK TABLE"
            )
            conn.execute(f"insert into {table} values (1)")
        assert conn.execute(f"analyze {table}").statusmessage == "ANALYZE"
        conn.execute(f"drop table {table}")


def test_sequences_in_the_catalog(any_proxy: ProxyProcess) -> None:
    """pg_class relkind 'S', pg_sequence(s), information_schema.sequences and
    pg_get_serial_sequence agree with PostgreSQL for a sequence and a serial column."""
    seq, table = _name("cat_seq"), _name("cat_serial")
    with _connect(any_proxy) as conn:
        conn.execute(f"create sequence {seq} increment by 5 start with 10")
        conn.execute(f"create table {table} (id serial primary key, v text)")
        relkinds = dict(conn.execute(
            "select relname, relkind from pg_class where relname in (%s, %s, %s)",
            (seq, f"{table}_id_seq", table),
        ).fetchall())
        assert relkinds == {seq: "S", f"{table}_id_seq": "S", table: "r"}
        assert conn.execute(
            "select start_value, increment_by, min_value from pg_sequences "
            "where sequencename = %s", (seq,)
        ).fetchone() == (10, 5, 1)
        assert conn.execute(
            "select s.seqstart, s.seqincrement from pg_sequence s join pg_class c "
            "on c.oid = s.seqrelid where c.relname = %s", (seq,)
        ).fetchone() == (10, 5)
        assert conn.execute(
            "select data_type, start_value, increment from information_schema.sequences "
            "where sequence_name = %s", (seq,)
        ).fetchone() == ("bigint", "10", "5")
        assert conn.execute(
            f"select pg_get_serial_sequence('{table}', 'id')"
        ).fetchone() == (f"public.{table}_id_seq",)
        conn.execute(f"drop table {table}")
        conn.execute(f"drop sequence {seq}")
        assert conn.execute(
            "select count(*) from pg_class where relname in (%s, %s)", (seq, f"{table}_id_seq")
        ).fetchone() == (0,)


def test_prepared_nextval_advances_once(proxy_sqlite: ProxyProcess) -> None:
    """A client that describes before it executes (asyncpg) must not advance the sequence."""
    import asyncio

    import asyncpg

    seq = _name("described")

    async def main() -> list[int]:
        conn = await asyncpg.connect(host=proxy_sqlite.host, port=proxy_sqlite.port,
                                     user=proxy_sqlite.user, database="app")
        try:
            await conn.execute(f"create sequence {seq}")
            statement = await conn.prepare(f"select nextval('{seq}')")
            return [await statement.fetchval() for _ in range(3)]
        finally:
            await conn.close()

    assert asyncio.run(main()) == [1, 2, 3]


def test_storage_options_say_notice(proxy: ProxyProcess) -> None:
    """WITH (fillfactor=…) and UNLOGGED are accepted, with a NOTICE that they mean nothing here."""
    table = _name("noticed")
    notices: list[str] = []
    with _connect(proxy) as conn:
        conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
        conn.execute(f"create unlogged table {table} (a int) with (fillfactor=70)")
        conn.execute(f"create index {table}_a on {table} using hash (a)")
        conn.execute(f"drop table {table}")
    assert any("fillfactor" in n for n in notices), notices
    assert any("UNLOGGED" in n for n in notices), notices
    assert any("hash" in n for n in notices), notices


def test_pg_dump_identity_column(any_proxy: ProxyProcess) -> None:
    """pg_dump's identity column: CREATE TABLE, ADD GENERATED … AS IDENTITY, data, setval."""
    table = _name("ident")
    with _connect(any_proxy) as conn:
        conn.execute(f"create table public.{table} (id integer not null, v text)")
        conn.execute(
            f"alter table public.{table} alter column id add generated by default as identity (\n"
            f"    sequence name public.{table}_id_seq\n    start with 1\n    increment by 1\n"
            "    no minvalue\n    no maxvalue\n    cache 1\n)"
        )
        conn.execute(f"insert into {table} (id, v) values (1, 'dumped'), (2, 'dumped')")
        conn.execute(f"select pg_catalog.setval('public.{table}_id_seq', 2, true)")
        conn.execute(f"alter table only public.{table} add constraint {table}_pkey "
                     "primary key (id)")
        assert conn.execute(f"insert into {table} (v) values ('new') returning id").fetchone() == (
            3,
        )
        conn.execute(f"drop table {table}")
        conn.execute(f"drop sequence if exists {table}_id_seq")


def test_enum_type(any_proxy: ProxyProcess) -> None:
    """CREATE TYPE … AS ENUM: a column of it takes its labels only, and pg_enum lists them."""
    kind, table = _name("mood"), _name("moods")
    with _connect(any_proxy) as conn:
        conn.execute(f"create type {kind} as enum ('sad', 'ok', 'happy')")
        conn.execute(f"create table {table} (id int primary key, m {kind} not null)")
        conn.execute(f"insert into {table} values (1, 'ok'), (2, 'happy')")
        # PostgreSQL and MariaDB: 22P02; SQLite's CHECK: 23514
        with pytest.raises((psycopg.errors.CheckViolation,
                            psycopg.errors.InvalidTextRepresentation)):
            conn.execute(f"insert into {table} values (3, 'angry')")
        assert conn.execute(f"select m from {table} order by id").fetchall() == [
            ("ok",), ("happy",)]
        assert conn.execute(
            "select e.enumlabel from pg_enum e join pg_type t on t.oid = e.enumtypid "
            "where t.typname = %s order by e.enumsortorder", (kind,)
        ).fetchall() == [("sad",), ("ok",), ("happy",)]
        conn.execute(f"alter table {table} add column later {kind}")
        with pytest.raises((psycopg.errors.CheckViolation,
                            psycopg.errors.InvalidTextRepresentation)):
            conn.execute(f"update {table} set later = 'angry'")
        conn.execute(f"update {table} set later = 'sad'")
        with pytest.raises(psycopg.errors.DuplicateObject):
            conn.execute(f"create type {kind} as enum ('x')")
        conn.execute(f"drop table {table}")
        conn.execute(f"drop type {kind}")
        with pytest.raises(psycopg.errors.UndefinedObject):
            conn.execute(f"drop type {kind}")
        conn.execute(f"drop type if exists {kind}")


def test_comment_on(any_proxy: ProxyProcess) -> None:
    """COMMENT ON is kept for pg_description, obj_description and col_description."""
    table = _name("commented")
    with _connect(any_proxy) as conn:
        conn.execute(f"create table {table} (a int, b text)")
        conn.execute(f"comment on table public.{table} is 'people''s table'")
        conn.execute(f"comment on column {table}.b is 'the b'")
        conn.execute("comment on extension plpgsql is 'PL/pgSQL procedural language'")
        assert conn.execute(
            f"select obj_description('{table}'::regclass, 'pg_class'), "
            f"col_description('{table}'::regclass, 2)"
        ).fetchone() == ("people's table", "the b")
        conn.execute(f"comment on column {table}.b is null")
        assert conn.execute(
            "select d.description from pg_description d join pg_class c on c.oid = d.objoid "
            "where c.relname = %s order by d.objsubid", (table,)
        ).fetchall() == [("people's table",)]
        conn.execute(f"drop table {table}")


def test_constraints_in_the_catalog(any_proxy: ProxyProcess) -> None:
    """pg_constraint shows the names migrations gave their constraints, and CHECKs."""
    parent, child = _name("cparent"), _name("cchild")
    with _connect(any_proxy) as conn:
        conn.execute(f"create table {parent} (id int primary key)")
        conn.execute(f"create table {child} (id int, pid int, n int check (n > 0))")
        conn.execute(f"alter table {child} add constraint {child}_pk primary key (id)")
        conn.execute(f"alter table {child} add constraint {child}_fk_parent foreign key (pid) "
                     f"references {parent} (id)")
        conn.execute(f"alter table {child} add constraint {child}_n_small check (n < 100)")
        found = dict(conn.execute(
            "select conname, contype from pg_constraint c join pg_class r on r.oid = c.conrelid "
            "where r.relname = %s", (child,)
        ).fetchall())
        # MySQL names every primary key PRIMARY: it shows as <table>_pkey (DIFFERENCES.md)
        pkey = f"{child}_pkey" if any_proxy.backend_url.startswith("mysql") else f"{child}_pk"
        assert found == {pkey: "p", f"{child}_fk_parent": "f",
                         f"{child}_n_check": "c", f"{child}_n_small": "c"}
        if not any_proxy.backend_url.startswith("mysql"):  # MySQL cannot rename one
            conn.execute(f"alter table {child} rename constraint {child}_n_small to "
                         f"{child}_n_max")
            conn.execute(f"alter table {child} rename constraint {child}_n_check to "
                         f"{child}_n_min")
            names = {r[0] for r in conn.execute(
                "select conname from pg_constraint c join pg_class r on r.oid = c.conrelid "
                "where r.relname = %s", (child,)).fetchall()}
            assert {f"{child}_n_max", f"{child}_n_min"} <= names
            conn.execute(f"alter table {child} rename constraint {child}_n_max to "
                         f"{child}_n_small")
        conn.execute(f"alter table {child} drop constraint {child}_n_small")
        conn.execute(f"insert into {parent} values (1)")
        conn.execute(f"insert into {child} values (1, 1, 500)")
        conn.execute(f"drop table {child}, {parent}")


def test_truncate_and_references(any_proxy: ProxyProcess) -> None:
    """TRUNCATE of a referenced table alone is refused (0A000) as in PostgreSQL; with the
    referencing table, or CASCADE, both are emptied; RESTART IDENTITY restarts serials."""
    parent, child = _name("tparent"), _name("tchild")
    with _connect(any_proxy) as conn:
        conn.execute(f"create table {parent} (id serial primary key, v text)")
        conn.execute(f"create table {child} (id int primary key, pid int references {parent})")
        conn.execute(f"insert into {parent} (v) values ('a'), ('b')")
        conn.execute(f"insert into {child} values (1, 1)")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute(f"truncate {parent}")
        assert conn.execute(f"select count(*) from {child}").fetchone() == (1,)
        conn.execute(f"truncate {parent} restart identity cascade")
        assert conn.execute(f"select count(*) from {child}").fetchone() == (0,)
        assert conn.execute(
            f"insert into {parent} (v) values ('c') returning id").fetchone() == (1,)
        conn.execute(f"drop table {child}, {parent}")


def test_sqlite_rebuild_of_a_referenced_table_in_a_transaction(
    proxy_sqlite: ProxyProcess,
) -> None:
    """Django runs migrations in a transaction: a referenced table is rebuilt there too."""
    parent, child = _name("rparent"), _name("rchild")
    with _connect(proxy_sqlite) as conn:
        conn.execute(f"create table {parent} (id int primary key, name varchar(10))")
        conn.execute(f"create table {child} (id int primary key, pid int references "
                     f"{parent} (id) deferrable initially deferred)")
        conn.execute(f"insert into {parent} values (1, 'a')")
        conn.execute(f"insert into {child} values (1, 1)")
        with conn.transaction():
            conn.execute(f"alter table {parent} alter column name type varchar(200), "
                         "alter column name set not null")
        assert conn.execute(f"select count(*) from {child}").fetchone() == (1,)
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(f"insert into {child} values (2, 99)")
        conn.execute(f"create table {child}_c (id int primary key, pid int references "
                     f"{parent} (id) on delete cascade)")
        with pytest.raises(psycopg.errors.FeatureNotSupported), conn.transaction():
            conn.execute(f"alter table {parent} alter column name drop not null")
        conn.execute(f"alter table {parent} alter column name drop not null")  # outside: fine
        assert conn.execute(f"select count(*) from {child}").fetchone() == (1,)
        conn.execute(f"drop table {child}_c, {child}, {parent}")


def test_nextval_of_a_bound_name(proxy_sqlite: ProxyProcess, proxy_mysql: ProxyProcess) -> None:
    """The name is a value: bound on SQLite; on MariaDB, which takes only a name there, looked
    up through a bound query first and put in as a quoted name, never pasted."""
    for proxy in (proxy_sqlite, proxy_mysql):
        seq = _name("bound_seq")
        with _connect(proxy) as conn:
            conn.execute(f"create sequence {seq}")
            assert conn.execute("select nextval(%s), nextval(%s)",
                                (seq, seq)).fetchone() == (1, 2)
            for hostile in ("x'); drop table t; --", f"{seq}`), NEXTVAL(`{seq}"):
                with pytest.raises(psycopg.errors.UndefinedTable):
                    conn.execute("select nextval(%s)", (hostile,))
            assert conn.execute("select currval(%s)", (seq,)).fetchone() == (2,)
            conn.execute(f"drop sequence {seq}")


def test_serial_follows_renames(proxy_sqlite: ProxyProcess) -> None:
    """A serial's sequence stays its column's through RENAME TO and RENAME COLUMN, also for a
    mixed-case table name (its default quotes the sequence's name, as PostgreSQL's does)."""
    table = _name("Renamed")
    with _connect(proxy_sqlite) as conn:
        conn.execute(f'create table "{table}" (id serial primary key, v text)')
        conn.execute(f'insert into "{table}" (v) values (\'a\')')
        conn.execute(f'alter table "{table}" rename to "{table}2"')
        conn.execute(f'alter table "{table}2" rename column id to ident')
        assert conn.execute(
            f"select pg_get_serial_sequence('\"{table}2\"', 'ident')").fetchone() == (
            f"public.{table}_id_seq",)
        assert conn.execute(
            f'insert into "{table}2" (v) values (\'b\') returning ident').fetchone() == (2,)
        conn.execute(f'drop table "{table}2"')
        assert conn.execute(
            "select count(*) from pg_sequences where sequencename = %s", (f"{table}_id_seq",)
        ).fetchone() == (0,)


def test_notices_follow_client_min_messages(proxy_sqlite: ProxyProcess) -> None:
    table = _name("quiet")
    notices: list[str] = []
    with _connect(proxy_sqlite) as conn:
        conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
        conn.execute("set client_min_messages = warning")  # as pg_dump's output does
        conn.execute(f"create table {table} (a int) with (fillfactor=70)")
        conn.execute(f"drop table {table}")
    assert notices == []


def test_select_from_a_sequence(proxy_sqlite: ProxyProcess,
                                proxy_postgresql: ProxyProcess) -> None:
    """A sequence is a relation: SELECT last_value, is_called FROM s (as pg_dump reads it),
    and its name is taken for a table."""
    answers = []
    for proxy in (proxy_sqlite, proxy_postgresql):
        seq = _name("readable")
        with _connect(proxy) as conn:
            conn.execute(f"create sequence {seq} start 5")
            got = [conn.execute(f"select last_value, is_called from {seq}").fetchone()]
            conn.execute(f"select nextval('{seq}')")
            got.append(conn.execute(f"select last_value, is_called from {seq}").fetchone())
            with pytest.raises(psycopg.errors.DuplicateTable):
                conn.execute(f"create table {seq} (a int)")
            conn.execute(f"alter sequence {seq} rename to {seq}_b")
            got.append(conn.execute(f"select last_value from {seq}_b").fetchone())
            conn.execute(f"drop sequence {seq}_b")
            with pytest.raises(psycopg.errors.UndefinedTable):
                conn.execute(f"select last_value from {seq}_b")
        answers.append(got)
    assert answers[0] == answers[1] == [(5, False), (5, True), (5,)]


def test_temporary_and_float_columns(any_proxy: ProxyProcess) -> None:
    table = _name("tmp")
    with _connect(any_proxy) as conn:
        conn.execute(f"create temp table {table} (a float(10), b float(30), c double precision,"
                     " d real)")
        conn.execute(f"insert into {table} values (1.5, 2.25, 3.125, 4.5)")
        assert conn.execute(f"select a, b, c, d from {table}").fetchone() == (1.5, 2.25, 3.125,
                                                                             4.5)
        conn.execute(f"drop table {table}")


def test_drop_table_with_references(any_proxy: ProxyProcess) -> None:
    """A referenced table is not dropped alone (2BP01); CASCADE drops the reference and keeps
    the referencing rows, even when the reference says ON DELETE CASCADE."""
    parent, child = _name("dparent"), _name("dchild")
    with _connect(any_proxy) as conn:
        conn.execute(f"create table {parent} (id int primary key)")
        conn.execute(f"create table {child} (id int primary key, pid int references "
                     f"{parent} on delete cascade)")
        conn.execute(f"insert into {parent} values (1)")
        conn.execute(f"insert into {child} values (1, 1)")
        with pytest.raises(psycopg.errors.DependentObjectsStillExist):
            conn.execute(f"drop table {parent}")
        conn.execute(f"drop table {parent} cascade")
        assert conn.execute(f"select id, pid from {child}").fetchall() == [(1, 1)]
        conn.execute(f"insert into {child} values (2, 99)")  # no reference any more
        conn.execute(f"drop table {child}")
