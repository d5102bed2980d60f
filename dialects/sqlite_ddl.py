"""PostgreSQL DDL that SQLite has no single statement for, as steps and a table rebuild.

serial, bigserial and identity columns get a sequence of the proxy's and
`DEFAULT (nextval('t_c_seq'))`, as PostgreSQL gives them. DROP of several
names, TRUNCATE, and ALTER TABLE beyond what SQLite's own ALTER does become
steps; the rebuild itself (`rebuild`) is the pure part of SQLite's documented
procedure (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds
Of Table Schema Changes"): the new CREATE TABLE and the copy, from the stored
CREATE TABLE and the ALTER's actions. pgproxy/backends/sqlite_ddl.py runs it.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from dialects import composites, ddl, enums, sequences
from dialects.api import Step, TranslationError

if t.TYPE_CHECKING:
    from dialects.base import PgProxyBackend

_D = exp.DType
_SERIAL = {_D.SERIAL: ("INT", "integer"), _D.BIGSERIAL: ("BIGINT", "bigint"),
           _D.SMALLSERIAL: ("SMALLINT", "smallint")}
_IDENTITY_TYPES = {_D.SMALLINT: "smallint", _D.INT: "integer", _D.BIGINT: "bigint"}
NEW_SUFFIX = "__pgproxy_new"  # the rebuilt table, until it takes the old one's name


def plan(tree: exp.Expr, dialect: PgProxyBackend) -> tuple[Step, ...] | None:
    """Steps for a statement SQLite cannot run as one; None when it can."""
    if isinstance(tree, exp.Create) and tree.kind == "TABLE" and isinstance(tree.this, exp.Schema):
        return _create_table(tree, dialect)
    if (steps := composites.plan(tree, "sqlite")) is not None:
        return steps
    if isinstance(tree, exp.Create) and tree.kind == "TYPE":
        return enums.create_type(tree, "sqlite")
    if isinstance(tree, exp.Drop) and tree.kind == "TABLE":
        names = tuple(_name(n) for n in tree.args.get("tables") or [tree.this])
        return (Step(routine="drop_tables", args=(names, bool(tree.args.get("exists")),
                                                  bool(tree.args.get("cascade")))),)
    if isinstance(tree, exp.Drop) and tree.kind in ("VIEW", "INDEX"):
        tree.set("cascade", False)  # SQLite has no CASCADE
        return ddl.drop_each(tree, dialect)
    if isinstance(tree, exp.TruncateTable):
        names = tuple(_name(n) for n in tree.expressions)
        return (Step(routine="truncate",
                     args=(names, _restart_identity(tree), truncate_cascades(tree))),)
    if isinstance(tree, exp.Alter) and tree.kind == "TABLE":
        return _alter(tree, dialect)
    return None


def truncate_cascades(tree: exp.TruncateTable) -> bool:
    option = tree.args.get("option")
    return option is not None and str(option.name if isinstance(option, exp.Expr) else option
                                      ).upper() == "CASCADE"


def _restart_identity(tree: exp.TruncateTable) -> bool:
    identity = tree.args.get("identity")
    return (isinstance(identity, str) and identity.upper() == "RESTART") or (
        isinstance(identity, exp.Expr) and identity.name.upper() == "RESTART"
    )


def _name(node: exp.Expr) -> str:
    if isinstance(node, exp.Schema):
        node = node.this
    return node.name


def _q(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("sqlite")


# --- CREATE TABLE with serial / identity columns ----------------------------------------------


def serial_sequence(table: str, column: exp.ColumnDef) -> tuple[str, dict[str, t.Any]] | None:
    """(sequence name, options) when the column is serial or identity; retypes the column
    and gives it NOT NULL DEFAULT (nextval('<table>_<column>_seq'))."""
    kind = column.args.get("kind")
    identity = column.find(exp.GeneratedAsIdentityColumnConstraint)
    if identity is not None and identity.expression is not None:
        return None  # a generated (computed) column, not an identity
    if not (isinstance(kind, exp.DataType) and kind.this in _SERIAL) and identity is None:
        return None
    options: dict[str, t.Any] = {}
    if isinstance(kind, exp.DataType) and kind.this in _SERIAL:
        type_sql, options["data_type"] = _SERIAL[kind.this]
        column.set("kind", exp.DataType.build(type_sql))
    elif isinstance(kind, exp.DataType):
        options["data_type"] = _IDENTITY_TYPES.get(kind.this, "bigint")
    if identity is not None:
        for arg, key in (("start", "start"), ("increment", "increment"),
                         ("minvalue", "minvalue"), ("maxvalue", "maxvalue")):
            value = identity.args.get(arg)
            if value is not None:
                options[key] = int(value.sql())
        if identity.args.get("cycle"):
            options["cycle"] = True
        identity.parent.pop()
    name = f"{table}_{column.name}_seq"[:63]
    options["owned_by"] = (table, column.name)
    # As PostgreSQL's default shows it: a name that is not all lower case is quoted.
    literal = name if name == name.lower() and name.isidentifier() else (
        '"' + name.replace('"', '""') + '"')
    if not any(isinstance(c.kind, exp.NotNullColumnConstraint) for c in column.constraints):
        column.append("constraints", exp.ColumnConstraint(kind=exp.NotNullColumnConstraint()))
    call = exp.Anonymous(this="nextval", expressions=[exp.Literal.string(literal)])
    column.append("constraints", exp.ColumnConstraint(
        kind=exp.DefaultColumnConstraint(this=exp.Paren(this=call))
    ))
    return name, options


def _create_table(tree: exp.Create, dialect: PgProxyBackend) -> tuple[Step, ...] | None:
    table = tree.this.this.name
    found = []
    for column in tree.this.expressions:
        if isinstance(column, exp.ColumnDef):
            seq = serial_sequence(table, column)
            if seq is not None:
                found.append(seq)
    # A column of a user-defined type may be an enum: only the database knows its labels.
    create = (Step(routine="create_table", args=(tree,)) if enums.candidates(tree)
              else Step(sql=dialect.generator().generate(tree)))
    if not found:
        return (create,) if create.routine else None
    if_exists = bool(tree.args.get("exists"))
    steps = [Step(sql=sequences.CREATE_TABLE)]
    for name, options in found:
        definition = sequences.resolve(options)
        steps.append(Step(routine="create_sequence",
                          args=(name, if_exists, tuple(definition.items()))))
    steps.append(create)
    return tuple(steps)


# --- ALTER TABLE ----------------------------------------------------------------------------

# Actions SQLite's own ALTER TABLE runs as PostgreSQL would.
_NATIVE = (exp.AlterRename, exp.RenameColumn)


def _alter(tree: exp.Alter, dialect: PgProxyBackend) -> tuple[Step, ...] | None:
    actions = tree.args.get("actions") or []
    if not actions:
        return (Step(sql="SELECT 1 WHERE 0"),)  # everything in it was a storage option
    table = tree.this.name
    if not tree.args.get("exists") and len(actions) == 1 and not enums.candidates(tree) and (
        isinstance(actions[0], _NATIVE) or _plain_add_column(actions[0])
    ):
        action = actions[0]
        if isinstance(action, exp.AlterRename):
            renamed = (table, action.this.name, "", "")
        elif isinstance(action, exp.RenameColumn):
            renamed = (table, table, action.this.name, action.args["to"].name)
        else:
            return None
        # The proxy's own records (sequences' owners, comments) follow the new name.
        return (Step(sql=dialect.generator().generate(tree)),
                Step(routine="rename_owned", args=renamed))
    return (Step(routine="alter_table", args=(tree,)),)


def _plain_add_column(action: exp.Expr) -> bool:
    """ADD COLUMN that SQLite's ALTER takes: no key, no serial, a constant default."""
    if not isinstance(action, exp.ColumnDef) or action.args.get("exists"):
        return False
    kind = action.args.get("kind")
    if isinstance(kind, exp.DataType) and kind.this in _SERIAL:
        return False
    for constraint in action.constraints:
        c = constraint.kind
        if isinstance(c, (exp.PrimaryKeyColumnConstraint, exp.UniqueColumnConstraint,
                          exp.GeneratedAsIdentityColumnConstraint, exp.Reference)):
            return False
        if isinstance(c, exp.DefaultColumnConstraint) and not isinstance(
            c.this, (exp.Literal, exp.Null, exp.Boolean)
        ):
            return False
        if isinstance(c, exp.NotNullColumnConstraint) and not c.args.get("allow_null") and not any(
            isinstance(o.kind, exp.DefaultColumnConstraint) for o in action.constraints
        ):
            return False
    return True


