"""COPY FROM data in text, csv or binary format, cut into rows of Python values.

A reader is fed the CopyData bytes as they come and returns the complete
rows in them, each value decoded from PostgreSQL's text or binary form by the
same codecs a Bind parameter of the column's type goes through. The per-row
work is kept small: lines and fields are cut with bytes methods, a decoder is
chosen once per column, and the common rows (no escapes, no quotes) go
through a loop generated for the column count. A row the fast loop cannot
take is done again slowly, and that path raises PostgreSQL's error with its
CONTEXT ("COPY t, line 3, column v: ...").
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from struct import Struct
from typing import Any

from dialects.copy import CopyOptions
from pgproxy import errors, pgtypes
from pgproxy.params import backend_value
from pgproxy.types import BINARY, CODECS, TEXT, decoder
from pgproxy.types.arrays import ELEMENT_OID
from pgproxy.types.strings import text_decode

Row = tuple[Any, ...]
_H = Struct("!h")
_I = Struct("!i")
SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_MAX_SHOWN = 100  # bytes of a value or line an error context shows, as PostgreSQL does
_ESCAPES = re.compile(rb"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))", re.DOTALL)
_SIMPLE = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}
_ESCAPE_PIECES = re.compile(rb"(\\.)", re.DOTALL)


def shown(data: bytes) -> str:
    """A value or line as an error's context shows it: at most 100 bytes."""
    text = data[:_MAX_SHOWN].decode("utf-8", "replace")
    return text + "..." if len(data) > _MAX_SHOWN else text


def _unescape_one(m: re.Match[bytes]) -> bytes:
    octal, hexa, other = m.groups()
    if octal is not None:
        return bytes((int(octal, 8) & 0xFF,))
    if hexa is not None:
        return bytes((int(hexa, 16),))
    return _SIMPLE.get(other, other)


def unescape(field: bytes) -> bytes:
    """A text-format field's backslash sequences (\\n, \\t, \\123, \\x41, \\\\ ...) resolved."""
    return _ESCAPES.sub(_unescape_one, field)


def reader_for(
    options: CopyOptions, relname: str, names: Sequence[str], oids: Sequence[int]
) -> Reader:
    if options.format == "binary":
        return BinaryReader(options, relname, names, oids)
    if options.format == "csv":
        return CsvReader(options, relname, names, oids)
    return TextReader(options, relname, names, oids)


class Reader(ABC):
    """What the formats share: columns and their decoders, the line count, error context."""

    def __init__(
        self, options: CopyOptions, relname: str, names: Sequence[str], oids: Sequence[int]
    ) -> None:
        self.options = options
        self.relname = relname
        self.names = list(names)
        if options.format == "binary":
            self.decoders: list[Callable[[bytes], Any]] = [
                _as_backend(_binary_decoder(o), o) for o in oids
            ]
        else:
            self.decoders = [_as_backend(decoder(oid, TEXT), oid) for oid in oids]
        self.line = 0  # lines (binary: tuples) consumed so far
        self.rows = 0  # rows produced
        # The lines of the rows returned since the last clear (text and csv), for an
        # error the backend raises about one of them.
        self.raw: list[bytes] = []

    @abstractmethod
    def feed(self, data: bytes) -> list[Row]:
        """The complete rows in `data` (a CopyData's bytes), the rest kept for the next call."""

    @abstractmethod
    def finish(self) -> list[Row]:
        """The rows left at CopyDone; an incomplete one is an error."""

    def context(self, line: int, column: int | None = None, value: bytes | None = None,
                raw: bytes | None = None) -> str:
        where = f"COPY {self.relname}, line {line}"
        if column is not None:
            where += f", column {self.names[column]}"
            if value is not None:
                return f"{where}: \"{shown(value)}\""
            return where if self.options.format == "binary" else f"{where}: null input"
        if raw is not None:
            return f"{where}: \"{shown(raw)}\""
        return where

    def convert(self, line: int, fields: Sequence[bytes | None], raw: bytes | None) -> Row:
        """One row's fields decoded; a failure carries the line and column as context."""
        ncols = len(self.decoders)
        if len(fields) < ncols:
            raise errors.BadCopyFileFormat(
                f'missing data for column "{self.names[len(fields)]}"',
                context=self.context(line, raw=raw),
            )
        if len(fields) > ncols:
            raise errors.BadCopyFileFormat(
                "extra data after last expected column", context=self.context(line, raw=raw)
            )
        out = []
        for i, (dec, value) in enumerate(zip(self.decoders, fields, strict=True)):
            if value is None:
                out.append(None)
                continue
            try:
                out.append(dec(value))
            except errors.PgError as exc:
                exc.context = self.context(line, i, value)
                raise
            except (ValueError, TypeError, OverflowError) as exc:
                raise errors.InvalidTextRepresentation(
                    str(exc), context=self.context(line, i, value)
                ) from None
        return tuple(out)


