"""Schemas and composite types made through the proxy, in the catalog: pg_namespace and
information_schema.schemata rows for each schema; for each composite type a pg_type row
(typtype 'c') and its array type, a pg_class row (relkind 'c') and pg_attribute rows for
its fields, as PostgreSQL has them; the type codecs (pgproxy/types) learn its fields
(binary)."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import ParseError

from dialects.typeoids import name_oid
from dialects.usertypes import type_name
from pgproxy import pgtypes
from pgproxy.catalog import builtins as b
from pgproxy.catalog.common import CatalogEngine, format_type, stable_oid
from pgproxy.catalog.introspect import Schema
from pgproxy.types import register_composite

_NSPNAME = 2  # pg_type.typnamespace's position in a pg_type row; pg_class's relnamespace too


def load_schemas(catalog: CatalogEngine, schema: Schema, taken: set[int]) -> dict[str, int]:
    """pg_namespace rows for the schemas CREATE SCHEMA made; their OIDs by name."""
    oids = {"public": b.PUBLIC_NS}
    rows, schemata = [], []
    for name in schema.schemas:
        oid = oids[name] = stable_oid(f"namespace:{name}", taken)
        catalog.names.namespaces[oid] = name
        rows.append((oid, name, b.BOOTSTRAP_SUPERUSER, None))
        schemata.append((None, name, "postgres", None, None, None, None))
    catalog.insert("pg_namespace", rows)
    catalog.insert("schemata", schemata)
    return oids


def _field_oid(catalog: CatalogEngine, text: str) -> int:
    """A field's type (as CREATE TYPE wrote it) to its OID: built-in, an enum, a composite."""
    oid = name_oid(text)
    if oid:
        return oid
    try:
        name = type_name(exp.DataType.build(text, dialect="postgres", udt=True))
    except (ParseError, ValueError):
        name = None
    if name is None:
        return pgtypes.TEXT
    element = name.removesuffix("[]")
    key = element if element == name else f"_{element}"
    return catalog.names.type_by_name.get(key, pgtypes.TEXT)


def load(catalog: CatalogEngine, schema: Schema, taken: set[int], types: list[tuple]) -> None:
    """pg_type rows go to `types`; pg_class and pg_attribute rows are inserted here."""
    names = catalog.names
    namespaces = load_schemas(catalog, schema, taken)
    made = []
    for qualified in sorted(schema.composites):
        if qualified in names.type_by_name:
            continue  # a table's row type, or an enum, has the name
        ns, _, name = qualified.rpartition(".")
        ns = ns or "public"
        oid = stable_oid(f"type:{ns}.{name}", taken)
        array = stable_oid(f"type:{ns}._{name}", taken)
        relid = stable_oid(f"{ns}.{name}", taken)
        names.types[oid] = (ns, name)
        names.type_by_name[qualified] = oid
        names.types[array] = (ns, f"_{name}")
        names.type_by_name[f"_{qualified}" if ns == "public" else f"{ns}._{name}"] = array
        names.relations[relid] = (ns, name, "c")
        names.by_name[(ns, name)] = relid
        made.append((qualified, oid, array, relid, namespaces.get(ns, b.PUBLIC_NS)))
    classes, attributes = [], []
    for qualified, oid, array, relid, nsp in made:
        fields = schema.composites[qualified]
        name = qualified.rpartition(".")[2]
        row = b._type_row(oid, name, -1, False, "c", "C", False, 0, array, "record", "d",
                          relid=relid)
        types.append((*row[:_NSPNAME], nsp, *row[_NSPNAME + 1 :]))
        row = b._type_row(array, f"_{name}", -1, False, "b", "A", False, oid, 0, "array", "d",
                          subscript="array_subscript_handler")
        types.append((*row[:_NSPNAME], nsp, *row[_NSPNAME + 1 :]))
        row = catalog.class_row(relid, name, "c", oid, len(fields), False, 0)
        classes.append((*row[:_NSPNAME], nsp, *row[_NSPNAME + 1 :]))
        typed = []
        for num, (attname, atttype) in enumerate(fields, 1):
            field_oid = _field_oid(catalog, atttype)
            typed.append((attname, field_oid))
            attributes.append(catalog.attribute_row(relid, attname, field_oid, num, -1, False,
                                                     False))
        register_composite(oid, array, format_type(oid, -1, names) or name, typed)
    catalog.insert("pg_class", classes)
    catalog.insert("pg_attribute", attributes)
