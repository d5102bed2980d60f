"""Casts to types only the backend's catalog knows (enums), by name.

Which names are enums, and their OIDs, only the proxy's catalog can say, so a
statement carries the names: the result columns and `$n` parameters cast to a
user-defined type (`'x'::mood`, `$1::mood[]`), for the proxy to type by OID.
The backend stores an enum as its label (README, "Types"), so the cast itself
becomes a cast to text, and an array of them a text[] (a JSON array of labels).
"""

from __future__ import annotations

from sqlglot import exp

D = exp.DType


def type_name(datatype: exp.Expr | None) -> str | None:
    """'mood' for a user-defined type, 'mood[]' for an array of one; None for any other.

    A schema before the name is dropped (objects live in one namespace here), an
    unquoted name folds to lower case as PostgreSQL folds it."""
    if not isinstance(datatype, exp.DataType):
        return None
    if datatype.this == D.ARRAY:
        inner = type_name(datatype.expressions[0]) if datatype.expressions else None
        return None if inner is None or inner.endswith("[]") else f"{inner}[]"
    if datatype.this != D.USERDEFINED:
        return None
    name = datatype.args.get("kind")
    if isinstance(name, exp.Dot):
        name = name.expression
    if isinstance(name, str):  # DataType.build(…, udt=True) keeps the name as written
        return name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()
    if not isinstance(name, exp.Identifier):
        return None
    return name.this if name.quoted else name.this.lower()


def result_names(expression: exp.Expr | None) -> tuple[tuple[int, str], ...]:
    """(position, type name) of each result column that is a cast to a user-defined type."""
    if not isinstance(expression, exp.Select):
        return ()
    out = []
    for position, node in enumerate(expression.expressions):
        while isinstance(node, (exp.Alias, exp.Paren)):
            node = node.this
        if isinstance(node, exp.Cast) and (name := type_name(node.to)):
            out.append((position, name))
        elif isinstance(node, exp.Array) and node.expressions:
            # ARRAY[x::t, …] is t[] (the first element's type decides, as PostgreSQL's)
            first = node.expressions[0]
            name = type_name(first.to) if isinstance(first, exp.Cast) else None
            if name and not name.endswith("[]"):
                out.append((position, f"{name}[]"))
    return tuple(out)


def param_names(expression: exp.Expr | None) -> tuple[tuple[int, str], ...]:
    """(0-based index, type name) of each `$n` cast to a user-defined type."""
    if expression is None:
        return ()
    out: dict[int, str] = {}
    for node in expression.find_all(exp.Cast):
        value = node.this
        while isinstance(value, exp.Paren):
            value = value.this
        if not isinstance(value, exp.Parameter):
            continue
        number = value.this
        name = type_name(node.to)
        if name and isinstance(number, exp.Literal) and number.this.isdigit():
            out.setdefault(int(number.this) - 1, name)
    return tuple(sorted(out.items()))


def as_text(tree: exp.Expr) -> exp.Expr:
    """Casts to a user-defined type become casts to text (an array of one, to text[])."""
    for cast in tree.find_all(exp.Cast):
        to = cast.to
        if type_name(to) is None:
            continue
        text = exp.DataType(this=D.TEXT)
        cast.set(
            "to",
            exp.DataType(this=D.ARRAY, expressions=[text], nested=True)
            if to.this == D.ARRAY
            else text,
        )
    return tree
