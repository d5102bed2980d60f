"""The webhook's transport: HTTP/1.1 POSTs on one connection kept open between batches.

http.client spends about 170 µs of CPU on a POST of 300 events, most of it in
its Python: header objects, and the response's head parsed by the email
package. Here a POST is one write of its head and body, and the response is
parsed by llhttp (httptools: Node.js's C parser, the one uvicorn uses), which
frames its body by Content-Length, chunks or the connection's end and says
whether the server keeps the connection: about 40 µs.
"""

from __future__ import annotations

import socket
import ssl

import httptools


class HTTPError(Exception):
    """The connection ended before a response, or what came was not HTTP."""


class _Response:
    """llhttp's callbacks for one response: its final status (after any 1xx interim ones),
    reason, and whether the connection stays open after it."""

    __slots__ = ("body_to_close", "keep_alive", "parser", "reason", "status")

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0  # the final status, once its message completed
        self.reason = b""
        self.keep_alive = False
        self.body_to_close = False  # a final response's head came: its body may end at EOF

    def on_status(self, reason: bytes) -> None:
        self.reason += reason  # (it may come in pieces)

    def on_headers_complete(self) -> None:
        if self.parser.get_status_code() >= 200:
            self.body_to_close = True

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if status >= 200:
            self.status = status
            self.keep_alive = self.parser.should_keep_alive()
        else:  # an interim response (100 Continue): the final one follows
            self.reason = b""


class Poster:
    """POSTs to one URL's host, reusing the connection while the server keeps it open."""

    def __init__(self, host: str, port: int | None, https: bool, timeout: float) -> None:
        self._address = (host, port or (443 if https else 80))
        self._tls = ssl.create_default_context() if https else None
        self._timeout = timeout
        self._sock: socket.socket | None = None
        self._answered = False  # a byte of the current response came

    def post(self, head: bytes, body: bytes) -> tuple[int, str]:
        """The final status and reason of the response to a request of `head` (whole,
        its blank line included) and `body`."""
        kept = self._sock is not None
        self._answered = False
        response = _Response()
        try:
            sock = self._sock or self._connect()
            self._send(sock, head, body)
            answered = self._read(sock, response)
        except (OSError, HTTPError, httptools.HttpParserError) as exc:
            self.close()
            if kept and not self._answered:
                # The server had closed the kept connection meanwhile (its idle timeout):
                # once more on a new one. (A receiver that took the body and then failed
                # to answer may see it twice: delivery is at least once.)
                return self.post(head, body)
            if isinstance(exc, httptools.HttpParserError):
                raise HTTPError(f"not an HTTP response: {exc}") from None
            raise
        if not answered or not response.keep_alive:
            self.close()
        return response.status, response.reason.decode("latin-1")

    def close(self) -> None:
        sock, self._sock = self._sock, None
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

    def _read(self, sock: socket.socket, response: _Response) -> bool:
        """Read until the final response completed: True; or until the server closed
        after its head, the body running to the end of the connection: False."""
        feed = response.parser.feed_data
        while not response.status:
            data = sock.recv(65536)
            if not data:
                if response.body_to_close:
                    response.status = response.parser.get_status_code()
                    return False
                raise HTTPError("the server closed the connection without a response")
            self._answered = True
            feed(data)
        return True
