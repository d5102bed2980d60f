"""DDL as ORMs, migration tools and pg_dump write it, made fit for the SQL backends.

`prepare` strips what only PostgreSQL's storage layer means (WITH (fillfactor=…),
UNLOGGED, TABLESPACE, CONCURRENTLY, USING btree/hash, operator classes, INCLUDE)
and says so in NOTICEs. `plan` turns a statement the backend has no single
statement for into `Step`s: several names in one DROP or TRUNCATE, SQLite's
table rebuild, MariaDB's column changes that need the column's current
definition. Utility statements (VACUUM, ANALYZE, LOCK, DO) get their nearest
backend equivalent or a 0A000 naming the feature.
"""

from __future__ import annotations

import typing as t

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from dialects import comments, enums, sequences
from dialects.api import Generated, Statement, Step, Target, TranslationError
from dialects.classify import word
from dialects.engines import stock

if t.TYPE_CHECKING:
    from dialects.base import PgProxyBackend

_ROUTINES = ("FUNCTION", "PROCEDURE", "TRIGGER", "AGGREGATE", "OPERATOR", "RULE")


def refuse_routine(kind: str, backend: str) -> t.NoReturn:
    raise TranslationError(
        f"{backend}: CREATE {kind} is not supported: the proxy runs no server-side "
        "(PL/pgSQL or SQL) functions", "0A000",
    )


def prepare(tree: exp.Expr, target: Target) -> tuple[exp.Expr, tuple[str, ...]]:
    """The tree without PostgreSQL-only storage options, and a NOTICE for each one dropped."""
    backend = target.backend
    notices: list[str] = []
    if isinstance(tree, exp.Create) and (tree.kind or "").upper() in _ROUTINES:
        refuse_routine(tree.kind.upper(), backend)
    if isinstance(tree, exp.Create):
        _create_options(tree, backend, notices)
    elif isinstance(tree, exp.Alter):
        for action in list(tree.args.get("actions") or []):
            if isinstance(action, exp.AlterSet) and all(
                isinstance(e, exp.EQ) for e in action.expressions
            ):
                names = ", ".join(e.this.name for e in action.expressions)
                notices.append(f"{backend}: storage parameters ({names}) are ignored")
                action.pop()
    for cast in list(tree.find_all(exp.Cast)):
        if cast.to.this == exp.DType.USERDEFINED and isinstance(cast.this, exp.Literal):
            cast.replace(cast.this)  # 'ok'::public.mood: an enum's label is its text
    for opclass in list(tree.find_all(exp.Opclass)):
        opclass.replace(opclass.this)  # varchar_pattern_ops …: every index here compares bytes
    for params in list(tree.find_all(exp.IndexParameters)):
        _index_parameters(params, backend, notices)
        if target.dialect != "sqlite" and isinstance(params.parent, exp.Index):
            _mysql_index(params, tree, backend, notices)
    return tree, tuple(notices)


def _create_options(tree: exp.Create, backend: str, notices: list[str]) -> None:
    if tree.args.get("concurrently"):
        tree.set("concurrently", False)  # no backend here blocks writers the way PostgreSQL does
    props = tree.args.get("properties")
    if props is None:
        return
    for prop in list(props.expressions):
        if isinstance(prop, exp.UnloggedProperty):
            notices.append(f"{backend}: UNLOGGED is ignored; the table is logged")
            prop.pop()
        elif isinstance(prop, exp.Property) and type(prop) is exp.Property:
            notices.append(f"{backend}: storage parameter {prop.name} is ignored")
            prop.pop()
        elif isinstance(prop, exp.TableSpaceProperty):
            notices.append(f"{backend}: TABLESPACE is ignored")
            prop.pop()
    if not props.expressions:
        tree.set("properties", None)


def _index_parameters(params: exp.IndexParameters, backend: str, notices: list[str]) -> None:
    using = params.args.get("using")
    if using is not None:
        method = using.name.lower()
        if method not in ("btree", "hash"):
            raise TranslationError(f"{backend}: index method {method} is not supported", "0A000")
        if method == "hash":
            notices.append(f"{backend}: a hash index is made as a b-tree index")
        params.set("using", None)
    if params.args.get("include"):
        notices.append(f"{backend}: INCLUDE columns are ignored (the index covers its keys only)")
        params.set("include", None)
    storage = params.args.get("with_storage")
    if isinstance(storage, list) and storage:
        notices.append(f"{backend}: index storage parameters are ignored")
    params.set("with_storage", None)
    if params.args.get("tablespace") is not None:
        params.set("tablespace", None)


