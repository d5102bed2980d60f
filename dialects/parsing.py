"""parse(): split a simple-query string into statements, parse each with sqlglot, classify it.

Like PostgreSQL, the whole string is checked first: a syntax error or an
invalid hint anywhere raises TranslationError and nothing of the string runs.
"""

from __future__ import annotations

import logging
import re

from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from dialects import cacheability, classify, copy, ddl, hints, paramcols, usertypes
from dialects.api import Hints, Kind, Setting, Statement, TranslationError
from dialects.postgres import dialect, tokenize

_LEADING_COMMENTS = re.compile(r"\s*(?:--[^\n]*(?:\n|$)|/\*(.*?)\*/)", re.DOTALL)
_PARAM = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|\$(\d+)", re.DOTALL)
_TX = frozenset({"BEGIN", "START", "COMMIT", "END", "ABORT", "ROLLBACK", "SAVEPOINT", "RELEASE"})
_SETTINGS = frozenset({"SET", "RESET", "SHOW"})
_TOKEN_DDL = frozenset({"CREATE SEQUENCE", "ALTER SEQUENCE", "DROP SEQUENCE", "DROP INDEX",
                        "DROP TYPE", "ALTER TYPE", "COMMENT", "ALTER INDEX"})
_PGPROXY = {"pgproxy.branch": "branch", "pgproxy.as_of": "as_of"}

# A Bind carries at most 65,535 values, so no statement can use a higher $n.
MAX_PARAMS = 65_535
# How deep a statement may nest, counted on its text before sqlglot sees it:
# each open bracket or CASE is a level, and so is each operator of a chain that
# sqlglot builds as a left-deep tree (1+1+...). sqlglot parses and generates
# recursively and gives up near 450 levels; this leaves room for the stages
# after it. AND, OR and || chains are built flat and cost nothing.
MAX_DEPTH = 200
# Skipped whole: strings, quoted names, comments, dollar quotes, $n. An
# unterminated one runs to the end of the text, so the scan stays linear.
_NESTING = re.compile(
    r"""[eE]'[^'\\]*+(?:(?:''|\\.)[^'\\]*+)*+'?|'[^']*+(?:''[^']*+)*+'?|"[^"]*+(?:""[^"]*+)*+"?
    |--[^\n]*|/\*(?:.*?\*/|.*)|\$((?:[^\W\d]\w*)?)\$(?:.*?\$\1\$|.*)|\$\d+
    |(?P<open>[(\[{])|(?P<close>[)\]}])|(?P<reset>[,;])|(?P<op>[-+*/%^=<>!~&|#@:]+)
    |(?P<word>[^\W\d][\w$]*)""",
    re.DOTALL | re.VERBOSE,
)
_FLAT_OPS = frozenset({"||"})
_CHAIN_WORDS = frozenset({"NOT", "IN", "IS", "LIKE", "ILIKE", "BETWEEN"})
_RESET_WORDS = frozenset({"AND", "OR", "WHEN", "THEN", "ELSE", "SELECT", "FROM", "WHERE"})
_TOO_DEEP = "stack depth limit exceeded"


