"""COPY statements: table or query, direction, and options, read from the tokens.

sqlglot parses only part of COPY (the old `CSV HEADER` option syntax falls
back to an opaque Command), so this reads PostgreSQL's grammar itself, both
the option list `WITH (FORMAT csv, HEADER true)` and the pre-9.0 words
`BINARY CSV HEADER DELIMITER ',' FORCE NOT NULL a` that psql and pg_dump
still emit, and checks the options as PostgreSQL's ProcessCopyOptions does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot.tokens import Token, TokenType

from dialects.api import TranslationError

_STRINGS = frozenset({TokenType.STRING, TokenType.BYTE_STRING, TokenType.NATIONAL_STRING})
_ALL = ("*",)  # FORCE_QUOTE * / FORCE_NOT_NULL * / FORCE_NULL *
_ENCODINGS = {
    "utf8": "utf-8", "unicode": "utf-8", "sql_ascii": "utf-8", "latin1": "latin-1",
    "latin2": "iso8859-2", "latin9": "iso8859-15", "win1252": "cp1252", "win1251": "cp1251",
    "euc_jp": "euc_jp", "sjis": "shift_jis", "gbk": "gbk", "big5": "big5", "koi8r": "koi8_r",
    "iso_8859_5": "iso8859-5", "euc_kr": "euc_kr", "uhc": "cp949", "win1250": "cp1250",
}
# Characters a text-format delimiter cannot be: they mean something after a backslash.
_TEXT_RESERVED = "\\.abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True, slots=True)
class CopyOptions:
    """A COPY's format and options, checked, with PostgreSQL's defaults filled in."""

    format: str = "text"  # 'text', 'csv' or 'binary'
    delimiter: str = "\t"
    null: str = "\\N"
    header: bool = False
    header_match: bool = False  # HEADER MATCH (COPY FROM): the header must name the columns
    quote: str = '"'
    escape: str = '"'
    force_quote: tuple[str, ...] = ()  # column names, or ('*',) for all
    force_not_null: tuple[str, ...] = ()
    force_null: tuple[str, ...] = ()
    encoding: str | None = None  # a Python codec name when not UTF-8
    freeze: bool = False


@dataclass(frozen=True, slots=True)
class Copy:
    """One COPY statement: `table (columns)` or `(query)`, FROM STDIN or TO STDOUT."""

    is_from: bool
    table: tuple[str, ...] = ()  # (schema, name) or (name,): names as PostgreSQL folds them
    columns: tuple[str, ...] = ()  # empty: all of the table's columns
    query: str | None = None  # COPY (query) TO: the query's own text
    options: CopyOptions = field(default_factory=CopyOptions)

    @property
    def relname(self) -> str:
        """The table's name as PostgreSQL's error context writes it (no schema)."""
        return self.table[-1] if self.table else ""


def parse(tokens: list[Token], sql: str) -> Copy:
    """A COPY statement from its tokens (`sql` is the text they were cut from)."""
    return _Reader(tokens, sql).copy()


class _Reader:
    __slots__ = ("i", "sql", "tokens")

    def __init__(self, tokens: list[Token], sql: str) -> None:
        self.tokens = tokens
        self.sql = sql
        self.i = 1  # past COPY

    # ------------------------------------------------------------ tokens

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def word(self, offset: int = 0) -> str:
        """The next token as an upper-case keyword, or '' (a string, a quoted name, the end)."""
        tok = self.peek(offset)
        if tok is None or tok.token_type in _STRINGS or tok.token_type == TokenType.IDENTIFIER:
            return ""
        return tok.text.upper()

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise TranslationError("syntax error at end of input")
        self.i += 1
        return tok

    def accept(self, *words: str) -> bool:
        if self.word() in words:
            self.i += 1
            return True
        return False

    def expect(self, ttype: TokenType, what: str) -> Token:
        tok = self.peek()
        if tok is None or tok.token_type != ttype:
            raise self.error(what)
        self.i += 1
        return tok

    def error(self, expected: str = "") -> TranslationError:
        tok = self.peek()
        near = f'at or near "{tok.text}"' if tok is not None else "at end of input"
        return TranslationError(f"syntax error {near}" + (f" ({expected})" if expected else ""))

    def name(self) -> str:
        """An identifier: a quoted name as written, an unquoted one lower-cased."""
        tok = self.peek()
        if tok is None or tok.token_type in _STRINGS or tok.token_type in (
            TokenType.L_PAREN, TokenType.R_PAREN, TokenType.COMMA, TokenType.DOT,
            TokenType.SEMICOLON, TokenType.STAR,
        ):
            raise self.error("a name expected")
        self.i += 1
        return tok.text if tok.token_type == TokenType.IDENTIFIER else tok.text.lower()

    def string(self) -> str:
        tok = self.peek()
        if tok is None or tok.token_type not in _STRINGS:
            raise self.error("a quoted string expected")
        self.i += 1
        return tok.text

    def names(self) -> tuple[str, ...]:
        """`( a, b, ... )`."""
        self.expect(TokenType.L_PAREN, "'(' expected")
        out = [self.name()]
        while self.peek() is not None and self.peek().token_type == TokenType.COMMA:  # type: ignore[union-attr]
            self.i += 1
            out.append(self.name())
        self.expect(TokenType.R_PAREN, "')' expected")
        return tuple(out)

    # ------------------------------------------------------------ grammar

    def copy(self) -> Copy:
        opts: dict[str, object] = {}
        if self.accept("BINARY"):  # COPY BINARY t ... (7.3 syntax)
            _set(opts, "format", "binary")
        table: tuple[str, ...] = ()
        columns: tuple[str, ...] = ()
        query = None
        tok = self.peek()
        if tok is not None and tok.token_type == TokenType.L_PAREN:
            query = self.subquery()
        else:
            parts = [self.name()]
            while self.peek() is not None and self.peek().token_type == TokenType.DOT:  # type: ignore[union-attr]
                self.i += 1
                parts.append(self.name())
            if len(parts) > 3:
                raise TranslationError(
                    f"improper qualified name (too many dotted names): {'.'.join(parts)}"
                )
            table = tuple(parts[-2:])
            tok = self.peek()
            if tok is not None and tok.token_type == TokenType.L_PAREN:
                columns = self.names()
        direction = self.word()
        if direction not in ("FROM", "TO"):
            raise self.error("FROM or TO expected")
        self.i += 1
        is_from = direction == "FROM"
        if query is not None and is_from:
            raise TranslationError('syntax error at or near "FROM"')
        self.target(is_from)
        self.old_options(opts)
        self.accept("WITH")
        tok = self.peek()
        if tok is not None and tok.token_type == TokenType.L_PAREN:
            self.generic_options(opts)
        else:
            self.old_options(opts)
        if self.word() == "WHERE":
            raise TranslationError("COPY FROM ... WHERE is not supported by pgproxy", "0A000")
        if self.peek() is not None:
            raise self.error()
        return Copy(is_from, table, columns, query, _checked(opts, is_from))

    def subquery(self) -> str:
        """`( query )`: the query's text, parentheses balanced."""
        start = self.take()
        depth = 1
        while True:
            tok = self.take()
            if tok.token_type == TokenType.L_PAREN:
                depth += 1
            elif tok.token_type == TokenType.R_PAREN:
                depth -= 1
                if depth == 0:
                    text = self.sql[start.end + 1 : tok.start].strip()
                    if not text:
                        raise TranslationError('syntax error at or near ")"')
                    return text

    def target(self, is_from: bool) -> None:
        """STDIN / STDOUT; a file or a program is refused as for a role without the right."""
        if self.accept("PROGRAM"):
            self.string()
            raise TranslationError(
                "permission denied to COPY to or from an external program", "42501"
            )
        tok = self.peek()
        if tok is not None and tok.token_type in _STRINGS:
            raise TranslationError(
                f"permission denied to COPY {'from' if is_from else 'to'} a file", "42501"
            )
        want = "STDIN" if is_from else "STDOUT"
        if not self.accept(want):
            raise self.error(f"{want} expected")

    def old_options(self, opts: dict[str, object]) -> None:
        """The pre-9.0 option words (and `[USING] DELIMITERS 'x'` of 7.3)."""
        while True:
            w = self.word()
            if w == "BINARY":
                self.i += 1
                _set(opts, "format", "binary")
            elif w == "CSV":
                self.i += 1
                _set(opts, "format", "csv")
            elif w == "HEADER":
                self.i += 1
                _set(opts, "header", True)
            elif w == "FREEZE":
                self.i += 1
                _set(opts, "freeze", True)
            elif w in ("DELIMITER", "DELIMITERS", "NULL", "QUOTE", "ESCAPE", "ENCODING", "USING"):
                self.i += 1
                if w == "USING":
                    if not self.accept("DELIMITERS"):
                        raise self.error("DELIMITERS expected")
                    w = "DELIMITER"
                self.accept("AS")
                key = "delimiter" if w == "DELIMITERS" else w.lower()
                _set(opts, key, self.string())
            elif w == "FORCE":
                self.i += 1
                if self.accept("QUOTE"):
                    key = "force_quote"
                elif self.accept("NOT"):
                    if not self.accept("NULL"):
                        raise self.error("NULL expected")
                    key = "force_not_null"
                elif self.accept("NULL"):
                    key = "force_null"
                else:
                    raise self.error("QUOTE, NOT NULL or NULL expected")
                if self.peek() is not None and self.peek().token_type == TokenType.STAR:  # type: ignore[union-attr]
                    self.i += 1
                    _set(opts, key, _ALL)
                else:
                    cols = [self.name()]
                    while self.peek() is not None and self.peek().token_type == TokenType.COMMA:  # type: ignore[union-attr]
                        self.i += 1
                        cols.append(self.name())
                    _set(opts, key, tuple(cols))
            else:
                return

    def generic_options(self, opts: dict[str, object]) -> None:
        """`( name [value], ... )`: the option list of PostgreSQL 9.0 and later."""
        self.expect(TokenType.L_PAREN, "'(' expected")
        while True:
            tok = self.take()
            if tok.token_type in _STRINGS:
                raise TranslationError(f'syntax error at or near "{tok.text}"')
            key = tok.text.lower()
            value: object = None
            nxt = self.peek()
            if nxt is None:
                raise self.error("')' expected")
            if nxt.token_type == TokenType.L_PAREN:
                value = self.names()
            elif nxt.token_type == TokenType.STAR:
                self.i += 1
                value = _ALL
            elif nxt.token_type not in (TokenType.COMMA, TokenType.R_PAREN):
                self.i += 1
                value = nxt.text if nxt.token_type in _STRINGS or (
                    nxt.token_type == TokenType.IDENTIFIER
                ) else nxt.text.lower()
            _generic(opts, key, value)
            end = self.take()
            if end.token_type == TokenType.R_PAREN:
                return
            if end.token_type != TokenType.COMMA:
                raise TranslationError(f'syntax error at or near "{end.text}"')


