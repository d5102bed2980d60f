"""Throwaway MariaDB and PostgreSQL servers: real processes on free loopback ports.

Each server gets a fresh temporary data directory, a random password and a
port nobody else uses, and is stopped and deleted at the end of the session.
Nothing relies on a service that happens to be running on the machine. When
the server binaries are missing they are installed from Debian's packages
(`mariadb-server`, `postgresql`), which needs root; scripts/install-test-deps.sh
does the same ahead of time.

Fixtures (session-scoped unless said):
  mariadb          a running MariaDBServer (host, port, user, password, database, url)
  mariadb_url      'mysql://pgproxy:<pw>@127.0.0.1:<port>/pgproxy_test'
  mariadb_replication  (per test) a MariaDBReplication: .primary and .replica with
                   binlog replication between them, both running and in step when the
                   test starts; .primary.kill() / .restart(), .lag(), .held(table)
  postgresql       a running PostgreSQLServer (also .env() and .bindir for pgbench/psql)
  postgresql_url   'postgresql://pgproxy:<pw>@127.0.0.1:<port>/pgproxy_test'
  mssql_mock_url   'mssql://sa:<pw>@127.0.0.1:<port>/app' on the mock TDS server (mssql-mock-tds
                   built with cargo from tests/mssql_mock; canned results, see its main.rs)

Benchmarks can start the same servers outside pytest:
    with PostgreSQLServer.started() as pg:
        subprocess.run([pg.bindir + "/pgbench", "-i", pg.database], env=pg.env())
or from a shell, `python -m tests.fix_servers postgresql` prints the URL and the
PG* variables and keeps the server up until interrupted.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import pymysql

START_TIMEOUT = 90.0
PG_OS_USER = "pgproxytest"  # PostgreSQL refuses to run as root
TEST_USER = "pgproxy"
TEST_DATABASE = "pgproxy_test"


# --- small helpers ----------------------------------------------------------


def free_port() -> int:
    """A loopback port free right now (the server may still lose a race: callers retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def apt_install(*packages: str) -> None:
    """Install Debian packages; only root can, so say what to run otherwise."""
    if os.geteuid() != 0:
        raise RuntimeError(
            f"missing {' '.join(packages)}: run scripts/install-test-deps.sh as root"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        check=True,
        env=env,
    )


def find_mariadb() -> tuple[str, str]:
    """(mariadbd, mariadb-install-db), installing mariadb-server if needed."""
    def look() -> tuple[str | None, str | None]:
        daemon = shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin")
        install = shutil.which("mariadb-install-db") or shutil.which(
            "mysql_install_db", path="/usr/bin:/usr/sbin"
        )
        return daemon, install

    daemon, install = look()
    if not (daemon and install):
        apt_install("mariadb-server")
        daemon, install = look()
    if not (daemon and install):
        raise RuntimeError("mariadb-server installed but mariadbd/mariadb-install-db not found")
    return daemon, install


def find_psql() -> str:
    """The psql client, installing Debian's postgresql-client if needed."""
    found = shutil.which("psql")
    if found is None:
        apt_install("postgresql-client")
        found = shutil.which("psql")
    if found is None:
        raise RuntimeError("postgresql-client installed but psql is not on PATH")
    return found


def find_postgresql_bindir() -> str:
    """The newest /usr/lib/postgresql/<v>/bin, installing postgresql if needed."""
    def look() -> str | None:
        dirs = [d for d in glob.glob("/usr/lib/postgresql/*/bin") if os.path.exists(d + "/initdb")]
        dirs.sort(key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0)
        return dirs[-1] if dirs else None

    bindir = look()
    if bindir is None:
        apt_install("postgresql")
        bindir = look()
    if bindir is None:
        raise RuntimeError("postgresql installed but no /usr/lib/postgresql/*/bin/initdb")
    return bindir


def ensure_os_user(name: str) -> pwd.struct_passwd:
    """An unprivileged system user to own PostgreSQL's data directory."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
        )
        return pwd.getpwnam(name)


def _stop(proc: subprocess.Popen[bytes], sig: int, timeout: float = 30.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _log_tail(path: str, lines: int = 30) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


# --- MariaDB ----------------------------------------------------------------


@dataclass
class MariaDBServer:
    """A mariadbd with its own data directory, user and database."""

    host: str = "127.0.0.1"
    port: int = 0
    user: str = TEST_USER
    password: str = field(default_factory=lambda: secrets.token_hex(8))
    database: str = TEST_DATABASE
    tmpdir: str = ""
    proc: subprocess.Popen[bytes] | None = None
    server_id: int = 1
    log_bin: bool = False  # a binary log, for a replication primary

    @property
    def url(self) -> str:
        return f"mysql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    @property
    def socket_path(self) -> str:
        return os.path.join(self.tmpdir, "mysqld.sock")

    def start(self, *, create_user: bool = True) -> MariaDBServer:
        """Install a fresh data directory and launch on a free port; `create_user=False`
        leaves the user and database to come some other way (a replica gets them by
        replication)."""
        _daemon, install_db = find_mariadb()
        self.tmpdir = tempfile.mkdtemp(prefix="pgproxy-mariadb-")
        subprocess.run(
            [
                install_db,
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _attempt in range(3):
            self.port = free_port()
            if self._launch():
                if create_user:
                    self._create_user()
                return self
            _stop(self.proc, signal.SIGKILL)  # type: ignore[arg-type]
        last_error = _log_tail(self.log_path)
        self.stop()
        raise RuntimeError(f"mariadbd did not start:\n{last_error}")

    @property
    def datadir(self) -> str:
        return os.path.join(self.tmpdir, "data")

    @property
    def log_path(self) -> str:
        return os.path.join(self.tmpdir, "mariadbd.log")

    def _launch(self) -> bool:
        """mariadbd on self.port and the existing data directory; True once it answers."""
        daemon, _install = find_mariadb()
        if self.log_bin:
            binlog = ["--log-bin=mariadb-bin", "--binlog-format=ROW"]
        else:
            binlog = ["--skip-log-bin"]
        self.proc = subprocess.Popen(
            [
                daemon,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--socket={self.socket_path}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--pid-file={os.path.join(self.tmpdir, 'mariadbd.pid')}",
                f"--log-error={self.log_path}",
                "--user=root",
                "--skip-name-resolve",
                f"--server-id={self.server_id}",
                *binlog,
                "--innodb-buffer-pool-size=128M",
                # A throwaway server: durability buys nothing here (a SIGKILL of the
                # process still loses nothing: the OS has the log).
                "--innodb-flush-log-at-trx-commit=2",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self._wait_ready()

    def kill(self) -> None:
        """SIGKILL mariadbd (a crash: no shutdown, open connections reset)."""
        if self.proc is not None:
            _stop(self.proc, signal.SIGKILL)

    def restart(self) -> None:
        """Start mariadbd again on the same port and data directory (after kill())."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("mariadbd is still running")
        deadline = time.monotonic() + START_TIMEOUT
        # The port can linger a moment after a kill: try again until it binds.
        while not self._launch():
            _stop(self.proc, signal.SIGKILL)  # type: ignore[arg-type]
            if time.monotonic() > deadline:
                raise RuntimeError(f"mariadbd did not restart:\n{_log_tail(self.log_path)}")
            time.sleep(0.5)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def root(self) -> pymysql.connections.Connection:
        """An autocommit root connection over the server's unix socket."""
        import pymysql

        return pymysql.connect(
            unix_socket=self.socket_path, user="root", autocommit=True,
            cursorclass=pymysql.cursors.DictCursor,
        )

    def _wait_ready(self) -> bool:
        import pymysql

        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                pymysql.connect(
                    unix_socket=self.socket_path, user="root", connect_timeout=2
                ).close()
                return True
            except pymysql.err.OperationalError:
                time.sleep(0.2)
        return False

    def _create_user(self) -> None:
        import pymysql

        conn = pymysql.connect(unix_socket=self.socket_path, user="root", autocommit=True)
        try:
            with conn.cursor() as cur:
                for host in ("127.0.0.1", "localhost"):
                    cur.execute(
                        f"CREATE USER '{self.user}'@'{host}' IDENTIFIED BY %s", (self.password,)
                    )
                    cur.execute(
                        f"GRANT ALL PRIVILEGES ON *.* TO '{self.user}'@'{host}' WITH GRANT OPTION"
                    )
                cur.execute(f"CREATE DATABASE `{self.database}` CHARACTER SET utf8mb4")
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc, signal.SIGTERM)
            self.proc = None
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = ""

    @classmethod
    @contextlib.contextmanager
    def started(cls) -> Iterator[MariaDBServer]:
        server = cls().start()
        try:
            yield server
        finally:
            server.stop()


