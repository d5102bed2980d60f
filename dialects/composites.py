"""CREATE TYPE … AS (fields) and CREATE / DROP SCHEMA: kept by the proxy, in its own tables.

A composite type is its fields, in `pgproxy_composites` (the catalog shows it in pg_type,
pg_class and pg_attribute); a value of it is the record's text form `(1,"a b")` on the
backend (dialects/records.py builds one from ROW(…)). A schema is a name in
`pgproxy_schemas` (pg_namespace and information_schema.schemata list it) that types may be
made in (`CREATE TYPE s.t AS (…)`); the backend's tables all stay in its one namespace.
"""

from __future__ import annotations

from sqlglot import exp

from dialects.api import Step, TranslationError

TYPES = "pgproxy_composites"
SCHEMAS = "pgproxy_schemas"
_TEXT = {"sqlite": "TEXT", "mysql": "VARCHAR(255)"}
_CREATE = {
    TYPES: "CREATE TABLE IF NOT EXISTS pgproxy_composites (type_name {t} NOT NULL, attnum INTEGER"
    " NOT NULL, attname {t} NOT NULL, atttype {t} NOT NULL, PRIMARY KEY (type_name, attnum))",
    SCHEMAS: "CREATE TABLE IF NOT EXISTS pgproxy_schemas (name {t} NOT NULL PRIMARY KEY)",
}
_MYSQL_TAIL = " DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"


def create_table_sql(table: str, backend: str) -> str:
    """The proxy's table, made by the routine that first needs it (so on MySQL a CREATE
    TYPE inside a transaction commits nothing when the table is there already)."""
    mysql = backend != "sqlite"
    sql = _CREATE[table].format(t=_TEXT["mysql" if mysql else "sqlite"])
    return sql + _MYSQL_TAIL if mysql else sql


def _ident(node: exp.Expr | None) -> str:
    if not isinstance(node, exp.Identifier):
        return ""
    return node.this if node.quoted else node.this.lower()


def qualified(table: exp.Table) -> str:
    """`s.t` for an object of schema s, `t` for one of public (or of no schema written)."""
    name = _ident(table.this)
    schema = _ident(table.args.get("db"))
    return f"{schema}.{name}" if schema and schema != "public" else name


def create_type(tree: exp.Create, backend: str) -> tuple[Step, ...]:
    body = tree.expression
    if not isinstance(body, exp.Schema):
        raise TranslationError(f"{backend}: CREATE TYPE supports AS ENUM and AS (…) only", "0A000")
    fields = []
    for column in body.expressions:
        if not isinstance(column, exp.ColumnDef) or not isinstance(column.args.get("kind"),
                                                                  exp.DataType):
            raise TranslationError("a composite type's fields are a name and a type each")
        fields.append((_ident(column.this), column.args["kind"].sql("postgres")))
    if len({name for name, _ in fields}) != len(fields):
        raise TranslationError("column names of a composite type must be unique", "42701")
    return (Step(routine="create_composite", args=(qualified(tree.this), tuple(fields))),)


def create_schema(tree: exp.Create, backend: str) -> tuple[Step, ...]:
    name = _ident(tree.this.args.get("db")) if isinstance(tree.this, exp.Table) else ""
    if not name:
        raise TranslationError("CREATE SCHEMA takes a schema name", "42601")
    if tree.args.get("expression") is not None:
        raise TranslationError(f"{backend}: CREATE SCHEMA with elements is not supported",
                               "0A000")
    return (Step(routine="create_schema", args=(name, bool(tree.args.get("exists")))),)


def drop_schema(tree: exp.Drop) -> tuple[Step, ...]:
    names = tuple(_ident(t.args.get("db")) or _ident(t.this)
                  for t in tree.args.get("tables") or [tree.this])
    return (Step(routine="drop_schemas", args=(names, bool(tree.args.get("exists")),
                                               bool(tree.args.get("cascade")))),)


def plan(tree: exp.Expr, backend: str) -> tuple[Step, ...] | None:
    """The steps for CREATE TYPE … AS (…), CREATE SCHEMA and DROP SCHEMA; None for others."""
    if isinstance(tree, exp.Create) and tree.kind == "TYPE" and isinstance(tree.expression,
                                                                           exp.Schema):
        return create_type(tree, backend)
    if isinstance(tree, exp.Create) and tree.kind == "SCHEMA":
        return create_schema(tree, backend)
    if isinstance(tree, exp.Drop) and tree.kind == "SCHEMA":
        return drop_schema(tree)
    return None
