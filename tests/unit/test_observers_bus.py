"""Observer events, filters, the dead-letter store and the delivery bus (no proxy)."""

from __future__ import annotations

import asyncio
import json

import pytest

from pgproxy.admin import parse
from pgproxy.observers import (
    AuditLog,
    DeadLetterStore,
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
