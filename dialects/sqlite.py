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

from dialects import arrays, jsonops, records, regex, usertypes, valuesdefault, zones
from dialects.api import TranslationError
from dialects.base import (
    COMMON,
    PgProxyBackend,
    anonymous_sql,
    bool_cast_sql,
    bool_text_sql,
    parameter_sql,
    stock,
    unsupported,
)
from dialects.exprtypes import TEXTUAL, pg_type, signed_integer, untyped_operand
from dialects.ranges import RANGE_TYPES
from dialects.sequences import strip_regclass

# LIKE with a non-literal pattern stays LIKE, which SQLite compares without
# case for ASCII; the backend runs these once per connection so that LIKE is
# case-sensitive as in PostgreSQL (ILIKE is rewritten with LOWER on both sides).
SESSION_SETUP = ("PRAGMA case_sensitive_like = ON",)

_D = exp.DType
_INTEGER = {_D.TINYINT, _D.SMALLINT, _D.INT, _D.BIGINT, _D.UTINYINT, _D.USMALLINT, _D.UINT,
            _D.UBIGINT, _D.MEDIUMINT}
_REAL = {_D.FLOAT, _D.DOUBLE}
_INT8_MAX = 2**63 - 1
_NUMERIC = {_D.DECIMAL, _D.BIGDECIMAL, _D.MONEY}
_BLOB = {_D.VARBINARY, _D.BINARY, _D.BLOB}


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
    value = expression.this
    if isinstance(expression.to, exp.ObjectIdentifier):  # oid, regclass ...: the number
        return f"CAST({self.sql(value)} AS INTEGER)"
    if to == _D.ARRAY or to in RANGE_TYPES:
        # an array is its JSON text already (dialects/arrays.py), a range its canonical
        # text (dialects/ranges.py)
        return self.sql(value)
    if to == _D.BOOLEAN:
        return bool_cast_sql(self, value)
    if to == _D.DATE:
        if isinstance(_unparen(value), exp.Parameter):
            # The proxy reads a $n::date parameter itself (DateStyle order, BC, year
            # 10000, infinity) and binds ISO text SQLite's DATE() would turn to NULL.
            return self.sql(expression, "this")
        if isinstance(value, exp.Literal) and value.is_string and value.this.strip().lower() in (
            "infinity", "+infinity", "-infinity"
        ):
            return self.sql(value)
        return f"DATE({self.sql(expression, 'this')})"
    if to in TEXTUAL and not expression.to.expressions and pg_type(value) == _D.BOOLEAN:
        return bool_text_sql(self, value)
    if to in TEXTUAL and not expression.to.expressions and _is_numeric_cast(value):
        return _numeric_text_sql(self, _unparen(value))
    if to in _INTEGER:
        return _integer_cast_sql(self, value)
    if to in _REAL:
        if isinstance(_unparen(value), exp.Parameter):
            # NaN and ±Infinity stay the text the proxy binds them as: CAST reads 0
            return f"pgproxy_float({self.sql(value)})"
        name = "REAL"
    elif to in _NUMERIC:
        name = "NUMERIC"
    elif to in _BLOB:
        name = "BLOB"
    else:
        name = "TEXT"
    return f"CAST({self.sql(expression, 'this')} AS {name})"


def _is_numeric_cast(node: exp.Expr) -> bool:
    node = _unparen(node)
    return isinstance(node, exp.Cast) and node.to.this in (_D.DECIMAL, _D.BIGDECIMAL)


def _numeric_text_sql(self: t.Any, cast: exp.Cast) -> str:
    """`x::numeric[(p,s)]::text` is numeric_out of x rounded to the type's scale
    (pgproxy_numeric_text, backends/sqlite_functions.py): SQLite's NUMERIC affinity turns
    '1.0' into 1 and '0.00001' into 1.0e-05."""
    params = [p.this for p in cast.to.expressions]
    precision = self.sql(params[0]) if params else "NULL"
    scale = self.sql(params[1]) if len(params) > 1 else ("0" if params else "NULL")
    return f"pgproxy_numeric_text({self.sql(cast, 'this')}, {precision}, {scale})"


