"""PostgreSQL to MySQL and MariaDB (pymysql), closing the semantic gaps translation can close.

Integer division, NULL ordering, ON CONFLICT, DDL types, case-sensitive text
(tables created through the proxy get a binary collation), numeric casts with
PostgreSQL's precision; see DIFFERENCES.md for what remains.
"""

from __future__ import annotations

import typing as t
from decimal import Decimal, InvalidOperation

from sqlglot import exp
from sqlglot.dialects.mysql import MySQL as _MySQL
from sqlglot.generators.mysql import MySQLGenerator

from dialects import arrays, functions, jsonops, ordering, records, regex, usertypes, zones
from dialects.base import (
    COMMON,
    PgProxyBackend,
    aggregate_filter,
    anonymous_sql,
    bool_cast_sql,
    bool_text_sql,
    fix_column_defs,
    parameter_sql,
    stock,
    unsupported,
)
from dialects.exprtypes import INTEGERS, pg_type, untyped_operand
from dialects.ranges import MYSQL_SPELLINGS as MYSQL_RANGE_SPELLINGS
from dialects.ranges import RANGE_TYPES
from dialects.sequences import mariadb_functions, no_sequences
from dialects.typeoids import datatype_oid

_D = exp.DType
_INTEGERS = {_D.TINYINT, _D.SMALLINT, _D.INT, _D.BIGINT, _D.MEDIUMINT}
_SERIAL = {_D.SERIAL: "INT", _D.BIGSERIAL: "BIGINT", _D.SMALLSERIAL: "SMALLINT"}
_TEXTUAL = {_D.TEXT, _D.VARCHAR, _D.NVARCHAR}
# MySQL's maximum row-format-safe key prefix: PostgreSQL text keys become VARCHAR(255).
_KEY_VARCHAR = "VARCHAR(255)"
_MAX_UNSIGNED = "18446744073709551615"


def _is_integer(node: exp.Expr) -> bool:
    """True when PostgreSQL would type the expression as an integer, judged from the text alone."""
    if isinstance(node, exp.Paren):
        return _is_integer(node.this)
    if isinstance(node, exp.Literal):
        return not node.is_string and node.this.isdigit()
    if isinstance(node, exp.Neg):
        return _is_integer(node.this)
    if isinstance(node, exp.Cast):
        return node.to.this in _INTEGERS
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Mod, exp.IntDiv)):
        return _is_integer(node.this) and _is_integer(node.expression)
    return False


def integer_division(expression: exp.Expr) -> exp.Expr:
    """PostgreSQL's int / int truncates; MySQL's returns a decimal. DIV truncates the same way."""
    for div in list(expression.find_all(exp.Div)):
        if _is_integer(div.this) and _is_integer(div.expression):
            div.replace(exp.IntDiv(this=div.this, expression=div.expression))
    return expression


def _excluded_to_values(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Column) and node.table.lower() == "excluded":
        return exp.Anonymous(this="VALUES", expressions=[exp.column(node.name)])
    return node


def on_conflict(expression: exp.Expr) -> exp.Expr:
    """ON CONFLICT DO NOTHING -> INSERT IGNORE; DO UPDATE -> ON DUPLICATE KEY UPDATE VALUES()."""
    if not isinstance(expression, exp.Insert):
        return expression
    conflict = expression.args.get("conflict")
    if conflict is None or conflict.args.get("duplicate"):
        return expression
    action = conflict.text("action").upper()
    if conflict.args.get("where") or conflict.args.get("index_predicate"):
        unsupported("ON CONFLICT ... WHERE has no MySQL equivalent")
    if action == "DO NOTHING":
        expression.set("conflict", None)
        expression.set("ignore", True)
        return expression
    sets = [item.transform(_excluded_to_values) for item in conflict.expressions]
    expression.set(
        "conflict",
        exp.OnConflict(duplicate=True, expressions=sets, action=exp.var("UPDATE")),
    )
    return expression


def offset_needs_limit(expression: exp.Expr) -> exp.Expr:
    for select in expression.find_all(exp.Select):
        limit = select.args.get("limit")
        if limit is not None and isinstance(limit.expression, exp.Var):  # LIMIT ALL
            select.set("limit", None)
            limit = None
        if select.args.get("offset") and limit is None:
            select.set("limit", exp.Limit(expression=exp.Literal.number(_MAX_UNSIGNED)))
    return expression


