"""TLS to SQL Server for python-tds, made with Python's ssl module.

TDS 7.4 carries the TLS handshake inside PRELOGIN packets, then TLS records on
the bare socket. python-tds's own implementation (pyOpenSSL) falls short of
what the backend's URL offers, so this module is the TLS python-tds uses in
this process (`pytds.tls.create_context` and `establish_channel` are set to the
functions below when the module loads, the one place python-tds looks them up):

- verification: the server's certificate against `sslrootcert` (or the
  system's CA bundle) and its host name, by ssl.create_default_context;
- `trust_server_certificate=true`: TLS without verification, which python-tds
  has no way to ask for (it always verifies the chain);
- a server may answer the handshake in tabular-result (0x04) packets, as MS-TDS
  allowed before TDS 7.2 and FreeTDS and go-mssqldb accept; python-tds takes
  only PRELOGIN (0x12) ones.

python-tds still needs pyOpenSSL installed to agree to encrypt at all (it
checks before connecting); its code is not used.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

import pytds
import pytds.tls
from pytds import tds_base

# CA "files" python-tds passes on to create_context (it encrypts only when given one): no
# verification, and the system's CA certificates.
TRUST_SERVER_CERTIFICATE = "pgproxy:trust-server-certificate"
SYSTEM_CA = "pgproxy:system-ca"
_BUFSIZE = 65536


def options(cafile: str, trust: bool) -> dict[str, Any]:
    """pytds.connect's TLS arguments for a verified or a trusting connection."""
    return {"cafile": TRUST_SERVER_CERTIFICATE if trust else cafile, "validate_host": not trust}


def create_context(cafile: str) -> ssl.SSLContext:
    """The context for one connection (pytds.connect calls it with the `cafile` given)."""
    if cafile == TRUST_SERVER_CERTIFICATE:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context(cafile=None if cafile == SYSTEM_CA else cafile)
    # TDS 7.4 negotiates TLS inside PRELOGIN packets, up to 1.2 (1.3 is TDS 8.0's).
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


class Channel(pytds.tls.EncryptedSocket):
    """The session's transport once TLS is up: records to and from the TCP socket."""

    def __init__(self, transport: Any, tls: ssl.SSLObject, incoming: ssl.MemoryBIO,
                 outgoing: ssl.MemoryBIO) -> None:
        self._transport = transport
        self._tls = tls
        self._incoming = incoming
        self._outgoing = outgoing

    def gettimeout(self) -> float | None:
        return self._transport.gettimeout()

    def settimeout(self, timeout: float | None) -> None:
        self._transport.settimeout(timeout)

    def _flush(self) -> None:
        data = self._outgoing.read()
        if data:
            self._transport.sendall(data)

    def sendall(self, data: Any, flags: int = 0) -> None:
        view = memoryview(data)
        while view:
            written = self._tls.write(view)
            view = view[written:]
        self._flush()

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        while True:
            try:
                return self._tls.read(bufsize)
            except ssl.SSLWantReadError:
                self._flush()
                data = self._transport.recv(_BUFSIZE)
                if not data:
                    return b""
                self._incoming.write(data)
            except ssl.SSLZeroReturnError:
                return b""

    def recv_into(self, buffer: bytearray | memoryview, size: int = 0, flags: int = 0) -> int:
        data = self.recv(size or len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def shutdown(self, how: int = socket.SHUT_RDWR) -> None:
        self._transport.shutdown(how)

    def close(self) -> None:
        self._transport.close()


def establish_channel(session: Any) -> None:
    """The TLS handshake inside PRELOGIN packets, then the session's transport swapped."""
    login = session.conn._login
    if not isinstance(login.tls_ctx, ssl.SSLContext):
        raise tds_base.Error("the server requires encryption: set encrypt=true in the URL"
                             " (trust_server_certificate=true for a self-signed certificate)")
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = login.tls_ctx.wrap_bio(incoming, outgoing, server_hostname=login.server_name)
    writer, reader = session._writer, session._reader
    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            data = outgoing.read()
            if data:
                writer.begin_packet(tds_base.PacketType.PRELOGIN)
                writer.write(data)
                writer.flush()
            reply = reader.begin_response()
            if reply.type not in (tds_base.PacketType.PRELOGIN, tds_base.PacketType.REPLY):
                raise tds_base.Error(
                    f"unexpected packet type {reply.type} in the TLS handshake") from None
            while not reader.stream_finished():
                incoming.write(reader.recv(4096))
        except ssl.SSLError as exc:
            raise tds_base.Error(f"TLS handshake with the server failed: {exc}") from exc
    leftover = outgoing.read()
    if leftover:  # the last flight, answered by nothing
        writer.begin_packet(tds_base.PacketType.PRELOGIN)
        writer.write(leftover)
        writer.flush()
    channel = Channel(session.conn.sock, tls, incoming, outgoing)
    session.conn.sock = channel
    writer._transport = channel
    reader._transport = channel


pytds.tls.create_context = create_context
pytds.tls.establish_channel = establish_channel