class _QuietCommandFallback(logging.Filter):
    """sqlglot warns when it keeps a statement as an opaque Command; we classify those ourselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


logging.getLogger("sqlglot").addFilter(_QuietCommandFallback())


def parse(sql: str) -> list[Statement]:
    _check_depth(sql)
    try:
        tokens = tokenize(sql)
    except TokenError as e:
        raise TranslationError(_tidy(str(e)), "42601") from None
    except RecursionError:
        raise TranslationError(_TOO_DEEP, "54001") from None
    _check_params(tokens)
    try:
        statements = [_statement(sql, chunk, text) for chunk, text in _split(sql, tokens)]
    except RecursionError:  # a shape the token count did not foresee: still PostgreSQL's error
        raise TranslationError(_TOO_DEEP, "54001") from None
    return statements or [Statement(sql=sql, kind=Kind.EMPTY, tag="")]


def _check_depth(sql: str) -> None:
    """Refuse nesting too deep to parse, from the text alone, before tokenizing.

    The scan stops at the first level past MAX_DEPTH, so a hostile statement
    costs about as much as its first few hundred brackets or operators.
    Strings, quoted names, comments and dollar quotes are skipped whole.
    """
    depth = 0  # the nesting estimate here: open levels plus chain links
    chains = [0]  # per open level, the chained operators since its last reset
    for match in _NESTING.finditer(sql):
        kind = match.lastgroup
        if kind is None:
            continue  # a string, a quoted name, a comment, a $n
        if kind == "word":
            word = match.group(kind).upper()
            if word == "CASE":
                kind = "open"
            elif word == "END":
                kind = "close"
            elif word in _RESET_WORDS:
                kind = "reset"
            elif word not in _CHAIN_WORDS:
                continue
            else:
                kind = "op"
        if kind == "op":
            if match.group() in _FLAT_OPS:
                continue
            chains[-1] += 1
            depth += 1
        elif kind == "open":
            chains.append(0)
            depth += 1
        elif kind == "close":
            if len(chains) > 1:
                depth -= chains.pop() + 1
            continue
        else:
            depth -= chains[-1]
            chains[-1] = 0
            continue
        if depth > MAX_DEPTH:
            raise TranslationError(_TOO_DEEP, "54001")


def _check_params(tokens: list[Token]) -> None:
    """Refuse a $n that no Bind can fill, before anything is sized by it."""
    after_dollar = False
    for tok in tokens:
        kind = tok.token_type
        if after_dollar and kind is TokenType.NUMBER:
            param_number(tok.text)
        after_dollar = kind is TokenType.PARAMETER


def param_number(digits: str) -> int:
    """The n of a $n, which must be one a Bind can supply (1 to 65,535), else 42P02."""
    # Checked on the digits: a thousand-digit n is refused without becoming an int.
    n = int(digits) if len(digits) <= 5 and digits.isdigit() else MAX_PARAMS + 1
    if not 0 < n <= MAX_PARAMS:
        raise TranslationError(f"there is no parameter ${digits[:20]}", "42P02")
    return n


def _split(sql: str, tokens: list[Token]) -> list[tuple[list[Token], str]]:
    chunks: list[tuple[list[Token], str]] = []
    current: list[Token] = []
    begin = 0
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            if current:
                chunks.append((current, sql[begin : current[-1].end + 1].strip()))
            current = []
            begin = tok.end + 1
        else:
            current.append(tok)
    if current:
        chunks.append((current, sql[begin : current[-1].end + 1].strip()))
    return chunks


def _tidy(message: str) -> str:
    message = re.sub(r"\x1b\[\d+m", "", message).strip()
    return message.splitlines()[0] if message else "syntax error"


def _syntax_error(error: ParseError) -> TranslationError:
    if error.errors:
        first = error.errors[0]
        near = (first.get("highlight") or "").strip()
        where = f' at or near "{near}"' if near else " at end of input"
        detail = first.get("description") or "syntax error"
        return TranslationError(
            f"syntax error{where} (line {first.get('line')}, column {first.get('col')}): {detail}",
            "42601",
        )
    return TranslationError(f"syntax error: {_tidy(str(error))}", "42601")


def _missing_operand(token: Token | None) -> TranslationError:
    if token is None or token.token_type == TokenType.SENTINEL:
        return TranslationError("syntax error at end of input", "42601")
    return TranslationError(
        f'syntax error at or near "{token.text}" (line {token.line}, column {token.col})', "42601"
    )


def _comment_hints(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    pos = 0
    while True:
        match = _LEADING_COMMENTS.match(text, pos)
        if not match or match.end() == pos:
            return found
        if match.group(1) is not None:
            for key, value in hints.comment_hints([match.group(1)]).items():
                if key in found:
                    raise TranslationError(f"hint {key} given twice")
                found[key] = value
        pos = match.end()


def text_params(text: str) -> int:
    """Highest $n in text, skipping strings, quoted names and comments."""
    highest = 0
    for match in _PARAM.finditer(text):
        if match.group(1):
            highest = max(highest, param_number(match.group(1)))
    return highest


def _statement(sql: str, tokens: list[Token], text: str) -> Statement:
    first = classify.word(tokens[0])
    statement_hints = _comment_hints(text)
    if first in _TX:
        kind, tag, setting = classify.transaction(tokens)
        return _no_hints(Statement(sql=text, kind=kind, tag=tag, setting=setting), statement_hints)
    if first in _SETTINGS:
        kind, tag, setting = classify.setting(tokens)
        setting = _check_setting(setting)
        return _no_hints(
            Statement(
                sql=text, kind=kind, tag=tag, setting=setting, returns_rows=kind is Kind.SHOW
            ),
            statement_hints,
        )
    if first == "USE":
        return _no_hints(_use(tokens, text), statement_hints)
    if first == "COPY":
        return _no_hints(_copy(tokens, text, sql), statement_hints)
    # ANALYZE alone is a utility; `ANALYZE t` too, but EXPLAIN ANALYZE is parsed with EXPLAIN.
    if first in classify.UTILITY:
        kind, tag, rows = classify.utility(tokens)
        n = text_params(text)
        return _no_hints(
            Statement(
                sql=text, kind=kind, tag=tag, returns_rows=rows, nparams=n, param_types=(0,) * n,
                temp_created=cacheability.temp_created(None, tokens),
            ),
            statement_hints,
        )

    if first in ("CREATE", "ALTER", "DROP", "COMMENT"):
        tag = classify.ddl_tag(tokens)
        if tag in _TOKEN_DDL:  # sqlglot reads none of these whole (DROP INDEX a, b; ALTER SEQUENCE)
            return _no_hints(
                Statement(
                    sql=text, kind=Kind.DDL, tag=tag,
                    temp_created=cacheability.temp_created(None, tokens),
                ),
                statement_hints,
            )
    if first == "ALTER" and any(t.token_type == TokenType.RENAME for t in tokens):
        tokens = ddl.rename_column_tokens(tokens)
    tokens = _negative_scales(_oid_arrays(tokens))
    tokens, version_hints = hints.rewrite_tokens(tokens)
    for key, value in version_hints.items():
        if key in statement_hints or (key.startswith("as_of") and any(
            k.startswith("as_of") for k in statement_hints
        )):
            raise TranslationError(f"{key} given twice in one statement")
        statement_hints[key] = value
    parser = dialect().parser(error_level=ErrorLevel.IMMEDIATE)
    try:
        parsed = parser.parse(tokens, sql)
    except ParseError as e:
        raise _syntax_error(e) from None
    except TypeError:
        # sqlglot is compiled with mypyc: an operator whose right operand is missing
        # (`wat?`, `a #> where`) hands None to a builder typed for an expression
        raise _missing_operand(parser._curr) from None
    except TokenError as e:
        raise TranslationError(_tidy(str(e)), "42601") from None
    expression = parsed[0] if parsed else None
    if expression is not None:
        _strip_positions(expression)
    if expression is None:
        return Statement(sql=text, kind=Kind.EMPTY, tag="")
    return _classified(text, tokens, expression, hints.collect(expression, statement_hints))


_OID_TYPES = frozenset({"OID", "REGTYPE", "REGCLASS", "REGPROC"})


def _oid_arrays(tokens: list[Token]) -> list[Token]:
    """`::oid[]` as `::pg_catalog.oid[]`: sqlglot reads oid and the reg* types only as
    scalars, but an array of a qualified name (a user-defined type to it), which
    typeoids.datatype_oid knows as oid[] (asyncpg's type introspection asks
    `= any($1::oid[])`, and its parameter must be described as oid[], a type asyncpg
    knows without asking)."""
    out: list[Token] = []
    for i, t in enumerate(tokens):
        if (
            0 < i < len(tokens) - 2
            and tokens[i - 1].token_type == TokenType.DCOLON
            and t.text.upper() in _OID_TYPES
            and tokens[i + 1].token_type == TokenType.L_BRACKET
            and tokens[i + 2].token_type == TokenType.R_BRACKET
        ):
            out += [Token(TokenType.VAR, "pg_catalog", t.line, t.col, t.start, t.end),
                    Token(TokenType.DOT, ".", t.line, t.col, t.start, t.end),
                    Token(TokenType.VAR, t.text, t.line, t.col, t.start, t.end)]
        else:
            out.append(t)
    return out


def _negative_scales(tokens: list[Token]) -> list[Token]:
    """`numeric(2,-3)` (PostgreSQL 15 rounds to thousands) as one signed number for the
    scale: sqlglot reads only unsigned type arguments."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if (
            t.token_type == TokenType.DASH
            and i + 1 < len(tokens)
            and tokens[i + 1].token_type == TokenType.NUMBER
            and i >= 4
            and tokens[i - 1].token_type == TokenType.COMMA
            and tokens[i - 2].token_type == TokenType.NUMBER
            and tokens[i - 3].token_type == TokenType.L_PAREN
            and tokens[i - 4].token_type == TokenType.DECIMAL
        ):
            n = tokens[i + 1]
            out.append(Token(TokenType.NUMBER, "-" + n.text, t.line, t.col, t.start, n.end))
            i += 2
            continue
        out.append(t)
        i += 1
    return out


