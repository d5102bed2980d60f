"""CREATE / ALTER / DROP SEQUENCE in T-SQL: SQL Server's own sequences, with PostgreSQL's defaults.

SQL Server starts a sequence at its type's lowest value unless told; PostgreSQL at
MINVALUE 1, so every option is spelled out from sequences.resolve. `nextval('s')`
is `NEXT VALUE FOR s` (dialects/tsql.py).
"""

from __future__ import annotations

from sqlglot import exp

from dialects.api import Generated, TranslationError
from dialects.sequences import (
    SequenceStatement,
    drop_sql,
    increment_and_bounds,
    owned_by_notices,
    resolve,
)

_TYPES = {"smallint": "SMALLINT", "integer": "INT", "bigint": "BIGINT"}


def _q(name: str) -> str:
    parts = name.split(".")
    if len(parts) == 2 and parts[0].lower() == "public":
        parts = parts[1:]
    return ".".join(exp.to_identifier(p, quoted=True).sql("tsql") for p in parts)


def generate(found: SequenceStatement, backend: str) -> Generated:
    notices = owned_by_notices(found, backend)
    if found.verb == "DROP":
        return drop_sql(found, _q)
    name = _q(found.names[0])
    if found.verb == "CREATE":
        d = resolve(found.options)
        sql = (f"CREATE SEQUENCE {name} AS {_TYPES[d['data_type']]} START WITH {d['start_value']}"
               f" INCREMENT BY {d['increment']} MINVALUE {d['min_value']}"
               f" MAXVALUE {d['max_value']} {'CYCLE' if d['cycle'] else 'NO CYCLE'}"
               f" {'CACHE ' + str(d['cache']) if d['cache'] > 1 else 'NO CACHE'}")
        if found.if_exists:  # CREATE SEQUENCE has no IF NOT EXISTS in T-SQL
            literal = exp.Literal.string(found.names[0].split(".")[-1]).sql("tsql")
            quoted = exp.Literal.string(sql).sql("tsql")
            sql = f"IF OBJECT_ID({literal}, 'SO') IS NULL EXEC({quoted})"
        return Generated(sql, notices=tuple(notices))
    if found.rename:
        old = exp.Literal.string(found.names[0].split(".")[-1]).sql("tsql")
        new = exp.Literal.string(found.rename).sql("tsql")
        return Generated(f"EXEC sp_rename {old}, {new}")
    opts = found.options
    if "data_type" in opts:
        raise TranslationError(f"{backend}: ALTER SEQUENCE … AS <type> is not supported", "0A000")
    parts = increment_and_bounds(opts)
    if "cache" in opts:
        parts.append(f"CACHE {opts['cache']}" if opts["cache"] > 1 else "NO CACHE")
    if "cycle" in opts:
        parts.append("CYCLE" if opts["cycle"] else "NO CYCLE")
    if "restart" in opts:
        restart = opts["restart"]
        parts.append("RESTART" if restart is True else f"RESTART WITH {restart}")
    elif "start" in opts:  # SQL Server keeps no separate start value: only a restart
        notices.append(f"{backend}: START WITH takes effect as RESTART WITH on SQL Server")
        parts.append(f"RESTART WITH {opts['start']}")
    if not parts:
        return Generated("", notices=tuple(notices))
    return Generated(f"ALTER SEQUENCE {name} {' '.join(parts)}", notices=tuple(notices))