# Column comments that keep a PostgreSQL type MySQL has no name for (pgproxy/catalog reads
# them): a timestamptz is a DATETIME, a jsonb a JSON.
TIMESTAMPTZ_MARK = "pgproxy:timestamptz"
JSONB_MARK = "pgproxy:jsonb"
# Types MySQL has nothing for, kept as their PostgreSQL output text (an oid as its number):
# OID -> (column, mark).
_KEPT_AS_TEXT = {
    26: ("INT UNSIGNED", "pgproxy:oid"),
    869: ("VARCHAR(64)", "pgproxy:inet"),
    650: ("VARCHAR(64)", "pgproxy:cidr"),
    1186: ("VARCHAR(128)", "pgproxy:interval"),
    1266: ("VARCHAR(32)", "pgproxy:timetz"),
}
# Each mark and the PostgreSQL type OID it stands for (pgproxy/catalog/introspect.py).
MARKS = {TIMESTAMPTZ_MARK: 1184, JSONB_MARK: 3802,
         **{mark: oid for oid, (_, mark) in _KEPT_AS_TEXT.items()}}


def _mark(column: exp.ColumnDef, mark: str) -> None:
    if not any(isinstance(c.kind, exp.CommentColumnConstraint) for c in column.constraints):
        column.append("constraints", exp.ColumnConstraint(
            kind=exp.CommentColumnConstraint(this=exp.Literal.string(mark))))


def _column_type(column: exp.ColumnDef, keys: set[str]) -> None:
    kind = column.args.get("kind")
    constraints = column.constraints
    identity = column.find(exp.GeneratedAsIdentityColumnConstraint)
    if identity is not None and identity.expression is None:
        identity.parent.pop()
        column.append("constraints", exp.ColumnConstraint(kind=exp.AutoIncrementColumnConstraint()))
    if not isinstance(kind, exp.DataType):
        return
    is_key = column.name.lower() in keys or any(
        isinstance(c.kind, (exp.PrimaryKeyColumnConstraint, exp.UniqueColumnConstraint))
        for c in constraints
    )
    new: str | None = None
    if kind.this in _SERIAL:
        new = _SERIAL[kind.this]
        column.append("constraints", exp.ColumnConstraint(kind=exp.NotNullColumnConstraint()))
        column.append("constraints", exp.ColumnConstraint(kind=exp.AutoIncrementColumnConstraint()))
    elif kind.this in _TEXTUAL and (is_key or kind.this != _D.VARCHAR) and not kind.expressions:
        new = _KEY_VARCHAR if is_key else "TEXT"
    elif kind.this == _D.UUID:
        new = "CHAR(36)"
    elif kind.this in (_D.VARBINARY, _D.BINARY) and not kind.expressions:
        new = "LONGBLOB"
    elif kind.this in RANGE_TYPES:
        new = _KEY_VARCHAR if is_key else "TEXT"  # the canonical text (dialects/ranges.py)
        _mark(column, f"pgproxy:{kind.this.value.lower()}")
    elif kind.this in (_D.JSONB, _D.ARRAY):
        new = "JSON"  # an array column holds a JSON array (dialects/arrays.py)
        if kind.this == _D.JSONB:
            _mark(column, JSONB_MARK)
        element = kind.expressions[0] if kind.expressions else None
        if isinstance(element, exp.DataType) and element.this in RANGE_TYPES:
            _mark(column, f"pgproxy:{element.this.value.lower()}[]")
    elif kind.this == _D.TIMESTAMPTZ:
        # MySQL's TIMESTAMP would keep an instant but only from 1970 to 2038: a DATETIME
        # holds the UTC wall clock (the backend session runs in UTC), and the column's
        # comment tells the catalog, and so the result types, that it is timestamptz.
        new = f"DATETIME({kind.expressions[0].name if kind.expressions else 6})"
        _mark(column, TIMESTAMPTZ_MARK)
    elif kind.this == _D.TIMESTAMP:
        new = f"DATETIME({kind.expressions[0].name if kind.expressions else 6})"
    elif datatype_oid(kind) in _KEPT_AS_TEXT:
        new, mark = _KEPT_AS_TEXT[datatype_oid(kind)]
        _mark(column, mark)
    elif kind.this == _D.TIME and not kind.expressions:
        new = "TIME(6)"
    elif kind.this == _D.DECIMAL and not kind.expressions:
        new = "DECIMAL(65, 30)"
    elif kind.this in (_D.FLOAT, _D.DOUBLE) and kind.expressions:
        # float(p): PostgreSQL's real for p <= 24, double precision above
        new = "FLOAT" if int(kind.expressions[0].name) <= 24 else "DOUBLE"
    if new is not None:
        column.set("kind", exp.DataType.build(new, dialect="mysql"))


