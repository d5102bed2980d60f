"""COMMENT ON in the catalog: pg_description rows, and what obj_description() and
col_description() answer."""

from __future__ import annotations

from pgproxy.catalog import builtins as b
from pgproxy.catalog.common import CatalogEngine
from pgproxy.catalog.introspect import Schema

_RELATIONS = {"table", "view", "materialized view", "foreign table", "sequence", "index",
              "column"}


def load(catalog: CatalogEngine, schema: Schema) -> None:
    """Run after tables, sequences and types have their OIDs."""
    names = catalog.names
    attnums = {(t.name, c.name): i for t in schema.tables for i, c in enumerate(t.columns, 1)}
    rows = []
    for kind, name, sub, text in schema.comments:
        if kind in _RELATIONS:
            oid, classoid = names.by_name.get(("public", name)), b.PG_CLASS_RELID
        elif kind in ("type", "domain"):
            oid, classoid = names.type_by_name.get(name), b.PG_TYPE_RELID
        elif kind == "schema" and name == "public":
            oid, classoid = b.PUBLIC_NS, b.PG_NAMESPACE_RELID
        else:
            continue  # EXTENSION, FUNCTION …: nothing here for a comment to describe
        subid = attnums.get((name, sub), 0) if kind == "column" else 0
        if oid is None or (kind == "column" and not subid):
            continue
        names.descriptions[(oid, subid)] = text
        rows.append((oid, classoid, subid, text))
    catalog.insert("pg_description", rows)