@dataclass
class Rebuild:
    """The pure part of a table rebuild: what to create, how to copy, what else to make."""

    create_sql: str
    copy_columns: list[str] = field(default_factory=list)  # in the new table
    copy_values: list[str] = field(default_factory=list)  # over the old table's columns
    renamed: dict[str, str] = field(default_factory=dict)  # old column -> new
    dropped: set[str] = field(default_factory=set)
    dropped_constraints: set[str] = field(default_factory=set)
    sequences: list[tuple[str, dict[str, t.Any]]] = field(default_factory=list)
    rename_to: str | None = None
    check_foreign_keys: bool = False


def rebuild(table: str, create_sql: str, declared: dict[str, str], alter: exp.Alter,
            dialect: PgProxyBackend, rename_constraint: tuple[str, str] | None = None,
            unreference: str | None = None) -> Rebuild:
    """Apply the ALTER's actions (or a RENAME CONSTRAINT, or dropping the foreign keys to
    table `unreference`) to the stored CREATE TABLE (SQLite's own text); the new table is
    created as `<table>__pgproxy_new`."""
    tree = sqlglot.parse_one(create_sql, read="sqlite")
    schema = tree.this
    columns: dict[str, exp.ColumnDef] = {}
    values: dict[str, str] = {}
    for node in schema.expressions:
        if isinstance(node, exp.ColumnDef):
            _verbatim_type(node, declared.get(node.name, ""))
            columns[node.name] = node
            values[node.name] = _q(node.name)
    out = Rebuild(create_sql="")
    for action in alter.args.get("actions") or []:
        _apply(action, table, schema, columns, values, out, dialect, alter)
    if unreference is not None:
        _drop_references(schema, unreference)
    if rename_constraint is not None and not _rename_constraint(schema, table,
                                                                 *rename_constraint):
        raise TranslationError(
            f'constraint "{rename_constraint[0]}" of relation "{table}" does not exist', "42704"
        )
    schema.this.set("this", exp.to_identifier(table + NEW_SUFFIX, quoted=True))
    out.create_sql = tree.sql("sqlite")
    for name, node in columns.items():
        if name in values:
            out.copy_columns.append(_q(node.name))
            out.copy_values.append(values[name])
    return out


