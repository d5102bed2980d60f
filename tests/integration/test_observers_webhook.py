"""The webhook's HTTP/1.1 transport against real loopback servers: kept connections,
the ways a response frames its body, errors, a connection the server closed meanwhile."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pgproxy.observers import Webhook
from pgproxy.observers.subscribers import DeliveryError
from tests.fix_tls import self_signed

SECRET = "s3cret"


class Receiver:
    """A threading HTTP server; `answer(handler)` writes each response (after the body is
    read); it records each POST's body, headers and the client port it came from."""

    def __init__(self, protocol: str, answer) -> None:
        self.posts: list[tuple[bytes, dict[str, str], int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = protocol

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((body, dict(self.headers), self.client_address[1]))
                answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/in?x=1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator:
    made: list[Receiver] = []

    def make(protocol: str, answer) -> Receiver:
        made.append(Receiver(protocol, answer))
        return made[-1]

    yield make
    for r in made:
        r.close()


def events(n: int, start: int = 0) -> list[bytes]:
    return [json.dumps({"id": f"b-{i}", "type": "statement", "user": 'we"ird'},
                       separators=(",", ":")).encode() for i in range(start, start + n)]


def no_content(h: BaseHTTPRequestHandler) -> None:
    h.send_response(204)
    h.send_header("Content-Length", "0")
    h.end_headers()


def test_batches_go_on_one_kept_connection_signed_as_json_arrays(serve):
    r = serve("HTTP/1.1", no_content)
    hook = Webhook(r.url, SECRET)
    try:
        hook.deliver_sync(events(3))
        hook.deliver_sync(events(2, 3))
        hook.deliver_sync([])
    finally:
        hook.close()
    bodies = [json.loads(body) for body, _, _ in r.posts]
    assert [[e["id"] for e in b] for b in bodies] == [["b-0", "b-1", "b-2"], ["b-3", "b-4"], []]
    assert bodies[0][0]["user"] == 'we"ird'
    assert len({port for _, _, port in r.posts}) == 1  # one connection for all three
    for body, headers, _ in r.posts:
        want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Pgproxy-Signature"] == want
        assert headers["Content-Type"] == "application/json"
        assert headers["Host"] == r.url.split("/")[2]
    assert [h["X-Pgproxy-Event-Count"] for _, h, _ in r.posts] == ["3", "2", "0"]


def test_response_bodies_of_each_framing_are_read_through(serve):
    def sized(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "11")
        h.end_headers()
        h.wfile.write(b"hello world")

    def chunked(h: BaseHTTPRequestHandler) -> None:
        h.send_response(202)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.write(b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")

    for answer in (sized, chunked):
        r = serve("HTTP/1.1", answer)
        hook = Webhook(r.url)
        try:
            for i in range(3):
                hook.deliver_sync(events(2, 2 * i))
        finally:
            hook.close()
        assert len(r.posts) == 3 and len({port for _, _, port in r.posts}) == 1


def test_a_body_to_the_end_of_the_connection_and_http_1_0_reconnect(serve):
    def to_close(h: BaseHTTPRequestHandler) -> None:  # HTTP/1.0, no Content-Length
        h.send_response(200)
        h.end_headers()
        h.wfile.write(b"ok, and the connection ends")

    r = serve("HTTP/1.0", to_close)
    hook = Webhook(r.url)
    try:
        for i in range(3):
            hook.deliver_sync(events(1, i))
    finally:
        hook.close()
    assert [json.loads(b)[0]["id"] for b, _, _ in r.posts] == ["b-0", "b-1", "b-2"]
    assert len({port for _, _, port in r.posts}) == 3


def test_an_error_status_fails_the_batch_and_the_next_goes_through(serve):
    statuses = [500, 204]

    def answer(h: BaseHTTPRequestHandler) -> None:
        h.send_response(statuses.pop(0))
        h.send_header("Content-Length", "0")
        h.end_headers()

    r = serve("HTTP/1.1", answer)
    hook = Webhook(r.url)
    try:
        with pytest.raises(DeliveryError, match="HTTP 500"):
            hook.deliver_sync(events(2))
        hook.deliver_sync(events(2))
    finally:
        hook.close()
    assert len(r.posts) == 2


def test_a_kept_connection_the_server_closed_is_replaced_at_once():
    """A server that answers one request per connection with keep-alive, then hangs up
    (its idle timeout): the next batch goes on a new connection, not failed."""
    listener = socket.create_server(("127.0.0.1", 0))
    got: list[bytes] = []

    def serve() -> None:
        for _ in range(3):
            conn, _ = listener.accept()
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                while len(body) < length:
                    body += conn.recv(65536)
                got.append(body)
                conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    hook = Webhook(f"http://127.0.0.1:{listener.getsockname()[1]}/")
    try:
        for i in range(3):
            hook.deliver_sync(events(1, i))
    finally:
        hook.close()
        thread.join(5)
        listener.close()
    assert [json.loads(b)[0]["id"] for b in got] == ["b-0", "b-1", "b-2"]


def test_nobody_listening_and_not_http_are_delivery_errors():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def garbage() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")

    threading.Thread(target=garbage, daemon=True).start()
    hook = Webhook(f"http://127.0.0.1:{port}/", timeout=2)
    try:
        with pytest.raises(DeliveryError, match="not an HTTP response"):  # not HTTP
            hook.deliver_sync(events(1))
    finally:
        hook.close()
        listener.close()
    hook = Webhook(f"http://127.0.0.1:{port}/", timeout=0.5)  # closed: nobody listens
    try:
        with pytest.raises(DeliveryError):
            hook.deliver_sync(events(1))
    finally:
        hook.close()


def test_an_interim_response_then_the_final_one_in_pieces(serve):
    """A 100 Continue before the final response, whose body comes a byte per write: the
    status and reason are the final response's, and the connection is kept."""
    def answer(h: BaseHTTPRequestHandler) -> None:
        h.send_response_only(100)  # http.server's interim response (as for Expect)
        h.end_headers()
        time.sleep(0.01)  # (its own segment)
        h.send_response(503, "Busy For Now")
        h.send_header("Content-Length", "5")
        h.end_headers()
        for byte in b"later":
            h.wfile.write(bytes([byte]))  # unbuffered: a send each
            time.sleep(0.001)

    r = serve("HTTP/1.1", answer)
    hook = Webhook(r.url)
    try:
        for _ in range(2):
            with pytest.raises(DeliveryError, match="HTTP 503 Busy For Now"):
                hook.deliver_sync(events(1))
    finally:
        hook.close()
    assert len(r.posts) == 2 and len({port for _, _, port in r.posts}) == 1  # one connection


def test_https_is_verified_against_the_trusted_cas(serve, tmp_path, monkeypatch):
    """An https receiver: its certificate checked against the CAs the machine trusts (a
    self-signed one refused, as a delivery error), then trusted through SSL_CERT_FILE,
    the batches go on one kept TLS connection."""
    cert, key = self_signed(tmp_path)
    r = serve("HTTP/1.1", no_content)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    r.server.socket = tls.wrap_socket(r.server.socket, server_side=True)
    url = r.url.replace("http://", "https://")
    hook = Webhook(url, timeout=5)
    try:
        with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            hook.deliver_sync(events(1))
    finally:
        hook.close()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # read as the webhook makes its context
    hook = Webhook(url, SECRET, timeout=5)
    try:
        for i in range(3):
            hook.deliver_sync(events(2, 2 * i))
    finally:
        hook.close()
    assert [[e["id"] for e in json.loads(b)] for b, _, _ in r.posts] == [
        ["b-0", "b-1"], ["b-2", "b-3"], ["b-4", "b-5"]]
    assert len({port for _, _, port in r.posts}) == 1
