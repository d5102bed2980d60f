"""Time-travel and branch hints: every written form, read into Hints and strictly validated.

Forms (shared/DESIGN.md): `FROM t AS OF 'ref' [alias]`, `FROM t AS OF TIMESTAMP '...'`,
`... AS OF SYSTEM TIME 'ref'` (statement-wide, as CockroachDB means it),
`FOR SYSTEM_TIME AS OF TIMESTAMP '...'` (SQL:2011, parsed by sqlglot itself),
the `/*+ as_of('HEAD~1') branch('feature-x') */` comment, `USE "db/branch"`
and `SET pgproxy.branch / pgproxy.as_of`.

Per-table forms are rewritten on the token stream into sqlglot's own
table-version syntax (`FOR VERSION AS OF` / `FOR SYSTEM_TIME AS OF`), so the
stock parser attaches an exp.Version to exactly the table it belongs to.
Every value that reaches SQL text is checked against a closed pattern here:
a value that does not match is an error, never quoted and passed on.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from dialects.api import Hints, TranslationError

# Git-style revision: commit hash, branch, tag, HEAD~2, main^, origin/feature-x.
# No quotes, spaces, backslashes, semicolons or comment starts can get through.
_REF = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/~^-]{0,199}")
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?"
    r"(?:\s*(Z|[+-]\d{2}(?::?\d{2})?))?"
)
# A point in time needs a time of day: a bare date is a ref, as Dolt reads it
# (a branch may be called 2025-01-01).
_HAS_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")
_DATABASE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_$-]{0,63}")
_COMMENT_HINT = re.compile(r"\s*(\w+)\s*\(\s*(?:(TIMESTAMP)\s+)?'([^']*)'\s*\)\s*", re.IGNORECASE)
_OUR_HINTS = {"as_of", "branch"}
_ALREADY_VERSIONED = {"SYSTEM_TIME", "VERSION", "TIMESTAMP", "TIME"}


def validate_ref(value: str, what: str = "AS OF") -> str:
    if not _REF.fullmatch(value) or ".." in value or value.endswith((".lock", "/", ".")):
        raise TranslationError(
            f"invalid {what} value {value[:64]!r}: expected a commit, branch, tag or HEAD~n "
            "(letters, digits and . _ / ~ ^ -); for a point in time write TIMESTAMP '...'",
            "22023",
        )
    return value


def validate_timestamp(value: str, what: str = "AS OF TIMESTAMP") -> str:
    """The timestamp, stripped; raises 22007 unless it is a real date/time."""
    text = value.strip()
    match = _TIMESTAMP.fullmatch(text)
    if match:
        year, month, day, hour, minute, second, _, _ = match.groups()
        try:
            datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                     int(second or 0))
        except ValueError:
            match = None
    if not match:
        raise TranslationError(
            f"invalid {what} value {value[:64]!r}: "
            "expected 'YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][+TZ]'",
            "22007",
        )
    return text


def classify_as_of(value: str, what: str = "AS OF") -> tuple[str, str]:
    """('timestamp', text) when the value carries a time of day, else ('ref', text)."""
    if _HAS_TIME.match(value.strip()):
        return "timestamp", validate_timestamp(value, what)
    return "ref", validate_ref(value, what)


def validate_database(value: str) -> tuple[str, str | None]:
    """'db' or 'db/branch' (Dolt's revision database) -> (db, branch)."""
    db, _, branch = value.partition("/")
    if not _DATABASE.fullmatch(db):
        raise TranslationError(f"invalid database name {value[:64]!r}", "3D000")
    return db, (validate_ref(branch, "branch") if branch else None)


def _is(token: Token, word: str) -> bool:
    return token.text.upper() == word and token.token_type not in (
        TokenType.STRING,
        TokenType.IDENTIFIER,
    )


def _make(like: Token, token_type: TokenType, text: str) -> Token:
    return Token(token_type, text, like.line, like.col, like.start, like.end)


def _string_at(tokens: list[Token], i: int) -> str:
    if i >= len(tokens) or tokens[i].token_type != TokenType.STRING:
        raise TranslationError("AS OF needs a string literal: AS OF 'ref' or AS OF TIMESTAMP '...'")
    return tokens[i].text


def rewrite_tokens(tokens: list[Token]) -> tuple[list[Token], dict[str, str]]:
    """Turn the Doltgres/CockroachDB AS OF forms into sqlglot's table-version tokens.

    Returns the new tokens and the statement-wide hints (AS OF SYSTEM TIME).
    `AS OF` is only taken as a hint when a string or TIMESTAMP follows, so a
    column aliased `of` still parses as it did.
    """
    out: list[Token] = []
    statement: dict[str, str] = {}
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        if not (tok.token_type == TokenType.ALIAS and i + 2 < n and _is(tokens[i + 1], "OF")):
            out.append(tok)
            i += 1
            continue
        nxt = tokens[i + 2]
        if out and out[-1].text.upper() in _ALREADY_VERSIONED:
            out.append(tok)  # FOR SYSTEM_TIME AS OF ...: sqlglot's own syntax
            i += 1
            continue
        if _is(nxt, "SYSTEM") and i + 3 < n and _is(tokens[i + 3], "TIME"):
            j = i + 4
            stamped = j < n and tokens[j].token_type == TokenType.TIMESTAMP
            value = _string_at(tokens, j + 1 if stamped else j)
            kind, value = (
                ("timestamp", validate_timestamp(value))
                if stamped
                else classify_as_of(value, "AS OF SYSTEM TIME")
            )
            if statement:
                raise TranslationError("AS OF SYSTEM TIME may appear once per statement")
            statement["as_of_timestamp" if kind == "timestamp" else "as_of"] = value
            i = j + (2 if stamped else 1)
            continue
        if nxt.token_type == TokenType.TIMESTAMP:
            _string_at(tokens, i + 3)
            out.append(_make(tok, TokenType.FOR, "FOR"))
            out.append(_make(tok, TokenType.VAR, "SYSTEM_TIME"))
        elif nxt.token_type == TokenType.STRING:
            out.append(_make(tok, TokenType.FOR, "FOR"))
            out.append(_make(tok, TokenType.VAR, "VERSION"))
        out.append(tok)
        i += 1
    return out, statement


def comment_hints(comments: list[str] | None) -> dict[str, str]:
    """as_of / branch items of a leading `/*+ ... */` comment; planner hints are ignored."""
    found: dict[str, str] = {}
    for comment in comments or ():
        if not comment.startswith("+"):
            continue
        body = comment[1:]
        if not any(name in body.lower() for name in _OUR_HINTS):
            continue
        pos = 0
        while pos < len(body):
            match = _COMMENT_HINT.match(body, pos)
            if not match:
                raise TranslationError(
                    f"malformed hint comment /*{comment[:80]}*/: "
                    "expected /*+ as_of('ref') branch('name') */"
                )
            name, stamped, value = match.group(1).lower(), match.group(2), match.group(3)
            pos = match.end()
            if name not in _OUR_HINTS:
                continue
            if name in found or (name == "as_of" and ("as_of_timestamp" in found)):
                raise TranslationError(f"hint {name} given twice")
            if name == "branch":
                found["branch"] = validate_ref(value, "branch")
            elif stamped:
                found["as_of_timestamp"] = validate_timestamp(value)
            else:
                kind, value = classify_as_of(value, "as_of")
                found["as_of_timestamp" if kind == "timestamp" else "as_of"] = value
    return found


def version_of(version: exp.Version) -> tuple[str, str]:
    """(kind, value) of a parsed table version; validates it."""
    if version.text("kind").upper() != "AS OF":
        raise TranslationError(
            f"FOR {version.name} {version.text('kind')} is not supported; use AS OF", "0A000"
        )
    value = version.expression
    stamped = False
    if isinstance(value, exp.Cast) and value.to.is_type(
        exp.DType.TIMESTAMP, exp.DType.TIMESTAMPTZ, exp.DType.DATETIME, exp.DType.DATE
    ):
        value, stamped = value.this, True
    if not (isinstance(value, exp.Literal) and value.is_string):
        raise TranslationError("AS OF needs a string literal: AS OF 'ref' or AS OF TIMESTAMP '...'")
    if stamped or version.name.upper() == "TIMESTAMP":
        return "timestamp", validate_timestamp(value.this)
    return classify_as_of(value.this)


def table_key(table: exp.Table) -> str:
    return ".".join(part.name.lower() for part in table.parts)


def collect(expression: exp.Expr | None, statement: dict[str, str]) -> Hints:
    """Hints of one parsed statement: its table versions plus the statement-wide ones."""
    tables: list[tuple[str, str, str]] = []
    if expression is not None:
        for version in expression.find_all(exp.Version):
            table = version.parent
            if not isinstance(table, exp.Table):
                raise TranslationError("AS OF applies to a table")
            kind, value = version_of(version)
            tables.append((table_key(table), kind, value))
    if not tables and not statement:
        return _NO_HINTS
    return Hints(
        as_of=statement.get("as_of"),
        as_of_timestamp=statement.get("as_of_timestamp"),
        branch=statement.get("branch"),
        tables=tuple(tables),
    )


_NO_HINTS = Hints()
