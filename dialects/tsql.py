"""PostgreSQL to SQL Server's T-SQL, closing the semantic gaps translation can close.

Booleans are BIT (`WHERE flag` is `flag = 1`), `||` keeps PostgreSQL's NULL
result and text coercion, ILIKE compares under a case-insensitive collation
(tables made through the proxy get a case-sensitive one, as PostgreSQL
compares text), RETURNING is OUTPUT INSERTED/DELETED, ON CONFLICT is MERGE
(dialects/tsql_merge.py), PostgreSQL's types get SQL Server's nearest, and
time travel is `FOR SYSTEM_TIME AS OF` on temporal tables. sqlglot's TSQL
generator already spells LIMIT/OFFSET as TOP or OFFSET … FETCH (with ORDER BY
(SELECT NULL) when there is no order), PostgreSQL's NULL ordering, STRING_AGG
and integer division (T-SQL's int / int truncates as PostgreSQL's does).
"""

from __future__ import annotations

import re
import typing as t

from sqlglot import exp
from sqlglot.dialects.tsql import TSQL as _TSQL
from sqlglot.generators.tsql import TSQLGenerator

from dialects import ordering, tsql_time
from dialects.api import Generated, Kind, TranslationError
from dialects.base import (
    COMMON,
    PgProxyBackend,
    aggregate_filter,
    anonymous_sql,
    fix_column_defs,
    parameter_sql,
    stock,
    unsupported,
)
from dialects.exprtypes import INTEGERS, TEMPORAL, pg_type
from dialects.tsql_merge import on_conflict_sql
from dialects.tsql_reserved import RESERVED

_D = exp.DType
# PostgreSQL compares text case- and accent-sensitively; ILIKE does neither.
CASE_SENSITIVE = "Latin1_General_100_CS_AS_SC"
CASE_INSENSITIVE = "Latin1_General_100_CI_AS_SC"
# The longest NVARCHAR an index key takes (900 bytes): a text key column's type.
_KEY_NVARCHAR = "NVARCHAR(450)"
_SERIAL = {_D.SERIAL: "INT", _D.BIGSERIAL: "BIGINT", _D.SMALLSERIAL: "SMALLINT"}
_TEXTUAL = {_D.TEXT, _D.VARCHAR, _D.NVARCHAR, _D.CHAR, _D.NCHAR, _D.BPCHAR, _D.NAME}
# PostgreSQL types and SQL Server's nearest with the same range and precision.
_TYPES: dict[exp.DType, str] = {
    _D.TEXT: "NVARCHAR(MAX)",
    _D.NAME: "NVARCHAR(64)",
    _D.VARBINARY: "VARBINARY(MAX)",
    _D.BINARY: "VARBINARY(MAX)",
    _D.JSON: "NVARCHAR(MAX)",
    _D.JSONB: "NVARCHAR(MAX)",
    _D.UUID: "UNIQUEIDENTIFIER",
    _D.BOOLEAN: "BIT",
    _D.TIMESTAMP: "DATETIME2(6)",
    _D.TIMESTAMPTZ: "DATETIMEOFFSET(6)",
    _D.TIME: "TIME(6)",
    _D.DOUBLE: "FLOAT",
    _D.FLOAT: "REAL",
    _D.DECIMAL: "DECIMAL(38, 10)",
    _D.INT: "INT",
}


def datatype_sql(self: t.Any, expression: exp.DataType) -> str:
    """A PostgreSQL type as SQL Server spells it, in casts and DDL alike."""
    kind, args = expression.this, expression.expressions
    if kind in (_D.VARCHAR, _D.NVARCHAR):
        return f"NVARCHAR({self.sql(args[0]) if args else 'MAX'})"
    if kind in (_D.CHAR, _D.NCHAR, _D.BPCHAR):
        return f"NCHAR({self.sql(args[0]) if args else 1})"
    if kind in (_D.TIMESTAMP, _D.TIMESTAMPTZ, _D.TIME) and args:
        name = _TYPES[kind].split("(")[0]
        return f"{name}({self.sql(args[0])})"
    if kind == _D.DECIMAL and args:
        return f"DECIMAL({self.expressions(expression, flat=True)})"
    if kind in (_D.ARRAY, _D.INTERVAL, _D.INET):
        unsupported(f"tsql: SQL Server has no {expression.sql('postgres')} type")
    spelled = _TYPES.get(kind)
    return spelled if spelled is not None else _STOCK[exp.DataType](self, expression)