def _mysql_index(params: exp.IndexParameters, tree: exp.Expr, backend: str,
                 notices: list[str]) -> None:
    """MySQL indexes columns only, and every row: a partial index becomes a full one (the
    same answers, a bigger index); a partial UNIQUE or an expression index cannot be had."""
    for column in params.args.get("columns") or []:
        key = column.this if isinstance(column, exp.Ordered) else column
        if not isinstance(key, (exp.Column, exp.Identifier)):
            raise TranslationError(f"{backend}: indexes on expressions are not supported",
                                   "0A000")
    if params.args.get("where") is not None:
        if isinstance(tree, exp.Create) and tree.args.get("unique"):
            raise TranslationError(
                f"{backend}: a partial unique index (CREATE UNIQUE INDEX … WHERE) has no "
                "equivalent", "0A000",
            )
        notices.append(f"{backend}: the index covers every row (no partial indexes)")
        params.set("where", None)


# --- several statements for one ------------------------------------------------------------


def drop_each(tree: exp.Drop, dialect: PgProxyBackend) -> tuple[Step, ...] | None:
    """DROP TABLE a, b as one DROP per name (SQLite drops one table at a time)."""
    names = tree.args.get("tables") or []
    if len(names) < 2:
        return None
    steps = []
    for name in names:
        one = tree.copy()
        one.set("tables", [name.copy()])
        steps.append(Step(sql=dialect.generator().generate(one, copy=False)))
    return tuple(steps)


def rename_column_tokens(tokens: list[Token]) -> list[Token]:
    """ALTER TABLE t RENAME a TO b: COLUMN is optional in PostgreSQL (knex leaves it out),
    and sqlglot reads the bare form as a table rename."""
    out = list(tokens)
    for i, tok in enumerate(tokens[:-2]):
        if tok.token_type == TokenType.RENAME and word(tokens[i + 1]) not in (
            "TO", "COLUMN", "CONSTRAINT"
        ) and word(tokens[i + 2]) == "TO":
            column = Token(TokenType.COLUMN, "COLUMN", tok.line, tok.col, tok.start, tok.end)
            out.insert(out.index(tok) + 1, column)
    return out


# --- utility statements (no sqlglot tree) ----------------------------------------------------

_LOCK_SHARED = ("ACCESS SHARE", "ROW SHARE")
_IGNORED_ALTER = ("VALIDATE CONSTRAINT", "SET STATISTICS", "SET STORAGE", "SET COMPRESSION",
                  "CLUSTER ON", "SET WITHOUT CLUSTER", "REPLICA IDENTITY", "DISABLE TRIGGER",
                  "ENABLE TRIGGER", "ENABLE ALWAYS TRIGGER", "ENABLE REPLICA TRIGGER",
                  "SET LOGGED", "SET UNLOGGED", "SET ACCESS METHOD", "SET TABLESPACE",
                  "ROW LEVEL SECURITY")


def utility(statement: Statement, tokens: list[Token], target: Target) -> Generated | None:
    """A DDL or maintenance statement sqlglot keeps whole, as the backend can take it;
    None when there is no rule for it (the caller refuses it with 0A000)."""
    handler = _UTILITIES.get(statement.tag)
    if handler is None and statement.tag.partition(" ")[2] in _ROUTINES:
        refuse_routine(statement.tag.partition(" ")[2], target.backend)
    return handler(statement.tag, tokens, target) if handler else None


def _do(tag: str, tokens: list[Token], target: Target) -> Generated:
    raise TranslationError(
        f"{target.backend}: DO blocks (anonymous PL/pgSQL code) are not supported", "0A000"
    )


def _alter_table(tag: str, tokens: list[Token], target: Target) -> Generated | None:
    """The ALTER TABLE forms sqlglot does not parse."""
    text = " ".join(word(tok) for tok in tokens)
    if " OWNER TO " in f" {text} ":
        return Generated("")  # pg_dump's OWNER TO: the backend user owns everything
    form = next((form for form in _IGNORED_ALTER if form in text), None)
    if form is not None:
        # Planner and storage settings; VALIDATE CONSTRAINT (constraints here are checked
        # when they are added); DISABLE TRIGGER (pg_dump --disable-triggers): nothing to do.
        return Generated("", notices=(f"{target.backend}: ALTER TABLE … {form} is ignored",))
    if "RENAME CONSTRAINT" in text:
        return _rename_constraint(tokens, target)
    if " IDENTITY" in text:
        return sequences.add_identity(tokens, target)
    return None


