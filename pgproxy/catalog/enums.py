"""Enum types in the catalog: pg_type rows (typtype 'e', and its array type `_name`) and
pg_enum's labels for each; the type codecs (pgproxy/types) learn both OIDs (labels are text)."""

from __future__ import annotations

from pgproxy.catalog import builtins as b
from pgproxy.catalog.common import CatalogEngine, stable_oid
from pgproxy.catalog.introspect import Schema
from pgproxy.types import register_enum


def load(catalog: CatalogEngine, schema: Schema, taken: set[int], types: list[tuple]) -> None:
    """pg_type rows go to `types`; pg_enum's rows are inserted here."""
    names = catalog.names
    labels = []
    for name in sorted(schema.enums):
        if name in names.type_by_name:
            continue  # a table's row type already has the name
        oid = stable_oid(f"type:public.{name}", taken)
        array = stable_oid(f"type:public._{name}", taken)
        names.types[oid] = ("public", name)
        names.type_by_name[name] = oid
        names.type_lengths[oid] = 4  # an enum is its label's 4-byte OID in PostgreSQL
        names.types[array] = ("public", f"_{name}")
        names.type_by_name[f"_{name}"] = array
        types.append(b._type_row(oid, name, 4, True, "e", "E", False, 0, array, "enum_", "i"))
        types.append(b._type_row(array, f"_{name}", -1, False, "b", "A", False, oid, 0, "array",
                                 "i", subscript="array_subscript_handler"))
        register_enum(oid, array, b.quote_ident(name), schema.enums[name])
        for order, label in enumerate(schema.enums[name], 1):
            labels.append((stable_oid(f"enum:{name}.{label}", taken), oid, float(order), label))
    catalog.insert("pg_enum", labels)