class MariaDBReplication:
    """A MariaDB primary and a replica with real binlog replication (GTID), both on loopback.

    The primary writes a row-based binary log; the replica follows it from the start,
    so the test user and database made on the primary reach it by replication (same
    user, password and database name on both). Either member can be SIGKILLed and
    restarted on its port and data directory: the replica's I/O thread retries
    every second and replication resumes from its GTID position.
    """

    REPL_USER = "repl"

    def __init__(self) -> None:
        self.primary = MariaDBServer(server_id=1, log_bin=True)
        self.replica = MariaDBServer(server_id=2)
        self.replica.password = self.primary.password
        self.repl_password = secrets.token_hex(8)

    def start(self) -> MariaDBReplication:
        self.primary.start(create_user=False)
        try:
            with self.primary.root() as conn, conn.cursor() as cur:
                cur.execute(
                    f"CREATE USER '{self.REPL_USER}'@'127.0.0.1' IDENTIFIED BY %s",
                    (self.repl_password,),
                )
                cur.execute(f"GRANT REPLICATION SLAVE ON *.* TO '{self.REPL_USER}'@'127.0.0.1'")
            self.primary._create_user()
            self.replica.start(create_user=False)
            with self.replica.root() as conn, conn.cursor() as cur:
                cur.execute(
                    "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = %s,"
                    " MASTER_USER = %s, MASTER_PASSWORD = %s, MASTER_CONNECT_RETRY = 1,"
                    " MASTER_USE_GTID = slave_pos",
                    (self.primary.port, self.REPL_USER, self.repl_password),
                )
                cur.execute("START SLAVE")
            self.wait_replicated()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.replica.stop()
        self.primary.stop()

    @classmethod
    @contextlib.contextmanager
    def started(cls) -> Iterator[MariaDBReplication]:
        pair = cls().start()
        try:
            yield pair
        finally:
            pair.stop()

    def wait_replicated(self, timeout: float = 60.0) -> None:
        """Block until the replica has applied everything the primary has logged so far."""
        with self.primary.root() as conn, conn.cursor() as cur:
            cur.execute("SELECT @@gtid_binlog_pos AS pos")
            pos = cur.fetchone()["pos"]
        with self.replica.root() as conn, conn.cursor() as cur:
            cur.execute("SELECT MASTER_GTID_WAIT(%s, %s) AS waited", (pos, timeout))
            if cur.fetchone()["waited"] != 0:
                raise TimeoutError(f"replica not at {pos!r} after {timeout}s: {self.status()}")

    def status(self) -> dict[str, Any]:
        """The replica's SHOW SLAVE STATUS row ({} when replication is not configured)."""
        with self.replica.root() as conn, conn.cursor() as cur:
            cur.execute("SHOW SLAVE STATUS")
            return cur.fetchone() or {}

    def lag(self) -> int | None:
        """Seconds_Behind_Master as the replica reports it (None: not replicating)."""
        return self.status().get("Seconds_Behind_Master")

    @contextlib.contextmanager
    def held(self, table: str) -> Iterator[None]:
        """Make the replica fall behind: hold locks on every row of `table` on the
        replica so its SQL thread waits to apply the next change to it, while plain
        reads there still answer. Lag grows until the block ends."""
        with self.replica.root() as conn, conn.cursor() as cur:
            cur.execute(f"USE `{self.replica.database}`")
            cur.execute("SET SESSION innodb_lock_wait_timeout = 3600")
            cur.execute("BEGIN")
            cur.execute(f"SELECT COUNT(*) FROM `{table}` FOR UPDATE")
            try:
                yield
            finally:
                cur.execute("ROLLBACK")

    def ensure_running(self) -> None:
        """Restart a member a test left killed, and wait until replication caught up."""
        for server in (self.primary, self.replica):
            if not server.running():
                server.restart()
        self.wait_replicated()


