"""TLS: the SSLRequest answered with 'S' and a handshake when a certificate is configured."""

from __future__ import annotations

import shutil
import subprocess

import psycopg
import pytest

from tests.fix_proxy import run_proxy
from tests.fix_servers import apt_install

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        apt_install("openssl")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "server.crt", where / "server.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_and_scram_plus(certificate, tmp_path):
    cert, key = certificate
    config = f'[server]\ntls_cert = "{cert}"\ntls_key = "{key}"\n'
    with run_proxy(
        f"sqlite:///{tmp_path}/tls.db", config=config, users={"alice": "pw"}
    ) as proxy:
        with psycopg.connect(proxy.dsn(sslmode="require")) as conn:
            assert conn.pgconn.ssl_in_use
            assert conn.execute("select 1").fetchone() == (1,)
        # Channel binding proves the client talks to the holder of this certificate.
        with psycopg.connect(proxy.dsn(sslmode="require", channel_binding="require")) as conn:
            assert conn.execute("select 2").fetchone() == (2,)
        with psycopg.connect(proxy.dsn(sslmode="disable")) as conn:
            assert not conn.pgconn.ssl_in_use


def test_no_certificate_means_no_tls(tmp_path):
    with run_proxy(f"sqlite:///{tmp_path}/plain.db") as proxy:
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(proxy.dsn(sslmode="require"))
        with psycopg.connect(proxy.dsn(sslmode="prefer")) as conn:
            assert not conn.pgconn.ssl_in_use
