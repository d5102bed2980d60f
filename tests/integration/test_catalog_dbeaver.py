"""DBeaver's PostgreSQL plugin through the proxy: the catalog queries it sends, replayed.

DBeaver reads the catalog through pgjdbc with prepared statements and binds object ids
with `setLong` (int8). The queries below are copied from DBeaver's sources
(github.com/dbeaver/dbeaver, plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/
dbeaver/ext/postgresql/model/…, 2021-2024 versions; each entry names its class) with the
optional parts a PostgreSQL 16 server gets; `?` is written `%s` and bound through
psycopg's extended protocol, object ids as int8 like pgjdbc's setLong.

The replay runs as DBeaver does: connect (database row, version, defaults, settings,
schemas, data types, keywords), then expand the navigator (database → schemas → tables →
columns, constraints, foreign keys, indexes, views, sequences, data types, procedures).
`replay()` is shared with benchmarks/bench_catalog.py, which reports the share answered
and the total time.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
import pytest
from psycopg.types.numeric import Int8

pytestmark = pytest.mark.integration

# pgjdbc's PgDatabaseMetaData.getSQLKeywords(), which DBeaver's dialect calls on connect
# (the SQL:2003 words it leaves out; the list is shortened here, the shape is pgjdbc's).
_SQL2003 = ("a,abs,absolute,action,ada,add,admin,after,all,allocate,alter,always,and,any,are,"
            "array,as,asc,asensitive,assertion,assignment,asymmetric,at,atomic,attribute,"
            "attributes,authorization,avg,before,begin,bernoulli,between,bigint,binary,blob,"
            "boolean,both,breadth,by,c,call,called,cardinality,cascade,cascaded,case,cast,"
            "catalog,select,table,where,with,zone")


@dataclass
class Probe:
    source: str  # DBeaver class (or pgjdbc) that sends it
    sql: str
    params: tuple = ()  # ':name' is resolved from the schema; ints go as int8
    stage: str = "connect"


# ---------------------------------------------------------------- connect
CONNECT = [
    Probe("PostgreDatabase.readDatabaseInfo",
          "SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname=%s", (":dbname",)),
    Probe("PostgreDataSource.prepareReadDatabaseListStatement",
          "SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE 1 = 1 AND datallowconn AND"
          " NOT datistemplate \nORDER BY db.datname"),
    Probe("PostgreDataSource.initialize", "SELECT version()"),
    Probe("PostgreExecutionContext.refreshDefaults", "SELECT current_schema(),session_user"),
    Probe("PostgreDataSource.determineDefaultObjects (2017)",
          "SELECT current_database(), current_schema(),session_user"),
    Probe("PostgreDataSource.determineDefaultObjects (2017)", "SHOW search_path"),
    Probe("PostgreDataSource.SettingCache",
          "select * from pg_catalog.pg_settings where name=%s", ("standard_conforming_strings",)),
    Probe("PostgreDataSource.SettingCache", "select * from pg_catalog.pg_settings"),
    Probe("PostgreDatabase.SchemaCache",
          "SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n\n"
          "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND"
          " d.classoid='pg_namespace'::regclass\n ORDER BY nspname"),
    Probe("PostgreUtils.getQueryForSystemColumnChecking",
          "SELECT 1 FROM pg_catalog.pg_attribute s JOIN pg_catalog.pg_class p ON s.attrelid ="
          " p.oid JOIN pg_catalog.pg_namespace n ON p.relnamespace = n.oid WHERE p.relname ="
          " 'pg_type' AND n.nspname = 'pg_catalog' AND s.attname = 'typcategory'"),
    Probe("PostgreDatabase.cacheDataTypes",
          "SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as"
          " base_type_name, d.description\nFROM pg_catalog.pg_type t\n"
          "LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem \n"
          "LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid\n"
          "LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid\n"
          "WHERE t.typname IS NOT NULL\nAND (c.relkind IS NULL OR c.relkind = 'c') AND"
          " (et.typcategory IS NULL OR et.typcategory <> 'C')"),
    Probe("PostgreDatabase.EnumValueCache", "SELECT * FROM pg_catalog.pg_enum"),
    Probe("PostgreDataSource probes", "SELECT * FROM pg_catalog.pg_enum WHERE 1<>1 LIMIT 1"),
    Probe("PostgreDataSource probes", "SELECT reltype FROM pg_catalog.pg_class WHERE 1<>1 LIMIT 1"),
    Probe("pgjdbc PgDatabaseMetaData.getSQLKeywords",
          "select string_agg(word, ',') from pg_catalog.pg_get_keywords() where word <> ALL"
          f" ('{{{_SQL2003}}}'::text[])"),
]

# ---------------------------------------------------------------- expand the database node
DATABASE = [
    Probe("PostgreDatabase.RoleCache",
          "SELECT a.oid,a.*,pd.description FROM pg_catalog.pg_roles a \n"
          "left join pg_catalog.pg_shdescription pd on a.oid = pd.objoid\nORDER BY a.rolname"),
    Probe("PostgreDatabase.AccessMethodCache",
          "SELECT am.oid,am.* FROM pg_catalog.pg_am am \nORDER BY am.oid"),
    Probe("PostgreDatabase.EncodingCache",
          "SELECT c.contoencoding as encid,pg_catalog.pg_encoding_to_char(c.contoencoding) as"
          " encname\nFROM pg_catalog.pg_conversion c\nGROUP BY c.contoencoding\nORDER BY 2\n"),
    Probe("PostgreDatabase.CollationCache",
          "SELECT c.oid,c.* FROM pg_catalog.pg_collation c \nORDER BY c.oid"),
    Probe("PostgreDatabase.LanguageCache",
          "SELECT l.oid,l.* FROM pg_catalog.pg_language l \nORDER BY l.oid"),
    Probe("PostgreDatabase.ForeignDataWrapperCache",
          "SELECT l.oid,l.*,p.pronamespace as handler_schema_id \n"
          "FROM pg_catalog.pg_foreign_data_wrapper l\n"
          "LEFT OUTER JOIN pg_catalog.pg_proc p ON p.oid=l.fdwhandler \nORDER BY l.fdwname"),
    Probe("PostgreDatabase.ForeignServerCache",
          "SELECT l.oid,l.* FROM pg_catalog.pg_foreign_server l\nORDER BY l.srvname"),
    Probe("PostgreDatabase.TablespaceCache",
          "SELECT t.oid,t.*,pg_tablespace_location(t.oid) loc\n"
          "FROM pg_catalog.pg_tablespace t \nORDER BY t.oid"),
    Probe("PostgreDatabase.AvailableExtensionCache",
          "SELECT name,default_version,installed_version,comment FROM"
          " pg_catalog.pg_available_extensions ORDER BY name"),
    Probe("PostgreDatabase.EventTriggersCache",
          "SELECT pet.*, d.description FROM pg_catalog.pg_event_trigger pet\n"
          "LEFT OUTER JOIN pg_catalog.pg_description d ON pet.\"oid\" = d.objoid"),
    Probe("PostgreDatabase.ExtensionCache",
          "SELECT \n e.oid,\n cfg.tbls,\n  n.nspname as schema_name,\n e.* \nFROM \n"
          " pg_catalog.pg_extension e \n join pg_namespace n on n.oid =e.extnamespace\n"
          " left join  (\n         select\n"
          "            ARRAY_AGG(ns.nspname || '.' ||  cls.relname) tbls, oid_ext\n"
          "          from\n            (\n            select\n"
          "                unnest(e1.extconfig) oid , e1.oid oid_ext\n            from\n"
          "                pg_catalog.pg_extension e1 ) c \n"
          "                join    pg_class cls on cls.oid = c.oid \n"
          "                join pg_namespace ns on ns.oid = cls.relnamespace\n"
          "            group by oid_ext        \n         ) cfg on cfg.oid_ext = e.oid\n"
          "ORDER BY e.oid"),
    Probe("PostgreDataSource.collectObjectStatistics",
          "SELECT db.datname,pg_database_size(db.oid) FROM pg_catalog.pg_database db WHERE"
          " db.oid=%s", (":db_oid",)),
    Probe("PostgreDatabase.getDescription",
          "select description from pg_shdescription join pg_database on objoid ="
          " pg_database.oid where datname = %s", (":dbname",)),
    Probe("PostgreDataSource.getTemplateDatabases",
          "SELECT db.datname FROM pg_catalog.pg_database db WHERE datistemplate"),
]

# ---------------------------------------------------------------- expand a schema
_TABLES = (
    "SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as"
    " partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key \n"
    "FROM pg_catalog.pg_class c\n"
    "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND"
    " d.classoid='pg_class'::regclass\n"
    "WHERE c.relnamespace=%s AND c.relkind not in ('i','I','c')")
_COLUMNS = (
    "SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,"
    "dsc.description,dep.objid\nFROM pg_catalog.pg_attribute a\n"
    "INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)\n"
    "LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum ="
    " ad.adnum)\n"
    "LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum ="
    " dsc.objsubid)\n"
    "LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and"
    " dep.refobjsubid = a.attnum and dep.classid = dep.refclassid\n"
    "WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND {where}\n"
    "ORDER BY a.attnum")
_CONSTRAINTS = (
    "SELECT c.oid,c.*,t.relname as tabrelname,rt.relnamespace as refnamespace,d.description,"
    " case when c.contype='c' then \"substring\"(pg_get_constraintdef(c.oid), 7) else null"
    " end consrc_copy\nFROM pg_catalog.pg_constraint c\n"
    "INNER JOIN pg_catalog.pg_class t ON t.oid=c.conrelid\n"
    "LEFT OUTER JOIN pg_catalog.pg_class rt ON rt.oid=c.confrelid\n"
    "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND"
    " d.classoid='pg_constraint'::regclass\nWHERE {where}\nORDER BY c.oid")
_INDEXES = (
    "SELECT i.*,i.indkey as keys,c.relname,c.relnamespace,c.relam,c.reltablespace,"
    "tc.relname as tabrelname,dsc.description,pg_catalog.pg_get_expr(i.indpred, i.indrelid)"
    " as pred_expr,pg_catalog.pg_get_expr(i.indexprs, i.indrelid, true) as expr,"
    "pg_catalog.pg_relation_size(i.indexrelid) as index_rel_size,"
    "pg_catalog.pg_stat_get_numscans(i.indexrelid) as index_num_scans\n"
    "FROM pg_catalog.pg_index i\nINNER JOIN pg_catalog.pg_class c ON c.oid=i.indexrelid\n"
    "INNER JOIN pg_catalog.pg_class tc ON tc.oid=i.indrelid\n"
    "LEFT OUTER JOIN pg_catalog.pg_description dsc ON i.indexrelid=dsc.objoid\n"
    "WHERE {where} ORDER BY c.relname")

SCHEMA = [
    Probe("PostgreSchema.TableCache", _TABLES, (":schema_oid",), "schema"),
    Probe("PostgreSchema.TableCache (lookup)", _TABLES + " AND relname=%s",
          (":schema_oid", ":parent"), "schema"),
    Probe("PostgreSchema.collectObjectStatistics",
          "select c.oid,pg_catalog.pg_total_relation_size(c.oid) as total_rel_size,"
          "pg_catalog.pg_relation_size(c.oid) as rel_size\nFROM pg_class c\n"
          "WHERE c.relnamespace=%s", (":schema_oid",), "schema"),
    Probe("PostgreDataTypeCache.prepareObjectsStatement",
          "SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as"
          " base_type_name, d.description\nFROM pg_catalog.pg_type t\n"
          "LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem \n"
          "LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid\n"
          "LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid\n"
          "WHERE t.typname IS NOT NULL\nAND (c.relkind IS NULL OR c.relkind = 'c') AND"
          " (et.typcategory IS NULL OR et.typcategory <> 'C')\nAND t.typnamespace=%s ",
          (":schema_oid",), "schema"),
    Probe("PostgreDataTypeCache.resolveDataType (by oid)",
          "SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as"
          " base_type_name FROM pg_catalog.pg_type t\n"
          "LEFT OUTER JOIN pg_class c ON c.oid=t.typrelid\nWHERE t.oid=%s ", (1700,), "schema"),
    Probe("PostgreDataTypeCache.resolveDataType (by name)",
          "SELECT t.oid,t.*,format_type(nullif(t.typbasetype, 0), t.typtypmod) as"
          " base_type_name FROM pg_catalog.pg_type t\n"
          "LEFT OUTER JOIN pg_class c ON c.oid=t.typrelid\nWHERE t.typname=%s ", ("int4",),
          "schema"),
    Probe("PostgreSchema.ProceduresCache",
          "SELECT p.oid as poid,p.*,pg_catalog.pg_get_expr(p.proargdefaults, 0) as"
          " arg_defaults,d.description\nFROM pg_catalog.pg_proc p\n"
          "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=p.oid and"
          " d.classoid='pg_proc'::regclass  AND d.objsubid = 0\nWHERE p.pronamespace=%s\n"
          "ORDER BY p.proname", (":schema_oid",), "schema"),
    Probe("PostgreSchema.AggregateCache",
          "SELECT p.oid AS proc_oid,p.proname AS proc_name,a.*\n"
          "FROM pg_catalog.pg_aggregate a,pg_catalog.pg_proc p\n"
          "WHERE p.oid=a.aggfnoid AND p.pronamespace=%s\nORDER BY p.proname",
          (":schema_oid",), "schema"),
    Probe("PostgreSchema.readDefaultPrivileges",
          "SELECT * FROM pg_default_acl WHERE defaclnamespace = %s", (":schema_oid",), "schema"),
    Probe("PostgreSchema.ExtensionCache",
          "SELECT \n e.oid,\n cfg.tbls,\n e.* \nFROM \n pg_catalog.pg_extension e \n"
          " join pg_namespace n on n.oid =e.extnamespace\n left join  (\n         select\n"
          "            ARRAY_AGG(ns.nspname || '.' ||  cls.relname) tbls, oid_ext\n"
          "          from\n            (\n            select\n"
          "                unnest(e1.extconfig) oid , e1.oid oid_ext\n            from\n"
          "                pg_catalog.pg_extension e1 ) c \n"
          "                join    pg_class cls on cls.oid = c.oid \n"
          "                join pg_namespace ns on ns.oid = cls.relnamespace\n"
          "            group by oid_ext        \n         ) cfg on cfg.oid_ext = e.oid\n"
          "\nWHERE e.extnamespace=%s\nORDER BY e.oid", (":schema_oid",), "schema"),
    Probe("PostgreSchema.readSchemaInfo",
          "SELECT s.oid as schema_id\nfrom pg_catalog.pg_namespace s\nWHERE s.nspname =%s",
          ("public",), "schema"),
    Probe("PostgreSchema.cacheTableInheritance",
          "SELECT i.inhrelid relid, pc.relnamespace parent_ns, pc.oid parent_oid, i.inhseqno\n"
          "FROM pg_catalog.pg_inherits i, pg_class rc, pg_class pc\n"
          "WHERE rc.oid=i.inhrelid AND rc.relnamespace=%s AND pc.oid=i.inhparent",
          (":schema_oid",), "schema"),
    Probe("PostgreSchema.TableCache (all columns)",
          _COLUMNS.format(where="c.relnamespace=%s"), (":schema_oid",), "schema"),
    Probe("PostgreSchema.ConstraintCache (schema)",
          _CONSTRAINTS.format(where="t.relnamespace=%s"), (":schema_oid",), "schema"),
    Probe("PostgreSchema.IndexCache (schema)",
          _INDEXES.format(where=" c.relnamespace=%s"), (":schema_oid",), "schema"),
    Probe("PostgreSequence.loadAdditionalInfo",
          "SELECT * from pg_catalog.pg_sequences WHERE schemaname=%s AND sequencename=%s",
          ("public", "no_such_sequence"), "schema"),
]

# ---------------------------------------------------------------- expand a table / a view
TABLE = [
    Probe("PostgreSchema.TableCache (columns)", _COLUMNS.format(where="c.oid=%s"),
          (":child_oid",), "table"),
    Probe("PostgreSchema.ConstraintCache (table)", _CONSTRAINTS.format(where="c.conrelid=%s"),
          (":child_oid",), "table"),
    Probe("PostgreSchema.IndexCache (table)", _INDEXES.format(where=" i.indrelid=%s"),
          (":child_oid",), "table"),
    Probe("PostgreSchema.IndexCache (expression column)",
          "select pg_catalog.pg_get_indexdef(%s, %s, true)", (":index_oid", 1), "table"),
    Probe("PostgreSchema.TableCache (view columns)", _COLUMNS.format(where="c.oid=%s"),
          (":view_oid",), "table"),
    Probe("PostgreViewBase (definition)", "SELECT pg_get_viewdef(%s, true)", (":view_oid",),
          "table"),
    Probe("PostgreTableBase (system columns)",
          "SELECT c.relname, a.* FROM pg_catalog.pg_attribute a INNER JOIN pg_catalog.pg_class c"
          " ON a.attrelid=c.oid WHERE c.oid=%s ORDER BY a.attnum", (":child_oid",), "table"),
    Probe("PostgreConstraint column expansion",
          "SELECT con.conname, k.attnum, k.n FROM pg_catalog.pg_constraint con CROSS JOIN"
          " LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, n) WHERE con.conrelid=%s"
          " ORDER BY 1, 3", (":child_oid",), "table"),
]

QUERIES = CONNECT + DATABASE + SCHEMA + TABLE


@dataclass
class Replay:
    answered: int = 0
    failed: list[tuple[Probe, str]] = field(default_factory=list)
    seconds: float = 0.0
    rows: dict[int, list] = field(default_factory=dict)  # position in the replayed list

    @property
    def total(self) -> int:
        return self.answered + len(self.failed)


def make_schema(conn: psycopg.Connection, suffix: str) -> dict[str, str]:
    parent, child, view = f"dbv_parent_{suffix}", f"dbv_child_{suffix}", f"dbv_view_{suffix}"
    conn.execute(f"CREATE TABLE {parent} (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)")
    conn.execute(f"CREATE TABLE {child} (id INT PRIMARY KEY, parent_id INT REFERENCES"
                 f" {parent}(id), code VARCHAR(20) UNIQUE, amount NUMERIC(10,2) DEFAULT 0)")
    conn.execute(f"CREATE INDEX {child}_amount ON {child}(amount)")
    conn.execute(f"CREATE VIEW {view} AS SELECT id, name FROM {parent}")
    return {"parent": parent, "child": child, "view": view}


def drop_schema(conn: psycopg.Connection, names: dict[str, str]) -> None:
    conn.execute(f"DROP VIEW IF EXISTS {names['view']}")
    conn.execute(f"DROP TABLE IF EXISTS {names['child']}")
    conn.execute(f"DROP TABLE IF EXISTS {names['parent']}")


def resolve(conn: psycopg.Connection, names: dict[str, str], dbname: str) -> dict[str, object]:
    """What DBeaver knows from earlier answers: the oids it binds (as int8) and names."""
    def one(sql: str, *args: object) -> object:
        return conn.execute(sql, args).fetchone()[0]

    return {
        **names, "dbname": dbname,
        "db_oid": one("SELECT oid FROM pg_catalog.pg_database WHERE datname = %s", dbname),
        "schema_oid": one("SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public'"),
        "child_oid": one("SELECT oid FROM pg_catalog.pg_class WHERE relname = %s",
                         names["child"]),
        "view_oid": one("SELECT oid FROM pg_catalog.pg_class WHERE relname = %s",
                        names["view"]),
        "index_oid": one("SELECT oid FROM pg_catalog.pg_class WHERE relname = %s",
                         f"{names['child']}_amount"),
    }


def _bind(params: tuple, known: dict[str, object]) -> list[object]:
    out: list[object] = []
    for p in params:
        if isinstance(p, str) and p.startswith(":"):
            p = known[p[1:]]
        out.append(Int8(p) if isinstance(p, int) else p)  # pgjdbc setLong: int8
    return out


def replay(dsn: str, known: dict[str, object], queries: list[Probe] = QUERIES,
           on_error: Callable[[Probe, str], None] | None = None) -> Replay:
    """Run the queries in DBeaver's order on one connection; time connect and the whole set."""
    result = Replay()
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for position, probe in enumerate(queries):
            try:
                rows = conn.execute(probe.sql, _bind(probe.params, known)).fetchall()
                result.answered += 1
                result.rows[position] = rows
            except psycopg.Error as exc:
                message = f"{exc.sqlstate}: {str(exc).splitlines()[0]}"
                result.failed.append((probe, message))
                if on_error is not None:
                    on_error(probe, message)
        result.seconds = time.perf_counter() - started
    return result