def _verbatim_type(column: exp.ColumnDef, declared: str) -> None:
    """Keep the declared type's text as SQLite stored it (INTEGER stays the rowid's)."""
    if declared:
        column.set("kind", exp.DataType(this=_D.USERDEFINED, kind=declared))
    else:
        column.set("kind", None)


def _sqlite_node(text: str, last: bool = True) -> exp.Expr:
    """A column or table constraint our generator wrote, read back in SQLite's dialect."""
    parsed = sqlglot.parse_one(f"CREATE TABLE x ({text})", read="sqlite")
    return parsed.this.expressions[-1 if last else 0]


def _column(name: str, columns: dict[str, exp.ColumnDef], table: str) -> exp.ColumnDef:
    column = columns.get(name)
    if column is None:
        raise TranslationError(f'column "{name}" of relation "{table}" does not exist', "42703")
    return column


def _apply(action: exp.Expr, table: str, schema: exp.Schema, columns: dict[str, exp.ColumnDef],
           values: dict[str, str], out: Rebuild, dialect: PgProxyBackend,
           alter: exp.Alter) -> None:
    gen = dialect.generator()
    if isinstance(action, exp.ColumnDef):
        if action.name in columns:
            if action.args.get("exists"):
                return
            raise TranslationError(
                f'column "{action.name}" of relation "{table}" already exists', "42701"
            )
        action = action.copy()
        action.set("exists", False)
        seq = serial_sequence(table, action)
        if seq is not None:
            out.sequences.append(seq)
        node = _sqlite_node(gen.generate(action))
        _verbatim_type(node, action.args["kind"].sql("postgres"))
        # Columns come before the table's constraints in SQLite's grammar.
        items = list(schema.expressions)
        last = max((i for i, n in enumerate(items) if isinstance(n, exp.ColumnDef)), default=-1)
        items.insert(last + 1, node)
        schema.set("expressions", items)
        columns[action.name] = node
        return
    if isinstance(action, exp.Drop) and action.kind == "COLUMN":
        for target in action.args.get("tables") or []:
            name = target.name
            if name not in columns:
                if action.args.get("exists"):
                    continue
                _column(name, columns, table)
            columns.pop(name).pop()
            values.pop(name, None)
            out.dropped.add(name)
            for node in list(schema.expressions):
                if not isinstance(node, exp.ColumnDef) and name in _referenced(node):
                    node.pop()  # PostgreSQL drops the constraints on a dropped column
        return
    if isinstance(action, exp.Drop) and action.kind == "CONSTRAINT":
        for target in action.args.get("tables") or []:
            if not _drop_constraint(schema, table, target.name):
                if action.args.get("exists"):
                    continue
                raise TranslationError(
                    f'constraint "{target.name}" of relation "{table}" does not exist', "42704"
                )
            out.dropped_constraints.add(target.name)
        return
    if isinstance(action, exp.AddConstraint):
        for constraint in action.expressions:
            text = gen.generate(constraint.copy())
            node = _sqlite_node(f"x INT, {text}")
            if _is_primary_key(node) and _has_primary_key(schema):
                raise TranslationError(
                    f'multiple primary keys for table "{table}" are not allowed', "42P16"
                )
            schema.append("expressions", node)
            if node.find(exp.ForeignKey, exp.Reference):
                out.check_foreign_keys = not alter.args.get("not_valid")
        return
    if isinstance(action, exp.AlterColumn):
        _alter_column(action, table, columns, values, out, gen)
        return
    if isinstance(action, exp.RenameColumn):
        old, new = action.this.name, action.args["to"].name
        column = _column(old, columns, table)
        if new in columns:
            raise TranslationError(
                f'column "{new}" of relation "{table}" already exists', "42701"
            )
        column.set("this", exp.to_identifier(new, quoted=True))
        for node in schema.expressions:
            if not isinstance(node, exp.ColumnDef):
                for ident in node.find_all(exp.Identifier):
                    if ident.name == old and not isinstance(ident.parent, exp.Table):
                        ident.replace(exp.to_identifier(new, quoted=True))
        columns[new] = columns.pop(old)
        values[new] = values.pop(old)
        out.renamed[old] = new
        return
    if isinstance(action, exp.AlterRename):
        out.rename_to = action.this.name
        return
    raise TranslationError(f"sqlite: ALTER TABLE … {action.key.upper()} is not supported",
                           "0A000")


