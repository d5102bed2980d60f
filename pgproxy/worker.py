"""One worker process of several (--workers): what it shares with the others, wired up.

The supervisor (supervisor.py) forks the workers; each builds its proxy as a
single process would, then `join` links the parts that must agree across
processes: cancel keys (forwarded CancelRequests), advisory locks,
LISTEN/NOTIFY, the catalog's schema, the admin console's answers, and the
sessions that pg_stat_activity, pg_cancel_backend() and pg_terminate_backend()
see. (The query cache's invalidation log, cache/shared.py, is attached where
the cache is made, before it is warmed.)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pgproxy import notify
from pgproxy.advisory_shared import FileLocks
from pgproxy.catalog import INVALIDATE_FRAME
from pgproxy.session import Activity, activity
from pgproxy.wire.keys import worker_of
from pgproxy.wire.peers import Peers

if TYPE_CHECKING:
    from pgproxy.admin import Rows
    from pgproxy.proxy import Proxy
    from pgproxy.supervisor import WorkerSetup
    from pgproxy.wire.server import WireServer

# Peer services (wire/peers.py): what the other workers may ask this one.
ADMIN_SERVICE = 5  # run a console command here
ACTIVITY_SERVICE = 6  # this worker's sessions, for pg_stat_activity
SIGNAL_SERVICE = 7  # pg_cancel_backend / pg_terminate_backend of a session here
LOCKS_SERVICE = 8  # the advisory locks this worker's sessions hold, for pg_locks


class Elsewhere:
    """session.Elsewhere: the other workers' sessions, asked over the peer sockets."""

    def __init__(self, peers: Peers) -> None:
        self.peers = peers

    async def activity(self) -> list[Activity]:
        answers = await self.peers.ask_all(ACTIVITY_SERVICE, b"")
        return [(d, int(p), u, a, False) for rows in answers for d, p, u, a, _ in json.loads(rows)]

    async def locks(self, space: str) -> list[tuple[Any, ...]]:
        answers = await self.peers.ask_all(LOCKS_SERVICE, space.encode())
        return [tuple(row) for rows in answers for row in json.loads(rows)]

    async def signal(self, pid: int, terminate: bool, user: str) -> str:
        question = json.dumps([pid, terminate, user]).encode()
        answers = await self.peers.ask([worker_of(pid)], SIGNAL_SERVICE, question)
        return answers[0].decode() if answers else "none"


def _serve_sessions(proxy: Proxy, peers: Peers) -> None:
    """Answer the other workers' questions about this worker's sessions."""

    async def rows(_: bytes) -> bytes:
        return json.dumps(activity(proxy.sessions)).encode()

    async def signal(question: bytes) -> bytes:
        pid, terminate, user = json.loads(question)
        target = next((s for s in proxy.sessions if s.pid == pid), None)
        if target is None:
            return b"none"
        if target.user != user:
            return b"denied"
        if terminate:
            target.terminate()
        else:
            target.cancel()
        return b"ok"

    async def locks(space: bytes) -> bytes:
        return json.dumps(proxy.advisory.rows(space.decode())).encode()

    peers.services[ACTIVITY_SERVICE] = rows
    peers.services[LOCKS_SERVICE] = locks
    peers.services[SIGNAL_SERVICE] = signal


async def join(proxy: Proxy, server: WireServer, setup: WorkerSetup) -> Peers:
    """Link this worker's proxy and server to the other workers; listen for them."""
    peers = Peers(setup.rundir, setup.worker, setup.workers)
    await peers.listen()
    server.join(peers)
    proxy.advisory.between = FileLocks(setup.rundir)
    hub = proxy.notifications
    hub.forward = peers.broadcast
    peers.handlers[notify.FRAME] = hub.delivered
    catalog = proxy.pipeline.catalog  # their backend objects are their own: forget all
    catalog.forward = peers.broadcast
    peers.handlers[INVALIDATE_FRAME] = lambda _: catalog.forget()
    _serve_sessions(proxy, peers)
    proxy.elsewhere = Elsewhere(peers)
    admin = proxy.admin
    if admin is not None:
        admin.worker, admin.workers = setup.worker, setup.workers

        async def answer(payload: bytes) -> bytes:
            command, args = json.loads(payload)
            return json.dumps(await admin.run(command, args), default=str).encode()

        async def across(command: str, args: list[str]) -> list[Rows]:
            answers = await peers.ask_all(ADMIN_SERVICE, json.dumps([command, args]).encode())
            return [[tuple(row) for row in json.loads(a)] for a in answers]

        peers.services[ADMIN_SERVICE] = answer
        admin.across = across
    return peers
