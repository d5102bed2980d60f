"""Configuration: the [server] limits and their checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgproxy import config


def _load(tmp_path: Path, text: str) -> config.Config:
    path = tmp_path / "pgproxy.toml"
    path.write_text(text)
    return config.load(str(path), env={})


def test_server_limits_default_to_postgresql_and_pgbouncer_values(tmp_path):
    cfg = config.load(None, env={})
    assert (cfg.authentication_timeout, cfg.max_client_conn, cfg.require_tls) == (60.0, 1000, False)


def test_server_limits_are_read(tmp_path):
    cfg = _load(
        tmp_path, "[server]\nauthentication_timeout = 5\nmax_client_conn = 3\nrequire_tls = true\n"
    )
    assert (cfg.authentication_timeout, cfg.max_client_conn, cfg.require_tls) == (5.0, 3, True)


@pytest.mark.parametrize(
    "line",
    [
        "authentication_timeout = 0",
        "authentication_timeout = 601",
        'authentication_timeout = "60s"',
        "max_client_conn = 0",
        "max_client_conn = true",
        'require_tls = "yes"',
    ],
)
def test_bad_server_limits_are_configuration_errors(tmp_path, line):
    with pytest.raises(ValueError):
        _load(tmp_path, f"[server]\n{line}\n")