class _LineReader(Reader):
    """Text and csv: input cut at newlines, an optional header line, the \\. end marker."""

    def __init__(
        self, options: CopyOptions, relname: str, names: Sequence[str], oids: Sequence[int]
    ) -> None:
        super().__init__(options, relname, names, oids)
        self._tail = b""
        self._crlf: bool | None = None  # the first line's end decides, as in PostgreSQL
        self._header = options.header
        self._ended = False  # saw the \. end marker: the rest is ignored
        self._at_end = False  # finish(): the last line needs no newline
        self._encoding = options.encoding
        self._delim = options.delimiter.encode()
        self._null = options.null.encode()

    def feed(self, data: bytes) -> list[Row]:
        if self._ended:
            return []
        buf = self._tail + data if self._tail else data
        cut = self._cut(buf)
        if cut < 0:
            self._tail = buf
            return []
        self._tail = buf[cut + 1 :]
        return self._block(buf[:cut])

    def _cut(self, buf: bytes) -> int:
        """Where the last complete line of `buf` ends (-1: none yet)."""
        return buf.rfind(b"\n")

    def finish(self) -> list[Row]:
        tail, self._tail = self._tail, b""
        if self._ended or not tail:
            return []
        self._at_end = True
        return self._block(tail)

    def _block(self, block: bytes) -> list[Row]:
        if self._encoding is not None:
            try:
                block = block.decode(self._encoding).encode()
            except UnicodeDecodeError as exc:
                raise errors.CharacterNotInRepertoire(
                    f'invalid byte sequence for encoding "{self._encoding}": '
                    f"0x{block[exc.start]:02x}",
                    context=f"COPY {self.relname}, line {self.line + 1}",
                ) from None
        lines = block.split(b"\n")
        if self._crlf is None:
            self._crlf = lines[0].endswith(b"\r")
        if b"\r" in block:
            lines = self._strip_cr(lines, final=self._at_end)
        if b"\\." in block:
            lines = self._until_marker(lines)
        if self._header:
            self._header = False
            self.line += 1
            self._check_header(lines[0])
            lines = lines[1:]
        return self._lines(lines)

    def _strip_cr(self, lines: list[bytes], final: bool) -> list[bytes]:
        if not self._crlf:
            return lines  # a text-format line with \r is refused by its parse
        out = []
        last = len(lines) - 1
        for n, line in enumerate(lines):
            if not line.endswith(b"\r"):
                if final and n == last:  # the data's last line may end without a newline
                    out.append(line)
                    continue
                raise errors.BadCopyFileFormat(
                    "literal newline found in data",
                    hint='Use "\\n" to represent newline.',
                    context=f"COPY {self.relname}, line {self.line + n + 1}",
                )
            out.append(line[:-1])
        return out

    def _until_marker(self, lines: list[bytes]) -> list[bytes]:
        for n, line in enumerate(lines):
            if line == b"\\.":
                self._ended = True
                return lines[:n]
        return lines

    def _check_header(self, line: bytes) -> None:
        if not self.options.header_match:
            return
        fields = self.fields(line, self.line)
        for i, name in enumerate(self.names):
            got = fields[i] if i < len(fields) else None
            if got is None or got.decode("utf-8", "replace") != name:
                shown = "null value" if got is None else f'"{got.decode("utf-8", "replace")}"'
                raise errors.BadCopyFileFormat(
                    f'column name mismatch in header line field {i + 1}: got {shown}, '
                    f'expected "{name}"',
                    context=f"COPY {self.relname}, line {self.line}",
                )
        if len(fields) != len(self.names):
            raise errors.BadCopyFileFormat(
                "wrong number of fields in header line: "
                f"got {len(fields)}, expected {len(self.names)}",
                context=f"COPY {self.relname}, line {self.line}",
            )

    def _lines(self, lines: list[bytes]) -> list[Row]:
        first = self.line
        try:
            rows = self._fast(lines)
        except Exception:  # the slow path finds the row and raises PostgreSQL's error
            rows = self._slow(lines, first)
        self.line = first + len(lines)
        self.rows += len(rows)
        self.raw += lines
        return rows

    def _slow(self, lines: list[bytes], first: int) -> list[Row]:
        return [
            self.convert(first + n + 1, self.fields(line, first + n + 1), line)
            for n, line in enumerate(lines)
        ]

    @abstractmethod
    def _fast(self, lines: list[bytes]) -> list[Row]:
        """The lines' rows in one pass; any failure sends them to the slow path, which finds
        the bad row and raises PostgreSQL's error."""

    @abstractmethod
    def fields(self, line: bytes, number: int) -> list[bytes | None]:
        """One line's fields, unescaped (None for NULL); `number` names the line in an error."""


