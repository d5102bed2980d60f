"""Observer events, filters, the dead-letter store and the delivery bus (no proxy)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time

import pytest

from pgproxy.admin import parse
from pgproxy.observers import (
    AuditLog,
    DeadLetterStore,
    EntryPoint,
    Event,
    Filter,
    Observers,
    Subscriber,
    Webhook,
)
from pgproxy.telemetry import mask
from tests.fix_servers import free_port

RECEIVED: list[dict] = []


def remember(event: dict) -> None:
    """An entry-point observer (resolved by its module name)."""
    RECEIVED.append(event)


def test_filter_by_type_table_operation_user():
    e = Event.new("statement", {"tables": ["Orders"], "operation": "insert", "user": "ann"})
    assert Filter().matches(e)
    assert Filter.from_section({"events": ["statement"], "tables": ["orders"]}).matches(e)
    assert not Filter.from_section({"events": ["write"]}).matches(e)
    assert not Filter.from_section({"operations": ["delete"]}).matches(e)
    assert not Filter.from_section({"users": ["bob"]}).matches(e)
    with pytest.raises(ValueError):
        Filter.from_section({"events": ["nonsense"]})


def test_event_ids_are_unique_and_round_trip():
    a, b = Event.new("write", {"rows": 1}), Event.new("write", {"rows": 2})
    assert a.id != b.id
    back = Event.from_json(a.to_json())
    assert (back.id, back.type, back.data) == (a.id, a.type, a.data)


def test_dead_letters_survive_reopening(tmp_path):
    path = str(tmp_path / "dl.db")
    store = DeadLetterStore(path)
    events = [Event.new("write", {"n": i}) for i in range(3)]
    store.add("hook", events, "HTTP 500", 4)
    store.close()
    store = DeadLetterStore(path)
    assert store.count() == 3 and [r[2] for r in store.rows()] == [e.id for e in events]
    taken = store.take(["hook"])
    assert [e.id for _, e in taken] == [e.id for e in events] and store.count() == 0


def test_webhook_signature_is_hmac_sha256_of_the_body():
    import hashlib
    import hmac

    hook = Webhook("http://127.0.0.1:1/x", "s3cret")
    body = b'[{"id":"1"}]'
    assert hook.sign(body) == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    hook.close()


def test_bus_delivers_in_order_and_dead_letters_what_fails(tmp_path):
    RECEIVED.clear()
    audit = tmp_path / "audit.jsonl"

    async def run():
        dead = Webhook(f"http://127.0.0.1:{free_port()}/", timeout=0.5)  # nobody listens there
        from pgproxy.observers.subscribers import EntryPoint

        obs = Observers(
            [
                Subscriber("audit", AuditLog(str(audit))),
                Subscriber("py", EntryPoint(f"{__name__}:remember"),
                           Filter.from_section({"events": ["write"]})),
                Subscriber("hook", dead, retries=2, backoff=0.01),
            ],
            DeadLetterStore(str(tmp_path / "dl.db")),
        )
        await obs.start()
        for i in range(50):
            obs.emit("write" if i % 2 else "statement", {"i": i})
        await obs.flush()
        assert obs.dead_letters.count("hook") == 50
        assert obs.subscribers["hook"].dead_lettered == 50
        await obs.stop()

    asyncio.run(run())
    lines = [json.loads(x) for x in audit.read_text().splitlines()]
    assert [x["i"] for x in lines] == list(range(50))
    assert [x["i"] for x in RECEIVED] == list(range(1, 50, 2))


def test_admin_parser():
    got = parse("show stats; CACHE INVALIDATE 'ord*' ; set extra_float_digits = 3; "
                "deadletter replay $1")
    assert [(s.command, s.args) for s in got] == [
        ("SHOW STATS", []), ("CACHE INVALIDATE", ["ord*"]), ("SET", []),
        ("DEADLETTER REPLAY", [0]),
    ]


def test_masking_literals():
    assert mask("select * from t1 where a = 5 and b = 'x''y' and c = $1") == (
        "select * from t1 where a = ? and b = ? and c = $1"
    )


def test_a_full_queue_dead_letters_the_overflow_and_counts_it(tmp_path):
    audit = tmp_path / "audit.jsonl"

    async def run():
        sub = Subscriber("audit", AuditLog(str(audit)), queue_size=5, linger=0.05)
        obs = Observers([sub], DeadLetterStore(str(tmp_path / "dl.db")))
        await obs.start()
        for i in range(20):  # one linger's worth: queued together, 5 fit
            obs.emit("write", {"i": i})
        await obs.flush()
        assert (sub.delivered, sub.dropped, sub.dead_lettered) == (5, 15, 15)
        assert obs.dead_letters.count("audit") == 15
        await obs.stop()

    asyncio.run(run())
    assert [json.loads(x)["i"] for x in audit.read_text().splitlines()] == list(range(5))


def test_stop_delivers_what_the_path_handed_over_and_ignores_what_comes_after(tmp_path):
    audit = tmp_path / "audit.jsonl"

    async def run():
        obs = Observers([Subscriber("audit", AuditLog(str(audit)), linger=0.2)],
                        DeadLetterStore(str(tmp_path / "dl.db")))
        await obs.start()
        for i in range(10):
            obs.emit("statement" if i % 2 else "connect", {"i": i})
        await obs.stop()  # before the collector's linger ran out: drained, not lost
        obs.emit("statement", {"i": 10})  # after stop: dropped, no error
        return obs

    obs = asyncio.run(run())
    lines = [json.loads(x) for x in audit.read_text().splitlines()]
    assert [x["i"] for x in lines] == list(range(10))
    ids = [int(x["id"].rpartition("-")[2]) for x in lines]
    assert ids == sorted(ids) and len(set(ids)) == 10  # ids follow the order handed over
    assert obs.subscribers["audit"].dead_lettered == 0


def test_a_builder_that_fails_loses_its_event_not_the_others(tmp_path):
    audit = tmp_path / "audit.jsonl"

    def broken(id, at, item):
        raise RuntimeError("a bug in an event builder")

    async def run():
        obs = Observers([Subscriber("audit", AuditLog(str(audit)), linger=0.01)],
                        DeadLetterStore(str(tmp_path / "dl.db")))
        await obs.start()
        obs.emit("write", {"i": 0})
        obs.hand((broken, "write", 0.0))
        obs.emit("write", {"i": 1})
        await obs.flush()
        obs.emit("write", {"i": 2})  # the collector is still there
        await obs.flush()
        await obs.stop()

    asyncio.run(run())
    assert [json.loads(x)["i"] for x in audit.read_text().splitlines()] == [0, 1, 2]


def _statement_item(user, tag, hit, seconds, rows, sqlstate, tables):
    """A statement's tuple as the watch hands it to the bus (Watch._finish)."""
    import time

    import dialects
    from pgproxy.observers import watch

    class Backend:
        name = "sqlite"

    class Route:
        name = "app"
        backend = Backend()

    stmt = dialects.Statement(sql="select", kind=dialects.Kind.SELECT, tag="SELECT",
                              tables_read=frozenset(tables))
    return (watch._statement_event, "statement", time.perf_counter(), Route(), user, stmt, tag,
            hit, seconds, rows, sqlstate)


