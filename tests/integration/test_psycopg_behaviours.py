"""What psycopg's own suite leans on, through the proxy: LISTEN / NOTIFY / pg_notify(),
pg_sleep() and its cancel, two-phase commit refused as PostgreSQL refuses it when disabled,
an error aborting the transaction block, unknown types as 42704."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest
from psycopg import errors as pgerrors

pytestmark = pytest.mark.integration


@pytest.fixture
def channel() -> str:
    return f"ch_{uuid.uuid4().hex[:8]}"


def _connect(proxy, dbname: str = "app") -> psycopg.Connection:
    return psycopg.connect(proxy.dsn(dbname), autocommit=True)


def _received(conn: psycopg.Connection, timeout: float = 1.0) -> list[tuple[str, str, int]]:
    return [(n.channel, n.payload, n.pid) for n in conn.notifies(timeout=timeout)]


def test_notify_reaches_listeners_of_the_same_database(proxy, channel):
    with _connect(proxy) as listener, _connect(proxy) as sender, _connect(proxy) as other:
        listener.execute(f"LISTEN {channel}")
        other.execute(f'LISTEN "{channel}_other"')
        assert sender.execute(f"NOTIFY {channel}, 'it''s one'").statusmessage == "NOTIFY"
        sender.execute("SELECT pg_notify(%s, %s)", (channel, "two")).fetchall()
        sender.execute(f"NOTIFY {channel}")
        pid = sender.info.backend_pid
        assert _received(listener) == [
            (channel, "it's one", pid),
            (channel, "two", pid),
            (channel, "", pid),
        ]
        assert _received(other, 0.2) == []


def test_notify_in_a_transaction_waits_for_commit_and_dies_with_rollback(proxy, channel):
    with _connect(proxy) as listener, _connect(proxy) as sender:
        listener.execute(f"LISTEN {channel}")
        with sender.transaction():
            sender.execute(f"NOTIFY {channel}, 'kept'")
            sender.execute(f"NOTIFY {channel}, 'kept'")  # the same twice: sent once
            assert _received(listener, 0.2) == []
        with pytest.raises(ZeroDivisionError), sender.transaction():
            sender.execute(f"NOTIFY {channel}, 'dropped'")
            raise ZeroDivisionError
        assert [n[1] for n in _received(listener)] == ["kept"]


def test_idle_listener_gets_a_notification_while_waiting(proxy, channel):
    with _connect(proxy) as listener, _connect(proxy) as sender:
        listener.execute(f"LISTEN {channel}")
        timer = threading.Timer(0.3, sender.execute, (f"NOTIFY {channel}, 'later'",))
        timer.start()
        started = time.monotonic()
        got = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
        timer.join()
        assert got == ["later"]
        assert time.monotonic() - started < 4


def test_own_notification_and_unlisten(proxy, channel):
    with _connect(proxy) as conn:
        conn.execute(f"LISTEN {channel}")
        seen: list[str] = []
        conn.add_notify_handler(lambda n: seen.append(n.payload))
        conn.execute(f"NOTIFY {channel}, 'self'")
        assert seen == ["self"]  # delivered before the NOTIFY's ReadyForQuery
        assert conn.execute("UNLISTEN *").statusmessage == "UNLISTEN"
        conn.execute(f"NOTIFY {channel}, 'unheard'")
        conn.execute("SELECT 1")
        assert seen == ["self"]


def test_databases_do_not_share_channels(proxy, channel):
    with _connect(proxy, "app") as listener, _connect(proxy, "other_db") as sender:
        listener.execute(f"LISTEN {channel}")
        sender.execute(f"NOTIFY {channel}, 'elsewhere'")
        assert _received(listener, 0.3) == []


def test_bad_notify_is_an_error_and_the_session_goes_on(proxy):
    with _connect(proxy) as conn:
        with pytest.raises(pgerrors.SyntaxError):
            conn.execute("NOTIFY")
        with pytest.raises(pgerrors.InvalidParameterValue):
            conn.execute("SELECT pg_notify('', 'x')")
        with pytest.raises(pgerrors.InvalidParameterValue):
            conn.execute("SELECT pg_notify(%s, %s)", ("c", "x" * 8000))
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_pg_sleep_sleeps_and_cancel_ends_it(proxy):
    with _connect(proxy) as conn:
        started = time.monotonic()
        conn.execute("SELECT pg_sleep(0.2)").fetchall()
        assert time.monotonic() - started >= 0.2
        threading.Timer(0.3, conn.cancel).start()
        started = time.monotonic()
        with pytest.raises(pgerrors.QueryCanceled):
            conn.execute("SELECT pg_sleep(30)")
        assert time.monotonic() - started < 10
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_two_phase_commit_is_refused_as_postgresql_does_when_disabled(proxy):
    conn = psycopg.connect(proxy.dsn())
    try:
        assert conn.execute("SHOW max_prepared_transactions").fetchone() == ("0",)
        conn.rollback()
        conn.tpc_begin(conn.xid(1, "gtrid", "bqual"))
        conn.execute("SELECT 1")
        with pytest.raises(psycopg.NotSupportedError, match="prepared transactions are disabled"):
            conn.tpc_prepare()
    finally:
        conn.close()  # not commit(): psycopg refuses it inside a two-phase transaction
    with _connect(proxy) as conn:
        with pytest.raises(pgerrors.UndefinedObject, match='identifier "nope" does not exist'):
            conn.execute("COMMIT PREPARED 'nope'")
        with pytest.raises(pgerrors.UndefinedObject):
            conn.execute("ROLLBACK PREPARED 'nope'")
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_an_error_the_proxy_raises_aborts_the_transaction_block(proxy):
    with psycopg.connect(proxy.dsn()) as conn:
        conn.execute("SELECT 1")
        with pytest.raises(pgerrors.SyntaxError):
            conn.execute("NOTIFY")  # refused by the proxy before any backend sees it
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        with pytest.raises(pgerrors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        assert conn.execute("SELECT 2").fetchone() == (2,)


def test_a_type_mariadb_and_the_proxy_lack_is_refused(proxy_mysql):
    with _connect(proxy_mysql) as conn:
        with pytest.raises(pgerrors.FeatureNotSupported, match="macaddr"):
            conn.execute("SELECT CAST('08:00:2b:01:02:03' AS macaddr)")
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_pg_terminate_backend_closes_a_session_with_57p01(proxy):
    with _connect(proxy) as conn, _connect(proxy) as victim:
        pid = victim.info.backend_pid
        assert conn.execute("SELECT pg_terminate_backend(%s::int)", (pid,)).fetchone() == (True,)
        with pytest.raises(pgerrors.AdminShutdown):
            victim.execute("SELECT 1")
        assert victim.closed
        # No such session: false, as PostgreSQL answers for a pid that is no backend.
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (False,)
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with _connect(proxy) as conn:
        with pytest.raises(pgerrors.AdminShutdown):
            conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        assert conn.broken


def test_pg_cancel_backend_cancels_another_sessions_statement(proxy):
    with _connect(proxy) as conn, _connect(proxy) as busy:
        pid = busy.info.backend_pid
        timer = threading.Timer(0.3, conn.execute, ("SELECT pg_cancel_backend(%s)", (pid,)))
        timer.start()
        with pytest.raises(pgerrors.QueryCanceled):
            busy.execute("SELECT pg_sleep(30)")
        timer.join()
        assert busy.execute("SELECT 1").fetchone() == (1,)


def test_signals_reach_only_sessions_of_the_same_user(proxy):
    with (
        _connect(proxy) as conn,
        psycopg.connect(
            proxy.dsn().replace(f"user={proxy.user}", "user=someone_else"), autocommit=True
        ) as other,
    ):
        with pytest.raises(pgerrors.InsufficientPrivilege):
            conn.execute("SELECT pg_terminate_backend(%s)", (other.info.backend_pid,))
        assert other.execute("SELECT 1").fetchone() == (1,)


def test_select_of_no_columns_is_one_empty_row(proxy):
    with _connect(proxy) as conn:
        cur = conn.execute("SELECT")
        assert (cur.description, cur.fetchall(), cur.statusmessage) == ([], [()], "SELECT 1")
        assert conn.execute("SELECT", prepare=True).fetchall() == [()]
        assert conn.cursor(binary=True).execute("SELECT").fetchall() == [()]
        assert list(conn.cursor().stream("SELECT")) == [()]


def test_proxy_functions_describe_before_they_run(proxy):
    # asyncpg describes a statement before binding it: no backend knows these functions.
    import asyncio

    import asyncpg

    async def run() -> list[object]:
        conn = await asyncpg.connect(proxy.url())
        try:
            stmt = await conn.prepare("SELECT pg_cancel_backend($1::int) AS done")
            return [
                [a.name for a in stmt.get_attributes()],
                await stmt.fetchval(2_000_000_000),
                await conn.fetchval("SELECT pg_notify('c', 'p')"),
            ]
        finally:
            await conn.close()

    assert asyncio.run(run()) == [["done"], False, None]


def test_typeinfo_of_a_quoted_type_name(proxy):
    from psycopg import sql
    from psycopg.types import TypeInfo

    with psycopg.connect(proxy.dsn()) as conn:
        for name in ("text", sql.Identifier("text"), '"text"', 'pg_catalog."text"'):
            info = TypeInfo.fetch(conn, name)
            assert (info.name, info.oid, info.array_oid) == ("text", 25, 1009), name
        assert TypeInfo.fetch(conn, '"Text"') is None  # quoted: case matters


def test_a_failed_commit_ends_the_transaction(proxy_sqlite):
    # SQLite checks a deferred foreign key at COMMIT and keeps the transaction open when
    # it fails; PostgreSQL rolls it back and is idle.
    table = f"selfref_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(proxy_sqlite.dsn()) as conn:
        conn.execute(
            f"CREATE TABLE {table} (x serial PRIMARY KEY,"
            f" y int REFERENCES {table} (x) DEFERRABLE INITIALLY DEFERRED)"
        )
        conn.commit()
        conn.execute(f"INSERT INTO {table} (y) VALUES (-1)")
        with pytest.raises(pgerrors.ForeignKeyViolation):
            conn.commit()
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
        conn.rollback()
        conn.execute(f"DROP TABLE {table}")
        conn.commit()