def _integer_cast_sql(self: t.Any, value: exp.Expr) -> str:
    """PostgreSQL rounds a fraction to the nearest integer (half away from zero for numeric);
    SQLite's CAST truncates. ROUND only what may be REAL: ROUND of a large integer would
    pass through a double and lose digits."""
    sql = self.sql(value)
    kind = pg_type(value)
    if kind in _INTEGER or (isinstance(value, exp.Literal) and value.is_string):
        return f"CAST({sql} AS INTEGER)"  # text that is not an integer is 22P02 in PostgreSQL
    if isinstance(_unparen(value), exp.Parameter):
        # A client's $n::int comes as text or int (a bigint id must not pass through a double);
        # dialects.shapes never lifts a literal into this position.
        return f"CAST({sql} AS INTEGER)"
    if kind in _REAL or kind in _NUMERIC:
        return f"CAST(ROUND({sql}) AS INTEGER)"
    if value.find(exp.Func) is None:  # columns and arithmetic on them: cheap to repeat
        return f"CAST(CASE WHEN TYPEOF({sql}) = 'real' THEN ROUND({sql}) ELSE {sql} END AS INTEGER)"
    return f"CAST({sql} AS INTEGER)"


def _div_sql(self: t.Any, expression: exp.Div) -> str:
    """A numeric or float operand makes PostgreSQL's division exact; SQLite's divides two
    integers as integers, so `2::numeric / 3` needs a REAL on one side. A zero divisor is
    22012 (pgproxy_nonzero), where SQLite answers NULL."""
    if expression.args.get("safe"):
        return _SQLITE_STOCK[exp.Div](self, expression)
    left, right = expression.this, expression.expression
    fractional = _REAL | _NUMERIC
    left_sql = self.sql(left)
    if (pg_type(left) in fractional or pg_type(right) in fractional) and not (
        _is_real(left) or _is_real(right)
    ):
        left_sql = f"CAST({left_sql} AS REAL)"
    return f"{left_sql} / {_divisor_sql(self, right)}"


def _mod_sql(self: t.Any, expression: exp.Mod) -> str:
    return f"{self.sql(expression, 'this')} % {_divisor_sql(self, expression.expression)}"


def _divisor_sql(self: t.Any, divisor: exp.Expr) -> str:
    """The divisor, through pgproxy_nonzero() (backends/sqlite_functions.py) unless it is a
    non-zero number written in the statement."""
    sql = self.sql(divisor)
    value = _unparen(divisor)
    if isinstance(value, exp.Neg):
        value = _unparen(value.this)
    if isinstance(value, exp.Literal) and not value.is_string:
        try:
            if float(value.this) != 0:
                return sql
        except ValueError:
            pass
    return f"pgproxy_nonzero({sql})"


def _is_real(node: exp.Expr) -> bool:
    """Already a REAL in SQLite: a decimal literal or a cast to a float type."""
    node = _unparen(node)
    if isinstance(node, exp.Neg):
        node = _unparen(node.this)
    if isinstance(node, exp.Literal):
        return not node.is_string and not node.this.isdigit()
    return isinstance(node, exp.Cast) and node.to.this in _REAL


def _intdiv_sql(self: t.Any, expression: exp.IntDiv) -> str:
    """div(a, b) truncates toward zero: SQLite's `/` already does for two integers, and CAST
    truncates a REAL quotient (no detour through a double for integers)."""
    divisor = _divisor_sql(self, expression.expression)
    return f"CAST({self.sql(expression, 'this')} / {divisor} AS INTEGER)"


# --- dates and times: SQLite keeps them as ISO text and computes with date()/datetime() -----

_UNITS = {
    "year": "years", "years": "years", "month": "months", "months": "months", "mon": "months",
    "mons": "months", "week": "weeks", "weeks": "weeks", "day": "days", "days": "days",
    "hour": "hours", "hours": "hours", "minute": "minutes", "minutes": "minutes",
    "min": "minutes", "mins": "minutes", "second": "seconds", "seconds": "seconds",
    "sec": "seconds", "secs": "seconds",
}


def _interval_modifiers(interval: exp.Interval, sign: int) -> list[str]:
    """`INTERVAL '1 day 2 hours'` as SQLite date modifiers: ['+1 days', '+2 hours']."""
    value = interval.this
    if not (isinstance(value, exp.Literal) and value.is_string):
        unsupported("sqlite: only a constant INTERVAL can be added to a date or timestamp")
    words = value.this.split()
    unit = interval.args.get("unit")
    if unit is not None:
        words.append(unit.name)
    if not words or len(words) % 2:
        unsupported(f"sqlite: INTERVAL {value.this!r} is not supported (write 'N unit ...')")
    out = []
    for number, name in zip(words[::2], words[1::2], strict=True):
        unit_name = _UNITS.get(name.lower())
        try:
            amount = float(number) * sign
        except ValueError:
            unit_name = None
        if unit_name is None:
            unsupported(f"sqlite: INTERVAL {value.this!r} is not supported (write 'N unit ...')")
        if unit_name == "weeks":
            amount, unit_name = amount * 7, "days"
        text = f"{amount:+g}" if amount != int(amount) else f"{int(amount):+d}"
        out.append(f"'{text} {unit_name}'")
    return out


