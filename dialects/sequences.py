"""Sequences: CREATE / ALTER / DROP SEQUENCE read from their tokens, PostgreSQL's defaults and
checks, and nextval / currval / setval / lastval for each backend.

MariaDB has native sequences: the statements become MariaDB's own. SQLite has
none: the proxy keeps them in a table of its own (`pgproxy_sequences`) and the
backend's routines and SQL functions (pgproxy/backends/sqlite_sequences.py)
work on it, in the same SQLite transaction as the row they number. Pure
functions only; the routines call `resolve` with the stored row.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from dialects.api import Generated, Statement, Step, Target, TranslationError
from dialects.classify import _param_number as param_number
from dialects.classify import dotted_name, word
from dialects.engines import TSQL_SERVERS
from dialects.postgres import tokenize

TABLE = "pgproxy_sequences"
COLUMNS = ("name", "data_type", "start_value", "min_value", "max_value", "increment",
           "cache", "cycle", "last_value", "is_called", "owned_table", "owned_column")
CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, data_type TEXT NOT NULL, "
    "start_value INTEGER NOT NULL, min_value INTEGER NOT NULL, max_value INTEGER NOT NULL, "
    "increment INTEGER NOT NULL, cache INTEGER NOT NULL, cycle BOOLEAN NOT NULL, "
    "last_value BIGINT NOT NULL, is_called BOOLEAN NOT NULL, owned_table TEXT, "
    "owned_column TEXT)"
)
FUNCTIONS = frozenset({"nextval", "currval", "setval", "lastval"})

# PostgreSQL's sequence types and their ranges.
RANGES = {
    "smallint": (-32768, 32767),
    "integer": (-2147483648, 2147483647),
    "bigint": (-9223372036854775808, 9223372036854775807),
}
_TYPE_NAMES = {"smallint": "smallint", "int2": "smallint", "integer": "integer",
               "int": "integer", "int4": "integer", "bigint": "bigint", "int8": "bigint"}
# MariaDB's sequences stop one short of the signed 64-bit range.
_MARIADB_MAX = 9223372036854775806
_MARIADB_MIN = -9223372036854775807


@dataclass
class SequenceStatement:
    """What a CREATE / ALTER / DROP SEQUENCE says; an option given as None is NO <option>."""

    verb: str  # CREATE, ALTER, DROP
    names: list[str]
    if_exists: bool = False  # IF NOT EXISTS for CREATE
    options: dict[str, Any] = field(default_factory=dict)
    rename: str | None = None


def name_of(text: str) -> str:
    """A sequence name as nextval('…') reads it: unquoted parts lower-cased, `public.` dropped."""
    parts = []
    for match in re.finditer(r'"((?:[^"]|"")*)"|([^".]+)', text):
        quoted, plain = match.groups()
        parts.append(quoted.replace('""', '"') if quoted is not None else plain.strip().lower())
    if len(parts) == 2 and parts[0] == "public":
        parts = parts[1:]
    if not parts or not all(parts):
        raise TranslationError(f'invalid name syntax: "{text}"', "42602")
    return ".".join(parts)


def parse(sql: str) -> SequenceStatement:
    tokens = tokenize(sql)
    verb = word(tokens[0])
    i = 1
    while word(tokens[i]) in ("TEMP", "TEMPORARY", "UNLOGGED"):
        i += 1
    i += 1  # SEQUENCE
    found = SequenceStatement(verb, [])
    if word_at(tokens, i) == "IF":
        found.if_exists = True
        i += 3 if verb == "CREATE" else 2
    while True:
        name, i = _name(tokens, i)
        found.names.append(name)
        if verb == "DROP" and i < len(tokens) and tokens[i].token_type == TokenType.COMMA:
            i += 1
            continue
        break
    if verb == "DROP":
        if i < len(tokens) and word(tokens[i]) not in ("CASCADE", "RESTRICT"):
            raise _syntax(tokens[i])
        return found
    _options(tokens, i, found)
    return found


def word_at(tokens: list[Token], i: int) -> str:
    return word(tokens[i]) if i < len(tokens) else ""


def _syntax(tok: Token | None) -> TranslationError:
    near = f' at or near "{tok.text}"' if tok is not None else " at end of input"
    return TranslationError(f"syntax error{near}", "42601")


def _name(tokens: list[Token], i: int) -> tuple[str, int]:
    if i >= len(tokens):
        raise _syntax(None)
    parts = []
    while True:
        tok = tokens[i]
        if tok.token_type == TokenType.IDENTIFIER:
            parts.append(f'"{tok.text}"')
        elif tok.text.replace("_", "a").isalnum():
            parts.append(tok.text)
        else:
            raise _syntax(tok)
        i += 1
        if i < len(tokens) and tokens[i].token_type == TokenType.DOT:
            i += 1
            continue
        return name_of(".".join(parts)), i


def _number(tokens: list[Token], i: int) -> tuple[int, int]:
    sign = 1
    if i < len(tokens) and tokens[i].token_type in (TokenType.DASH, TokenType.PLUS):
        sign = -1 if tokens[i].token_type == TokenType.DASH else 1
        i += 1
    if i >= len(tokens) or tokens[i].token_type != TokenType.NUMBER:
        raise _syntax(tokens[i] if i < len(tokens) else None)
    try:
        return sign * int(tokens[i].text), i + 1
    except ValueError:
        raise TranslationError(f'invalid input syntax for type bigint: "{tokens[i].text}"',
                               "22P02") from None


def _options(tokens: list[Token], i: int, found: SequenceStatement) -> None:
    opts = found.options
    while i < len(tokens):
        w = word(tokens[i])
        nxt = word_at(tokens, i + 1)
        if w == "AS":
            type_name = nxt.lower()
            if type_name not in _TYPE_NAMES:
                raise TranslationError("sequence type must be smallint, integer, or bigint",
                                       "22023")
            opts["data_type"] = _TYPE_NAMES[type_name]
            i += 2
        elif w == "INCREMENT":
            i += 2 if nxt == "BY" else 1
            opts["increment"], i = _number(tokens, i)
        elif w in ("MINVALUE", "MAXVALUE", "CACHE"):
            opts[w.lower()], i = _number(tokens, i + 1)
        elif w == "NO" and nxt in ("MINVALUE", "MAXVALUE"):
            opts[nxt.lower()] = None
            i += 2
        elif w == "NO" and nxt == "CYCLE":
            opts["cycle"] = False
            i += 2
        elif w == "CYCLE":
            opts["cycle"] = True
            i += 1
        elif w in ("START", "RESTART"):
            i += 2 if nxt == "WITH" else 1
            if w == "RESTART" and (i >= len(tokens) or tokens[i].token_type not in (
                TokenType.NUMBER, TokenType.DASH, TokenType.PLUS
            )):
                opts["restart"] = True  # RESTART alone: back to START
            else:
                opts[w.lower()], i = _number(tokens, i)
        elif w == "OWNED" and nxt == "BY":
            if word_at(tokens, i + 2) == "NONE":
                opts["owned_by"] = None
                i += 3
            else:
                owner, i = _owner(tokens, i + 2)
                opts["owned_by"] = owner
        elif w == "RENAME" and nxt == "TO" and found.verb == "ALTER":
            found.rename, i = _name(tokens, i + 2)
        elif w in ("OWNER", "SET") and found.verb == "ALTER":
            i = len(tokens)  # OWNER TO / SET SCHEMA / SET LOGGED: nothing to change here
        else:
            raise _syntax(tokens[i])


def _owner(tokens: list[Token], i: int) -> tuple[tuple[str, str], int]:
    parts, i = dotted_name(tokens, i)
    if len(parts) < 2:
        raise TranslationError("invalid OWNED BY option", "42601")
    return (parts[-2], parts[-1]), i


def resolve(options: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """A sequence's full definition from the options given (over `current` for ALTER),
    with PostgreSQL's defaults and its checks (22023)."""
    out = dict(current or {})
    data_type = options.get("data_type", out.get("data_type", "bigint"))
    low, high = RANGES[data_type]
    increment = options.get("increment", out.get("increment", 1))
    if increment == 0:
        raise TranslationError("INCREMENT must not be zero", "22023")
    changed_type = "data_type" in options and current is not None
    min_value = _bound(options, out, "minvalue", "min_value", changed_type,
                       1 if increment > 0 else low)
    max_value = _bound(options, out, "maxvalue", "max_value", changed_type,
                       high if increment > 0 else -1)
    for name, value in (("MINVALUE", min_value), ("MAXVALUE", max_value)):
        if not low <= value <= high:
            raise TranslationError(
                f"{name} ({value}) is out of range for sequence data type {data_type}", "22023"
            )
    if min_value >= max_value:
        raise TranslationError(
            f"MINVALUE ({min_value}) must be less than MAXVALUE ({max_value})", "22023"
        )
    start = options.get("start", out.get("start_value"))
    if start is None:
        start = min_value if increment > 0 else max_value
    if start < min_value:
        raise TranslationError(
            f"START value ({start}) cannot be less than MINVALUE ({min_value})", "22023"
        )
    if start > max_value:
        raise TranslationError(
            f"START value ({start}) cannot be greater than MAXVALUE ({max_value})", "22023"
        )
    cache = options.get("cache", out.get("cache", 1))
    if cache < 1:
        raise TranslationError(f"CACHE ({cache}) must be greater than zero", "22023")
    out.update(data_type=data_type, increment=increment, min_value=min_value,
               max_value=max_value, start_value=start, cache=cache,
               cycle=bool(options.get("cycle", out.get("cycle", False))))
    restart = options.get("restart")
    if current is None or restart is not None:
        value = start if restart in (None, True) else restart
        if not min_value <= value <= max_value:
            raise TranslationError(
                f"RESTART value ({value}) cannot be outside [{min_value}, {max_value}]", "22023"
            )
        out.update(last_value=value, is_called=False)
    if "owned_by" in options:
        owner = options["owned_by"]
        out.update(owned_table=owner[0] if owner else None,
                   owned_column=owner[1] if owner else None)
    out.setdefault("owned_table", None)
    out.setdefault("owned_column", None)
    return out


