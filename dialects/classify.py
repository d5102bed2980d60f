"""What the proxy needs to know about a statement: kind, tag, tables, cacheability, parameters.

Tags are PostgreSQL's CommandComplete verbs (the proxy appends row counts).
Statements sqlglot parses poorly (transaction control, SET/SHOW/RESET, USE,
utility commands) are classified from their tokens; the rest from the AST.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from dialects.api import (
    BACKEND_TYPMOD,
    SUM_OF_INTEGERS_IF_INTEGRAL,
    Kind,
    Setting,
    TranslationError,
    param_type,
)
from dialects.exprtypes import BOOLEAN_CLASSES, INTEGERS, pg_type
from dialects.typeoids import (
    ARRAY_OF,
    ELEMENT_OF,
    SCALAR_OIDS,
    datatype_oid,
    datatype_typmod,
    expr_oid,
)

_CATALOG_SCHEMAS = frozenset({"pg_catalog", "information_schema"})

_TX_TAGS = {
    "BEGIN": (Kind.BEGIN, "BEGIN"),
    "START": (Kind.BEGIN, "START TRANSACTION"),
    "COMMIT": (Kind.COMMIT, "COMMIT"),
    "END": (Kind.COMMIT, "COMMIT"),
    "ABORT": (Kind.ROLLBACK, "ROLLBACK"),
    "ROLLBACK": (Kind.ROLLBACK, "ROLLBACK"),
    "SAVEPOINT": (Kind.SAVEPOINT, "SAVEPOINT"),
    "RELEASE": (Kind.RELEASE, "RELEASE"),
}
# Utility commands kept whole: tag and whether they return rows.
UTILITY = {
    "EXPLAIN": ("EXPLAIN", True),
    "FETCH": ("FETCH", True),
    "MOVE": ("MOVE", False),
    "CLOSE": ("CLOSE CURSOR", False),
    "DECLARE": ("DECLARE CURSOR", False),
    "DISCARD": ("DISCARD", False),
    "DEALLOCATE": ("DEALLOCATE", False),
    "PREPARE": ("PREPARE", False),
    "EXECUTE": ("EXECUTE", True),
    "LISTEN": ("LISTEN", False),
    "UNLISTEN": ("UNLISTEN", False),
    "NOTIFY": ("NOTIFY", False),
    "COPY": ("COPY", False),
    "DO": ("DO", False),
    "LOCK": ("LOCK TABLE", False),
    "VACUUM": ("VACUUM", False),
    "ANALYZE": ("ANALYZE", False),
    "CHECKPOINT": ("CHECKPOINT", False),
    "REINDEX": ("REINDEX", False),
    "REFRESH": ("REFRESH MATERIALIZED VIEW", False),
    "CALL": ("CALL", True),
}
_DDL_VERBS = {"CREATE", "DROP", "ALTER", "TRUNCATE", "COMMENT", "GRANT", "REVOKE"}
_DDL_SKIP = {"OR", "REPLACE", "TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL", "UNIQUE",
             "RECURSIVE", "TRUSTED", "PROCEDURAL", "CONCURRENTLY", "DEFAULT"}
_DDL_TWO_WORDS = {"MATERIALIZED", "FOREIGN", "EVENT", "ACCESS", "TEXT", "USER", "OPERATOR"}
_ISOLATION = ("READ UNCOMMITTED", "READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE")


def word(token: Token) -> str:
    """A token's keyword text, or '' for strings and quoted identifiers."""
    if token.token_type in (TokenType.STRING, TokenType.IDENTIFIER):
        return ""
    return token.text.upper()


def words(tokens: list[Token], start: int = 0, count: int = 4) -> list[str]:
    return [word(t) for t in tokens[start : start + count]]


# --- token-classified statements -------------------------------------------------------------