def _set(opts: dict[str, object], key: str, value: object) -> None:
    if key in opts:
        raise TranslationError("conflicting or redundant options", "42601")
    opts[key] = value


_TRUE = frozenset({"true", "on", "1", "t", "yes", "y"})
_FALSE = frozenset({"false", "off", "0", "f", "no", "n"})


def _boolean(key: str, value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str) and value.lower() in _TRUE:
        return True
    if isinstance(value, str) and value.lower() in _FALSE:
        return False
    raise TranslationError(f"{key} requires a Boolean value", "22023")


def _generic(opts: dict[str, object], key: str, value: object) -> None:
    if key == "format":
        if not isinstance(value, str) or value.lower() not in ("text", "csv", "binary"):
            raise TranslationError(f'COPY format "{value}" not recognized', "22023")
        _set(opts, "format", value.lower())
    elif key in ("freeze",):
        _set(opts, key, _boolean(key, value))
    elif key == "header":
        if isinstance(value, str) and value.lower() == "match":
            _set(opts, "header", True)
            opts["header_match"] = True
        else:
            _set(opts, "header", _boolean(key, value))
    elif key in ("delimiter", "null", "quote", "escape", "encoding", "default"):
        if not isinstance(value, str):
            raise TranslationError(f"{key} requires a string value", "22023")
        if key == "default":
            raise TranslationError("COPY DEFAULT is not supported by pgproxy", "0A000")
        _set(opts, key, value)
    elif key in ("force_quote", "force_not_null", "force_null"):
        if not isinstance(value, tuple):
            raise TranslationError(
                f'argument to option "{key}" must be a list of column names', "22023"
            )
        _set(opts, key, value)
    else:
        raise TranslationError(f'option "{key}" not recognized', "42601")


