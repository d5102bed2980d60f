"""Writes pgproxy/catalog/pg_relations.py from a real PostgreSQL's pg_catalog.

Every pg_catalog table and view with its OID, its kind and its columns in
order, each with its pg type name, exactly as the server lists them. Run from
the repository root; with no argument a throwaway server is started through
the test fixtures (tests/fix_servers.py), else the given URL is read:

    python scripts/gen_catalog_relations.py [postgresql://user:pw@host:port/db]
"""

from __future__ import annotations

import contextlib
import sys
import textwrap
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fix_servers import PostgreSQLServer

TARGET = Path(__file__).resolve().parent.parent / "pgproxy" / "catalog" / "pg_relations.py"

QUERY = """
SELECT c.oid, c.relname, c.relkind,
       string_agg(a.attname || ' ' || t.typname, ', ' ORDER BY a.attnum)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
WHERE n.nspname = 'pg_catalog' AND c.relkind IN ('r', 'v')
GROUP BY c.oid, c.relname, c.relkind
ORDER BY c.relname
"""


def render(version: str, rows: list[tuple[int, str, str, str]]) -> str:
    out = [
        f'"""pg_catalog\'s relations as PostgreSQL {version} lists them (generated; do not edit).',
        "",
        "Written by scripts/gen_catalog_relations.py from a real server: name ->",
        "(relation OID, relkind 'r' table or 'v' view, its columns as \"name type, ...\").",
        '"""',
        "",
        "RELATIONS: dict[str, tuple[int, str, str]] = {",
    ]
    for oid, name, kind, columns in rows:
        single = f'    "{name}": ({oid}, "{kind}", "{columns}"),'
        if len(single) <= 100:
            out.append(single)
            continue
        lines = textwrap.wrap(columns, 84, break_long_words=False, break_on_hyphens=False)
        out.append(f'    "{name}": ({oid}, "{kind}", (')
        out.extend(f'        "{line}{" " if i < len(lines) - 1 else ""}"'
                   for i, line in enumerate(lines))
        out.append("    )),")
    out.append("}")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    with contextlib.ExitStack() as stack:
        url = argv[0] if argv else stack.enter_context(PostgreSQLServer.started()).url
        with psycopg.connect(url) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
            rows = conn.execute(QUERY).fetchall()
    TARGET.write_text(render(version, rows))
    print(f"{TARGET}: {len(rows)} relations of PostgreSQL {version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
