"""How two worker processes share a port: SO_REUSEPORT per worker against one inherited socket.

Not the proxy: two asyncio processes that answer an 8-byte request after about
100 µs of CPU (a short statement), so that only the listening arrangement
differs. Each round, 64 clients connect at once and send requests for a few
seconds; prints, per mode and round, the connections and requests each worker
served and the requests the clients completed. pgproxy's workers bind with
SO_REUSEPORT (pgproxy/supervisor.py); this is the measurement behind that.

    python benchmarks/bench_reuseport.py [--rounds 3] [--clients 64] [--seconds 2.5]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import socket
import sys
import time


def _burn(seconds: float = 0.0001) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def _worker(n: int, port: int, sock: socket.socket | None, q: mp.Queue, stop: float) -> None:
    counts = [0, 0]  # connections, requests

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counts[0] += 1
        try:
            while True:
                data = await reader.readexactly(8)
                _burn()
                counts[1] += 1
                writer.write(data)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    if sock is None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, reuse_port=True)
    else:
        server = await asyncio.start_server(handle, sock=sock)
    q.put(("ready", n))
    await asyncio.sleep(stop)
    server.close()
    q.put((n, *counts))


def _run_worker(n: int, port: int, sock: socket.socket | None, q: mp.Queue, stop: float) -> None:
    asyncio.run(_worker(n, port, sock, q, stop))


async def _client(port: int, seconds: float) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    end, done = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        writer.write(b"x" * 8)
        await reader.readexactly(8)
        done += 1
    writer.close()
    return done


async def _clients(port: int, n: int, seconds: float) -> int:
    return sum(await asyncio.gather(*(_client(port, seconds) for _ in range(n))))


def _round(mode: str, clients: int, seconds: float) -> tuple[list[tuple[int, int, int]], int]:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    sock = None
    if mode == "inherited":
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(1024)
        sock.setblocking(False)
    q: mp.Queue = mp.Queue()
    procs = [mp.Process(target=_run_worker, args=(i, port, sock, q, seconds + 2)) for i in (0, 1)]
    for p in procs:
        p.start()
    for _ in procs:
        q.get()
    done = asyncio.run(_clients(port, clients, seconds))
    served = sorted(q.get() for _ in procs)
    for p in procs:
        p.join()
    if sock is not None:
        sock.close()
    return served, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=2.5)
    args = parser.parse_args()
    mp.set_start_method("fork")
    load = os.getloadavg()
    print(
        f"{os.cpu_count()} cores, load average {load[0]:.1f}; {args.clients} clients, "
        f"{args.seconds} s per round"
    )
    print(
        f"{'mode':<11}{'round':>6}  {'connections per worker':<24}{'requests per worker':<22}"
        f"{'requests':>9}"
    )
    for number in range(1, args.rounds + 1):
        for mode in ("reuseport", "inherited"):
            served, done = _round(mode, args.clients, args.seconds)
            conns = " / ".join(str(c) for _, c, _ in served)
            reqs = " / ".join(str(r) for _, _, r in served)
            print(f"{mode:<11}{number:>6}  {conns:<24}{reqs:<22}{done:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
