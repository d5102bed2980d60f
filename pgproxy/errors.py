"""Every error the proxy sends, one class per SQLSTATE.

Three families reach a client as an ErrorResponse: backend errors mapped to a
SQLSTATE with the backend's message kept, proxy errors with their own codes,
and bugs (XX000). Classes register themselves by code, so `lookup("42P01")`
finds UndefinedTable and an unknown code falls back to its two-character
class, as psycopg does.
"""

from __future__ import annotations

from typing import ClassVar

_BY_CODE: dict[str, type[PgError]] = {}


class PgError(Exception):
    """An error with a SQLSTATE, ready to become an ErrorResponse."""

    sqlstate: ClassVar[str] = "XX000"
    severity: ClassVar[str] = "ERROR"

    def __init_subclass__(cls, code: str | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.sqlstate = code
            _BY_CODE.setdefault(code, cls)

    def __init__(
        self,
        message: str,
        *,
        detail: str | None = None,
        hint: str | None = None,
        sqlstate: str | None = None,
        position: int | None = None,
        context: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint = hint
        self.position = position
        self.context = context  # the Where field: "COPY t, line 3, column v: ..."
        # The object the error is about (schema, table, column, datatype, constraint):
        # PostgreSQL's s, t, c, d and n fields (psycopg's diag.table_name, …).
        self.objects: dict[str, str] = {}
        if sqlstate is not None:
            self.sqlstate = sqlstate  # type: ignore[misc]

    def fields(self) -> dict[str, str]:
        """The ErrorResponse fields, keyed by their one-letter protocol codes."""
        out = {"S": self.severity, "V": self.severity, "C": self.sqlstate, "M": self.message}
        if self.detail:
            out["D"] = self.detail
        if self.hint:
            out["H"] = self.hint
        if self.position is not None:
            out["P"] = str(self.position)
        if self.context:
            out["W"] = self.context
        out.update(self.objects)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.sqlstate}: {self.message!r})"


def lookup(code: str) -> type[PgError]:
    """The class for a SQLSTATE, else for its class (first two characters)."""
    cls = _BY_CODE.get(code) or _BY_CODE.get(code[:2] + "000")
    return cls or PgError


def from_sqlstate(code: str, message: str, **kwargs: object) -> PgError:
    """An error of the right class carrying exactly `code`."""
    return lookup(code)(message, sqlstate=code, **kwargs)  # type: ignore[arg-type]


class Fatal(PgError):
    """An error after which the connection closes."""

    severity: ClassVar[str] = "FATAL"


# Class 0A — feature not supported
class FeatureNotSupported(PgError, code="0A000"):
    pass


# Class 08 — connection exception
class ConnectionException(PgError, code="08000"):
    pass


class ConnectionFailure(PgError, code="08006"):
    pass


class ProtocolViolation(Fatal, code="08P01"):
    pass


# Class 22 — data exception
class DataException(PgError, code="22000"):
    pass


class StringDataRightTruncation(PgError, code="22001"):
    pass


class NumericValueOutOfRange(PgError, code="22003"):
    pass


class InvalidDatetimeFormat(PgError, code="22007"):
    pass


class NullValueNotAllowed(PgError, code="22004"):
    pass


class DatetimeFieldOverflow(PgError, code="22008"):
    pass


class DivisionByZero(PgError, code="22012"):
    pass


class InvalidParameterValue(PgError, code="22023"):
    pass


class InvalidTextRepresentation(PgError, code="22P02"):
    pass


class InvalidBinaryRepresentation(PgError, code="22P03"):
    pass


class BadCopyFileFormat(PgError, code="22P04"):
    pass


class CharacterNotInRepertoire(PgError, code="22021"):
    pass


class UntranslatableCharacter(PgError, code="22P05"):
    pass


# Class 23 — integrity constraint violation
class IntegrityConstraintViolation(PgError, code="23000"):
    pass


class NotNullViolation(PgError, code="23502"):
    pass


class ForeignKeyViolation(PgError, code="23503"):
    pass


