"""Reads a backend's real schema through its ordinary Connection, in its own SQL.

SQLite: sqlite_master and the pragma table-valued functions; MySQL/MariaDB
(and Dolt's sql-server): information_schema of the connected database. The
result is a backend-neutral Schema the engine turns into pg_catalog rows;
types are mapped to PostgreSQL type OIDs and typmods here, once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dialects.enums import TYPE_MARK
from dialects.mysql import MARKS
from pgproxy import pgtypes
from pgproxy.backends.base import Connection
from pgproxy.backends.steps import has_table
from pgproxy.catalog.builtins import quote_ident
from pgproxy.catalog.deparse import (
    default_sql,
    index_expressions,
    index_predicate,
    sqlite_generated,
    view_sql,
)


@dataclass
class ColumnInfo:
    name: str
    type_oid: int
    typmod: int = -1
    notnull: bool = False
    default: str | None = None  # a PostgreSQL expression's text
    identity: bool = False  # the backend numbers it (SQLite rowid, AUTO_INCREMENT)
    type_name: str | None = None  # a type of the proxy's (an enum) the column was made with
    comment: str | None = None
    generated: str | None = None  # GENERATED ALWAYS AS (this) in PostgreSQL's SQL


@dataclass
class IndexInfo:
    name: str
    columns: list[str]
    unique: bool = False
    primary: bool = False
    constraint: bool = False  # backs a PRIMARY KEY or UNIQUE constraint, not a bare index
    descending: list[bool] = field(default_factory=list)  # per column; empty: all ascending
    predicate: str | None = None  # a partial index's WHERE, in PostgreSQL's SQL
    # per column: an expression key's PostgreSQL SQL (its column is then named expr, expr1 …)
    expressions: list[str | None] = field(default_factory=list)


@dataclass
class ForeignKey:
    name: str
    columns: list[str]
    ref_table: str
    ref_columns: list[str]
    on_update: str = "a"  # pg_constraint.confupdtype letters: a r c n d
    on_delete: str = "a"


@dataclass
class TableInfo:
    name: str
    kind: str = "r"  # 'r' table, 'v' view
    columns: list[ColumnInfo] = field(default_factory=list)
    indexes: list[IndexInfo] = field(default_factory=list)  # the primary key's index first
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    view_definition: str | None = None
    checks: list[tuple[str, str, list[str]]] = field(default_factory=list)  # name, def, cols
    comment: str | None = None


@dataclass
class SequenceInfo:
    """A sequence: SQLite's rows of pgproxy_sequences, MariaDB's own, or a serial's
    AUTO_INCREMENT (MariaDB), which PostgreSQL would show as the column's sequence."""

    name: str
    data_type: str = "bigint"  # smallint, integer, bigint
    start: int = 1
    min_value: int = 1
    max_value: int = 9223372036854775807
    increment: int = 1
    cache: int = 1
    cycle: bool = False
    last_value: int | None = None  # None until nextval() was called once
    owned_by: tuple[str, str] | None = None  # (table, column)


@dataclass
class Schema:
    tables: list[TableInfo]
    fingerprint: Any = None  # changes whenever the backend's schema does
    sequences: list[SequenceInfo] = field(default_factory=list)
    enums: dict[str, list[str]] = field(default_factory=dict)  # type name -> labels in order
    # COMMENT ON, from pgproxy_comments: (kind, object, column or '', text)
    comments: list[tuple[str, str, str, str]] = field(default_factory=list)
    # composite type ('s.t' in schema s) -> its fields' (name, PostgreSQL type) in order
    composites: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    schemas: list[str] = field(default_factory=list)  # made by CREATE SCHEMA, besides public


