"""Which reads the query cache may keep, and which temporary relations a statement creates.

A read is cacheable only when its answer depends on nothing but the tables it
reads, its parameters and the session settings the cache keys on. Functions
are judged by an allow-list: PostgreSQL's immutable built-ins (from
pg_functions.txt, PostgreSQL's own pg_proc), the functions sqlglot parses into
typed nodes listed here, and a few stable ones whose only inputs are settings
the cache keys on. Any other function makes the read uncacheable, so a
user-defined function or one added to PostgreSQL later is never cached by
mistake; and since a user-defined function may write, a read calling one
tells the cache it may have changed any table.
"""

from __future__ import annotations

from pathlib import Path

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from dialects.api import Hints, Kind
from dialects.classify import dotted_name, function_name, word

# Functions as sqlglot parses PostgreSQL's names (position -> StrPosition,
# string_agg -> GroupConcat, to_char -> TimeToStr …); exact types, so a new
# subclass (CurrentTimestamp is no Func of these) is not allowed by accident.
SAFE_CLASSES: frozenset[type[exp.Expr]] = frozenset(
    {
        # aggregates and window functions
        exp.ArrayAgg, exp.Avg, exp.BitwiseAndAgg, exp.BitwiseOrAgg, exp.Corr, exp.Count,
        exp.CovarPop, exp.CovarSamp, exp.CumeDist, exp.DenseRank, exp.FirstValue,
        exp.GroupConcat, exp.JSONArrayAgg, exp.JSONBObjectAgg, exp.JSONObjectAgg, exp.Lag,
        exp.LastValue, exp.Lead, exp.LogicalAnd, exp.LogicalOr, exp.Max, exp.Min, exp.Mode,
        exp.NthValue, exp.Ntile, exp.PercentRank, exp.PercentileCont, exp.PercentileDisc,
        exp.Rank, exp.RowNumber, exp.Stddev, exp.StddevPop, exp.StddevSamp, exp.Sum,
        exp.Variance, exp.VariancePop,
        # operators sqlglot models as functions
        exp.And, exp.Or, exp.Xor, exp.ArrayContainedBy, exp.ArrayContains, exp.ArrayOverlaps,
        exp.JSONArrayContains, exp.JSONBContains, exp.JSONBContainsAllTopKeys,
        exp.JSONBContainsAnyTopKeys, exp.JSONBDeleteAtPath, exp.JSONBPathExists,
        exp.RegexpFullMatch,
        # conditionals, casts, constructors
        exp.Array, exp.Case, exp.Cast, exp.Coalesce, exp.Collate, exp.Exists, exp.Greatest,
        exp.If, exp.Least, exp.Nullif, exp.TryCast,
        # strings
        exp.Ascii, exp.BitLength, exp.Chr, exp.Concat, exp.ConcatWs, exp.Decode, exp.Encode,
        exp.Format, exp.Hex, exp.Initcap, exp.Left, exp.Length, exp.Lower, exp.MD5,
        exp.Overlay, exp.Pad, exp.RegexpILike, exp.RegexpLike, exp.RegexpReplace, exp.Repeat,
        exp.Replace, exp.Reverse, exp.Right, exp.SHA2Digest, exp.SplitPart, exp.StartsWith,
        exp.StrPosition, exp.StringToArray, exp.Substring, exp.Translate, exp.Trim, exp.Upper,
        # numbers
        exp.Abs, exp.Acos, exp.Asin, exp.Atan, exp.Atan2, exp.Cbrt, exp.Ceil, exp.Cos,
        exp.Degrees, exp.Exp, exp.Floor, exp.Ln, exp.Log, exp.Pi, exp.Pow, exp.Radians,
        exp.Round, exp.Sign, exp.Sin, exp.Sqrt, exp.Tan, exp.ToNumber, exp.Trunc,
        exp.WidthBucket,
        # dates and times (the TimeZone and DateStyle they read are in the cache key)
        exp.Extract, exp.JustifyDays, exp.JustifyHours, exp.JustifyInterval,
        exp.MakeInterval, exp.StrToDate, exp.StrToTime, exp.TimeFromParts, exp.TimeToStr,
        exp.TimestampFromParts, exp.TimestampTrunc, exp.UnixToTime,
        # arrays and JSON
        exp.ArrayAppend, exp.ArrayConcat, exp.ArrayContainsAll, exp.ArrayPosition,
        exp.ArrayPrepend, exp.ArrayRemove, exp.ArraySize, exp.ArrayToString, exp.Explode,
        exp.ExplodingGenerateSeries, exp.JSONBContainsTopKey, exp.JSONBExtract,
        exp.JSONBExtractScalar, exp.JSONExtract, exp.JSONExtractScalar, exp.Unnest,
    }
)


