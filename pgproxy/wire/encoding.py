"""client_encoding at the wire: text in the client's encoding outside, UTF-8 inside.

PostgreSQL converts at the protocol boundary: query text and text parameters
on the way in, result values, column names, error messages and parameter
values on the way out. The proxy does the same, so the rest of it only ever
sees UTF-8. UTF8 and SQL_ASCII clients get no conversion at all (PostgreSQL
does none for SQL_ASCII either), and nothing on their path changes.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence

from pgproxy import errors, pgtypes

# PostgreSQL's encoding names -> Python codecs (None: bytes pass unchanged).
_CODECS: dict[str, str | None] = {
    "UTF8": None, "SQL_ASCII": None,
    "LATIN1": "latin-1", "LATIN2": "iso8859-2", "LATIN3": "iso8859-3", "LATIN4": "iso8859-4",
    "LATIN5": "iso8859-9", "LATIN6": "iso8859-10", "LATIN7": "iso8859-13",
    "LATIN8": "iso8859-14", "LATIN9": "iso8859-15", "LATIN10": "iso8859-16",
    "ISO_8859_5": "iso8859-5", "ISO_8859_6": "iso8859-6", "ISO_8859_7": "iso8859-7",
    "ISO_8859_8": "iso8859-8",
    "WIN866": "cp866", "WIN874": "cp874", "WIN1250": "cp1250", "WIN1251": "cp1251",
    "WIN1252": "cp1252", "WIN1253": "cp1253", "WIN1254": "cp1254", "WIN1255": "cp1255",
    "WIN1256": "cp1256", "WIN1257": "cp1257", "WIN1258": "cp1258",
    "KOI8R": "koi8-r", "KOI8U": "koi8-u",
    "EUC_JP": "euc_jp", "EUC_JIS_2004": "euc_jis_2004", "SJIS": "cp932",
    "SHIFT_JIS_2004": "shift_jis_2004", "EUC_KR": "euc_kr", "EUC_CN": "gb2312",
    "GBK": "gbk", "GB18030": "gb18030", "BIG5": "cp950", "UHC": "cp949", "JOHAB": "johab",
    # PostgreSQL converts EUC_TW; Python has no codec for it: ASCII passes, the rest is 0A000.
    "EUC_TW": "ascii",
}
_ASCII_ONLY = frozenset({"EUC_TW"})
_MULTIBYTE = frozenset({"EUC_TW", "EUC_JP", "EUC_JIS_2004", "SJIS", "SHIFT_JIS_2004", "EUC_KR",
                        "EUC_CN", "GBK", "GB18030", "BIG5", "UHC", "JOHAB"})
# PostgreSQL's aliases (pg_encname_tbl), compared with punctuation removed, lower-cased.
_ALIASES = {
    "abc": "WIN1258", "alt": "WIN866", "koi8": "KOI8R", "mskanji": "SJIS", "shiftjis": "SJIS",
    "tcvn": "WIN1258", "tcvn5712": "WIN1258", "unicode": "UTF8", "vscii": "WIN1258",
    "win": "WIN1251", "win932": "SJIS", "win936": "GBK", "win949": "UHC", "win950": "BIG5",
    "iso88591": "LATIN1", "iso88592": "LATIN2", "iso88593": "LATIN3", "iso88594": "LATIN4",
    "iso88599": "LATIN5", "iso885910": "LATIN6", "iso885913": "LATIN7",
    "iso885914": "LATIN8", "iso885915": "LATIN9", "iso885916": "LATIN10",
    "windows932": "SJIS", "windows936": "GBK", "windows949": "UHC", "windows950": "BIG5",
}
_ALIASES.update({re.sub(r"[^a-z0-9]", "", n.lower()): n for n in _CODECS})
_ALIASES.update({f"windows{n[3:]}": n for n in _CODECS if n.startswith("WIN")})
_KNOWN_UNCONVERTIBLE = {"muleinternal": "MULE_INTERNAL"}


def canonical(value: str) -> str:
    """PostgreSQL's name for a client_encoding value ('latin-1' -> 'LATIN1'), or 22023."""
    key = re.sub(r"[^a-z0-9]", "", value.lower())
    name = _ALIASES.get(key)
    if name is not None:
        return name
    other = _KNOWN_UNCONVERTIBLE.get(key)
    detail = f"Conversion between {other} and UTF8 is not supported." if other else None
    raise errors.InvalidParameterValue(
        f'invalid value for parameter "client_encoding": "{value}"', detail=detail
    )


def _bytes_text(data: bytes) -> str:
    return " ".join(f"0x{b:02x}" for b in data)


