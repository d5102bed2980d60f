"""COMMENT ON … IS '…' | NULL: kept in the proxy's `pgproxy_comments` table, which the
catalog reads for pg_description (obj_description, col_description, psql's \\d+)."""

from __future__ import annotations

from sqlglot.tokens import Token, TokenType

from dialects.api import Generated, Step, Target, TranslationError
from dialects.classify import word
from dialects.engines import stock

TABLE = "pgproxy_comments"
_CREATE = {
    "sqlite": f"CREATE TABLE IF NOT EXISTS {TABLE} (kind TEXT NOT NULL, object TEXT NOT NULL,"
              " sub TEXT NOT NULL, description TEXT NOT NULL, PRIMARY KEY (kind, object, sub))",
    "mysql": f"CREATE TABLE IF NOT EXISTS {TABLE} (kind VARCHAR(32) NOT NULL, object"
             " VARCHAR(255) NOT NULL, sub VARCHAR(255) NOT NULL, description TEXT NOT NULL,"
             " PRIMARY KEY (kind, object, sub)) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
}
_TWO_WORDS = {"MATERIALIZED", "FOREIGN", "ACCESS", "EVENT", "TEXT"}


def comment(tokens: list[Token], target: Target) -> Generated:
    """COMMENT ON <kind> <name> IS <text>: stored, or removed for IS NULL."""
    words = [word(t) for t in tokens]
    if words[1:2] != ["ON"] or "IS" not in words:
        raise TranslationError("syntax error in COMMENT", "42601")
    i = 2
    kind = words[i]
    i += 1
    if kind in _TWO_WORDS:
        kind = f"{kind} {words[i]}"
        i += 1
    is_at = len(words) - 1 - words[::-1].index("IS")
    parts = []
    for tok in tokens[i:is_at]:
        if tok.token_type == TokenType.DOT:
            continue
        parts.append(tok.text if tok.token_type == TokenType.IDENTIFIER else tok.text.lower())
    if len(parts) > 1 and parts[0] == "public":
        parts = parts[1:]
    value = tokens[is_at + 1 :]
    if len(value) != 1 or not (value[0].token_type == TokenType.STRING or word(value[0]) == "NULL"):
        raise TranslationError("syntax error in COMMENT: IS takes a string or NULL", "42601")
    text = value[0].text if value[0].token_type == TokenType.STRING else None
    sub = ""
    if kind == "COLUMN":
        if len(parts) < 2:
            raise TranslationError("column name must be qualified", "42601")
        sub = parts.pop()
    key = (kind.lower(), ".".join(parts), sub)
    mark = "?" if target.paramstyle == "qmark" else "%s"
    steps = [
        Step(sql=_CREATE[stock(target.dialect)]),
        Step(sql=f"DELETE FROM {TABLE} WHERE kind = {mark} AND object = {mark} AND sub = {mark}",
             values=key),
    ]
    if text is not None:
        steps.append(Step(
            sql=f"INSERT INTO {TABLE} (kind, object, sub, description) "
                f"VALUES ({mark}, {mark}, {mark}, {mark})",
            values=(*key, text),
        ))
    return Generated("", steps=tuple(steps))