def _checks_last(column: exp.ColumnDef) -> None:
    """PostgreSQL takes a column's CHECK and DEFAULT in any order; MySQL wants CHECK (and
    REFERENCES) after the others."""
    constraints = column.constraints
    last = [c for c in constraints if isinstance(c.kind, (exp.CheckColumnConstraint,
                                                          exp.Reference))]
    if last and constraints[-len(last):] != last:
        column.set("constraints", [c for c in constraints if c not in last] + last)


def ddl_types(expression: exp.Expr) -> exp.Expr:
    """PostgreSQL column types as MySQL stores them with the same range and precision."""
    return fix_column_defs(expression, _column)


def _column(column: exp.ColumnDef, keys: set[str]) -> None:
    _column_type(column, keys)
    _checks_last(column)


def named_foreign_keys(expression: exp.Expr) -> exp.Expr:
    """An unnamed FOREIGN KEY gets PostgreSQL's name, <table>_<columns>_fkey. InnoDB names
    the index it makes for the key after the constraint, which is how the catalog knows that
    index for one PostgreSQL would not have (pgproxy/catalog/introspect.py)."""
    if isinstance(expression, exp.Create) and isinstance(expression.this, exp.Schema):
        table, items = expression.this.this, expression.this.expressions
    elif isinstance(expression, exp.Alter) and expression.kind == "TABLE":
        table, items = expression.this, expression.args.get("actions") or []
    else:
        return expression
    taken: set[str] = set()
    for item in items:
        keys = item.expressions if isinstance(item, exp.AddConstraint) else [item]
        if len(keys) != 1 or not isinstance(keys[0], exp.ForeignKey):
            continue
        base = f"{table.name}_{'_'.join(c.name for c in keys[0].expressions)}"[:58] + "_fkey"
        name, n = base, 0
        while name in taken:
            n += 1
            name = f"{base}{n}"
        taken.add(name)
        keys[0].replace(exp.Constraint(this=exp.to_identifier(name), expressions=[keys[0].copy()]))
    return expression


def positional_order(expression: exp.Expr) -> exp.Expr:
    """ORDER BY 2 as the second select item's expression: MySQL sorts NULLs first in ascending
    order, and PostgreSQL's NULLS LAST can be spelled for an expression, not for a position."""
    for select in expression.find_all(exp.Select):
        order = select.args.get("order")
        items = select.expressions
        if order is None or any(isinstance(i, exp.Star) or i.is_star for i in items):
            continue
        for ordered in order.expressions:
            key = ordered.this
            if isinstance(key, exp.Literal) and key.is_int and 1 <= int(key.this) <= len(items):
                item = items[int(key.this) - 1]
                key.replace((item.this if isinstance(item, exp.Alias) else item).copy())
    return expression


def binary_collation(expression: exp.Expr) -> exp.Expr:
    """Tables made through the proxy compare text as PostgreSQL does: case- and accent-sensitive."""
    if (
        isinstance(expression, exp.Create)
        and expression.kind == "TABLE"
        and isinstance(expression.this, exp.Schema)
    ):
        props = expression.args.get("properties") or exp.Properties(expressions=[])
        if not any(isinstance(p, exp.CollateProperty) for p in props.expressions):
            props.append(
                "expressions",
                exp.CharacterSetProperty(this=exp.var("utf8mb4"), default=True),
            )
            props.append("expressions", exp.CollateProperty(this=exp.var("utf8mb4_bin")))
            expression.set("properties", props)
    return expression


