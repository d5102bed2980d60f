"""Statement shapes: literals lifted out, so texts differing only in constants share one parse.

`scan` is a hand-written literal scanner (a few µs): it replaces numeric and
plain single-quoted string literals that sit in a value position with `$k`
placeholders numbered after the client's own `$n`, and returns the
parameterized text as the shape's key. Anything it is not sure of (typed
literals, type arguments, ORDER BY / GROUP BY / LIMIT / OFFSET, the SELECT
list, E'' / U&'' strings) stays in the text, so it is part of the key.

A text of a known skeleton (its literals' places and kinds, everything else
verbatim) is not tokenized again: one C-level regex pass finds its literals,
and the skeleton's memo says which of them the first scan lifted.

`check` runs once per shape, on the full parse of the parameterized text, and
accepts the shape only when every new placeholder sits in a value context
(comparison and arithmetic operands, IN lists, BETWEEN, INSERT VALUES rows,
UPDATE SET values, CASE, casts, a few plain functions). Otherwise the shape is
refused and the statement goes through the exact-text cache as before.
Literal values are always bound through the driver, never pasted into SQL.
"""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from typing import Any

from lru import LRU
from sqlglot import exp

try:  # built from _shapes.c when a C compiler was at hand (pyproject.toml)
    from dialects._shapes import literals as _compiled
except ImportError:  # pragma: no cover - depends on the install
    _compiled = None

from dialects import classify
from dialects.api import Kind, Statement
from dialects.exprtypes import INTEGERS, TEMPORAL, pg_type
from dialects.ranges import RANGE_TYPES

_TOKEN = re.compile(
    r"""\s*(?:(?P<word>[^\W\d][\w$]*)
    |(?P<op>::|<=|>=|<>|!=|\|\||[=<>+\-*/%,.&|!~^@#:?])
    |(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[\w$]*)
    |(?P<str>'[^']*(?:''[^']*)*')
    |(?P<open>[(\[])
    |(?P<close>[)\]])
    |(?P<param>\$\d+)
    |(?P<ident>"[^"]*(?:""[^"]*)*")
    |(?P<comment>--[^\n]*|/\*.*?\*/)
    |(?P<semi>;)
    |(?P<end>$)
    |(?P<bad>.))""",
    re.VERBOSE | re.DOTALL,
)
_INT = re.compile(r"\d{1,18}")
_DECIMAL = re.compile(r"(?:\d+\.\d*|\.\d+)")
_FIRST = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"})
# A literal right after one of these may become a placeholder; after anything else it stays.
_BEFORE_OPS = frozenset({"=", "<", ">", "<=", ">=", "<>", "!=", "+", "-", "*", "/", "%", "||", ",",
                         "("})
_BEFORE_WORDS = frozenset({"AND", "OR", "NOT", "THEN", "ELSE", "WHEN", "BETWEEN", "LIKE", "ILIKE",
                           "WHERE", "ON", "CASE", "HAVING"})
# Clause words: which literals of the clause that follows may become placeholders.
_CLAUSE = {
    "SELECT": False, "RETURNING": False, "ORDER": False, "GROUP": False, "LIMIT": False,
    "OFFSET": False, "FETCH": False, "WINDOW": False, "PARTITION": False, "ESCAPE": False,
    "FROM": True, "WHERE": True, "HAVING": True, "SET": True, "VALUES": True, "UNION": True,
    "INTERSECT": False, "EXCEPT": False, "JOIN": True, "USING": True,
}
# `(` after these opens type arguments (VARCHAR(10), NUMERIC(10, 2)) or a window: fixed.
_FIXED_PARENS = frozenset({
    "VARCHAR", "CHAR", "CHARACTER", "VARYING", "NUMERIC", "DECIMAL", "DEC", "BIT", "VARBIT",
    "TIME", "TIMESTAMP", "TIMESTAMPTZ", "TIMETZ", "INTERVAL", "FLOAT", "NCHAR", "NVARCHAR",
    "BPCHAR", "BINARY", "VARBINARY", "OVER", "FILTER", "WITHIN",
})
_MAX_SIGNIFICANT = 15  # a decimal SQLite reads as the same double Python's float() gives


