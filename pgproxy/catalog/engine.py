"""The catalog engine: an in-memory SQLite holding pg_catalog and information_schema.

Built from one backend's Schema plus PostgreSQL's built-in rows; queries run
as real SQL over real relations (translated by translate.py), with
PostgreSQL's catalog functions registered as SQLite functions. One engine per
backend, shared by its sessions behind a lock; a schema change builds a new
engine and swaps it in.
"""

from __future__ import annotations

import datetime
import functools
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

import apsw

from pgproxy import errors, pgtypes
from pgproxy.backends.base import Column
from pgproxy.catalog import builtins as b
from pgproxy.catalog import comments, composites, enums, functions, sequences
from pgproxy.catalog.common import (
    Context,
    Names,
    array_text,
    format_type,
    ident,
    parse_array,
    split_name,
    stable_oid,
)
from pgproxy.catalog.deparse import relations_read
from pgproxy.catalog.introspect import Schema, TableInfo
from pgproxy.catalog.relations import (
    INFORMATION_SCHEMA,
    PG_CATALOG,
    PG_VIEWS,
    columns_of,
)
from pgproxy.settings import PARAMS
from pgproxy.types import CODECS

# information_schema columns PostgreSQL fills with the current database's name.
DATABASE_COLUMNS = frozenset({
    "catalog_name", "table_catalog", "udt_catalog", "constraint_catalog",
    "unique_constraint_catalog", "sequence_catalog", "specific_catalog", "routine_catalog",
})
_ROWS = "pgproxy_rows_"  # the table behind each information_schema view
_INT_TYPES = {"oid", "int2", "int4", "int8", "xid", "cid", "bool", "regproc"}


_TYPE_OIDS = {row[1]: row[0] for row in b.type_rows()}


def type_oid(name: str) -> int:
    """A relation column's declared pg type name to its OID."""
    if name.startswith("_"):
        return _TYPE_OIDS.get(name, pgtypes.TEXT_ARRAY)
    return _TYPE_OIDS.get(name, pgtypes.TEXT)


_STORAGE = {"float4": "REAL", "float8": "REAL"}
# A table's system columns: (attnum, name, type OID, attlen, attbyval, attalign).
_SYSTEM_COLUMNS = [
    (-6, "tableoid", pgtypes.OID, 4, True, "i"), (-5, "cmax", 29, 4, True, "i"),
    (-4, "xmax", 28, 4, True, "i"), (-3, "cmin", 29, 4, True, "i"),
    (-2, "xmin", 28, 4, True, "i"), (-1, "ctid", 27, 6, False, "s"),
]


def _storage(pgtype: str) -> str:
    if pgtype in _INT_TYPES:
        return "INTEGER"
    return _STORAGE.get(pgtype, "TEXT")


