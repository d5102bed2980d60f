"""Sequences in the catalog: pg_class (relkind 'S'), pg_sequence, pg_sequences,
information_schema.sequences, pg_depend's OWNED BY link, and pg_get_serial_sequence."""

from __future__ import annotations

from pgproxy.catalog import builtins as b
from pgproxy.catalog.common import CatalogEngine, stable_oid
from pgproxy.catalog.introspect import Schema

_TYPES = {"smallint": (21, 16), "integer": (23, 32), "bigint": (20, 64)}


def load(catalog: CatalogEngine, schema: Schema, taken: set[int], table_oids: dict[str, int],
         classes: list[tuple]) -> None:
    """Rows for every sequence; pg_class rows go to `classes`, the rest are inserted here."""
    names = catalog.names
    attnums = {(t.name, c.name): i for t in schema.tables for i, c in enumerate(t.columns, 1)}
    pg_sequence, pg_sequences, info, depend = [], [], [], []
    for seq in sorted(schema.sequences, key=lambda s: s.name):
        if ("public", seq.name) in names.by_name:
            continue  # a name taken by a table (MySQL numbers a serial without one)
        oid = stable_oid(f"public.{seq.name}", taken)
        names.relations[oid] = ("public", seq.name, "S")
        names.by_name[("public", seq.name)] = oid
        classes.append(catalog.class_row(oid, seq.name, "S", 0, 3, False, 0))
        type_oid, bits = _TYPES.get(seq.data_type, _TYPES["bigint"])
        pg_sequence.append((oid, type_oid, seq.start, seq.increment, seq.max_value,
                            seq.min_value, seq.cache, seq.cycle))
        pg_sequences.append(("public", seq.name, "postgres", type_oid, seq.start, seq.min_value,
                             seq.max_value, seq.increment, seq.cycle, seq.cache, seq.last_value))
        info.append((None, "public", seq.name, seq.data_type, bits,
                     str(seq.start), str(seq.min_value), str(seq.max_value), str(seq.increment),
                     "YES" if seq.cycle else "NO"))
        if seq.owned_by is not None and seq.owned_by[0] in table_oids:
            table, column = seq.owned_by
            names.serial_sequences[(table, column)] = seq.name
            depend.append((b.PG_CLASS_RELID, oid, 0, b.PG_CLASS_RELID, table_oids[table],
                           attnums.get((table, column), 0), "a"))
    catalog.insert("pg_sequence", pg_sequence)
    catalog.insert("pg_sequences", pg_sequences)
    catalog.insert("sequences", info)
    catalog.insert("pg_depend", depend)