def _rows(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    cursor = conn.execute(sql, params)
    try:
        out: list[tuple[Any, ...]] = []
        while batch := cursor.fetch(1000):
            out.extend(batch)
        return out
    finally:
        cursor.close()


_ACTIONS = {"NO ACTION": "a", "RESTRICT": "r", "CASCADE": "c", "SET NULL": "n",
            "SET DEFAULT": "d"}


# The ways of reading a schema, by Capabilities.schema_source.
SQLITE_MASTER = "sqlite_master"
INFORMATION_SCHEMA = "information_schema"


def introspect(conn: Connection, schema: str) -> Schema:
    """The backend's schema, read the way its capabilities name (Capabilities.schema_source)."""
    if schema == SQLITE_MASTER:
        return _sqlite(conn)
    if schema == INFORMATION_SCHEMA:
        return _mysql(conn)
    raise ValueError(f"no catalog introspection through {schema!r}")


def fingerprinted(schema: str) -> bool:
    """Whether `fingerprint` tells a change; the others' catalogs are re-read every
    REFRESH_SECONDS."""
    return schema == SQLITE_MASTER


def fingerprint(conn: Connection, schema: str) -> Any:
    """A cheap value that changes with the schema, checked before each catalog query."""
    if fingerprinted(schema):
        return _rows(conn, "PRAGMA schema_version")[0][0]
    return None


# ---------------------------------------------------------------- SQLite


def _nextval(sequence: str) -> str:
    """A serial's default, its sequence named as PostgreSQL prints a regclass."""
    return "nextval('" + quote_ident(sequence).replace("'", "''") + "'::regclass)"


def _sqlite_default(text: str | None, oid: int) -> str | None:
    if text is None:
        return None
    t = text.strip()
    if t.upper() == "NULL":
        return None
    if t.upper() in ("CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME"):
        return t
    serial = re.fullmatch(r"\(?\s*nextval\('((?:[^']|'')+)'\)\s*\)?", t, re.I)
    if serial:  # a serial's default, as PostgreSQL shows it (ORMs look for exactly this)
        return f"nextval('{serial.group(1)}'::regclass)"
    if t.startswith("'"):
        name = pgtypes.TYPES[oid].name if oid in pgtypes.TYPES else "text"
        spelled = {"varchar": "character varying", "bpchar": "bpchar",
                   "timestamp": "timestamp without time zone",
                   "timestamptz": "timestamp with time zone"}.get(name, name)
        return f"{t}::{spelled}"
    if t.upper() in ("TRUE", "FALSE"):
        return t.lower()
    if oid == pgtypes.BOOL and t in ("0", "1"):
        return "true" if t == "1" else "false"
    if re.fullmatch(r"\(?-?[\d.]+\)?", t):
        return t.strip("()")
    return default_sql(t, "sqlite")


def _sqlite(conn: Connection) -> Schema:
    from dialects.sqlite_ddl import Constraints, constraints
    from pgproxy.backends.sqlite import declared_type

    version = _rows(conn, "PRAGMA schema_version")[0][0]
    enums = _enums(conn, SQLITE_MASTER)
    made = _user_types(conn, SQLITE_MASTER, Schema([]))  # composites and schemas
    user_types = set(enums) | set(made.composites)
    objects = _rows(
        conn,
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'view')"
        " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT IN ('pgproxy_sequences',"
        " 'pgproxy_enums', 'pgproxy_comments', 'pgproxy_composites', 'pgproxy_schemas')"
        " ORDER BY name",
    )
    tables = []
    sequences = _sqlite_sequences(conn)
    sequence_names = {seq.name for seq in sequences}
    for kind, name, sql in objects:
        if kind == "view" and name in sequence_names:
            continue  # the view that lets a sequence be read like PostgreSQL's
        table = TableInfo(name, "r" if kind == "table" else "v")
        named = constraints(name, sql) if kind == "table" and sql else Constraints()
        table.checks = named.checks
        if kind == "view" and sql:
            table.view_definition = view_sql(sql, "sqlite")
        # table_xinfo: generated columns too (hidden 2 virtual, 3 stored).
        info = _rows(conn, "SELECT name, type, \"notnull\", dflt_value, pk, hidden"
                           " FROM pragma_table_xinfo(?) WHERE hidden IN (0, 2, 3) ORDER BY cid",
                     [name])
        generated = sqlite_generated(sql) if any(r[5] for r in info) and sql else {}
        pk_cols = [r[0] for r in sorted((r for r in info if r[4]), key=lambda r: r[4])]
        for col, decl, notnull, dflt, pk, hidden in info:
            oid, typmod, _ = declared_type(decl or "")
            if not decl:
                oid = pgtypes.TEXT
            rowid = bool(pk) and len(pk_cols) == 1 and (decl or "").upper() == "INTEGER"
            if rowid:
                oid = pgtypes.INT8
            default = _sqlite_default(dflt, oid)
            if rowid and default is None and kind == "table":
                # The rowid alias numbers itself, as a serial would.
                default = _nextval(f"{name}_{col}_seq")
            table.columns.append(ColumnInfo(col, oid, typmod, bool(notnull) or (bool(pk) and
                                            kind == "table"), default, rowid,
                                            _user_type_named(user_types, decl or ""),
                                            generated=generated.get(col) if hidden else None))
        if kind == "table":
            indexes = _rows(conn, "SELECT l.name, l.\"unique\", l.origin, l.partial, m.sql"
                                  " FROM pragma_index_list(?) l LEFT JOIN sqlite_master m"
                                  " ON m.type = 'index' AND m.name = l.name", [name])
            has_pk_index = False
            for iname, unique, origin, partial, index_sql in indexes:
                keys = _rows(conn, "SELECT name, \"desc\" FROM pragma_index_xinfo(?)"
                                   " WHERE key ORDER BY seqno", [iname])
                cols = [r[0] for r in keys]
                expressions: list[str | None] = []
                if any(c is None for c in cols):
                    expressions = index_expressions(index_sql or "")
                    if len(expressions) != len(cols):
                        continue  # an expression sqlglot cannot read: no definition to give
                    # An expression key's column is named as PostgreSQL names it: expr, expr1 …
                    numbered = iter(range(len(cols)))
                    cols = [c if e is None else f"expr{next(numbered) or ''}"
                            for c, e in zip(cols, expressions, strict=True)]
                primary = origin == "pk"
                has_pk_index = has_pk_index or primary
                pretty = named.names.get(("p", tuple(cols)), f"{name}_pkey") if primary else (
                    named.names.get(("u", tuple(cols)), f"{name}_{'_'.join(cols)}_key")
                    if origin == "u" else iname)
                table.indexes.append(IndexInfo(
                    pretty, cols, bool(unique), primary, origin != "c",
                    [bool(r[1]) for r in keys] if any(r[1] for r in keys) else [],
                    index_predicate(index_sql) if partial and index_sql else None,
                    expressions))
            if pk_cols and not has_pk_index:
                table.indexes.append(IndexInfo(
                    named.names.get(("p", tuple(pk_cols)), f"{name}_pkey"), pk_cols, True, True,
                    True))
            table.indexes.sort(key=lambda i: not i.primary)
            fks: dict[int, ForeignKey] = {}
            for fid, _seq, ref, frm, to, on_update, on_delete in _rows(
                conn, "SELECT id, seq, \"table\", \"from\", \"to\", on_update, on_delete"
                      " FROM pragma_foreign_key_list(?) ORDER BY id, seq", [name]):
                fk = fks.get(fid)
                if fk is None:
                    fk = fks[fid] = ForeignKey("", [], ref, [],
                                               _ACTIONS.get(on_update, "a"),
                                               _ACTIONS.get(on_delete, "a"))
                fk.columns.append(frm)
                fk.ref_columns.append(to)
            for fk in fks.values():
                fk.name = named.names.get(("f", tuple(fk.columns)),
                                          f"{name}_{'_'.join(fk.columns)}_fkey")
                if any(c is None for c in fk.ref_columns):
                    fk.ref_columns = []  # filled from the referenced table's key below
                table.foreign_keys.append(fk)
        tables.append(table)
    by_name = {t.name: t for t in tables}
    for t in tables:
        for fk in t.foreign_keys:
            if not fk.ref_columns and fk.ref_table in by_name:
                pk = next((i for i in by_name[fk.ref_table].indexes if i.primary), None)
                fk.ref_columns = list(pk.columns) if pk else []
    named = {seq.name for seq in sequences}
    for t in tables:  # a rowid alias numbers itself: PostgreSQL would show a serial's sequence
        for c in t.columns:
            if c.identity and t.kind == "r" and f"{t.name}_{c.name}_seq" not in named:
                sequences.append(_rowid_sequence(conn, t.name, c.name))
    return Schema(tables, version, sequences, enums, _comments(conn, SQLITE_MASTER),
                  made.composites, made.schemas)


