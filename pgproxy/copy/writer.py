"""COPY TO data: rows of Python values as CopyData messages in text, csv or binary format.

Values are encoded by the same per-column encoders a DataRow uses (chosen once
per column), then escaped (text), quoted (csv) or length-prefixed (binary) as
PostgreSQL's COPY writes them. One CopyData message per row, as PostgreSQL
sends it: clients such as psycopg parse each message as one row.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import tzinfo
from struct import Struct
from typing import Any

from dialects.copy import CopyOptions
from pgproxy import errors
from pgproxy.copy.reader import SIGNATURE
from pgproxy.pgtypes import TEXT_OIDS
from pgproxy.types import BINARY, TEXT, encoder

_I = Struct("!i")
_H = Struct("!h")
_LEN = [_I.pack(i) for i in range(4096)]
_FRAME = [b"d" + _I.pack(i) for i in range(4096)]
_NULL_FIELD = _I.pack(-1)
_TEXT_ESCAPES = {
    b"\\": b"\\\\", b"\b": b"\\b", b"\f": b"\\f", b"\n": b"\\n", b"\r": b"\\r",
    b"\t": b"\\t", b"\v": b"\\v",
}


def copy_data(payload: bytes) -> bytes:
    """One CopyData message (the frame heads of the usual sizes made once)."""
    n = len(payload) + 4
    return (_FRAME[n] if n < 4096 else b"d" + _I.pack(n)) + payload


def writer_for(
    options: CopyOptions,
    names: Sequence[str],
    oids: Sequence[int],
    tz: tzinfo | None = None,
    client: str | None = None,
) -> Writer:
    """`client`: the Python codec of the session's client_encoding (None for UTF-8), which a
    COPY TO without ENCODING writes in, as PostgreSQL does; in binary, text values only."""
    if options.format == "binary":
        writer = BinaryWriter(options, names, oids, tz)
        if client is not None:
            writer.encoders = [
                _transcoding(enc, client) if oid in TEXT_OIDS else enc
                for enc, oid in zip(writer.encoders, oids, strict=True)
            ]
        return writer
    if client is not None and options.encoding is None:
        options = replace(options, encoding=client)
    if options.format == "csv":
        return CsvWriter(options, names, oids, tz)
    return TextWriter(options, names, oids, tz)


def _in_encoding(data: bytes, codec: str) -> bytes:
    """UTF-8 bytes in another encoding; 22P05 for a character it lacks."""
    try:
        return data.decode().encode(codec)
    except UnicodeEncodeError as exc:
        char = exc.object[exc.start]
        raise errors.from_sqlstate(
            "22P05",
            f'character with byte sequence 0x{char.encode().hex()} in encoding "UTF8" has '
            f'no equivalent in encoding "{codec}"',
        ) from None


def _transcoding(enc: Callable[[Any], bytes], codec: str) -> Callable[[Any], bytes]:
    """A text value's encoder in the client's encoding (textsend converts, as textout does)."""

    def encode(v: Any) -> bytes:
        data = enc(v)
        return data if data.isascii() else _in_encoding(data, codec)

    return encode


class Writer(ABC):
    """Frames for the start (a header), each batch of rows, and the end (a trailer)."""

    def __init__(
        self, options: CopyOptions, names: Sequence[str], oids: Sequence[int],
        tz: tzinfo | None,
    ) -> None:
        self.options = options
        self.names = list(names)
        fmt = BINARY if options.format == "binary" else TEXT
        self.encoders: list[Callable[[Any], bytes]] = [encoder(oid, fmt, tz) for oid in oids]
        self._encoding = options.encoding
        self.frame = copy_data if options.encoding is None else self._transcoded

    def _transcoded(self, payload: bytes) -> bytes:
        """A text or csv line in the COPY's ENCODING rather than UTF-8."""
        assert self._encoding is not None
        return copy_data(_in_encoding(payload, self._encoding))

    def start(self) -> bytes:
        return b""

    @abstractmethod
    def rows(self, rows: Sequence[Sequence[Any]]) -> bytes:
        """The rows as CopyData messages in this format."""

    def end(self) -> bytes:
        return b""