@dataclasses.dataclass(frozen=True, slots=True)
class Shape:
    """A statement text with its liftable literals replaced by `$k` placeholders."""

    text: str  # the parameterized text: the shape's cache key
    nclient: int  # highest client $n in the text; literal i is $(nclient + i + 1)
    literals: tuple[str, ...]  # the literals' source text, in placeholder order


# The literals of a text, found in one regex pass: a run of anything else (words and
# identifiers with their digits, quoted identifiers, $n, any other character), then a
# string or a number (or an unterminated quote, or the end). Its tokens begin where
# _TOKEN's do (no operator begins a word, a number, a string or $n; a "." before digits
# is an operator there and part of the run here), so a text's skeleton (the runs, each
# literal as its kind) tells all that scan reads of it.
_LITERALS = re.compile(
    r"""((?:[^\W\d][\w$]*|"[^"]*(?:""[^"]*)*"|\$\d+|[^\w'])*)"""
    r"""(?:('[^']*(?:''[^']*)*')|(\d+\.?\d*(?:[eE][+-]?\d+)?[\w$]*)|(')|\Z)""",
)
# A literal's place in a skeleton: NUL never occurs in a query text (the protocol ends it).
_STR, _NUM = "\0'", "\0#"
# skeleton -> None (scan found no shape) or (nclient, which literals it lifted).
_SKELETONS: LRU = LRU(4096)
_SKELETON_TEXT = 4096  # the longest text whose skeleton is kept


def scan(sql: str) -> Shape | None:
    """The statement's shape, or None when it has no literal to lift or is not a candidate.

    A text of a skeleton seen before costs one pass for its literals and a lookup, not
    a scan."""
    if len(sql) > _SKELETON_TEXT:
        return _scan(sql)[0]  # a long text's skeleton is not kept: scanned as it is
    read = _compiled(sql) if _compiled is not None and sql.isascii() else _literals(sql)
    if read is None:
        return None  # no literal scan could lift
    skeleton, runs, found, starts, pending = read
    known = _SKELETONS.get(skeleton)
    if known is None:
        shape, lifted = _scan(sql)
        known = False if shape is None else (shape.nclient, tuple(s in lifted for s in starts))
        if known and sum(known[1]) != len(lifted):
            return shape  # the two tokenizers disagree (never, for every text tested)
        _SKELETONS[skeleton] = known
        return shape
    if known is False:
        return None
    nclient, lifts = known
    pieces: list[str] = []
    literals: list[str] = []
    for run, text, lift in zip(runs, found, lifts, strict=True):
        pieces.append(run)
        if lift:
            literals.append(text)
            pieces.append(f"${nclient + len(literals)}")
        else:
            pieces.append(text)
    pieces.append(pending)
    return Shape("".join(pieces), nclient, tuple(literals))


def _literals(sql: str) -> tuple[str, list[str], list[str], list[int], str] | None:
    """A text's skeleton (each literal scan may lift as its kind), the text before each
    of those literals, the literals, their offsets and the text after the last; None:
    it has none. (_shapes.c does the same for an ASCII text.)"""
    runs: list[str] = []  # the text before each literal
    found: list[str] = []  # the literals scan may lift, in order
    starts: list[int] = []
    key: list[str] = []
    pending = ""
    for m in _LITERALS.finditer(sql):
        run, text, num, quote = m.group(1, 2, 3, 4)
        key.append(run)
        if text is None:
            if quote is not None:  # a quote no string follows: part of the skeleton
                key.append(quote)
                pending += run + quote
                continue
            if num is None:  # the end
                pending += run
                break
            if not (_INT.fullmatch(num) or _decimal(num)):
                key.append(num)  # never lifted: part of the skeleton as it is
                pending += run + num
                continue
            text = num
            key.append(_NUM)
        else:
            key.append(_STR)
        runs.append(pending + run)
        pending = ""
        starts.append(m.end() - len(text))
        found.append(text)
    if not found:
        return None
    return "".join(key), runs, found, starts, pending


def _decimal(text: str) -> bool:
    """A decimal literal scan may lift (within the digits a double holds)."""
    return bool(_DECIMAL.fullmatch(text)) and len(text.replace(".", "").lstrip("0")) <= (
        _MAX_SIGNIFICANT
    )