def _alter_index(tag: str, tokens: list[Token], target: Target) -> Generated:
    """ALTER INDEX [IF EXISTS] a RENAME TO b (Django's RenameIndex); storage settings of an
    index are ignored. SQLite has no ALTER INDEX and MySQL renames through the table."""
    words = [word(tok) for tok in tokens]
    i = 2
    exists = words[i : i + 2] == ["IF", "EXISTS"]
    if exists:
        i += 2
    names, rest = _names(tokens[i:])
    rest_words = [word(tok) for tok in rest]
    if len(names) != 1:
        raise TranslationError("syntax error in ALTER INDEX", "42601")
    if rest_words[:2] == ["RENAME", "TO"]:
        new, _ = _names(rest[2:])
        if len(new) != 1:
            raise TranslationError("syntax error in ALTER INDEX", "42601")
        return Generated("", steps=(Step(routine="rename_index",
                                         args=(names[0], new[0], exists)),))
    if rest_words[:1] in (["SET"], ["RESET"]):
        return Generated("", notices=(f"{target.backend}: ALTER INDEX … {rest_words[0]} is "
                                      "ignored",))
    raise TranslationError(f"{target.backend}: this ALTER INDEX is not supported", "0A000")


def _rename_constraint(tokens: list[Token], target: Target) -> Generated:
    """ALTER TABLE [IF EXISTS] [ONLY] t RENAME CONSTRAINT a TO b: SQLite rebuilds the table
    with the new name; MySQL cannot rename a constraint."""
    if target.dialect != "sqlite":
        raise TranslationError(
            f"{target.backend}: ALTER TABLE … RENAME CONSTRAINT is not supported", "0A000"
        )
    words = [word(tok) for tok in tokens]
    i = 2
    exists = words[i : i + 2] == ["IF", "EXISTS"]
    i += 2 if exists else 0
    i += 1 if words[i] == "ONLY" else 0
    table, rest = _names(tokens[i:])
    old, rest = _names(rest[2:])  # RENAME CONSTRAINT
    new, rest = _names(rest[1:])  # TO
    if len(table) != 1 or len(old) != 1 or len(new) != 1 or rest:
        raise TranslationError("syntax error in ALTER TABLE … RENAME CONSTRAINT", "42601")
    return Generated("", steps=(Step(routine="rename_constraint",
                                     args=(table[0], old[0], new[0], exists)),))


def _maintenance(tag: str, tokens: list[Token], target: Target) -> Generated:
    """VACUUM [ANALYZE], ANALYZE and LOCK TABLE, with their option lists and table names."""
    flags = _option_words(tokens[1:])
    rest = _skip_options(tokens[1:])
    while rest and word(rest[0]) in ("FULL", "FREEZE", "VERBOSE", "ANALYZE", "ANALYSE",
                                     "TABLE", "ONLY"):
        flags.append(word(rest[0]))
        rest = _skip_options(rest[1:])
    names, rest = _names(rest)
    if tag == "LOCK TABLE":
        mode = " ".join(word(tok) for tok in rest if word(tok) not in ("IN", "MODE", "NOWAIT"))
        if not names:
            raise TranslationError('syntax error at or near "LOCK"', "42601")
        return _lock(names, mode, target)
    analyze = tag == "ANALYZE" or "ANALYZE" in flags or "ANALYSE" in flags
    if not analyze:
        return Generated("")  # VACUUM: the backends reclaim space themselves
    if target.dialect == "sqlite":
        if not names:
            return Generated("ANALYZE")
        return Generated("", steps=tuple(Step(sql=f"ANALYZE {_quote(n, target)}") for n in names))
    if not names:
        return Generated("")  # MariaDB keeps statistics up to date on its own
    return Generated("", steps=(
        Step(sql="ANALYZE TABLE " + ", ".join(_quote(n, target) for n in names)),
    ))


def _drop_index(tag: str, tokens: list[Token], target: Target) -> Generated:
    """DROP INDEX [CONCURRENTLY] [IF EXISTS] a, b [CASCADE]: MariaDB needs each index's table,
    which only the schema knows."""
    rest = tokens[2:]
    if rest and word(rest[0]) == "CONCURRENTLY":
        rest = rest[1:]
    exists = bool(rest) and word(rest[0]) == "IF"
    if exists:
        rest = rest[2:]
    names, rest = _names(rest)
    if not names or (rest and word(rest[0]) not in ("CASCADE", "RESTRICT")):
        raise TranslationError("syntax error in DROP INDEX", "42601")
    if target.dialect == "sqlite":
        clause = "IF EXISTS " if exists else ""
        return Generated("", steps=tuple(
            Step(sql=f"DROP INDEX {clause}{_quote(n, target)}") for n in names
        ))
    return Generated("", steps=(Step(routine="drop_index", args=(tuple(names), exists)),))