def _by_field(items: list[tuple]) -> list[list]:
    """Records' fields column by column, as events.encode hands them to a builder's many."""
    return [list(column) for column in zip(*items, strict=True)]


def test_statement_events_made_at_once_are_the_ones_made_one_by_one():
    from pgproxy.observers import events, watch

    items = [
        _statement_item("ann", "SELECT 1", None, 0.000123, 1, None, {"b", "a"}),
        _statement_item('we"ird\n', "SELECT 0", True, 1.5, 0, None, {"t"}),
        _statement_item(None, "", None, 0.0, 0, "42P01", ()),
        _statement_item("ann", "SELECT 1", None, 0.000123, 1, None, {"b", "a"}),
    ]
    parts, made = watch._statement_events(_by_field(items), range(7, 11), 100.0, True)
    dicts = [json.loads(j) for j in parts]
    slow = [watch._statement_event(f"{events.boot()}-{n}", item[2] + 100.0, item)
            for n, item in zip(range(7, 11), items, strict=True)]
    assert dicts == slow == made
    assert [list(d) for d in made] == [list(d) for d in slow]
    assert made[0]["tables"] is not made[3]["tables"]
    assert watch._statement_events(_by_field(items), range(4), 0.0, False)[1] is None
    assert [list(d) for d in dicts] == [list(d) for d in slow] == [
        ["id", "type", "time", "duration_ms", "route", "backend", "user", "operation",
         "tables", "tag", "rows", "cache_hit", "sqlstate"]] * 4
    got = dicts[1]
    assert got["user"] == 'we"ird\n' and got["cache_hit"] is True and got["tables"] == ["t"]
    assert got["duration_ms"] == 1500.0 and dicts[0]["duration_ms"] == 0.123
    assert dicts[0]["tables"] == ["a", "b"]
    assert dicts[2]["sqlstate"] == "42P01" and dicts[2]["tables"] == []
    assert [d["id"] for d in dicts] == [f"{events.boot()}-{n}" for n in range(7, 11)]
    # Unix time to the microsecond
    assert [d["time"] for d in dicts] == [round((item[2] + 100.0) * 1e6) / 1e6 for item in items]


