"""SQL Server's error numbers to SQLSTATEs (with the names a client's error fields carry),
and its types to PostgreSQL OIDs, by TDS type code and by name."""

from __future__ import annotations

import pytest

from pgproxy import errors, pgtypes
from pgproxy.backends import mssql_errors, mssql_types


@pytest.mark.parametrize(
    ("number", "message", "sqlstate"),
    [
        (2627, "Violation of PRIMARY KEY constraint 'PK_t'. Cannot insert duplicate key in"
               " object 'dbo.t'. The duplicate key value is (1).", "23505"),
        (2601, "Cannot insert duplicate key row in object 'dbo.t' with unique index 'ux_t'."
               " The duplicate key value is (a).", "23505"),
        (515, "Cannot insert the value NULL into column 'name', table 'app.dbo.t'; column does"
              " not allow nulls. INSERT fails.", "23502"),
        (547, 'The INSERT statement conflicted with the FOREIGN KEY constraint "fk_t_u".'
              ' The conflict occurred in database "app", table "dbo.u", column \'id\'.', "23503"),
        (547, 'The INSERT statement conflicted with the CHECK constraint "ck_t_n".', "23514"),
        (208, "Invalid object name 'nope'.", "42P01"),
        (207, "Invalid column name 'nope'.", "42703"),
        (102, "Incorrect syntax near 'FRM'.", "42601"),
        (8134, "Divide by zero error encountered.", "22012"),
        (1205, "Transaction (Process ID 52) was deadlocked on lock resources with another"
               " process and has been chosen as the deadlock victim. Rerun the transaction.",
         "40P01"),
        (544, "Cannot insert explicit value for identity column in table 't' when"
              " IDENTITY_INSERT is set to OFF.", "428C9"),
        (8672, "The MERGE statement attempted to UPDATE or DELETE the same row more than once.",
         "21000"),
        (99999, "Something SQL Server says that the proxy does not know.", "XX000"),
        # Babelfish for PostgreSQL: PostgreSQL's own messages under its "not mapped" number
        # (texts as a live Babelfish 4.4 sent them)
        (547, 'new row for relation "t" violates check constraint "t_doc_check"', "23514"),
        (33557097, 'relation "pgproxy_test_dbo.nope" does not exist', "42P01"),
        (33557097, 'column "nope" does not exist', "42703"),
        (33557097, 'type "cf_mood" does not exist', "42704"),
        (33557097, "function pgproxy_range_has(int4range, integer, integer) does not exist",
         "42883"),
        (33557097, "syntax error near 'CASCADE' at line 1 and character position 39", "42601"),
        (33557097, 'schema "s1" already exists', "42P06"),
        (33557097, "numeric field overflow", "22003"),
        (33557097, 'invalid input syntax for type integer: "x"', "22P02"),
        (33557097, 'cannot insert a non-DEFAULT value into column "id"', "428C9"),
        (33557097, 'column "id" can only be updated to DEFAULT', "428C9"),
        (33557097, "'MERGE' is not currently supported in Babelfish", "0A000"),
        (33557097, "data type int4range is not supported yet", "0A000"),
        (33557097, "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
         "42P10"),
        (33557097, "Implicit conversion from data type varchar to varbinary is not allowed. Use"
                   " the CONVERT function to run this query.", "42846"),
        (33557097, "a PostgreSQL message the proxy does not know", "XX000"),
    ],
)
def test_error_numbers(number: int, message: str, sqlstate: str) -> None:
    error = mssql_errors.map_error(number, message)
    assert error.sqlstate == sqlstate
    assert error.detail and f"SQL Server error {number}" in error.detail


def test_constraint_errors_name_their_objects() -> None:
    dup = mssql_errors.map_error(2627, "Violation of PRIMARY KEY constraint 'PK_t'. Cannot"
                                 " insert duplicate key in object 'dbo.t'. The duplicate key"
                                 " value is (1).")
    assert (dup.objects["n"], dup.objects["t"]) == ("PK_t", "t")
    assert dup.message == 'duplicate key value violates unique constraint "PK_t"'
    null = mssql_errors.map_error(515, "Cannot insert the value NULL into column 'name', table"
                                  " 'app.dbo.t'; column does not allow nulls. INSERT fails.")
    assert (null.objects["c"], null.objects["t"]) == ("name", "t")


def test_a_temporal_query_on_a_plain_table_is_0a000_naming_it() -> None:
    error = mssql_errors.map_error(
        13544, "Temporal FOR SYSTEM_TIME clause can only be used with system-versioned"
        " tables. 'app.dbo.orders' is not a system-versioned table.")
    assert isinstance(error, errors.FeatureNotSupported)
    assert '"orders"' in error.message and "SQL Server" in error.message


def test_a_password_never_reaches_a_message() -> None:
    error = mssql_errors.map_error(18456, "Login failed for user 'sa' (password s3cret).",
                                   password="s3cret")
    assert "s3cret" not in error.message and error.sqlstate == "28P01"


@pytest.mark.parametrize(
    ("code", "size", "precision", "scale", "expected"),
    [
        (56, 4, None, None, (pgtypes.INT4, -1)),
        (38, 8, None, None, (pgtypes.INT8, -1)),
        (38, 2, None, None, (pgtypes.INT2, -1)),
        (104, 1, None, None, (pgtypes.BOOL, -1)),
        (109, 4, None, None, (pgtypes.FLOAT4, -1)),
        (109, 8, None, None, (pgtypes.FLOAT8, -1)),
        (106, 9, 10, 2, (pgtypes.NUMERIC, ((10 << 16) | 2) + 4)),
        (231, 20.0, None, None, (pgtypes.VARCHAR, 24)),  # NVARCHAR(20): python-tds's 40 / 2
        (231, 0, None, None, (pgtypes.TEXT, -1)),  # NVARCHAR(MAX)
        (239, 3.0, None, None, (pgtypes.BPCHAR, 7)),
        (167, 7, None, None, (pgtypes.VARCHAR, 11)),
        (165, 0, None, None, (pgtypes.BYTEA, -1)),
        (36, 16, None, None, (pgtypes.UUID, -1)),
        (43, 10, None, None, (pgtypes.TIMESTAMPTZ, -1)),
        (42, 8, None, None, (pgtypes.TIMESTAMP, -1)),
        (40, 3, None, None, (pgtypes.DATE, -1)),
    ],
)
def test_result_types_by_tds_code(code, size, precision, scale, expected) -> None:
    assert mssql_types.by_code(code, size, precision, scale) == expected


@pytest.mark.parametrize(
    ("spelled", "expected"),
    [
        ("int", (pgtypes.INT4, -1)),
        ("bit", (pgtypes.BOOL, -1)),
        ("nvarchar(20)", (pgtypes.VARCHAR, 24)),
        ("nvarchar(max)", (pgtypes.TEXT, -1)),
        ("decimal(10,2)", (pgtypes.NUMERIC, ((10 << 16) | 2) + 4)),
        ("datetimeoffset(6)", (pgtypes.TIMESTAMPTZ, -1)),
        ("uniqueidentifier", (pgtypes.UUID, -1)),
        ("varbinary(max)", (pgtypes.BYTEA, -1)),
        ("geography", (pgtypes.TEXT, -1)),
    ],
)
def test_types_by_name(spelled: str, expected: tuple[int, int]) -> None:
    assert mssql_types.by_name(spelled) == expected