# --- booleans -----------------------------------------------------------------------------

_PREDICATES = (exp.Predicate, exp.Connector, exp.Not, exp.Exists, exp.Boolean, exp.Paren,
               exp.Escape)


def _as_predicate(node: exp.Expr) -> exp.Expr:
    """A BIT value where T-SQL wants a predicate: `flag` -> `flag = 1`."""
    if isinstance(node, exp.Paren):
        node.set("this", _as_predicate(node.this))
        return node
    if isinstance(node, exp.Connector):
        node.set("this", _as_predicate(node.this))
        node.set("expression", _as_predicate(node.expression))
        return node
    if isinstance(node, exp.Not):
        inner = node.this.unnest() if isinstance(node.this, exp.Paren) else node.this
        if not isinstance(inner, _PREDICATES):
            return exp.EQ(this=inner, expression=exp.Literal.number(0))  # NOT flag
        node.set("this", _as_predicate(node.this))
        return node
    if isinstance(node, _PREDICATES):
        return node
    return exp.EQ(this=node, expression=exp.Literal.number(1))


def bit_predicates(expression: exp.Expr) -> exp.Expr:
    """WHERE / HAVING / ON / CASE WHEN conditions that are BIT values compare with 1."""
    for node in list(expression.find_all(exp.Where, exp.Having, exp.Join, exp.If)):
        if isinstance(node, exp.If) and isinstance(node.parent, exp.Case) and node.parent.this:
            continue  # CASE v WHEN 5: a value to compare, not a condition
        key = "on" if isinstance(node, exp.Join) else "this"
        cond = node.args.get(key)
        if cond is not None:
            node.set(key, _as_predicate(cond))
    return expression


def _as_bit(node: exp.Expr) -> exp.Expr:
    """A predicate where T-SQL wants a value: PostgreSQL's true / false / NULL as 1 / 0 / NULL."""
    return exp.Case(ifs=[
        exp.If(this=node.copy(), true=exp.Literal.number(1)),
        exp.If(this=exp.Not(this=exp.Paren(this=node.copy())), false=None,
               true=exp.Literal.number(0)),
    ])


def _is_predicate(node: exp.Expr) -> bool:
    return isinstance(node, _PREDICATES) and not isinstance(node, (exp.Boolean, exp.Paren))


def predicate_values(expression: exp.Expr) -> exp.Expr:
    """`SELECT a > 1`, `VALUES (a = b)`, `SET f = a IS NULL`: a predicate as a BIT value."""
    slots: list[exp.Expr] = []
    for select in expression.find_all(exp.Select):
        slots.extend(select.expressions)
    for values in expression.find_all(exp.Values):
        for row in values.expressions:
            slots.extend(row.expressions if isinstance(row, exp.Tuple) else [row])
    for update in expression.find_all(exp.Update):
        slots.extend(s.expression for s in update.expressions if isinstance(s, exp.EQ))
    for slot in slots:
        node = slot.this if isinstance(slot, exp.Alias) else slot
        inner = node.unnest() if isinstance(node, exp.Paren) else node
        if _is_predicate(inner):
            node.replace(_as_bit(inner))
    return expression


def _is_sql(self: t.Any, expression: exp.Is) -> str:
    """`x IS [NOT] TRUE / FALSE` is never NULL in PostgreSQL, so `NOT (x IS TRUE)` keeps a
    NULL x: a NULL counts as the other value (T-SQL's `x = 1` would be NULL)."""
    wanted = expression.expression
    if not isinstance(wanted, exp.Boolean):
        return _STOCK[exp.Is](self, expression)
    value = expression.this.unnest() if isinstance(expression.this, exp.Paren) else expression.this
    bit = _as_bit(value) if _is_predicate(value) else value
    want = 1 if wanted.this else 0
    verb = "<>" if expression.args.get("negate") else "="
    return f"ISNULL({self.sql(bit)}, {1 - want}) {verb} {want}"


# PostgreSQL's spellings of a boolean (any case, blanks around them ignored)
_BOOLEAN_TEXT = {**dict.fromkeys(("t", "true", "y", "yes", "on", "1"), 1),
                 **dict.fromkeys(("f", "false", "n", "no", "off", "0"), 0)}


