"""PostgreSQL's built-in catalog rows: types, namespaces, access methods, roles.

OIDs are PostgreSQL 16's own (pg_type.dat, pg_namespace.dat, pg_am.dat):
asyncpg and pgjdbc cache type OIDs and look unknown ones up in pg_type, so
these must be the numbers a real server would give.
"""

from __future__ import annotations

import re

from pgproxy import pgtypes
from pgproxy.catalog.pg_relations import RELATIONS

PG_CATALOG_NS = 11
PG_TOAST_NS = 99
PUBLIC_NS = 2200
INFORMATION_SCHEMA_NS = 13183
BOOTSTRAP_SUPERUSER = 10
DATABASE_OWNER = 6171  # the predefined role pg_database_owner
HEAP_AM = 2
BTREE_AM = 403
DEFAULT_COLLATION = 100
PG_CLASS_RELID = 1259
PG_CONSTRAINT_RELID = 2606
PG_DATABASE_RELID = 1262
PG_NAMESPACE_RELID = 2615
PG_PROC_RELID = 1255
PG_REWRITE_RELID = 2618
PG_ATTRDEF_RELID = 2604
PG_TYPE_RELID = 1247
FIRST_NORMAL_OID = 16384

# (oid, name, typlen, byval, category, array oid, align, preferred)
_BASE = [
    (16, "bool", 1, True, "B", 1000, "c", True),
    (17, "bytea", -1, False, "U", 1001, "i", False),
    (18, "char", 1, True, "Z", 1002, "c", False),
    (19, "name", 64, False, "S", 1003, "c", False),
    (20, "int8", 8, True, "N", 1016, "d", False),
    (21, "int2", 2, True, "N", 1005, "s", False),
    (22, "int2vector", -1, False, "A", 1006, "i", False),
    (23, "int4", 4, True, "N", 1007, "i", False),
    (24, "regproc", 4, True, "N", 1008, "i", False),
    (25, "text", -1, False, "S", 1009, "i", True),
    (26, "oid", 4, True, "N", 1028, "i", True),
    (27, "tid", 6, False, "U", 1010, "s", False),
    (28, "xid", 4, True, "U", 1011, "i", False),
    (29, "cid", 4, True, "U", 1012, "i", False),
    (30, "oidvector", -1, False, "A", 1013, "i", False),
    (114, "json", -1, False, "U", 199, "i", False),
    (142, "xml", -1, False, "U", 143, "i", False),
    (194, "pg_node_tree", -1, False, "Z", 0, "i", False),
    (600, "point", 16, False, "G", 1017, "d", False),
    (601, "lseg", 32, False, "G", 1018, "d", False),
    (602, "path", -1, False, "G", 1019, "d", False),
    (603, "box", 32, False, "G", 1020, "d", False),
    (604, "polygon", -1, False, "G", 1027, "d", False),
    (628, "line", 24, False, "G", 629, "d", False),
    (650, "cidr", -1, False, "I", 651, "i", False),
    (700, "float4", 4, True, "N", 1021, "i", False),
    (701, "float8", 8, True, "N", 1022, "d", True),
    (705, "unknown", -2, False, "X", 0, "c", False),
    (718, "circle", 24, False, "G", 719, "d", False),
    (774, "macaddr8", 8, False, "U", 775, "i", False),
    (790, "money", 8, True, "N", 791, "d", False),
    (829, "macaddr", 6, False, "U", 1040, "i", False),
    (869, "inet", -1, False, "I", 1041, "i", True),
    (1033, "aclitem", 16, False, "U", 1034, "d", False),
    (1042, "bpchar", -1, False, "S", 1014, "i", False),
    (1043, "varchar", -1, False, "S", 1015, "i", False),
    (1082, "date", 4, True, "D", 1182, "i", False),
    (1083, "time", 8, True, "D", 1183, "d", False),
    (1114, "timestamp", 8, True, "D", 1115, "d", False),
    (1184, "timestamptz", 8, True, "D", 1185, "d", True),
    (1186, "interval", 16, False, "T", 1187, "d", True),
    (1266, "timetz", 12, False, "D", 1270, "d", False),
    (1560, "bit", -1, False, "V", 1561, "i", False),
    (1562, "varbit", -1, False, "V", 1563, "i", True),
    (1700, "numeric", -1, False, "N", 1231, "i", False),
    (1790, "refcursor", -1, False, "U", 2201, "i", False),
    (2202, "regprocedure", 4, True, "N", 2207, "i", False),
    (2203, "regoper", 4, True, "N", 2208, "i", False),
    (2204, "regoperator", 4, True, "N", 2209, "i", False),
    (2205, "regclass", 4, True, "N", 2210, "i", False),
    (2206, "regtype", 4, True, "N", 2211, "i", False),
    (4089, "regnamespace", 4, True, "N", 4090, "i", False),
    (4096, "regrole", 4, True, "N", 4097, "i", False),
    (4191, "regcollation", 4, True, "N", 4192, "i", False),
    (3734, "regconfig", 4, True, "N", 3735, "i", False),
    (3769, "regdictionary", 4, True, "N", 3770, "i", False),
    (2950, "uuid", 16, False, "U", 2951, "c", False),
    (3220, "pg_lsn", 8, True, "U", 3221, "d", False),
    (3614, "tsvector", -1, False, "U", 3643, "i", False),
    (3615, "tsquery", -1, False, "U", 3645, "i", False),
    (3642, "gtsvector", -1, False, "U", 3644, "i", False),
    (2970, "txid_snapshot", -1, False, "U", 2949, "d", False),
    (5038, "pg_snapshot", -1, False, "U", 5039, "d", False),
    (5069, "xid8", 8, True, "U", 271, "d", False),
    (3802, "jsonb", -1, False, "U", 3807, "i", False),
    (4072, "jsonpath", -1, False, "U", 4073, "i", False),
]

