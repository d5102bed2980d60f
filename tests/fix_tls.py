"""A self-signed certificate for 127.0.0.1 and localhost, made by openssl, for TLS tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.fix_servers import apt_install


def self_signed(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) in `directory`: a self-signed server certificate valid two days,
    for 127.0.0.1 and localhost (its own CA: a client trusts it only when told to)."""
    if shutil.which("openssl") is None:
        apt_install("openssl")
    cert, key = directory / "server.crt", directory / "server.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key