class CatalogDB:
    """One backend's catalog, loaded into an in-memory SQLite."""

    def __init__(self, schema: Schema, backend_name: str) -> None:
        self.schema = schema
        self.lock = threading.Lock()
        self.ctx = Context()
        self.names = Names()
        self.column_types: dict[tuple[str, str], int] = {}  # (relation, column) -> pg type OID
        self.relation_columns: dict[str, dict[str, int]] = {}
        self.db = apsw.Connection(":memory:")
        self.db.execute("ATTACH ':memory:' AS pg_catalog; ATTACH ':memory:' AS information_schema;"
                        " PRAGMA case_sensitive_like = ON;")
        self._create()
        functions.register(self)
        self._load(schema, backend_name)

    # ------------------------------------------------------------ relations

    def _create(self) -> None:
        for db, relations in (("pg_catalog", PG_CATALOG), ("information_schema",
                                                            INFORMATION_SCHEMA)):
            for name, spec in relations.items():
                cols = columns_of(spec)
                self._remember(name, cols)
                body = ", ".join(f'"{c}" {_storage(t)}' for c, t in cols)
                if db == "pg_catalog":
                    self.db.execute(f'CREATE TABLE {db}."{name}" ({body})')
                    continue
                # The rows are the same for every session; the *_catalog columns are the
                # asking session's database name, as PostgreSQL fills them.
                self._remember(_ROWS + name, cols)
                self.db.execute(f'CREATE TABLE {db}."{_ROWS}{name}" ({body})')
                select = ", ".join(
                    f'pg_current_database() AS "{c}"' if c in DATABASE_COLUMNS else f'"{c}"'
                    for c, _ in cols)
                self.db.execute(
                    f'CREATE VIEW {db}."{name}" AS SELECT {select} FROM "{_ROWS}{name}"')
        for name, (spec, select) in PG_VIEWS.items():
            cols = columns_of(spec)
            self._remember(name, cols)
            names = ", ".join(f'"{c}"' for c, _ in cols)
            # A view in an attached database may only name that database's tables, unqualified.
            select = select.replace("pg_catalog.", "")
            self.db.execute(f'CREATE VIEW pg_catalog."{name}" ({names}) AS {select}')

    def _remember(self, name: str, cols: list[tuple[str, str]]) -> None:
        types = {c: type_oid(t) for c, t in cols}
        self.relation_columns[name] = types
        for c, oid in types.items():
            self.column_types[(name, c)] = oid

    def insert(self, relation: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        db = "pg_catalog"
        if relation in INFORMATION_SCHEMA:
            db, relation = "information_schema", _ROWS + relation
        n = len(rows[0])
        # The leading columns: a relation may have more than a row spells (pg_relations.py).
        names = ", ".join(f'"{c}"' for c in list(self.relation_columns[relation])[:n])
        self.db.executemany(
            f'INSERT INTO {db}."{relation}" ({names}) VALUES ({", ".join("?" * n)})', rows
        )

    def replace_rows(self, relation: str, rows: Sequence[Sequence[Any]]) -> None:
        self.db.execute(f'DELETE FROM pg_catalog."{relation}"')
        self.insert(relation, rows)

    # ------------------------------------------------------------ loading

    def _load(self, schema: Schema, backend_name: str) -> None:
        names = self.names
        taken: set[int] = set()
        types = b.type_rows()
        for row in types:
            taken.add(row[0])
            names.types[row[0]] = ("pg_catalog", row[1])
            names.type_by_name[row[1]] = row[0]
        for oid, nsp, *_ in b.NAMESPACES:
            names.namespaces[oid] = nsp
            taken.add(oid)
        names.roles[b.BOOTSTRAP_SUPERUSER] = "postgres"
        names.roles[b.DATABASE_OWNER] = "pg_database_owner"
        self.insert("pg_namespace", b.NAMESPACES)
        self.insert("pg_am", b.ACCESS_METHODS)
        self.insert("pg_tablespace", b.TABLESPACES)
        self.insert("pg_collation", b.COLLATIONS)
        self.insert("pg_language", b.LANGUAGES)
        self.insert("pg_extension", b.EXTENSIONS)
        self.insert("pg_range", b.range_rows())
        self.insert("pg_get_keywords", b.KEYWORDS)
        self.insert("pg_authid", [
            self._role_row(b.BOOTSTRAP_SUPERUSER, "postgres"),
            (b.DATABASE_OWNER, "pg_database_owner", False, True, False, False, False, False,
             False, -1, None, None)])
        descriptions = [(b.PUBLIC_NS, b.PG_NAMESPACE_RELID, 0, "standard public schema")]

        enums.load(self, schema, taken, types)
        composites.load(self, schema, taken, types)
        for t in schema.tables:  # columns made with an enum type show that type
            for c in t.columns:
                if c.type_name in names.type_by_name:
                    c.type_oid, c.typmod = names.type_by_name[c.type_name], -1
        classes, attributes, attrdefs, indexes, constraints = [], [], [], [], []
        info_tables, info_columns, info_views, info_tc, info_kcu, info_rc = [], [], [], [], [], []
        table_oids: dict[str, int] = {}
        sorted_tables = sorted(schema.tables, key=lambda t: t.name)
        for t in sorted_tables:
            table_oids[t.name] = stable_oid(f"public.{t.name}", taken)
        pk_index: dict[str, tuple[int, str]] = {}
        # PostgreSQL enforces foreign keys with triggers, and psql only looks for
        # foreign keys on a table that has some.
        with_triggers = {t.name for t in sorted_tables if t.foreign_keys} | {
            fk.ref_table for t in sorted_tables for fk in t.foreign_keys}
        for t in sorted_tables:
            oid = table_oids[t.name]
            rowtype = stable_oid(f"type:public.{t.name}", taken)
            names.relations[oid] = ("public", t.name, t.kind)
            names.by_name[("public", t.name)] = oid
            names.types[rowtype] = ("public", t.name)
            names.type_by_name[t.name] = rowtype
            types.append(b._type_row(rowtype, t.name, -1, False, "c", "C", False, 0, 0, "record",
                                     "d", relid=oid))
            classes.append(self.class_row(oid, t.name, t.kind, rowtype, len(t.columns),
                                           bool(t.indexes), b.HEAP_AM if t.kind == "r" else 0,
                                           t.name in with_triggers, len(t.checks)))
            attnums = {}
            if t.kind == "r":
                attributes.extend(self._system_attributes(oid))
            if t.comment:
                descriptions.append((oid, b.PG_CLASS_RELID, 0, t.comment))
            for i, c in enumerate(t.columns, 1):
                attnums[c.name] = i
                if c.comment:
                    descriptions.append((oid, b.PG_CLASS_RELID, i, c.comment))
                expression = c.generated or c.default
                attributes.append(self.attribute_row(oid, c.name, c.type_oid, i, c.typmod,
                                                      c.notnull, expression is not None,
                                                      bool(c.generated)))
                if expression is not None:
                    attrdefs.append((stable_oid(f"attrdef:{t.name}.{c.name}", taken), oid, i,
                                     expression))
                info_columns.append(self._info_column(t, c, i))
            if t.kind == "v":
                names.viewdefs[oid] = t.view_definition or ""
                info_views.append((self.ctx.database, "public", t.name, t.view_definition,
                                   "NONE", "NO", "NO", "NO", "NO", "NO"))
            info_tables.append((None, "public", t.name,
                                "BASE TABLE" if t.kind == "r" else "VIEW", None, None, None,
                                None, None, "YES" if t.kind == "r" else "NO", "NO", None))
            for ix in t.indexes:
                ioid = stable_oid(f"index:public.{ix.name}", taken)
                names.relations[ioid] = ("public", ix.name, "i")
                names.by_name[("public", ix.name)] = ioid
                desc = ix.descending or [False] * len(ix.columns)
                exprs = ix.expressions or [None] * len(ix.columns)
                keys_sql = ", ".join(_index_key(c, e) + (" DESC" if d else "")
                                     for c, e, d in zip(ix.columns, exprs, desc, strict=True))
                names.indexdefs[ioid] = (
                    f"CREATE {'UNIQUE ' if ix.unique else ''}INDEX {ident(ix.name)} ON"
                    f" public.{ident(t.name)}"
                    f" USING btree ({keys_sql})"
                    + (f" WHERE ({ix.predicate})" if ix.predicate else ""),
                    [_index_key(c, e) for c, e in zip(ix.columns, exprs, strict=True)],
                )
                classes.append(self.class_row(ioid, ix.name, "i", 0, len(ix.columns), False,
                                               b.BTREE_AM))
                keys = [0 if e else attnums.get(c, 0) for c, e in zip(ix.columns, exprs,
                                                                       strict=True)]
                for j, c in enumerate(ix.columns, 1):
                    col = next((x for x in t.columns if x.name == c), None)
                    attributes.append(self.attribute_row(
                        ioid, c, col.type_oid if col else pgtypes.TEXT, j,
                        col.typmod if col else -1, False, False))
                n = len(keys)
                indexes.append((ioid, oid, n, n, ix.unique, False, ix.primary, False, True,
                                False, True, False, True, True, False,
                                " ".join(map(str, keys)), " ".join(["0"] * n),
                                " ".join(["1978"] * n),
                                # indoption: DESC (1) with its default NULLS FIRST (2)
                                " ".join("3" if d else "0" for d in desc),
                                "; ".join(e for e in exprs if e) or None, ix.predicate))
                if ix.primary or ix.constraint:
                    coid = stable_oid(f"constraint:public.{ix.name}", taken)
                    contype = "p" if ix.primary else "u"
                    cols = ", ".join(ident(c) for c in ix.columns)
                    names.constraintdefs[coid] = (
                        f"{'PRIMARY KEY' if ix.primary else 'UNIQUE'} ({cols})")
                    constraints.append(self._constraint_row(
                        coid, ix.name, contype, oid, ioid, 0, keys, [], "a", "a"))
                    if ix.primary:
                        pk_index[t.name] = (ioid, ix.name)
                    info_tc.append((None, "public", ix.name, None, "public", t.name,
                                    "PRIMARY KEY" if ix.primary else "UNIQUE", "NO", "NO", "YES",
                                    "YES"))
                    for pos, c in enumerate(ix.columns, 1):
                        info_kcu.append((None, "public", ix.name, None, "public", t.name, c, pos,
                                         None))
        for t in sorted_tables:
            oid = table_oids[t.name]
            attnums = {c.name: i for i, c in enumerate(t.columns, 1)}
            for fk in t.foreign_keys:
                ref = next((x for x in schema.tables if x.name == fk.ref_table), None)
                ref_oid = table_oids.get(fk.ref_table, 0)
                ref_nums = {c.name: i for i, c in enumerate(ref.columns, 1)} if ref else {}
                coid = stable_oid(f"constraint:public.{t.name}.{fk.name}", taken)
                actions = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
                           "d": "SET DEFAULT"}
                tail = "".join(
                    f" ON {verb} {actions[code]}"
                    for verb, code in (("UPDATE", fk.on_update), ("DELETE", fk.on_delete))
                    if code != "a"
                )
                # The referenced table is named as search_path lets it be, at call time.
                names.constraintdefs[coid] = (
                    f"FOREIGN KEY ({', '.join(ident(c) for c in fk.columns)}) REFERENCES ",
                    fk.ref_table,
                    f"({', '.join(ident(c) for c in fk.ref_columns)}){tail}")
                constraints.append(self._constraint_row(
                    coid, fk.name, "f", oid, pk_index.get(fk.ref_table, (0, ""))[0], ref_oid,
                    [attnums.get(c, 0) for c in fk.columns],
                    [ref_nums.get(c, 0) for c in fk.ref_columns], fk.on_update, fk.on_delete))
                info_tc.append((None, "public", fk.name, None, "public", t.name, "FOREIGN KEY",
                                "NO", "NO", "YES", None))
                for pos, c in enumerate(fk.columns, 1):
                    info_kcu.append((None, "public", fk.name, None, "public", t.name, c, pos,
                                     pos))
                info_rc.append((None, "public", fk.name, None, "public",
                                pk_index.get(fk.ref_table, (0, None))[1], "NONE",
                                actions[fk.on_update], actions[fk.on_delete]))
        for t in sorted_tables:
            attnums = {c.name: i for i, c in enumerate(t.columns, 1)}
            for cname, definition, cols in t.checks:
                coid = stable_oid(f"constraint:public.{t.name}.{cname}", taken)
                names.constraintdefs[coid] = definition
                constraints.append(self._constraint_row(
                    coid, cname, "c", table_oids[t.name], 0, 0,
                    [attnums.get(c, 0) for c in cols], [], "a", "a"))
                info_tc.append((None, "public", cname, None, "public", t.name, "CHECK",
                                "NO", "NO", "YES", None))
        sequences.load(self, schema, taken, table_oids, classes)
        comments.load(self, schema)
        self.insert("pg_type", types)
        self.insert("pg_class", classes)
        self.insert("pg_attribute", attributes)
        self.insert("pg_attrdef", attrdefs)
        self.insert("pg_index", indexes)
        self.insert("pg_constraint", constraints)
        self.insert("pg_description", descriptions)
        self._view_rules(sorted_tables, table_oids, taken)
        self._default_dependencies(attrdefs)
        self.insert("tables", info_tables)
        self.insert("columns", info_columns)
        self.insert("views", info_views)
        self.insert("table_constraints", info_tc)
        self.insert("key_column_usage", info_kcu)
        self.insert("referential_constraints", info_rc)
        self.insert("schemata", [(None, "public", "postgres", None, None, None, None),
                                  (None, "pg_catalog", "postgres", None, None, None, None),
                                  (None, "information_schema", "postgres", None, None, None,
                                   None)])
        self._taken = taken
        self._databases: set[str] = set()
        self._roles: set[str] = {"postgres"}

    def _view_rules(self, tables: list[TableInfo], oids: dict[str, int], taken: set[int]) -> None:
        """Each view's _RETURN rule and what it reads, as pg_rewrite and pg_depend rows:
        pg_dump orders a view after the relations its rule depends on."""
        rules, depends = [], []
        for t in tables:
            if t.kind != "v":
                continue
            view = oids[t.name]
            rule = stable_oid(f"rule:public.{t.name}", taken)
            rules.append((rule, "_RETURN", view, "1", "O", True, None, None))
            depends.append((b.PG_REWRITE_RELID, rule, 0, b.PG_CLASS_RELID, view, 0, "i"))
            for name in sorted(relations_read(t.view_definition or "")):
                if name in oids and name != t.name:
                    depends.append((b.PG_REWRITE_RELID, rule, 0, b.PG_CLASS_RELID, oids[name],
                                    0, "n"))
        self.insert("pg_rewrite", rules)
        self.insert("pg_depend", depends)

    def _default_dependencies(self, attrdefs: list[tuple]) -> None:
        """A default's pg_depend row on each sequence it names (nextval('s'::regclass)):
        pg_dump then sets a serial's default after creating its sequence."""
        depends = []
        for oid, _relid, _num, expression in attrdefs:
            for name in re.findall(r"'((?:[^']|'')+)'::regclass", str(expression)):
                schema, _, bare = split_name(name.replace("''", "'"))
                target = self.names.by_name.get((schema or "public", bare))
                if target is not None and self.names.relations[target][2] == "S":
                    depends.append((b.PG_ATTRDEF_RELID, oid, 0, b.PG_CLASS_RELID, target, 0,
                                    "n"))
        self.insert("pg_depend", depends)

    def _role_row(self, oid: int, name: str) -> tuple:
        return (oid, name, True, True, True, True, True, False, False, -1, None, None)

    def class_row(self, oid: int, name: str, kind: str, rowtype: int, natts: int,
                   hasindex: bool, am: int, triggers: bool = False, checks: int = 0) -> tuple:
        # relpages, reltuples as a fresh PostgreSQL 16 reports them: a table never analyzed
        # -1 tuples, a btree index its metapage and 0 tuples (pgjdbc's getIndexInfo reads both).
        pages, tuples = (1, 0.0) if kind == "i" else (0, -1.0)
        return (oid, name, b.PUBLIC_NS, rowtype, 0, b.BOOTSTRAP_SUPERUSER, am, oid, 0, pages,
                tuples, 0, 0, hasindex, False, "p", kind, natts, checks, kind == "v", triggers,
                False, False, False, True, "d" if kind == "r" else "n", False, 0, 0, 0, None,
                None, None)

    def attribute_row(self, relid: int, name: str, type_oid: int, num: int, typmod: int,
                      notnull: bool, hasdef: bool, generated: bool = False) -> tuple:
        info = pgtypes.TYPES.get(type_oid)
        typlen = info.size if info else self.names.type_lengths.get(type_oid, -1)
        collation = b.DEFAULT_COLLATION if type_oid in (
            pgtypes.TEXT, pgtypes.VARCHAR, pgtypes.BPCHAR) else 0
        return (relid, name, type_oid, typlen, num, typmod, 0, 0 < typlen <= 8,
                "i", "p" if typlen > 0 else "x", "", notnull, hasdef, False, "",
                "s" if generated else "", False, True, 0, -1, collation, None, None, None, None)

    def _system_attributes(self, relid: int) -> list[tuple]:
        """A table's system columns (attnum < 0), as PostgreSQL lists them in pg_attribute."""
        rows = []
        for num, name, type_oid, typlen, byval, align in _SYSTEM_COLUMNS:
            rows.append((relid, name, type_oid, typlen, num, -1, 0, byval, align, "p", "", True,
                         False, False, "", "", False, True, 0, -1, 0, None, None, None, None))
        return rows

    def _constraint_row(self, oid: int, name: str, contype: str, relid: int, indid: int,
                        frelid: int, keys: list[int], fkeys: list[int], upd: str,
                        dele: str, expression: str | None = None) -> tuple:
        is_fk = contype == "f"
        return (oid, name, b.PUBLIC_NS, contype, False, False, True, relid, 0, indid, 0, frelid,
                upd if is_fk else " ", dele if is_fk else " ", "s" if is_fk else " ", True, 0,
                True, array_text(keys),
                array_text(fkeys) if is_fk else None, None, None, None, None, None, expression)

    def _info_column(self, t: TableInfo, c: Any, num: int) -> tuple:
        name = format_type(c.type_oid, c.typmod, self.names) or "text"
        data_type = re.sub(r"\(.*\)", "", name)
        udt = pgtypes.TYPES[c.type_oid].name if c.type_oid in pgtypes.TYPES else "text"
        char_len = c.typmod - 4 if c.type_oid in (pgtypes.VARCHAR, pgtypes.BPCHAR) and \
            c.typmod >= 0 else None
        precision = scale = None
        if c.type_oid == pgtypes.NUMERIC and c.typmod >= 0:
            precision, scale = (c.typmod - 4) >> 16, (c.typmod - 4) & 0xFFFF
        elif c.type_oid in (pgtypes.INT2, pgtypes.INT4, pgtypes.INT8):
            precision = {pgtypes.INT2: 16, pgtypes.INT4: 32, pgtypes.INT8: 64}[c.type_oid]
            scale = 0
        return (None, "public", t.name, c.name, num, c.default,
                "NO" if c.notnull else "YES", data_type, char_len, None, precision,
                2 if precision is not None else None, scale, None, None, None, None, None, None,
                None, None, None, None, None, None, None, "pg_catalog", udt, None, None, None,
                None, str(num), "NO", "NO", None, None, None, None, None, "NO",
                "ALWAYS" if c.generated else "NEVER", c.generated,
                "YES" if t.kind == "r" else "NO")

    # ------------------------------------------------------------ per-session rows

    def ensure_session(self, user: str, database: str) -> None:
        """pg_database and pg_authid rows for whoever connects (names are the client's)."""
        if database not in self._databases:
            self._databases.add(database)
            oid = stable_oid(f"database:{database}", self._taken)
            self.insert("pg_database", [(oid, database, b.BOOTSTRAP_SUPERUSER, 6, "c", False,
                                          True, -1, 0, 0, 1663, "C.UTF-8", "C.UTF-8", None, None,
                                          None, None)])
            self.insert("schemata", [])
        if user not in self._roles:
            self._roles.add(user)
            oid = stable_oid(f"role:{user}", self._taken)
            self.names.roles[oid] = user
            self.insert("pg_authid", [self._role_row(oid, user)])

    # ------------------------------------------------------------ functions

    @functools.cached_property
    def sequence_names(self) -> frozenset[str]:
        """The sequences of public (relkind 'S'), which a SELECT may read as relations."""
        return frozenset(name for ns, name, kind in self.names.relations.values()
                         if kind == "S" and ns == "public")

    def search_path(self) -> list[str]:
        """The session's search_path: the schemas that exist, in order ("$user" is one
        only where a schema has the user's name)."""
        value = self.setting("search_path")
        if value is None:  # no session (a test's bare engine): PostgreSQL's default
            value = PARAMS["search_path"].default
        known = set(self.names.namespaces.values())
        out = []
        for part in re.findall(r'"(?:[^"]|"")*"|[^,\s][^,]*', value):
            part = part.strip()
            name = part[1:-1].replace('""', '"') if part.startswith('"') else part.lower()
            if name == "$user":
                name = self.ctx.user
            if name in known and name not in out:
                out.append(name)
        return out

    def visible(self, schema: str) -> bool:
        """Whether a name in `schema` needs no qualifier (pg_catalog is always searched)."""
        return schema == "pg_catalog" or schema in self.search_path()

    def setting(self, name: Any) -> Any:
        if self.ctx.settings is None:
            return None
        try:
            return self.ctx.settings(str(name))
        except errors.PgError:
            return None

    # ------------------------------------------------------------ queries

    def query(self, sql: str, params: Sequence[Any],
              projection_types: Sequence[int | None]) -> tuple[list[Column], list[tuple]]:
        """Run a translated query; columns typed from relation columns, then the AST's guess."""
        cursor = self.db.cursor()
        description: list[tuple] = []

        def trace(c: apsw.Cursor, _sql: str, _bindings: Any) -> bool:
            description.extend(c.description_full)
            return True

        cursor.exec_trace = trace
        try:
            rows = list(cursor.execute(sql, tuple(params)))
        except apsw.SQLError as exc:
            raise _map_error(exc) from None
        except apsw.Error as exc:
            raise errors.InternalError(f"catalog query failed: {exc}") from None
        columns = []
        converters: list[Callable[[Any], Any] | None] = []
        for i, (name, _decl, _dbname, table, origin) in enumerate(description):
            oid = projection_types[i] if i < len(projection_types) else None
            if oid is None and table:
                oid = self.column_types.get((table, origin))
            if oid is None and not table and name in DATABASE_COLUMNS:
                oid = pgtypes.NAME  # an information_schema view's current database
            if oid is None:
                oid = _infer([r[i] for r in rows[:32]])
            if oid == pgtypes.REGPROC:
                oid = pgtypes.TEXT  # held as its name ('int4in', '-'), read as text
            columns.append(Column(name, oid, pgtypes.TYPES[oid].size if oid in pgtypes.TYPES
                                  else -1))
            converters.append(_converter(oid))
        if any(converters):
            rows = [tuple(f(v) if f and v is not None else v for f, v in
                          zip(converters, r, strict=True)) for r in rows]
        return columns, rows


