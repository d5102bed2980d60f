"""MySQL error numbers -> SQLSTATE, shared by every backend that speaks MySQL's errors.

Used by the pymysql backends (mysql://, mariadb://, dolt+mysql://) and the
embedded Dolt backend (dolt://, whose engine is go-mysql-server and reports
the same numbers). Error 1105 (ER_UNKNOWN_ERROR) is what Dolt and
go-mysql-server use for many conditions, through the embedded driver and
through `dolt sql-server` alike; those are classified by their fixed message
texts, so both Dolt backends give a client the same SQLSTATE.
"""

from __future__ import annotations

import re

BY_ERRNO: dict[int, str] = {
    1146: "42P01",  # no such table
    1109: "42P01",  # unknown table
    1051: "42P01",  # unknown table (DROP)
    1054: "42703",  # unknown column
    1062: "23505",  # duplicate entry
    1586: "23505",  # duplicate entry (with key name)
    1048: "23502",  # column cannot be null
    1364: "23502",  # field has no default value
    1451: "23503",  # row is referenced
    1452: "23503",  # referenced row missing
    1216: "23503",
    1217: "23503",
    1064: "42601",  # syntax
    1149: "42601",
    1136: "42601",  # column count doesn't match value count
    1365: "22012",  # division by 0
    1242: "21000",  # subquery returns more than 1 row (cardinality violation)
    1050: "42P07",  # table exists
    1061: "42P07",  # duplicate key name
    1007: "42P04",  # database exists
    1008: "3D000",  # database doesn't exist (DROP)
    1049: "3D000",  # unknown database, or unknown branch in a Dolt revision database
    1060: "42701",  # duplicate column
    1052: "42702",  # ambiguous column
    1091: "42704",  # can't drop: doesn't exist
    1305: "42883",  # function/procedure does not exist
    1582: "42883",  # incorrect parameter count
    1213: "40P01",  # deadlock
    1205: "55P03",  # lock wait timeout
    3819: "23514",  # check constraint (MySQL)
    4025: "23514",  # check constraint (MariaDB)
    1317: "57014",  # query interrupted
    3024: "57014",  # max_execution_time exceeded
    1969: "57014",  # max_statement_time exceeded (MariaDB)
    2013: "08006",  # lost connection
    2006: "08006",  # server has gone away
    2003: "08001",  # cannot connect
    1045: "08001",  # backend refused our credentials: not the client's auth failure
    1040: "53300",  # too many connections
    1406: "22001",  # data too long
    1264: "22003",  # out of range
    1690: "22003",
    1292: "22007",  # incorrect datetime value
    1366: "22P02",  # incorrect integer value
    1265: "22P02",  # data truncated: a value not among an ENUM's labels
    4084: "2200H",  # MariaDB: sequence has run out
    4091: "42P01",  # MariaDB: unknown sequence
    4161: "42704",  # MariaDB: unknown data type (a cast to a PostgreSQL-only type)
    1367: "22P02",
    1142: "42501",  # command denied
    1044: "42501",
    1227: "42501",
    1792: "25006",  # read-only transaction
    1836: "25006",  # read-only mode
    1568: "25001",  # can't change isolation in transaction
    1295: "0A000",  # not supported in prepared statements
    1235: "0A000",  # this version doesn't yet support
    1105: "XX000",  # unknown error: see UNKNOWN_BY_MESSAGE
}

# Error 1105 by message: go-mysql-server's and Dolt's fixed texts (the
# embedded driver reports as 1105 much that a MySQL server numbers itself).
UNKNOWN_BY_MESSAGE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^syntax error at position"), "42601"),
    (re.compile(r"^column \".*\" could not be found"), "42703"),
    (re.compile(r"^(table not found|table with name .* not found)"), "42P01"),
    (re.compile(r"out of range for"), "22003"),
    (re.compile(r"^Truncated incorrect"), "22P02"),
    (re.compile(r"division by zero", re.I), "22012"),
    (re.compile(r"^(branch not found|invalid ref spec|.*did not match any table)"), "42704"),
    (re.compile(r"read.only", re.I), "25006"),
    (re.compile(r"^function: '.*' not found"), "42883"),
]


def sqlstate(errno: int, message: str) -> str | None:
    """The SQLSTATE for a MySQL error number and its message; None when unmapped."""
    code = BY_ERRNO.get(errno)
    if errno == 1105:
        for pattern, state in UNKNOWN_BY_MESSAGE:
            if pattern.search(message):
                return state
    elif errno == 1305 and message.upper().startswith("SAVEPOINT"):
        return "3B001"
    elif errno == 1366 and _NON_FINITE.search(message):
        # NaN / Infinity, which the proxy binds as text: MySQL's columns cannot hold them
        return "22003"
    return code


_NON_FINITE = re.compile(r"^Incorrect (double|decimal|float) value: '-?(NaN|Infinity)'")
