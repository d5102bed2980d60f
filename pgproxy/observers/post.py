"""A webhook's POST: HTTP/1.1 on a kept-alive socket, its response read only as far as
delivery needs (the status; the body's length, chunks or end, to skip it).

http.client made a POST cost about half a million instructions in the proxy (its
request built header by header, the response's headers parsed by the email
package): a webhook batch cost more than all its events' JSON. Here a request is
one write and a response one scan for its blank line.
"""

from __future__ import annotations

import socket
import ssl
import urllib.parse

_MAX_HEAD = 65536  # a response's status line and headers, at most


class Poster:
    """POSTs to one URL (http or https), reusing its connection while the server keeps it.
    `post` raises OSError (the connection failed or ended) or ValueError (a response that
    is not HTTP); the connection is dropped then, and a later post opens another."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"webhook url must be http or https: {url!r}")
        self._tls = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if self._tls else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        if parts.port is not None:
            host += f":{parts.port}"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buf = b""  # what was received beyond the last response

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """Send `body`; the response's status and reason."""
        head = self._head + f"Content-Length: {len(body)}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        try:
            sock = self._sock
            if sock is None:
                sock = self._sock = self._connect()
            _send(sock, head.encode("latin-1"), body, self._tls)
            status, reason, close = self._response(sock)
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status, reason

    def close(self) -> None:
        sock, self._sock = self._sock, None
        self._buf = b""
        if sock is not None:
            sock.close()

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self._host, self._port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._tls:  # verified against the system's CAs, as http.client's default is
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self._host)
        return sock

    def _response(self, sock: socket.socket) -> tuple[int, str, bool]:
        """Read one response (after any 1xx): its status, reason, and whether the server
        closes the connection after it."""
        while True:
            lines = self._until(sock, b"\r\n\r\n", _MAX_HEAD).split(b"\r\n")
            status_line = lines[0].split(None, 2)
            if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/") \
                    or not status_line[1].isdigit():
                raise ValueError(f"not an HTTP response: {lines[0][:80]!r}")
            status = int(status_line[1])
            if not 100 <= status < 200:
                break
        fields: dict[bytes, bytes] = {}
        for line in lines[1:]:
            if line:
                name, sep, value = line.partition(b":")
                if not sep:
                    raise ValueError(f"a malformed response header: {line[:80]!r}")
                fields[name.strip().lower()] = value.strip().lower()
        reason = status_line[2].decode("latin-1") if len(status_line) == 3 else ""
        connection = fields.get(b"connection", b"")
        close = b"close" in connection or (
            status_line[0] == b"HTTP/1.0" and b"keep-alive" not in connection)
        coding = fields.get(b"transfer-encoding", b"identity")
        if status in (204, 304):
            pass  # no body, whatever the headers say
        elif coding != b"identity":
            if coding.rsplit(b",", 1)[-1].strip() != b"chunked":
                self._to_end(sock)  # delimited by the connection's end
                return status, reason, True
            self._chunks(sock)
        elif b"content-length" in fields:
            length = fields[b"content-length"]
            if not length.isdigit():
                raise ValueError(f"a malformed Content-Length: {length[:40]!r}")
            self._skip(sock, int(length))
        else:
            self._to_end(sock)
            return status, reason, True
        return status, reason, close

    def _until(self, sock: socket.socket, mark: bytes, limit: int) -> bytes:
        """The received bytes up to `mark` (taken, with the mark)."""
        buf = self._buf
        start = 0
        while True:
            at = buf.find(mark, start)
            if at >= 0:
                self._buf = buf[at + len(mark) :]
                return buf[:at]
            if len(buf) > limit:
                raise ValueError("a response header too long")
            start = max(0, len(buf) - len(mark) + 1)
            data = sock.recv(65536)
            if not data:
                raise ConnectionResetError("the server closed the connection")
            buf += data

    def _skip(self, sock: socket.socket, n: int) -> None:
        buf = self._buf
        while len(buf) < n:
            n -= len(buf)
            buf = sock.recv(max(65536, min(n, 1 << 20)))
            if not buf:
                raise ConnectionResetError("the server closed the connection in a body")
        self._buf = buf[n:]

    def _chunks(self, sock: socket.socket) -> None:
        while True:
            size = self._until(sock, b"\r\n", 1024).split(b";", 1)[0].strip()
            try:
                n = int(size, 16)
            except ValueError:
                raise ValueError(f"a malformed chunk size: {size[:40]!r}") from None
            if n == 0:
                while self._until(sock, b"\r\n", _MAX_HEAD):  # trailers, to the blank line
                    pass
                return
            self._skip(sock, n + 2)

    def _to_end(self, sock: socket.socket) -> None:
        while sock.recv(65536):
            pass
        self._buf = b""


def _send(sock: socket.socket, head: bytes, body: bytes, tls: bool) -> None:
    """Head and body without joining them: a large batch's body is not copied again."""
    if tls:  # (an SSL socket has no sendmsg)
        sock.sendall(head)
        sock.sendall(body)
        return
    sent = sock.sendmsg([head, body])
    if sent < len(head):
        sock.sendall(memoryview(head)[sent:])
        sock.sendall(body)
    elif sent < len(head) + len(body):
        sock.sendall(memoryview(body)[sent - len(head) :])