def transaction(tokens: list[Token]) -> tuple[Kind, str, Setting | None]:
    first = word(tokens[0])
    kind, tag = _TX_TAGS[first]
    rest = [word(t) for t in tokens[1:]]
    if kind is Kind.ROLLBACK and "TO" in rest:
        kind = Kind.ROLLBACK_TO
    if first in ("COMMIT", "ROLLBACK") and rest[:1] == ["PREPARED"]:
        return Kind.OTHER, f"{first} PREPARED", None
    if first == "START" and rest[:1] != ["TRANSACTION"]:
        raise TranslationError('syntax error at or near "START"')
    setting = _transaction_modes(" ".join(rest), "transaction_", True) if (
        kind is Kind.BEGIN) else None
    return kind, tag, setting


def _transaction_modes(text: str, prefix: str, local: bool) -> Setting | None:
    """ISOLATION LEVEL …, READ ONLY | READ WRITE, [NOT] DEFERRABLE as settings (the first
    one, the others in `also`); None when the text names none."""
    found: list[Setting] = []
    for level in _ISOLATION:
        if f"ISOLATION LEVEL {level}" in text:
            found.append(Setting(f"{prefix}isolation", level.lower(), local))
    if "READ ONLY" in text or "READ WRITE" in text:
        found.append(Setting(f"{prefix}read_only", "on" if "READ ONLY" in text else "off", local))
    if "DEFERRABLE" in text:
        found.append(Setting(f"{prefix}deferrable", "off" if "NOT DEFERRABLE" in text else "on",
                             local))
    if not found:
        return None
    first = found[0]
    return Setting(first.name, first.value, local, also=tuple(found[1:])) if found[1:] else first


def savepoint_name(tokens: list[Token]) -> str:
    """The savepoint named by SAVEPOINT / RELEASE [SAVEPOINT] / ROLLBACK [WORK] TO [SAVEPOINT]."""
    last = tokens[-1]
    if len(tokens) < 2 or (last.token_type not in (TokenType.VAR, TokenType.IDENTIFIER) and (
        not last.text.isidentifier()
    )):
        raise TranslationError("syntax error: savepoint name expected")
    return last.text if last.token_type == TokenType.IDENTIFIER else last.text.lower()


def utility(tokens: list[Token]) -> tuple[Kind, str, bool]:
    first = word(tokens[0])
    tag, rows = UTILITY[first]
    second = word(tokens[1]) if len(tokens) > 1 else ""
    if first in ("DISCARD", "DEALLOCATE") and second == "ALL":
        tag = f"{first} ALL"
    elif first == "DISCARD" and second:
        tag = f"DISCARD {second}"
    elif first == "PREPARE" and second == "TRANSACTION":
        tag = "PREPARE TRANSACTION"
    elif first == "EXPLAIN" and "ANALYZE" in words(tokens, 1, 3):
        # EXPLAIN ANALYZE runs the statement: it may write.
        rows = True
    return (Kind.CALL if first == "CALL" else Kind.OTHER), tag, rows


def ddl_tag(tokens: list[Token]) -> str:
    verb = word(tokens[0])
    if verb in ("COMMENT", "GRANT", "REVOKE"):
        return verb
    if verb == "TRUNCATE":
        return "TRUNCATE TABLE"
    parts: list[str] = []
    for tok in tokens[1:]:
        w = word(tok)
        if not parts and w in _DDL_SKIP:
            continue
        parts.append(w)
        if len(parts) == 2 or w not in _DDL_TWO_WORDS:
            break
    return " ".join([verb, *parts])


# --- SET / RESET / SHOW ----------------------------------------------------------------------


def dotted_name(
    tokens: list[Token], i: int, part: Callable[[Token], bool] = lambda tok: True
) -> tuple[list[str], int]:
    """The parts of a dotted name starting at tokens[i], each token `part` accepts (a
    quoted part keeps its case, a bare one is folded), and the index after the name."""
    parts: list[str] = []
    while i < len(tokens) and part(tokens[i]):
        tok = tokens[i]
        parts.append(tok.text if tok.token_type == TokenType.IDENTIFIER else tok.text.lower())
        i += 1
        if i < len(tokens) and tokens[i].token_type == TokenType.DOT:
            i += 1
            continue
        break
    return parts, i


def _name(tokens: list[Token], i: int) -> tuple[str, int]:
    """A (possibly dotted) parameter name starting at tokens[i]; returns it and the next index."""
    parts, i = dotted_name(tokens, i, lambda tok: tok.token_type != TokenType.STRING)
    if not parts:
        raise TranslationError("syntax error: configuration parameter name expected")
    return ".".join(parts), i


