"""Repeated reads on MariaDB and MySQL as server-side prepared statements: the binary protocol.

A read answered at the wire (wire_reads_async.py) is a statement its session
has run before, so it is worth preparing: on each connection its text is
prepared once (COM_STMT_PREPARE) and every later run is one COM_STMT_EXECUTE
of its values. The server parses no SQL, no value is escaped into the text,
and the rows' integers, floats and times arrive binary. When the whole
response is in the receive buffer (a point read's always is), asyncmy's C
parser checks the result's column definitions against the prepared ones and
decodes every row in one call; otherwise the rows are read as they come, a
batch at a time, as SSCursor reads a text result (asyncmy's flow control
keeps the buffer bounded). The full path (a read in a transaction block, say)
stays on the text protocol: its cost is elsewhere (a transaction of one read
costs the proxy as much either way), and it has no plan whose columns would
tell a result typed by its values (`SELECT ?`) from the text protocol's.

Values come out as the text protocol's do: the column decoders are asyncmy's
own, chosen as for a text result (strings, DECIMAL and JSON go through them);
integers, DOUBLE, dates and times are exact either way. A FLOAT is not (the
text protocol rounds it to six digits, the binary one is the stored value), so
a result with one stays on the text protocol. A zero date, which the session's
sql_mode refuses to store, is NULL here and the string '0000-00-00' there (no
PostgreSQL date either way).

What stays on the text protocol: a statement the server will not prepare,
whose parameter count is not the text's (a `?` of its own) or with a FLOAT
column; a read with values of other types than those pack_binary_params binds
as the text protocol's escaping writes them; a statement whose run described
its result otherwise than its prepare did (typed by the values bound, or a
table altered since): from then on, on that connection (at the wire, such a
run's answer goes to the full path when its columns are not the plan's). A
statement is known by its text alone: a connection's default database never
changes (Dolt's does, a USE per branch: its connections prepare nothing). Per
connection, CACHED statements are kept, the least recently used closed first;
a statement that stays on text is remembered (the last REFUSED of them) and not
offered again.
"""

from __future__ import annotations

import decimal
import struct
from typing import Any

import asyncmy.connection
import asyncmy.errors
import asyncmy.protocol
from lru import LRU
from pymysql.constants import FIELD_TYPE

from pgproxy.backends import mysql

# Statements kept prepared per connection: well under the server's
# max_prepared_stmt_count (16382) shared by every connection.
CACHED = 64
REFUSED = 1024

_PREPARE, _EXECUTE, _CLOSE = 0x16, 0x17, 0x19
# Client (CR_*) error numbers start here: the connection's, not the statement's.
_SERVER_ERRORS = 2000
_INTERRUPTED = 1317  # ER_QUERY_INTERRUPTED: a KILL QUERY
_HEAD = struct.Struct("<I")
_MAX_PACKET = 2**24 - 1
# Values bound as their text-protocol literals read: NULL, integers (bool as 0/1), DOUBLE,
# strings, blobs, DECIMAL.
_BINDABLE = frozenset({type(None), bool, int, float, str, bytes, decimal.Decimal})

_parse_cached = asyncmy.protocol._parse_cached_binary_result
_parse_rows = asyncmy.protocol.parse_binary_rows_from_buffer
_Result = asyncmy.connection.MySQLResult


def bindable(values: Any) -> bool:
    """Whether `values` bind to a prepared statement as the text protocol escapes them."""
    for value in values:
        if value.__class__ not in _BINDABLE:
            return False
    return True


class Prepared:
    """One statement prepared on one connection, and its result's description."""

    __slots__ = ("columns", "convert", "fields", "head", "header", "ident", "packets", "params",
                 "specs")

    def __init__(self, ident: int, params: int, fields: list[Any], converters: list[Any]) -> None:
        self.ident = ident
        self.params = params
        # COM_STMT_EXECUTE's fixed part: statement id, no cursor, one iteration.
        self.header = bytes([_EXECUTE]) + _HEAD.pack(ident) + b"\x00\x01\x00\x00\x00"
        self.describe(fields, converters)

    def describe(self, fields: list[Any], converters: list[Any]) -> None:
        """The result's columns as `fields` (FieldDescriptorPackets) describe them, with the
        decoders asyncmy chose for them (MySQLResult.converters)."""
        self.fields = fields
        self.packets = tuple([f.get_all_data() for f in fields])
        # Its response's first packet, the column count (sequence 1: after the one EXECUTE
        # packet): a count of one byte only (a larger one is read by Rows).
        count = len(fields)
        self.head = bytes((1, 0, 0, 1, count)) if count < 251 else b"\xff"
        self.specs = tuple([
            (f.type_code, bool(f.flags & 32), *conv)  # 32: UNSIGNED
            for f, conv in zip(fields, converters, strict=True)
        ])
        self.columns, self.convert = mysql.columns(fields)


