"""The statement path's ordered stages and its hooks, on a real SQLite backend (no sockets)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

import dialects
from pgproxy import errors
from pgproxy.backends import from_url
from pgproxy.cache import CacheOptions, QueryCache
from pgproxy.core.context import StatementContext
from pgproxy.core.hooks import Hook, Step
from pgproxy.core.stages import Execute, FailedTransaction, Stage
from pgproxy.proxy import Proxy
from pgproxy.results import PassThrough, RowsResult
from pgproxy.router import Router
from pgproxy.session import Session
from pgproxy.wire.batches import encoder_for, frames_of

Kind = dialects.Kind


@pytest.fixture
def proxy(tmp_path: Path) -> Any:
    proxy = Proxy(Router({"default": from_url(f"sqlite:///{tmp_path / 'app.db'}")}))
    yield proxy
    proxy.close()


def open_session(proxy: Proxy, pid: int = 1) -> Session:
    session = Session(proxy, {"user": "alice", "database": "app"}, proxy.router.resolve("app"),
                      pid, "test")
    proxy.sessions.add(session)
    return session


async def run(session: Session, sql: str) -> tuple[str, int]:
    """The statement's tag and how many rows it sent, as the wire would read them."""
    (prepared,) = await session.split(sql)
    result = await session.execute(prepared, (), ())
    encode = encoder_for(result.columns, (), getattr(result, "style", None))
    rows = 0
    try:
        while not result.done:
            batch = await result.fetch(0)
            frames_of(batch, encode)  # encoded as the wire does: what the cache keeps
            rows += batch.count
    finally:
        await result.close()
    return result.tag, rows


def test_a_select_is_offered_only_to_the_stages_that_take_one(proxy):
    stages = proxy.pipeline.stages
    select = [type(s).__name__ for s in stages.for_kind(Kind.SELECT)]
    assert select[0] == "FailedTransaction" and select[-1] == "Execute"
    # Statements of other kinds (cursors, LISTEN, COPY, SET) never cost a SELECT a check.
    assert not {"Cursors", "PreparedSql", "Notify", "TwoPhase", "Copy", "Local",
                "TransactionControl"} & set(select)
    assert [type(s).__name__ for s in stages.for_kind(Kind.SET)] == [
        "FailedTransaction", "Local", "CatalogQuery", "Execute"]
    # Every kind ends at the backend.
    assert all(isinstance(stages.for_kind(k)[-1], Execute) for k in Kind)


def test_a_stage_added_to_the_list_answers_what_it_wants(proxy):
    seen: list[str] = []

    class Answer42(Stage):
        kinds = frozenset({Kind.SELECT})

        def wants(self, ctx: StatementContext) -> bool:
            seen.append(ctx.stmt.sql)
            return "answer" in ctx.stmt.sql

        async def run(self, ctx: StatementContext) -> Any:
            return RowsResult("SELECT", [], [(), ()])

    stages = proxy.pipeline.stages
    stages.insert(len(stages.stages) - 1, Answer42())  # just before the backend

    async def main() -> None:
        s = open_session(proxy)
        await run(s, "CREATE TABLE t (v int)")
        await run(s, "INSERT INTO t VALUES (1)")
        assert await run(s, "SELECT 'answer'") == ("SELECT 2", 2)  # never reached SQLite
        assert await run(s, "SELECT v FROM t") == ("SELECT 1", 1)  # passed on to SQLite
        await s.close("done")

    asyncio.run(main())
    assert seen == ["SELECT 'answer'", "SELECT v FROM t"]  # not the DDL or the INSERT