def _cast_sql(self: t.Any, expression: exp.Cast) -> str:
    """A numeric cast to an integer rounds half away from zero in PostgreSQL; T-SQL's
    truncates, so the value is rounded first. A text constant cast to boolean is read
    as PostgreSQL reads it ('yes', 'f' …): BIT takes only '1', '0', 'true', 'false'; a
    boolean cast to text is 'true' / 'false', not '1' / '0'."""
    to = expression.to
    value = expression.this
    if (isinstance(to, exp.DataType) and to.this == _D.BOOLEAN
            and isinstance(value, exp.Literal) and value.is_string):
        bit = _BOOLEAN_TEXT.get(value.this.strip().lower())
        if bit is None:
            raise TranslationError(
                f'invalid input syntax for type boolean: "{value.this}"', "22P02")
        return f"CAST({bit} AS BIT)"
    if isinstance(to, exp.DataType) and to.this in _TEXTUAL and pg_type(value) == _D.BOOLEAN:
        inner = value.unnest() if isinstance(value, exp.Paren) else value
        bit = self.sql(_as_bit(inner) if _is_predicate(inner) else inner)
        return f"CASE WHEN {bit} = 1 THEN 'true' WHEN {bit} = 0 THEN 'false' END"
    if (isinstance(to, exp.DataType) and to.this in INTEGERS
            and pg_type(expression.this) == _D.DECIMAL):
        rounded = exp.Anonymous(this="ROUND", expressions=[
            expression.this.copy(), exp.Literal.number(0)])
        return _STOCK[exp.Cast](self, exp.Cast(this=rounded, to=to.copy()))
    return _STOCK[exp.Cast](self, expression)


def _logical_sql(self: t.Any, expression: exp.LogicalAnd | exp.LogicalOr) -> str:
    """bool_and / bool_or: MIN / MAX of the values as 1 / 0 (NULLs skipped, as PostgreSQL)."""
    verb = "MIN" if isinstance(expression, exp.LogicalAnd) else "MAX"
    return f"{verb}({self.sql(_as_bit(_as_predicate(expression.this.copy())))})"


def _boolean_sql(self: t.Any, expression: exp.Boolean) -> str:
    if isinstance(expression.parent, (exp.Connector, exp.Not, exp.Where, exp.Having, exp.If)):
        return "(1 = 1)" if expression.this else "(1 = 0)"
    return "1" if expression.this else "0"


# --- text ---------------------------------------------------------------------------------


def _text_operand(self: t.Any, node: exp.Expr) -> str:
    if isinstance(node, exp.Literal) and node.is_string:
        return self.sql(node)
    return f"CAST({self.sql(node)} AS NVARCHAR(MAX))"


def _dpipe_sql(self: t.Any, expression: exp.DPipe) -> str:
    """`a || b`: `+` keeps PostgreSQL's NULL result (CONCAT would read NULL as ''), and each
    operand is text first, as PostgreSQL's || coerces it (T-SQL's + would add numbers)."""
    return "(" + " + ".join(_text_operand(self, part) for part in expression.flatten()) + ")"


def _literal_sql(self: t.Any, expression: exp.Literal) -> str:
    """A string constant outside Latin-1's range is N'…', or SQL Server reads it as '?'."""
    sql = _STOCK[exp.Literal](self, expression)
    if expression.is_string and any(ord(c) > 127 for c in expression.this):
        return "N" + sql
    return sql


def _pattern_sql(self: t.Any, pattern: exp.Expr) -> str:
    """A LIKE pattern with PostgreSQL's meaning: T-SQL reads `[` as a character class."""
    if isinstance(pattern, exp.Literal) and pattern.is_string:
        text = re.sub(r"(?<!\\)\[", "[[]", pattern.this)
        return self.sql(exp.Literal.string(text))
    return f"REPLACE({self.sql(pattern)}, '[', '[[]')"


def _like(self: t.Any, expression: exp.Like | exp.ILike, escape: exp.Expr | None) -> str:
    """`x [NOT] LIKE p ESCAPE '\\'`: backslash escapes by default in PostgreSQL, in T-SQL
    only when told; ILIKE compares under a case-insensitive collation."""
    left = self.sql(expression, "this")
    if isinstance(expression, exp.ILike):
        left = f"{left} COLLATE {self.dialect.CASE_INSENSITIVE}"
    verb = "NOT LIKE" if expression.args.get("negate") else "LIKE"
    esc = self.sql(escape) if escape is not None else "'\\'"
    return f"{left} {verb} {_pattern_sql(self, expression.expression)} ESCAPE {esc}"


