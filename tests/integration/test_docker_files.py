"""docker/: the compose file validated by Compose itself, the image's configuration loaded by
the proxy, the Dockerfile's build stages run on the host (docker/build-steps.sh), and the
HEALTHCHECK script against a running proxy. No image registry is reachable here, so no image
is built or pulled."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pgproxy import config
from pgproxy.backends import from_url
from tests.fix_proxy import run_proxy
from tests.fix_servers import apt_install, free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
SECRETS = {
    "MYSQL_ROOT_PASSWORD": "root-pw",
    "MYSQL_PASSWORD": "app-pw",
    "MSSQL_SA_PASSWORD": "Sa-pw-1433",
    "PGPROXY_APP_VERIFIER": "SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy",
}


def compose_command() -> list[str]:
    """`docker compose` where the plugin exists, else Debian's docker-compose (installed
    with apt when running as root); skips when neither can be had."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True,
                                 check=False).returncode == 0:
        return [docker, "compose"]
    if shutil.which("docker-compose") is None and os.geteuid() == 0:
        apt_install("docker-compose")
    found = shutil.which("docker-compose")
    if found is None:
        pytest.skip("neither the docker compose plugin nor docker-compose is available")
    return [found]


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run(
        [*compose_command(), "-f", str(DOCKER / "compose.yml"), "config"],
        env={**clean, **env}, capture_output=True, text=True, timeout=120, check=False,
    )


def test_compose_file_is_valid() -> None:
    done = compose_config(SECRETS)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    for service in ("proxy:", "mysql:", "sqlserver:", "dolt:"):
        assert f"\n  {service}" in text
    assert "mcr.microsoft.com/mssql/server:2022-latest" in text
    assert "image: mysql:8" in text and "dolthub/dolt-sql-server" in text
    assert text.count("condition: service_healthy") == 3
    assert text.count("healthcheck:") == 3  # the proxy's is the image's HEALTHCHECK
    assert "dockerfile: docker/Dockerfile" in text


def test_compose_refuses_to_start_without_its_secrets() -> None:
    done = compose_config({k: v for k, v in SECRETS.items() if k != "PGPROXY_APP_VERIFIER"})
    assert done.returncode != 0
    assert "PGPROXY_APP_VERIFIER" in done.stderr


def test_the_image_configuration_routes_every_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    cfg = config.load(str(DOCKER / "pgproxy.toml"), env={})
    assert cfg.listen == ["0.0.0.0:6432"]
    assert cfg.users == {"app": SECRETS["PGPROXY_APP_VERIFIER"]}
    dialects = {}
    for route, url in cfg.backends.items():
        backend = from_url(url)  # builds, connects to nothing
        dialects[route] = backend.dialect
        assert "pw" not in backend.redacted_url()
        backend.close()
    assert dialects == {"app": "sqlite", "mysql": "mysql", "sqlserver": "tsql", "dolt": "dolt"}


def test_dockerfile_runs_the_build_steps_it_names() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert "docker/build-steps.sh libdolt /out" in text
    assert "docker/build-steps.sh wheel /out" in text
    assert "USER pgproxy" in text and "HEALTHCHECK" in text
    assert '"serve", "--listen", "0.0.0.0:6432"' in text
    go_line = next(line for line in (ROOT / "native" / "go.mod").read_text().splitlines()
                   if line.startswith("go "))
    wanted = ".".join(go_line.split()[1].split(".")[:2])
    assert f"ARG GO_VERSION={wanted}" in text  # the Go stage can build native/


@pytest.mark.slow
def test_build_step_wheel(tmp_path: Path) -> None:
    done = subprocess.run([str(DOCKER / "build-steps.sh"), "wheel", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = tmp_path.glob("pgproxy-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"pgproxy/backends/mssql.py", "dialects/tsql.py", "dialects/pg_functions.txt"} <= names
    assert list(tmp_path.glob("python_tds-*.whl"))


@pytest.mark.slow
def test_build_step_libdolt(tmp_path: Path) -> None:
    from tests.fix_dolt import require_go

    require_go()
    done = subprocess.run([str(DOCKER / "build-steps.sh"), "libdolt", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=3600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "libdolt.so").stat().st_size > 1_000_000


def test_healthcheck_answers_for_a_running_proxy_only(tmp_path: Path) -> None:
    script = [sys.executable, str(DOCKER / "healthcheck.py")]
    with run_proxy(f"sqlite:///{tmp_path}/h.db") as proxy:
        up = subprocess.run([*script, proxy.host, str(proxy.port)], timeout=30, check=False)
        assert up.returncode == 0
    down = subprocess.run([*script, "127.0.0.1", str(free_port())], timeout=30, check=False)
    assert down.returncode == 1