def _bound(options: dict[str, Any], out: dict[str, Any], key: str, column: str,
           changed_type: bool, default: int) -> int:
    if key in options:
        return default if options[key] is None else options[key]
    if column in out and not changed_type:
        return out[column]
    return default


# --- per backend ---------------------------------------------------------------------------


def generate(statement: Statement, target: Target) -> Generated:
    found = parse(statement.sql)
    if target.dialect == "sqlite":
        return _sqlite(found)
    if target.dialect == "mariadb":
        return _mariadb(found)
    if target.dialect in TSQL_SERVERS:
        from dialects.tsql_sequences import generate as tsql

        return tsql(found, target.backend)
    raise TranslationError(f"{target.backend}: sequences are not supported (MySQL has none; "
                           "MariaDB and SQLite have them)", "0A000")


def _sqlite(found: SequenceStatement) -> Generated:
    if found.verb == "CREATE":
        definition = resolve(found.options)  # checked here, so the routine only stores it
        return Generated("", steps=(
            Step(sql=CREATE_TABLE),
            Step(routine="create_sequence",
                 args=(found.names[0], found.if_exists, tuple(definition.items()))),
        ))
    if found.verb == "ALTER":
        return Generated("", steps=(Step(
            routine="alter_sequence",
            args=(found.names[0], found.if_exists, tuple(found.options.items()), found.rename),
        ),))
    return Generated("", steps=(
        Step(routine="drop_sequences", args=(tuple(found.names), found.if_exists)),
    ))