def _converter(oid: int) -> Callable[[Any], Any] | None:
    if oid == pgtypes.TIMESTAMPTZ:
        return _instant
    if oid == pgtypes.BOOL:
        return lambda v: v if isinstance(v, bool) else bool(v) if isinstance(v, int) else (
            str(v).lower() in ("t", "true", "1"))
    if oid in (pgtypes.INT2VECTOR, pgtypes.OIDVECTOR) or oid in _ARRAY_OIDS:
        return parse_array
    if oid in (pgtypes.INT2, pgtypes.INT4, pgtypes.INT8, pgtypes.OID):
        return lambda v: int(v) if isinstance(v, int | float) or str(v).lstrip("-").isdigit() \
            else v
    return None


# Arrays the wire has a codec for; any other (aclitem[]) keeps PostgreSQL's text form.
def _instant(value: Any) -> Any:
    """A timestamptz held as ISO text (session rows such as pg_cursors.creation_time)."""
    if isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


_ARRAY_OIDS = {row[0] for row in b.type_rows() if row[7] == "A" and row[13]} & set(CODECS)


def _infer(values: list[Any]) -> int:
    for v in values:
        if v is None:
            continue
        if isinstance(v, bool):
            return pgtypes.BOOL
        if isinstance(v, int):
            return pgtypes.INT8
        if isinstance(v, float):
            return pgtypes.FLOAT8
        if isinstance(v, bytes):
            return pgtypes.BYTEA
        return pgtypes.TEXT
    return pgtypes.TEXT


def _map_error(exc: apsw.SQLError) -> errors.PgError:
    text = str(exc).removeprefix("SQLError: ")
    if "no such table" in text:
        name = text.split(":", 1)[-1].strip()
        return errors.UndefinedTable(f'relation "{name}" does not exist')
    if "no such column" in text:
        name = text.split(":", 1)[-1].strip()
        return errors.UndefinedColumn(f'column "{name}" does not exist')
    if "no such function" in text:
        name = text.split(":", 1)[-1].strip()
        return errors.UndefinedFunction(f"function {name} does not exist")
    return errors.SyntaxError(f"catalog query: {text}")




def _index_key(column: str, expression: str | None) -> str:
    """An index key as pg_get_indexdef writes it: a column, a call, or (an expression)."""
    if expression is None:
        return ident(column)
    return expression if re.fullmatch(r"\w+\(.*\)", expression, re.S) else f"({expression})"


