"""PostgreSQL protocol 3.0 messages: bytes in, message objects out, and back.

Sans-I/O: no asyncio here. `FrameReader` cuts a byte stream into whole
messages; `parse_*` functions decode frontend message bodies; the builder
functions return complete backend messages as bytes. Everything is tested
with byte literals.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pgproxy import errors
from pgproxy.types.strings import invalid_utf8

PROTOCOL_3_0 = 196608  # 3 << 16
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102

# Length limits (the length counts itself), as PostgreSQL's SocketBackend sets
# them: 1 GB for messages that carry statements and values, 10,000 bytes for
# the fixed-size ones and for a startup packet, 64 kB for a password message.
MAX_MESSAGE = (1 << 30) - 2  # PQ_LARGE_MESSAGE_LIMIT
MAX_SMALL = 10_000  # PQ_SMALL_MESSAGE_LIMIT
MAX_STARTUP = 10_000  # MAX_STARTUP_PACKET_LENGTH
MAX_AUTH = 65_535  # PG_MAX_AUTH_TOKEN_LENGTH
_LIMITS = {
    **dict.fromkeys([b"Q", b"P", b"B", b"F", b"d", b"f"], MAX_MESSAGE),
    **dict.fromkeys([b"C", b"D", b"E", b"H", b"S", b"X", b"c"], MAX_SMALL),
    b"p": MAX_AUTH,
}
# A message whose body is at least this large is assembled in a buffer of its
# own as its bytes arrive, and handed out without another copy.
LARGE_BODY = 1 << 20

_i16 = struct.Struct("!h")
_u16 = struct.Struct("!H")
_i32 = struct.Struct("!i")
_head = struct.Struct("!ci")
_i32i32 = struct.Struct("!ii")


class FrameReader:
    """Accumulates bytes and hands out whole messages.

    Before startup completes, messages have no type byte (`startup=True`).
    Returns (type, body) pairs; for startup packets the type is b"". A length
    prefix is checked as soon as it arrives, so an impossible one is refused
    before any of its body is read; a body of LARGE_BODY or more grows in its
    own bytearray, so memory follows the bytes received, not the length claimed.
    """

    __slots__ = ("_buf", "_large", "_large_need", "_large_type", "_pos", "startup")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._large: bytearray | None = None
        self._large_need = 0
        self._large_type = b""
        self.startup = True

    def feed(self, data: bytes) -> None:
        large = self._large
        if large is not None and len(large) < self._large_need:
            take = self._large_need - len(large)
            if take >= len(data):
                large += data
                return
            large += memoryview(data)[:take]
            data = data[take:]
        if self._pos and self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        self._buf += data

    def pending(self) -> int:
        """Bytes received and not yet handed out, past a large message being assembled."""
        return len(self._buf) - self._pos

    def next(self) -> tuple[bytes, bytes] | None:
        """The next whole message, or None when more bytes are needed."""
        large = self._large
        if large is not None:
            if len(large) < self._large_need:
                return None
            self._large = None
            # A bytearray: every parser here reads it as it reads bytes.
            return self._large_type, large  # type: ignore[return-value]
        buf, pos = self._buf, self._pos
        avail = len(buf) - pos
        if self.startup:
            if avail < 4:
                return None
            (length,) = _i32.unpack_from(buf, pos)
            if length < 8 or length > MAX_STARTUP:
                raise errors.ProtocolViolation(f"invalid startup packet length {length}")
            if avail < length:
                return None
            body = bytes(buf[pos + 4 : pos + length])
            self._advance(length)
            return b"", body
        if avail < 5:
            return None
        mtype, length = _head.unpack_from(buf, pos)
        limit = _LIMITS.get(mtype)
        if limit is None:
            raise errors.ProtocolViolation(f"invalid frontend message type {mtype[0]}")
        if length < 4 or length > limit:
            raise errors.ProtocolViolation(f"invalid message length {length} for type {mtype!r}")
        end = pos + 1 + length
        if len(buf) < end:
            if length - 4 >= LARGE_BODY:
                self._start_large(mtype, length - 4)
            return None
        body = bytes(buf[pos + 5 : end])
        # _advance, inline: once per message
        if end > 65536 and end * 2 > len(buf):
            del buf[:end]
            end = 0
        self._pos = end
        return mtype, body

    def between(self) -> bool:
        """Every byte received was handed out: the next one starts a message."""
        return self._large is None and self._pos == len(self._buf)

    def unread_starts(self, data: bytes) -> bool:
        """Whether the bytes not yet handed out begin with `data` (whole messages)."""
        return self._large is None and self._buf.startswith(data, self._pos)

    def skip(self, n: int) -> None:
        """Drop `n` unread bytes: messages answered together with an earlier one."""
        self._advance(n)

    def _start_large(self, mtype: bytes, size: int) -> None:
        # What has arrived of the body moves to a buffer of its own; the shared
        # one is empty afterwards, so bytes keep arriving in order.
        with memoryview(self._buf) as view:
            self._large = bytearray(view[self._pos + 5 :])
        self._large_need = size
        self._large_type = mtype
        self._buf.clear()
        self._pos = 0

    def _advance(self, n: int) -> None:
        self._pos += n
        # Compact now and then so a long-lived connection's buffer stays small.
        if self._pos > 65536 and self._pos * 2 > len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0


# ---------------------------------------------------------------- frontend


class _Body:
    """A cursor over one message body, raising 08P01 on truncation."""

    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def cstr(self, lenient: bool = False) -> str:
        end = self.buf.find(b"\0", self.pos)
        if end < 0:
            raise errors.ProtocolViolation("unterminated string in message")
        if lenient:
            s = self.buf[self.pos : end].decode("utf-8", "replace")
        else:
            s = _text(self.buf, self.pos, end)
        self.pos = end + 1
        return s

    def remaining(self) -> int:
        return len(self.buf) - self.pos

    def u16(self) -> int:
        if self.pos + 2 > len(self.buf):
            raise errors.ProtocolViolation("message too short")
        (v,) = _u16.unpack_from(self.buf, self.pos)
        self.pos += 2
        return v

    def i32(self) -> int:
        if self.pos + 4 > len(self.buf):
            raise errors.ProtocolViolation("message too short")
        (v,) = _i32.unpack_from(self.buf, self.pos)
        self.pos += 4
        return v

    def byte(self) -> bytes:
        if self.pos + 1 > len(self.buf):
            raise errors.ProtocolViolation("message too short")
        v = self.buf[self.pos : self.pos + 1]
        self.pos += 1
        return v

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise errors.ProtocolViolation("message too short")
        v = self.buf[self.pos : self.pos + n]
        self.pos += n
        return v


def _text(buf: bytes, start: int, end: int) -> str:
    """A string of a message: UTF-8, else 22021 naming the bad bytes, as PostgreSQL does.
    A short one (a name, most statements) is decoded from a copy of its bytes, cheaper
    than a view; a long one through a memoryview, so its bytes are not copied first."""
    try:
        if end - start < _VIEW_FROM:
            return buf[start:end].decode()
        with memoryview(buf) as view:
            return str(view[start:end], "utf-8")
    except UnicodeDecodeError as exc:
        raise invalid_utf8(exc.object, exc.start) from None


_VIEW_FROM = 1 << 16


@dataclass(slots=True)
class Startup:
    """A StartupMessage, SSLRequest, GSSENCRequest or CancelRequest."""

    code: int
    params: dict[str, str]
    cancel_pid: int = 0
    cancel_secret: int = 0


def parse_startup(body: bytes) -> Startup:
    b = _Body(body)
    code = b.i32()
    if code == CANCEL_REQUEST:
        pid, secret = b.i32(), b.i32()
        return Startup(code, {}, pid, secret)
    if code in (SSL_REQUEST, GSSENC_REQUEST) or code >> 16 != 3:
        return Startup(code, {})
    params: dict[str, str] = {}
    # Lenient, as before: a startup value in another encoding (an application_name)
    # is no reason to refuse the connection.
    while b.pos < len(body):
        key = b.cstr(lenient=True)
        if not key:
            break
        params[key] = b.cstr(lenient=True)
    return Startup(code, params)


@dataclass(slots=True)
class Parse:
    name: str
    query: str
    param_types: list[int]


def parse_parse(body: bytes) -> Parse:
    # Every unnamed Parse a driver sends before its Bind: read in place, as parse_bind.
    end = body.find(b"\0")
    if end < 0:
        raise errors.ProtocolViolation("unterminated string in message")
    name = _text(body, 0, end) if end else ""
    pos = end + 1
    end = body.find(b"\0", pos)
    if end < 0:
        raise errors.ProtocolViolation("unterminated string in message")
    query = _text(body, pos, end)
    pos = end + 3
    if pos > len(body):
        raise errors.ProtocolViolation("message too short")
    (n,) = _u16.unpack_from(body, pos - 2)
    if 4 * n > len(body) - pos:  # checked before the count sizes anything
        raise errors.ProtocolViolation("insufficient data left in message")
    return Parse(name, query, list(struct.unpack_from(f"!{n}i", body, pos)) if n else [])


@dataclass(slots=True)
class Bind:
    portal: str
    statement: str
    param_formats: list[int]
    params: list[bytes | None]
    result_formats: list[int]


def _parse_bind(body: bytes) -> Bind:
    """A Bind message's fields. (_frames.c reads a well-formed one the same way, and
    hands it any other, so that its error is this one's.)"""
    # The hot path of every extended-protocol statement: plain unpack_from
    # calls rather than a cursor object, with one bounds check per read. Every
    # count is checked against the bytes left before it sizes anything. A large
    # body is a bytearray: its values are cut through a memoryview, one copy each.
    size = len(body)
    src = body if body.__class__ is bytes else memoryview(body)
    try:
        end = body.index(b"\0")
        portal = _text(body, 0, end) if end else ""  # the unnamed portal: most Binds'
        pos = end + 1
        end = body.index(b"\0", pos)
        statement = _text(body, pos, end) if end > pos else ""
        pos = end + 1
        param_formats, pos = _formats(body, pos)
        (count,) = _u16.unpack_from(body, pos)
        pos += 2
        if 4 * count > size - pos:
            raise errors.ProtocolViolation("insufficient data left in message")
        values: list[bytes | None] = []
        append = values.append
        for _ in range(count):
            (length,) = _i32.unpack_from(body, pos)
            pos += 4
            if length == -1:
                append(None)
                continue
            if length < 0 or pos + length > size:
                raise errors.ProtocolViolation("insufficient data left in message")
            append(bytes(src[pos : pos + length]))
            pos += length
        result_formats, pos = _formats(body, pos)
    except (ValueError, struct.error):
        raise errors.ProtocolViolation("malformed Bind message") from None
    finally:
        if src is not body:
            src.release()  # type: ignore[union-attr]
    if pos != size:
        raise errors.ProtocolViolation("invalid message format")
    return Bind(portal, statement, param_formats, values, result_formats)