def _q(name: str) -> str:
    return ".".join(exp.to_identifier(p, quoted=True).sql("mysql") for p in name.split("."))


def owned_by_notices(found: SequenceStatement, backend: str) -> list[str]:
    """The NOTICEs a statement starts with: OWNED BY, which no backend's sequence keeps."""
    if found.options.get("owned_by") is not None:
        return [f"{backend}: OWNED BY is not kept; DROP TABLE leaves the sequence"]
    return []


def drop_sql(found: SequenceStatement, quote: t.Callable[[str], str]) -> Generated:
    """DROP SEQUENCE [IF EXISTS] of every name, as MariaDB and SQL Server both write it."""
    exists = " IF EXISTS" if found.if_exists else ""
    return Generated(f"DROP SEQUENCE{exists} {', '.join(quote(n) for n in found.names)}")


def increment_and_bounds(opts: dict[str, t.Any]) -> list[str]:
    """ALTER SEQUENCE's INCREMENT BY, [NO] MINVALUE and [NO] MAXVALUE clauses."""
    parts = []
    if "increment" in opts:
        parts.append(f"INCREMENT BY {opts['increment']}")
    for key in ("minvalue", "maxvalue"):
        if key in opts:
            parts.append(f"NO {key.upper()}" if opts[key] is None else f"{key.upper()} {opts[key]}")
    return parts


