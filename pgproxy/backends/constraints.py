"""Constraint and savepoint errors as PostgreSQL words them: names read from a backend's message.

PostgreSQL's unique, not-null, foreign-key and check violations name the
schema, table, column and constraint in fields of their own (psycopg's
diag.table_name, constraint_name, column_name), and word the message around
them. SQLite and MySQL say less, and in their own words: each backend's
error map parses what its message holds; the pipeline adds the table a
statement wrote when the message did not say; `annotate` rewords the message
as PostgreSQL's once the names it needs are known, keeping the backend's own
text as the detail. Constraint names follow the catalog's (pgproxy.catalog.
introspect): <table>_pkey, <table>_<columns>_key, <table>_<columns>_fkey,
<table>_<column>_check where the backend named the constraint itself.
"""

from __future__ import annotations

import re

from pgproxy import errors

_SQLITE_COLUMNS = re.compile(r"^(UNIQUE|NOT NULL) constraint failed: (.+)$")
_SQLITE_CHECK = re.compile(r"^CHECK constraint failed: ([A-Za-z_][A-Za-z0-9_$]*)$")
_SQLITE_PRIMARY_KEY = 1555  # SQLITE_CONSTRAINT_PRIMARYKEY (2067 is UNIQUE)

_MYSQL_KEY = re.compile(r"^Duplicate entry '.*' for key '(?:(.+)\.)?(.+)'$", re.S)
_MYSQL_NULL = re.compile(r"^Column '(.+)' cannot be null$|^Field '(.+)' doesn't have a default")
_QUOTED = r"`((?:[^`]|``)+)`"  # a backquoted name, group 1 its text
_MYSQL_FK = re.compile(
    rf"a foreign key constraint fails \(`(?:[^`]|``)*`\.{_QUOTED}, CONSTRAINT {_QUOTED}"
    rf" FOREIGN KEY \((.+?)\) REFERENCES {_QUOTED}"
)
_MYSQL_AUTO_FK = re.compile(r"_ibfk_\d+$")
_MARIADB_CHECK = re.compile(rf"^CONSTRAINT {_QUOTED} failed for `(?:[^`]|``)*`\.{_QUOTED}")
_MYSQL_CHECK = re.compile(r"^Check constraint '(.+)' is violated")


def sqlite(exc: errors.PgError, extended: int) -> errors.PgError:
    """Names from SQLite's "UNIQUE constraint failed: t.a, t.b" and its kin."""
    message = exc.message
    match = _SQLITE_COLUMNS.match(message)
    if match:
        pairs = [p.strip().rpartition(".") for p in match.group(2).split(",")]
        table, columns = pairs[0][0], [p[2] for p in pairs]
        if match.group(1) == "NOT NULL":
            return annotate(exc, table=table, column=columns[0])
        name = f"{table}_pkey" if extended == _SQLITE_PRIMARY_KEY else (
            f"{table}_{'_'.join(columns)}_key")
        return annotate(exc, table=table, constraint=name)
    match = _SQLITE_CHECK.match(message)
    if match:  # a named CHECK (an unnamed one shows its expression)
        return annotate(exc, constraint=match.group(1))
    return exc