# (oid, name, subtype, array oid, multirange oid, multirange array oid)
_RANGES = [
    (oid, name, sub, array, multi, multi_array)
    for name, oid, array, sub, _multi_name, multi, multi_array in pgtypes.RANGES
]

# (oid, name, array oid)
_PSEUDO = [
    (2249, "record", 2287),
    (2275, "cstring", 1263),
    (2276, "any", 0),
    (2277, "anyarray", 0),
    (2278, "void", 0),
    (2279, "trigger", 0),
    (3838, "event_trigger", 0),
    (2280, "language_handler", 0),
    (2281, "internal", 0),
    (2283, "anyelement", 0),
    (2776, "anynonarray", 0),
    (3500, "anyenum", 0),
    (3115, "fdw_handler", 0),
    (325, "index_am_handler", 0),
    (3310, "tsm_handler", 0),
    (269, "table_am_handler", 0),
    (3831, "anyrange", 0),
    (4537, "anymultirange", 0),
    (5077, "anycompatible", 0),
    (5078, "anycompatiblearray", 0),
    (5079, "anycompatiblenonarray", 0),
    (5080, "anycompatiblerange", 0),
    (4538, "anycompatiblemultirange", 0),
    (32, "pg_ddl_command", 0),
]

# Input/output function names that do not follow '<name>in'/'<name>out'.
_UNDERSCORE_IO = {
    "date", "time", "timestamp", "timestamptz", "interval", "timetz", "numeric", "uuid",
    "json", "jsonb", "bit", "varbit", "tsvector", "tsquery", "xml", "macaddr", "macaddr8",
    "pg_lsn", "jsonpath", "txid_snapshot", "pg_snapshot", "cidr", "inet", "record", "range",
    "multirange", "enum",
}

TYPE_COLUMNS = (
    "oid typname typnamespace typowner typlen typbyval typtype typcategory typispreferred"
    " typisdefined typdelim typrelid typsubscript typelem typarray typinput typoutput"
    " typreceive typsend typmodin typmodout typanalyze typalign typstorage typnotnull"
    " typbasetype typtypmod typndims typcollation typdefaultbin typdefault typacl"
).split()

_COLLATABLE = {"name": 950, "text": 100, "bpchar": 100, "varchar": 100}
_TYPMOD_IO = {"bpchar": "bpchar", "varchar": "varchar", "numeric": "numeric", "time": "time",
              "timestamp": "timestamp", "timestamptz": "timestamptz", "timetz": "timetz",
              "interval": "interval", "bit": "bit", "varbit": "varbit"}


def _type_row(oid: int, name: str, typlen: int, byval: bool, typtype: str, category: str,
              preferred: bool, elem: int, array: int, io: str, align: str,
              relid: int = 0, subscript: str = "-") -> tuple:
    if io == "array":
        fin, fout, frecv, fsend = "array_in", "array_out", "array_recv", "array_send"
    elif io in _UNDERSCORE_IO:
        fin, fout, frecv, fsend = f"{io}_in", f"{io}_out", f"{io}_recv", f"{io}_send"
    else:
        fin, fout, frecv, fsend = f"{io}in", f"{io}out", f"{io}recv", f"{io}send"
    mod = _TYPMOD_IO.get(name)
    storage = "p" if typlen > 0 else "x"
    return (
        oid, name, PG_CATALOG_NS if oid < FIRST_NORMAL_OID else PUBLIC_NS, BOOTSTRAP_SUPERUSER,
        typlen, byval, typtype, category, preferred, True, ",", relid, subscript, elem, array,
        fin, fout, frecv, fsend, f"{mod}typmodin" if mod else "-",
        f"{mod}typmodout" if mod else "-", "-", align, storage, False, 0, -1, 0,
        _COLLATABLE.get(name, 0), None, None, None,
    )


