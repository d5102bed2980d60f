"""The webhook's POST (pgproxy/observers/post.py) against raw loopback servers that answer
as real ones may: lengths, chunks, a close, informational responses, garbage."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from pgproxy.observers.post import Poster


class Server:
    """Accepts connections and answers each request with the next canned reply; records
    each request (head and body) and how many connections it saw."""

    def __init__(self, replies: list[bytes], close_after: bool = False) -> None:
        self.replies = list(replies)
        self.close_after = close_after
        self.requests: list[tuple[bytes, bytes]] = []
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook?x=1"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        buf = b""
        with conn:
            while self.replies:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                while len(buf) < length:
                    buf += conn.recv(65536)
                self.requests.append((head, buf[:length]))
                buf = buf[length:]
                conn.sendall(self.replies.pop(0))
                if self.close_after:
                    return

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def serve() -> Iterator:
    servers: list[Server] = []

    def start(replies: list[bytes], close_after: bool = False) -> Server:
        servers.append(Server(replies, close_after))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def test_a_kept_alive_connection_carries_posts_with_lengths_and_chunks(serve):
    server = serve([
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;ext=1\r\nabc\r\n0\r\nTrailer: x\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
    ])
    poster = Poster(server.url, timeout=5)
    got = [poster.post(b"[%d]" % i, {"X-Count": "1"}) for i in range(4)]
    assert got == [(204, "No Content"), (200, "OK"), (200, "OK"), (201, "Created")]
    assert server.connections == 1
    head, body = server.requests[0]
    assert head.split(b"\r\n")[0] == b"POST /hook?x=1 HTTP/1.1"
    assert b"Host: 127.0.0.1:" in head and b"X-Count: 1" in head and body == b"[0]"
    assert [b for _, b in server.requests] == [b"[0]", b"[1]", b"[2]", b"[3]"]
    poster.close()


def test_a_server_that_closes_gets_a_new_connection_next_time(serve):
    server = serve([b"HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                    b"HTTP/1.0 200 OK\r\n\r\nbody until the end"], close_after=True)
    poster = Poster(server.url, timeout=5)
    assert poster.post(b"[]", {}) == (500, "Oops")
    assert poster.post(b"[]", {}) == (200, "OK")  # HTTP/1.0, no length: read to its end
    assert server.connections == 2


def test_a_connection_the_server_dropped_fails_that_post_only(serve):
    server = serve([b"HTTP/1.1 204 No Content\r\n\r\n"] * 2, close_after=True)
    poster = Poster(server.url, timeout=5)
    assert poster.post(b"[]", {})[0] == 204
    with pytest.raises(OSError):  # kept alive by us, closed by it: that batch is retried
        poster.post(b"[]", {})
    assert poster.post(b"[]", {})[0] == 204


@pytest.mark.parametrize("reply", [
    b"SSH-2.0-OpenSSH\r\n\r\n",
    b"HTTP/1.1 abc Bad\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
])
def test_what_is_not_http_is_an_error_and_the_connection_is_dropped(serve, reply):
    server = serve([reply, b"HTTP/1.1 204 No Content\r\n\r\n"])
    poster = Poster(server.url, timeout=5)
    with pytest.raises(ValueError):
        poster.post(b"[]", {})
    assert poster._sock is None


def test_urls_other_than_http_are_refused():
    with pytest.raises(ValueError, match="http or https"):
        Poster("ftp://example.com/x", 1)


def test_a_body_larger_than_the_socket_buffer_arrives_whole(serve):
    server = serve([b"HTTP/1.1 204 No Content\r\n\r\n"])
    poster = Poster(server.url, timeout=10)
    body = bytes(range(256)) * 20_000  # 5 MB: sent in parts
    assert poster.post(body, {"X-Big": "yes"})[0] == 204
    assert server.requests[0][1] == body
    poster.close()