class ClientEncoding:
    """Conversion between one client encoding and UTF-8."""

    __slots__ = ("codec", "name")

    def __init__(self, name: str, codec: str) -> None:
        self.name = name
        self.codec = codec

    def to_server(self, data: bytes) -> bytes:
        """Client bytes to UTF-8 (22021/22P05 for bytes the encoding does not define)."""
        if data.isascii():
            return data
        try:
            return data.decode(self.codec).encode()
        except UnicodeDecodeError as exc:
            bad = exc.object[exc.start : exc.end]
            self._ascii_only(bad)
            if self.name in _MULTIBYTE:
                raise errors.CharacterNotInRepertoire(
                    f'invalid byte sequence for encoding "{self.name}": {_bytes_text(bad)}'
                ) from None
            raise errors.UntranslatableCharacter(
                f'character with byte sequence {_bytes_text(bad)} in encoding "{self.name}" '
                'has no equivalent in encoding "UTF8"'
            ) from None

    def to_client(self, data: bytes) -> bytes:
        """UTF-8 bytes to the client's encoding (22P05 for a character it lacks)."""
        if data.isascii():
            return data
        text = data.decode("utf-8", "surrogateescape")
        try:
            return text.encode(self.codec)
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start : exc.end].encode("utf-8", "surrogateescape")
            self._ascii_only(bad)
            raise errors.UntranslatableCharacter(
                f'character with byte sequence {_bytes_text(bad)} in encoding "UTF8" '
                f'has no equivalent in encoding "{self.name}"'
            ) from None

    def _ascii_only(self, bad: bytes) -> None:
        if self.name in _ASCII_ONLY:
            raise errors.FeatureNotSupported(
                f"pgproxy converts only ASCII text to and from {self.name}: "
                f"byte sequence {_bytes_text(bad)} cannot be converted"
            )

    def text(self, s: str) -> bytes:
        """A message text for the client; what it cannot show becomes '?'."""
        return s.encode(self.codec, "replace")


def lookup(name: str) -> ClientEncoding | None:
    """The conversion for a canonical client_encoding; None when bytes pass unchanged."""
    codec = _CODECS.get(name)
    return None if codec is None else ClientEncoding(name, codec)


# ---------------------------------------------------------------- whole messages

TEXT_OIDS = pgtypes.TEXT_OIDS  # types whose binary form is text too

_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")
_HEAD = struct.Struct("!ci")


def query_in(enc: ClientEncoding, mtype: bytes, body: bytes) -> bytes:
    """A Query's or Parse's text to UTF-8 (its NUL-terminated strings; Parse's OIDs stay)."""
    if mtype == b"Q":
        return enc.to_server(body)
    end = body.find(b"\0", body.find(b"\0") + 1) + 1
    if end <= 0:
        return body  # malformed: the parser reports it
    return enc.to_server(body[:end]) + body[end:]


def params_in(
    enc: ClientEncoding, values: list[bytes | None], convert: Sequence[bool]
) -> list[bytes | None]:
    """Bind's parameter values to UTF-8 where they are text (`convert` per parameter)."""
    return [
        v if v is None or not c else enc.to_server(bytes(v))
        for v, c in zip(values, convert, strict=True)
    ]


def rows_out(enc: ClientEncoding, data: bytes, convert: Sequence[bool]) -> bytes:
    """DataRow messages with their text values (`convert` per column) in the client's encoding."""
    if data.isascii():
        return data
    out: list[bytes] = []
    pos, size = 0, len(data)
    while pos < size:
        mtype, length = _HEAD.unpack_from(data, pos)
        end = pos + 1 + length
        if mtype != b"D":
            out.append(data[pos:end])
            pos = end
            continue
        (n,) = _I16.unpack_from(data, pos + 5)
        cols = [data[pos + 5 : pos + 7]]
        p = pos + 7
        for i in range(n):
            (vlen,) = _I32.unpack_from(data, p)
            p += 4
            if vlen < 0:
                cols.append(b"\xff\xff\xff\xff")
                continue
            value = data[p : p + vlen]
            p += vlen
            if convert[i]:
                value = enc.to_client(value)
            cols.append(_I32.pack(len(value)) + value)
        body = b"".join(cols)
        out.append(b"D" + _I32.pack(len(body) + 4) + body)
        pos = end
    return b"".join(out)


def converted(formats: Sequence[int], oids: Sequence[int]) -> list[bool]:
    """Which values are text in the client's encoding: all text-format ones, and text types."""
    return [f == 0 or oid in TEXT_OIDS for f, oid in zip(formats, oids, strict=True)]


def message_out(enc: ClientEncoding, msg: bytes) -> bytes:
    """A message whose body is all text (ErrorResponse, ParameterStatus) for the client;
    what its encoding cannot show becomes '?', as a message must still get through."""
    if msg.isascii():
        return msg
    body = enc.text(msg[5:].decode("utf-8", "surrogateescape"))
    return msg[:1] + _I32.pack(len(body) + 4) + body


def row_description_out(enc: ClientEncoding, data: bytes) -> bytes:
    """A RowDescription with its column names in the client's encoding."""
    if data.isascii():
        return data
    (n,) = _I16.unpack_from(data, 5)
    parts = [data[5:7]]
    p = 7
    for _ in range(n):
        end = data.index(b"\0", p)
        name = data[p:end].decode("utf-8", "surrogateescape")
        parts.append(enc.text(name) + b"\0" + data[end + 1 : end + 19])
        p = end + 19
    body = b"".join(parts)
    return b"T" + _I32.pack(len(body) + 4) + body