def _alter_column(action: exp.AlterColumn, table: str, columns: dict[str, exp.ColumnDef],
                  values: dict[str, str], out: Rebuild, gen: t.Any) -> None:
    name = action.this.name
    column = _column(name, columns, table)
    dtype = action.args.get("dtype")
    if dtype is not None:
        declared = dtype.sql("postgres")
        _verbatim_type(column, declared)
        using = action.args.get("using")
        if isinstance(using, exp.Expr):
            values[name] = gen.generate(using.copy())
        else:
            values[name] = gen.generate(
                exp.Cast(this=exp.column(name, quoted=True), to=dtype.copy())
            )
        return
    if action.args.get("default") is not None:
        _drop_kind(column, exp.DefaultColumnConstraint)
        text = gen.generate(action.args["default"].copy())
        if not isinstance(action.args["default"], (exp.Literal, exp.Null, exp.Boolean)):
            text = f"({text})"
        node = _sqlite_node(f"x INT DEFAULT {text}")
        column.append("constraints", node.constraints[-1])
        return
    allow_null = action.args.get("allow_null")
    if allow_null is False:
        if not _drop_kind(column, exp.NotNullColumnConstraint, remove=False):
            column.append("constraints", exp.ColumnConstraint(kind=exp.NotNullColumnConstraint()))
        return
    if allow_null is True:
        _drop_kind(column, exp.NotNullColumnConstraint)
        return
    if action.args.get("drop"):
        _drop_kind(column, exp.DefaultColumnConstraint)
        return
    raise TranslationError("sqlite: this ALTER COLUMN form is not supported", "0A000")