class TextReader(_LineReader):
    """PostgreSQL's text format: delimiter-separated, backslash escapes, \\N for NULL."""

    def __init__(
        self, options: CopyOptions, relname: str, names: Sequence[str], oids: Sequence[int]
    ) -> None:
        super().__init__(options, relname, names, oids)
        self._fast_loop = _loop("text", _kinds(oids), frozenset())(
            self._delim, b"\\" + self._delim, self._null, unescape, *self.decoders
        )

    def _fast(self, lines: list[bytes]) -> list[Row]:
        return self._fast_loop(lines, self._slow_one)

    def _slow_one(self, line: bytes) -> Row:
        return self.convert(0, self.fields(line, 0), line)

    def _cut(self, buf: bytes) -> int:
        cut = buf.rfind(b"\n")
        while cut > 0 and _odd_backslashes(buf, cut):
            cut = buf.rfind(b"\n", 0, cut)  # that newline is data (backslash-newline)
        return cut

    def _block(self, block: bytes) -> list[Row]:
        if b"\\\n" in block:
            block = self._escaped_newlines(block)
        return super()._block(block)

    def _escaped_newlines(self, block: bytes) -> bytes:
        """A backslash before a newline makes the newline data: write it as \\n instead."""
        out = []
        pos = 0
        while (i := block.find(b"\\\n", pos)) >= 0:
            if _odd_backslashes(block, i + 1):
                out.append(block[pos:i] + b"\\n")
            else:
                out.append(block[pos : i + 2])
            pos = i + 2
        out.append(block[pos:])
        return b"".join(out)

    def fields(self, line: bytes, number: int) -> list[bytes | None]:
        if b"\r" in line:
            raise errors.BadCopyFileFormat(
                "literal carriage return found in data",
                hint='Use "\\r" to represent carriage return.',
                context=f"COPY {self.relname}, line {number}",
            )
        if b"\\" not in line:
            raw = line.split(self._delim)
        else:
            # Escapes first, so that an escaped delimiter does not split the field.
            raw = [b""]
            for n, piece in enumerate(_ESCAPE_PIECES.split(line)):
                if n % 2:
                    raw[-1] += piece
                else:
                    parts = piece.split(self._delim)
                    raw[-1] += parts[0]
                    raw.extend(parts[1:])
        null = self._null
        return [None if f == null else unescape(f) if b"\\" in f else f for f in raw]


def _odd_backslashes(data: bytes, end: int) -> bool:
    """Whether the run of backslashes ending just before `end` has odd length."""
    n = 0
    while end - n - 1 >= 0 and data[end - n - 1] == 0x5C:
        n += 1
    return n % 2 == 1