def _interval_text(interval: exp.Interval) -> str:
    unit = interval.args.get("unit")
    return f"{interval.this.name} {unit.name}" if unit is not None else interval.this.name


def _unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _temporal_sql(self: t.Any, expression: exp.Add | exp.Sub) -> str | None:
    """date ± integer, date - date, date/timestamp ± interval; None when not temporal."""
    sub = isinstance(expression, exp.Sub)
    left, right = expression.this, expression.expression
    lt, rt = pg_type(left), pg_type(right)
    if not sub and (lt in _INTEGER or untyped_operand(left)) and rt == _D.DATE:
        left, right, lt, rt = right, left, rt, lt
    if lt == _D.DATE and rt in _INTEGER:
        days = _unparen(right)
        if isinstance(days, exp.Literal):
            amount = -int(days.this) if sub else int(days.this)
            modifier = f"'{amount:+d} days'"
        else:
            amount_sql = f"-({self.sql(right)})" if sub else self.sql(right)
            modifier = f"PRINTF('%+d days', {amount_sql})"
        return f"DATE({self.sql(left)}, {modifier})"
    if not sub and lt == _D.DATE and untyped_operand(right):
        # date + a column the statement does not type: an integer or an interval, told
        # apart at run time (pgproxy/backends/sqlite_functions.py)
        return f"pgproxy_date_add({self.sql(left)}, {self.sql(right)}, 1)"
    if sub and lt == _D.DATE and rt == _D.DATE:
        return f"CAST(JULIANDAY({self.sql(left)}) - JULIANDAY({self.sql(right)}) AS INTEGER)"
    if not sub and lt == _D.INTERVAL and rt != _D.INTERVAL:
        left, right, lt, rt = right, left, rt, lt
    if rt == _D.INTERVAL and lt != _D.INTERVAL:
        interval = _unparen(right)
        if not isinstance(interval, exp.Interval):
            # a parameter or column: its interval text, added by a registered function
            # (pgproxy/backends/sqlite_functions.py; months clamp to the month's end)
            return (f"pgproxy_timestamp_add({self.sql(left)}, {self.sql(right)}, "
                    f"{-1 if sub else 1})")
        try:
            modifiers = _interval_modifiers(interval, -1 if sub else 1)
        except TranslationError:
            modifiers = []  # '1d 3h', '01:30:00' ...: PostgreSQL's own interval parser reads it
        if not modifiers or any(m.endswith(("months'", "years'")) for m in modifiers):
            # DATETIME's '+1 months' overflows Jan 31 into March; PostgreSQL clamps
            text = _interval_text(interval)
            return (f"pgproxy_timestamp_add({self.sql(left)}, {self.sql(exp.Literal.string(text))}"
                    f", {-1 if sub else 1})")
        return f"DATETIME({self.sql(left)}, {', '.join(modifiers)})"
    return None


def _add_sql(self: t.Any, expression: exp.Add) -> str:
    return _temporal_sql(self, expression) or _SQLITE_STOCK[exp.Add](self, expression)


def _sub_sql(self: t.Any, expression: exp.Sub) -> str:
    return _temporal_sql(self, expression) or _SQLITE_STOCK[exp.Sub](self, expression)


_EXTRACT = {
    "YEAR": "CAST(STRFTIME('%Y', {x}) AS INTEGER)",
    "MONTH": "CAST(STRFTIME('%m', {x}) AS INTEGER)",
    "DAY": "CAST(STRFTIME('%d', {x}) AS INTEGER)",
    "HOUR": "CAST(STRFTIME('%H', {x}) AS INTEGER)",
    "MINUTE": "CAST(STRFTIME('%M', {x}) AS INTEGER)",
    "SECOND": "CAST(STRFTIME('%f', {x}) AS REAL)",
    "DOW": "CAST(STRFTIME('%w', {x}) AS INTEGER)",
    "ISODOW": "((CAST(STRFTIME('%w', {x}) AS INTEGER) + 6) % 7 + 1)",
    "DOY": "CAST(STRFTIME('%j', {x}) AS INTEGER)",
    "QUARTER": "((CAST(STRFTIME('%m', {x}) AS INTEGER) + 2) / 3)",
    "EPOCH": "((JULIANDAY({x}) - 2440587.5) * 86400.0)",
}