try:  # built from _frames.c when a C compiler was at hand (pyproject.toml)
    from pgproxy.wire import _frames
except ImportError:
    parse_bind = _parse_bind
else:
    _frames.setup(Bind, _parse_bind)
    parse_bind = _frames.parse_bind


def _formats(body: bytes, pos: int) -> tuple[list[int], int]:
    """A Bind format-code list: int16 count, then the codes, each 0 (text) or 1 (binary)."""
    (n,) = _u16.unpack_from(body, pos)
    pos += 2
    if not n:
        return [], pos
    if n == 1 and pos + 2 <= len(body):  # one code for all: the other common case
        (code,) = _i16.unpack_from(body, pos)
        if code == 0 or code == 1:
            return [code], pos + 2
    if 2 * n > len(body) - pos:
        raise errors.ProtocolViolation("insufficient data left in message")
    codes = list(struct.unpack_from(f"!{n}h", body, pos))
    for code in codes:
        if code not in (0, 1):
            raise errors.InvalidParameterValue(f"unsupported format code: {code}")
    return codes, pos + 2 * n


def parse_describe_or_close(body: bytes) -> tuple[bytes, str]:
    """('S' or 'P', name) for Describe and Close."""
    if len(body) == 2 and body[1] == 0 and (body[0] == 0x50 or body[0] == 0x53):
        return (b"P" if body[0] == 0x50 else b"S"), ""  # the unnamed one: most of them
    b = _Body(body)
    kind = b.byte()
    if kind not in (b"S", b"P"):
        raise errors.ProtocolViolation(f"invalid DESCRIBE/CLOSE message subtype {kind!r}")
    return kind, b.cstr()


