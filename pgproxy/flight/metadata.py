"""The Flight SQL metadata commands BI tools call first, answered from the proxy's catalog
emulation: information_schema queries run through the same core as any statement.

Each function is a coroutine on the proxy's loop that returns a whole (small) Arrow
table in the schema FlightSql.proto fixes for its command.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from pgproxy import settings
from pgproxy.flight.core import RowReader, execute
from pgproxy.types.arrow import arrow_field

CATALOGS = pa.schema([pa.field("catalog_name", pa.utf8(), nullable=False)])
DB_SCHEMAS = pa.schema(
    [pa.field("catalog_name", pa.utf8()), pa.field("db_schema_name", pa.utf8(), nullable=False)]
)
TABLES = pa.schema(
    [
        pa.field("catalog_name", pa.utf8()),
        pa.field("db_schema_name", pa.utf8()),
        pa.field("table_name", pa.utf8(), nullable=False),
        pa.field("table_type", pa.utf8(), nullable=False),
    ]
)
TABLES_WITH_SCHEMA = TABLES.append(pa.field("table_schema", pa.binary(), nullable=False))
TABLE_TYPES = pa.schema([pa.field("table_type", pa.utf8(), nullable=False)])
PRIMARY_KEYS = pa.schema(
    [
        pa.field("catalog_name", pa.utf8()),
        pa.field("db_schema_name", pa.utf8()),
        pa.field("table_name", pa.utf8(), nullable=False),
        pa.field("column_name", pa.utf8(), nullable=False),
        pa.field("key_name", pa.utf8()),
        pa.field("key_sequence", pa.int32(), nullable=False),
    ]
)
# information_schema's table types, as Flight SQL clients name them.
_TABLE_TYPE = {"BASE TABLE": "TABLE", "VIEW": "VIEW", "LOCAL TEMPORARY": "LOCAL TEMPORARY"}

# ---------------------------------------------------------------- SqlInfo

_INFO_UNION = pa.dense_union(
    [
        pa.field("string_value", pa.utf8()),
        pa.field("bool_value", pa.bool_()),
        pa.field("bigint_value", pa.int64()),
        pa.field("int32_bitmask", pa.int32()),
        pa.field("string_list", pa.list_(pa.field("item", pa.utf8()))),
        pa.field(
            "int32_to_int32_list_map", pa.map_(pa.int32(), pa.list_(pa.field("item", pa.int32())))
        ),
    ]
)
SQL_INFO = pa.schema(
    [
        pa.field("info_name", pa.uint32(), nullable=False),
        pa.field("value", _INFO_UNION, nullable=False),
    ]
)
_STRING, _BOOL, _BIGINT, _BITMASK = 0, 1, 2, 3


def _info() -> dict[int, tuple[int, Any]]:
    """SqlInfo id -> (union member, value): what the endpoint says of itself."""
    return {
        0: (_STRING, "pgproxy"),  # FLIGHT_SQL_SERVER_NAME
        1: (_STRING, settings.VERSION_STRING),  # FLIGHT_SQL_SERVER_VERSION
        2: (_STRING, pa.__version__),  # FLIGHT_SQL_SERVER_ARROW_VERSION
        3: (_BOOL, False),  # FLIGHT_SQL_SERVER_READ_ONLY
        4: (_BOOL, True),  # FLIGHT_SQL_SERVER_SQL
        5: (_BOOL, False),  # FLIGHT_SQL_SERVER_SUBSTRAIT
        8: (_BITMASK, 0),  # FLIGHT_SQL_SERVER_TRANSACTION: none (statements autocommit)
        9: (_BOOL, False),  # FLIGHT_SQL_SERVER_CANCEL
        100: (_BITMASK, 0),  # FLIGHT_SQL_SERVER_STATEMENT_TIMEOUT: none
        101: (_BITMASK, 0),  # FLIGHT_SQL_SERVER_TRANSACTION_TIMEOUT: none
        500: (_BOOL, False),  # SQL_DDL_CATALOG
        501: (_BOOL, False),  # SQL_DDL_SCHEMA
        502: (_BOOL, True),  # SQL_DDL_TABLE
        503: (_BITMASK, 3),  # SQL_IDENTIFIER_CASE: lowercase
        504: (_STRING, '"'),  # SQL_IDENTIFIER_QUOTE_CHAR
        505: (_BITMASK, 1),  # SQL_QUOTED_IDENTIFIER_CASE: case sensitive
        507: (_BITMASK, 0),  # SQL_NULL_ORDERING: nulls sorted high, as PostgreSQL
        513: (_STRING, "\\"),  # SQL_SEARCH_STRING_ESCAPE
        529: (_STRING, "schema"),  # SQL_SCHEMA_TERM
        531: (_STRING, "database"),  # SQL_CATALOG_TERM
        563: (_BOOL, False),  # SQL_TRANSACTIONS_SUPPORTED (over Flight: autocommit)
    }


def sql_info(wanted: Sequence[int]) -> pa.Table:
    """CommandGetSqlInfo: the requested ids this endpoint knows (all of them when none)."""
    info = _info()
    ids = [i for i in wanted if i in info] if wanted else sorted(info)
    types = pa.array([info[i][0] for i in ids], pa.int8())
    children: list[list[Any]] = [[] for _ in _INFO_UNION]
    offsets = []
    for i in ids:
        member, value = info[i]
        offsets.append(len(children[member]))
        children[member].append(value)
    arrays = [
        pa.array(values, type=field.type)
        for values, field in zip(children, _INFO_UNION, strict=True)
    ]
    union = pa.UnionArray.from_dense(
        types, pa.array(offsets, pa.int32()), arrays, [f.name for f in _INFO_UNION]
    )
    return pa.Table.from_arrays([pa.array(ids, pa.uint32()), union], schema=SQL_INFO)


# ---------------------------------------------------------------- catalog queries


async def query_rows(session: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """All rows of a catalog query run through the core (metadata is small)."""
    prepared = await session.prepare(sql)
    result = await execute(session, prepared, list(params))
    reader = RowReader(result)
    rows: list[tuple[Any, ...]] = []
    try:
        while not result.done:
            rows.extend(await reader.next())
    finally:
        await result.close()
    return rows


def _filters(pairs: Sequence[tuple[str, str | None, bool]]) -> tuple[str, list[Any]]:
    """WHERE text for (column, value, is a LIKE pattern) pairs; the values bound as $n."""
    where, params = [], []
    for column, value, like in pairs:
        if value is None:
            continue
        params.append(value)
        where.append(f"{column} {'LIKE' if like else '='} ${len(params)}")
    return (" WHERE " + " AND ".join(where)) if where else "", params


async def catalogs(session: Any) -> pa.Table:
    """CommandGetCatalogs: the database this call is routed to."""
    return pa.Table.from_pylist([{"catalog_name": session.database}], schema=CATALOGS)


async def db_schemas(session: Any, catalog: str | None, pattern: str | None) -> pa.Table:
    if catalog is not None and catalog != session.database:
        return DB_SCHEMAS.empty_table()
    where, params = _filters([("schema_name", pattern, True)])
    rows = await query_rows(
        session,
        f"SELECT schema_name FROM information_schema.schemata{where} ORDER BY schema_name",
        params,
    )
    return pa.Table.from_pylist(
        [{"catalog_name": session.database, "db_schema_name": r[0]} for r in rows],
        schema=DB_SCHEMAS,
    )


async def tables(
    session: Any,
    catalog: str | None,
    schema_pattern: str | None,
    table_pattern: str | None,
    types: Sequence[str],
    include_schema: bool,
) -> pa.Table:
    if catalog is not None and catalog != session.database:
        return (TABLES_WITH_SCHEMA if include_schema else TABLES).empty_table()
    where, params = _filters(
        [("table_schema", schema_pattern, True), ("table_name", table_pattern, True)]
    )
    rows = await query_rows(
        session,
        "SELECT table_schema, table_name, table_type FROM information_schema.tables"
        f"{where} ORDER BY table_schema, table_name",
        params,
    )
    wanted = set(types)
    out = []
    for schema, name, kind in rows:
        kind = _TABLE_TYPE.get(kind, kind)
        if wanted and kind not in wanted:
            continue
        row = {
            "catalog_name": session.database,
            "db_schema_name": schema,
            "table_name": name,
            "table_type": kind,
        }
        if include_schema:
            row["table_schema"] = (
                (await table_schema(session, schema, name)).serialize().to_pybytes()
            )
        out.append(row)
    return pa.Table.from_pylist(out, schema=TABLES_WITH_SCHEMA if include_schema else TABLES)


async def table_schema(session: Any, schema: str, table: str) -> pa.Schema:
    """A table's Arrow schema: its columns as a query of it describes them (types, typmods)."""
    prepared = await session.prepare(f"SELECT * FROM {quote(schema)}.{quote(table)} LIMIT 0")
    columns = await session.describe(prepared) or []
    meta = {
        b"ARROW:FLIGHT:SQL:DB_SCHEMA_NAME": schema.encode(),
        b"ARROW:FLIGHT:SQL:TABLE_NAME": table.encode(),
        b"ARROW:FLIGHT:SQL:CATALOG_NAME": session.database.encode(),
    }
    fields = []
    for c in columns:
        field = arrow_field(c.name, c.type_oid, c.type_mod)
        fields.append(field.with_metadata({**(field.metadata or {}), **meta}))
    return pa.schema(fields)