def test_a_per_statement_stage_is_asked_once_per_statement_a_dynamic_one_every_run(proxy):
    asked: list[tuple[str, str]] = []

    class Fixed(Stage):
        kinds = frozenset({Kind.SELECT})
        per_statement = True  # decides on the statement alone

        def wants(self, ctx: StatementContext) -> bool:
            asked.append(("fixed", ctx.stmt.sql))
            return "fixed" in ctx.stmt.sql

        async def run(self, ctx: StatementContext) -> Any:
            return RowsResult("SELECT", [], [()])

    class Moody(Stage):
        kinds = frozenset({Kind.SELECT})

        def wants(self, ctx: StatementContext) -> bool:
            asked.append(("moody", ctx.stmt.sql))
            return bool(ctx.params) and ctx.params[0] == "7"

        async def run(self, ctx: StatementContext) -> Any:
            return RowsResult("SELECT", [], [(), (), ()])

    stages = proxy.pipeline.stages
    stages.insert(len(stages.stages) - 1, Fixed())
    stages.insert(len(stages.stages) - 1, Moody())

    async def main() -> None:
        s = open_session(proxy)
        for _ in range(3):
            assert await run(s, "SELECT 'fixed'") == ("SELECT 1", 1)
        select = await s.prepare("SELECT $1::text AS v", [])
        for value, rows in (("1", 1), ("7", 3), ("2", 1)):  # Moody answers only for '7'
            result = await s.execute(select, [value], ())
            n = 0
            while not result.done:
                n += (await result.fetch(0)).count
            await result.close()
            assert n == rows
        await s.close("done")

    asyncio.run(main())
    assert asked.count(("fixed", "SELECT 'fixed'")) == 1  # then from the statement's plan
    assert ("moody", "SELECT 'fixed'") not in asked  # Fixed answers it before Moody
    assert asked.count(("fixed", "SELECT $1::text AS v")) == 1
    assert asked.count(("moody", "SELECT $1::text AS v")) == 3  # asked on every run


def test_error_only_hooks_hear_failures_and_nothing_else(proxy):
    heard: list[tuple[Any, str]] = []

    class Failures(Hook):  # as health accounting: no before, no after
        def error(self, ctx: StatementContext, state: Any, exc: BaseException) -> None:
            heard.append((state, getattr(exc, "sqlstate", "")))

    hooks = proxy.pipeline.hooks
    hooks.add(Failures())
    assert not hooks.wraps
    log: list[tuple[str, ...]] = []
    recorder = Recorder("a", log)
    hooks.add(recorder)
    assert hooks.wraps
    hooks.remove(recorder)
    assert not hooks.wraps

    async def main() -> None:
        s = open_session(proxy)
        assert await run(s, "SELECT 1") == ("SELECT 1", 1)
        with pytest.raises(errors.PgError):
            await run(s, "SELECT * FROM missing")
        await s.close("done")

    asyncio.run(main())
    assert heard == [(None, "42P01")]


class Recorder(Hook):
    def __init__(self, name: str, log: list[tuple[str, ...]]) -> None:
        self.name, self.log = name, log

    def before(self, ctx: StatementContext) -> Any:
        self.log.append(("before", self.name, ctx.stmt.tag))
        return self.name

    def after(self, ctx: StatementContext, state: Any, result: Any) -> Any:
        assert state == self.name
        self.log.append(("after", self.name, ctx.stmt.tag))
        return result

    def error(self, ctx: StatementContext, state: Any, exc: BaseException) -> None:
        assert state == self.name
        self.log.append(("error", self.name, getattr(exc, "sqlstate", "")))


def test_hooks_run_before_in_order_after_and_error_in_reverse(proxy):
    log: list[tuple[str, ...]] = []
    proxy.pipeline.hooks.add(Recorder("a", log))
    proxy.pipeline.hooks.add(Recorder("b", log))

    async def main() -> None:
        s = open_session(proxy)
        await run(s, "SELECT 1")
        with pytest.raises(errors.PgError) as caught:
            await run(s, "SELECT * FROM missing")
        assert caught.value.sqlstate == "42P01"
        await s.close("done")

    asyncio.run(main())
    assert log == [
        ("before", "a", "SELECT"), ("before", "b", "SELECT"),
        ("after", "b", "SELECT"), ("after", "a", "SELECT"),
        ("before", "a", "SELECT"), ("before", "b", "SELECT"),
        ("error", "b", "42P01"), ("error", "a", "42P01"),
    ]


