"""The Arrow Flight SQL endpoint with real clients (ADBC's Flight SQL driver through its
DB-API, and pyarrow.flight), on SQLite and MariaDB: types, prepared statements, DoPut
update counts, ingest, metadata, concurrency, the query cache across both frontends."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pyarrow as pa
import pytest
from pyarrow import flight

from pgproxy.flight import messages
from tests.fix_flight import FlightProxy, run_flight_proxy
from tests.fix_proxy import fresh_database_url

pytestmark = pytest.mark.integration

D = decimal.Decimal
CONFIG = """
[query_cache]
enabled = true
ttl = 300
"""


@pytest.fixture(scope="module", params=["sqlite", "mysql"])
def fp(request: pytest.FixtureRequest) -> Iterator[FlightProxy]:
    url = fresh_database_url(request.param, request, "flight_sql")
    with run_flight_proxy("", config=f'[backends]\napp = "{url}"\n' + CONFIG) as proxy:
        proxy.kind = request.param  # type: ignore[attr-defined]
        yield proxy


@pytest.fixture
def cur(fp: FlightProxy) -> Iterator:
    conn = fp.connect()
    try:
        with conn.cursor() as c:
            yield c
    finally:
        conn.close()


def test_every_type_arrives_as_its_arrow_type(fp, cur):
    cur.execute("DROP TABLE IF EXISTS fl_types")
    cur.execute(
        "CREATE TABLE fl_types (id integer PRIMARY KEY, i2 smallint, i8 bigint, f8 double "
        "precision, n numeric(12, 3), nu numeric, t text, vc varchar(20), b boolean, d date, "
        "ts timestamp, tz timestamptz, tm time, iv interval, j json, jb jsonb, u uuid, by bytea)")
    # Bound parameters, each read as its column's type (a literal of each would do too,
    # but MariaDB takes neither a bare \\x… string in a bytea nor an offset in a datetime).
    utc = dt.UTC
    values = (1, -2, 9000000000, 2.25, D("123456789.125"), D("3.14159265358979"), "héllo", "v",
              True, dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 12, 34, 56, 123456),
              dt.datetime(2024, 2, 29, 12, 34, 56, 500000,
                          tzinfo=dt.timezone(dt.timedelta(hours=2))),
              dt.time(13, 14, 15), "1 year 2 mons 3 days 04:05:06", '{"a": [1, 2]}',
              '{"b": null}', "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", b"\x00\xff\x10")
    cur.execute("INSERT INTO fl_types VALUES (" + ", ".join(f"${i + 1}" for i in range(18))
                + ")", parameters=values)
    cur.execute("INSERT INTO fl_types (id) VALUES (2)")
    cur.execute("SELECT * FROM fl_types ORDER BY id")
    table = cur.fetch_arrow_table()
    types = {f.name: f.type for f in table.schema}
    assert types["id"] == pa.int32() and types["i2"] == pa.int16() and types["i8"] == pa.int64()
    assert types["f8"] == pa.float64()
    assert types["n"] == pa.decimal128(12, 3)
    # Unconstrained: the exact text, whatever its scale; MariaDB stores it as DECIMAL(65, 30).
    assert types["nu"] == (pa.string() if fp.kind == "sqlite" else pa.decimal256(65, 30))
    assert types["t"] == pa.string() and types["vc"] == pa.string()
    assert types["b"] == pa.bool_() and types["d"] == pa.date32()
    assert types["ts"] == pa.timestamp("us") and types["tz"] == pa.timestamp("us", tz="UTC")
    assert types["tm"] == pa.time64("us") and types["iv"] == pa.month_day_nano_interval()
    assert types["by"] == pa.binary()
    for name in ("j", "jb"):  # the canonical JSON extension over a string
        assert table.schema.field(name).type.extension_name == "arrow.json"
    # uuid where the backend keeps one (MariaDB's column is what the wire says it is too).
    with psycopg.connect(fp.proxy.dsn(), autocommit=True) as wire:
        u_oid = wire.execute("SELECT u FROM fl_types").description[0].type_code
    is_uuid = u_oid == 2950
    u_type = table.schema.field("u").type
    assert u_type.extension_name == "arrow.uuid" if is_uuid else u_type == pa.string()
    assert table.schema.field("n").metadata[b"ARROW:FLIGHT:SQL:PRECISION"] == b"12"
    first, second = table.to_pylist()
    assert first["i2"] == -2 and first["i8"] == 9000000000 and first["f8"] == 2.25
    assert first["n"] == D("123456789.125") and D(first["nu"]) == D("3.14159265358979")
    assert first["t"] == "héllo" and first["b"] is True and first["d"] == dt.date(2024, 2, 29)
    assert first["ts"] == dt.datetime(2024, 2, 29, 12, 34, 56, 123456)
    assert first["tz"] == dt.datetime(2024, 2, 29, 10, 34, 56, 500000, tzinfo=utc)
    assert first["tm"] == dt.time(13, 14, 15)
    iv = first["iv"]
    assert (iv.months, iv.days, iv.nanoseconds) == (14, 3, (4 * 3600 + 5 * 60 + 6) * 10**9)
    assert json.loads(first["j"]) == {"a": [1, 2]} and json.loads(first["jb"]) == {"b": None}
    u = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    assert first["u"] == (u if is_uuid else str(u))
    assert first["by"] == b"\x00\xff\x10"
    assert all(v is None for k, v in second.items() if k != "id")


def test_arrays_and_computed_values(cur):
    cur.execute("SELECT ARRAY[1, 2, 3] AS a, ARRAY['x', 'y'] AS s, 1.5::numeric(4, 1) AS n, "
                "'1 day'::interval AS iv, 7 AS i")
    table = cur.fetch_arrow_table()
    assert table.schema.field("a").type == pa.list_(pa.int32())
    assert table.schema.field("n").type == pa.decimal128(4, 1)
    row = table.to_pylist()[0]
    assert row["a"] == [1, 2, 3] and row["s"] == ["x", "y"] and row["n"] == D("1.5")
    assert row["iv"].days == 1 and row["i"] == 7


def test_prepared_statement_with_parameters(cur):
    cur.execute("DROP TABLE IF EXISTS fl_params")
    cur.execute("CREATE TABLE fl_params (id integer, name text, amount numeric(10, 2), "
                "at date)")
    rows = [(1, "a", D("1.50"), dt.date(2024, 1, 1)), (2, "b", None, dt.date(2024, 1, 2)),
            (3, None, D("-3.25"), None)]
    cur.executemany("INSERT INTO fl_params VALUES ($1, $2, $3, $4)", rows)
    assert cur.rowcount == 3
    cur.execute("SELECT id, name, amount, at FROM fl_params WHERE id >= $1 AND at <= $2 "
                "ORDER BY id", parameters=(1, dt.date(2024, 1, 5)))
    assert cur.fetchall() == [(1, "a", D("1.50"), dt.date(2024, 1, 1)),
                              (2, "b", None, dt.date(2024, 1, 2))]
    # The same prepared statement again with other values (ADBC keeps it prepared).
    cur.execute("SELECT id, name, amount, at FROM fl_params WHERE id >= $1 AND at <= $2 "
                "ORDER BY id", parameters=(2, dt.date(2030, 1, 1)))
    assert [r[0] for r in cur.fetchall()] == [2]
    cur.execute("SELECT count(*) FROM fl_params WHERE name = $1", parameters=("a",))
    assert cur.fetchone()[0] == 1


def test_parameter_sets_run_as_one_atomic_execution(cur):
    cur.execute("DROP TABLE IF EXISTS fl_atomic")
    cur.execute("CREATE TABLE fl_atomic (id integer PRIMARY KEY)")
    with pytest.raises(Exception, match="23505"):  # the third set repeats the first key
        cur.executemany("INSERT INTO fl_atomic VALUES ($1)", [(1,), (2,), (1,)])
    cur.execute("SELECT count(*) FROM fl_atomic")
    assert cur.fetchone()[0] == 0


def test_doput_update_counts(cur):
    cur.execute("DROP TABLE IF EXISTS fl_counts")
    cur.execute("CREATE TABLE fl_counts (id integer, v text)")
    stmt = cur.adbc_statement
    stmt.set_sql_query("INSERT INTO fl_counts VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')")
    assert stmt.execute_update() == 4
    stmt.set_sql_query("UPDATE fl_counts SET v = 'z' WHERE id >= 2")
    assert stmt.execute_update() == 3
    stmt.set_sql_query("DELETE FROM fl_counts WHERE id = 4")
    assert stmt.execute_update() == 1
    cur.execute("SELECT id, v FROM fl_counts ORDER BY id")
    assert cur.fetchall() == [(1, "a"), (2, "z"), (3, "z")]


def test_ingest_an_arrow_stream(cur):
    cur.execute("DROP TABLE IF EXISTS fl_ingest")
    data = pa.table({
        "k": pa.array(range(5000), pa.int64()),
        "amount": pa.array([D(i) / 4 for i in range(5000)], pa.decimal128(12, 2)),
        "at": pa.array([i * 1_000_000 for i in range(5000)], pa.timestamp("us", tz="UTC")),
        "name": pa.array([None if i % 7 == 0 else f"n{i}" for i in range(5000)]),
        "ok": pa.array([i % 2 == 0 for i in range(5000)]),
    })
    assert cur.adbc_ingest("fl_ingest", data, mode="create") == 5000
    assert cur.adbc_ingest("fl_ingest", data.slice(0, 10), mode="append") == 10
    cur.execute("SELECT count(*), sum(k) FROM fl_ingest")
    count, total = cur.fetchone()
    assert count == 5010 and int(total) == sum(range(5000)) + sum(range(10))
    cur.execute("SELECT k, amount, at, name, ok FROM fl_ingest WHERE k = 9 ORDER BY k LIMIT 1")
    k, amount, at, name, ok = cur.fetchone()
    assert (k, amount, name, ok) == (9, D("2.25"), "n9", False)
    assert at == dt.datetime(1970, 1, 1, 0, 0, 9, tzinfo=dt.UTC)
    with pytest.raises(Exception, match="42P07"):  # create, but it exists
        cur.adbc_ingest("fl_ingest", data, mode="create")
    assert cur.adbc_ingest("fl_ingest", data.slice(0, 3), mode="replace") == 3
    cur.execute("SELECT count(*) FROM fl_ingest")
    assert cur.fetchone()[0] == 3


def test_metadata_commands(fp, cur):
    cur.execute("DROP TABLE IF EXISTS fl_meta")
    cur.execute("CREATE TABLE fl_meta (id integer PRIMARY KEY, price numeric(8, 2), "
                "note text)")
    conn = cur.connection
    assert "TABLE" in conn.adbc_get_table_types()
    info = conn.adbc_get_info()
    assert info["vendor_name"] == "pgproxy"
    objects = conn.adbc_get_objects(depth="all", table_name_filter="fl_meta").read_all()
    catalog = objects.to_pylist()[0]
    assert catalog["catalog_name"] == "app"
    tables = [t for s in catalog["catalog_db_schemas"] for t in s["db_schema_tables"] or []]
    assert [t["table_name"] for t in tables] == ["fl_meta"]
    assert [c["column_name"] for c in tables[0]["table_columns"]] == ["id", "price", "note"]
    schema = conn.adbc_get_table_schema("fl_meta")
    assert schema.field("price").type == pa.decimal128(8, 2)
    assert schema.field("id").type == pa.int32()
    # The raw commands, through pyarrow.flight.
    client = fp.client()
    keys = _command_table(client, messages.M["CommandGetPrimaryKeys"](table="fl_meta"))
    assert [(r["table_name"], r["column_name"], r["key_sequence"])
            for r in keys.to_pylist()] == [("fl_meta", "id", 1)]
    dbs = _command_table(client, messages.M["CommandGetCatalogs"]())
    assert dbs.column("catalog_name").to_pylist() == ["app"]
    schemas = _command_table(client, messages.M["CommandGetDbSchemas"](
        db_schema_filter_pattern="pub%"))
    assert schemas.column("db_schema_name").to_pylist() == ["public"]
    tables = _command_table(client, messages.M["CommandGetTables"](
        table_name_filter_pattern="fl_me%", include_schema=True))
    assert tables.column("table_name").to_pylist() == ["fl_meta"]
    described = pa.ipc.read_schema(pa.py_buffer(tables.column("table_schema")[0].as_py()))
    assert described.names == ["id", "price", "note"]
    types = _command_table(client, messages.M["CommandGetXdbcTypeInfo"](data_type=93))
    assert types.column("type_name").to_pylist() == ["timestamp", "timestamptz"]
    sql_info = _command_table(client, messages.M["CommandGetSqlInfo"](info=[0, 504]))
    assert sql_info.column("info_name").to_pylist() == [0, 504]
    assert sql_info.column("value").to_pylist() == ["pgproxy", '"']


def _command_table(client, command, options=None):
    descriptor = flight.FlightDescriptor.for_command(messages.pack(command))
    info = client.get_flight_info(descriptor, options) if options else \
        client.get_flight_info(descriptor)
    reader = client.do_get(info.endpoints[0].ticket, options) if options else \
        client.do_get(info.endpoints[0].ticket)
    return reader.read_all()


def test_pyarrow_flight_statement_query_streams_batches(fp):
    client = fp.client()
    options = flight.FlightCallOptions(headers=[(b"database", b"app")])
    query = messages.M["CommandStatementQuery"](
        query="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000) "
              "SELECT i, i * 2 AS twice FROM n")
    descriptor = flight.FlightDescriptor.for_command(messages.pack(query))
    assert client.get_schema(descriptor, options).schema.names == ["i", "twice"]  # not run
    info = client.get_flight_info(descriptor, options)
    assert info.schema.names == ["i", "twice"]
    reader = client.do_get(info.endpoints[0].ticket, options)
    batches = list(reader)
    assert len(batches) > 1  # streamed in batches, not one buffered result
    table = pa.Table.from_batches([b.data for b in batches])
    assert table.num_rows == 50000
    assert sum(table.column("twice").to_pylist()) == 2 * sum(range(1, 50001))


def test_eight_concurrent_clients(fp):
    with fp.connect() as conn, conn.cursor() as c:
        c.execute("DROP TABLE IF EXISTS fl_conc")
        c.execute("CREATE TABLE fl_conc (id integer, client integer)")
    failures: list[BaseException] = []

    def client(n: int) -> None:
        try:
            with fp.connect() as conn, conn.cursor() as c:
                for i in range(20):
                    c.execute("INSERT INTO fl_conc VALUES ($1, $2)", parameters=(i, n))
                    c.execute("SELECT count(*) FROM fl_conc WHERE client = $1", parameters=(n,))
                    assert c.fetchone()[0] == i + 1
                c.execute("SELECT id FROM fl_conc WHERE client = $1 ORDER BY id",
                          parameters=(n,))
                assert [r[0] for r in c.fetchall()] == list(range(20))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures
    with fp.connect() as conn, conn.cursor() as c:
        c.execute("SELECT count(*) FROM fl_conc")
        assert c.fetchone()[0] == 160


def test_cache_is_shared_with_the_wire_and_invalidated_by_its_writes(fp, cur):
    cur.execute("DROP TABLE IF EXISTS fl_cached")
    cur.execute("CREATE TABLE fl_cached (id integer PRIMARY KEY, name text, at timestamptz)")
    cur.execute("INSERT INTO fl_cached VALUES (1, 'one', '2024-01-01 00:00:00+00')")
    q = "SELECT id, name, at FROM fl_cached WHERE id = $1"
    before = _cache_stats(fp)
    for _ in range(3):  # a miss, then hits replayed from the cache's frames
        cur.execute(q, parameters=(1,))
        assert cur.fetchall() == [(1, "one", dt.datetime(2024, 1, 1, tzinfo=dt.UTC))]
    after = _cache_stats(fp)
    assert int(after["hits"]) - int(before["hits"]) >= 2
    with psycopg.connect(fp.proxy.dsn(), autocommit=True) as wire:
        wire.execute("UPDATE fl_cached SET name = 'uno' WHERE id = 1")
    cur.execute(q, parameters=(1,))
    assert cur.fetchall()[0][1] == "uno"


def _cache_stats(fp: FlightProxy) -> dict[str, str]:
    with psycopg.connect(fp.proxy.dsn("pgproxy"), autocommit=True) as admin:
        return dict(admin.execute("SHOW CACHE").fetchall())


@pytest.mark.parametrize("client", ["flight", "wire"])
def test_the_first_statement_on_mariadb_gets_every_row(request, client):
    # The table is made outside the proxy, and the first statement reads it: typing its
    # result reads the schema, which must happen before MySQL's unbuffered result is open
    # (it used to end that result after its first 2,000 rows).
    import pymysql

    url = fresh_database_url("mysql", request, f"flight_first_{client}")
    server = request.getfixturevalue("mariadb")
    conn = pymysql.connect(host=server.host, port=server.port, user=server.user,
                           password=server.password, database=f"flight_first_{client}")
    with conn.cursor() as c:
        c.execute("CREATE TABLE big (id BIGINT PRIMARY KEY, name TEXT)")
        c.executemany("INSERT INTO big VALUES (%s, %s)", [(i, f"n{i}") for i in range(30000)])
    conn.commit()
    conn.close()
    with run_flight_proxy("", config=f'[backends]\napp = "{url}"\n') as fp:
        if client == "flight":
            with fp.connect() as fconn, fconn.cursor() as cur:
                cur.execute("SELECT id, name FROM big")
                ids = cur.fetch_arrow_table().column("id").to_pylist()
        else:
            with psycopg.connect(fp.proxy.dsn(), autocommit=True) as wire:
                ids = [r[0] for r in wire.execute("SELECT id, name FROM big")]
    assert sorted(ids) == list(range(30000))