async def table_types(session: Any) -> pa.Table:
    return pa.Table.from_pylist([{"table_type": t} for t in ("TABLE", "VIEW")], schema=TABLE_TYPES)


async def primary_keys(
    session: Any, catalog: str | None, schema: str | None, table: str
) -> pa.Table:
    if catalog is not None and catalog != session.database:
        return PRIMARY_KEYS.empty_table()
    where, params = _filters(
        [
            ("c.constraint_type", "PRIMARY KEY", False),
            ("k.table_name", table, False),
            ("k.table_schema", schema, False),
        ]
    )
    rows = await query_rows(
        session,
        "SELECT k.table_schema, k.table_name, k.column_name, k.constraint_name, "
        "k.ordinal_position FROM information_schema.key_column_usage k "
        "JOIN information_schema.table_constraints c ON c.constraint_name = k.constraint_name "
        "AND c.table_schema = k.table_schema AND c.table_name = k.table_name"
        f"{where} "
        "ORDER BY k.table_schema, k.table_name, k.constraint_name, k.ordinal_position",
        params,
    )
    return pa.Table.from_pylist(
        [
            {
                "catalog_name": session.database,
                "db_schema_name": s,
                "table_name": t,
                "column_name": c,
                "key_name": k,
                "key_sequence": int(n),
            }
            for s, t, c, k, n in rows
        ],
        schema=PRIMARY_KEYS,
    )


