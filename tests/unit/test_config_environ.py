"""`${NAME}` in [backends] and [users] is the environment's value: a shared file holds no secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgproxy import config


def test_backend_urls_and_user_secrets_read_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "pgproxy.toml"
    path.write_text('[backends]\nsql = "mssql://sa:${SA_PASSWORD}@db:1433/app"\n'
                    '[users]\napp = "${APP_VERIFIER}"\nplain = "pw$1 {x}"\n')
    monkeypatch.setenv("SA_PASSWORD", "s3cret")
    monkeypatch.setenv("APP_VERIFIER", "SCRAM-SHA-256$4096:c2FsdA==$a2V5:a2V5")
    cfg = config.load(str(path), env={})
    assert cfg.backends == {"sql": "mssql://sa:s3cret@db:1433/app"}
    assert cfg.users == {"app": "SCRAM-SHA-256$4096:c2FsdA==$a2V5:a2V5", "plain": "pw$1 {x}"}


def test_an_unset_variable_is_an_error_naming_it(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "pgproxy.toml"
    path.write_text('[users]\napp = "${PGPROXY_TEST_UNSET_VERIFIER}"\n')
    monkeypatch.delenv("PGPROXY_TEST_UNSET_VERIFIER", raising=False)
    with pytest.raises(ValueError, match="PGPROXY_TEST_UNSET_VERIFIER is not set"):
        config.load(str(path), env={})