def _value(tokens: list[Token]) -> str | None:
    """A SET value list as PG keeps it: strings unquoted, names lower-cased, ', '-joined."""
    if not tokens:
        raise TranslationError("syntax error: SET needs a value")
    if len(tokens) == 1 and word(tokens[0]) == "DEFAULT":
        return None
    items: list[str] = []
    sign = ""
    for tok in tokens:
        if tok.token_type == TokenType.COMMA:
            continue
        if tok.token_type == TokenType.DASH:
            sign = "-"
            continue
        if tok.token_type in (TokenType.STRING, TokenType.IDENTIFIER, TokenType.NUMBER):
            items.append(sign + tok.text)
        elif tok.token_type == TokenType.PARAMETER:
            raise TranslationError("SET does not take parameters", "42601")
        else:
            items.append(sign + tok.text.lower())
        sign = ""
    return ", ".join(items)


def setting(tokens: list[Token]) -> tuple[Kind, str, Setting]:
    verb = word(tokens[0])
    rest = tokens[1:]
    w = [word(t) for t in rest]
    if verb == "SHOW":
        if w[:3] == ["TRANSACTION", "ISOLATION", "LEVEL"]:
            return Kind.SHOW, "SHOW", Setting("transaction_isolation")
        if w[:2] == ["TIME", "ZONE"]:
            return Kind.SHOW, "SHOW", Setting("timezone")
        if w[:2] == ["SESSION", "AUTHORIZATION"]:
            return Kind.SHOW, "SHOW", Setting("session_authorization")
        name, end = _name(rest, 0)
        if end != len(rest):
            raise TranslationError("syntax error: SHOW takes one parameter name")
        return Kind.SHOW, "SHOW", Setting(name)
    if verb == "RESET":
        if w[:2] == ["TIME", "ZONE"]:
            return Kind.SET, "RESET", Setting("timezone")
        if w[:2] == ["SESSION", "AUTHORIZATION"]:
            return Kind.SET, "RESET", Setting("session_authorization")
        name, end = _name(rest, 0)
        if end != len(rest):
            raise TranslationError("syntax error: RESET takes one parameter name")
        return Kind.SET, "RESET", Setting(name)

    local = False
    if w[:1] == ["SESSION"] and w[1:2] == ["CHARACTERISTICS"]:
        # SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL ...
        found = _transaction_modes(" ".join(w[2:]), "default_transaction_", False)
        if found is None:
            raise TranslationError("syntax error in SET SESSION CHARACTERISTICS")
        return Kind.SET, "SET", found
    if w[:1] in (["SESSION"], ["LOCAL"]) and w[1:2] != ["AUTHORIZATION"]:
        local = w[0] == "LOCAL"
        rest, w = rest[1:], w[1:]
    if w[:1] == ["TRANSACTION"]:
        found = _transaction_modes(" ".join(w[1:]), "transaction_", True)
        if found is None:
            raise TranslationError("syntax error in SET TRANSACTION")
        return Kind.SET, "SET", found
    if w[:2] == ["TIME", "ZONE"]:
        value = None if w[2:3] in (["LOCAL"], ["DEFAULT"]) else _value(rest[2:])
        return Kind.SET, "SET", Setting("timezone", value, local)
    if w[:1] == ["NAMES"]:
        return Kind.SET, "SET", Setting("client_encoding", _value(rest[1:]), local)
    if w[:1] == ["SCHEMA"]:
        return Kind.SET, "SET", Setting("search_path", _value(rest[1:]), local)
    if w[:2] == ["SESSION", "AUTHORIZATION"]:
        return Kind.SET, "SET", Setting("session_authorization", _value(rest[2:]), local)
    name, i = _name(rest, 0)
    if i < len(rest) and (rest[i].token_type == TokenType.EQ or word(rest[i]) == "TO"):
        i += 1
    elif name != "role":
        near = rest[i].text if i < len(rest) else name
        raise TranslationError(f'syntax error at or near "{near}"')
    return Kind.SET, "SET", Setting(name, _value(rest[i:]), local)