def _pg_functions() -> dict[str, str]:
    """PostgreSQL's built-in function names, lower-cased, and their overloads' volatility."""
    text = (Path(__file__).with_name("pg_functions.txt")).read_text()
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, volatility = line.partition(" ")
            out[name.lower()] = out.get(name.lower(), "") + volatility
    return out


PG_FUNCTIONS = _pg_functions()
# Functions sqlglot keeps by name (exp.Anonymous) that PostgreSQL marks stable, but
# whose only inputs besides their arguments are settings in the cache key (TimeZone,
# DateStyle, search_path for regtype output …); and syntax sqlglot reads as a call.
SAFE_NAMES = frozenset(
    {
        "age",  # with two arguments only: age(x) is measured from today
        "json_build_array", "json_build_object", "jsonb_agg", "jsonb_build_array",
        "jsonb_build_object", "pg_typeof", "quote_literal", "quote_nullable", "row_to_json",
        "to_json", "to_jsonb",
        "row", "all", "some",  # ROW(a, b), a = ALL(…), a = SOME(…)
    }
)
# Not PostgreSQL built-ins, known to change no table.
READ_ONLY_NAMES = frozenset({"random_normal", "active_branch"})
_READ_ONLY_PREFIXES = ("uuid_generate_",)  # the uuid-ossp extension
# Sequence functions: they change the sequence their first argument names.
_SEQUENCE_WRITERS = frozenset({"nextval", "setval"})
# Bare words PostgreSQL reads as session values where sqlglot sees a column.
_SESSION_WORDS = frozenset(
    {"user", "current_user", "current_role", "session_user", "system_user", "current_schema",
     "current_catalog"}
)
# Date/time input strings that mean "the current moment": '<word>'::timestamp.
_CLOCK_WORDS = frozenset({"now", "today", "tomorrow", "yesterday"})
_TEMP_SCHEMA = "pg_temp"
# CREATE [GLOBAL | LOCAL] TEMP | TEMPORARY …
_TEMP_WORDS = frozenset({"TEMP", "TEMPORARY"})
_CREATE_SKIP = frozenset({"OR", "REPLACE", "GLOBAL", "LOCAL", "UNLOGGED", "RECURSIVE"})
_RELATIONS = frozenset({"TABLE", "VIEW", "SEQUENCE"})
# Statements that may create temporary relations whose names the text does not show.
ANY_TEMP = "*"
# A read whose function calls may change any table.
ANY_TABLE = "*"
_OPAQUE = frozenset({"CALL", "DO", "EXECUTE"})


def cacheable(
    expression: exp.Expr, kind: Kind, read: frozenset[str], written: frozenset[str], hints: Hints
) -> bool:
    """True for a single read whose answer the cache may keep and hand to other sessions."""
    return (
        kind is Kind.SELECT
        and not written
        # A branch or ref (HEAD~1, main) moves without any table being written.
        and not hints
        # Dolt's system tables change with commits and branch switches, not writes.
        and not any(name.startswith("dolt_") for name in read)
        # A pg_temp (pg_temp_N) relation is this session's own.
        and not any("." in name and name.startswith(_TEMP_SCHEMA) for name in read)
        and not expression.find(exp.Lock, exp.TableSample)
        and deterministic(expression)
    )


def deterministic(expression: exp.Expr) -> bool:
    """Every function is on the allow-list, and nothing reads the clock or the session."""
    for node in expression.find_all(exp.Func, exp.Column):
        if isinstance(node, exp.Column):
            if _session_word(node):
                return False
        elif isinstance(node, exp.Anonymous):
            name = node.name.lower()
            if name in SAFE_NAMES:
                if name == "age" and len(node.expressions) < 2:
                    return False
            elif PG_FUNCTIONS.get(name) != "i":
                return False
        elif type(node) not in SAFE_CLASSES and PG_FUNCTIONS.get(function_name(node)) != "i":
            return False  # a typed node by PostgreSQL's name: regexp_count -> RegexpCount
        elif isinstance(node, exp.Cast) and _reads_clock(node):
            return False
    return True