def microsecond_now(expression: exp.Expr) -> exp.Expr:
    """now() has microseconds in PostgreSQL (and DATETIME(6) defaults need the same precision)."""
    for node in expression.find_all(exp.CurrentTimestamp):
        if not node.this:
            node.set("this", exp.Literal.number(6))
    return expression


def pg_sleep(expression: exp.Expr) -> exp.Expr:
    """pg_sleep(s) -> SLEEP(s): MySQL's takes fractional seconds too, and KILL QUERY ends it."""
    for node in list(expression.find_all(exp.Anonymous)):
        if node.name.lower() == "pg_sleep":
            node.set("this", "SLEEP")
    return expression


def _cast_sql(self: t.Any, expression: exp.Cast) -> str:
    to = expression.to
    if isinstance(to, exp.ObjectIdentifier):  # oid, regclass ...: the number
        return f"CAST({self.sql(expression, 'this')} AS UNSIGNED)"
    if to.this == _D.INTERVAL:
        # constants are bound as interval text (dialects/functions.py); anything else would
        # need an interval type MySQL lacks
        unsupported(f"{self.dialect.__class__.__name__.removeprefix('PgProxy').lower()}: "
                    "only a constant interval can be added to a date or timestamp here")
    if to.this == _D.ARRAY or to.this in RANGE_TYPES:
        # an array is its JSON text already (arrays.py), a range its canonical text (ranges.py)
        return self.sql(expression, "this")
    if to.this == _D.BOOLEAN:
        return bool_cast_sql(self, expression.this)
    if to.this in _TEXTUAL and not to.expressions and pg_type(expression.this) == _D.BOOLEAN:
        return bool_text_sql(self, expression.this)
    if to.this in _TEXTUAL and not to.expressions:
        numeric = _numeric_text(expression.this)
        if numeric is not None:
            return self.sql(numeric)
    if to.this in (_D.FLOAT, _D.DOUBLE) and isinstance(expression.this, exp.Parameter):
        # $1::float8: the proxy decodes it as a float already and binds NaN / ±Infinity as
        # their text, which CAST(... AS DOUBLE) would read as 0
        return self.sql(expression, "this")
    if to.this == _D.DECIMAL and not to.expressions and isinstance(
        expression.this, exp.Parameter
    ):
        # $1::numeric: the proxy decodes the parameter as a Decimal already, and pymysql
        # writes it as a DECIMAL literal with its own scale ('1.10'), where
        # DECIMAL(65, 30) would print 30 decimals
        return self.sql(expression, "this")
    if to.this == _D.DECIMAL and not to.expressions:
        # div(a, b) is numeric with scale 0 (sqlglot reads it as CAST(a DIV b AS NUMERIC)).
        scale = 0 if isinstance(expression.this, exp.IntDiv) else 30
        return f"CAST({self.sql(expression, 'this')} AS DECIMAL(65, {scale}))"
    # CAST takes a short list of target types in MySQL and MariaDB; these are
    # the nearest that keep PostgreSQL's value (and its microseconds).
    if to.this == _D.BPCHAR and to.expressions:
        return f"CAST({self.sql(expression, 'this')} AS CHAR({self.sql(to.expressions[0])}))"
    if datatype_oid(to) in _AS_TEXT:
        # inet, cidr, bit, varbit, timetz: MySQL has none of them; the value is PostgreSQL's text
        # (the proxy reads a parameter as the type, and the result column is typed by the cast)
        return f"CAST({self.sql(expression, 'this')} AS CHAR)"
    target = _CAST_TARGETS.get(to.this)
    if target is not None and not to.expressions:
        return f"CAST({self.sql(expression, 'this')} AS {target})"
    return _MYSQL_STOCK[exp.Cast](self, expression)