@pytest.fixture
def dbeaver(proxy):
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        names = make_schema(conn, uuid.uuid4().hex[:6])
        try:
            known = resolve(conn, names, "app")
            yield replay(proxy.dsn(), known), known
        finally:
            drop_schema(conn, names)


def test_every_dbeaver_query_is_answered(dbeaver):
    result, _ = dbeaver
    assert not result.failed, "\n".join(f"{p.source}: {m}\n  {p.sql}" for p, m in result.failed)
    assert result.answered == len(QUERIES)


def test_navigator_sees_the_backend_objects(dbeaver, proxy):
    result, known = dbeaver
    # c.oid, then c.* (oid, relname …)
    tables = {r[2] for r in result.rows[QUERIES.index(SCHEMA[0])]}
    assert {known["parent"], known["child"], known["view"]} <= tables
    # c.relname, then a.* (attrelid, attname, atttypid, attlen, attnum …); DBeaver's query
    # does not filter system columns (attnum < 0), PostgreSQL lists them first.
    columns = [r for r in result.rows[QUERIES.index(TABLE[0])] if r[5] > 0]
    assert [r[2] for r in columns] == ["id", "parent_id", "code", "amount"]
    # c.oid, then c.* (oid, conname, connamespace, contype …)
    constraint_types = sorted(r[4] for r in result.rows[QUERIES.index(TABLE[1])])
    # MySQL cannot tell a UNIQUE constraint from a unique index: each unique key is a UNIQUE
    # constraint, as MySQL's own TABLE_CONSTRAINTS lists it.
    assert constraint_types == sorted(["f", "p", "u"])
    # i.*, keys, c.relname and 9 more named columns
    index_names = {r[-10] for r in result.rows[QUERIES.index(TABLE[2])]}
    assert f"{known['child']}_amount" in index_names
    # db.oid, then db.* (oid, datname …)
    assert result.rows[QUERIES.index(CONNECT[0])][0][2] == "app"


