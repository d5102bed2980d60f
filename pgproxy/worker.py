"""One worker process of several (--workers): what it shares with the others, wired up.

The supervisor (supervisor.py) forks the workers; each builds its proxy as a
single process would, then `join` links the parts that must agree across
processes: cancel keys (forwarded CancelRequests), advisory locks,
LISTEN/NOTIFY, the catalog's schema and the admin console's answers. (The query
cache's invalidation log, cache/shared.py, is attached where the cache is made,
before it is warmed.)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pgproxy import notify
from pgproxy.advisory_shared import FileLocks
from pgproxy.catalog import INVALIDATE_FRAME
from pgproxy.wire.peers import Peers

if TYPE_CHECKING:
    from pgproxy.admin import Rows
    from pgproxy.proxy import Proxy
    from pgproxy.supervisor import WorkerSetup
    from pgproxy.wire.server import WireServer

ADMIN_SERVICE = 5  # the peer service that runs a console command on this worker


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
