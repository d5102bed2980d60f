"""TLS to SQL Server through python-tds: verified against a CA file, or trusted as it is.

python-tds encrypts when given a CA file and verifies the server's
certificate chain (and its host name) against it. SQL Server's drivers also
offer TrustServerCertificate, for a server with a self-signed certificate
(every fresh SQL Server container has one); python-tds has no option for it,
so `connect_trusting` builds its TLS context without verification for the
length of one connect call, under a lock (the context is made inside
pytds.connect and used only for that connection's handshake).
"""

from __future__ import annotations

import threading
from typing import Any

import pytds
import pytds.tls

_LOCK = threading.Lock()


def options(cafile: str, trust: bool) -> dict[str, Any]:
    """pytds.connect's TLS arguments (a trusting connect still passes a CA file: pytds
    encrypts only when it has one)."""
    return {"cafile": cafile, "validate_host": not trust}


def _unverified(cafile: str) -> Any:
    import OpenSSL.SSL

    context = OpenSSL.SSL.Context(OpenSSL.SSL.TLS_CLIENT_METHOD)
    context.set_options(OpenSSL.SSL.OP_NO_SSLv2 | OpenSSL.SSL.OP_NO_SSLv3)
    context.set_verify(OpenSSL.SSL.VERIFY_NONE, lambda *args: True)
    return context


def connect_trusting(args: dict[str, Any]) -> Any:
    """pytds.connect with TLS that accepts whatever certificate the server shows."""
    with _LOCK:
        verified = pytds.tls.create_context
        pytds.tls.create_context = _unverified
        try:
            return pytds.connect(**args)
        finally:
            pytds.tls.create_context = verified