def _mariadb(found: SequenceStatement) -> Generated:
    notices = owned_by_notices(found, "mariadb")
    if found.verb == "DROP":
        return drop_sql(found, _q)
    name = _q(found.names[0])
    if found.verb == "CREATE":
        d = resolve(found.options)
        exists = " IF NOT EXISTS" if found.if_exists else ""
        sql = (f"CREATE SEQUENCE{exists} {name} INCREMENT BY {d['increment']} "
               f"MINVALUE {max(d['min_value'], _MARIADB_MIN)} "
               f"MAXVALUE {min(d['max_value'], _MARIADB_MAX)} START WITH {d['start_value']} "
               f"{'CACHE ' + str(d['cache']) if d['cache'] > 1 else 'NOCACHE'} "
               f"{'CYCLE' if d['cycle'] else 'NOCYCLE'}")
        return Generated(sql, notices=tuple(notices))
    if found.rename:
        return Generated(f"RENAME TABLE {name} TO {_q(found.rename)}")
    opts = found.options
    if "data_type" in opts:
        notices.append("mariadb: AS <type> is not kept; the sequence stays bigint")
    parts = increment_and_bounds(opts)
    if "start" in opts:
        parts.append(f"START WITH {opts['start']}")
    if "cache" in opts:
        parts.append(f"CACHE {opts['cache']}" if opts["cache"] > 1 else "NOCACHE")
    if "cycle" in opts:
        parts.append("CYCLE" if opts["cycle"] else "NOCYCLE")
    if "restart" in opts:
        parts.append("RESTART" if opts["restart"] is True else f"RESTART WITH {opts['restart']}")
    if not parts:
        return Generated("", notices=tuple(notices))
    exists = " IF EXISTS" if found.if_exists else ""
    return Generated(f"ALTER SEQUENCE{exists} {name} {' '.join(parts)}", notices=tuple(notices))


def is_qualified_call(node: exp.Expr) -> bool:
    """pg_catalog.setval(…) as pg_dump writes it."""
    return (
        isinstance(node, exp.Dot) and isinstance(node.expression, exp.Anonymous)
        and node.expression.name.lower() in FUNCTIONS and node.this.name.lower() == "pg_catalog"
    )


def unqualify(expression: exp.Expr) -> exp.Expr:
    for node in list(expression.find_all(exp.Dot)):
        if is_qualified_call(node):
            node.replace(node.expression)
    return expression


# A sequence named by a client parameter ($n is BOUND_NAME + str(n - 1)): the proxy looks
# the value up and puts the sequence's quoted name in its place (dialects/sequence_calls.py).
BOUND_NAME = "pgproxy_bound_seq_"
# The value of the session's last nextval(), which MariaDB does not keep: lastval().
LASTVAL = "@pgproxy_lastval"


def mariadb_functions(expression: exp.Expr) -> exp.Expr:
    """nextval('s') -> NEXTVAL(s), currval -> LASTVAL, setval -> SETVAL: MariaDB takes the
    sequence as a name, so it is a constant in the statement's text or a parameter the
    proxy resolves. Outside DDL, nextval also keeps its value for lastval()."""
    unqualify(expression)
    ddl = isinstance(expression, (exp.Create, exp.Alter, exp.Drop))
    for node in list(expression.find_all(exp.Anonymous)):
        fn = node.name.lower()
        if fn not in FUNCTIONS:
            continue
        args = node.expressions
        if fn == "lastval":
            if args:
                raise TranslationError("function lastval(unknown) does not exist", "42883")
            node.replace(exp.var(LASTVAL))
            continue
        if not args:
            raise TranslationError(f"function {fn}() does not exist", "42883")
        name = _constant_name(args[0], fn)
        call: exp.Expr = exp.Anonymous(
            this={"nextval": "NEXTVAL", "currval": "LASTVAL", "setval": "SETVAL"}[fn],
            expressions=[exp.column(exp.to_identifier(name.split(".")[-1], quoted=True)),
                         *args[1:]])
        if fn == "nextval" and not ddl:
            call = exp.Paren(this=exp.PropertyEQ(this=exp.var(LASTVAL), expression=call))
        node.replace(call)
    return expression