def _scan(sql: str) -> tuple[Shape | None, set[int]]:
    """scan, token by token: the shape and where in `sql` each literal it lifted starts."""
    lifted: set[int] = set()
    pieces: list[Any] = []  # text between literals, and an int slot for literal i
    literals: list[str] = []
    nclient = 0
    lift = [False]  # per bracket depth: may literals of this clause become placeholders
    prev = ""  # the previous significant token, upper-cased for words
    prev_end = -1
    prev_word = False
    last = 0
    first = True
    for m in _TOKEN.finditer(sql):
        kind = m.lastgroup
        if kind == "word":
            upper = m.group(kind).upper()
            if first:
                if upper not in _FIRST:
                    return None, lifted  # SET, SHOW, DDL, EXPLAIN, VALUES …: the exact cache
                first = False
            clause = _CLAUSE.get(upper)
            if clause is not None:
                lift[-1] = clause
            prev, prev_word, prev_end = upper, True, m.end()
            continue
        if kind == "comment":
            text = m.group(kind)
            if text.startswith("/*") and ("/*+" in text or "/*" in text[2:]):
                return None, lifted  # a hint comment, or a nested comment the regex cannot follow
            continue
        if kind == "end":
            break
        if first or kind == "bad":
            return None, lifted  # (SELECT …), an unterminated string or comment, $$…$$
        if kind == "str" or kind == "num":
            start = m.start(kind)
            text = m.group(kind)
            if _liftable(kind, text, prev, prev_word, prev_end == start, lift[-1]):
                pieces.append(sql[last:start])
                pieces.append(len(literals))
                literals.append(text)
                lifted.add(start)
                last = m.end()
            prev, prev_word, prev_end = "'", False, m.end()
            continue
        if kind == "op":
            prev = m.group(kind)
            if prev == "/" and sql.startswith("*", m.end()):
                return None, lifted
            prev_word = False
        elif kind == "open":
            text = m.group(kind)
            fixed = text == "[" or (prev_word and prev in _FIXED_PARENS)
            lift.append(False if fixed else lift[-1])
            prev, prev_word = "(", False
        elif kind == "close":
            if len(lift) == 1:
                return None, lifted
            lift.pop()
            prev, prev_word = ")", False
        elif kind == "param":
            digits = m.group(kind)[1:]
            if len(digits) > 5:
                return None, lifted  # no Bind fills it: the exact parse says so (42P02)
            nclient = max(nclient, int(digits))
            prev, prev_word = "$", False
        elif kind == "ident":
            prev, prev_word = '"', True
        elif kind == "semi":
            if sql[m.end():].strip():
                return None, lifted  # several statements: the exact cache splits them
            prev, prev_word = ";", False
        prev_end = m.end()
    if not literals:
        return None, lifted
    pieces.append(sql[last:])
    out = "".join(p if isinstance(p, str) else f"${nclient + p + 1}" for p in pieces)
    return Shape(out, nclient, tuple(literals)), lifted


def _liftable(kind: str, text: str, prev: str, prev_word: bool, touching: bool,
              clause: bool) -> bool:
    if not clause:
        return False
    if prev_word:
        if touching or prev not in _BEFORE_WORDS:
            return False  # E'…', DATE '…', INTERVAL '…', LIMIT 10, AS OF '…' …
    elif prev not in _BEFORE_OPS:
        return False
    if kind == "str":
        return True
    if _INT.fullmatch(text):
        return True
    return bool(_DECIMAL.fullmatch(text)) and len(text.replace(".", "").lstrip("0")) <= (
        _MAX_SIGNIFICANT
    )


def values(shape: Shape, dialect: str) -> tuple[Any, ...]:
    """The literals as driver values: int, numeric as Decimal (float on SQLite, where
    `1.5` is a REAL and a Decimal would bind as text), strings with '' unescaped."""
    out: list[Any] = []
    for text in shape.literals:
        if text[0] == "'":
            out.append(text[1:-1].replace("''", "'"))
        elif "." not in text:
            out.append(int(text))
        elif dialect == "sqlite":
            out.append(float(text))
        else:
            out.append(Decimal(text))
    return tuple(out)


