"""A raw PostgreSQL protocol client for tests that must send what no driver would."""

from __future__ import annotations

import random
import socket
import struct
import time
from dataclasses import dataclass, field


def frame(mtype: bytes, body: bytes = b"") -> bytes:
    return mtype + struct.pack("!i", len(body) + 4) + body


def startup(user: str = "tester", database: str = "app", **params: str) -> bytes:
    pairs = {"user": user, "database": database, **params}
    body = (
        struct.pack("!i", 196608)
        + b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in pairs.items())
        + b"\0"
    )
    return struct.pack("!i", len(body) + 4) + body


def query(sql: str | bytes) -> bytes:
    return frame(b"Q", (sql.encode() if isinstance(sql, str) else sql) + b"\0")


def parse(sql: str | bytes, types: tuple[int, ...] = (), name: bytes = b"") -> bytes:
    text = sql.encode() if isinstance(sql, str) else sql
    body = name + b"\0" + text + b"\0" + struct.pack("!H", len(types))
    return frame(b"P", body + b"".join(struct.pack("!i", t) for t in types))


def bind(values: list[bytes | None], formats: tuple[int, ...] = (), result_formats=()) -> bytes:
    body = b"\0\0" + struct.pack("!H", len(formats))
    body += b"".join(struct.pack("!h", f) for f in formats)
    body += struct.pack("!H", len(values))
    for v in values:
        body += struct.pack("!i", -1) if v is None else struct.pack("!i", len(v)) + v
    body += struct.pack("!H", len(result_formats))
    body += b"".join(struct.pack("!h", f) for f in result_formats)
    return frame(b"B", body)


def execute() -> bytes:
    return frame(b"E", b"\0" + struct.pack("!i", 0))


SYNC = frame(b"S")


def extended(
    sql: str, values: list[bytes | None], types: tuple[int, ...] = (), formats: tuple[int, ...] = ()
) -> bytes:
    """Parse, Bind, Execute, Sync of one unnamed statement."""
    return parse(sql, types) + bind(values, formats) + execute() + SYNC


def mutated(samples: list[bytes], n: int, seed: int = 20261204) -> list[bytes]:
    """The samples, then `n` of them with one change each, seeded: a byte set to any
    value or to one a frame reader looks for, the bytes cut short or lengthened, or the
    length field of a frame rewritten (for comparing two readers of the same bytes)."""
    picker = random.Random(seed)
    out = list(samples)
    for _ in range(n):
        data = bytearray(picker.choice(samples))
        change = picker.randrange(5)
        if change == 0:
            data[picker.randrange(len(data))] = picker.randrange(256)
        elif change == 1:
            data[picker.randrange(len(data))] = picker.choice(b"\0\1\2\xff\x80\xe2BPQDES")
        elif change == 2:
            data = data[: picker.randrange(len(data))]
        elif change == 3:
            data += bytes(picker.randrange(1, 3))
        else:
            data[1:5] = picker.randrange(60).to_bytes(4, "big")
        out.append(bytes(data))
    return out


def error_fields(body: bytes) -> dict[str, str]:
    out = {}
    for part in body.split(b"\0"):
        if part:
            out[part[:1].decode()] = part[1:].decode(errors="replace")
    return out


@dataclass
class Reply:
    """What came back until ReadyForQuery, the connection closing, or the timeout."""

    messages: list[tuple[bytes, bytes]] = field(default_factory=list)
    closed: bool = False
    ready: bool = False

    @property
    def errors(self) -> list[dict[str, str]]:
        return [error_fields(b) for t, b in self.messages if t == b"E"]

    @property
    def sqlstates(self) -> list[str]:
        return [e.get("C", "") for e in self.errors]

    def rows(self) -> list[list[bytes | None]]:
        out = []
        for t, b in self.messages:
            if t != b"D":
                continue
            (n,) = struct.unpack_from("!h", b)
            pos, row = 2, []
            for _ in range(n):
                (size,) = struct.unpack_from("!i", b, pos)
                pos += 4
                row.append(None if size < 0 else b[pos : pos + size])
                pos += max(size, 0)
            out.append(row)
        return out


class RawClient:
    """One socket; `send` bytes, `reply` reads framed backend messages."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self._buf = b""

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def login(self, **params: str) -> Reply:
        self.send(startup(**params))
        return self.reply()

    def reply(self, timeout: float = 10.0, until: bytes = b"Z") -> Reply:
        """Messages until one whose type is in `until` (ReadyForQuery by default; b"" for
        none), the connection closing, or the timeout."""
        out = Reply()
        deadline = time.monotonic() + timeout
        while True:
            while len(self._buf) >= 5:
                mtype = self._buf[:1]
                (length,) = struct.unpack_from("!i", self._buf, 1)
                if len(self._buf) < 1 + length:
                    break
                out.messages.append((mtype, self._buf[5 : 1 + length]))
                self._buf = self._buf[1 + length :]
                out.ready = mtype == b"Z"
                if mtype in until and until:
                    return out
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 20)
            except TimeoutError:
                return out
            except OSError:  # reset, broken pipe
                data = b""
            if not data:
                out.closed = True
                return out
            self._buf += data