def _user_type_named(names: set[str], declared: str) -> str | None:
    """The enum or composite type a SQLite column was declared with (its name, unquoted)."""
    name = declared[1:-1].replace('""', '"') if declared.startswith('"') else declared.lower()
    return name if name in names else None


def _enum_with_labels(enums: dict[str, list[str]], column_type: str) -> str | None:
    """The enum type whose labels a MySQL ENUM('a','b') column has, if exactly one has them."""
    if not column_type.lower().startswith("enum("):
        return None
    labels = [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", column_type)]
    found = [name for name, values in enums.items() if values == labels]
    return found[0] if len(found) == 1 else None


_PROXY_TABLES = ("pgproxy_sequences", "pgproxy_enums", "pgproxy_comments", "pgproxy_composites",
                 "pgproxy_schemas")


def _comments(conn: Connection, schema: str) -> list[tuple[str, str, str, str]]:
    if not has_table(conn, schema, "pgproxy_comments"):
        return []
    return [tuple(r) for r in _rows(conn, "SELECT kind, object, sub, description"  # type: ignore[misc]
                                          " FROM pgproxy_comments")]


def _user_types(conn: Connection, source: str, schema: Schema) -> Schema:
    """The schema with the composite types and schemas made through the proxy."""
    if has_table(conn, source, "pgproxy_composites"):
        for name, attnum, attname, atttype in _rows(
            conn, "SELECT type_name, attnum, attname, atttype FROM pgproxy_composites"
                  " ORDER BY type_name, attnum"):
            fields = schema.composites.setdefault(name, [])
            if attnum:  # 0 marks the type (it may have no fields)
                fields.append((attname, atttype))
    if has_table(conn, source, "pgproxy_schemas"):
        schema.schemas = sorted(r[0] for r in _rows(conn, "SELECT name FROM pgproxy_schemas"))
    return schema


def _enums(conn: Connection, schema: str) -> dict[str, list[str]]:
    """Enum types created through the proxy (the pgproxy_enums table, when there is one)."""
    found: dict[str, list[str]] = {}
    if has_table(conn, schema, "pgproxy_enums"):
        for name, label in _rows(conn, "SELECT type_name, label FROM pgproxy_enums"
                                       " ORDER BY type_name, sort_order"):
            found.setdefault(name, []).append(label)
    return found


def _rowid_sequence(conn: Connection, table: str, column: str) -> SequenceInfo:
    """The sequence PostgreSQL would show behind a rowid alias, at the table's highest id."""
    quoted = '"' + table.replace('"', '""') + '"'
    last = _rows(conn, f"SELECT max(rowid) FROM {quoted}")[0][0]
    if _rows(conn, "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'"):
        used = _rows(conn, "SELECT seq FROM sqlite_sequence WHERE name = ?", [table])
        if used and used[0][0] is not None:
            last = max(int(used[0][0]), int(last or 0))
    return SequenceInfo(f"{table}_{column}_seq", "bigint", 1, 1, 2**63 - 1, 1, 1, False,
                        int(last) if last else None, (table, column))


def _sqlite_sequences(conn: Connection) -> list[SequenceInfo]:
    if not _rows(conn, "SELECT 1 FROM sqlite_master WHERE name = 'pgproxy_sequences'"):
        return []
    out = []
    for (name, data_type, start, low, high, inc, cache, cycle, last, called, table,
         column) in _rows(conn, "SELECT name, data_type, start_value, min_value, max_value,"
                                " increment, cache, cycle, last_value, is_called, owned_table,"
                                " owned_column FROM pgproxy_sequences ORDER BY name"):
        out.append(SequenceInfo(name, data_type, start, low, high, inc, cache, bool(cycle),
                                last if called else None,
                                (table, column) if table and column else None))
    return out


# ---------------------------------------------------------------- MySQL / MariaDB

_MYSQL_TYPES = {
    "tinyint": pgtypes.INT2, "smallint": pgtypes.INT2, "mediumint": pgtypes.INT4,
    "int": pgtypes.INT4, "integer": pgtypes.INT4, "bigint": pgtypes.INT8,
    "float": pgtypes.FLOAT4, "double": pgtypes.FLOAT8, "real": pgtypes.FLOAT8,
    "decimal": pgtypes.NUMERIC, "numeric": pgtypes.NUMERIC,
    "char": pgtypes.BPCHAR, "varchar": pgtypes.VARCHAR,
    "tinytext": pgtypes.TEXT, "text": pgtypes.TEXT, "mediumtext": pgtypes.TEXT,
    "longtext": pgtypes.TEXT, "enum": pgtypes.TEXT, "set": pgtypes.TEXT,
    "binary": pgtypes.BYTEA, "varbinary": pgtypes.BYTEA, "tinyblob": pgtypes.BYTEA,
    "blob": pgtypes.BYTEA, "mediumblob": pgtypes.BYTEA, "longblob": pgtypes.BYTEA,
    "date": pgtypes.DATE, "time": pgtypes.TIME, "datetime": pgtypes.TIMESTAMP,
    "timestamp": pgtypes.TIMESTAMPTZ, "year": pgtypes.INT2, "json": pgtypes.JSON,
    "uuid": pgtypes.UUID, "bit": pgtypes.BIT, "bool": pgtypes.BOOL, "boolean": pgtypes.BOOL,
}


def _mysql_type(data_type: str, column_type: str, char_len: Any, precision: Any,
                scale: Any) -> tuple[int, int]:
    data_type = data_type.lower()
    column_type = column_type.lower()
    if column_type.startswith("tinyint(1)"):
        return pgtypes.BOOL, -1
    if data_type == "longtext" and "json" in column_type:
        return pgtypes.JSON, -1
    oid = _MYSQL_TYPES.get(data_type, pgtypes.TEXT)
    if column_type.endswith("unsigned") and oid in (pgtypes.INT2, pgtypes.INT4):
        oid = pgtypes.INT4 if oid == pgtypes.INT2 else pgtypes.INT8
    elif column_type.endswith("unsigned") and oid == pgtypes.INT8:
        oid = pgtypes.NUMERIC
    if oid in (pgtypes.VARCHAR, pgtypes.BPCHAR) and char_len:
        return oid, int(char_len) + 4
    if oid == pgtypes.NUMERIC and precision is not None and data_type in ("decimal", "numeric"):
        return oid, ((int(precision) << 16) | int(scale or 0)) + 4
    if oid == pgtypes.BIT:  # bit(n): PostgreSQL's typmod is n
        width = re.search(r"\((\d+)\)", column_type)
        return oid, int(width.group(1)) if width else 1
    return oid, -1


# A column DEFAULT NEXTVAL(s) as MariaDB's information_schema spells it.
_MARIADB_NEXTVAL = re.compile(r"nextval\((?:`(?:[^`]|``)+`\.)?`?((?:[^`]|``)+?)`?\)", re.I)


def _mysql_default(default: Any, extra: str, oid: int, is_nullable: str) -> str | None:
    if default is None:
        return None
    text = str(default)
    if text.upper() == "NULL":
        return None  # MariaDB writes a NULL default as the word
    if text.lower().startswith(("current_timestamp", "now(")):
        return "CURRENT_TIMESTAMP"
    serial = _MARIADB_NEXTVAL.fullmatch(text)
    if serial:
        return f"nextval('{serial.group(1).replace('``', '`')}'::regclass)"
    if text.startswith("'") and text.endswith("'"):
        text = text[1:-1].replace("''", "'")
    elif "DEFAULT_GENERATED" in extra.upper() or re.fullmatch(r"\w+\(.*\)", text) or oid not in (
            pgtypes.TEXT, pgtypes.VARCHAR, pgtypes.BPCHAR, pgtypes.DATE, pgtypes.TIMESTAMP,
            pgtypes.TIMESTAMPTZ, pgtypes.TIME, pgtypes.JSON):
        if oid == pgtypes.BOOL and text in ("0", "1"):
            return "true" if text == "1" else "false"
        # A number as it is; an expression (MySQL 8's DEFAULT_GENERATED) in PostgreSQL's SQL.
        return text if re.fullmatch(r"-?[\d.]+(e[-+]?\d+)?", text, re.I) else default_sql(
            text, "mysql")
    name = {pgtypes.VARCHAR: "character varying", pgtypes.BPCHAR: "bpchar",
            pgtypes.TIMESTAMP: "timestamp without time zone",
            pgtypes.TIMESTAMPTZ: "timestamp with time zone"}.get(
        oid, pgtypes.TYPES[oid].name if oid in pgtypes.TYPES else "text")
    return "'" + text.replace("'", "''") + "'::" + name


_MYSQL_ACTIONS = {**_ACTIONS, "RESTRICT": "a"}


_MARKED = MARKS


def _mysql(conn: Connection) -> Schema:
    objects = _rows(
        conn,
        "SELECT TABLE_NAME, TABLE_TYPE, TABLE_COMMENT FROM information_schema.TABLES"
        " WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
    )
    tables = {name: TableInfo(name, "v" if ttype == "VIEW" else "r",
                              comment=(comment or None) if ttype != "VIEW" else None)
              for name, ttype, comment in objects
              if ttype != "SEQUENCE" and name not in _PROXY_TABLES}
    sequences = [_mariadb_sequence(conn, name) for name, ttype, _ in objects
                 if ttype == "SEQUENCE"]
    enums = _enums(conn, INFORMATION_SCHEMA)
    for (tname, cname, data_type, column_type, nullable, default, extra, char_len, precision,
         scale, comment, generation) in _rows(
        conn,
        "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT,"
        " EXTRA, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, COLUMN_COMMENT,"
        " GENERATION_EXPRESSION FROM information_schema.COLUMNS"
        " WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION",
    ):
        table = tables.get(tname)
        if table is None:
            continue
        oid, typmod = _mysql_type(str(data_type), str(column_type), char_len, precision, scale)
        if comment in _MARKED:  # a type made through the proxy that MySQL has no name for
            oid, comment = _MARKED[comment], None
        elif str(comment).startswith("pgproxy:") and str(comment)[8:] in pgtypes.BY_NAME:
            oid, comment = pgtypes.BY_NAME[str(comment)[8:]], None  # ranges (dialects/mysql.py)
        enum_type = _enum_with_labels(enums, str(column_type))
        if comment and comment.startswith(TYPE_MARK):  # an enum's or a composite's name
            enum_type, comment = comment.removeprefix(TYPE_MARK), None
        identity = "auto_increment" in str(extra).lower()
        dflt = _mysql_default(default, str(extra), oid, str(nullable))
        if identity:
            dflt = _nextval(f"{tname}_{cname}_seq")
            sequences.append(_auto_increment(conn, tname, cname, oid))
        if table.kind == "v":
            dflt, nullable = None, "YES"  # a view's columns have neither in PostgreSQL
        if generation and "GENERATED" in str(extra).upper():
            # VIRTUAL or STORED there; PostgreSQL 15 stores every generated column.
            table.columns.append(ColumnInfo(
                cname, oid, typmod, nullable == "NO", None, False, comment=comment or None,
                generated=default_sql(str(generation), "mysql")))
            continue
        table.columns.append(ColumnInfo(cname, oid, typmod, nullable == "NO", dflt, identity,
                                        enum_type, comment=comment or None))
    indexes: dict[tuple[str, str], IndexInfo] = {}
    for tname, iname, non_unique, cname, collation, itype in _rows(
        conn,
        "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, COLLATION, INDEX_TYPE"
        " FROM information_schema.STATISTICS"
        " WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
    ):
        if tname not in tables or str(itype).upper() in ("FULLTEXT", "SPATIAL"):
            continue  # no btree: PostgreSQL's would be another kind of index altogether
        key = (tname, iname)
        index = indexes.get(key)
        if index is None:
            primary = iname == "PRIMARY"
            # A unique key is a UNIQUE constraint to MySQL (TABLE_CONSTRAINTS lists it).
            unique = not int(non_unique)
            index = indexes[key] = IndexInfo(f"{tname}_pkey" if primary else iname, [],
                                             unique, primary, unique)
            tables[tname].indexes.append(index)
        if cname is not None:
            index.columns.append(cname)
            index.descending.append(collation == "D")  # MySQL 8, MariaDB 10.8: a DESC key
    # MySQL names an index within its table, PostgreSQL within the schema: a name a table
    # or an earlier index has is shown as <table>_<name> (as two tables' `author_id` FK keys).
    taken = set(tables)
    for t in sorted(tables.values(), key=lambda t: t.name):
        for i in t.indexes:
            name, n = i.name, 0
            while name in taken:
                n += 1
                name = f"{t.name}_{i.name}" + (str(n - 1) if n > 1 else "")
            i.name = name
            taken.add(name)
    tidy_indexes(tables)
    # InnoDB's RESTRICT is NO ACTION (both check at once), and its default.
    add_foreign_keys(tables, _MYSQL_ACTIONS, _rows(
        conn,
        "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME,"
        " k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE"
        " FROM information_schema.KEY_COLUMN_USAGE k"
        " JOIN information_schema.REFERENTIAL_CONSTRAINTS r"
        " ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME"
        " AND r.TABLE_NAME = k.TABLE_NAME"
        " WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL"
        " ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
    ))
    for (tname, iname), index in indexes.items():
        if _implicit_fk_index(index, iname, tables[tname].foreign_keys):
            tables[tname].indexes = [i for i in tables[tname].indexes if i is not index]
    for name, definition in _rows(
        conn,
        "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS"
        " WHERE TABLE_SCHEMA = DATABASE()",
    ):
        if name in tables:
            tables[name].view_definition = view_sql(str(definition), "mysql")
    _mysql_checks(conn, tables)
    # A column whose default is a sequence's nextval() owns it, as pg_dump's restore says
    # with OWNED BY (which MariaDB cannot keep).
    by_name = {seq.name: seq for seq in sequences}
    for table in tables.values():
        for column in table.columns:
            found = re.fullmatch(r"nextval\('(.+)'::regclass\)", column.default or "")
            seq = by_name.get(found.group(1)) if found else None
            if seq is not None and seq.owned_by is None:
                seq.owned_by = (table.name, column.name)
    schema = Schema(list(tables.values()), sequences=sequences, enums=enums,
                    comments=_comments(conn, INFORMATION_SCHEMA))
    return _user_types(conn, INFORMATION_SCHEMA, schema)


def tidy_indexes(tables: dict[str, TableInfo]) -> None:
    """Each table's indexes as PostgreSQL lists them: none without a key column, no
    descending flags where every key ascends, the primary key first."""
    for t in tables.values():
        t.indexes = [i for i in t.indexes if i.columns]
        for i in t.indexes:
            if not any(i.descending):
                i.descending = []
        t.indexes.sort(key=lambda i: not i.primary)


def add_foreign_keys(
    tables: dict[str, TableInfo], actions: dict[str, str], rows: Iterable[Sequence[Any]]
) -> None:
    """Foreign keys onto their tables, from rows of (table, name, column, referenced
    table, referenced column, ON UPDATE, ON DELETE), a row per column in key order."""
    fks: dict[tuple[str, str], ForeignKey] = {}
    for tname, name, col, ref_table, ref_col, upd, dele in rows:
        if tname not in tables:
            continue
        fk = fks.get((tname, name))
        if fk is None:
            fk = fks[(tname, name)] = ForeignKey(name, [], ref_table, [],
                                                 actions.get(str(upd), "a"),
                                                 actions.get(str(dele), "a"))
            tables[tname].foreign_keys.append(fk)
        fk.columns.append(col)
        fk.ref_columns.append(ref_col)


def _implicit_fk_index(index: IndexInfo, name: str, fks: list[ForeignKey]) -> bool:
    """The index InnoDB made by itself for a foreign key the proxy named (dialects/mysql.py
    names each as PostgreSQL would, and InnoDB names the index after the constraint), which
    PostgreSQL would not have. A schema made natively keeps its FK indexes listed."""
    return not index.unique and any(fk.name == name and fk.columns == index.columns
                                    for fk in fks)


def _mysql_checks(conn: Connection, tables: dict[str, TableInfo]) -> None:
    """Each table's CHECK constraints as (name, definition, columns).

    MariaDB's CHECK_CONSTRAINTS names the table, and names a column's own CHECK
    after the column (LEVEL 'Column'); MySQL 8's (and Dolt's) is joined to
    TABLE_CONSTRAINTS; MySQL 5.7 has none. MariaDB's JSON is a longtext with a
    json_valid() check: that column is json, and the check is not shown.
    """
    columns = {str(r[0]).upper() for r in _rows(
        conn, "SELECT COLUMN_NAME FROM information_schema.COLUMNS"
              " WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'CHECK_CONSTRAINTS'")}
    if "CHECK_CLAUSE" not in columns:
        return
    if "TABLE_NAME" in columns:
        level = "LEVEL" if "LEVEL" in columns else "NULL"
        rows = _rows(conn, f"SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE, {level}"
                           " FROM information_schema.CHECK_CONSTRAINTS"
                           " WHERE CONSTRAINT_SCHEMA = DATABASE()"
                           " ORDER BY TABLE_NAME, CONSTRAINT_NAME")
    else:
        rows = _rows(conn, "SELECT t.TABLE_NAME, t.CONSTRAINT_NAME, c.CHECK_CLAUSE, NULL"
                           " FROM information_schema.TABLE_CONSTRAINTS t"
                           " JOIN information_schema.CHECK_CONSTRAINTS c"
                           " ON c.CONSTRAINT_SCHEMA = t.CONSTRAINT_SCHEMA"
                           " AND c.CONSTRAINT_NAME = t.CONSTRAINT_NAME"
                           " WHERE t.TABLE_SCHEMA = DATABASE() AND t.CONSTRAINT_TYPE = 'CHECK'"
                           " ORDER BY t.TABLE_NAME, t.CONSTRAINT_NAME")
    for tname, cname, clause, level in rows:
        table = tables.get(tname)
        if table is None:
            continue
        clause = str(clause)
        json_column = re.fullmatch(r"json_valid\(`([^`]+)`\)", clause.strip(), re.I)
        if json_column is not None:
            for column in table.columns:
                if column.name == json_column.group(1) and column.type_oid == pgtypes.TEXT:
                    column.type_oid = pgtypes.JSON
            continue
        cols = sorted({c.replace("``", "`") for c in re.findall(r"`((?:[^`]|``)+)`", clause)})
        name = f"{tname}_{cname}_check" if level == "Column" else cname
        expression = default_sql(clause, "mysql")
        if not (expression.startswith("(") and expression.endswith(")")):
            expression = f"({expression})"
        table.checks.append((name, f"CHECK ({expression})", cols))

def _mariadb_sequence(conn: Connection, name: str) -> SequenceInfo:
    quoted = "`" + name.replace("`", "``") + "`"
    start, low, high, inc, cache, cycle, upcoming = _rows(
        conn, "SELECT start_value, minimum_value, maximum_value, increment, cache_size,"
              f" cycle_option, next_not_cached_value FROM {quoted}")[0]
    last = int(upcoming) - int(inc) if int(upcoming) != int(start) else None
    return SequenceInfo(name, "bigint", int(start), int(low), int(high), int(inc), int(cache),
                        bool(cycle), last)


_SERIAL_TYPES = {pgtypes.INT2: ("smallint", 32767), pgtypes.INT4: ("integer", 2147483647)}


def _auto_increment(conn: Connection, table: str, column: str, oid: int) -> SequenceInfo:
    """The sequence PostgreSQL would show for a serial column MySQL numbers itself."""
    data_type, high = _SERIAL_TYPES.get(oid, ("bigint", 9223372036854775807))
    rows = _rows(conn, "SELECT AUTO_INCREMENT FROM information_schema.TABLES"
                       " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s", [table])
    upcoming = rows[0][0] if rows and rows[0][0] is not None else 1
    return SequenceInfo(f"{table}_{column}_seq", data_type, 1, 1, high, 1, 1, False,
                        int(upcoming) - 1 if int(upcoming) > 1 else None, (table, column))
