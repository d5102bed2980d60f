"""Worker-to-worker frames on real unix sockets (pgproxy/wire/peers.py), in one event loop."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

from pgproxy.wire.peers import Peers, socket_path


async def _pair(rundir: Path, workers: int = 2) -> list[Peers]:
    peers = [Peers(str(rundir), n, workers) for n in range(workers)]
    for p in peers:
        await p.listen()
    return peers


def test_frames_arrive_in_order_and_questions_get_answers(tmp_path: Path) -> None:
    async def main() -> None:
        a, b, c = await _pair(tmp_path, 3)
        got: list[bytes] = []
        b.handlers[1] = got.append
        for i in range(500):
            a.send(1, 1, str(i).encode())
        for p, name in ((b, b"b"), (c, b"c")):

            async def answer(q: bytes, name: bytes = name) -> bytes:
                return name + b":" + q

            p.services[9] = answer
        answers = await a.ask_all(9, b"hi")
        assert sorted(answers) == [b"b:hi", b"c:hi"]
        assert [int(x) for x in got] == list(range(500))
        assert await a.ask([2], 9, b"one") == [b"c:one"]
        for p in (a, b, c):
            await p.close()

    asyncio.run(main())


def test_a_peer_that_is_gone_or_silent_is_left_out(tmp_path: Path) -> None:
    async def main() -> None:
        a, b = await _pair(tmp_path)
        await b.close()  # its socket is gone: the frame is dropped, the question unanswered
        assert await a.ask_all(9, b"?", timeout=0.3) == []
        a.send(5, 1, b"no such worker")  # out of range: ignored
        await a.close()

    asyncio.run(main())


def test_a_bad_frame_ends_only_that_link(tmp_path: Path) -> None:
    async def main() -> None:
        a, b = await _pair(tmp_path)
        reader, writer = await asyncio.open_unix_connection(socket_path(str(tmp_path), 1))
        writer.write(struct.pack("!ii", 4, 1))  # a length shorter than its header
        await writer.drain()
        assert await reader.read() == b""  # b hung up on it
        got: list[bytes] = []
        b.handlers[1] = got.append
        a.send(1, 1, b"still here")
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.01)
        assert got == [b"still here"]
        for p in (a, b):
            await p.close()

    asyncio.run(main())