class CsvReader(_LineReader):
    """CSV: quoted fields may hold delimiters, quotes (doubled or escaped) and newlines."""

    def __init__(
        self, options: CopyOptions, relname: str, names: Sequence[str], oids: Sequence[int]
    ) -> None:
        super().__init__(options, relname, names, oids)
        self._quote = options.quote.encode()
        self._escape = options.escape.encode()
        self._open = b""  # a record whose quoted field goes on past the lines seen so far
        every = set(range(len(self.names)))
        self._not_null = _column_set(options.force_not_null, self.names, every)
        self._force_null = _column_set(options.force_null, self.names, every)
        self._fast_loop = _loop("csv", _kinds(oids), frozenset(self._not_null))(
            self._delim, self._quote, self._null, None, *self.decoders
        )

    def _block(self, block: bytes) -> list[Row]:
        if self._open:
            block = self._open + b"\n" + block
            self._open = b""
        return super()._block(block)

    def finish(self) -> list[Row]:
        complete = self._open and not self._tail  # the open record ended with a newline
        rows = super().finish()
        if self._open:
            record = self._open + b"\n" if complete else self._open
            line = self.line + record.count(b"\n") + 1
            raise errors.BadCopyFileFormat(
                "unterminated CSV quoted field",
                context=f"COPY {self.relname}, line {line}: \"{shown(record)}\"",
            )
        return rows

    def _strip_cr(self, lines: list[bytes], final: bool) -> list[bytes]:
        # CSV keeps \r inside quoted fields; a CRLF file's line ends lose theirs.
        if not self._crlf:
            return lines
        return [line[:-1] if line.endswith(b"\r") else line for line in lines]

    def _lines(self, lines: list[bytes]) -> list[Row]:
        q = self._quote
        if any(q in ln for ln in lines):
            lines = self._records(lines)
        return super()._lines(lines)

    def _records(self, lines: list[bytes]) -> list[bytes]:
        """Lines joined where a quoted field spans them; an open last record waits."""
        out: list[bytes] = []
        pending = b""
        q = self._quote
        # With ESCAPE = QUOTE a record is whole when its quotes pair up.
        doubled = self._escape == q
        for line in lines:
            record = pending + b"\n" + line if pending else line
            if q in record and (
                record.count(q) % 2 if doubled else self._split(record) is None
            ):
                pending = record
                continue
            pending = b""
            out.append(record)
        if pending:
            self._open = pending
        return out

    def _fast(self, lines: list[bytes]) -> list[Row]:
        return self._fast_loop(lines, self._slow_one)

    def _slow_one(self, line: bytes) -> Row:
        return self.convert(0, self.fields(line, 0), line)

    def fields(self, line: bytes, number: int) -> list[bytes | None]:
        split = self._split(line)
        if split is None:
            raise errors.BadCopyFileFormat(
                "unterminated CSV quoted field", context=self.context(number, raw=line)
            )
        null = self._null
        out: list[bytes | None] = []
        for i, (value, quoted) in enumerate(split):
            if value == null and (
                (not quoted and i not in self._not_null) or (quoted and i in self._force_null)
            ):
                out.append(None)
            else:
                out.append(value)
        return out

    def _split(self, record: bytes) -> list[tuple[bytes, bool]] | None:
        """The fields of one record and whether each was quoted; None if a quote is open.

        PostgreSQL's rules: a quote anywhere in a field opens a quoted part; inside
        it, the escape character before a quote or an escape makes that character
        literal (with ESCAPE = QUOTE, a doubled quote), and a lone quote closes it.
        The scan jumps between these characters with bytes.find.
        """
        d, q, e = self._delim, self._quote, self._escape
        find = record.find
        fields: list[tuple[bytes, bool]] = []
        i = 0
        while True:  # one field
            parts: list[bytes] = []
            quoted = False
            while True:  # its unquoted part, up to the delimiter or a quote
                jd, jq = find(d, i), find(q, i)
                if jq < 0 or 0 <= jd < jq:
                    break
                parts.append(record[i:jq])
                quoted = True
                i = jq + 1
                while True:  # a quoted part, to its closing quote
                    kq = find(q, i)
                    if kq < 0:
                        return None
                    # an escape before that quote (with ESCAPE = QUOTE, the quote itself)
                    ke = kq if e == q else find(e, i, kq)
                    if ke >= 0 and record[ke + 1 : ke + 2] in (q, e):
                        parts.append(record[i:ke])
                        parts.append(record[ke + 1 : ke + 2])
                        i = ke + 2
                        continue
                    parts.append(record[i:kq])
                    i = kq + 1
                    break
            if jd < 0:
                parts.append(record[i:])
                fields.append((b"".join(parts), quoted))
                return fields
            parts.append(record[i:jd])
            fields.append((b"".join(parts), quoted))
            i = jd + 1


def _column_set(names: Sequence[str], columns: list[str], every: set[int]) -> set[int]:
    if tuple(names) == ("*",):
        return every
    out = set()
    for name in names:
        if name not in columns:
            raise errors.from_sqlstate(
                "42P10", f'column "{name}" named in a FORCE option is not referenced by COPY'
            )
        out.add(columns.index(name))
    return out


# ---------------------------------------------------------------- generated loops
#
# The loops inline the common decoders as the builtins they come down to (int()
# with the type's range, float(), str(b, "utf-8"): the same values the codecs
# give); anything else, and every failure, goes through the codec itself, on the
# slow path that reports the error with its context.