# ---------------------------------------------------------------- the once-per-shape check

_SAFE_PARENTS = (
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike, exp.In,
    exp.Between, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.DPipe, exp.Neg, exp.Paren,
    exp.Not, exp.And, exp.Or, exp.Case, exp.If, exp.Tuple, exp.Coalesce, exp.Lower, exp.Upper,
    exp.Abs, exp.Nullif, exp.Greatest, exp.Least, exp.Length,
)
_SESSION = (exp.CurrentUser, exp.SessionUser, exp.CurrentCatalog, exp.CurrentDatabase,
            exp.CurrentSchema, exp.CurrentVersion, exp.Anonymous)
_KINDS = frozenset({Kind.SELECT, Kind.INSERT, Kind.UPDATE, Kind.DELETE})
_DATETIMES = TEMPORAL | {exp.DType.INTERVAL}
_CONVERTED = frozenset({exp.DType.ARRAY, exp.DType.VARBINARY, exp.DType.INTERVAL}) | RANGE_TYPES


def check(statements: list[Statement], shape: Shape) -> list[Statement] | None:
    """The parsed shape with nparams/param_types cut back to the client's, or None if unsafe."""
    if len(statements) != 1:
        return None
    st = statements[0]
    tree = st.expression
    if (
        st.kind not in _KINDS or st.hints or st.setting is not None or st.catalog_only
        or tree is None or isinstance(tree, exp.Command)
    ):
        return None
    for node in tree.walk():
        if isinstance(node, _SESSION) or classify.is_user_column(node):
            return None  # session functions, set_config, dolt_*(), unknown functions
    seen: set[int] = set()
    for node in tree.find_all(exp.Parameter):
        value = node.this
        if not (isinstance(value, exp.Literal) and value.this.isdigit()):
            return None
        number = int(value.this)
        if number <= shape.nclient:
            continue
        if number in seen or not _value_context(node):
            return None
        seen.add(number)
    if len(seen) != len(shape.literals):
        return None
    n = shape.nclient
    return [dataclasses.replace(
        st, nparams=n, param_types=st.param_types[:n],
        param_columns=tuple(c for c in st.param_columns if c[0] < n),
        param_type_names=tuple(c for c in st.param_type_names if c[0] < n),
        literal_columns=tuple((i - n, t, c) for i, t, c in st.param_columns if i >= n),
    )]


def _value_context(node: exp.Expr) -> bool:
    child, parent = node, node.parent
    while parent is not None:
        key = child.arg_key
        if isinstance(parent, exp.Select):
            return False  # the projection, or anything else of a SELECT not under WHERE
        if isinstance(parent, exp.Where | exp.Having):
            return True
        if isinstance(parent, exp.Join):
            return key == "on"
        if isinstance(parent, exp.Values):
            return key == "expressions" and isinstance(parent.parent, exp.Insert)
        if isinstance(parent, exp.Update):
            return key == "expressions" and isinstance(child, exp.EQ) and isinstance(
                child.this, exp.Column
            )
        if isinstance(parent, exp.Cast):
            if key != "this" or parent.to.this in INTEGERS:
                return False  # CAST(3.7 AS INTEGER) rounds: SQLite's translation needs the literal
            if (
                parent.to.this in TEMPORAL
                or parent.to.this in _CONVERTED
                or isinstance(parent.to, exp.ObjectIdentifier)
            ):
                # '01/02/2024'::date is read by DateStyle and TimeZone; '{1,2}'::int[],
                # '\\x00'::bytea, '1 day'::interval, '[1,2]'::int4range, 'int4'::regtype:
                # the translation converts the literal (JSON, a blob, canonical text, an OID)
                return False
        elif isinstance(parent, exp.Add | exp.Sub) and _temporal(parent):
            return False  # DATE '…' + 1: the literal's type picks the translation
        elif isinstance(parent, exp.Div):
            return False  # 7 / 2: integer literals make it integer division (DIV on MySQL)
        elif not isinstance(parent, _SAFE_PARENTS):
            return False
        child, parent = parent, parent.parent
    return False


def _temporal(node: exp.Add | exp.Sub) -> bool:
    return any(pg_type(side) in _DATETIMES for side in (node.this, node.expression))