# ---------------------------------------------------------------- XDBC type info

_NN = False  # not nullable, in the schema below
XDBC_TYPE_INFO = pa.schema([
    pa.field("type_name", pa.utf8(), nullable=_NN),
    pa.field("data_type", pa.int32(), nullable=_NN),
    pa.field("column_size", pa.int32()),
    pa.field("literal_prefix", pa.utf8()),
    pa.field("literal_suffix", pa.utf8()),
    pa.field("create_params", pa.list_(pa.field("item", pa.utf8(), nullable=_NN))),
    pa.field("nullable", pa.int32(), nullable=_NN),
    pa.field("case_sensitive", pa.bool_(), nullable=_NN),
    pa.field("searchable", pa.int32(), nullable=_NN),
    pa.field("unsigned_attribute", pa.bool_()),
    pa.field("fixed_prec_scale", pa.bool_(), nullable=_NN),
    pa.field("auto_increment", pa.bool_()),
    pa.field("local_type_name", pa.utf8()),
    pa.field("minimum_scale", pa.int32()),
    pa.field("maximum_scale", pa.int32()),
    pa.field("sql_data_type", pa.int32(), nullable=_NN),
    pa.field("datetime_subcode", pa.int32()),
    pa.field("num_prec_radix", pa.int32()),
    pa.field("interval_precision", pa.int32()),
])
# (type name, XDBC data type, column size, literal quote, create params, case sensitive,
#  numeric radix, datetime subcode): the types a client may name in DDL through the proxy.
_XDBC = [
    ("bool", -7, 1, None, None, False, None, None),
    ("bytea", -3, None, "'", None, False, None, None),
    ("int8", -5, 19, None, None, False, 10, None),
    ("text", 12, None, "'", None, True, None, None),
    ("varchar", 12, None, "'", ["length"], True, None, None),
    ("bpchar", 1, None, "'", ["length"], True, None, None),
    ("numeric", 2, 1000, None, ["precision", "scale"], False, 10, None),
    ("int4", 4, 10, None, None, False, 10, None),
    ("int2", 5, 5, None, None, False, 10, None),
    ("float4", 7, 24, None, None, False, 2, None),
    ("float8", 8, 53, None, None, False, 2, None),
    ("interval", 10, None, "'", None, False, None, None),
    ("date", 91, 10, "'", None, False, None, 1),
    ("time", 92, 15, "'", None, False, None, 2),
    ("timestamp", 93, 26, "'", None, False, None, 3),
    ("timestamptz", 93, 32, "'", None, False, None, 5),
    ("uuid", 12, 36, "'", None, False, None, None),
    ("jsonb", 12, None, "'", None, True, None, None),
    ("json", 12, None, "'", None, True, None, None),
]


def xdbc_type_info(data_type: int | None) -> pa.Table:
    """CommandGetXdbcTypeInfo: the PostgreSQL types, ordered by data type then name."""
    rows = []
    for name, xdbc, size, quote_, params, case, radix, subcode in sorted(
            _XDBC, key=lambda r: (r[1], r[0])):
        if data_type is not None and xdbc != data_type:
            continue
        numeric = radix is not None
        rows.append({
            "type_name": name, "data_type": xdbc, "column_size": size,
            "literal_prefix": quote_, "literal_suffix": quote_, "create_params": params,
            "nullable": 1, "case_sensitive": case, "searchable": 3,
            "unsigned_attribute": False if numeric else None, "fixed_prec_scale": False,
            "auto_increment": False if numeric else None, "local_type_name": name,
            "minimum_scale": 0 if name == "numeric" else None,
            "maximum_scale": 1000 if name == "numeric" else None,
            "sql_data_type": 9 if subcode is not None else xdbc, "datetime_subcode": subcode,
            "num_prec_radix": radix, "interval_precision": None,
        })
    return pa.Table.from_pylist(rows, schema=XDBC_TYPE_INFO)


def quote(name: str) -> str:
    """An identifier the catalog named, double-quoted for the statement that reads it."""
    return '"' + name.replace('"', '""') + '"'