# --- AST-classified statements ---------------------------------------------------------------


def kind_and_tag(expression: exp.Expr, tokens: list[Token]) -> tuple[Kind, str]:
    if isinstance(expression, exp.Select) and expression.args.get("into"):
        return Kind.DDL, "SELECT"  # SELECT INTO creates a table; PostgreSQL's tag is SELECT n
    if isinstance(expression, (exp.Query, exp.Values)):
        return Kind.SELECT, "SELECT"
    if isinstance(expression, exp.Insert):
        return Kind.INSERT, "INSERT"
    if isinstance(expression, exp.Update):
        return Kind.UPDATE, "UPDATE"
    if isinstance(expression, exp.Delete):
        return Kind.DELETE, "DELETE"
    if isinstance(expression, exp.Merge):
        return Kind.OTHER, "MERGE"
    first = word(tokens[0])
    if first in _DDL_VERBS:
        if isinstance(expression, exp.Create) and expression.kind == "TABLE" and isinstance(
            expression.expression, exp.Query
        ):
            return Kind.DDL, "SELECT"  # CREATE TABLE AS: PostgreSQL's tag is SELECT n
        return Kind.DDL, ddl_tag(tokens)
    if first == "WITH":
        return Kind.SELECT, "SELECT"
    return Kind.OTHER, first


def _cte_names(expression: exp.Expr) -> set[str]:
    return {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}


def _names(table: exp.Table) -> list[str]:
    """A table as seen (lower-cased, qualified if it was) plus its bare name when qualified."""
    parts = [p.name.lower() for p in table.parts]
    if not parts or not parts[-1]:
        return []
    if len(parts) == 1:
        return parts
    return [".".join(parts), parts[-1]]


def tables(expression: exp.Expr) -> tuple[frozenset[str], frozenset[str]]:
    """(read, written) table names; CTE names are not tables."""
    ctes = _cte_names(expression)
    targets: list[exp.Table] = []
    if isinstance(expression, (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop,
                               exp.Alter, exp.TruncateTable, exp.Comment, exp.Merge)):
        if isinstance(expression, exp.Drop):
            nodes = expression.args.get("tables") or [expression.this]
        elif isinstance(expression, exp.TruncateTable):
            nodes = expression.expressions
        else:
            nodes = [expression.this]
        for node in nodes:
            if isinstance(node, exp.Schema):
                node = node.this
            if isinstance(node, exp.Table):
                targets.append(node)
        if isinstance(expression, exp.Create) and expression.kind == "INDEX":
            index_on = expression.this.args.get("table") if expression.this else None
            if isinstance(index_on, exp.Table):
                targets.append(index_on)
    if isinstance(expression, exp.Select) and isinstance(expression.args.get("into"), exp.Into):
        into = expression.args["into"].this
        if isinstance(into, exp.Table):
            targets.append(into)
    target_ids = {id(t) for t in targets}
    read: set[str] = set()
    written: set[str] = set()
    for t in targets:
        written.update(_names(t))
    for table in expression.find_all(exp.Table):
        if id(table) in target_ids or not isinstance(table.this, exp.Identifier):
            continue
        names = _names(table)
        if names and not (len(table.parts) == 1 and names[0] in ctes):
            read.update(names)
    # Data-modifying CTEs write too.
    for dml in expression.find_all(exp.Insert, exp.Update, exp.Delete):
        if dml is not expression and isinstance(dml.this, exp.Table):
            names = _names(dml.this)
            written.update(names)
            read.difference_update(names)
    return frozenset(read), frozenset(written)


def is_catalog(name: str) -> bool:
    schema, _, bare = name.rpartition(".")
    if schema:
        return schema.rpartition(".")[2] in _CATALOG_SCHEMAS
    return bare.startswith("pg_") or bare in _CATALOG_SCHEMAS


def all_catalog(names: frozenset[str]) -> bool:
    """Every relation is a catalog one; a bare name counts when it is a qualified one's tail."""
    qualified = [n for n in names if "." in n]
    tails = {n.rpartition(".")[2] for n in qualified if is_catalog(n)}
    return all(is_catalog(n) for n in qualified) and all(
        is_catalog(n) or n in tails for n in names if "." not in n
    )