def _drop_kind(column: exp.ColumnDef, kind: type, remove: bool = True) -> bool:
    found = False
    for constraint in list(column.constraints):
        if isinstance(constraint.kind, kind):
            found = True
            if remove:
                constraint.pop()
    return found


def _referenced(node: exp.Expr) -> set[str]:
    """Columns of this table a table constraint names (its own columns, its CHECK's)."""
    names = set()
    for ident in node.find_all(exp.Identifier):
        if isinstance(ident.parent, (exp.Table, exp.Constraint)):
            continue
        if ident.find_ancestor(exp.Reference) is not None:
            continue
        names.add(ident.name)
    return names


def _is_primary_key(node: exp.Expr) -> bool:
    return node.find(exp.PrimaryKey, exp.PrimaryKeyColumnConstraint) is not None


def _has_primary_key(schema: exp.Schema) -> bool:
    return any(_is_primary_key(node) for node in schema.expressions)


def default_names(table: str, node: exp.Expr) -> list[str]:
    """The names PostgreSQL would have given an unnamed constraint (t_pkey, t_a_key …)."""
    cols = [i.name for i in node.find_all(exp.Identifier)
            if not isinstance(i.parent, exp.Table) and i.find_ancestor(exp.Reference) is None]
    if isinstance(node, exp.ColumnDef):
        out = []
        for constraint in node.constraints:
            suffix = _suffix(constraint.kind)
            if suffix:
                out.append(f"{table}_pkey" if suffix == "pkey" else f"{table}_{node.name}_{suffix}")
        return out
    suffix = _suffix(node)
    if suffix == "pkey":
        return [f"{table}_pkey"]
    if suffix:
        return [f"{table}_{'_'.join(cols)}_{suffix}" if cols else f"{table}_{suffix}"]
    return []


def _suffix(node: exp.Expr) -> str:
    if isinstance(node, (exp.PrimaryKey, exp.PrimaryKeyColumnConstraint)):
        return "pkey"
    if isinstance(node, exp.UniqueColumnConstraint) or node.find(exp.UniqueColumnConstraint):
        return "key"
    if isinstance(node, (exp.ForeignKey, exp.Reference)) or node.find(exp.ForeignKey):
        return "fkey"
    if isinstance(node, exp.CheckColumnConstraint) or node.find(exp.CheckColumnConstraint):
        return "check"
    return ""


def _drop_constraint(schema: exp.Schema, table: str, name: str) -> bool:
    """Remove the constraint called `name` (given, or PostgreSQL's default name for it)."""
    for node in list(schema.expressions):
        if isinstance(node, exp.Constraint) and node.name == name:
            node.pop()
            return True
        if isinstance(node, exp.ColumnDef):
            for constraint in list(node.constraints):
                given = constraint.args.get("this")
                if given is not None and given.name == name:
                    constraint.pop()
                    return True
                suffix = _suffix(constraint.kind)
                default = f"{table}_pkey" if suffix == "pkey" else f"{table}_{node.name}_{suffix}"
                if suffix and given is None and default == name:
                    constraint.pop()
                    return True
        elif not isinstance(node, exp.Constraint) and name in default_names(table, node):
            node.pop()
            return True
    return False


def renamed_index(sql: str, new: str) -> str:
    """A stored CREATE INDEX under another name."""
    tree = sqlglot.parse_one(sql, read="sqlite")
    tree.this.set("this", exp.to_identifier(new, quoted=True))
    return tree.sql("sqlite")


def _drop_references(schema: exp.Schema, parent: str) -> None:
    """DROP TABLE parent CASCADE: the foreign keys to it go, the rows stay."""
    for reference in list(schema.find_all(exp.Reference)):
        target = reference.this.this if isinstance(reference.this, exp.Schema) else reference.this
        if not (isinstance(target, exp.Table) and target.name == parent):
            continue
        owner = reference.find_ancestor(exp.ColumnConstraint, exp.Constraint, exp.ForeignKey)
        if isinstance(owner, exp.ForeignKey):
            owner = owner.find_ancestor(exp.Constraint) or owner
        (owner or reference).pop()


