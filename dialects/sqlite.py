"""PostgreSQL to SQLite: the embedded default backend.

Choices (see DIFFERENCES.md): column types keep their PostgreSQL spelling in
DDL so the backend can report the right type OID from the declared type
(apsw exposes it) while SQLite's affinity rules still store the values;
casts go to SQLite's affinity names; LIKE with a literal pattern becomes the
equivalent case-sensitive GLOB.
"""

from __future__ import annotations

import typing as t

from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite as _SQLite
from sqlglot.generators.sqlite import SQLiteGenerator

from dialects.base import (
    COMMON,
    PgProxyBackend,
    bool_cast_sql,
    parameter_sql,
    stock,
    unsupported,
)

# LIKE with a non-literal pattern stays LIKE, which SQLite compares without
# case for ASCII; the backend runs these once per connection so that LIKE is
# case-sensitive as in PostgreSQL (ILIKE is rewritten with LOWER on both sides).
SESSION_SETUP = ("PRAGMA case_sensitive_like = ON",)

_D = exp.DType
_INTEGER = {_D.TINYINT, _D.SMALLINT, _D.INT, _D.BIGINT, _D.UTINYINT, _D.USMALLINT, _D.UINT,
            _D.UBIGINT, _D.MEDIUMINT}
_REAL = {_D.FLOAT, _D.DOUBLE}
_NUMERIC = {_D.DECIMAL, _D.BIGDECIMAL, _D.MONEY}
_BLOB = {_D.VARBINARY, _D.BINARY, _D.BLOB}
_SERIAL = {_D.SERIAL, _D.BIGSERIAL, _D.SMALLSERIAL}


def _like_to_glob(pattern: str, escape: str = "\\") -> str | None:
    """A LIKE pattern as the GLOB pattern that matches the same strings, case-sensitively."""
    out = []
    chars = iter(pattern)
    for ch in chars:
        if ch == escape:
            nxt = next(chars, None)
            if nxt is None:
                return None
            ch, literal = nxt, True
        else:
            literal = False
        if not literal and ch == "%":
            out.append("*")
        elif not literal and ch == "_":
            out.append("?")
        elif ch in "*?[":
            out.append(f"[{ch}]")
        else:
            out.append(ch)
    return "".join(out)


def _like_sql(self: t.Any, expression: exp.Like) -> str:
    escape = "\\"
    negate = " NOT" if expression.args.get("negate") else ""
    parent = expression.parent
    if isinstance(parent, exp.Escape):
        escape = parent.expression.name if isinstance(parent.expression, exp.Literal) else None
    pattern = expression.expression
    if escape and isinstance(pattern, exp.Literal) and pattern.is_string and len(escape) == 1:
        glob = _like_to_glob(pattern.this, escape)
        if glob is not None:
            glob_sql = self.sql(exp.Literal.string(glob))
            return f"{self.sql(expression, 'this')}{negate} GLOB {glob_sql}"
    return f"{self.sql(expression, 'this')}{negate} LIKE {self.sql(pattern)}"


def _escape_sql(self: t.Any, expression: exp.Escape) -> str:
    inner = expression.this
    sql = self.sql(inner)
    if " GLOB " in sql and isinstance(inner, exp.Like):
        return sql  # the escape was applied while building the GLOB pattern
    return f"{sql} ESCAPE {self.sql(expression, 'expression')}"


def _default_escape(expression: exp.Expr) -> exp.Expr:
    """PostgreSQL's LIKE escapes with backslash by default; SQLite's has no default escape."""
    for node in list(expression.find_all(exp.Like, exp.ILike)):
        if isinstance(node.parent, exp.Escape):
            continue
        if isinstance(node, exp.ILike):
            node = node.replace(
                exp.Like(
                    this=exp.Lower(this=node.this),
                    expression=exp.Lower(this=node.expression),
                    negate=node.args.get("negate"),
                )
            )
        node.replace(exp.Escape(this=node.copy(), expression=exp.Literal.string("\\")))
    return expression