def function_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    return node.sql_name().lower() if isinstance(node, exp.Func) else ""


def is_user_column(node: exp.Expr) -> bool:
    return (
        isinstance(node, exp.Column)
        and not node.table
        and isinstance(node.this, exp.Identifier)
        and not node.this.quoted
        and node.this.name.lower() == "user"
    )


def params(expression: exp.Expr) -> tuple[int, tuple[int, ...]]:
    """(highest $n, OID per $n from casts; 0 when unknown)."""
    found: dict[int, int] = {}
    highest = 0
    for node in expression.find_all(exp.Parameter):
        number = _param_number(node)
        if number is None:
            continue
        highest = max(highest, number)
        parent = node.parent
        oid = 0
        if isinstance(parent, exp.Cast) and parent.this is node:
            oid = datatype_oid(parent.to)
        elif isinstance(parent, exp.Array) and isinstance(parent.parent, exp.Cast):
            # ARRAY[NULL, $2]::cidr[]: an element takes the array type's element type
            oid = ELEMENT_OF.get(datatype_oid(parent.parent.to), 0)
        if found.get(number, 0) == 0:
            found[number] = oid
    return highest, tuple(found.get(i, 0) for i in range(1, highest + 1))


# Functions whose arguments are "any" (or VARIADIC "any"): nothing there types a $n.
_ANY_ARGS: tuple[type[exp.Expr], ...] = (exp.Concat, exp.ConcatWs, exp.Format)
_ANY_ARG_NAMES = frozenset({
    "pg_typeof", "num_nulls", "num_nonnulls", "json_build_object", "json_build_array",
    "jsonb_build_object", "jsonb_build_array",
})


def indeterminate(expression: exp.Expr, param_types: tuple[int, ...]) -> tuple[int, ...]:
    """The 0-based $n whose every use is an argument of a function taking "any": PostgreSQL
    cannot determine their type unless the client declares one (42P18)."""
    uses: dict[int, bool] = {}  # $n -> all its uses so far are "any" arguments
    for node in expression.find_all(exp.Parameter):
        number = _param_number(node)
        if number is None or (number <= len(param_types) and param_types[number - 1]):
            continue
        parent = node.parent
        untyped = (isinstance(parent, _ANY_ARGS) and node.arg_key == "expressions") or (
            isinstance(parent, exp.Anonymous) and parent.name.lower() in _ANY_ARG_NAMES
        )
        if isinstance(parent, exp.ConcatWs) and parent.expressions[:1] == [node]:
            untyped = False  # concat_ws's separator is text
        uses[number] = uses.get(number, True) and untyped
    return tuple(sorted(n - 1 for n, untyped in uses.items() if untyped))


def _param_number(node: exp.Parameter) -> int | None:
    value = node.this
    if isinstance(value, exp.Literal) and not value.is_string and value.this.isdigit():
        return int(value.this)
    return None


def set_config(expression: exp.Expr) -> Setting | None:
    """SELECT set_config(name, value, is_local) as a Setting: constants or $n parameters."""
    calls = [f for f in expression.find_all(exp.Anonymous) if f.name.lower() == "set_config"]
    if not calls:
        return None
    call = calls[0]
    args = [uncast(a) for a in call.expressions]
    if len(calls) > 1 or len(args) != 3 or not all(
        isinstance(a, (exp.Literal, exp.Boolean, exp.Null, exp.Parameter)) for a in args
    ) or not (args[0].is_string or isinstance(args[0], exp.Parameter)):
        raise TranslationError(
            "set_config() is supported once per statement with constant or $n arguments", "0A000"
        )
    refs = tuple(
        _param_number(a) - 1 if isinstance(a, exp.Parameter) and _param_number(a) else None
        for a in args
    )
    name = "" if refs[0] is not None else args[0].this.lower()
    value = None if isinstance(args[1], (exp.Null, exp.Parameter)) else args[1].this
    local = isinstance(args[2], (exp.Boolean, exp.Literal)) and truthy(str(args[2].this))
    return Setting(name, value, local, refs if any(r is not None for r in refs) else None)