def _extract_sql(self: t.Any, expression: exp.Extract) -> str:
    field = expression.this.name.upper()
    template = _EXTRACT.get(field)
    if template is None:
        unsupported(f"sqlite: extract({field.lower()} FROM ...) is not supported")
    return template.format(x=self.sql(expression, "expression"))


_TRUNC = {
    "YEAR": "DATETIME({x}, 'start of year')",
    "QUARTER": "DATETIME({x}, 'start of month', "
    "PRINTF('-%d months', (CAST(STRFTIME('%m', {x}) AS INTEGER) - 1) % 3))",
    "MONTH": "DATETIME({x}, 'start of month')",
    "WEEK": "DATETIME({x}, 'start of day', '-6 days', 'weekday 1')",
    "DAY": "DATETIME({x}, 'start of day')",
    "HOUR": "STRFTIME('%Y-%m-%d %H:00:00', {x})",
    "MINUTE": "STRFTIME('%Y-%m-%d %H:%M:00', {x})",
    "SECOND": "DATETIME({x})",
}


def _timestamp_trunc_sql(self: t.Any, expression: exp.TimestampTrunc) -> str:
    unit = expression.args.get("unit")
    template = _TRUNC.get(unit.name.upper() if unit is not None else "")
    if template is None:
        unsupported("sqlite: date_trunc() takes a constant year, quarter, month, week, day, "
                    "hour, minute or second here")
    return template.format(x=self.sql(expression, "this"))


def _left_sql(self: t.Any, expression: exp.Left) -> str:
    """left(s, n): the first n characters; a negative n drops the last -n (PostgreSQL)."""
    s, n = self.sql(expression, "this"), expression.expression
    count = _unparen(n)
    if isinstance(count, exp.Literal) and count.this.isdigit():
        return f"SUBSTR({s}, 1, {count.this})"
    n_sql = self.sql(n)
    return (f"SUBSTR({s}, 1, CASE WHEN {n_sql} >= 0 THEN {n_sql} "
            f"ELSE MAX(LENGTH({s}) + {n_sql}, 0) END)")


def _right_sql(self: t.Any, expression: exp.Right) -> str:
    """right(s, n): the last n characters; a negative n drops the first -n (PostgreSQL)."""
    s, n = self.sql(expression, "this"), expression.expression
    count = _unparen(n)
    if isinstance(count, exp.Literal) and count.this.isdigit():
        return f"SUBSTR({s}, MAX(LENGTH({s}) - {count.this} + 1, 1))"
    n_sql = self.sql(n)
    return (f"SUBSTR({s}, CASE WHEN {n_sql} >= 0 THEN MAX(LENGTH({s}) - {n_sql} + 1, 1) "
            f"ELSE 1 - {n_sql} END)")


def _datatype_sql(self: t.Any, expression: exp.DataType) -> str:
    column = expression.parent
    if isinstance(column, exp.ColumnDef):
        return expression.sql("postgres")
    return _SQLITE_STOCK[exp.DataType](self, expression)


def _no_locking(expression: exp.Expr) -> exp.Expr:
    """SQLite has one writer at a time: FOR UPDATE/SHARE has nothing to add, so it is dropped."""
    for lock in list(expression.find_all(exp.Lock)):
        lock.pop()
    return expression


def _default_sql(self: t.Any, expression: exp.DefaultColumnConstraint) -> str:
    """SQLite takes an expression as a column default only in parentheses."""
    value = expression.this
    sql = self.sql(value)
    if isinstance(value, (exp.Literal, exp.Null, exp.Boolean, exp.Paren)) or (
        isinstance(value, exp.Neg) and isinstance(value.this, exp.Literal)
    ) or sql.upper() in ("CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME"):
        return f"DEFAULT {sql}"
    return f"DEFAULT ({sql})"


_COMPARISONS = (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE)


def _interval_comparisons(expression: exp.Expr) -> exp.Expr:
    """An interval is its text here; compared with an interval constant, both sides become
    the number PostgreSQL compares intervals by (pgproxy_interval_value,
    backends/sqlite_functions.py): '1 day' = '24 hours' holds."""
    for node in list(expression.find_all(*_COMPARISONS)):
        sides = (node.this, node.expression)
        if any(_is_interval_constant(side) for side in sides):
            for key in ("this", "expression"):
                value = node.args[key]
                node.set(key, exp.Anonymous(this="pgproxy_interval_value", expressions=[value]))
    return expression


