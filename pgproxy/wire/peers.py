"""Worker-to-worker messages: each worker process listens on a private unix socket.

Frames are laid out like the startup-phase packets: a 4-byte length (itself
included), a 4-byte code, a payload. A CancelRequest that the kernel handed
to the wrong worker is forwarded as it came (code 80877102), as PgBouncer's
peering does; other codes carry what a worker tells the others (notify.FRAME,
catalog.INVALIDATE_FRAME). A question to every other worker (`ask_all`, the
admin console's) travels as a REQUEST frame naming a service and comes back as
a REPLY. Each peer gets one connection and one sender, so its frames arrive
in the order sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import struct
from collections.abc import Awaitable, Callable

from pgproxy.wire import messages as m

log = logging.getLogger("pgproxy.wire")

_HEADER = struct.Struct("!ii")
_ASK = struct.Struct("!IHi")  # request id, asking worker, service code
_REPLY = struct.Struct("!I")
REQUEST, REPLY = 3, 4
_MAX_FRAME = 1 << 20  # a peer is ourselves; anything bigger is a bug, not a client
Handler = Callable[[bytes], None]
Service = Callable[[bytes], Awaitable[bytes]]


def socket_path(rundir: str, worker: int) -> str:
    return os.path.join(rundir, f"peer-{worker}.sock")


class Peers:
    """This worker's listener for the others' frames, and a sender to each of them."""

    def __init__(self, rundir: str, worker: int, workers: int) -> None:
        self.rundir = rundir
        self.worker = worker
        self.workers = workers
        self.handlers: dict[int, Handler] = {REQUEST: self._on_request, REPLY: self._on_reply}
        self.services: dict[int, Service] = {}  # what the others may ask this worker
        self._ids = itertools.count(1)
        self._asked: dict[int, asyncio.Future[bytes]] = {}
        self._answering: set[asyncio.Task[None]] = set()
        self._server: asyncio.base_events.Server | None = None
        self._queues: dict[int, asyncio.Queue[bytes]] = {}
        self._senders: set[asyncio.Task[None]] = set()

    async def listen(self) -> None:
        path = socket_path(self.rundir, self.worker)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # left by this worker's previous life
        self._server = await asyncio.start_unix_server(self._serve, path)
        os.chmod(path, 0o600)

    def send(self, worker: int, code: int, payload: bytes) -> None:
        """Queue a frame for `worker`; delivered in order while both live, else dropped."""
        if not 0 <= worker < self.workers or worker == self.worker:
            log.debug("no worker %d to send to", worker)
            return
        queue = self._queues.get(worker)
        if queue is None:
            queue = self._queues[worker] = asyncio.Queue(10_000)
            task = asyncio.get_running_loop().create_task(self._sender(worker, queue))
            self._senders.add(task)
            task.add_done_callback(self._senders.discard)
        frame = _HEADER.pack(_HEADER.size + len(payload), code) + payload
        try:
            queue.put_nowait(frame)
        except asyncio.QueueFull:
            log.warning("worker %d is not reading its peer socket: a message is dropped", worker)

    def broadcast(self, code: int, payload: bytes) -> None:
        for worker in range(self.workers):
            if worker != self.worker:
                self.send(worker, code, payload)

    async def ask_all(self, code: int, payload: bytes, timeout: float = 2.0) -> list[bytes]:
        """Every other worker's answer to service `code`; a worker that does not answer
        within `timeout` (restarting, hung) is left out."""
        others = [w for w in range(self.workers) if w != self.worker]
        return await self.ask(others, code, payload, timeout)

    async def ask(
        self, workers: list[int], code: int, payload: bytes, timeout: float = 2.0
    ) -> list[bytes]:
        """The answers of `workers` (other than this one) that come within `timeout`."""
        loop = asyncio.get_running_loop()
        asked = []
        for worker in workers:
            if 0 <= worker < self.workers and worker != self.worker:
                rid = next(self._ids) & 0xFFFFFFFF
                asked.append(self._asked.setdefault(rid, loop.create_future()))
                self.send(worker, REQUEST, _ASK.pack(rid, self.worker, code) + payload)
        try:
            if asked:
                await asyncio.wait(asked, timeout=timeout)
        finally:
            for rid in [r for r, f in self._asked.items() if f in asked]:
                del self._asked[rid]
        return [f.result() for f in asked if f.done() and not f.cancelled()]

    def _on_request(self, frame: bytes) -> None:
        rid, worker, code = _ASK.unpack_from(frame)
        service = self.services.get(code)
        if service is None:
            log.warning("worker %d asked for unknown service %d", worker, code)
            return
        task = asyncio.get_running_loop().create_task(
            self._answer(service, frame[_ASK.size :], worker, rid)
        )
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

    async def _answer(self, service: Service, payload: bytes, worker: int, rid: int) -> None:
        try:
            answer = await service(payload)
        except Exception:
            log.exception("answering worker %d failed", worker)
            return
        self.send(worker, REPLY, _REPLY.pack(rid) + answer)

    def _on_reply(self, frame: bytes) -> None:
        future = self._asked.get(_REPLY.unpack_from(frame)[0])
        if future is not None and not future.done():
            future.set_result(frame[_REPLY.size :])

    def forward_cancel(self, worker: int, pid: int, secret: int) -> None:
        """keys.Forward: the CancelRequest packet, to the worker that owns `pid`."""
        self.send(worker, m.CANCEL_REQUEST, struct.pack("!ii", pid, secret))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._senders):
            task.cancel()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(socket_path(self.rundir, self.worker))

    async def _sender(self, worker: int, queue: asyncio.Queue[bytes]) -> None:
        path = socket_path(self.rundir, worker)
        writer: asyncio.StreamWriter | None = None
        while True:
            frame = await queue.get()
            for attempt in range(2):  # a peer restarted since: reconnect once
                try:
                    if writer is None:
                        _, writer = await asyncio.open_unix_connection(path)
                    writer.write(frame)
                    await writer.drain()
                    break
                except OSError as exc:
                    if writer is not None:
                        writer.close()
                    writer = None
                    if attempt:
                        log.warning(
                            "worker %d is unreachable (%s): a message is dropped", worker, exc
                        )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(_HEADER.size)
                length, code = _HEADER.unpack(header)
                if not _HEADER.size <= length <= _MAX_FRAME:
                    log.warning("bad frame on the peer socket (length %d)", length)
                    return
                payload = await reader.readexactly(length - _HEADER.size)
                handler = self.handlers.get(code)
                if handler is None:
                    log.warning("unknown frame code %d on the peer socket", code)
                    continue
                try:
                    handler(payload)
                except Exception:  # one bad frame must not end the peer link
                    log.exception("peer frame %d failed", code)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