# --- PostgreSQL -------------------------------------------------------------


@dataclass
class PostgreSQLServer:
    """A postgres with its own data directory, run as an unprivileged OS user.

    `settings` are passed as -c options; the default turns fsync off, which
    changes nothing for read-only benchmarks (pgbench -S, point SELECTs) and
    makes the test suite's DDL fast. Pass settings={} for a stock server.
    """

    host: str = "127.0.0.1"
    port: int = 0
    user: str = TEST_USER
    password: str = field(default_factory=lambda: secrets.token_hex(8))
    database: str = TEST_DATABASE
    settings: dict[str, str] = field(default_factory=lambda: {"fsync": "off"})
    bindir: str = ""
    tmpdir: str = ""
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    def env(self) -> dict[str, str]:
        """os.environ plus PG* variables, for psql and pgbench."""
        return {
            **os.environ,
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": self.database,
        }

    def _as_owner(self) -> dict[str, object]:
        owner = ensure_os_user(PG_OS_USER)
        return {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": [], "cwd": self.tmpdir}

    def start(self) -> PostgreSQLServer:
        self.bindir = find_postgresql_bindir()
        owner = ensure_os_user(PG_OS_USER)
        # Not under pytest's tmp dir: that one is 0700 root and the postgres
        # user could not reach its data directory.
        self.tmpdir = tempfile.mkdtemp(prefix="pgproxy-pg-")
        os.chown(self.tmpdir, owner.pw_uid, owner.pw_gid)
        datadir = os.path.join(self.tmpdir, "data")
        pwfile = os.path.join(self.tmpdir, "pwfile")
        with open(pwfile, "w") as f:
            f.write(self.password + "\n")
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        subprocess.run(
            [
                f"{self.bindir}/initdb",
                "-D", datadir,
                "-U", self.user,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E", "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            **self._as_owner(),  # type: ignore[arg-type]
        )
        os.unlink(pwfile)
        last_error = ""
        for _attempt in range(3):
            self.port = free_port()
            log = os.path.join(self.tmpdir, "postgres.log")
            options = []
            for key, value in {"listen_addresses": self.host, **self.settings}.items():
                options += ["-c", f"{key}={value}"]
            with open(log, "ab") as logf:
                self.proc = subprocess.Popen(
                    [
                        f"{self.bindir}/postgres",
                        "-D", datadir,
                        "-p", str(self.port),
                        "-k", self.tmpdir,
                        *options,
                    ],
                    stdout=logf,
                    stderr=subprocess.STDOUT,
                    **self._as_owner(),  # type: ignore[arg-type]
                )
            if self._wait_ready():
                self._create_database()
                return self
            last_error = _log_tail(log)
            _stop(self.proc, signal.SIGKILL)
        self.stop()
        raise RuntimeError(f"postgres did not start:\n{last_error}")

    def _wait_ready(self) -> bool:
        import psycopg

        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                psycopg.connect(
                    host=self.host, port=self.port, user=self.user, password=self.password,
                    dbname="postgres", connect_timeout=2,
                ).close()
                return True
            except psycopg.OperationalError:
                time.sleep(0.2)
        return False

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(
            host=self.host, port=self.port, user=self.user, password=self.password,
            dbname="postgres", autocommit=True,
        ) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc, signal.SIGINT)  # SIGINT is PostgreSQL's "fast" shutdown
            self.proc = None
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = ""

    @classmethod
    @contextlib.contextmanager
    def started(cls, **kwargs: object) -> Iterator[PostgreSQLServer]:
        server = cls(**kwargs).start()  # type: ignore[arg-type]
        try:
            yield server
        finally:
            server.stop()


# --- fixtures ---------------------------------------------------------------


@pytest.fixture(scope="session")
def psql_client() -> str:
    """Path of psql, installed when missing, for tests that drive the real client."""
    return find_psql()


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDBServer]:
    with MariaDBServer.started() as server:
        yield server