class Statements:
    """One asyncmy connection's prepared statements, by their text ('format' paramstyle)."""

    __slots__ = ("_closing", "_conn", "_kept", "_refused")

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._kept: dict[str, Prepared] = {}  # in order of use: the first is the oldest
        self._refused: LRU = LRU(REFUSED)  # texts -> True, the least recently refused dropped
        self._closing: list[int] = []  # forgotten while their result was read: closed next

    def kept(self, sql: str) -> Prepared | None:
        """`sql`'s statement, prepared, or None (it is to be prepared: `prepare`)."""
        kept = self._kept
        prepared = kept.pop(sql, None)
        if prepared is not None:
            kept[sql] = prepared  # the most recently used
        return prepared

    def offered(self, sql: str) -> bool:
        """Whether `sql` may be prepared (the server has not refused it)."""
        return sql not in self._refused

    async def prepare(self, sql: str, params: int) -> Prepared | None:
        """`sql` prepared, or None: the server refused it, or it takes other than `params`
        values, returns no rows or a FLOAT (the text protocol's)."""
        conn = self._conn
        self._flush()
        try:
            await conn._execute_command(_PREPARE, mysql.qmark(sql))
            first = await conn.read_packet()
        except asyncmy.errors.MySQLError as exc:
            errno = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
            if 0 < errno < _SERVER_ERRORS and errno != _INTERRUPTED:
                self._refuse(sql)
                return None
            raise  # the connection's error, or a cancel's KILL QUERY: the statement's
        ident, columns, count = struct.unpack_from("<IHH", first.get_all_data(), 1)
        for _ in range(count + (1 if count and not conn._deprecate_eof else 0)):
            await conn.read_packet()  # parameter definitions
        described = _Result(conn)
        described.field_count = columns
        if columns:
            await described._get_descriptions()
        if not columns or count != params \
                or any(f.type_code == FIELD_TYPE.FLOAT for f in described.fields):
            self._close(ident)
            self._refuse(sql)
            return None
        prepared = Prepared(ident, count, described.fields, described.converters)
        kept = self._kept
        kept[sql] = prepared
        if len(kept) > CACHED:
            oldest = next(iter(kept))
            self._close(kept.pop(oldest).ident)
        return prepared

    def forget(self, sql: str) -> None:
        """`sql` goes back to the text protocol on this connection for good (closed before
        the next command: its result may still be coming)."""
        prepared = self._kept.pop(sql, None)
        if prepared is not None:
            self._closing.append(prepared.ident)
        self._refuse(sql)

    def send(self, prepared: Prepared, values: tuple[Any, ...]) -> bool:
        """COM_STMT_EXECUTE of `prepared` with `values`, written now; False (nothing sent):
        the values take more than one packet (the text protocol's)."""
        conn = self._conn
        payload = prepared.header
        if values:
            payload += asyncmy.protocol.pack_binary_params(values, conn._encoding)
        if len(payload) >= _MAX_PACKET:
            return False
        if not conn._connected:
            raise asyncmy.errors.InterfaceError(0, "Not connected")
        self._flush()
        conn._next_seq_id = 0
        conn.write_packet(payload)
        return True

    def _flush(self) -> None:
        closing = self._closing
        while closing:
            self._close(closing.pop())

    def _refuse(self, sql: str) -> None:
        self._refused[sql] = True

    def _close(self, ident: int) -> None:
        """COM_STMT_CLOSE, which the server does not answer: nothing to wait for."""
        conn = self._conn
        conn._next_seq_id = 0
        conn.write_packet(bytes([_CLOSE]) + _HEAD.pack(ident))


