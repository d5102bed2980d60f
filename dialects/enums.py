"""CREATE TYPE … AS ENUM: labels kept in the proxy's `pgproxy_enums` table (pg_enum reads
them), and a column of the type becomes a CHECK on SQLite and an ENUM on MySQL/MariaDB.

Which names in a CREATE TABLE are enums only the backend's table knows, so such a
CREATE TABLE is a routine (pgproxy/backends/enums.py) that looks the labels up and
calls `apply`. Composite types are dialects/composites.py's; ranges, and ALTER TYPE other than ADD
VALUE / RENAME VALUE (routines: the backend's columns of the type take the new label
too) and OWNER TO, are refused with 0A000.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from dialects.api import Generated, Step, Target, TranslationError
from dialects.classify import word
from dialects.engines import stock

TABLE = "pgproxy_enums"
# The name of the CHECK that stands for an enum type on SQLite (the catalog hides it:
# PostgreSQL's enum column has no constraint).
CHECK_PREFIX = "pgproxy_enum_"
# MySQL/MariaDB: the comment on a column of a user-defined type (an ENUM, or the TEXT a
# composite value is kept in) that names the type.
TYPE_MARK = "pgproxy:type:"
_CREATE = {
    "sqlite": f"CREATE TABLE IF NOT EXISTS {TABLE} (type_name TEXT NOT NULL, label TEXT NOT NULL,"
              " sort_order REAL NOT NULL, PRIMARY KEY (type_name, label))",
    "mysql": f"CREATE TABLE IF NOT EXISTS {TABLE} (type_name VARCHAR(63) NOT NULL, label"
             " VARCHAR(63) NOT NULL, sort_order DOUBLE NOT NULL, PRIMARY KEY (type_name, label))"
             " DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
}


def create_table_sql(dialect: str) -> str:
    return _CREATE[stock(dialect)]


def create_type(tree: exp.Create, backend: str) -> tuple[Step, ...]:
    enum = tree.expression
    if not (isinstance(enum, exp.DataType) and enum.this == exp.DType.ENUM):
        raise TranslationError(
            f"{backend}: CREATE TYPE supports AS ENUM and AS (…) only (no range or base types)",
            "0A000",
        )
    labels = tuple(e.this for e in enum.expressions)
    if len(set(labels)) != len(labels):
        raise TranslationError("enum labels must be unique", "42710")
    return (Step(routine="create_enum", args=(tree.this.name, labels)),)


def type_statement(tag: str, tokens: list[Token], target: Target) -> Generated:
    """DROP TYPE a, b and ALTER TYPE … (only OWNER TO, which changes nothing here)."""
    words = [word(t) for t in tokens]
    if tag == "ALTER TYPE":
        if "OWNER" in words:
            return Generated("")
        return _add_value(tokens, words, target)
    i = 2
    exists = words[i : i + 2] == ["IF", "EXISTS"]
    if exists:
        i += 2
    names = []
    while i < len(tokens):
        tok = tokens[i]
        if tok.token_type == TokenType.COMMA or word(tok) in ("CASCADE", "RESTRICT"):
            i += 1
            continue
        name = tok.text if tok.token_type == TokenType.IDENTIFIER else tok.text.lower()
        if i + 2 < len(tokens) and tokens[i + 1].token_type == TokenType.DOT:
            last = tokens[i + 2]
            last_name = last.text if last.token_type == TokenType.IDENTIFIER else last.text.lower()
            name = last_name if name == "public" else f"{name}.{last_name}"
            i += 2
        names.append(name)
        i += 1
    return Generated("", steps=(Step(routine="drop_types",
                                     args=(tuple(names), exists, "CASCADE" in words)),))


def _add_value(tokens: list[Token], words: list[str], target: Target) -> Generated:
    """ALTER TYPE name ADD VALUE [IF NOT EXISTS] 'label' [BEFORE | AFTER 'label'], and
    ALTER TYPE name RENAME VALUE 'old' TO 'new'."""
    i, name = 2, ""
    if len(tokens) > 4 and tokens[3].token_type == TokenType.DOT:
        name, i = ("" if word(tokens[2]) == "PUBLIC" else _name(tokens[2]) + "."), 4
    name += _name(tokens[i]) if i < len(tokens) else ""
    rest = words[i + 1 :]
    strings = [t.text for t in tokens[i + 1 :] if t.token_type == TokenType.STRING]
    if rest[:2] == ["RENAME", "VALUE"] and len(strings) == 2:
        return Generated("", steps=(Step(routine="rename_enum_value",
                                         args=(name, strings[0], strings[1])),))
    if rest[:2] != ["ADD", "VALUE"] or not strings:
        raise TranslationError(
            f"{target.backend}: ALTER TYPE supports ADD VALUE, RENAME VALUE and OWNER TO only",
            "0A000")
    exists = rest[2:5] == ["IF", "NOT", "EXISTS"]
    where = next((w for w in rest if w in ("BEFORE", "AFTER")), "")
    if where and len(strings) != 2:
        raise TranslationError(f"syntax error at or near \"{where}\"")
    return Generated("", steps=(Step(routine="add_enum_value", args=(
        name, strings[0], exists, where, strings[1] if where else "")),))


def _name(token: Token) -> str:
    return token.text if token.token_type == TokenType.IDENTIFIER else token.text.lower()


def candidates(tree: exp.Expr) -> set[str]:
    """Type names of the statement's column definitions that may be enums (user-defined
    names), in CREATE TABLE or ALTER TABLE … ADD COLUMN."""
    if not isinstance(tree, (exp.Create, exp.Alter)):
        return set()
    return {name for column in tree.find_all(exp.ColumnDef) if (name := _user_type(column))}


def _user_type(column: exp.Expr) -> str | None:
    if not isinstance(column, exp.ColumnDef):
        return None
    kind = column.args.get("kind")
    if not (isinstance(kind, exp.DataType) and kind.this == exp.DType.USERDEFINED):
        return None
    name = kind.args.get("kind")
    if isinstance(name, exp.Dot):
        name = name.expression
    return name.name if isinstance(name, exp.Identifier) else None


def apply(tree: exp.Expr, labels: dict[str, list[str]], dialect: str,
          composites: frozenset[str] = frozenset()) -> None:
    """Columns of an enum type: a CHECK of the labels (SQLite) or an ENUM (MySQL); columns of
    a composite type hold its text form (SQLite keeps the declared name, MySQL a TEXT)."""
    for column in list(tree.find_all(exp.ColumnDef)):
        name = _user_type(column)
        if name in composites and dialect != "sqlite":
            column.set("kind", exp.DataType(this=exp.DType.TEXT))
            _mark(column, name)
        if name not in labels:
            continue
        values = [exp.Literal.string(v) for v in labels[name]]
        if dialect == "sqlite":
            column.set("kind", exp.DataType(this=exp.DType.USERDEFINED, kind=name))
            column.append("constraints", _check(column.name, labels[name]))
        else:
            column.set("kind", exp.DataType(this=exp.DType.ENUM, expressions=values))
            _mark(column, name)


def _check(column: str, labels: list[str]) -> exp.ColumnConstraint:
    check = exp.In(this=exp.column(column, quoted=True),
                   expressions=[exp.Literal.string(v) for v in labels])
    return exp.ColumnConstraint(this=exp.to_identifier(f"{CHECK_PREFIX}{column}", quoted=True),
                                kind=exp.CheckColumnConstraint(this=check))


def check_sql(column: str, labels: list[str]) -> str:
    """The SQLite text of the CHECK an enum column of these labels has (CREATE TABLE's)."""
    return _check(column, labels).sql("sqlite")


def _mark(column: exp.ColumnDef, name: str) -> None:
    """The type's name, as a column comment the catalog reads: several enum types may have
    the same labels, and a composite value is plain TEXT to MySQL."""
    column.append("constraints", exp.ColumnConstraint(
        kind=exp.CommentColumnConstraint(this=exp.Literal.string(TYPE_MARK + name))))