def mysql(exc: errors.PgError, errno: int, message: str) -> errors.PgError:
    """Names from MySQL's and MariaDB's constraint messages."""
    if errno in (1062, 1586) and (match := _MYSQL_KEY.match(message)):
        table, key = match.group(1), match.group(2)
        if key == "PRIMARY":
            return annotate(exc, table=table, constraint=f"{table}_pkey" if table else None,
                            primary_key=True)
        return annotate(exc, table=table, constraint=key)
    if errno in (1048, 1364) and (match := _MYSQL_NULL.match(message)):
        return annotate(exc, column=match.group(1) or match.group(2))
    if errno in (1451, 1452, 1216, 1217) and (match := _MYSQL_FK.search(message)):
        table, name = _unquote(match.group(1)), _unquote(match.group(2))
        if _MYSQL_AUTO_FK.search(name):  # MySQL's own name: PostgreSQL's is <t>_<cols>_fkey
            cols = [_unquote(c.strip().strip("`")) for c in match.group(3).split(",")]
            name = f"{table}_{'_'.join(cols)}_fkey"
        parent = _unquote(match.group(4)) if errno in (1451, 1217) else None
        return annotate(exc, table=table, constraint=name, referenced=parent)
    if errno == 4025 and (match := _MARIADB_CHECK.match(message)):
        name, table = _unquote(match.group(1)), _unquote(match.group(2))
        if name.startswith(f"{table}."):  # a column's CHECK, named by MariaDB for its column
            name = f"{table}_{name[len(table) + 1:]}_check"
        return annotate(exc, table=table, constraint=name)
    if errno == 3819 and (match := _MYSQL_CHECK.match(message)):
        return annotate(exc, constraint=match.group(1))
    return exc


_SAVEPOINT = re.compile(r"^no such savepoint: (.+)$|^SAVEPOINT (.+) does not exist$")


def savepoint(exc: errors.PgError) -> errors.PgError:
    """3B001 in PostgreSQL's words (a reused name's backend name `a~2` shown as `a`)."""
    match = _SAVEPOINT.match(exc.message)
    if match:
        name = (match.group(1) or match.group(2)).rpartition("~")
        exc.message = f'savepoint "{name[0] if name[1] else name[2]}" does not exist'
    return exc


def _unquote(name: str) -> str:
    return name.replace("``", "`")


def annotate(
    exc: errors.PgError,
    *,
    table: str | None = None,
    column: str | None = None,
    constraint: str | None = None,
    referenced: str | None = None,
    primary_key: bool = False,
) -> errors.PgError:
    """Add what is known of the violated object to `exc`, and word its message as
    PostgreSQL does once the names that wording needs are there."""
    objects = exc.objects
    if table and "t" not in objects:
        objects["s"], objects["t"] = "public", table
    if column:
        objects.setdefault("c", column)
    if constraint:
        objects.setdefault("n", constraint)
    elif primary_key and "n" not in objects and "t" in objects:
        objects["n"] = f"{objects['t']}_pkey"
    text = _message(exc.sqlstate, objects, referenced)
    if text is not None and text != exc.message:
        if not exc.detail or exc.detail.startswith("MySQL error"):
            exc.detail = exc.message + (f" ({exc.detail})" if exc.detail else "")
        exc.message = text
    return exc


def add_table(exc: errors.PgError, table: str, verb: str) -> None:
    """The statement (`verb`: its command tag) wrote `table` alone: the violation is on it,
    unless the message said otherwise (a foreign key's is the referencing table: only an
    INSERT's own)."""
    if "t" in exc.objects:
        return
    if exc.sqlstate == "23503" and verb == "INSERT":
        annotate(exc, table=table)
    elif exc.sqlstate in ("23505", "23502", "23514"):
        key = _MYSQL_KEY.match(exc.message)
        annotate(exc, table=table, primary_key=key is not None and key.group(2) == "PRIMARY")


def _message(code: str, objects: dict[str, str], parent: str | None) -> str | None:
    table, column, name = objects.get("t"), objects.get("c"), objects.get("n")
    if code == "23505" and name:
        return f'duplicate key value violates unique constraint "{name}"'
    if code == "23502" and table and column:
        return f'null value in column "{column}" of relation "{table}" violates not-null constraint'
    if code == "23514" and table and name:
        return f'new row for relation "{table}" violates check constraint "{name}"'
    if code == "23503" and table and name:
        if parent:
            return (f'update or delete on table "{parent}" violates foreign key constraint '
                    f'"{name}" on table "{table}"')
        return f'insert or update on table "{table}" violates foreign key constraint "{name}"'
    return None