def test_a_result_a_hook_wraps_keeps_its_notices(proxy):
    class Wrapped(PassThrough):
        __slots__ = ()

        async def close(self) -> None:
            await self._inner.close()

    class Wrap(Hook):  # as the observers' watch wraps every result
        def after(self, ctx: StatementContext, state: Any, result: Any) -> Any:
            return Wrapped(result)

    proxy.pipeline.hooks.add(Wrap())

    async def main() -> tuple[str, ...]:
        s = open_session(proxy)
        (prepared,) = await s.split("CREATE TABLE t (a int) WITH (fillfactor = 70)")
        result = await s.execute(prepared, (), ())
        await result.close()
        await s.close("done")
        assert isinstance(result, PassThrough)
        return result.notices

    assert asyncio.run(main()) == ("sqlite: storage parameter fillfactor is ignored",)


def test_a_hook_that_fails_is_logged_and_the_statement_stands(proxy, caplog):
    class Broken(Hook):
        def before(self, ctx: StatementContext) -> Any:
            raise RuntimeError("observer bug before")

        def after(self, ctx: StatementContext, state: Any, result: Any) -> Any:
            raise RuntimeError("observer bug after")

        def error(self, ctx: StatementContext, state: Any, exc: BaseException) -> None:
            raise RuntimeError("observer bug on error")

    log: list[tuple[str, ...]] = []
    proxy.pipeline.hooks.add(Broken())
    proxy.pipeline.hooks.add(Recorder("after-broken", log))

    async def main() -> None:
        s = open_session(proxy)
        await run(s, "CREATE TABLE t (v int)")
        assert await run(s, "INSERT INTO t VALUES (1)") == ("INSERT 0 1", 0)
        assert await run(s, "SELECT v FROM t") == ("SELECT 1", 1)
        with pytest.raises(errors.PgError) as caught:
            await run(s, "SELECT * FROM missing")
        assert caught.value.sqlstate == "42P01"  # the statement's own error, not the hook's
        await s.close("done")

    with caplog.at_level(logging.ERROR, logger="pgproxy.hooks"):
        asyncio.run(main())
    messages = [r.getMessage() for r in caplog.records]
    assert any("failed before" in m for m in messages)
    assert any("failed after" in m for m in messages)
    assert any("failed on a statement's error" in m for m in messages)
    assert ("error", "after-broken", "42P01") in log  # the other hooks were still told


def test_a_before_hook_may_refuse_a_statement_as_access_control_would(proxy):
    class ReadOnly(Hook):
        def before(self, ctx: StatementContext) -> Any:
            if ctx.stmt.kind in (Kind.INSERT, Kind.UPDATE, Kind.DELETE):
                raise errors.InsufficientPrivilege(f"{ctx.user} may only read")

    log: list[tuple[str, ...]] = []
    proxy.pipeline.hooks.add(Recorder("first", log))
    proxy.pipeline.hooks.add(ReadOnly())
    proxy.pipeline.hooks.add(Recorder("never", log))

    async def main() -> None:
        s = open_session(proxy)
        await run(s, "CREATE TABLE t (v int)")
        log.clear()
        with pytest.raises(errors.PgError) as caught:
            await run(s, "INSERT INTO t VALUES (1)")
        assert caught.value.sqlstate == "42501"
        assert log == [("before", "first", "INSERT"), ("error", "first", "42501")]
        assert await run(s, "SELECT v FROM t") == ("SELECT 0", 0)  # nothing was written
        await s.close("done")

    asyncio.run(main())