_LOOPS: dict[Any, Callable[..., Any]] = {}
_INT_RANGES = {
    pgtypes.INT2: (-(1 << 15), (1 << 15) - 1),
    pgtypes.INT4: (-(1 << 31), (1 << 31) - 1),
    pgtypes.INT8: (-(1 << 63), (1 << 63) - 1),
}


def _kinds(oids: Sequence[int]) -> tuple[str, ...]:
    out = []
    for oid in oids:
        codec = CODECS.get(oid)
        if oid in _INT_RANGES:
            out.append(f"int{oid}")
        elif oid in (pgtypes.FLOAT8, pgtypes.FLOAT4):
            out.append("float")
        elif codec is None or codec.text_decode is text_decode:
            out.append("str")
        else:
            out.append("any")
    return tuple(out)


def _value(i: int, kind: str, escapes: bool) -> str:
    """The expression decoding field f{i} (not NULL) of `kind`."""
    if kind.startswith("int"):
        lo, hi = _INT_RANGES[int(kind[3:])]
        return f"(x{i} if {lo} <= (x{i} := int_(f{i})) <= {hi} else C{i}(f{i}))"
    if kind == "float":
        return f"float_(f{i})"
    plain = f"str_(f{i}, 'utf-8')" if kind == "str" else f"C{i}(f{i})"
    return f"({plain} if BS not in f{i} else C{i}(U(f{i})))" if escapes else plain


def _loop(fmt: str, kinds: tuple[str, ...], not_null: frozenset[int]) -> Callable[..., Any]:
    """A loop over lines for this format and these column kinds, compiled once."""
    key = (fmt, kinds, not_null)
    make = _LOOPS.get(key)
    if make is None:
        n = len(kinds)
        names = ", ".join(f"f{i}" for i in range(n)) + ("," if n == 1 else "")
        values = ", ".join(
            _value(i, k, fmt == "text") if i in not_null
            else f"None if f{i} == N else {_value(i, k, fmt == 'text')}"
            for i, k in enumerate(kinds)
        )
        # text: a line with an escaped delimiter or a \r; csv: one with a quote
        odd = "SKIP in line or 13 in line" if fmt == "text" else "SKIP in line"
        src = (
            f"def make(D, SKIP, N, U, {', '.join(f'C{i}' for i in range(n))}):\n"
            "    BS = b'\\\\'\n"
            "    int_, float_, str_ = int, float, str\n"
            "    def loop(lines, slow):\n"
            "        out = []\n"
            "        app = out.append\n"
            "        for line in lines:\n"
            f"            if {odd}:\n"
            "                app(slow(line))\n"
            "                continue\n"
            f"            {names} = line.split(D)\n"
            f"            app(({values},))\n"
            "        return out\n"
            "    return loop\n"
        )
        ns: dict[str, Any] = {}
        exec(compile(src, f"<copy {fmt} loop {''.join(k[0] for k in kinds)}>", "exec"), ns)
        if len(_LOOPS) > 256:
            _LOOPS.clear()
        make = _LOOPS[key] = ns["make"]
    return make


# ---------------------------------------------------------------- binary

_SIZED_INTS = {2: Struct("!h").unpack, 4: Struct("!i").unpack, 8: Struct("!q").unpack}
_SIZED_FLOATS = {4: Struct("!f").unpack, 8: Struct("!d").unpack}


def _binary_decoder(oid: int) -> Callable[[bytes], Any]:
    """The codec's binary decoder, but an integer (float) column takes any integer
    (float) width: a backend's types are not always PostgreSQL's (SQLite's rowid
    column is int8 where PostgreSQL would say int4), and a client sends the width of
    the type it was told or chose. The value must still fit the column's type."""
    codec_decode = decoder(oid, BINARY)
    if oid in _INT_RANGES:
        lo, hi = _INT_RANGES[oid]

        def decode_int(b: bytes) -> Any:
            unpack = _SIZED_INTS.get(len(b))
            if unpack is None:
                return codec_decode(b)  # its error
            (v,) = unpack(b)
            if not lo <= v <= hi:
                return codec_decode(b)  # the width is wrong for a value this large
            return v

        return decode_int
    if oid in (pgtypes.FLOAT4, pgtypes.FLOAT8):

        def decode_float(b: bytes) -> Any:
            unpack = _SIZED_FLOATS.get(len(b))
            return unpack(b)[0] if unpack is not None else codec_decode(b)

        return decode_float
    return codec_decode