def _cast_sql(self: t.Any, expression: exp.Cast) -> str:
    to = expression.to.this
    if to == _D.BOOLEAN:
        return bool_cast_sql(self, expression.this)
    if to == _D.DATE:
        return f"DATE({self.sql(expression, 'this')})"
    if to in _INTEGER:
        name = "INTEGER"
    elif to in _REAL:
        name = "REAL"
    elif to in _NUMERIC:
        name = "NUMERIC"
    elif to in _BLOB:
        name = "BLOB"
    else:
        name = "TEXT"
    return f"CAST({self.sql(expression, 'this')} AS {name})"


def _datatype_sql(self: t.Any, expression: exp.DataType) -> str:
    column = expression.parent
    if isinstance(column, exp.ColumnDef):
        if column.find(exp.AutoIncrementColumnConstraint):
            return "INTEGER"  # exactly this spelling makes the column SQLite's rowid
        return expression.sql("postgres")
    return _SQLITE_STOCK[exp.DataType](self, expression)


def _serial_columns(expression: exp.Expr) -> exp.Expr:
    """SERIAL and GENERATED ... AS IDENTITY become INTEGER PRIMARY KEY AUTOINCREMENT."""
    if not isinstance(expression, (exp.Create, exp.Alter)):
        return expression
    schema = expression.this if isinstance(expression.this, exp.Schema) else None
    table_pk: set[str] = set()
    if schema is not None:
        for node in schema.expressions:
            if isinstance(node, exp.PrimaryKey):
                table_pk.update(c.name.lower() for c in node.expressions)
    for column in list(expression.find_all(exp.ColumnDef)):
        kind = column.args.get("kind")
        identity = column.find(exp.GeneratedAsIdentityColumnConstraint)
        if identity is not None and identity.expression is not None:
            continue  # a computed column, not an identity
        if not (isinstance(kind, exp.DataType) and kind.this in _SERIAL) and identity is None:
            continue
        is_pk = column.find(exp.PrimaryKeyColumnConstraint) is not None or (
            table_pk == {column.name.lower()}
        )
        if not is_pk:
            unsupported(
                f"sqlite: column {column.name} is SERIAL/IDENTITY but not the table's single "
                "primary key; SQLite can only auto-number an INTEGER PRIMARY KEY"
            )
        if identity is not None:
            identity.parent.pop()
        for constraint in list(column.constraints):
            if isinstance(constraint.kind, (exp.NotNullColumnConstraint,
                                            exp.PrimaryKeyColumnConstraint)):
                constraint.pop()
        column.set("kind", exp.DataType.build("INTEGER"))
        column.append("constraints", exp.ColumnConstraint(kind=exp.PrimaryKeyColumnConstraint()))
        column.append("constraints", exp.ColumnConstraint(kind=exp.AutoIncrementColumnConstraint()))
        if table_pk == {column.name.lower()} and schema is not None:
            for node in list(schema.expressions):
                if isinstance(node, exp.PrimaryKey):
                    node.pop()
    return expression


def _no_locking(expression: exp.Expr) -> exp.Expr:
    """SQLite has one writer at a time: FOR UPDATE/SHARE has nothing to add, so it is dropped."""
    for lock in list(expression.find_all(exp.Lock)):
        lock.pop()
    return expression


def _truncate(expression: exp.Expr) -> exp.Expr:
    if isinstance(expression, exp.TruncateTable):
        if len(expression.expressions) != 1:
            unsupported("sqlite: TRUNCATE of several tables at once is not supported")
        return exp.Delete(this=expression.expressions[0])
    return expression


def _datatype_autoincrement(self: t.Any, expression: exp.AutoIncrementColumnConstraint) -> str:
    return "AUTOINCREMENT"


_SQLITE_STOCK = stock(SQLiteGenerator)


class PgProxySQLite(_SQLite, PgProxyBackend):
    BACKEND = "sqlite"
    RETURNING = (exp.Insert, exp.Update, exp.Delete)  # SQLite 3.35+
    PREPROCESS = (*COMMON, _serial_columns, _no_locking, _truncate, _default_escape)
    TRANSFORMS = {
        **_SQLITE_STOCK,
        exp.Parameter: parameter_sql,
        exp.Like: _like_sql,
        exp.Escape: _escape_sql,
        exp.Cast: _cast_sql,
        exp.DataType: _datatype_sql,
    }