def _strip_positions(expression: exp.Expr) -> None:
    """Drop token positions and comments: generate copies the tree, and deep-copying these
    dicts made the copy cost three times the parse. Neither reaches backend SQL."""
    for node in expression.walk():
        node._meta = None
        node.comments = None


def _no_hints(statement: Statement, statement_hints: dict[str, str]) -> Statement:
    if statement_hints:
        raise TranslationError(
            f"time-travel and branch hints apply to queries, not to {statement.tag or 'this'}",
            "0A000",
        )
    return statement


def _check_setting(setting: Setting) -> Setting:
    if not setting.name.startswith("pgproxy."):
        return setting
    if setting.name not in _PGPROXY:
        raise TranslationError(
            f'unrecognized configuration parameter "{setting.name}" '
            f"(pgproxy.* takes {', '.join(sorted(_PGPROXY))})",
            "42704",
        )
    if setting.value is not None:
        if setting.name == "pgproxy.branch":
            hints.validate_ref(setting.value, "pgproxy.branch")
        else:
            hints.classify_as_of(setting.value, "pgproxy.as_of")
    return setting


def _use(tokens: list[Token], text: str) -> Statement:
    if len(tokens) != 2:
        raise TranslationError('syntax error: USE takes one name, e.g. USE "mydb/feature-x"')
    name = tokens[1].text
    _, branch = hints.validate_database(name)
    return Statement(
        sql=text,
        kind=Kind.USE,
        tag="SET",
        setting=Setting("database", name),
        hints=Hints(branch=branch) if branch else Hints(),
    )