def _like_sql(self: t.Any, expression: exp.Like | exp.ILike) -> str:
    return _like(self, expression, expression.args.get("escape"))


def _escape_sql(self: t.Any, expression: exp.Escape) -> str:
    if isinstance(expression.this, (exp.Like, exp.ILike)):
        return _like(self, expression.this, expression.expression)
    return _STOCK[exp.Escape](self, expression)


def set_operation_positions(expression: exp.Expr) -> exp.Expr:
    """`… UNION … ORDER BY 2`: the position as the first query's column name, which T-SQL's
    ORDER BY of a set operation takes (the NULL ordering PostgreSQL wants needs a name)."""
    for union in expression.find_all(exp.SetOperation):
        order = union.args.get("order")
        first = union.this
        while isinstance(first, exp.SetOperation):
            first = first.this
        if order is None or not isinstance(first, exp.Select):
            continue
        items = first.expressions
        for ordered in order.expressions:
            key = ordered.this
            if not (isinstance(key, exp.Literal) and key.is_int
                    and 1 <= int(key.this) <= len(items)):
                continue
            item = items[int(key.this) - 1]
            name = item.alias_or_name
            if name and not isinstance(item, exp.Star):
                ordered.set("this", exp.column(exp.to_identifier(name, quoted=True)))
    return expression


# --- RETURNING ----------------------------------------------------------------------------


def output_returning(expression: exp.Expr) -> exp.Expr:
    """RETURNING's columns name the row written: INSERTED.x (INSERT, UPDATE) or DELETED.x."""
    returning = expression.args.get("returning")
    if returning is None or not isinstance(expression, (exp.Insert, exp.Update, exp.Delete)):
        return expression
    row = "DELETED" if isinstance(expression, exp.Delete) else "INSERTED"
    pseudo = exp.to_identifier(row)

    def qualify(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Star) and not isinstance(node.parent, exp.Column):
            return exp.Column(this=exp.Star(), table=pseudo.copy())
        if isinstance(node, exp.Column):
            node = node.copy()
            node.set("table", pseudo.copy())
        return node

    items = []
    for item in returning.expressions:
        bare = item.this if isinstance(item, exp.Alias) else item
        if isinstance(bare, exp.Column) and not isinstance(item, exp.Alias) and not bare.is_star:
            # INSERTED.x would be named x anyway; keep PostgreSQL's column name
            item = exp.alias_(bare, exp.to_identifier(bare.name, quoted=True))
        items.append(item.transform(qualify))
    returning.set("expressions", items)
    return expression


# --- generate_series, time travel ---------------------------------------------------------


def generate_series(expression: exp.Expr) -> exp.Expr:
    """SQL Server 2022's GENERATE_SERIES names its column `value`: PostgreSQL's is the
    function's (or the alias') name, so the call gets a column alias."""
    for call in list(expression.find_all(exp.GenerateSeries, exp.ExplodingGenerateSeries)):
        table = call.parent
        if not (isinstance(table, exp.Table) and table.this is call):
            unsupported("tsql: generate_series() is only supported in FROM on SQL Server")
        step = call.args.get("step")
        for bound in (call.args.get("start"), call.args.get("end"), step):
            if isinstance(bound, exp.Interval) or pg_type(bound) in (*TEMPORAL, _D.INTERVAL):
                unsupported("tsql: SQL Server's GENERATE_SERIES steps through numbers only")
        args = [call.args["start"], call.args["end"], *([step] if step is not None else [])]
        table.set("this", exp.Anonymous(this="GENERATE_SERIES", expressions=args))
        alias = table.args.get("alias")
        name = alias.name if alias is not None and alias.name else "generate_series"
        columns = alias.columns if alias is not None and alias.columns else [
            exp.to_identifier(name)]
        table.set("alias", exp.TableAlias(this=exp.to_identifier(name), columns=columns))
    return expression


def _version_sql(self: t.Any, expression: exp.Version) -> str:
    # Only timestamps get here: generation refuses commits and branches on SQL Server. A
    # table that is not system-versioned is SQL Server's error 13544, mapped to 0A000.
    return f"FOR SYSTEM_TIME AS OF {self.sql(expression, 'expression')}"


