"""The PostgreSQL type of an expression, judged from the statement's text alone.

Literals, casts, typed literals (`DATE '…'`, `INTERVAL '…'`), predicates and
the arithmetic and functions over them. There is no schema here, so a column's
type is unknown (None), and so is anything built on one that the operators
below cannot settle. Backend rules use it to pick a spelling (`date + 1`, a
boolean cast to text, a numeric division on SQLite); `classify.projection_types`
uses it to report result column types the backend cannot.
"""

from __future__ import annotations

from sqlglot import exp

D = exp.DType
INTEGERS = frozenset({D.TINYINT, D.SMALLINT, D.INT, D.BIGINT, D.MEDIUMINT})
# Types whose division is not integer division in PostgreSQL.
FRACTIONAL = frozenset({D.DECIMAL, D.BIGDECIMAL, D.FLOAT, D.DOUBLE, D.MONEY})
TEXTUAL = frozenset({D.TEXT, D.VARCHAR, D.NVARCHAR})
TEMPORAL = frozenset({D.DATE, D.TIMESTAMP, D.TIMESTAMPTZ, D.DATETIME})
TIMESTAMPS = frozenset({D.TIMESTAMP, D.TIMESTAMPTZ, D.DATETIME})

BOOLEAN_CLASSES: tuple[type[exp.Expr], ...] = (
    exp.Predicate,
    exp.And,
    exp.Or,
    exp.Not,
    exp.Boolean,
    exp.Exists,
    exp.LogicalAnd,  # bool_and
    exp.LogicalOr,  # bool_or
)
_INT4_MAX = 2**31 - 1
_INT8_MAX = 2**63 - 1


def pg_type(node: exp.Expr | None) -> exp.DType | None:
    """The expression's PostgreSQL type when the text fixes it, else None."""
    while isinstance(node, exp.Paren):
        node = node.this
    if node is None:
        return None
    if isinstance(node, exp.Cast):
        return node.to.this if isinstance(node.to, exp.DataType) else None
    if isinstance(node, BOOLEAN_CLASSES):
        return D.BOOLEAN
    if isinstance(node, exp.Literal):
        if node.is_string:
            return None  # an unknown-type literal: its context decides
        if node.this.isdigit():
            return _integer_type(int(node.this))
        return D.DECIMAL
    if isinstance(node, exp.Neg):
        value = signed_integer(node)
        if value is not None:
            return _integer_type(value)
        inner = pg_type(node.this)
        return inner if inner in INTEGERS or inner in FRACTIONAL else None
    if isinstance(node, exp.Interval):
        return D.INTERVAL
    if isinstance(node, exp.CurrentDate):
        return D.DATE
    if isinstance(node, exp.CurrentTimestamp):
        return D.TIMESTAMPTZ
    if isinstance(node, (exp.Add, exp.Sub)):
        return _additive(node)
    if isinstance(node, (exp.Mul, exp.Mod, exp.Div, exp.IntDiv)):
        return _numeric(pg_type(node.this), pg_type(node.expression))
    if isinstance(node, exp.TimestampTrunc):
        return D.TIMESTAMP if pg_type(node.this) in (D.TIMESTAMP, D.DATETIME) else (
            D.TIMESTAMPTZ if pg_type(node.this) in (D.TIMESTAMPTZ, D.DATE) else None
        )
    if isinstance(node, exp.Extract):
        return D.DECIMAL  # PostgreSQL 14+
    if isinstance(node, exp.Count):
        return D.BIGINT
    if isinstance(node, exp.AtTimeZone):  # timestamptz <-> timestamp
        inner = pg_type(node.this)
        if inner == D.TIMESTAMPTZ:
            return D.TIMESTAMP
        return D.TIMESTAMPTZ if inner in (D.TIMESTAMP, D.DATETIME) else None
    return None


def untyped_operand(node: exp.Expr) -> bool:
    """A column or an uncast $n: its type is the table's or the client's, which the
    statement's text does not tell."""
    while isinstance(node, exp.Paren):
        node = node.this
    return isinstance(node, (exp.Column, exp.Parameter))


def signed_integer(node: exp.Expr) -> int | None:
    """The value of an integer literal under any number of minus signs (-9223372036854775808),
    which PostgreSQL folds into the constant before typing it; else None."""
    negative = False
    while isinstance(node, (exp.Neg, exp.Paren)):
        negative ^= isinstance(node, exp.Neg)
        node = node.this
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():
        return -int(node.this) if negative else int(node.this)
    return None


def _integer_type(value: int) -> exp.DType:
    """int4, int8 or numeric, by the range the constant fits, as PostgreSQL types it."""
    if -_INT4_MAX - 1 <= value <= _INT4_MAX:
        return D.INT
    return D.BIGINT if -_INT8_MAX - 1 <= value <= _INT8_MAX else D.DECIMAL


def _numeric(left: exp.DType | None, right: exp.DType | None) -> exp.DType | None:
    if left is None or right is None:
        return None
    if left in INTEGERS and right in INTEGERS:
        return D.BIGINT if D.BIGINT in (left, right) else D.INT
    if {left, right} <= INTEGERS | {D.DECIMAL, D.BIGDECIMAL}:
        return D.DECIMAL
    if {left, right} <= INTEGERS | FRACTIONAL:
        return D.DOUBLE
    return None


def _additive(node: exp.Add | exp.Sub) -> exp.DType | None:
    left, right = pg_type(node.this), pg_type(node.expression)
    sub = isinstance(node, exp.Sub)
    if left == D.DATE and right in INTEGERS:
        return D.DATE  # date ± integer
    if not sub and right == D.DATE and left in INTEGERS:
        return D.DATE
    if not sub and D.DATE in (left, right) and (
        untyped_operand(node.this) or untyped_operand(node.expression)
    ):
        return D.DATE  # date + a column or $n: an integer far more often than an interval
    if sub and left == D.DATE and right == D.DATE:
        return D.INT  # days between
    if left in TEMPORAL and right == D.INTERVAL:
        return D.TIMESTAMPTZ if left == D.TIMESTAMPTZ else D.TIMESTAMP
    if not sub and left == D.INTERVAL and right in TEMPORAL:
        return D.TIMESTAMPTZ if right == D.TIMESTAMPTZ else D.TIMESTAMP
    if sub and left in TIMESTAMPS and right in TIMESTAMPS:
        return D.INTERVAL
    return _numeric(left, right)


def is_boolean(node: exp.Expr) -> bool:
    return pg_type(node) == D.BOOLEAN


def is_integer(node: exp.Expr) -> bool:
    return pg_type(node) in INTEGERS


def is_fractional(node: exp.Expr) -> bool:
    return pg_type(node) in FRACTIONAL