def _rename_constraint(schema: exp.Schema, table: str, old: str, new: str) -> bool:
    """Give the constraint called `old` (or with PostgreSQL's default name `old`) the name
    `new`; an unnamed one becomes a named one."""
    ident = exp.to_identifier(new, quoted=True)
    for node in list(schema.expressions):
        if isinstance(node, exp.Constraint):
            if node.name == old:
                node.set("this", ident)
                return True
        elif isinstance(node, exp.ColumnDef):
            for constraint in node.constraints:
                given = constraint.args.get("this")
                suffix = _suffix(constraint.kind)
                default = f"{table}_pkey" if suffix == "pkey" else f"{table}_{node.name}_{suffix}"
                if (given is not None and given.name == old) or (
                    given is None and suffix and default == old
                ):
                    constraint.set("this", ident)
                    return True
        elif old in default_names(table, node):
            node.replace(exp.Constraint(this=ident, expressions=[node.copy()]))
            return True
    return False


def index_sql(sql: str, renamed: dict[str, str], dropped: set[str]) -> str | None:
    """A saved CREATE INDEX with renamed columns renamed; None if it used a dropped column."""
    tree = sqlglot.parse_one(sql, read="sqlite")
    used = {c.name for c in tree.find_all(exp.Column)} | {
        i.name for i in tree.find_all(exp.Identifier) if isinstance(i.parent, exp.Ordered)
    }
    if used & dropped:
        return None
    if not renamed:
        return sql
    for column in tree.find_all(exp.Column):
        if column.name in renamed:
            column.set("this", exp.to_identifier(renamed[column.name], quoted=True))
    return tree.sql("sqlite")


@dataclass
class Constraints:
    """What a stored CREATE TABLE says about its constraints that SQLite's pragmas do not:
    the names given to them, and its CHECKs (as PostgreSQL writes their expressions)."""

    names: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict)  # (p/u/f, cols)
    checks: list[tuple[str, str, list[str]]] = field(default_factory=list)  # name, expr, cols


def constraints(table: str, create_sql: str) -> Constraints:
    out = Constraints()
    try:
        tree = sqlglot.parse_one(create_sql, read="sqlite")
    except sqlglot.errors.ParseError:
        return out
    if not isinstance(tree, exp.Create) or not isinstance(tree.this, exp.Schema):
        return out
    for node in tree.this.expressions:
        if isinstance(node, exp.ColumnDef):
            for constraint in node.constraints:
                given = constraint.args.get("this")
                _record(out, table, constraint.kind, given.name if given else None, [node.name])
        elif isinstance(node, exp.Constraint):
            for inner in node.expressions:
                _record(out, table, inner, node.name, _own_columns(inner))
        else:
            _record(out, table, node, None, _own_columns(node))
    return out


def _own_columns(node: exp.Expr) -> list[str]:
    if isinstance(node, exp.CheckColumnConstraint):
        return sorted({c.name for c in node.find_all(exp.Column)})
    return [i.name for i in node.find_all(exp.Identifier)
            if not isinstance(i.parent, exp.Table) and i.find_ancestor(exp.Reference) is None]


def _record(out: Constraints, table: str, node: exp.Expr, name: str | None,
            cols: list[str]) -> None:
    suffix = _suffix(node)
    if not suffix or (name or "").startswith(enums.CHECK_PREFIX):
        return
    if suffix == "check":
        check = node if isinstance(node, exp.CheckColumnConstraint) else node.find(
            exp.CheckColumnConstraint)
        expr = check.this.sql("postgres", normalize_functions="lower") if check is not None else ""
        cols = sorted({c.name for c in check.find_all(exp.Column)}) if check else cols
        default = f"{table}_{cols[0]}_check" if cols else f"{table}_check"
        out.checks.append((name or default, f"CHECK (({expr}))", cols))
        return
    if name:
        out.names[({"pkey": "p", "key": "u", "fkey": "f"}[suffix], tuple(cols))] = name