def _table_sql(self: t.Any, expression: exp.Table) -> str:
    """`t FOR SYSTEM_TIME AS OF '…' AS x`: T-SQL wants the clause before the alias."""
    version = expression.args.get("version")
    if version is None or expression.args.get("alias") is None:
        return _STOCK[exp.Table](self, expression)
    bare = expression.copy()
    bare.set("alias", None)
    return f"{_STOCK[exp.Table](self, bare)} AS {self.sql(expression.args['alias'])}"


# --- DDL ----------------------------------------------------------------------------------


def _first(column: exp.ColumnDef, kind: exp.Expr) -> None:
    """T-SQL takes COLLATE and IDENTITY right after the type, before any constraint."""
    column.set("constraints", [exp.ColumnConstraint(kind=kind), *column.constraints])


def _column(column: exp.ColumnDef, keys: set[str]) -> None:
    kind = column.args.get("kind")
    if not isinstance(kind, exp.DataType):
        return
    constraints = column.constraints
    if kind.this in _SERIAL:
        column.set("kind", exp.DataType.build(_SERIAL[kind.this]))
        _first(column, exp.GeneratedAsIdentityColumnConstraint(this=False))
        column.append("constraints", exp.ColumnConstraint(kind=exp.NotNullColumnConstraint()))
        return
    is_key = column.name.lower() in keys or any(
        isinstance(c.kind, (exp.PrimaryKeyColumnConstraint, exp.UniqueColumnConstraint))
        for c in constraints
    )
    if kind.this in _TEXTUAL:
        if is_key and (kind.this == _D.TEXT or (kind.this in (_D.VARCHAR, _D.NVARCHAR)
                                                and not kind.expressions)):
            column.set("kind", exp.DataType.build(_KEY_NVARCHAR, dialect="tsql"))
        if not any(isinstance(c.kind, exp.CollateColumnConstraint) for c in constraints):
            _first(column, exp.CollateColumnConstraint(this=exp.var(CASE_SENSITIVE)))
    elif kind.this in (_D.JSON, _D.JSONB):
        check = exp.EQ(this=exp.Anonymous(this="ISJSON", expressions=[exp.column(column.name)]),
                       expression=exp.Literal.number(1))
        column.append("constraints", exp.ColumnConstraint(
            kind=exp.CheckColumnConstraint(this=check)))


def reserved_names(expression: exp.Expr) -> exp.Expr:
    """An identifier T-SQL reserves is bracketed: `WITH top AS (…)` is a syntax error."""
    for ident in expression.find_all(exp.Identifier):
        if not ident.quoted and ident.name.lower() in RESERVED:
            ident.set("quoted", True)
    return expression


def ddl_types(expression: exp.Expr) -> exp.Expr:
    """SERIAL is IDENTITY, text columns compare case-sensitively, json is checked by ISJSON."""
    return fix_column_defs(expression, _column)


def _identity_sql(self: t.Any, expression: exp.GeneratedAsIdentityColumnConstraint) -> str:
    start = self.sql(expression, "start") or "1"
    increment = self.sql(expression, "increment") or "1"
    return f"IDENTITY({start}, {increment})"


def _collate_sql(self: t.Any, expression: exp.CollateColumnConstraint) -> str:
    name = expression.this.name
    # ddl_types names SQL Server's; the dialect spells the server's own
    return f"COLLATE {self.dialect.CASE_SENSITIVE if name == CASE_SENSITIVE else name}"


def _delete_sql(self: t.Any, expression: exp.Delete) -> str:
    """`DELETE t OUTPUT DELETED.… WHERE …`: T-SQL's OUTPUT follows the target (FROM is
    optional there, and sqlglot's T-SQL reader takes only the form without it)."""
    returning = expression.args.get("returning")
    if returning is None:
        return _STOCK[exp.Delete](self, expression)
    bare = expression.copy()
    bare.set("returning", None)
    sql = _STOCK[exp.Delete](self, bare)
    head = f"DELETE FROM {self.sql(expression, 'this')}"
    if not sql.startswith(head):
        unsupported("tsql: DELETE ... USING ... RETURNING is not supported on SQL Server")
    target = head.removeprefix("DELETE FROM ")
    return f"DELETE {target} {self.sql(returning).strip()}{sql[len(head):]}"