def truthy(text: str) -> bool:
    """PostgreSQL's boolean input: 'true', 't', 'on', 'yes', '1' … (any prefix of true/yes)."""
    word = text.strip().lower()
    return word in ("1", "on") or (bool(word) and ("true".startswith(word) or
                                                   "yes".startswith(word)))


def uncast(node: exp.Expr) -> exp.Expr:
    """$1::text, 'x'::text: the value inside a cast (set_config's arguments are text)."""
    while isinstance(node, exp.Cast):
        node = node.this
    return node


def projection_types(expression: exp.Expr | None) -> tuple[int, ...]:
    """The OID each result column has by the statement's own text, 0 where unknown.

    Backends without the type (SQLite's CAST(? AS NUMERIC) is a REAL, MySQL's
    `a = b` an integer, SQLite's date arithmetic is text) would otherwise make a
    PostgreSQL client see a float where it asked for numeric, 1 where it
    expects true, a string where it expects a date. A column of a derived table
    or CTE is typed by the projection it comes from. `sum()` whose argument's
    type is unknown gets `SUM_OF_INTEGERS_IF_INTEGRAL` (see dialects.api).
    """
    if isinstance(expression, exp.Values):
        return _values_types(expression)
    if not isinstance(expression, exp.Select):
        return ()
    out = [_projection_type(p, expression, 0) for p in expression.expressions]
    from_ = expression.args.get("from_")
    if (
        out == [0]
        and isinstance(expression.expressions[0], exp.Star)
        and isinstance(from_, exp.From)
        and isinstance(from_.this, exp.Table)
        and isinstance(from_.this.this, _SERIES)
        and not expression.args.get("joins")
    ):
        out = [expr_oid(from_.this.this)]  # SELECT * FROM generate_series(...)
    return tuple(out) if any(out) else ()


def _values_types(values: exp.Values) -> tuple[int, ...]:
    """A bare VALUES list's column types: the one every row's typed value agrees on
    (`VALUES (1::int, …), (2, …)` is int4, where SQLite would report int8), else 0."""
    rows = [row.expressions for row in values.expressions if isinstance(row, exp.Tuple)]
    if not rows or any(len(row) != len(rows[0]) for row in rows):
        return ()
    out = []
    for column in zip(*rows, strict=True):
        known = {expr_oid(v) for v in column if not isinstance(v, exp.Null)} - {0}
        out.append(known.pop() if len(known) == 1 else 0)  # an untyped 'text' takes the rest's
    return tuple(out) if any(out) else ()


def projection_typmods(expression: exp.Expr | None) -> tuple[int, ...]:
    """The type modifier each result column's cast writes (`x::varchar(42)`; -1 for `x::numeric`,
    which MariaDB would report as DECIMAL(65,30)), BACKEND_TYPMOD where there is no cast;
    empty when no column is a cast."""
    if not isinstance(expression, exp.Select):
        return ()
    out = []
    for node in expression.expressions:
        while isinstance(node, (exp.Alias, exp.Paren)):
            node = node.this
        out.append(datatype_typmod(node.to) if isinstance(node, exp.Cast) else BACKEND_TYPMOD)
    return tuple(out) if any(m != BACKEND_TYPMOD for m in out) else ()


