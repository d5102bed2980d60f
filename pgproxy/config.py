"""Configuration: one TOML file, overridden by PGPROXY_* environment variables, then flags."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgproxy.routing.groups import RouteConfig

DEFAULT_PORT = 6432
DEFAULT_LISTEN = f"127.0.0.1:{DEFAULT_PORT}"
DEFAULT_BACKEND = "sqlite:pgproxy.db"  # relative to the working directory
MAX_WORKERS = 64  # processes; a worker id must fit the cancel key's high bits (wire/keys.py)


@dataclass
class Config:
    listen: list[str] = field(default_factory=lambda: [DEFAULT_LISTEN])
    backends: dict[str, str] = field(default_factory=lambda: {"default": DEFAULT_BACKEND})
    users: dict[str, str] = field(default_factory=dict)
    auth: str | None = None  # trust | password | md5 | scram-sha-256; None: by users
    allow_remote_trust: bool = False
    require_tls: bool = False  # pg_hba's hostssl for every client not on loopback
    authentication_timeout: float = 60.0  # seconds from connect to authenticated
    max_client_conn: int = 1000  # open client connections, authenticated or not
    tls_cert: str | None = None
    tls_key: str | None = None
    flight: str | None = None  # host:port of the Arrow Flight SQL endpoint (pgproxy[flight])
    workers: int = field(default_factory=lambda: default_workers())  # processes (supervisor.py)
    threads: int = 64  # per backend, for its blocking driver calls
    warnings: list[str] = field(default_factory=list)  # logged once logging is set up
    cache_size: int = 4096
    log_level: str = "info"
    server_version: str | None = None  # advertised; None: settings.DEFAULT_SERVER_VERSION
    # Raw sections, each read by the module that owns it.
    query_cache: dict[str, Any] = field(default_factory=dict)  # pgproxy.cache.CacheOptions
    observers: dict[str, Any] = field(default_factory=dict)  # pgproxy.observers
    telemetry: dict[str, Any] = field(default_factory=dict)  # pgproxy.telemetry
    admin: dict[str, Any] = field(default_factory=dict)  # pgproxy.admin
    health: dict[str, Any] = field(default_factory=dict)  # pgproxy.health
    federation: dict[str, Any] = field(default_factory=dict)  # pgproxy.federation
    pool: dict[str, Any] = field(default_factory=dict)  # pgproxy.routing.pool
    routes: dict[str, RouteConfig] = field(default_factory=dict)  # [routes.NAME]


def load(path: str | None = None, env: dict[str, str] | None = None, **flags: Any) -> Config:
    """The file (if any), then the environment, then flags that are not None."""
    env = dict(os.environ if env is None else env)
    path = path or env.get("PGPROXY_CONFIG")
    cfg = Config()
    if path:
        _apply_file(cfg, Path(path))
    overrides = {
        "listen": env.get("PGPROXY_LISTEN"),
        "backend": env.get("PGPROXY_BACKEND"),
        "log_level": env.get("PGPROXY_LOG_LEVEL"),
        "auth": env.get("PGPROXY_AUTH"),
        "workers": env.get("PGPROXY_WORKERS"),
    }
    overrides.update({k: v for k, v in flags.items() if v is not None})
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "listen":
            cfg.listen = [value] if isinstance(value, str) else list(value)
        elif key == "backend":
            cfg.backends["default"] = value
        elif key == "workers":
            cfg.workers = _workers(value)
        else:
            setattr(cfg, key, value)
    return cfg


def _apply_file(cfg: Config, path: Path) -> None:
    with path.open("rb") as f:
        data = tomllib.load(f)
    server = data.get("server", {})
    listen = server.get("listen")
    if listen:
        cfg.listen = [listen] if isinstance(listen, str) else list(listen)
    for key in ("auth", "allow_remote_trust", "require_tls", "tls_cert", "tls_key",
                "log_level", "server_version", "flight"):
        if key in server:
            setattr(cfg, key, server[key])
    for key in ("allow_remote_trust", "require_tls"):
        if key in server and not isinstance(server[key], bool):
            raise ValueError(f"[server] {key} must be true or false")
    if "threads" in server:
        cfg.threads = int(_number(server, "threads", 1, 4096))
    if "workers" in server:
        old = server["workers"]
        if "threads" not in server and isinstance(old, int) and old > default_workers():
            # Before --workers counted processes, this key counted threads per backend.
            cfg.threads = int(_number(server, "workers", 1, 4096))
            cfg.warnings.append(
                f"[server] workers = {old} is read as threads = {old} (its old meaning): "
                "workers now counts processes; rename it to threads"
            )
        else:
            cfg.workers = _workers(old)
    if "authentication_timeout" in server:
        # PostgreSQL's range: 1 s to 10 min.
        cfg.authentication_timeout = _number(server, "authentication_timeout", 1, 600)
    if "max_client_conn" in server:
        cfg.max_client_conn = int(_number(server, "max_client_conn", 1, 1_000_000))
    if "cache" in data and "translation_entries" in data["cache"]:
        cfg.cache_size = int(data["cache"]["translation_entries"])
    if data.get("backends"):
        cfg.backends = {str(k): _environ(str(v)) for k, v in data["backends"].items()}
    elif data.get("routes"):
        cfg.backends = {}  # routes alone: no default SQLite file behind them
    for name, section in data.get("routes", {}).items():
        if not isinstance(section, dict):
            raise ValueError(f"[routes] {name} must be a table: [routes.{name}]")
        if name in cfg.backends:
            raise ValueError(f"{name!r} is both a [backends] entry and a [routes.{name}] table")
        section = {key: [_environ(str(u)) for u in value] if key == "replicas" and isinstance(
            value, list) else _environ(value) if key == "primary" and isinstance(value, str)
            else value for key, value in section.items()}
        cfg.routes[str(name)] = RouteConfig.from_section(str(name), section)
    cfg.users = {str(k): _environ(str(v)) for k, v in data.get("users", {}).items()}
    for section in ("query_cache", "observers", "telemetry", "admin", "health", "pool",
                    "federation"):
        setattr(cfg, section, dict(data.get(section, {})))


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _environ(value: str) -> str:
    """`${NAME}` in a backend URL or a user's secret is the environment variable NAME, so a
    file can be shared (a container image's) while passwords and verifiers stay out of it."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ValueError(f"${{{name}}} in the configuration, but {name} is not set")
        return os.environ[name]

    return _VARIABLE.sub(lookup, value)
def default_workers() -> int:
    """One worker process per core this process may run on."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def _workers(value: Any) -> int:
    """[server] workers / --workers / PGPROXY_WORKERS: a process count, or "auto" (cores)."""
    if value == "auto":
        return default_workers()
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if isinstance(value, bool) or not 1 <= n <= MAX_WORKERS:
        raise ValueError(
            f'workers must be a number from 1 to {MAX_WORKERS} or "auto", not {value!r}'
        )
    return n


def _number(section: dict[str, Any], key: str, low: float, high: float) -> float:
    value = section[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"[server] {key} must be a number from {low:g} to {high:g}, not {value!r}")
    return float(value)


def split_listen(address: str) -> tuple[str, int]:
    """'host:port', '[::1]:port' or ':port' -> (host, port)."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port or DEFAULT_PORT)