def _length_sql(self: t.Any, expression: exp.Length) -> str:
    """length() counts trailing spaces, LEN() does not: LEN of the text and one more
    character, less one. (DATALENGTH / 2 counts UTF-16 only on SQL Server: Babelfish
    stores UTF-8.)"""
    return f"(LEN(CAST({self.sql(expression, 'this')} AS NVARCHAR(MAX)) + N'.') - 1)"


def _substring_sql(self: t.Any, expression: exp.Substring) -> str:
    """substring(s, n) runs to the end; T-SQL's SUBSTRING always takes a length (a start
    plus a length past the end is the rest)."""
    length = expression.args.get("length")
    return (f"SUBSTRING({self.sql(expression, 'this')}, {self.sql(expression, 'start')},"
            f" {self.sql(length) if length is not None else 2147483647})")


def _trim_sql(self: t.Any, expression: exp.Trim) -> str:
    """trim(BOTH 'x' FROM s) as `TRIM('x' FROM s)` (SQL Server 2017's form; BOTH is 2022's)."""
    chars = expression.args.get("expression")
    position = str(expression.args.get("position") or "BOTH").upper()
    if chars is not None and position == "BOTH":
        return f"TRIM({self.sql(chars)} FROM {self.sql(expression, 'this')})"
    return _STOCK[exp.Trim](self, expression)


def _md5_sql(self: t.Any, expression: exp.MD5) -> str:
    """md5() of the text's UTF-8 bytes as lower-case hex, as PostgreSQL's (an NVARCHAR would
    hash its UTF-16)."""
    utf8 = (f"CAST(CAST({self.sql(expression, 'this')} AS NVARCHAR(MAX))"
            " COLLATE Latin1_General_100_BIN2_UTF8 AS VARCHAR(MAX))")
    return f"LOWER(CONVERT(VARCHAR(32), HASHBYTES('MD5', {utf8}), 2))"


def _round_sql(self: t.Any, expression: exp.Round) -> str:
    """round(x) is round(x, 0): T-SQL's ROUND wants the length."""
    decimals = expression.args.get("decimals")
    return f"ROUND({self.sql(expression, 'this')}, {self.sql(decimals) if decimals else 0})"


def _alter_column_sql(self: t.Any, expression: exp.AlterColumn) -> str:
    """T-SQL changes a column's type with its nullability in one clause, and a default is a
    constraint of its own: SET DEFAULT is `ADD DEFAULT … FOR c`; what needs the column's
    current type or the default's constraint name is refused."""
    column = self.sql(expression, "this")
    if expression.args.get("default") is not None:
        return f"ADD DEFAULT {self.sql(expression, 'default')} FOR {column}"
    if expression.args.get("dtype") is not None:
        return _STOCK[exp.AlterColumn](self, expression)
    if expression.args.get("allow_null") is not None:
        unsupported(f"tsql: SET/DROP NOT NULL on SQL Server restates the column's type:"
                    f" ALTER TABLE … ALTER COLUMN {column} TYPE <type> with NOT NULL or NULL")
    unsupported("tsql: DROP DEFAULT on SQL Server drops the default's constraint by its name")


def _sequence_call_sql(self: t.Any, args: list[exp.Expr]) -> str:
    """nextval('s') is `NEXT VALUE FOR s` (SQL Server's sequences)."""
    name = args[0] if args else None
    if not (isinstance(name, exp.Literal) and name.is_string) or len(args) != 1:
        unsupported("tsql: nextval() takes a sequence's name as a constant here")
    parts = name.this.split(".")
    if len(parts) == 2 and parts[0].lower() == "public":
        parts = parts[1:]  # the one schema a client sees
    return "NEXT VALUE FOR " + ".".join(self.sql(exp.to_identifier(p)) for p in parts)


def _no_sequence_state(self: t.Any, args: list[exp.Expr]) -> str:
    unsupported("tsql: SQL Server's sequences have NEXT VALUE FOR only (no currval, setval"
                " or lastval: ALTER SEQUENCE … RESTART WITH sets one)")


def _insert_sql(self: t.Any, expression: exp.Insert) -> str:
    if expression.args.get("conflict") is not None:
        return on_conflict_sql(self, expression)
    if expression.args.get("default"):
        # sqlglot's T-SQL drops DEFAULT VALUES; OUTPUT goes before it
        returning = expression.args.get("returning")
        output = f" {self.sql(returning).strip()}" if returning is not None else ""
        return f"INSERT INTO {self.sql(expression, 'this')}{output} DEFAULT VALUES"
    return _STOCK[exp.Insert](self, expression)


