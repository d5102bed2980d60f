"""The Flight SQL protobuf messages the endpoint reads and writes, declared as a table.

The message classes are built at import by the protobuf runtime from the table below
(field names and numbers as Arrow's FlightSql.proto defines them), so no generated code
or protoc is needed: the protobuf library encodes and decodes them. Only the messages
the endpoint serves are declared; a field left out is kept as an unknown field.
Enum fields are declared as int32, which is the same on the wire.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

PACKAGE = "arrow.flight.protocol.sql"

_F = descriptor_pb2.FieldDescriptorProto
_TYPES = {
    "string": _F.TYPE_STRING,
    "bytes": _F.TYPE_BYTES,
    "bool": _F.TYPE_BOOL,
    "int32": _F.TYPE_INT32,
    "int64": _F.TYPE_INT64,
    "uint32": _F.TYPE_UINT32,
}

# message -> [(field, number, type, repeated)]; a type naming a message is that message.
_MESSAGES: dict[str, list[tuple[str, int, str, bool]]] = {
    "CommandGetSqlInfo": [("info", 1, "uint32", True)],
    "CommandGetXdbcTypeInfo": [("data_type", 1, "int32", False)],
    "CommandGetCatalogs": [],
    "CommandGetDbSchemas": [
        ("catalog", 1, "string", False),
        ("db_schema_filter_pattern", 2, "string", False),
    ],
    "CommandGetTables": [
        ("catalog", 1, "string", False),
        ("db_schema_filter_pattern", 2, "string", False),
        ("table_name_filter_pattern", 3, "string", False),
        ("table_types", 4, "string", True),
        ("include_schema", 5, "bool", False),
    ],
    "CommandGetTableTypes": [],
    "CommandGetPrimaryKeys": [
        ("catalog", 1, "string", False),
        ("db_schema", 2, "string", False),
        ("table", 3, "string", False),
    ],
    "ActionCreatePreparedStatementRequest": [
        ("query", 1, "string", False),
        ("transaction_id", 2, "bytes", False),
    ],
    "ActionCreatePreparedStatementResult": [
        ("prepared_statement_handle", 1, "bytes", False),
        ("dataset_schema", 2, "bytes", False),
        ("parameter_schema", 3, "bytes", False),
    ],
    "ActionClosePreparedStatementRequest": [("prepared_statement_handle", 1, "bytes", False)],
    "CommandStatementQuery": [("query", 1, "string", False), ("transaction_id", 2, "bytes", False)],
    "TicketStatementQuery": [("statement_handle", 1, "bytes", False)],
    "CommandPreparedStatementQuery": [("prepared_statement_handle", 1, "bytes", False)],
    "CommandStatementUpdate": [
        ("query", 1, "string", False),
        ("transaction_id", 2, "bytes", False),
    ],
    "CommandPreparedStatementUpdate": [("prepared_statement_handle", 1, "bytes", False)],
    "TableDefinitionOptions": [
        ("if_not_exist", 1, "int32", False),
        ("if_exists", 2, "int32", False),
    ],
    "CommandStatementIngest": [
        ("table_definition_options", 1, "TableDefinitionOptions", False),
        ("table", 2, "string", False),
        ("schema", 3, "string", False),
        ("catalog", 4, "string", False),
        ("temporary", 5, "bool", False),
        ("transaction_id", 6, "bytes", False),
    ],
    "DoPutUpdateResult": [("record_count", 1, "int64", False)],
    "DoPutPreparedStatementResult": [("prepared_statement_handle", 1, "bytes", False)],
}
# Nested in CommandStatementIngest in FlightSql.proto (its full name matters to no one:
# it is never packed in an Any).
_NESTED = {"TableDefinitionOptions": "CommandStatementIngest"}

# CommandStatementIngest.TableDefinitionOptions' enums.
IF_NOT_EXIST_CREATE, IF_NOT_EXIST_FAIL = 1, 2
IF_EXISTS_FAIL, IF_EXISTS_APPEND, IF_EXISTS_REPLACE = 1, 2, 3


def _file() -> descriptor_pb2.FileDescriptorProto:
    # proto2 syntax: its optional fields have presence, as proto3's `optional` ones do.
    proto = descriptor_pb2.FileDescriptorProto(
        name="pgproxy_flight_sql.proto", package=PACKAGE, syntax="proto2"
    )
    declared: dict[str, Any] = {}
    for name in _MESSAGES:
        if name not in _NESTED:
            declared[name] = proto.message_type.add(name=name)
    for name, parent in _NESTED.items():
        declared[name] = declared[parent].nested_type.add(name=name)
    for name, fields in _MESSAGES.items():
        for field, number, typ, repeated in fields:
            f = declared[name].field.add(
                name=field,
                number=number,
                label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL,
            )
            if typ in _TYPES:
                f.type = _TYPES[typ]
            else:
                f.type = _F.TYPE_MESSAGE
                f.type_name = f".{PACKAGE}.{_NESTED[typ]}.{typ}"
    return proto


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file())


def _class(name: str) -> Any:
    full = f"{PACKAGE}.{_NESTED[name]}.{name}" if name in _NESTED else f"{PACKAGE}.{name}"
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(full))


M: dict[str, Any] = {name: _class(name) for name in _MESSAGES}


def pack(message: Any) -> bytes:
    """`message` wrapped in google.protobuf.Any and serialized (as Flight SQL sends them)."""
    wrapped = any_pb2.Any()
    wrapped.Pack(message)
    return wrapped.SerializeToString()


def unpack(data: bytes) -> tuple[str, Any]:
    """An Any-wrapped command: (message name, message); ("", None) for what is not one."""
    wrapped = any_pb2.Any()
    try:
        wrapped.ParseFromString(data)
    except DecodeError:  # not protobuf at all (a plain Flight ticket): no command
        return "", None
    full = wrapped.TypeName()
    if not full.startswith(PACKAGE + "."):
        return "", None
    name = full[len(PACKAGE) + 1 :]
    cls = M.get(name)
    if cls is None:
        return name, None
    message = cls()
    message.ParseFromString(wrapped.value)
    return name, message