def parse_execute(body: bytes) -> tuple[str, int]:
    if len(body) >= 5 and body[0] == 0:  # the unnamed portal: most Executes
        return "", _i32.unpack_from(body, 1)[0]
    b = _Body(body)
    return b.cstr(), b.i32()


def parse_query(body: bytes) -> str:
    end = body.find(b"\0")
    if end < 0:
        raise errors.ProtocolViolation("unterminated string in message")
    return _text(body, 0, end)


def formats_for(formats: Sequence[int], n: int) -> list[int]:
    """Expand Bind's format-code list: none = all text, one = all that one."""
    if not formats:
        return [0] * n
    if len(formats) == 1:
        return [formats[0]] * n
    if len(formats) != n:
        raise errors.ProtocolViolation(
            f"bind message has {len(formats)} format codes but {n} values or columns"
        )
    return list(formats)


# ---------------------------------------------------------------- backend


def message(mtype: bytes, body: bytes = b"") -> bytes:
    return mtype + _i32.pack(len(body) + 4) + body


def _cstr(s: str) -> bytes:
    return s.encode() + b"\0"


def authentication(payload: bytes) -> bytes:
    """AuthenticationRequest: payload starts with the int32 auth code."""
    return message(b"R", payload)


AUTH_OK = message(b"R", _i32.pack(0))
PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
CLOSE_COMPLETE = message(b"3")
NO_DATA = message(b"n")
PORTAL_SUSPENDED = message(b"s")
EMPTY_QUERY = message(b"I")
READY_IDLE = message(b"Z", b"I")
READY = {b"I": READY_IDLE, b"T": message(b"Z", b"T"), b"E": message(b"Z", b"E")}


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", _cstr(name) + _cstr(value))


