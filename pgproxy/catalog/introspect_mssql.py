"""Reads a SQL Server database's schema (the dbo schema) from INFORMATION_SCHEMA and sys.*.

Tables and views with their columns come from INFORMATION_SCHEMA (the
standard's names); what it lacks comes from sys.*: identity columns,
indexes with their key order and whether they back a PRIMARY KEY or UNIQUE
constraint, and foreign keys with their actions. Types are mapped once, by
name (pgproxy/backends/mssql_types.py).
"""

from __future__ import annotations

import re
from typing import Any

from pgproxy import pgtypes
from pgproxy.backends.base import Connection
from pgproxy.backends.mssql_types import by_name
from pgproxy.catalog.introspect import (
    ColumnInfo,
    IndexInfo,
    Schema,
    TableInfo,
    _rows,
    add_foreign_keys,
    tidy_indexes,
)

_SCHEMA = "dbo"
_ACTIONS = {"NO_ACTION": "a", "CASCADE": "c", "SET_NULL": "n", "SET_DEFAULT": "d"}


def _spelled(data_type: str, char_len: Any, precision: Any, scale: Any) -> str:
    """The column's type as SQL Server writes it, for mssql_types.by_name."""
    if char_len is not None and data_type.lower() in ("char", "nchar", "varchar", "nvarchar",
                                                      "binary", "varbinary"):
        return f"{data_type}({'max' if int(char_len) == -1 else int(char_len)})"
    if precision is not None and data_type.lower() in ("decimal", "numeric"):
        return f"{data_type}({int(precision)},{int(scale or 0)})"
    return data_type


def _default(text: str | None, oid: int) -> str | None:
    """SQL Server keeps a default as `((0))` or `(N'x')`: PostgreSQL's spelling of it."""
    if text is None:
        return None
    inner = text.strip()
    while inner.startswith("(") and inner.endswith(")"):
        inner = inner[1:-1].strip()
    if re.fullmatch(r"-?[\d.]+", inner):
        if oid == pgtypes.BOOL:
            return "true" if inner == "1" else "false"
        return inner
    literal = re.fullmatch(r"N?'((?:[^']|'')*)'", inner)
    if literal:
        name = pgtypes.TYPES[oid].name if oid in pgtypes.TYPES else "text"
        return f"'{literal.group(1)}'::{name}"
    if inner.lower() in ("getdate()", "sysdatetime()", "sysdatetimeoffset()",
                         "current_timestamp"):
        return "CURRENT_TIMESTAMP"
    return inner


def introspect(conn: Connection) -> Schema:
    """The dbo schema of the connected database as a backend-neutral Schema."""
    tables = {
        name: TableInfo(name, "v" if kind == "VIEW" else "r")
        for name, kind in _rows(
            conn,
            "SELECT TABLE_NAME, TABLE_TYPE FROM INFORMATION_SCHEMA.TABLES"
            f" WHERE TABLE_SCHEMA = '{_SCHEMA}' ORDER BY TABLE_NAME",
        )
    }
    identities = {
        (t, c) for t, c in _rows(
            conn,
            "SELECT OBJECT_NAME(object_id), name FROM sys.identity_columns"
            f" WHERE OBJECT_SCHEMA_NAME(object_id) = '{_SCHEMA}'",
        )
    }
    for tname, cname, data_type, nullable, default, char_len, precision, scale in _rows(
        conn,
        "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, IS_NULLABLE, COLUMN_DEFAULT,"
        " CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE"
        f" FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = '{_SCHEMA}'"
        " ORDER BY TABLE_NAME, ORDINAL_POSITION",
    ):
        table = tables.get(tname)
        if table is None:
            continue
        oid, typmod = by_name(_spelled(str(data_type), char_len, precision, scale))
        identity = (tname, cname) in identities
        dflt = None if table.kind == "v" else _default(default, oid)
        if identity:
            dflt = f"nextval('{tname}_{cname}_seq'::regclass)"
        table.columns.append(ColumnInfo(cname, oid, typmod, nullable == "NO", dflt, identity))
    indexes: dict[tuple[str, str], IndexInfo] = {}
    for tname, iname, unique, primary, constraint, cname, desc in _rows(
        conn,
        "SELECT t.name, i.name, i.is_unique, i.is_primary_key, i.is_unique_constraint,"
        " c.name, ic.is_descending_key FROM sys.indexes i"
        " JOIN sys.tables t ON t.object_id = i.object_id"
        " JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id"
        " JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id"
        f" WHERE SCHEMA_NAME(t.schema_id) = '{_SCHEMA}' AND i.name IS NOT NULL"
        " AND ic.is_included_column = 0 ORDER BY t.name, i.name, ic.key_ordinal",
    ):
        if tname not in tables:
            continue
        index = indexes.get((tname, iname))
        if index is None:
            index = indexes[(tname, iname)] = IndexInfo(
                f"{tname}_pkey" if primary else iname, [], bool(unique), bool(primary),
                bool(primary or constraint))
            tables[tname].indexes.append(index)
        index.columns.append(cname)
        index.descending.append(bool(desc))
    tidy_indexes(tables)
    add_foreign_keys(tables, _ACTIONS, _rows(
        conn,
        "SELECT OBJECT_NAME(fk.parent_object_id), fk.name, pc.name,"
        " OBJECT_NAME(fk.referenced_object_id), rc.name,"
        " fk.update_referential_action_desc, fk.delete_referential_action_desc"
        " FROM sys.foreign_keys fk"
        " JOIN sys.foreign_key_columns fkc ON fkc.constraint_object_id = fk.object_id"
        " JOIN sys.columns pc ON pc.object_id = fkc.parent_object_id"
        " AND pc.column_id = fkc.parent_column_id"
        " JOIN sys.columns rc ON rc.object_id = fkc.referenced_object_id"
        " AND rc.column_id = fkc.referenced_column_id"
        f" WHERE OBJECT_SCHEMA_NAME(fk.parent_object_id) = '{_SCHEMA}'"
        " ORDER BY 1, 2, fkc.constraint_column_id",
    ))
    return Schema(list(tables.values()))