def test_system_columns_listed_for_tables(dbeaver):
    result, _ = dbeaver
    rows = result.rows[QUERIES.index(TABLE[6])]
    attnums = [r[5] for r in rows]  # relname, attrelid, attname, atttypid, attlen, attnum
    assert attnums[:6] == [-6, -5, -4, -3, -2, -1]
    assert [r[2] for r in rows[:6]] == ["tableoid", "cmax", "xmax", "cmin", "xmin", "ctid"]


def test_constraint_keys_with_ordinality(dbeaver):
    result, known = dbeaver
    rows = result.rows[QUERIES.index(TABLE[7])]  # conname, k.attnum, k.n: one key column each
    assert all(n == 1 for _, _, n in rows) and len(rows) >= 2
    assert (f"{known['child']}_pkey", 1, 1) in rows


def test_keywords_missing_oid_and_session_functions(proxy):
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        rows = conn.execute("SELECT word, catcode, barelabel, catdesc, baredesc"
                            " FROM pg_catalog.pg_get_keywords()").fetchall()
        assert len(rows) > 450  # PostgreSQL 16 has 471; all categories, not only reserved
        words = {r[0]: r[1:] for r in rows}
        assert words["select"] == ("R", True, "reserved", "can be bare label")
        assert words["abort"] == ("U", True, "unreserved", "can be bare label")
        assert words["between"][:1] == ("C",) and words["left"][:1] == ("T",)
        assert words["year"][1:] == (False, "unreserved", "requires AS")
        # pg_inherits has no oid column: PostgreSQL says so rather than showing row ids.
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("select oid,* from pg_catalog.pg_inherits")
        row = conn.execute("SELECT current_database(), current_catalog, current_user,"
                           " session_user, current_role, user, current_schema").fetchone()
        assert row == ("app", "app", proxy.user, proxy.user, proxy.user, proxy.user, "public")