def _is_interval_constant(node: exp.Expr) -> bool:
    """An interval constant as dialects/functions.py binds it: the session value
    `interval:<text>`."""
    node = _unparen(node)
    return isinstance(node, exp.Parameter) and node.name.startswith("session:interval:")


def _big_integers(expression: exp.Expr) -> exp.Expr:
    """An integer constant past int8 is numeric in PostgreSQL; SQLite reads it as a REAL of 17
    digits. As a result column it is its text, which the numeric column reads back exactly;
    its minus signs are folded in first, as PostgreSQL does (-9223372036854775808 is int8)."""
    for literal in list(expression.find_all(exp.Literal)):
        if literal.is_string or not literal.this.isdigit() or int(literal.this) <= _INT8_MAX:
            continue
        node = literal
        while isinstance(node.parent, (exp.Neg, exp.Paren)):
            node = node.parent
        value = signed_integer(node)
        if value is None:
            continue
        if -_INT8_MAX - 1 <= value <= _INT8_MAX:
            node.replace(exp.Literal.number(value))
        elif isinstance(node.parent, (exp.Alias, exp.Select)):
            node.replace(exp.Literal.string(str(value)))
    return expression


def _float_precision(expression: exp.Expr) -> exp.Expr:
    """float(p) is PostgreSQL's real for p <= 24 and double precision above."""
    if isinstance(expression, (exp.Create, exp.Alter)):
        for kind in expression.find_all(exp.DataType):
            if kind.this in (_D.FLOAT, _D.DOUBLE) and kind.expressions:
                p = int(kind.expressions[0].name)
                kind.replace(exp.DataType.build("REAL" if p <= 24 else "DOUBLE PRECISION"))
    return expression


def _returning_unqualified(expression: exp.Expr) -> exp.Expr:
    """SQLite's RETURNING takes the modified table's columns unqualified only (`RETURNING
    t.id` is "no such column")."""
    returning = expression.args.get("returning")
    if returning is None or not isinstance(expression, (exp.Insert, exp.Update, exp.Delete)):
        return expression
    table = expression.this.this if isinstance(expression.this, exp.Schema) else expression.this
    if not isinstance(table, exp.Table):
        return expression
    names = {table.name.lower(), table.alias_or_name.lower()}
    for column in returning.find_all(exp.Column):
        if column.table and column.table.lower() in names and not column.args.get("db"):
            column.set("table", None)
    return expression


_SQLITE_STOCK = stock(SQLiteGenerator)


class PgProxySQLite(_SQLite, PgProxyBackend):
    BACKEND = "sqlite"
    RETURNING = (exp.Insert, exp.Update, exp.Delete)  # SQLite 3.35+
    PREPROCESS = (regex.similar_to, jsonops.json_operators, valuesdefault.values_default,
                  *COMMON, records.records, usertypes.as_text, *arrays.PREPROCESS,
                  _float_precision, _big_integers, _interval_comparisons, strip_regclass,
                  _no_locking, _default_escape, _returning_unqualified)
    TRANSFORMS = {
        **_SQLITE_STOCK,
        exp.Anonymous: anonymous_sql(arrays.SPELLINGS["sqlite"], _SQLITE_STOCK[exp.Anonymous]),
        exp.Array: arrays.array_sql("sqlite"),
        exp.Parameter: parameter_sql,
        exp.Like: _like_sql,
        exp.Escape: _escape_sql,
        exp.Cast: _cast_sql,
        exp.DataType: _datatype_sql,
        exp.Div: _div_sql,
        exp.IntDiv: _intdiv_sql,
        exp.Mod: _mod_sql,
        exp.Chr: lambda self, e: f"chr({self.expressions(e, flat=True)})",  # sqlite_functions.py
        exp.Add: _add_sql,
        exp.Sub: _sub_sql,
        exp.Extract: _extract_sql,
        exp.TimestampTrunc: _timestamp_trunc_sql,
        exp.Left: _left_sql,
        exp.Right: _right_sql,
        exp.DefaultColumnConstraint: _default_sql,
        exp.RegexpLike: regex.sqlite_regexp_sql,
        exp.RegexpILike: regex.sqlite_regexp_sql,
        **jsonops.SQLITE_TRANSFORMS,
        exp.AtTimeZone: zones.sqlite_sql,
    }