def _checked(opts: dict[str, object], is_from: bool) -> CopyOptions:
    """The options with their defaults, refused where PostgreSQL refuses them."""
    fmt = str(opts.get("format", "text"))
    csv, binary = fmt == "csv", fmt == "binary"
    if binary and "delimiter" in opts:
        raise TranslationError("cannot specify DELIMITER in BINARY mode", "42601")
    if binary and "null" in opts:
        raise TranslationError("cannot specify NULL in BINARY mode", "42601")
    if binary and opts.get("header"):
        raise TranslationError("cannot specify HEADER in BINARY mode", "42601")
    delimiter = str(opts.get("delimiter", "," if csv else "\t"))
    null = str(opts.get("null", "" if csv else "\\N"))
    if len(delimiter.encode()) != 1:
        raise TranslationError("COPY delimiter must be a single one-byte character", "0A000")
    if delimiter in "\r\n":
        raise TranslationError("COPY delimiter cannot be newline or carriage return", "22023")
    if "\r" in null or "\n" in null:
        raise TranslationError(
            "COPY null representation cannot use newline or carriage return", "22023"
        )
    if not csv and not binary and delimiter in _TEXT_RESERVED:
        raise TranslationError(f'COPY delimiter cannot be "{delimiter}"', "22023")
    if opts.get("header_match") and not is_from:
        raise TranslationError('cannot use "match" with HEADER in COPY TO', "0A000")
    for key in ("quote", "escape"):
        if key in opts and not csv:
            raise TranslationError(f"COPY {key} available only in CSV mode", "0A000")
    quote = str(opts.get("quote", '"'))
    escape = str(opts.get("escape", quote))
    if csv:
        if len(quote.encode()) != 1:
            raise TranslationError("COPY quote must be a single one-byte character", "0A000")
        if len(escape.encode()) != 1:
            raise TranslationError("COPY escape must be a single one-byte character", "0A000")
        if delimiter == quote:
            raise TranslationError("COPY delimiter and quote must be different", "0A000")
        if quote in null:
            raise TranslationError(
                "CSV quote character must not appear in the NULL specification", "0A000"
            )
    if delimiter in null:
        raise TranslationError(
            "COPY delimiter must not appear in the NULL specification", "0A000"
        )
    for key, word, needs_from in (
        ("force_quote", "force quote", False),
        ("force_not_null", "force not null", True),
        ("force_null", "force null", True),
    ):
        if key in opts:
            if not csv:
                raise TranslationError(f"COPY {word} available only in CSV mode", "0A000")
            if needs_from != is_from:
                direction = "COPY FROM" if needs_from else "COPY TO"
                raise TranslationError(f"COPY {word} only available using {direction}", "0A000")
    encoding = None
    if "encoding" in opts:
        name = str(opts["encoding"]).lower().replace("-", "_")
        if name not in _ENCODINGS:
            raise TranslationError(
                'argument to option "encoding" must be a valid encoding name', "22023"
            )
        codec = _ENCODINGS[name]
        encoding = None if codec == "utf-8" else codec
    return CopyOptions(
        format=fmt,
        delimiter=delimiter,
        null=null,
        header=bool(opts.get("header", False)),
        header_match=bool(opts.get("header_match", False)),
        quote=quote,
        escape=escape,
        force_quote=tuple(opts.get("force_quote", ())),  # type: ignore[arg-type]
        force_not_null=tuple(opts.get("force_not_null", ())),  # type: ignore[arg-type]
        force_null=tuple(opts.get("force_null", ())),  # type: ignore[arg-type]
        encoding=encoding,
        freeze=bool(opts.get("freeze", False)),
    )