def type_rows() -> list[tuple]:
    """Every built-in pg_type row, arrays included."""
    rows = []
    for oid, name, typlen, byval, category, array, align, preferred in _BASE:
        elem = 0
        subscript = "-"
        if name == "int2vector":
            elem, subscript = 21, "array_subscript_handler"
        elif name == "oidvector":
            elem, subscript = 26, "array_subscript_handler"
        elif name == "name":
            elem, subscript = 18, "raw_array_subscript_handler"
        rows.append(_type_row(oid, name, typlen, byval, "b", category, preferred, elem, array,
                              name, align, subscript=subscript))
        if array:
            rows.append(_type_row(array, "_" + name, -1, False, "b", "A", False, oid, 0, "array",
                                  "d" if align == "d" else "i",
                                  subscript="array_subscript_handler"))
    for oid, name, _sub, array, multi, multi_array in _RANGES:
        rows.append(_type_row(oid, name, -1, False, "r", "R", False, 0, array, "range", "d"))
        rows.append(_type_row(array, "_" + name, -1, False, "b", "A", False, oid, 0, "array",
                              "d", subscript="array_subscript_handler"))
        mname = name.replace("range", "multirange")
        rows.append(_type_row(multi, mname, -1, False, "m", "R", False, 0, multi_array,
                              "multirange", "d"))
        rows.append(_type_row(multi_array, "_" + mname, -1, False, "b", "A", False, multi, 0,
                              "array", "d", subscript="array_subscript_handler"))
    for oid, name, array in _PSEUDO:
        rows.append(_type_row(oid, name, 4 if name in ("void", "any") else -1, name == "void",
                              "p", "P", False, 0, array, name.replace("any", "any"), "i"))
        if array:
            rows.append(_type_row(array, "_" + name, -1, False, "b", "A", False, oid, 0,
                                  "array", "d", subscript="array_subscript_handler"))
    return rows


def range_rows() -> list[tuple]:
    return [(oid, sub, multi, 0, 0, "-", "-") for oid, _, sub, _, multi, _ in _RANGES]


NAMESPACES = [
    (PG_CATALOG_NS, "pg_catalog", BOOTSTRAP_SUPERUSER, None),
    (PG_TOAST_NS, "pg_toast", BOOTSTRAP_SUPERUSER, None),
    # As initdb leaves it since PostgreSQL 15 (pg_dump takes this for "nothing to dump").
    (PUBLIC_NS, "public", DATABASE_OWNER,
     "{pg_database_owner=UC/pg_database_owner,=U/pg_database_owner}"),
    (INFORMATION_SCHEMA_NS, "information_schema", BOOTSTRAP_SUPERUSER, None),
]

ACCESS_METHODS = [
    (HEAP_AM, "heap", "heap_tableam_handler", "t"),
    (BTREE_AM, "btree", "bthandler", "i"),
    (405, "hash", "hashhandler", "i"),
    (783, "gist", "gisthandler", "i"),
    (2742, "gin", "ginhandler", "i"),
    (4000, "spgist", "spghandler", "i"),
    (3580, "brin", "brinhandler", "i"),
]

TABLESPACES = [(1663, "pg_default", BOOTSTRAP_SUPERUSER, None, None),
               (1664, "pg_global", BOOTSTRAP_SUPERUSER, None, None)]

COLLATIONS = [
    (DEFAULT_COLLATION, "default", PG_CATALOG_NS, BOOTSTRAP_SUPERUSER, "d", True, -1, None, None,
     None, None, None),
    (950, "C", PG_CATALOG_NS, BOOTSTRAP_SUPERUSER, "c", True, -1, "C", "C", None, None, None),
    (951, "POSIX", PG_CATALOG_NS, BOOTSTRAP_SUPERUSER, "c", True, -1, "POSIX", "POSIX", None,
     None, None),
]

LANGUAGES = [
    (12, "internal", BOOTSTRAP_SUPERUSER, False, False, 0, 0, 2246, None),
    (13, "c", BOOTSTRAP_SUPERUSER, False, False, 0, 0, 2247, None),
    (14, "sql", BOOTSTRAP_SUPERUSER, False, True, 0, 0, 2248, None),
    (13565, "plpgsql", BOOTSTRAP_SUPERUSER, True, True, 13562, 13563, 13564, None),
]

EXTENSIONS = [(13566, "plpgsql", BOOTSTRAP_SUPERUSER, PG_CATALOG_NS, False, "1.0", None, None)]