class UniqueViolation(PgError, code="23505"):
    pass


class CheckViolation(PgError, code="23514"):
    pass


# Class 25 — invalid transaction state
class InvalidTransactionState(PgError, code="25000"):
    pass


class ActiveSqlTransaction(PgError, code="25001"):
    pass


class IdleInTransactionSessionTimeout(Fatal, code="25P03"):
    pass


class NoActiveSqlTransaction(PgError, code="25P01"):
    pass


class InFailedSqlTransaction(PgError, code="25P02"):
    pass


class ReadOnlySqlTransaction(PgError, code="25006"):
    pass


# Class 26 / 34 — invalid statement / cursor name
class InvalidSqlStatementName(PgError, code="26000"):
    pass


class InvalidCursorName(PgError, code="34000"):
    pass


class InvalidCursorDefinition(PgError, code="42P11"):
    pass


# Class 28 — invalid authorization
class InvalidAuthorizationSpecification(Fatal, code="28000"):
    pass


class InvalidPassword(Fatal, code="28P01"):
    pass


# Class 3D — invalid catalog name. An ERROR: mid-session (USE, a branch that
# does not exist) the session goes on; at startup the wire sends every error FATAL.
class InvalidCatalogName(PgError, code="3D000"):
    pass


# Class 40 — transaction rollback
class TransactionRollback(PgError, code="40000"):
    pass


class SerializationFailure(PgError, code="40001"):
    pass


class DeadlockDetected(PgError, code="40P01"):
    pass


# Class 42 — syntax error or access rule violation
class SyntaxErrorOrAccessRuleViolation(PgError, code="42000"):
    pass


class SyntaxError(PgError, code="42601"):  # named as PostgreSQL names it
    pass


class InsufficientPrivilege(PgError, code="42501"):
    pass


class UndefinedColumn(PgError, code="42703"):
    pass


class UndefinedFunction(PgError, code="42883"):
    pass


class UndefinedTable(PgError, code="42P01"):
    pass


class UndefinedObject(PgError, code="42704"):
    pass


class DuplicateTable(PgError, code="42P07"):
    pass


class DuplicateColumn(PgError, code="42701"):
    pass


class DuplicateObject(PgError, code="42710"):
    pass


class DuplicateSchema(PgError, code="42P06"):
    pass


class InvalidSchemaName(PgError, code="3F000"):
    pass


class DependentObjectsStillExist(PgError, code="2BP01"):
    pass


class DuplicatePreparedStatement(PgError, code="42P05"):
    pass


class DuplicateCursor(PgError, code="42P03"):
    pass


class AmbiguousColumn(PgError, code="42702"):
    pass


class DatatypeMismatch(PgError, code="42804"):
    pass


class CannotCoerce(PgError, code="42846"):
    pass


class GroupingError(PgError, code="42803"):
    pass


class UndefinedParameter(PgError, code="42P02"):
    pass


# Class 53 — insufficient resources
class InsufficientResources(PgError, code="53000"):
    pass


class TooManyConnections(Fatal, code="53300"):
    pass


# Class 54 — program limit exceeded
class ProgramLimitExceeded(PgError, code="54000"):
    pass


# Class 55 — object not in prerequisite state
class ObjectNotInPrerequisiteState(PgError, code="55000"):
    pass


class CantChangeRuntimeParam(PgError, code="55P02"):
    pass


class LockNotAvailable(PgError, code="55P03"):
    pass


# Class 57 — operator intervention
class OperatorIntervention(PgError, code="57000"):
    pass


class QueryCanceled(PgError, code="57014"):
    pass


class AdminShutdown(Fatal, code="57P01"):
    pass


class IdleSessionTimeout(Fatal, code="57P05"):
    pass


class CannotConnectNow(Fatal, code="57P03"):
    pass


# Class 58 — system error
class SystemError(PgError, code="58000"):  # named as PostgreSQL names it
    pass


# Class XX — internal error (a bug in the proxy)
class InternalError(PgError, code="XX000"):
    pass