def no_sequences(expression: exp.Expr) -> exp.Expr:
    """MySQL has no sequences: nextval() and friends are refused by name."""
    for node in expression.find_all(exp.Anonymous):
        if node.name.lower() in FUNCTIONS:
            raise TranslationError(
                f"mysql: {node.name.lower()}() is not supported: MySQL has no sequences", "0A000"
            )
    return expression


def _constant_name(arg: exp.Expr, fn: str) -> str:
    while isinstance(arg, exp.Cast):
        arg = arg.this
    if isinstance(arg, exp.Literal) and arg.is_string:
        return name_of(arg.this)
    if isinstance(arg, exp.Parameter) and (number := param_number(arg)):
        return f"{BOUND_NAME}{number - 1}"
    raise TranslationError(
        f"mariadb: {fn}() needs the sequence name as a constant or a parameter here,"
        f" e.g. {fn}('my_seq')", "0A000",
    )


def strip_regclass(expression: exp.Expr) -> exp.Expr:
    """nextval('s'::regclass) is nextval('s'): the SQL functions take the name as text."""
    unqualify(expression)
    for node in list(expression.find_all(exp.Anonymous)):
        if node.name.lower() in FUNCTIONS and node.expressions:
            arg = node.expressions[0]
            if isinstance(arg, exp.Cast) and isinstance(arg.this, exp.Literal):
                arg.replace(arg.this)
    return expression


def add_identity(tokens: list[Token], target: Target) -> Generated:
    """ALTER TABLE t ALTER [COLUMN] c ADD GENERATED … AS IDENTITY [(SEQUENCE NAME s …)], as
    pg_dump writes identity columns: a sequence owned by the column, and its default."""
    words = [word(tok) for tok in tokens]
    i = 2
    if words[i : i + 2] == ["IF", "EXISTS"]:
        i += 2
    if words[i] == "ONLY":
        i += 1
    table, i = _name(tokens, i)
    if words[i : i + 1] != ["ALTER"]:
        raise _syntax(tokens[i] if i < len(tokens) else None)
    i += 2 if words[i + 1] == "COLUMN" else 1
    column = tokens[i].text if tokens[i].token_type == TokenType.IDENTIFIER else (
        tokens[i].text.lower())
    i += 1
    try:
        i = words.index("IDENTITY", i) + 1
    except ValueError:
        raise _syntax(None) from None
    found = SequenceStatement("CREATE", [f"{table}_{column}_seq"[:63]])
    if i < len(tokens) and tokens[i].token_type == TokenType.L_PAREN:
        inner = tokens[i + 1 : -1] if tokens[-1].token_type == TokenType.R_PAREN else []
        if [word(t) for t in inner[:2]] == ["SEQUENCE", "NAME"]:
            found.names[0], end = _name(inner, 2)
            inner = inner[end:]
        _options(inner, 0, found)
    found.options["owned_by"] = (table, column)
    name = found.names[0]
    if target.dialect == "sqlite":
        return Generated("", steps=(
            Step(sql=CREATE_TABLE),
            Step(routine="add_identity",
                 args=(table, column, name, tuple(found.options.items()))),
        ))
    if target.dialect != "mariadb":
        raise TranslationError(f"{target.backend}: identity columns added by ALTER TABLE are "
                               "not supported", "0A000")
    create = _mariadb(found)
    default = (f"ALTER TABLE {_q(table)} ALTER COLUMN {_q(column)} "
               f"SET DEFAULT NEXTVAL({_q(name)})")
    return Generated("", steps=(Step(sql=create.sql), Step(sql=default)), notices=create.notices)
