"""Row values as a result: `ROW(1, 'a b')` (and `(1, 'a b')` as a result column) is a
record, which SQLite and MySQL do not have; the backend builds its text form instead,
`(1,"a b")`, as PostgreSQL's record_out writes it. In a comparison (`ROW(a, b) = (1, 2)`,
`(a, b) IN (…)`) a row stays a row: the backends compare those themselves. The proxy
types such a column record (2249), and its binary form carries each field in the type
the statement gives it (`field_types`; text where the statement does not say).
"""

from __future__ import annotations

from sqlglot import exp

from dialects.exprtypes import is_boolean
from dialects.typeoids import expr_oid

# A field is quoted when it is empty or holds one of these (record_out: `"\(),` or space).
_SPECIAL = ('"', "\\", "(", ")", ",", " ", "\t", "\n", "\r", "\v", "\f")
_COMPARISONS = (exp.Predicate, exp.In)


def is_row(node: exp.Expr) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() == "row"


def record_projection(node: exp.Expr) -> exp.Expr | None:
    """The ROW(…) or parenthesised list of values a result column is, if it is one."""
    while isinstance(node, (exp.Alias, exp.Paren)):
        node = node.this
    return node if is_row(node) or isinstance(node, exp.Tuple) else None


_UNKNOWN = 705  # a string literal's (or NULL's) type in a row, as PostgreSQL keeps it
_TEXT = 25


def _field_oid(value: exp.Expr) -> int:
    if isinstance(value, exp.Null) or (isinstance(value, exp.Literal) and value.is_string):
        return _UNKNOWN
    if is_boolean(value):
        return 16
    return expr_oid(value) or _TEXT  # what the text form holds when the type is not known


def field_types(expression: exp.Expr | None) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """(position, field type OIDs) of each result column that is an anonymous record, for
    its binary form (record_send sends each field in its own type)."""
    if not isinstance(expression, exp.Select):
        return ()
    out = []
    for position, projection in enumerate(expression.expressions):
        if (node := record_projection(projection)) is not None:
            out.append((position, tuple(_field_oid(v) for v in node.expressions)))
    return tuple(out)


def _text(value: exp.Expr) -> exp.Expr:
    if is_boolean(value):  # boolout's t/f, where a cast to text says true/false
        return exp.Case(
            ifs=[
                exp.If(this=value.copy(), true=exp.Literal.string("t")),
                exp.If(this=exp.Not(this=value.copy()), true=exp.Literal.string("f")),
            ]
        )
    return exp.Cast(this=value.copy(), to=exp.DataType(this=exp.DType.TEXT))


def _replace(value: exp.Expr, old: str, new: str) -> exp.Expr:
    return exp.Anonymous(
        this="REPLACE", expressions=[value, exp.Literal.string(old), exp.Literal.string(new)]
    )


def _field(value: exp.Expr) -> exp.Expr:
    """One field's text in a record: nothing for NULL, double-quoted where it must be."""
    if isinstance(value, exp.Null):
        return exp.Literal.string("")
    text = _text(value)
    quoted = exp.Concat(
        expressions=[
            exp.Literal.string('"'),
            _replace(_replace(text.copy(), "\\", "\\\\"), '"', '""'),
            exp.Literal.string('"'),
        ]
    )
    special: exp.Expr = exp.EQ(this=text.copy(), expression=exp.Literal.string(""))
    for char in _SPECIAL:
        found = exp.StrPosition(this=text.copy(), substr=exp.Literal.string(char))
        special = exp.or_(special, exp.GT(this=found, expression=exp.Literal.number(0)))
    return exp.Case(
        ifs=[
            exp.If(
                this=exp.Is(this=text.copy(), expression=exp.Null()), true=exp.Literal.string("")
            ),
            exp.If(this=special, true=quoted),
        ],
        default=text,
    )


def record_text(values: list[exp.Expr]) -> exp.Expr:
    """The expression that builds `(f1,f2,…)` from the row's values."""
    parts: list[exp.Expr] = [exp.Literal.string("(")]
    for i, value in enumerate(values):
        if i:
            parts.append(exp.Literal.string(","))
        parts.append(_field(value))
    parts.append(exp.Literal.string(")"))
    return exp.Concat(expressions=parts, safe=True, coalesce=False)


def _compared(node: exp.Expr) -> bool:
    parent = node.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    return isinstance(parent, _COMPARISONS)


def _field_of_parameter(node: exp.Dot) -> exp.Expr | None:
    """`($n).field`: a value only the proxy can take apart (it knows $n's composite type),
    bound by the key `field:<n-1>:<field>` (pgproxy/params.py)."""
    inner = node.this.this if isinstance(node.this, exp.Paren) else None
    field = node.expression
    if not (isinstance(inner, exp.Parameter) and isinstance(field, exp.Identifier)):
        return None
    number = inner.this
    if not (isinstance(number, exp.Literal) and number.this.isdigit()):
        return None
    name = field.this if field.quoted else field.this.lower()
    return exp.Parameter(this=exp.var(f"session:field:{int(number.this) - 1}:{name}"))


def records(tree: exp.Expr) -> exp.Expr:
    """ROW(…) outside comparisons, and a list of values as a result column, as record text;
    a field of a composite parameter as the field's value."""
    for dot in list(tree.find_all(exp.Dot)):
        replaced = _field_of_parameter(dot)
        if replaced is not None:
            dot.replace(replaced)
    if isinstance(tree, exp.Select):
        for projection in tree.expressions:
            node = projection.this if isinstance(projection, exp.Alias) else projection
            if isinstance(node, exp.Tuple):
                node.replace(record_text(list(node.expressions)))
    for node in reversed(list(tree.find_all(exp.Anonymous))):  # inner rows first
        if not is_row(node):
            continue
        if _compared(node):  # SQLite has no ROW(): a row value is a parenthesised list
            node.replace(exp.Tuple(expressions=list(node.expressions)))
        else:
            node.replace(record_text(list(node.expressions)))
    return tree