# Types whose decoded value a backend binds in a form of the proxy's (params.backend_value):
# arrays as JSON, intervals as text, NaN and ±Infinity as text.
_CONVERTED = frozenset(ELEMENT_OID) | {
    pgtypes.INTERVAL, pgtypes.FLOAT4, pgtypes.FLOAT8, pgtypes.NUMERIC
}


def _as_backend(decode: Callable[[bytes], Any], oid: int) -> Callable[[bytes], Any]:
    if oid not in _CONVERTED:
        return decode
    return lambda b: backend_value(decode(b))


class BinaryReader(Reader):
    """PostgreSQL's binary COPY: a signature, then per tuple a field count and sized fields."""

    def __init__(
        self, options: CopyOptions, relname: str, names: Sequence[str], oids: Sequence[int]
    ) -> None:
        super().__init__(options, relname, names, oids)
        self._buf = b""
        self._header = True
        self._ended = False

    def feed(self, data: bytes) -> list[Row]:
        buf = self._buf + data if self._buf else data
        if self._ended:
            if buf:
                raise errors.BadCopyFileFormat(
                    "received copy data after EOF marker",
                    context=f"COPY {self.relname}, line {self.line}",
                )
            return []
        pos = 0
        if self._header:
            pos = self._read_header(buf)
            if pos < 0:
                self._buf = buf
                return []
            self._header = False
        rows, pos = self._tuples(buf, pos)
        self.rows += len(rows)
        self._buf = buf[pos:]
        if self._ended and self._buf:
            raise errors.BadCopyFileFormat(
                "received copy data after EOF marker",
                context=f"COPY {self.relname}, line {self.line}",
            )
        return rows

    def finish(self) -> list[Row]:
        if self._buf or (self._header and not self._ended):
            if self._header and not self._buf:
                return []  # no data at all: an empty COPY
            raise errors.BadCopyFileFormat(
                "unexpected EOF in COPY data", context=f"COPY {self.relname}, line {self.line + 1}"
            )
        return []

    def _read_header(self, buf: bytes) -> int:
        if len(buf) < 19:
            if not SIGNATURE.startswith(buf[:11]):
                raise errors.BadCopyFileFormat("COPY file signature not recognized")
            return -1
        if buf[:11] != SIGNATURE:
            raise errors.BadCopyFileFormat("COPY file signature not recognized")
        (flags,) = _I.unpack_from(buf, 11)
        if flags & (1 << 16):
            raise errors.BadCopyFileFormat("invalid COPY file header (WITH OIDS)")
        if flags & 0xFFFE0000:
            raise errors.BadCopyFileFormat("unrecognized critical flags in COPY file header")
        (ext,) = _I.unpack_from(buf, 15)
        if ext < 0:
            raise errors.BadCopyFileFormat("invalid COPY file header (missing length)")
        if len(buf) < 19 + ext:
            return -1
        return 19 + ext

    def _tuples(self, buf: bytes, pos: int) -> tuple[list[Row], int]:
        rows: list[Row] = []
        app = rows.append
        n = len(buf)
        decoders = self.decoders
        ncols = len(decoders)
        h_unpack = _H.unpack_from
        i_unpack = _I.unpack_from
        while pos + 2 <= n:
            (count,) = h_unpack(buf, pos)
            if count == -1:
                self._ended = True
                return rows, pos + 2
            line = self.line + 1
            if count != ncols:
                raise errors.BadCopyFileFormat(
                    f"row field count is {count}, expected {ncols}",
                    context=f"COPY {self.relname}, line {line}",
                )
            p = pos + 2
            row = []
            for i, dec in enumerate(decoders):
                if p + 4 > n:
                    return rows, pos
                (size,) = i_unpack(buf, p)
                p += 4
                if size == -1:
                    row.append(None)
                    continue
                if size < -1:
                    raise errors.BadCopyFileFormat(
                        "invalid field size", context=f"COPY {self.relname}, line {line}"
                    )
                end = p + size
                if end > n:
                    return rows, pos
                try:
                    row.append(dec(buf[p:end]))
                except errors.PgError as exc:
                    exc.context = self.context(line, i)
                    raise
                except (ValueError, TypeError, OverflowError) as exc:
                    raise errors.InvalidBinaryRepresentation(
                        str(exc), context=self.context(line, i)
                    ) from None
                p = end
            app(tuple(row))
            self.line = line
            pos = p
        return rows, pos