def _numeric_text(value: exp.Expr) -> exp.Expr | None:
    """`x::numeric::text` without DECIMAL(65,30)'s 30 decimals: a parameter is the Decimal
    the proxy decoded (pymysql writes it with its own scale), a constant its numeric_out."""
    while isinstance(value, exp.Paren):
        value = value.this
    if not isinstance(value, exp.Cast) or value.to.this != _D.DECIMAL or value.to.expressions:
        return None
    inner = value.this
    if isinstance(inner, exp.Parameter):
        return exp.Cast(this=inner, to=exp.DataType.build("CHAR"))
    if isinstance(inner, exp.Literal) and inner.is_string:
        try:
            number = Decimal(inner.this.strip())
        except InvalidOperation:
            return None  # MariaDB's own reading (DIFFERENCES.md)
        if number.is_snan() or (number.is_finite() and abs(number.adjusted()) > 1000):
            return None  # past numeric's input range: MariaDB's own error
        if number.is_nan():
            return exp.Literal.string("NaN")
        text = format(number, "f")
        return exp.Literal.string(text[1:] if number.is_zero() and text[0] == "-" else text)
    return None


def _temporal_sql(self: t.Any, expression: exp.Add | exp.Sub) -> str | None:
    """date ± integer is a day count in PostgreSQL, date - date the days between;
    MySQL would add to the date read as a number (20240228 + 1)."""
    sub = isinstance(expression, exp.Sub)
    left, right = expression.this, expression.expression
    lt, rt = pg_type(left), pg_type(right)
    if not sub and (lt in INTEGERS or untyped_operand(left)) and rt == _D.DATE:
        left, right, lt, rt = right, left, rt, lt
    if lt == _D.DATE and (rt in INTEGERS or (not sub and untyped_operand(right))):
        # date + a column is typed date (dialects/exprtypes.py): its integer day count
        verb = "DATE_SUB" if sub else "DATE_ADD"
        return f"{verb}({self.sql(left)}, INTERVAL {self.sql(right)} DAY)"
    if sub and lt == _D.DATE and rt == _D.DATE:
        return f"DATEDIFF({self.sql(left)}, {self.sql(right)})"
    interval = right.this if isinstance(right, exp.Paren) else right
    index = _interval_parameter(interval) if rt == _D.INTERVAL else None
    if index is not None:
        return _interval_terms(self, left, sub, str(index))
    if (
        isinstance(interval, exp.Interval)
        and interval.args.get("unit") is None
        and isinstance(interval.this, exp.Literal)
    ):
        # INTERVAL '1 month 2 days': MySQL takes one unit per INTERVAL, so one term each
        words = interval.this.this.split()
        if len(words) % 2 or not all(w.lower() in functions.UNIT_NAMES for w in words[1::2]):
            # '1d 3h', '01:30:00' ...: the proxy reads it with PostgreSQL's parser
            return _interval_terms(self, left, sub, f"={interval.this.this}")
        sql = self.sql(left)
        for number, unit in zip(words[::2], words[1::2], strict=True):
            quantity = self.sql(exp.Literal.string(number))
            name = functions.UNIT_NAMES[unit.lower()]
            sql = f"{sql} {'-' if sub else '+'} INTERVAL {quantity} {name}"
        return f"({sql})"
    return None


def _interval_parameter(node: exp.Expr) -> int | None:
    """The 0-based index of $n in `$n` or `$n::interval`, else None."""
    if isinstance(node, exp.Cast):
        node = node.this
    if isinstance(node, exp.Parameter) and isinstance(node.this, exp.Literal):
        return int(node.this.this) - 1 if node.this.this.isdigit() else None
    return None


def _interval_terms(self: t.Any, left: exp.Expr, sub: bool, source: str) -> str:
    """ts ± an interval MySQL cannot read: the proxy binds the interval's months, days and
    microseconds (pgproxy/params.py; `source` is a parameter's index or `=<text>`), and
    DATE_ADD clamps Jan 31 + 1 month as PostgreSQL does."""
    sign = "-" if sub else "+"
    parts = [
        f"{sign} INTERVAL {self.sql(_part(field, source))} {unit}"
        for field, unit in (("months", "MONTH"), ("days", "DAY"), ("usec", "MICROSECOND"))
    ]
    return f"({self.sql(left)} {' '.join(parts)})"


def _part(field: str, source: str) -> exp.Parameter:
    return exp.Parameter(this=exp.var(f"session:interval_part:{field}:{source}"))


def _add_sql(self: t.Any, expression: exp.Add) -> str:
    return _temporal_sql(self, expression) or _MYSQL_STOCK[exp.Add](self, expression)