def test_statement_events_compiled_and_in_python_are_the_same(monkeypatch):
    """The JSON of the C builder (_statements.c, when the install built it) is byte for
    byte the Python one's, on times and durations across their ranges; a value it does
    not write as Python would (a time before 1e-4 s, or not a float) sends the batch to
    Python."""
    from pgproxy.observers import watch

    compiled = watch._compiled
    if compiled is None:
        pytest.skip("the C builder was not built by this install (no compiler or headers)")
    rng = random.Random(12)
    seconds = [0.0, 1e-6, 4.9e-7, 5e-7, 5.01e-7, 0.000123, 0.0015, 1.5, 59.9999995, 86400.25,
               *(rng.uniform(0, 2) for _ in range(300)),
               *(10 ** rng.uniform(-7, 6) for _ in range(300))]
    items = [_statement_item("ann", "SELECT 1", None, s, 1, None, {"a"}) for s in seconds]
    # perf_counter readings, the offset to Unix time as events.encode takes it: now, and
    # times from 1970 + 1 ms to 2100
    nows = [item[2] for item in items]
    for offset in (time.time() - time.perf_counter(), 0.001 - min(nows), 4.1e9):
        for k, item in enumerate(items):
            items[k] = (*item[:2], nows[k] + rng.choice((0.0, rng.uniform(0, 1e4))),
                        *item[3:])
        by_field = _by_field(items)
        made, made_dicts = watch._statement_events(by_field, range(5, 5 + len(items)), offset,
                                                   True)
        monkeypatch.setattr(watch, "_compiled", None)
        python, python_dicts = watch._statement_events(by_field, range(5, 5 + len(items)),
                                                       offset, True)
        monkeypatch.setattr(watch, "_compiled", compiled)
        assert made == python
        assert made_dicts == python_dicts == [json.loads(j) for j in made]
        assert [list(d) for d in made_dicts] == [list(d) for d in python_dicts]
        assert made_dicts[0]["tables"] is not made_dicts[1]["tables"]
        assert [json.loads(j)["time"] for j in made] == \
            [round((n + offset) * 1e6) / 1e6 for n in by_field[2]]
    # Out of its range: None, and _statement_events makes them in Python.
    by_field = _by_field(items[:3])
    early = 5e-5 - by_field[2][0]  # 50 µs after 1970: repr writes 5e-05
    assert compiled(b"", b"", b"", 1, by_field[2], early, by_field[8], b"") is None
    assert compiled(b"", b"", b"", 1, [1.0, 2], 0.0, [0.1, 0.1], b"") is None
    made = watch._statement_events(by_field, range(3), early, False)[0]
    assert json.loads(made[0])["time"] == 5e-05


def test_a_batch_of_one_statement_run_again_is_made_as_one_by_one():
    """The usual batch (every event the same statement, route, user, tag ...) takes a
    shortcut to its kept JSON: the events are still each their own, in order."""
    from pgproxy.observers import events, watch

    one = _statement_item("ann", "SELECT 1", None, 0.000123, 1, None, {"b", "a"})
    items = [(*one[:2], one[2] + i, *one[3:8], one[8] * (i + 1), *one[9:]) for i in range(3)]
    parts, made = watch._statement_events(_by_field(items), range(20, 23), 5.0, True)
    slow = [watch._statement_event(f"{events.boot()}-{n}", item[2] + 5.0, item)
            for n, item in zip(range(20, 23), items, strict=True)]
    assert [json.loads(j) for j in parts] == slow == made
    assert [d["duration_ms"] for d in made] == [0.123, 0.246, 0.369]
    assert made[0]["tables"] is not made[1]["tables"] and made[0] is not made[1]
    # One column that differs (the user) takes the way of mixed batches, with the same result.
    other = (*items[2][:4], "bob", *items[2][5:])
    parts, made = watch._statement_events(_by_field([*items[:2], other]), range(3), 0.0,
                                          True)
    assert [json.loads(j)["user"] for j in parts] == ["ann", "ann", "bob"]
    assert [d["user"] for d in made] == ["ann", "ann", "bob"]