# pg_get_keywords(): PostgreSQL's keyword list by category (read from a PostgreSQL 15 server,
# plus the words 16 added: SYSTEM_USER and the SQL/JSON constructors and predicates).
_KEYWORDS_BY_CATCODE = {
    "U": (
        "abort absent absolute access action add admin after aggregate also alter always "
        "asensitive assertion assignment at atomic attach attribute backward before begin breadth "
        "by cache call called cascade cascaded catalog chain characteristics checkpoint class "
        "close cluster columns comment comments commit committed compression configuration "
        "conflict connection constraints content continue conversion copy cost csv cube current "
        "cursor cycle data database day deallocate declare defaults deferred definer delete "
        "delimiter delimiters depends depth detach dictionary disable discard document domain "
        "double drop each enable encoding encrypted enum escape event exclude excluding exclusive "
        "execute explain expression extension external family filter finalize first following "
        "force format forward function functions generated global granted groups handler header "
        "hold hour identity if immediate immutable implicit import include including increment "
        "index indexes inherit inherits inline input insensitive insert instead invoker isolation "
        "key keys label language large last leakproof level listen load local location lock "
        "locked logged mapping match matched materialized maxvalue merge method minute minvalue "
        "mode month move name names new next nfc nfd nfkc nfkd no normalized nothing notify "
        "nowait nulls object of off oids old operator option options ordinality others over "
        "overriding owned owner parallel parameter parser partial partition passing password "
        "plans policy preceding prepare prepared preserve prior privileges procedural procedure "
        "procedures program publication quote range read reassign recheck recursive ref "
        "referencing refresh reindex relative release rename repeatable replace replica reset "
        "restart restrict return returns revoke role rollback rollup routine routines rows rule "
        "savepoint scalar schema schemas scroll search second security sequence sequences "
        "serializable server session set sets share show simple skip snapshot sql stable "
        "standalone start statement statistics stdin stdout storage stored strict strip "
        "subscription support sysid system tables tablespace temp template temporary text ties "
        "transaction transform trigger truncate trusted type types uescape unbounded uncommitted "
        "unencrypted unknown unlisten unlogged until update vacuum valid validate validator value "
        "varying version view views volatile whitespace within without work wrapper write xml "
        "year yes zone"
    ),
    "R": (
        "all analyse analyze and any array as asc asymmetric both case cast check collate column "
        "constraint create current_catalog current_date current_role current_time "
        "current_timestamp current_user default deferrable desc distinct do else end except false "
        "fetch for foreign from grant group having in initially intersect into lateral leading "
        "limit localtime localtimestamp not null offset on only or order placing primary "
        "references returning select session_user some symmetric system_user table then to "
        "trailing true union unique user using variadic when where window with"
    ),
    "T": (
        "authorization binary collation concurrently cross current_schema freeze full ilike inner "
        "is isnull join left like natural notnull outer overlaps right similar tablesample "
        "verbose"
    ),
    "C": (
        "between bigint bit boolean char character coalesce dec decimal exists extract float "
        "greatest grouping inout int integer interval json json_array json_arrayagg json_object "
        "json_objectagg least national nchar none normalize nullif numeric out overlay position "
        "precision real row setof smallint substring time timestamp treat trim values varchar "
        "xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi "
        "xmlroot xmlserialize xmltable"
    ),
}
# Keywords that need AS before them as a column label (barelabel = false).
_NOT_BARE_LABELS = frozenset((
    "array as char character create day except fetch filter for from grant group having hour "
    "intersect into isnull limit minute month notnull offset on order over overlaps precision "
    "returning second to union varying where window with within without year"
).split())
_CATDESC = {"U": "unreserved", "C": "unreserved (cannot be function or type name)",
            "T": "reserved (can be function or type name)", "R": "reserved"}
# (word, catcode, barelabel, catdesc, baredesc), sorted by word as PostgreSQL returns them.
KEYWORDS = sorted(
    (word, code, word not in _NOT_BARE_LABELS, _CATDESC[code],
     "requires AS" if word in _NOT_BARE_LABELS else "can be bare label")
    for code, words in _KEYWORDS_BY_CATCODE.items() for word in words.split()
)

# Keywords an identifier must be quoted as (quote_ident quotes all but the unreserved).
RESERVED_WORDS = frozenset(word for word, code, *_ in KEYWORDS if code != "U")


def quote_ident(name: str) -> str:
    """An identifier as PostgreSQL's quote_ident writes it."""
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) and name not in RESERVED_WORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


# The catalog relations' own OIDs (pg_class.dat): 'pg_class'::regclass, tableoid.
CATALOG_RELATIONS = {name: oid for name, (oid, _kind, _columns) in RELATIONS.items()}
