"""The proxy itself as a throwaway process: `pgproxy serve` on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fix_servers import free_port

ROOT = Path(__file__).resolve().parent.parent
# Worker processes of a proxy a test starts without --workers: 1, since most tests count
# on one process's statistics; PGPROXY_TEST_WORKERS=2 runs the suite across processes.
TEST_WORKERS = os.environ.get("PGPROXY_TEST_WORKERS", "1")


@dataclass
class ProxyProcess:
    host: str
    port: int
    backend_url: str
    log_path: str
    proc: subprocess.Popen[bytes]
    user: str = "tester"
    password: str | None = None

    def dsn(self, dbname: str = "app", **extra: str) -> str:
        parts = [f"host={self.host}", f"port={self.port}", f"user={self.user}", f"dbname={dbname}"]
        if self.password:
            parts.append(f"password={self.password}")
        parts += [f"{k}={v}" for k, v in extra.items()]
        return " ".join(parts)

    def url(self, dbname: str = "app") -> str:
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname}"

    def log(self) -> str:
        return Path(self.log_path).read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


def serve_command(port: int) -> list[str]:
    """The command line that starts the proxy listening on 127.0.0.1:`port`."""
    return [sys.executable, "-m", "pgproxy", "serve", "--listen", f"127.0.0.1:{port}"]


@contextlib.contextmanager
def run_proxy(
    backend_url: str,
    *,
    config: str | None = None,
    users: dict[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Iterator[ProxyProcess]:
    """Start `python -m pgproxy serve` against `backend_url`; stop it afterwards.

    An empty `backend_url` gives no --backend flag: the config's [backends] alone.
    TEST_WORKERS worker processes unless `extra_args` says --workers."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="pgproxy-test-")
    log_path = os.path.join(workdir, "proxy.log")
    args = [
        *serve_command(port),
        *(["--backend", backend_url] if backend_url else []),
        "--log-level",
        "debug",
        *([] if "--workers" in extra_args else ["--workers", TEST_WORKERS]),
        *extra_args,
    ]
    text = config or ""
    if users:
        text += "\n[users]\n" + "".join(f'{name} = "{pw}"\n' for name, pw in users.items())
    if text:
        path = os.path.join(workdir, "pgproxy.toml")
        Path(path).write_text(text)
        args += ["--config", path]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        )
    proxy = ProxyProcess("127.0.0.1", port, backend_url, log_path, proc)
    if users:
        proxy.user, proxy.password = next(iter(users.items()))
    try:
        _wait_listening(proxy)
        yield proxy
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_listening(proxy: ProxyProcess, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proxy.proc.poll() is not None:
            raise RuntimeError(f"pgproxy exited with {proxy.proc.returncode}:\n{proxy.log()}")
        with contextlib.suppress(OSError), socket.create_connection((proxy.host, proxy.port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"pgproxy did not listen within {timeout}s:\n{proxy.log()}")


@pytest.fixture(scope="session")
def proxy_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    db = tmp_path_factory.mktemp("sqlite") / "app.db"
    with run_proxy(f"sqlite:///{db}") as proxy:
        yield proxy


@pytest.fixture(scope="session")
def proxy_mysql(mariadb_url: str) -> Iterator[ProxyProcess]:
    with run_proxy(mariadb_url) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def proxy_postgresql(postgresql_url: str) -> Iterator[ProxyProcess]:
    with run_proxy(postgresql_url) as proxy:
        yield proxy


def fresh_database_url(kind: str, request: pytest.FixtureRequest, name: str) -> str:
    """A backend URL for an empty database of its own: a new SQLite file, or a new
    database on the session's MariaDB (tools that migrate need a clean slate)."""
    if kind == "sqlite":
        return f"sqlite:///{request.getfixturevalue('tmp_path_factory').mktemp(name) / 'app.db'}"
    import pymysql

    server = request.getfixturevalue("mariadb")
    conn = pymysql.connect(
        host=server.host, port=server.port, user=server.user, password=server.password
    )
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        conn.close()
    return f"mysql://{server.user}:{server.password}@{server.host}:{server.port}/{name}"


@pytest.fixture(scope="session", params=["sqlite", "mysql"])
def proxy(request: pytest.FixtureRequest) -> ProxyProcess:
    """The proxy on each translated backend in turn."""
    return request.getfixturevalue(f"proxy_{request.param}")