def complete(conn: Any, prepared: Prepared) -> tuple[Any, ...] | None:
    """The whole result when it is in the receive buffer, described as prepared, parsed:
    (rows, server status); else None, nothing consumed (`Rows.start` reads it)."""
    if not conn._deprecate_eof:
        return None  # the status would be the classic EOF's: read by Rows
    proto = conn._proto
    buffer, pos = proto.buffer, proto.pos
    if proto.length - pos < 5 or conn._next_seq_id != 1 \
            or not buffer.startswith(prepared.head, pos):
        return None
    parsed = _parse_cached(buffer, pos + 5, proto.length, 2, len(prepared.packets),
                           prepared.specs, True, prepared.packets)
    if parsed is None or parsed[5]:  # incomplete, described otherwise, or more results
        return None
    proto.pos, conn._next_seq_id = parsed[0], parsed[1]
    conn.server_status = parsed[3]
    return parsed[2], parsed[3]


class Rows:
    """A binary result read as it comes: asyncmy's cursor's interface, as AsyncMySQLCursor
    uses it (fetchmany, close, the result's state)."""

    __slots__ = (
        "_pending",
        "_specs",
        "connection",
        "field_count",
        "fields",
        "has_next",
        "rowcount",
        "unbuffered_active",
    )

    def __init__(self, conn: Any, prepared: Prepared, whole: tuple[Any, ...] | None = None) -> None:
        """`whole`: the result as `complete` parsed it; else `start` reads it."""
        self.connection = conn
        self.fields = prepared.fields
        self.field_count = len(prepared.fields)
        self._specs = prepared.specs
        self._pending: list[tuple[Any, ...]] = list(whole[0]) if whole is not None else []
        self.has_next = False
        self.rowcount = -1
        self.unbuffered_active = False

    @property
    def _result(self) -> Rows:
        return self

    async def start(self, prepared: Prepared) -> bool:
        """Read the result's head: whether its columns are the prepared ones (if not,
        `prepared` now describes them, and the statement is for the text protocol)."""
        conn = self.connection
        first = await conn.read_packet()
        if first.is_ok_packet():  # no result set after all
            ok = asyncmy.protocol.OKPacketWrapper(first)
            conn.server_status = ok.server_status
            self.rowcount = ok.affected_rows
            self.fields, self.field_count = [], 0
            return True
        described = _Result(conn)
        described.field_count = first.read_length_encoded_integer()
        await described._get_descriptions()
        fields = described.fields
        same = tuple([f.get_all_data() for f in fields]) == prepared.packets
        if not same:
            prepared.describe(fields, described.converters)
        self.fields, self.field_count = fields, len(fields)
        self._specs = prepared.specs
        self.unbuffered_active = True
        return same

    async def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        rows = self._pending
        conn = self.connection
        proto = conn._proto
        deprecate_eof = conn._deprecate_eof
        specs = self._specs
        try:
            while self.unbuffered_active and len(rows) < size:
                proto.pos, conn._next_seq_id = _parse_rows(
                    proto.buffer, proto.pos, proto.length, specs, conn._next_seq_id, rows,
                    deprecate_eof)
                if len(rows) >= size:
                    break
                packet = await conn.read_packet()  # raises the server's error packet
                if self._ended(packet, deprecate_eof):
                    break
                rows.append(packet.read_binary_row(specs))
        except BaseException:  # the server's error ends the result; any other, the link
            self.unbuffered_active = False
            raise
        if len(rows) <= size:
            self._pending = []
            return rows
        self._pending = rows[size:]
        return rows[:size]

    def _ended(self, packet: Any, deprecate_eof: bool) -> bool:
        """Whether `packet` ends the rows; the connection's status taken from it."""
        if deprecate_eof:
            if packet.get_bytes(0) != b"\xfe":
                return False
            packet.advance(1)
            packet.read_length_encoded_integer()  # affected rows
            packet.read_length_encoded_integer()  # insert id
            status = packet.read_uint16()
        elif packet.is_eof_packet():
            status = asyncmy.protocol.EOFPacketWrapper(packet).server_status
        else:
            return False
        self.connection.server_status = status
        self.unbuffered_active = False
        return True

    async def close(self) -> None:
        """Read out and drop what is left."""
        self._pending = []
        while self.unbuffered_active:
            await self.fetchmany(1024)
            self._pending = []
        self.connection = None