def test_a_mixed_batch_keeps_its_order_and_ids_and_survives_a_failing_builder():
    from pgproxy.observers import events

    def broken(id, at, item):
        raise RuntimeError("a bug in an event builder")

    def broken_many(by_field, ids, offset, dicts):
        raise RuntimeError("a bug in a batch builder")

    def half(id, at, item):  # fails one by one for odd items only
        if item[3] % 2:
            raise ValueError(item[3])
        return {"id": id, "type": item[1], "time": at, "n": item[3]}

    half.many = broken_many
    raw = [
        _statement_item("ann", "SELECT 1", None, 0.001, 1, None, {"t"}),
        (events.with_data, "connect", 0.0, {"n": 0}),
        (broken, "write", 0.0),
        (half, "write", 0.0, 1),
        _statement_item("bob", "SELECT 2", None, 0.002, 2, None, {"t"}),
        (half, "write", 0.0, 2),
    ]
    types, parts, dicts = events.encode([f for item in raw for f in events.record(item)], True)
    got = [json.loads(p) for p in parts]
    assert got == dicts
    assert types == ["statement", "connect", "statement", "write"]
    assert [e["type"] for e in got] == types
    assert [got[0]["user"], got[1]["n"], got[2]["user"], got[3]["n"]] == ["ann", 0, "bob", 2]
    ids = [int(e["id"].rpartition("-")[2]) for e in got]
    assert ids == sorted(ids) and ids[-1] - ids[0] == 5  # the lost events' ids are skipped


def test_the_entry_point_gets_a_dict_of_its_own_per_event(tmp_path):
    RECEIVED.clear()

    async def run():
        from pgproxy.observers.subscribers import EntryPoint

        obs = Observers([Subscriber("py", EntryPoint(f"{__name__}:remember"), linger=0.01)],
                        DeadLetterStore(str(tmp_path / "dl.db")))
        await obs.start()
        for i in range(3):
            obs.emit("write", {"i": i, "tables": ["t"]})
        obs.publish(Event.new("ban", {"backend": "b"}))
        await obs.flush()
        await obs.stop()

    asyncio.run(run())
    assert [e.get("i") for e in RECEIVED] == [0, 1, 2, None] and RECEIVED[3]["type"] == "ban"
    RECEIVED[0]["tables"].append("changed")
    assert RECEIVED[1]["tables"] == ["t"] and len({id(e) for e in RECEIVED}) == 4


BATCHES: list = []


def remember_batch(events) -> None:
    """A batch entry point (calls = "batch")."""
    BATCHES.append((len(events), events.json, list(events), events[1:]))


def test_a_batch_entry_point_is_called_once_per_batch_and_reads_what_it_wants(tmp_path):
    from pgproxy.observers.subscribers import sink_from_section

    BATCHES.clear()

    async def run():
        sink = sink_from_section({"type": "python", "entry_point": f"{__name__}:remember_batch",
                                  "calls": "batch"})
        obs = Observers([Subscriber("py", sink, linger=0.05)],
                        DeadLetterStore(str(tmp_path / "dl.db")))
        await obs.start()
        for i in range(3):
            obs.emit("write", {"i": i})
        await obs.flush()
        await obs.stop()

    asyncio.run(run())
    [(n, raw, events, tail)] = BATCHES
    assert n == 3 and [e["i"] for e in events] == [0, 1, 2] and tail == events[1:]
    assert [json.loads(j) for j in raw] == events
    with pytest.raises(ValueError):
        sink_from_section({"type": "python", "entry_point": f"{__name__}:remember_batch",
                           "calls": "sometimes"})


