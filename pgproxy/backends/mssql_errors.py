"""SQL Server error numbers -> SQLSTATE, and the names a client's error fields carry.

Numbers from sys.messages (SQL Server 2022). A temporal query on a table
that is not system-versioned (13544) is 0A000 naming the table, as the
other backends refuse a hint they cannot honour. Babelfish for PostgreSQL
answers the PostgreSQL errors it has no SQL Server number for as 33557097
with PostgreSQL's own message: those get their SQLSTATE from the message.
"""

from __future__ import annotations

import re

from pgproxy import errors
from pgproxy.backends import constraints, scrub

BY_NUMBER: dict[int, str] = {
    2627: "23505",  # violation of PRIMARY KEY / UNIQUE constraint
    2601: "23505",  # duplicate key row in a unique index
    515: "23502",  # cannot insert NULL into column
    547: "23503",  # conflicted with a FOREIGN KEY (or CHECK: see below)
    208: "42P01",  # invalid object name
    207: "42703",  # invalid column name
    209: "42702",  # ambiguous column name
    102: "42601",  # incorrect syntax near
    156: "42601",  # incorrect syntax near the keyword
    105: "42601",  # unclosed quotation mark
    319: "42601",  # WITH keyword: previous statement must end with ;
    8134: "22012",  # divide by zero
    1205: "40P01",  # deadlock victim
    1222: "55P03",  # lock request time out
    2714: "42P07",  # there is already an object named
    1913: "42P07",  # an index with that name exists
    2705: "42701",  # column names must be unique
    3701: "42P01",  # cannot drop: does not exist
    195: "42883",  # not a recognized built-in function
    4121: "42883",  # cannot find the user-defined function
    2812: "42883",  # could not find stored procedure
    911: "3D000",  # database does not exist
    4060: "3D000",  # cannot open database requested by the login
    18456: "28P01",  # login failed
    229: "42501",  # permission denied
    262: "42501",  # permission denied in database
    8152: "22001",  # string or binary data would be truncated
    2628: "22001",  # … in table '…', column '…'
    8115: "22003",  # arithmetic overflow
    220: "22003",  # arithmetic overflow for data type
    232: "22003",
    245: "22P02",  # conversion failed (nvarchar value to int)
    257: "42846",  # implicit conversion from data type … to … is not allowed
    8114: "22P02",  # error converting data type
    241: "22007",  # conversion failed when converting date and/or time
    242: "22008",  # out-of-range datetime value
    8169: "22P02",  # conversion to uniqueidentifier failed
    13609: "22P02",  # JSON text is not properly formatted
    8672: "21000",
    # an explicit value for an IDENTITY column (a SERIAL made through the proxy): PostgreSQL
    # takes one for a serial, but only OVERRIDING SYSTEM VALUE for GENERATED ALWAYS (428C9)
    544: "428C9",  # MERGE touched a row twice (ON CONFLICT's "cannot affect row a second time")
    3609: "40000",  # the transaction ended in the trigger
    3902: "25P01",  # COMMIT has no corresponding BEGIN TRANSACTION
    3903: "25P01",  # ROLLBACK has no corresponding BEGIN TRANSACTION
    6401: "3B001",  # cannot roll back: no transaction or savepoint of that name
    3906: "25006",  # database is read-only
    3980: "57014",  # request failed to run because the batch is aborted (attention)
    13544: "0A000",  # FOR SYSTEM_TIME on a table that is not system-versioned
    40613: "08006",  # database not currently available (Azure)
}

# Babelfish's "error not mapped": the message is PostgreSQL's, so its SQLSTATE follows from it.
BABELFISH_UNMAPPED = 33557097
_PG_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), code) for pattern, code in (
        (r'^(relation|table|view|sequence) "[^"]*" does not exist', "42P01"),
        (r'^column "[^"]*"( of relation "[^"]*")? does not exist', "42703"),
        (r'^(type|collation) "[^"]*"( for encoding "[^"]*")? does not exist', "42704"),
        (r"^function .* does not exist", "42883"),
        (r"^syntax error", "42601"),
        (r'^schema "[^"]*" already exists', "42P06"),
        (r'^(relation|table) "[^"]*" already exists', "42P07"),
        (r"^numeric field overflow", "22003"),
        (r"^invalid input syntax for type", "22P02"),
        (r'^(cannot insert a non-DEFAULT value into|column "[^"]*" can only be updated to'
         r" DEFAULT)", "428C9"),
        (r"is not currently supported in Babelfish|is not supported yet", "0A000"),
        (r"^for SELECT DISTINCT, ORDER BY expressions must appear in select list", "42P10"),
        (r"^Implicit conversion from data type \w+ to \w+ is not allowed", "42846"),
    )
)
_KEY = re.compile(r"Violation of (PRIMARY KEY|UNIQUE KEY) constraint '([^']+)'\. .*"
                  r"in object '([^']+)'")
_INDEX = re.compile(r"unique index '([^']+)'.*in object '([^']+)'")
_NULL = re.compile(r"Cannot insert the value NULL into column '([^']+)', table '([^']+)'")
_FK = re.compile(r"conflicted with the (FOREIGN KEY|REFERENCE|CHECK) constraint \"([^\"]+)\"")
_TEMPORAL = re.compile(r"'([^']+)' is not a system-versioned table")


def sqlstate(number: int, message: str) -> str | None:
    """The SQLSTATE for a SQL Server error number and its message; None when unmapped."""
    if number == 547 and "check constraint" in message.lower():  # Babelfish: lower case
        return "23514"
    if number == BABELFISH_UNMAPPED:
        return next((code for pattern, code in _PG_MESSAGES if pattern.search(message)), None)
    return BY_NUMBER.get(number)


def _table(qualified: str) -> str:
    """`db.dbo.t` -> `t`: the client sees one schema."""
    return qualified.rsplit(".", 1)[-1]


def map_error(number: int, message: str, password: str | None = None) -> errors.PgError:
    """A PgError for one SQL Server error, with the constraint / table / column it names."""
    message = scrub(message, password)
    detail = f"SQL Server error {number}"
    if number == 13544:
        found = _TEMPORAL.search(message)
        table = _table(found.group(1)) if found else "the table"
        return errors.FeatureNotSupported(
            f'FOR SYSTEM_TIME AS OF needs a temporal table: "{table}" is not system-versioned'
            " on SQL Server",
            detail=f"{detail}: {message}",
            hint=f"ALTER TABLE {table} SET (SYSTEM_VERSIONING = ON …) keeps its history.",
        )
    code = sqlstate(number, message)
    if code is None:
        code = "XX000"
    if code == "57014":
        message = "canceling statement due to user request"
    error = errors.from_sqlstate(code, message, detail=detail)
    if (m := _KEY.search(message)) is not None:
        return constraints.annotate(error, table=_table(m.group(3)), constraint=m.group(2))
    if (m := _INDEX.search(message)) is not None:
        return constraints.annotate(error, table=_table(m.group(2)), constraint=m.group(1))
    if (m := _NULL.search(message)) is not None:
        return constraints.annotate(error, table=_table(m.group(2)), column=m.group(1))
    if (m := _FK.search(message)) is not None:
        return constraints.annotate(error, constraint=m.group(2))
    return error