def backend_key_data(pid: int, secret: int) -> bytes:
    return message(b"K", _i32i32.pack(pid, secret))


_COMPLETE: dict[str, bytes] = {}


def command_complete(tag: str) -> bytes:
    """CommandComplete, built once per tag seen (a point SELECT's 'SELECT 1' every time)."""
    data = _COMPLETE.get(tag)
    if data is None:
        if len(_COMPLETE) > 4096:  # bound the table: row counts vary without end
            _COMPLETE.clear()
        data = _COMPLETE[tag] = message(b"C", _cstr(tag))
    return data


def negotiate_protocol_version(minor: int, unrecognized: Iterable[str]) -> bytes:
    opts = list(unrecognized)
    body = _i32.pack(minor) + _i32.pack(len(opts)) + b"".join(_cstr(o) for o in opts)
    return message(b"v", body)


def error_response(fields: dict[str, str], notice: bool = False) -> bytes:
    body = b"".join(k.encode() + _cstr(v) for k, v in fields.items()) + b"\0"
    return message(b"N" if notice else b"E", body)


def notice_response(text: str) -> bytes:
    """A NOTICE (SQLSTATE 00000) the client shows beside the statement's result."""
    return error_response({"S": "NOTICE", "V": "NOTICE", "C": "00000", "M": text}, notice=True)


def notification_response(pid: int, channel: str, payload: str) -> bytes:
    return message(b"A", _i32.pack(pid) + _cstr(channel) + _cstr(payload))


def parameter_description(oids: Sequence[int]) -> bytes:
    # Up to 65,535 parameters: the count is unsigned on the wire, as PostgreSQL sends it.
    return message(b"t", _u16.pack(len(oids)) + b"".join(_i32.pack(o) for o in oids))


_field = struct.Struct("!iHihih")


def row_description(
    columns: Sequence[tuple[str, int, int, int, int, int]], formats: Sequence[int]
) -> bytes:
    """RowDescription from (name, table_oid, column_number, type_oid, type_size, type_mod)."""
    parts = [_i16.pack(len(columns))]
    for (name, table_oid, colno, oid, size, mod), fmt in zip(columns, formats, strict=True):
        parts.append(_cstr(name))
        parts.append(_field.pack(table_oid, colno, oid, size, mod, fmt))
    return message(b"T", b"".join(parts))


def data_row(values: Sequence[bytes | None]) -> bytes:
    parts = [_i16.pack(len(values))]
    for v in values:
        if v is None:
            parts.append(b"\xff\xff\xff\xff")
        else:
            parts.append(_i32.pack(len(v)))
            parts.append(v)
    return message(b"D", b"".join(parts))


# ---------------------------------------------------------------- COPY

COPY_DONE = message(b"c")
_copy_head = struct.Struct("!bh")


def _copy_response(mtype: bytes, binary: bool, ncols: int) -> bytes:
    fmt = 1 if binary else 0
    return message(mtype, _copy_head.pack(fmt, ncols) + _i16.pack(fmt) * ncols)


def copy_in_response(binary: bool, ncols: int) -> bytes:
    """CopyInResponse: the client may now send CopyData, then CopyDone or CopyFail."""
    return _copy_response(b"G", binary, ncols)


def copy_out_response(binary: bool, ncols: int) -> bytes:
    """CopyOutResponse: CopyData messages (one row each) and CopyDone follow."""
    return _copy_response(b"H", binary, ncols)


def parse_copy_fail(body: bytes) -> str:
    """CopyFail's message: why the client gave up."""
    return _Body(body).cstr()