def _sub_sql(self: t.Any, expression: exp.Sub) -> str:
    return _temporal_sql(self, expression) or _MYSQL_STOCK[exp.Sub](self, expression)


def _timestamp_trunc_sql(self: t.Any, expression: exp.TimestampTrunc) -> str:
    """sqlglot's DATE_ADD('0000-01-01 00:00:00', ...) is a string: make it a DATETIME."""
    return f"CAST({_MYSQL_STOCK[exp.TimestampTrunc](self, expression)} AS DATETIME(6))"


_EXTRACT = {
    "DOW": "(DAYOFWEEK({x}) - 1)",
    "ISODOW": "(WEEKDAY({x}) + 1)",
    "DOY": "DAYOFYEAR({x})",
    "EPOCH": "UNIX_TIMESTAMP({x})",
}


def _extract_sql(self: t.Any, expression: exp.Extract) -> str:
    template = _EXTRACT.get(expression.this.name.upper())
    if template is not None:
        return template.format(x=self.sql(expression, "expression"))
    return _MYSQL_STOCK[exp.Extract](self, expression)


_AS_TEXT = frozenset({869, 650, 1560, 1562, 1266})  # inet, cidr, bit, varbit, timetz
_CAST_TARGETS = {
    _D.NAME: "CHAR",
    _D.BPCHAR: "CHAR",
    _D.VARBINARY: "BINARY",
    _D.BINARY: "BINARY",
    _D.UUID: "CHAR(36)",
    _D.TIMESTAMP: "DATETIME(6)",
    _D.TIMESTAMPTZ: "DATETIME(6)",
    _D.TIME: "TIME(6)",
    _D.JSON: "CHAR",
    _D.JSONB: "CHAR",
}


_MYSQL_STOCK = stock(MySQLGenerator)

PREPROCESS_MYSQL = (
    ordering.positional_order,
    regex.similar_to,
    jsonops.json_operators,
    *COMMON,
    records.records,
    usertypes.as_text,
    *arrays.PREPROCESS,
    integer_division,
    on_conflict,
    offset_needs_limit,
    ddl_types,
    microsecond_now,
    aggregate_filter,
    positional_order,
    named_foreign_keys,
)


class PgProxyMySQL(_MySQL, PgProxyBackend):
    BACKEND = "mysql"
    PREPROCESS = (*PREPROCESS_MYSQL, binary_collation, no_sequences, pg_sleep)
    TRANSFORMS = {
        **_MYSQL_STOCK,
        exp.Anonymous: anonymous_sql(
            {**arrays.SPELLINGS["mysql"], **functions.MYSQL_SPELLINGS, **MYSQL_RANGE_SPELLINGS},
            _MYSQL_STOCK[exp.Anonymous],
        ),
        exp.Array: arrays.array_sql("mysql"),
        exp.Chr: functions.mysql_chr_sql,
        exp.Ascii: functions.mysql_ascii_sql,
        exp.Parameter: parameter_sql,
        exp.Cast: _cast_sql,
        exp.Add: _add_sql,
        exp.Sub: _sub_sql,
        exp.TimestampTrunc: _timestamp_trunc_sql,
        exp.Extract: _extract_sql,
        exp.RegexpLike: regex.mysql_regexp_sql,
        exp.RegexpILike: regex.mysql_regexp_sql,
        **jsonops.MYSQL_TRANSFORMS,
        exp.AtTimeZone: zones.mysql_sql,
    }


def _mariadb_version_sql(self: t.Any, expression: exp.Version) -> str:
    # Only timestamps reach here: generate.py refuses commits and branches on MariaDB.
    return f"FOR SYSTEM_TIME AS OF TIMESTAMP {self.sql(expression, 'expression')}"


class PgProxyMariaDB(PgProxyMySQL):
    BACKEND = "mariadb"
    PREPROCESS = (*PREPROCESS_MYSQL, binary_collation, mariadb_functions, pg_sleep)
    TRANSFORMS = {**PgProxyMySQL.TRANSFORMS, exp.Version: _mariadb_version_sql}
    # MariaDB 10.5+ runs INSERT/DELETE ... RETURNING, but not UPDATE ... RETURNING.
    RETURNING = (exp.Insert, exp.Delete)