def test_a_settled_result_reports_once_at_its_end_or_its_close(tmp_path):
    """A point query's result (every row came with the execute call) is watched without
    a wrapper: it reports its statement itself when its last row is fetched, or when it
    is closed first; rows are those fetched. A result without rows is reported at once."""
    import asyncio

    import dialects
    from pgproxy.observers import events, watch
    from pgproxy.results import BackendResult

    class Cursor:
        columns = ["a"]
        rowcount = -1

        def close(self) -> None:
            pass

    async def run(fn, *args):
        return fn(*args)

    class Ctx:
        route = type("Route", (), {"name": "app",
                                   "backend": type("B", (), {"name": "sqlite"})()})()
        user = "ann"
        stmt = dialects.Statement(sql="select", kind=dialects.Kind.SELECT, tag="SELECT")

    obs = Observers([Subscriber("audit", AuditLog(str(tmp_path / "a.jsonl")))],
                    DeadLetterStore())
    w = watch.Watch(obs, None)

    def result() -> BackendResult:
        inner = BackendResult("SELECT", Cursor(), [(1,), (2,), (3,)], True, run, closed=True)
        return w.after(Ctx(), w.before(Ctx()), inner)

    def reported() -> list[dict]:
        """The events of what the path handed the bus since, as the collector makes them."""
        raw = list(obs.raw)
        obs.raw.clear()
        return [json.loads(j) for j in events.encode(raw)[1]]

    async def main() -> None:
        r = result()
        assert type(r) is BackendResult and not r.done
        assert (await r.fetch(2)).count == 2 and not r.done  # a row limit: suspended
        assert not obs.raw
        assert (await r.fetch(2)).count == 1 and r.done
        assert r.tag == "SELECT 3" and r.tag == "SELECT 3"
        await r.close()
        (event,) = reported()
        assert event["tag"] == "SELECT 3" and event["rows"] == 3 and event["sqlstate"] is None
        r = result()
        assert (await r.fetch(1)).count == 1
        await r.close()  # a portal closed part way
        await r.close()
        (event,) = reported()
        assert event["tag"] == "SELECT 1" and event["rows"] == 1

        class Written(Cursor):
            columns = None
            rowcount = 4

        r = w.after(Ctx(), w.before(Ctx()),
                    BackendResult("UPDATE", Written(), [], True, run, closed=True))
        assert type(r) is BackendResult and r.done
        (event,) = reported()
        assert event["tag"] == "UPDATE 4" and event["rows"] == 4
        await r.close()
        assert not obs.raw

    asyncio.run(main())


def test_the_watch_alone_is_called_without_a_frame_of_hooks_and_guards_itself(caplog):
    """The only wrapping hook, guarded (the watch), is what the pipeline calls as
    before / after; with another wrapping hook Hooks runs both, as always. A bug of the
    watch's own after lets the client's result go out unwatched, and is logged."""
    from pgproxy.core.hooks import Hook, Hooks
    from pgproxy.observers import watch
    from pgproxy.results import BackendResult

    obs = Observers([Subscriber("audit", AuditLog(os.devnull))], DeadLetterStore())
    w = watch.Watch(obs, None)
    hooks = Hooks()
    hooks.add(w)
    assert hooks.before == w.before and hooks.after == w.after
    seen = []

    class Seen(Hook):
        def after(self, ctx, state, result):
            seen.append(result)
            return result

    other = Seen()
    hooks.add(other)
    assert hooks.before != w.before and hooks.after != w.after
    hooks.remove(other)
    assert hooks.before == w.before and hooks.after == w.after

    class Cursor:  # a result without rows whose count fails: the watch's report fails
        columns = None

        @property
        def rowcount(self):
            raise RuntimeError("a bug")

    async def run(fn, *args):
        return fn(*args)

    broken = BackendResult("UPDATE", Cursor(), [], True, run, closed=True)
    with caplog.at_level("ERROR", logger="pgproxy.observers"):
        assert w.after(None, w.before(None), broken) is broken
    assert "failed after a statement" in caplog.text
    assert not obs.raw and not seen


def test_what_the_path_hands_over_after_stop_goes_nowhere(tmp_path):
    """Records laid after the bus stopped (statements still ending at shutdown) are
    dropped, not kept growing; those laid before went to the subscriber."""
    audit = tmp_path / "audit.jsonl"

    async def run():
        obs = Observers([Subscriber("audit", AuditLog(str(audit)), linger=0.01)],
                        DeadLetterStore(str(tmp_path / "dl.db")))
        await obs.start()
        obs.emit("write", {"i": 1})
        await obs.stop()
        obs.emit("write", {"i": 2})
        obs.raw.extend((None,) * 11)  # as the statement path lays a record
        assert not obs.raw

    asyncio.run(run())
    assert [json.loads(line)["i"] for line in audit.read_text().splitlines()] == [1]


SLOW: list[int] = []


def slow(event: dict) -> None:
    time.sleep(0.3)
    SLOW.append(event["i"])


def test_closing_a_sink_lets_its_thread_finish_the_batch_it_is_delivering():
    """A sink's thread is a daemon (the interpreter's exit would not wait for it): close()
    gives the batch in delivery its time before the sink's file or connection goes."""
    async def test() -> None:
        sink = EntryPoint(f"{__name__}:slow")
        SLOW.clear()
        delivery = asyncio.ensure_future(sink.deliver([{"i": 1}, {"i": 2}]))
        await asyncio.sleep(0.1)  # the thread has the batch: its first event sleeps
        sink.close()
        assert SLOW == [1, 2]  # both delivered before close() returned
        await asyncio.wait_for(delivery, 5)
        assert sink._thread is not None and not sink._thread.is_alive()

    asyncio.run(test())