class TextWriter(Writer):
    """Tab (or DELIMITER) separated, \\N (or NULL) for NULL, backslash escapes."""

    def __init__(
        self, options: CopyOptions, names: Sequence[str], oids: Sequence[int],
        tz: tzinfo | None,
    ) -> None:
        super().__init__(options, names, oids, tz)
        delim = options.delimiter.encode()
        self._delim = delim
        self._null = options.null.encode()
        table = dict(_TEXT_ESCAPES)
        table.setdefault(delim, b"\\" + delim)
        self._special = re.compile(b"[" + b"".join(re.escape(k) for k in table) + b"]")
        # A row's joined line is clean when it has none of the others and exactly the
        # delimiters the join put in: one check per row, not one per value.
        others = [k for k in table if k != delim]
        self._others = re.compile(b"[" + b"".join(re.escape(k) for k in others) + b"]")
        self._table = table

    def _escape(self, value: bytes) -> bytes:
        if self._special.search(value) is None:
            return value
        table = self._table
        return self._special.sub(lambda m: table[m.group()], value)

    def start(self) -> bytes:
        if not self.options.header:
            return b""
        names = [self._escape(n.encode()) for n in self.names]
        return self.frame(self._delim.join(names) + b"\n")

    def rows(self, rows: Sequence[Sequence[Any]]) -> bytes:
        out = []
        app = out.append
        delim = self._delim
        join = delim.join
        null = self._null
        others = self._others.search
        escape = self._escape
        encoders = self.encoders
        seps = len(encoders) - 1
        frame = self.frame
        for row in rows:
            fields = [null if v is None else enc(v) for enc, v in zip(encoders, row, strict=True)]
            line = join(fields)
            if others(line) is not None or line.count(delim) != seps:
                line = join([f if f is null else escape(f) for f in fields])
            app(frame(line + b"\n"))
        return b"".join(out)


class CsvWriter(Writer):
    """Comma (or DELIMITER) separated; quoted where a value needs it or FORCE_QUOTE asks."""

    def __init__(
        self, options: CopyOptions, names: Sequence[str], oids: Sequence[int],
        tz: tzinfo | None,
    ) -> None:
        super().__init__(options, names, oids, tz)
        self._delim = options.delimiter.encode()
        self._null = options.null.encode()
        q, e = options.quote.encode(), options.escape.encode()
        self._q = q
        self._e = e
        self._special = re.compile(
            b"[" + re.escape(self._delim) + re.escape(q) + b"\r\n" + b"]"
        )
        if options.force_quote == ("*",):
            self._force = [True] * len(self.names)
        else:
            self._force = [n in options.force_quote for n in self.names]
        self._single = len(self.names) == 1

    def _quoted(self, value: bytes, force: bool) -> bytes:
        if not force and value != self._null and self._special.search(value) is None and not (
            self._single and value == b"\\."
        ):
            return value
        q, e = self._q, self._e
        if e != q and e in value:
            value = value.replace(e, e + e)
        if q in value:
            value = value.replace(q, e + q)
        return q + value + q

    def start(self) -> bytes:
        if not self.options.header:
            return b""
        names = [self._quoted(n.encode(), False) for n in self.names]
        return self.frame(self._delim.join(names) + b"\n")

    def rows(self, rows: Sequence[Sequence[Any]]) -> bytes:
        out = []
        app = out.append
        join = self._delim.join
        null = self._null
        quoted = self._quoted
        pairs = list(zip(self.encoders, self._force, strict=True))
        frame = self.frame
        for row in rows:
            fields = []
            for (enc, force), v in zip(pairs, row, strict=True):
                fields.append(null if v is None else quoted(enc(v), force))
            app(frame(join(fields) + b"\n"))
        return b"".join(out)


class BinaryWriter(Writer):
    """The signature and an empty header first, then sized binary fields, then -1."""

    def __init__(
        self, options: CopyOptions, names: Sequence[str], oids: Sequence[int],
        tz: tzinfo | None,
    ) -> None:
        super().__init__(options, names, oids, tz)
        self._pending = SIGNATURE + _I.pack(0) + _I.pack(0)  # goes out with the first row
        self._count = _H.pack(len(self.names))

    def rows(self, rows: Sequence[Sequence[Any]]) -> bytes:
        out = []
        app = out.append
        count = self._count
        encoders = self.encoders
        for row in rows:
            parts = [count]
            for enc, v in zip(encoders, row, strict=True):
                if v is None:
                    parts.append(_NULL_FIELD)
                    continue
                b = enc(v)
                n = len(b)
                parts.append(_LEN[n] if n < 4096 else _I.pack(n))
                parts.append(b)
            payload = b"".join(parts)
            if self._pending:
                payload, self._pending = self._pending + payload, b""
            app(copy_data(payload))
        return b"".join(out)

    def end(self) -> bytes:
        payload, self._pending = self._pending + _H.pack(-1), b""
        return copy_data(payload)
