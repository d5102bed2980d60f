"""PostgreSQL types to Arrow and back (pgproxy/types/arrow.py), the Flight SQL messages and
the Flight core's pure helpers: no server, no sockets."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import google.protobuf  # noqa: F401  (the test extra installs it)
import pyarrow as pa
import pytest

from pgproxy import errors, pgtypes
from pgproxy.backends.base import Column
from pgproxy.flight import core, messages
from pgproxy.types import decoder, row_encoder
from pgproxy.types.arrow import (
    BatchBuilder,
    arrow_field,
    arrow_type,
    numeric_precision,
    pg_type,
    pg_typmod,
    rows_of,
    type_name,
)

D = decimal.Decimal


def numeric(p: int, s: int) -> int:
    return ((p << 16) | s) + 4


@pytest.mark.parametrize("oid,typmod,expected", [
    (pgtypes.BOOL, -1, pa.bool_()),
    (pgtypes.INT2, -1, pa.int16()),
    (pgtypes.INT4, -1, pa.int32()),
    (pgtypes.INT8, -1, pa.int64()),
    (pgtypes.FLOAT4, -1, pa.float32()),
    (pgtypes.FLOAT8, -1, pa.float64()),
    (pgtypes.NUMERIC, numeric(12, 3), pa.decimal128(12, 3)),
    (pgtypes.NUMERIC, numeric(50, 10), pa.decimal256(50, 10)),
    (pgtypes.NUMERIC, -1, pa.string()),
    (pgtypes.TEXT, -1, pa.string()),
    (pgtypes.BYTEA, -1, pa.binary()),
    (pgtypes.DATE, -1, pa.date32()),
    (pgtypes.TIME, -1, pa.time64("us")),
    (pgtypes.TIMESTAMP, -1, pa.timestamp("us")),
    (pgtypes.TIMESTAMPTZ, -1, pa.timestamp("us", tz="UTC")),
    (pgtypes.INTERVAL, -1, pa.month_day_nano_interval()),
    (pgtypes.UUID, -1, pa.binary(16)),
    (pgtypes.JSONB, -1, pa.string()),
    (pgtypes.INT4_ARRAY, -1, pa.list_(pa.int32())),
    (pgtypes.INET, -1, pa.string()),
])
def test_arrow_type_of_each_postgresql_type(oid, typmod, expected):
    assert arrow_type(oid, typmod) == expected


def test_field_metadata():
    field = arrow_field("price", pgtypes.NUMERIC, numeric(8, 2))
    assert field.metadata[b"ARROW:FLIGHT:SQL:TYPE_NAME"] == b"numeric"
    assert (field.metadata[b"ARROW:FLIGHT:SQL:PRECISION"],
            field.metadata[b"ARROW:FLIGHT:SQL:SCALE"]) == (b"8", b"2")
    assert arrow_field("j", pgtypes.JSON).metadata[b"ARROW:extension:name"] == b"arrow.json"
    assert arrow_field("u", pgtypes.UUID).metadata[b"ARROW:extension:name"] == b"arrow.uuid"
    assert type_name(pgtypes.INT4_ARRAY) == "_int4"
    assert numeric_precision(-1) is None and numeric_precision(numeric(10, 4)) == (10, 4)


def test_batch_from_natural_values_and_from_text():
    columns = [Column("b", pgtypes.BOOL), Column("n", pgtypes.NUMERIC, type_mod=numeric(6, 2)),
               Column("d", pgtypes.DATE), Column("ts", pgtypes.TIMESTAMPTZ),
               Column("iv", pgtypes.INTERVAL), Column("u", pgtypes.UUID),
               Column("by", pgtypes.BYTEA), Column("a", pgtypes.TEXT_ARRAY),
               Column("t", pgtypes.TEXT)]
    u = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    utc = dt.UTC
    natural = (True, D("1.50"), dt.date(2024, 2, 29), dt.datetime(2024, 1, 1, tzinfo=utc),
               dt.timedelta(days=1, seconds=5), u, b"\x00\xff", ["x", None], "t")
    # What a backend may hand over instead: the PostgreSQL text of each value (SQLite).
    text = (1, "1.505", "2024-02-29", "2024-01-01 02:00:00+02", "1 day 00:00:05",
            str(u), "\\x00ff", "{x,NULL}", 7)
    batch = BatchBuilder(columns).build([natural, text, (None,) * 9])
    first, second, third = batch.to_pylist()
    assert second["n"] == D("1.51")  # rounded to the column's scale, as PostgreSQL does
    second["n"] = first["n"]
    assert second["t"] == "7"
    second["t"] = first["t"]
    assert first == second
    assert first["iv"] == pa.MonthDayNano([0, 1, 5_000_000_000])
    assert first["u"] == u.bytes and first["by"] == b"\x00\xff" and first["a"] == ["x", None]
    assert all(v is None for v in third.values())
    assert BatchBuilder(columns).build([]).num_rows == 0


def test_a_value_without_an_arrow_form_is_22003():
    with pytest.raises(errors.PgError) as caught:
        BatchBuilder([Column("d", pgtypes.DATE)]).build([("infinity",)])
    assert caught.value.sqlstate == "22003" and "infinity" in caught.value.message


def test_arrow_types_back_to_postgresql():
    assert pg_type(pa.int64()) == (pgtypes.INT8, "bigint")
    assert pg_type(pa.decimal128(10, 2)) == (pgtypes.NUMERIC, "numeric(10, 2)")
    assert pg_type(pa.timestamp("us", tz="UTC")) == (pgtypes.TIMESTAMPTZ, "timestamptz")
    assert pg_type(pa.timestamp("ms")) == (pgtypes.TIMESTAMP, "timestamp")
    assert pg_type(pa.large_string()) == (pgtypes.TEXT, "text")
    assert pg_type(pa.list_(pa.int32())) == (pgtypes.INT4_ARRAY, "integer[]")
    json_field = arrow_field("j", pgtypes.JSONB)
    assert pg_type(json_field.type, json_field) == (pgtypes.JSONB, "jsonb")
    assert pg_type(pa.uuid()) == (pgtypes.UUID, "uuid")
    # numeric(p, s) and back: the typmod round-trips through decimal128.
    assert pg_typmod(arrow_type(pgtypes.NUMERIC, numeric(9, 4))) == numeric(9, 4)
    assert pg_typmod(pa.int32()) == -1


def test_rows_of_a_record_batch():
    batch = pa.record_batch({"i": pa.array([1, None]),
                             "iv": pa.array([pa.MonthDayNano([1, 2, 3000]), None],
                                            pa.month_day_nano_interval())})
    rows = rows_of(batch)
    assert rows[0][0] == 1 and rows[0][1].fields == (1, 2, 3) and rows[1] == (None, None)


def test_binary_datarows_decode_back_to_rows():
    oids = [pgtypes.INT8, pgtypes.TEXT, pgtypes.TIMESTAMPTZ, pgtypes.NUMERIC]
    rows = [(1, "a", dt.datetime(2024, 1, 1, tzinfo=dt.UTC), D("1.25")),
            (None, None, None, None)]
    frames = row_encoder(oids, (1,))(rows)
    decoders = [decoder(oid, 1) for oid in oids]
    assert core.rows_of_frames(frames, decoders) == rows


def test_parameters_read_as_their_statement_types():
    types = [pgtypes.INT4, pgtypes.DATE, pgtypes.TEXT, pgtypes.TIMESTAMPTZ]
    plus2 = dt.timezone(dt.timedelta(hours=2))
    values = core.coerce(types, [5, "2024-02-29", 7, dt.datetime(2024, 1, 1, 2, tzinfo=plus2)])
    assert values[:3] == [5, dt.date(2024, 2, 29), "7"]
    assert values[3] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(errors.PgError) as caught:
        core.coerce(types, [1])
    assert caught.value.sqlstate == "08P01"


def test_command_tags_give_row_counts():
    assert core.affected("INSERT 0 5") == 5
    assert core.affected("UPDATE 3") == 3
    assert core.affected("CREATE TABLE") is None


def test_flight_sql_messages_round_trip_through_any():
    command = messages.M["CommandGetTables"](catalog="app", include_schema=True)
    command.table_types.append("TABLE")
    name, back = messages.unpack(messages.pack(command))
    assert name == "CommandGetTables" and back == command
    assert back.HasField("catalog") and not back.HasField("db_schema_filter_pattern")
    ingest = messages.M["CommandStatementIngest"](table="t")
    ingest.table_definition_options.if_exists = messages.IF_EXISTS_APPEND
    name, back = messages.unpack(messages.pack(ingest))
    assert back.table_definition_options.if_exists == messages.IF_EXISTS_APPEND
    assert messages.unpack(b"not protobuf \xff") == ("", None)
