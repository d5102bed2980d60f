"""Dolt for tests: libdolt built from native/, the `dolt` command built from
Dolt's Go modules, and a throwaway `dolt sql-server`.

Nothing of Dolt is committed or vendored: the `dolt` binary is built by a
throwaway Go module (outside the repository, in ~/.cache/pgproxy/) that
requires github.com/dolthub/dolt/go at the version native/go.mod pins, so the
command line and the embedded library run the same Dolt and share one Go
module and build cache. Tests skip, with the reason, only when Go is absent.

Use from a conftest or a test module:
    from tests.fix_dolt import dolt_cli, libdolt, dolt_server  # noqa: F401
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NATIVE = REPO / "native"
LIBDOLT = NATIVE / "build" / "libdolt.so"
CACHE = Path(os.environ.get("PGPROXY_CACHE") or Path.home() / ".cache" / "pgproxy")
DOLT_BIN_DIR = CACHE / "dolt-bin"

# The same tags and flags as native/Makefile, so both builds share compiled packages.
_GO_BUILD_FLAGS = ["-tags", "gms_pure_go", "-trimpath", "-ldflags", "-s -w"]


def go_binary() -> str | None:
    found = shutil.which("go")
    if found:
        return found
    return "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    go = go_binary()
    if go:
        env["PATH"] = f"{Path(go).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("GOFLAGS", "-mod=mod")
    env.setdefault("GOTOOLCHAIN", "local")
    env["CGO_ENABLED"] = "1"
    env["DOLT_METRICS_DISABLED"] = "1"
    return env


def require_go() -> str:
    go = go_binary()
    if go is None:
        pytest.skip("Go is not installed: libdolt and the dolt command are built from Go modules")
    return go


def dolt_go_version() -> str:
    """The github.com/dolthub/dolt/go version that native/go.mod resolves to."""
    text = (NATIVE / "go.mod").read_text()
    m = re.search(r"github\.com/dolthub/dolt/go\s+(v\S+)", text)
    if not m:
        raise RuntimeError("native/go.mod does not require github.com/dolthub/dolt/go")
    return m.group(1)


def build_libdolt() -> Path:
    """native/build/libdolt.so, built with `make -C native` when missing or stale."""
    require_go()
    proc = subprocess.run(
        ["make", "-C", str(NATIVE)], env=_go_env(), capture_output=True, text=True, timeout=3600
    )
    if proc.returncode != 0 or not LIBDOLT.exists():
        raise RuntimeError(f"make -C native failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return LIBDOLT


def build_dolt_cli() -> Path:
    """The `dolt` command, built once into ~/.cache/pgproxy/dolt-bin/<version>/dolt."""
    go = require_go()
    version = dolt_go_version()
    target = DOLT_BIN_DIR / version / "dolt"
    if target.exists():
        return target
    work = CACHE / "dolt-build"
    work.mkdir(parents=True, exist_ok=True)
    (work / "go.mod").write_text(
        "// Throwaway module: builds Dolt's own cmd/dolt for pgproxy's tests.\n"
        "module pgproxy.invalid/doltcli\n\ngo 1.26.2\n\n"
        f"require github.com/dolthub/dolt/go {version}\n"
    )
    # The library's go.sum already vouches for every module Dolt needs.
    shutil.copyfile(NATIVE / "go.sum", work / "go.sum")
    env = _go_env()
    tmp = target.with_name(f".dolt.{os.getpid()}")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [go, "build", *_GO_BUILD_FLAGS, "-o", str(tmp), "github.com/dolthub/dolt/go/cmd/dolt"],
        cwd=work, env=env, capture_output=True, text=True, timeout=3600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"building dolt {version} failed:\n{proc.stderr[-4000:]}")
    tmp.replace(target)
    return target


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dolt_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["HOME"] = str(home)  # dolt keeps its global config under $HOME/.dolt
    env["DOLT_ROOT_PATH"] = str(home)
    env["DOLT_METRICS_DISABLED"] = "1"
    return env


def dolt_run(dolt: Path, cwd: Path, home: Path, *args: str) -> str:
    proc = subprocess.run(
        [str(dolt), *args], cwd=cwd, env=dolt_env(home), capture_output=True, text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dolt {' '.join(args)}: {proc.stderr or proc.stdout}")
    return proc.stdout


def dolt_init(dolt: Path, directory: Path, database: str, home: Path) -> Path:
    """`dolt init` a database `database` inside `directory` (a directory of databases)."""
    db = directory / database
    db.mkdir(parents=True, exist_ok=True)
    dolt_run(dolt, db, home, "config", "--global", "--add", "user.name", "pgproxy tests")
    dolt_run(dolt, db, home, "config", "--global", "--add", "user.email", "tests@pgproxy.invalid")
    dolt_run(dolt, db, home, "init")
    return db


@dataclass
class DoltServer:
    """A running `dolt sql-server` over `directory`."""

    directory: Path
    port: int
    database: str
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"dolt+mysql://root@127.0.0.1:{self.port}/{self.database}"

    def connect(self, database: str | None = None, **kwargs):
        import pymysql

        return pymysql.connect(
            host="127.0.0.1", port=self.port, user="root", password="",
            database=database or self.database, autocommit=True, **kwargs,
        )


@contextlib.contextmanager
def run_dolt_server(
    dolt: Path, directory: Path, database: str, home: Path, timeout: float = 60.0
) -> Iterator[DoltServer]:
    """Start `dolt sql-server` on `directory` and a free loopback port; stop it afterwards."""
    port = free_port()
    log = home / f"sql-server-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(dolt), "sql-server", "--host", "127.0.0.1", "--port", str(port),
             "--data-dir", str(directory), "--loglevel", "warning"],
            cwd=directory, env=dolt_env(home), stdout=out, stderr=subprocess.STDOUT,
        )
    server = DoltServer(directory, port, database, proc, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"dolt sql-server exited: {log.read_text()[-2000:]}")
            try:
                server.connect().close()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"dolt sql-server did not accept connections: {log.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- pytest fixtures -------------------------------------------------------------


@pytest.fixture(scope="session")
def libdolt() -> Path:
    """Path of a built native/build/libdolt.so (built now if missing)."""
    path = build_libdolt()
    os.environ.setdefault("PGPROXY_LIBDOLT", str(path))
    return path


@pytest.fixture(scope="session")
def dolt_cli() -> Path:
    """Path of the `dolt` command built from Dolt's Go modules."""
    return build_dolt_cli()


