"""Enum types in the catalog: a pg_type row (typtype 'e') and pg_enum's labels for each."""

from __future__ import annotations

from pgproxy.catalog import builtins as b
from pgproxy.catalog.common import CatalogEngine, stable_oid
from pgproxy.catalog.introspect import Schema


def load(catalog: CatalogEngine, schema: Schema, taken: set[int], types: list[tuple]) -> None:
    """pg_type rows go to `types`; pg_enum's rows are inserted here."""
    names = catalog.names
    labels = []
    for name in sorted(schema.enums):
        if name in names.type_by_name:
            continue  # a table's row type already has the name
        oid = stable_oid(f"type:public.{name}", taken)
        names.types[oid] = ("public", name)
        names.type_by_name[name] = oid
        types.append(b._type_row(oid, name, 4, True, "e", "E", False, 0, 0, "enum_", "i"))
        for order, label in enumerate(schema.enums[name], 1):
            labels.append((stable_oid(f"enum:{name}.{label}", taken), oid, float(order), label))
    catalog.insert("pg_enum", labels)