_STOCK = stock(TSQLGenerator)

PREPROCESS = (
    ordering.positional_order,
    set_operation_positions,
    *COMMON,
    aggregate_filter,
    bit_predicates,
    predicate_values,
    output_returning,
    generate_series,
    ddl_types,
    reserved_names,
)


class PgProxyTSQL(_TSQL, PgProxyBackend):
    BACKEND = "tsql"
    CASE_SENSITIVE = CASE_SENSITIVE
    CASE_INSENSITIVE = CASE_INSENSITIVE
    PREPROCESS = PREPROCESS
    NATIVE_SERIES = True
    # OUTPUT INSERTED.* / DELETED.* answers RETURNING on every write.
    RETURNING = (exp.Insert, exp.Update, exp.Delete)
    TRANSFORMS = {
        **_STOCK,
        exp.Parameter: parameter_sql,
        exp.DataType: datatype_sql,
        exp.Boolean: _boolean_sql,
        exp.DPipe: _dpipe_sql,
        exp.Literal: _literal_sql,
        exp.Like: _like_sql,
        exp.ILike: _like_sql,
        exp.Escape: _escape_sql,
        exp.Version: _version_sql,
        exp.Table: _table_sql,
        exp.GeneratedAsIdentityColumnConstraint: _identity_sql,
        exp.CollateColumnConstraint: _collate_sql,
        exp.Insert: _insert_sql,
        exp.Delete: _delete_sql,
        exp.AlterColumn: _alter_column_sql,
        exp.Anonymous: anonymous_sql(
            {"nextval": _sequence_call_sql, **dict.fromkeys(
                ("currval", "setval", "lastval"), _no_sequence_state)},
            _STOCK[exp.Anonymous]),
        # now() is a timestamptz: GETDATE() would be the server's local time without offset
        exp.CurrentTimestamp: lambda self, e: "SYSDATETIMEOFFSET()",
        exp.Array: lambda self, e: unsupported("tsql: SQL Server has no arrays"),
        exp.LogicalAnd: _logical_sql,
        exp.LogicalOr: _logical_sql,
        exp.Is: _is_sql,
        exp.Cast: _cast_sql,
        exp.Add: tsql_time.add_sql(_STOCK[exp.Add]),
        exp.Sub: tsql_time.sub_sql(_STOCK[exp.Sub]),
        **tsql_time.TRANSFORMS,
        exp.Length: _length_sql,
        exp.Substring: _substring_sql,
        exp.Trim: _trim_sql,
        exp.Round: _round_sql,
        exp.MD5: _md5_sql,
    }


class PgProxyBabelfish(PgProxyTSQL):
    """Babelfish for PostgreSQL: SQL Server's T-SQL, but only the collations it maps to
    its own (no `_100_…_SC` ones); Latin1_General_CS_AS is bbf_unicode_cp1_cs_as there."""

    BACKEND = "babelfish"
    CASE_SENSITIVE = "Latin1_General_CS_AS"
    CASE_INSENSITIVE = "Latin1_General_CI_AS"


_TRANSACTION = {
    Kind.BEGIN: "BEGIN TRANSACTION",
    # SQL Server ends a transaction by itself on some errors (a deadlock victim, a batch-
    # aborting conversion error, a trigger's ROLLBACK) where PostgreSQL keeps the block open
    # until the client ends it: ending none is then no error (3902/3903), as in PostgreSQL.
    Kind.COMMIT: "IF @@TRANCOUNT > 0 COMMIT TRANSACTION",
    Kind.ROLLBACK: "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION",
    Kind.SAVEPOINT: "SAVE TRANSACTION {}",
    # SQL Server keeps a savepoint until the transaction ends: releasing it is nothing to do.
    Kind.RELEASE: "",
    Kind.ROLLBACK_TO: "ROLLBACK TRANSACTION {}",
}


_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def tsql_transaction(kind: Kind, savepoint: str) -> Generated:
    """BEGIN / COMMIT / ROLLBACK / savepoints as T-SQL spells them (SAVE TRANSACTION takes a
    plain name; any other is bracketed)."""
    if savepoint and not _PLAIN_NAME.match(savepoint):
        savepoint = "[" + savepoint.replace("]", "]]") + "]"
    return Generated(_TRANSACTION[kind].format(savepoint))