@pytest.fixture(scope="session")
def mariadb_url(mariadb: MariaDBServer) -> str:
    return mariadb.url


@pytest.fixture(scope="session")
def mariadb_replication_pair() -> Iterator[MariaDBReplication]:
    with MariaDBReplication.started() as pair:
        yield pair


@pytest.fixture
def mariadb_replication(mariadb_replication_pair: MariaDBReplication) -> MariaDBReplication:
    """The session's primary + replica, both running and in step (tests may kill them)."""
    mariadb_replication_pair.ensure_running()
    return mariadb_replication_pair


@pytest.fixture(scope="session")
def postgresql() -> Iterator[PostgreSQLServer]:
    with PostgreSQLServer.started() as server:
        yield server


@pytest.fixture(scope="session")
def postgresql_url(postgresql: PostgreSQLServer) -> str:
    return postgresql.url



# --- the mock TDS server (SQL Server's protocol) ------------------------------------------

_MOCK_CRATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mssql_mock")
_CACHE = os.environ.get("PGPROXY_CACHE") or os.path.expanduser("~/.cache/pgproxy")


def mssql_mock_binary() -> str:
    """tests/mssql_mock (the `mssql-mock-tds` crate plus canned results) built with cargo
    into ~/.cache/pgproxy/mssql-mock; skips, with the reason, when it cannot be built."""
    cargo = shutil.which("cargo") or os.path.expanduser("~/.cargo/bin/cargo")
    if not os.path.exists(cargo):
        pytest.skip("the mock TDS server needs cargo (Rust) to build mssql-mock-tds")
    target = os.path.join(_CACHE, "mssql-mock")
    built = subprocess.run(
        [cargo, "build", "--release", "--quiet", "--manifest-path",
         os.path.join(_MOCK_CRATE, "Cargo.toml"), "--target-dir", target],
        capture_output=True, text=True, timeout=1200, check=False)
    if built.returncode != 0:
        pytest.skip(f"mssql-mock-tds could not be built: {built.stderr.strip()[-500:]}")
    return os.path.join(target, "release", "pgproxy-mssql-mock")


