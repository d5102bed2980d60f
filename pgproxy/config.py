"""Configuration: one TOML file, overridden by PGPROXY_* environment variables, then flags."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgproxy.routing.groups import RouteConfig

DEFAULT_PORT = 6432
DEFAULT_LISTEN = f"127.0.0.1:{DEFAULT_PORT}"
DEFAULT_BACKEND = "sqlite:pgproxy.db"  # relative to the working directory


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
    workers: int = 64
    cache_size: int = 4096
    log_level: str = "info"
    server_version: str | None = None  # advertised; None: settings.DEFAULT_SERVER_VERSION
    # Raw sections, each read by the module that owns it.
    query_cache: dict[str, Any] = field(default_factory=dict)  # pgproxy.cache.CacheOptions
    observers: dict[str, Any] = field(default_factory=dict)  # pgproxy.observers
    telemetry: dict[str, Any] = field(default_factory=dict)  # pgproxy.telemetry
    admin: dict[str, Any] = field(default_factory=dict)  # pgproxy.admin
    health: dict[str, Any] = field(default_factory=dict)  # pgproxy.health
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
    }
    overrides.update({k: v for k, v in flags.items() if v is not None})
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "listen":
            cfg.listen = [value] if isinstance(value, str) else list(value)
        elif key == "backend":
            cfg.backends["default"] = value
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
    for key in ("auth", "allow_remote_trust", "require_tls", "tls_cert", "tls_key", "workers",
                "log_level", "server_version"):
        if key in server:
            setattr(cfg, key, server[key])
    for key in ("allow_remote_trust", "require_tls"):
        if key in server and not isinstance(server[key], bool):
            raise ValueError(f"[server] {key} must be true or false")
    if "authentication_timeout" in server:
        # PostgreSQL's range: 1 s to 10 min.
        cfg.authentication_timeout = _number(server, "authentication_timeout", 1, 600)
    if "max_client_conn" in server:
        cfg.max_client_conn = int(_number(server, "max_client_conn", 1, 1_000_000))
    if "cache" in data and "translation_entries" in data["cache"]:
        cfg.cache_size = int(data["cache"]["translation_entries"])
    if data.get("backends"):
        cfg.backends = {str(k): str(v) for k, v in data["backends"].items()}
    elif data.get("routes"):
        cfg.backends = {}  # routes alone: no default SQLite file behind them
    for name, section in data.get("routes", {}).items():
        if not isinstance(section, dict):
            raise ValueError(f"[routes] {name} must be a table: [routes.{name}]")
        if name in cfg.backends:
            raise ValueError(f"{name!r} is both a [backends] entry and a [routes.{name}] table")
        cfg.routes[str(name)] = RouteConfig.from_section(str(name), section)
    cfg.users = {str(k): str(v) for k, v in data.get("users", {}).items()}
    for section in ("query_cache", "observers", "telemetry", "admin", "health", "pool"):
        setattr(cfg, section, dict(data.get(section, {})))


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
