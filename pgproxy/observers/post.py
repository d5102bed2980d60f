"""The webhook's transport: an HTTP/1.1 POST on a connection kept open between batches.

http.client spent about a thousand instructions per event of a 300-event batch
on each request's Python (its header objects, its response parsed through the
email package): more than making the events. A POST here is one sendall of
its head and body and a read of the status line, the few headers that frame
the response (Content-Length, Transfer-Encoding, Connection) and its body.
"""

from __future__ import annotations

import socket
import ssl

_MAX_HEAD = 65536  # a response head longer than this is not a webhook receiver's


class HTTPError(Exception):
    """The connection failed, or the response was not HTTP."""


class Poster:
    """POSTs to one URL's host, reusing the connection while the server keeps it open."""

    def __init__(self, host: str, port: int | None, https: bool, timeout: float) -> None:
        self._address = (host, port or (443 if https else 80))
        name = f"[{host}]" if ":" in host else host  # an IPv6 literal in brackets
        self._host = name if port is None else f"{name}:{port}"
        self._tls = ssl.create_default_context() if https else None
        self._timeout = timeout
        self._sock: socket.socket | None = None
        self._buffer = b""  # read past the last response (a server's early bytes)
        self._answered = False  # a byte of the response came

    def post(self, path: str, headers: str, body: bytes) -> tuple[int, str]:
        """The status and reason of the response to a POST of `body`; `headers` are
        whole header lines ("Name: value\\r\\n" each), beside Host and Content-Length."""
        head = (f"POST {path} HTTP/1.1\r\nHost: {self._host}\r\n"
                f"Content-Length: {len(body)}\r\n{headers}\r\n").encode("latin-1")
        kept = self._sock is not None
        self._answered = False
        try:
            sock = self._sock or self._connect()
            self._send(sock, head, body)
            status, reason, close = self._response(sock)
        except (OSError, HTTPError):
            self.close()
            if kept and not self._answered:
                # The server had closed the kept connection meanwhile (its idle timeout):
                # once more on a new one. (A receiver that took the body and then
                # failed to answer may see it twice: delivery is at least once.)
                return self.post(path, headers, body)
            raise
        if close:
            self.close()
        return status, reason

    def close(self) -> None:
        sock, self._sock = self._sock, None
        self._buffer = b""
        if sock is not None:
            sock.close()

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self._address, self._timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._address[0])
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        return sock

    def _send(self, sock: socket.socket, head: bytes, body: bytes) -> None:
        """Head and body in one write where it can (no copy of the body to join them)."""
        if self._tls is not None:  # (TLS copies it to encrypt anyway)
            sock.sendall(head + body)
            return
        sent = sock.sendmsg((head, body))
        if sent < len(head):
            sock.sendall(head[sent:])
            sent = len(head)
        if sent < len(head) + len(body):
            sock.sendall(memoryview(body)[sent - len(head):])

    def _response(self, sock: socket.socket) -> tuple[int, str, bool]:
        """Read one final response; its status, reason and whether the server closes."""
        while True:
            head = self._head(sock)
            lines = head.split(b"\r\n")
            version, _, rest = lines[0].partition(b" ")
            code, _, reason = rest.partition(b" ")
            if not version.startswith(b"HTTP/") or not code.isdigit():
                raise HTTPError(f"not an HTTP response: {lines[0][:80]!r}")
            status = int(code)
            fields: dict[bytes, bytes] = {}
            for line in lines[1:]:
                name, colon, value = line.partition(b":")
                if colon:
                    fields[name.strip().lower()] = value.strip().lower()
            if 100 <= status < 200:
                continue  # an interim response (100 Continue): the final one follows
            connection = fields.get(b"connection", b"")
            close = b"close" in connection or (
                version == b"HTTP/1.0" and b"keep-alive" not in connection)
            if status in (204, 304):
                pass
            elif b"chunked" in fields.get(b"transfer-encoding", b""):
                self._chunked(sock)
            elif b"content-length" in fields:
                length = fields[b"content-length"]
                if not length.isdigit():
                    raise HTTPError(f"bad Content-Length {length[:40]!r}")
                self._exactly(sock, int(length))
            else:  # the body runs to the end of the connection
                while self._recv(sock):
                    self._buffer = b""
                close = True
            return status, reason.decode("latin-1"), close

    def _recv(self, sock: socket.socket) -> bool:
        data = sock.recv(65536)
        if not data:
            return False
        self._buffer += data
        self._answered = True
        return True

    def _head(self, sock: socket.socket) -> bytes:
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end >= 0:
                head, self._buffer = self._buffer[:end], self._buffer[end + 4:]
                return head
            if len(self._buffer) > _MAX_HEAD:
                raise HTTPError("response head too long")
            if not self._recv(sock):
                raise HTTPError("the server closed the connection without a response")

    def _line(self, sock: socket.socket) -> bytes:
        while True:
            end = self._buffer.find(b"\r\n")
            if end >= 0:
                line, self._buffer = self._buffer[:end], self._buffer[end + 2:]
                return line
            if len(self._buffer) > _MAX_HEAD:
                raise HTTPError("response line too long")
            if not self._recv(sock):
                raise HTTPError("the server closed the connection mid-response")

    def _exactly(self, sock: socket.socket, n: int) -> None:
        """Skip `n` bytes of body."""
        while len(self._buffer) < n:
            n -= len(self._buffer)
            self._buffer = b""
            if not self._recv(sock):
                raise HTTPError("the server closed the connection mid-body")
        self._buffer = self._buffer[n:]

    def _chunked(self, sock: socket.socket) -> None:
        """Skip a chunked body and its trailers."""
        while True:
            size = self._line(sock).partition(b";")[0].strip()
            try:
                n = int(size, 16)
            except ValueError:
                raise HTTPError(f"bad chunk size {size[:40]!r}") from None
            if n == 0:
                while self._line(sock):  # trailers, up to the empty line
                    pass
                return
            self._exactly(sock, n + 2)  # the chunk and its CRLF
