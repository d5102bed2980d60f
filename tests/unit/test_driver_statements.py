"""Pure parts of the session features: FETCH/MOVE forms, savepoint stacks, and the
constraint names read from SQLite's and MySQL's messages (MySQL 8's forms included,
which the MariaDB fixture does not produce)."""

from __future__ import annotations

import pytest

from dialects import Kind
from pgproxy import errors
from pgproxy.backends import constraints
from pgproxy.cursors import _ALL, Move, parse_declare, parse_fetch
from pgproxy.savepoints import Savepoints


@pytest.mark.parametrize("sql,move", [
    ("FETCH c", Move("FETCH", "c", step=1)),
    ("fetch next from c", Move("FETCH", "c", step=1)),
    ("FETCH PRIOR IN c", Move("FETCH", "c", step=-1)),
    ("FETCH FORWARD 5 c", Move("FETCH", "c", step=5)),
    ("FETCH BACKWARD ALL c", Move("FETCH", "c", step=-_ALL)),
    ("FETCH ALL c", Move("FETCH", "c", step=_ALL)),
    ("FETCH -3 FROM c", Move("FETCH", "c", step=-3)),
    ("FETCH FIRST c", Move("FETCH", "c", target=1)),
    ("FETCH LAST c", Move("FETCH", "c", target=-1)),
    ("FETCH ABSOLUTE -2 c", Move("FETCH", "c", target=-2)),
    ("MOVE RELATIVE -1 IN c", Move("MOVE", "c", target=-1, relative=True)),
    ('FETCH 2 FROM "My Cur";', Move("FETCH", "My Cur", step=2)),
])
def test_fetch_forms(sql, move):
    assert parse_fetch(sql) == move


def test_declare_options():
    d = parse_declare('DECLARE "c" BINARY NO SCROLL CURSOR WITH HOLD FOR SELECT $1')
    assert (d.name, d.binary, d.scroll, d.hold, d.query) == ("c", True, False, True, "SELECT $1")
    d = parse_declare("declare c scroll cursor for select 1")
    assert (d.scroll, d.hold, d.binary) == (True, False, False)
    with pytest.raises(errors.SyntaxError):
        parse_fetch("FETCH SIDEWAYS c")


def test_reused_savepoint_names_get_their_own_backend_names():
    sp = Savepoints()
    for sql in ("SAVEPOINT a", "SAVEPOINT b"):
        assert sp.backend_sql(Kind.SAVEPOINT, sql) is None
        sp.done(Kind.SAVEPOINT, sql)
    assert sp.backend_sql(Kind.SAVEPOINT, "SAVEPOINT a") == 'SAVEPOINT "a~2"'
    sp.done(Kind.SAVEPOINT, "SAVEPOINT a")
    assert sp.backend_sql(Kind.ROLLBACK_TO, "ROLLBACK TO a") == 'ROLLBACK TO SAVEPOINT "a~2"'
    sp.done(Kind.ROLLBACK_TO, "ROLLBACK TO a")  # a~2 stays
    assert sp.backend_sql(Kind.RELEASE, "RELEASE a") == 'RELEASE SAVEPOINT "a~2"'
    sp.done(Kind.RELEASE, "RELEASE a")
    assert sp.backend_sql(Kind.RELEASE, "RELEASE SAVEPOINT a") == 'RELEASE SAVEPOINT "a"'
    sp.done(Kind.RELEASE, "RELEASE SAVEPOINT a")  # b went with it
    assert sp.stack == []
    assert sp.backend_sql(Kind.ROLLBACK_TO, "ROLLBACK TO b") is None  # the backend's 3B001


def _fields(exc: errors.PgError) -> tuple[str, dict[str, str]]:
    return exc.message, {k: v for k, v in exc.fields().items() if k in "stcn"}


@pytest.mark.parametrize("errno,message,expected", [
    (1062, "Duplicate entry '1' for key 'orders.PRIMARY'",  # MySQL 8 names the table
     ('duplicate key value violates unique constraint "orders_pkey"',
      {"s": "public", "t": "orders", "n": "orders_pkey"})),
    (1062, "Duplicate entry 'x-1' for key 'uq'",
     ('duplicate key value violates unique constraint "uq"', {"n": "uq"})),
    (1048, "Column 'v' cannot be null", ("Column 'v' cannot be null", {"c": "v"})),
    (3819, "Check constraint 'orders_chk_1' is violated.",
     ("Check constraint 'orders_chk_1' is violated.", {"n": "orders_chk_1"})),
    (1452, "Cannot add or update a child row: a foreign key constraint fails (`db`.`line`, "
           "CONSTRAINT `fk_order` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`))",
     ('insert or update on table "line" violates foreign key constraint "fk_order"',
      {"s": "public", "t": "line", "n": "fk_order"})),
])
def test_mysql_constraint_messages(errno, message, expected):
    exc = errors.from_sqlstate("23000", message)
    exc.sqlstate = {1062: "23505", 1048: "23502", 3819: "23514", 1452: "23503"}[errno]
    assert _fields(constraints.mysql(exc, errno, message)) == expected


def test_statement_table_completes_a_message_without_one():
    exc = errors.from_sqlstate("23502", "Column 'v' cannot be null")
    constraints.mysql(exc, 1048, exc.message)
    constraints.add_table(exc, "t", "UPDATE")
    assert _fields(exc) == (
        'null value in column "v" of relation "t" violates not-null constraint',
        {"s": "public", "t": "t", "c": "v"})
    assert exc.detail == "Column 'v' cannot be null"


@pytest.mark.parametrize("message,extended,expected", [
    ("UNIQUE constraint failed: t.a, t.b", 2067,
     ('duplicate key value violates unique constraint "t_a_b_key"',
      {"s": "public", "t": "t", "n": "t_a_b_key"})),
    ("UNIQUE constraint failed: t.id", 1555,
     ('duplicate key value violates unique constraint "t_pkey"',
      {"s": "public", "t": "t", "n": "t_pkey"})),
    ("CHECK constraint failed: c > 0", 275, ("CHECK constraint failed: c > 0", {})),
])
def test_sqlite_constraint_messages(message, extended, expected):
    exc = errors.from_sqlstate("23505" if "UNIQUE" in message else "23514", message)
    assert _fields(constraints.sqlite(exc, extended)) == expected


@pytest.mark.parametrize("message", ["no such savepoint: a~2", "SAVEPOINT a does not exist"])
def test_savepoint_messages(message):
    exc = constraints.savepoint(errors.from_sqlstate("3B001", message))
    assert exc.message == 'savepoint "a" does not exist'