def _reindex(tag: str, tokens: list[Token], target: Target) -> Generated:
    """REINDEX {INDEX|TABLE} name: SQLite rebuilds the same way; MariaDB's indexes need none."""
    rest = [t for t in tokens[1:] if word(t) not in ("CONCURRENTLY", "VERBOSE")]
    if rest and rest[0].token_type == TokenType.L_PAREN:
        rest = _skip_options(rest)
    kind = word(rest[0]) if rest else ""
    names, _ = _names(rest[1:])
    if target.dialect != "sqlite":
        return Generated("")
    if kind in ("INDEX", "TABLE") and names:
        return Generated(f"REINDEX {_quote(names[0], target)}")
    return Generated("REINDEX")  # DATABASE / SYSTEM / SCHEMA: everything


def _lock(names: list[str], mode: str, target: Target) -> Generated:
    """LOCK TABLE: SQLite has one writer, so any write lock is the database's; MariaDB locks
    every row (LOCK TABLES would end the transaction)."""
    if mode in _LOCK_SHARED:
        return Generated("")
    if target.dialect == "sqlite":
        # A write that changes nothing still takes SQLite's write lock for the transaction.
        return Generated("", steps=tuple(
            Step(sql=f"UPDATE {_quote(n, target)} SET rowid = rowid WHERE 0") for n in names
        ))
    return Generated("", steps=tuple(
        Step(sql=f"SELECT 1 FROM {_quote(n, target)} FOR UPDATE") for n in names
    ))


def _option_words(tokens: list[Token]) -> list[str]:
    """The words of VACUUM (VERBOSE, ANALYZE) …'s option list."""
    if not tokens or tokens[0].token_type != TokenType.L_PAREN:
        return []
    inside = tokens[: len(tokens) - len(_skip_options(tokens))]
    return [word(tok) for tok in inside]


def _skip_options(tokens: list[Token]) -> list[Token]:
    """VACUUM (VERBOSE, ANALYZE) …: the parenthesised option list, skipped."""
    if tokens and tokens[0].token_type == TokenType.L_PAREN:
        depth = 0
        for i, tok in enumerate(tokens):
            if tok.token_type == TokenType.L_PAREN:
                depth += 1
            elif tok.token_type == TokenType.R_PAREN:
                depth -= 1
                if depth == 0:
                    return tokens[i + 1 :]
    return tokens


def _names(tokens: list[Token]) -> tuple[list[str], list[Token]]:
    """Comma-separated (possibly schema-qualified) names, each with an optional column list."""
    names: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.token_type not in (TokenType.VAR, TokenType.IDENTIFIER) and not (
            tok.text.isidentifier() and word(tok) not in ("IN", "NOWAIT")
        ):
            break
        parts = [_ident(tok)]
        i += 1
        while i + 1 < len(tokens) and tokens[i].token_type == TokenType.DOT:
            parts.append(_ident(tokens[i + 1]))
            i += 2
        if len(parts) == 2 and parts[0] == "public":
            parts = parts[1:]
        names.append(".".join(parts))
        if i < len(tokens) and tokens[i].token_type == TokenType.L_PAREN:
            rest = _skip_options(tokens[i:])
            i = len(tokens) - len(rest)
        if i < len(tokens) and tokens[i].token_type == TokenType.COMMA:
            i += 1
            continue
        break
    return names, tokens[i:]


def _ident(tok: Token) -> str:
    return tok.text if tok.token_type == TokenType.IDENTIFIER else tok.text.lower()


def _quote(name: str, target: Target) -> str:
    dialect = stock(target.dialect)
    return ".".join(
        exp.to_identifier(part, quoted=True).sql(dialect) for part in name.split(".")
    )


Handler = t.Callable[[str, list[Token], Target], "Generated | None"]
_UTILITIES: dict[str, Handler] = {
    "DO": _do,
    "ALTER TABLE": _alter_table,
    "DROP INDEX": _drop_index,
    "ALTER INDEX": _alter_index,
    "COMMENT": lambda tag, tokens, target: comments.comment(tokens, target),
    "DROP TYPE": enums.type_statement,
    "ALTER TYPE": enums.type_statement,
    "REINDEX": _reindex,
    "VACUUM": _maintenance,
    "ANALYZE": _maintenance,
    "LOCK TABLE": _maintenance,
}