def _projection_type(node: exp.Expr, select: exp.Select, depth: int) -> int:
    while isinstance(node, (exp.Alias, exp.Paren)):
        node = node.this
    if isinstance(node, exp.Cast):
        return datatype_oid(node.to)
    if isinstance(node, exp.Parameter):
        number = _param_number(node)
        return param_type(number - 1) if number else 0
    if isinstance(node, BOOLEAN_CLASSES):
        return 16
    if isinstance(node, exp.Extract):
        return SCALAR_OIDS[exp.DType.DECIMAL]  # numeric since PostgreSQL 14
    if isinstance(node, exp.TimestampTrunc):
        return SCALAR_OIDS[pg_type(node) or exp.DType.TIMESTAMP]
    if isinstance(node, exp.Sum):
        return _sum_type(node)
    if isinstance(node, exp.Coalesce):
        # coalesce(sum(x), 0): the sum's type when the fallbacks are integer literals.
        first, rest = node.this, node.expressions
        if isinstance(first, exp.Sum) and all(
            pg_type(r) in INTEGERS and isinstance(r, exp.Literal) for r in rest
        ):
            return _sum_type(first)
        return 0
    if isinstance(node, exp.Column) and depth < 8:
        source = _derived_projection(node, select)
        if source is not None:
            return _projection_type(source[0], source[1], depth + 1)
    if isinstance(node, exp.ArrayAgg) and depth < 8:
        arg = node.this.this if isinstance(node.this, exp.Order) else node.this  # ORDER BY
        if isinstance(arg, exp.Column):
            return ARRAY_OF.get(_projection_type(arg, select, depth + 1), 0)
    # Literals, arithmetic, date arithmetic, count(), arrays: whatever the text fixes.
    return expr_oid(node)


def _sum_type(node: exp.Sum) -> int:
    """PostgreSQL: sum(int2/int4) is int8, sum(int8/numeric) numeric, sum(float) float8."""
    arg = node.this
    if isinstance(arg, exp.Distinct):
        arg = arg.expressions[0] if len(arg.expressions) == 1 else None
    kind = pg_type(arg)
    if kind is None:
        return SUM_OF_INTEGERS_IF_INTEGRAL
    if kind in INTEGERS:
        return 1700 if kind == exp.DType.BIGINT else 20
    if kind in (exp.DType.FLOAT, exp.DType.DOUBLE):
        return 701
    return SCALAR_OIDS.get(kind, 0)


_SERIES = (exp.ExplodingGenerateSeries, exp.GenerateSeries)


def _derived_projection(
    column: exp.Column, select: exp.Select
) -> tuple[exp.Expr, exp.Select] | None:
    """The projection (and its SELECT) a column of a derived table or CTE comes from."""
    sources: dict[str, exp.Expr] = {}
    from_ = select.args.get("from_") or select.args.get("from")
    items = [from_.this] if isinstance(from_, exp.From) else []
    items += [j.this for j in select.args.get("joins") or []]
    ctes = {}
    scope: exp.Expr | None = select
    while scope is not None:
        with_ = scope.args.get("with_") or scope.args.get("with")
        if isinstance(with_, exp.With):
            for cte in with_.expressions:
                ctes.setdefault(cte.alias_or_name.lower(), cte.this)
        scope = scope.parent
    for item in items:
        if isinstance(item, exp.Subquery):
            sources[item.alias_or_name.lower()] = item.this
        elif isinstance(item, exp.Unnest) and len(item.expressions) == 1:
            # unnest(arr) [AS t[(x)]]: one column of the array's element type
            alias = item.args.get("alias")
            name = alias.name if alias is not None and alias.name else "unnest"
            column_name = alias.columns[0].name if alias is not None and alias.columns else name
            elements = exp.Explode(this=item.expressions[0].copy())
            sources[name.lower()] = exp.select(exp.alias_(elements, column_name))
        elif isinstance(item, exp.Table) and isinstance(item.this, _SERIES):
            # generate_series(a, b) [AS g[(x)]]: one column, typed by its bounds
            alias = item.args.get("alias")
            name = alias.name if alias is not None and alias.name else "generate_series"
            column_name = alias.columns[0].name if alias is not None and alias.columns else name
            sources[name.lower()] = exp.select(exp.alias_(item.this.copy(), column_name))
        elif isinstance(item, exp.Table) and not item.db and item.name.lower() in ctes:
            sources[item.alias_or_name.lower()] = ctes[item.name.lower()]
        else:
            sources[item.alias_or_name.lower()] = None  # a table: no type without a schema
    table = column.table.lower()
    if table:
        inner = sources.get(table)
    elif len(sources) == 1:
        inner = next(iter(sources.values()))
    else:
        return None
    if not isinstance(inner, exp.Select):
        return None
    name = column.name.lower()
    for projection in inner.expressions:
        if projection.alias_or_name.lower() == name:
            return projection, inner
    return None