def _copy(tokens: list[Token], text: str, sql: str) -> Statement:
    """COPY FROM STDIN writes its table (an INSERT to the cache and the observers);
    COPY TO STDOUT reads its table or runs its query. `sql` is the whole string the
    tokens' positions count in (`text`, the statement's own, is stripped)."""
    spec = copy.parse(tokens, sql)
    if spec.query is not None:
        inner = parse(spec.query)
        if len(inner) != 1:
            raise TranslationError("COPY takes one query")
        return Statement(sql=text, kind=Kind.OTHER, tag="COPY", tables_read=inner[0].tables_read,
                         copy=spec)
    names = frozenset({".".join(spec.table).lower(), spec.table[-1].lower()})
    if spec.is_from:
        return Statement(sql=text, kind=Kind.INSERT, tag="COPY", tables_written=names, copy=spec)
    return Statement(sql=text, kind=Kind.OTHER, tag="COPY", tables_read=names, copy=spec)


def _classified(text: str, tokens: list[Token], expression: exp.Expr, found: Hints) -> Statement:
    kind, tag = classify.kind_and_tag(expression, tokens)
    if isinstance(expression, exp.Command):
        n = text_params(text)
        return Statement(
            sql=text, kind=kind, tag=tag, nparams=n, param_types=(0,) * n,
            expression=expression, hints=_only_reads(found, kind),
            temp_created=cacheability.temp_created(expression, tokens),
        )
    read, written = classify.tables(expression)
    nparams, cast_types = classify.params(expression)
    param_types, param_columns = paramcols.bind(expression, cast_types)
    returns_rows = kind is Kind.SELECT or bool(expression.args.get("returning"))
    cacheable = cacheability.cacheable(expression, kind, read, written, found)
    catalog_only = bool(read) and not written and classify.all_catalog(read)
    # The catalog engine runs set_config() itself, once per row (pg_dump's
    # `SELECT set_config(name, …) FROM pg_settings WHERE …`).
    setting = classify.set_config(expression) if kind is Kind.SELECT and not catalog_only else None
    if setting is not None:
        setting = _check_setting(setting)
    return Statement(
        sql=text,
        kind=kind,
        tag=tag,
        tables_read=read,
        tables_written=written,
        cacheable=cacheable,
        returns_rows=returns_rows,
        nparams=nparams,
        param_types=param_types,
        indeterminate=classify.indeterminate(expression, cast_types) if nparams else (),
        param_columns=param_columns,
        result_columns=paramcols.result_columns(expression) if returns_rows else (),
        summed_columns=paramcols.summed_columns(expression) if returns_rows else (),
        zoned_columns=paramcols.zoned_columns(expression) if returns_rows else (),
        result_type_names=usertypes.result_names(expression) if returns_rows else (),
        param_type_names=usertypes.param_names(expression) if nparams else (),
        hints=_only_reads(found, kind),
        setting=setting,
        catalog_only=catalog_only,
        temp_created=cacheability.temp_created(expression, tokens),
        side_effects=cacheability.side_effects(expression) if kind is Kind.SELECT else frozenset(),
        expression=expression,
    )


def _only_reads(found: Hints, kind: Kind) -> Hints:
    """A write cannot go to the past; a branch hint on a write is fine (Dolt writes to it)."""
    if (found.as_of or found.as_of_timestamp or found.tables) and kind not in (
        Kind.SELECT,
        Kind.OTHER,
    ):
        raise TranslationError(
            "AS OF reads the past and cannot be used in INSERT, UPDATE, DELETE or DDL", "0A000"
        )
    return found