@contextlib.contextmanager
def mssql_mock_server(tls: tuple[str, str] | None = None) -> Iterator[int]:
    """The mock on a free loopback port (TLS with `tls` = (cert, key) PEM paths): its port."""
    port = free_port()
    args = [mssql_mock_binary(), str(port), *(tls or ())]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("ready"):
            raise RuntimeError(f"mssql mock did not start: {line!r}")
        yield port
    finally:
        _stop(proc, signal.SIGTERM)


@pytest.fixture(scope="session")
def mssql_mock_url() -> Iterator[str]:
    """'mssql://sa:…@127.0.0.1:<port>/app' on the mock TDS server (canned results only)."""
    with mssql_mock_server() as port:
        yield f"mssql://sa:{secrets.token_hex(8)}@127.0.0.1:{port}/app"


def main(argv: list[str]) -> int:
    kinds = {"mariadb": MariaDBServer, "postgresql": PostgreSQLServer}
    if len(argv) != 1 or argv[0] not in kinds:
        print("usage: python -m tests.fix_servers mariadb|postgresql", file=sys.stderr)
        return 2
    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # `kill <pid>` must still stop the server and delete its data directory.
    signal.signal(signal.SIGTERM, interrupt)
    with kinds[argv[0]].started() as server:
        print(server.url, flush=True)
        if isinstance(server, PostgreSQLServer):
            for k, v in server.env().items():
                if k.startswith("PG"):
                    print(f"export {k}={v}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