def test_one_wrapping_hook_beside_error_only_ones_keeps_every_rule(proxy):
    """The usual shape (health accounting and the observers' watch): the one wrapping
    hook's state goes to it as is, and failures and refusals reach every hook."""
    heard: list[tuple[Any, str]] = []

    class Failures(Hook):
        def error(self, ctx: StatementContext, state: Any, exc: BaseException) -> None:
            heard.append((state, getattr(exc, "sqlstate", "")))

    class Guard(Recorder):
        def before(self, ctx: StatementContext) -> Any:
            if ctx.stmt.kind is Kind.INSERT:
                raise errors.InsufficientPrivilege("read only")
            return super().before(ctx)

    log: list[tuple[str, ...]] = []
    hooks = proxy.pipeline.hooks
    hooks.add(Failures())
    hooks.add(Guard("g", log))
    hooks.add(Failures())

    async def main() -> None:
        s = open_session(proxy)
        assert await run(s, "CREATE TABLE t (v int)") == ("CREATE TABLE", 0)
        with pytest.raises(errors.PgError):
            await run(s, "SELECT * FROM missing")
        with pytest.raises(errors.PgError) as caught:
            await run(s, "INSERT INTO t VALUES (1)")
        assert caught.value.sqlstate == "42501"
        await s.close("done")

    asyncio.run(main())
    assert log == [("before", "g", "CREATE TABLE"), ("after", "g", "CREATE TABLE"),
                   ("before", "g", "SELECT"), ("error", "g", "42P01")]
    # Both told of the failure; of the refusal only the hook ahead of the refusing one.
    assert heard == [(None, "42P01"), (None, "42P01"), (None, "42501")]


def test_steps_time_translate_cache_lookup_and_backend_execute(proxy):
    names: list[str] = []

    class Names(Step):
        def enter(self, name: str) -> Any:
            names.append(name)
            return name

        def exit(self, token: Any, exc: BaseException | None) -> None:
            names.append("/" + token)

    proxy.pipeline.cache = QueryCache(CacheOptions(enabled=True))
    proxy.pipeline.hooks.add_step(Names())

    async def main() -> None:
        s = open_session(proxy)
        await run(s, "CREATE TABLE t (v int)")
        names.clear()
        await run(s, "SELECT v FROM t")
        assert names == ["translate", "/translate", "cache lookup", "/cache lookup",
                         "backend execute", "/backend execute"]
        names.clear()
        await run(s, "SELECT v FROM t")  # a hit: no backend
        assert names == ["translate", "/translate", "cache lookup", "/cache lookup"]
        await s.close("done")

    asyncio.run(main())


def test_a_failed_transaction_is_refused_by_the_first_stage(proxy):
    assert isinstance(proxy.pipeline.stages.stages[0], FailedTransaction)

    async def main() -> None:
        s = open_session(proxy)
        assert await run(s, "SELECT 1") == ("SELECT 1", 1)  # its plan is made outside
        await run(s, "BEGIN")
        with pytest.raises(errors.PgError):
            await run(s, "SELECT * FROM missing")
        with pytest.raises(errors.PgError) as caught:
            await run(s, "SELECT 1")
        assert caught.value.sqlstate == "25P02"
        assert await run(s, "ROLLBACK") == ("ROLLBACK", 0)
        assert await run(s, "SELECT 1") == ("SELECT 1", 1)
        await s.close("done")

    asyncio.run(main())


def test_the_catalog_worker_changes_a_snapshot_and_the_session_on_the_loop(proxy):
    """set_config() inside a catalog query: the worker never touches the Session; the
    change reaches it once the query is done, on the event loop."""

    async def main() -> None:
        s = open_session(proxy)
        other = open_session(proxy, pid=2)
        tag, rows = await run(
            s, "SELECT set_config('application_name', 'psql-test', false), pg_is_in_recovery()")
        assert (tag, rows) == ("SELECT 1", 1)
        assert s.settings.get("application_name") == "psql-test"
        assert other.settings.get("application_name") == ""
        # pg_stat_activity: every session, listed from a snapshot taken on the loop.
        assert await run(s, "SELECT pid FROM pg_stat_activity") == ("SELECT 2", 2)
        await s.close("done")
        await other.close("done")

    asyncio.run(main())
