#!/bin/sh
# Installs what the test suite needs on Debian 12: the MariaDB and PostgreSQL
# server binaries (tests start their own throwaway servers from them; no
# system service is used), Compose, and the Python package with its test extras.
# The mock TDS server (SQL Server's protocol) is built by its fixture with cargo.
# Run as root from the repository root. Safe to run again.
set -eu

need_apt=""
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need_apt="$need_apt mariadb-server"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt="$need_apt postgresql"
# docker/compose.yml is validated with Compose (tests/integration/test_docker_files.py).
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 \
    || need_apt="$need_apt docker-compose"
if [ -n "$need_apt" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    apt-get install -y -qq --no-install-recommends $need_apt
fi

# PostgreSQL refuses to run as root; the fixtures run it as this user.
id pgproxytest >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin pgproxytest

python3 -m pip install -q -e ".[test]"