def side_effects(expression: exp.Expr) -> frozenset[str]:
    """Tables a read's function calls may change (bare, lower-cased); ANY_TABLE when it
    calls a function the proxy does not know, which may change any table.

    PostgreSQL's built-ins (and the functions sqlglot types, all built-ins) change no
    table but a sequence.
    """
    out: set[str] = set()
    for node in expression.find_all(exp.Anonymous):
        name = node.name.lower()
        if name not in _SEQUENCE_WRITERS and (
            name in PG_FUNCTIONS or name in SAFE_NAMES or name in READ_ONLY_NAMES
            or name.startswith(_READ_ONLY_PREFIXES)
        ):
            continue
        sequence = _sequence_named(node) if name in _SEQUENCE_WRITERS else None
        if sequence is None:
            return frozenset({ANY_TABLE})
        out.add(sequence)
    return frozenset(out)


def _sequence_named(call: exp.Anonymous) -> str | None:
    """The sequence of nextval('s') / nextval('public.s'::regclass), or None if not a literal."""
    arg = call.expressions[0] if call.expressions else None
    if isinstance(arg, exp.Cast):
        arg = arg.this
    if isinstance(arg, exp.Literal) and arg.is_string:
        return arg.this.rpartition(".")[2].strip('"').lower()
    return None


def _session_word(node: exp.Column) -> bool:
    ident = node.this
    return (
        not node.table
        and isinstance(ident, exp.Identifier)
        and not ident.quoted
        and ident.name.lower() in _SESSION_WORDS
    )


def _reads_clock(cast: exp.Cast) -> bool:
    """'now'::timestamp, DATE 'today' …: PostgreSQL reads the clock for these strings."""
    value = cast.this
    return (
        isinstance(value, exp.Literal)
        and value.is_string
        and value.this.strip().lower() in _CLOCK_WORDS
        and cast.to.is_type(*exp.DataType.TEMPORAL_TYPES)
    )


def temp_created(expression: exp.Expr | None, tokens: list[Token]) -> frozenset[str]:
    """Bare lower-cased names of the temporary relations a statement creates.

    `ANY_TEMP` when it may create some the text does not name: CALL, DO and
    EXECUTE run code the proxy cannot see, and a CREATE TEMP sqlglot keeps
    as a Command whose name the tokens do not give.
    """
    first = word(tokens[0]) if tokens else ""
    if first in _OPAQUE:
        return frozenset({ANY_TEMP})
    if isinstance(expression, exp.Create):
        target = expression.this
        if isinstance(target, exp.Schema):
            target = target.this
        props = expression.args.get("properties")
        temporary = props is not None and any(
            isinstance(p, exp.TemporaryProperty) for p in props.expressions
        )
        if isinstance(target, exp.Table) and (temporary or target.db.lower() == _TEMP_SCHEMA):
            return frozenset({target.name.lower()})
        if temporary:
            return frozenset({ANY_TEMP})
        return frozenset()
    if isinstance(expression, exp.Select):
        into = expression.args.get("into")
        if isinstance(into, exp.Into) and isinstance(into.this, exp.Table) and (
            into.args.get("temporary") or into.this.db.lower() == _TEMP_SCHEMA
        ):
            return frozenset({into.this.name.lower()})
        return frozenset()
    if first == "CREATE" and (expression is None or isinstance(expression, exp.Command)):
        return _created_by_tokens(tokens)
    return frozenset()


def _created_by_tokens(tokens: list[Token]) -> frozenset[str]:
    """CREATE [GLOBAL|LOCAL] TEMP TABLE [IF NOT EXISTS] name … kept whole by sqlglot."""
    i = 1
    temporary = False
    while i < len(tokens) and (word(tokens[i]) in _CREATE_SKIP or word(tokens[i]) in _TEMP_WORDS):
        temporary = temporary or word(tokens[i]) in _TEMP_WORDS
        i += 1
    if i >= len(tokens) or word(tokens[i]) not in _RELATIONS:
        return frozenset({ANY_TEMP}) if temporary else frozenset()
    i += 1
    if [word(t) for t in tokens[i : i + 3]] == ["IF", "NOT", "EXISTS"]:
        i += 3
    parts, i = dotted_name(tokens, i, _is_name)
    if not parts:
        return frozenset({ANY_TEMP}) if temporary else frozenset()
    if temporary or (len(parts) > 1 and parts[-2].lower() == _TEMP_SCHEMA):
        return frozenset({parts[-1].lower()})
    return frozenset()


def _is_name(token: Token) -> bool:
    return token.token_type == TokenType.IDENTIFIER or token.text.isidentifier()