@pytest.fixture(scope="session")
def dolt_home() -> Iterator[Path]:
    """A HOME for dolt processes, so tests never touch the user's ~/.dolt."""
    with tempfile.TemporaryDirectory(prefix="pgproxy-dolt-home-") as d:
        yield Path(d)


@pytest.fixture
def dolt_server(dolt_cli: Path, dolt_home: Path, tmp_path: Path) -> Iterator[DoltServer]:
    """A throwaway `dolt sql-server` on a temp directory holding database `mydb`."""
    directory = tmp_path / "server-dbs"
    directory.mkdir()
    dolt_init(dolt_cli, directory, "mydb", dolt_home)
    with run_dolt_server(dolt_cli, directory, "mydb", dolt_home) as server:
        yield server


# --- the proxy in front of Dolt (one per test session; tests use their own tables) ----


@pytest.fixture(scope="session")
def proxy_dolt_embedded(libdolt: Path, tmp_path_factory: pytest.TempPathFactory):
    """The proxy on embedded Dolt: `dolt://<tmp>?database=mydb`."""
    from tests.fix_proxy import run_proxy

    directory = tmp_path_factory.mktemp("dolt-embedded")
    with run_proxy(f"dolt://{directory}?database=mydb") as proxy:
        yield proxy


@pytest.fixture(scope="session")
def dolt_server_shared(dolt_cli: Path, dolt_home: Path, tmp_path_factory: pytest.TempPathFactory):
    """A `dolt sql-server` with database `mydb` for the whole test session."""
    directory = tmp_path_factory.mktemp("dolt-served")
    dolt_init(dolt_cli, directory, "mydb", dolt_home)
    with run_dolt_server(dolt_cli, directory, "mydb", dolt_home) as server:
        yield server


@pytest.fixture(scope="session")
def proxy_dolt_server(dolt_server_shared: DoltServer):
    """The proxy on the `dolt+mysql://` backend, in front of dolt_server_shared."""
    from tests.fix_proxy import run_proxy

    with run_proxy(dolt_server_shared.url) as proxy:
        yield proxy


@pytest.fixture(scope="session", params=["embedded", "server"])
def proxy_dolt(request: pytest.FixtureRequest):
    """The proxy on each Dolt backend in turn: embedded (dolt://), served (dolt+mysql://)."""
    return request.getfixturevalue(f"proxy_dolt_{request.param}")
