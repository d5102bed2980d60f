"""`--workers N`: a supervisor process forks N workers that share the listening ports.

Each worker binds its own socket to every listen address with SO_REUSEPORT
and the kernel spreads new connections over them. The supervisor keeps a
bound, never listening socket on each address: the port stays reserved while
a worker restarts, and a port given as 0 is picked once for all. It restarts a
worker that dies (waiting longer each time one dies young), forwards SIGTERM
and SIGINT, and exits non-zero when a worker cannot start. The workers share
a private run directory (peer sockets, wire/peers.py; the cache's
invalidation log, cache/shared.py), removed at exit.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from pgproxy import config as config_mod
from pgproxy.cache import shared

log = logging.getLogger("pgproxy")

_SIGNALS = (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT)
_STOP_GRACE = 20.0  # seconds the workers get to say goodbye to their clients
_PR_SET_PDEATHSIG = 1  # Linux prctl(2)
_YOUNG = 10.0  # a worker that dies younger than this is restarted after a back-off


@dataclass(frozen=True)
class WorkerSetup:
    """What one worker process is told: who it is and what it binds."""

    worker: int
    workers: int
    rundir: str
    addresses: tuple[tuple[str, int], ...]  # bound with SO_REUSEPORT
    ready_fd: int  # write one byte once listening

    def ready(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.ready_fd, b"R")
            os.close(self.ready_fd)


def single_process_reason(cfg: config_mod.Config) -> str | None:
    """Why this configuration cannot be served by several processes, or None."""
    if sys.platform != "linux":
        return "only Linux spreads a port's connections over processes (SO_REUSEPORT)"
    for name, url in cfg.backends.items():
        scheme = urlsplit(url).scheme.lower()
        if scheme == "dolt":
            return f"backend {name} is embedded Dolt, which one process must own"
        if scheme == "sqlite":
            rest = url.split(":", 1)[1].partition("?")[0].removeprefix("//")
            if rest in (":memory:", ""):
                return f"backend {name} is an in-memory SQLite database, private to a process"
    return None


@dataclass
class _Slot:
    pid: int = 0
    started: float = 0.0
    ready_fd: int = -1
    ready: bool = False
    served: bool = False  # listened once: a later death is a crash, not a bad start
    backoff: float = 0.0
    restart_at: float | None = None


class Supervisor:
    """Starts the workers, keeps them running, stops them."""

    def __init__(self, cfg: config_mod.Config, run_worker: Callable[[WorkerSetup], int]) -> None:
        self.cfg = cfg
        self.run_worker = run_worker
        self.workers = cfg.workers
        self.rundir = ""
        self._reserved: list[socket.socket] = []
        self._addresses: tuple[tuple[str, int], ...] = ()
        self._slots = [_Slot() for _ in range(self.workers)]

    def run(self) -> int:
        try:
            self._addresses = tuple(self._reserve())
        except OSError as exc:
            log.error("cannot start: %s", exc)
            return 2
        self.rundir = tempfile.mkdtemp(prefix="pgproxy-run-")
        # The supervisor takes its signals in sigtimedwait(), so they stay blocked
        # here; each worker unblocks them after its fork.
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            shared.create(self.rundir, self.workers)
            # One worker first: a configuration no worker can start with (a bad backend
            # URL, trust on a public address) is then said once, by that worker.
            self._start(0)
            code = self._supervise()
        finally:
            self._stop_all()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
            for sock in self._reserved:
                sock.close()
            shutil.rmtree(self.rundir, ignore_errors=True)
        return code

    # ------------------------------------------------------------ sockets

    def _reserve(self) -> list[tuple[str, int]]:
        """Bind each listen address (port in use: OSError); a port 0 becomes a real one."""
        out: list[tuple[str, int]] = []
        for address in self.cfg.listen:
            host, port = config_mod.split_listen(address)
            infos = socket.getaddrinfo(
                host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
            for family, kind, proto, _, sockaddr in infos:
                if port == 0 and out:
                    sockaddr = (sockaddr[0], out[0][1], *sockaddr[2:])
                # A plain bind first: one without SO_REUSEPORT fails on a port that
                # anyone holds, even another pgproxy (whose group we must not join).
                with socket.socket(family, kind, proto) as probe:
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    if family == socket.AF_INET6:
                        probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    try:
                        probe.bind(sockaddr)
                    except OSError as exc:
                        raise OSError(
                            exc.errno,
                            f"cannot listen on {sockaddr[0]}:{sockaddr[1]}: {exc.strerror}",
                        ) from None
                    sockaddr = probe.getsockname()
                sock = socket.socket(family, kind, proto)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(sockaddr)
                self._reserved.append(sock)
                out.append((str(sockaddr[0]), int(sockaddr[1])))
        return out

    # ------------------------------------------------------------ workers

    def _start(self, n: int) -> None:
        slot = self._slots[n]
        read_fd, write_fd = os.pipe()
        setup = WorkerSetup(n, self.workers, self.rundir, self._addresses, write_fd)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker: it never returns into the supervisor's code
            code = 70
            try:
                _die_with(parent)
                os.close(read_fd)
                for sock in self._reserved:
                    sock.close()
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
                code = self.run_worker(setup)
            except BaseException:
                log.exception("worker %d failed", n)
            finally:
                logging.shutdown()
                os._exit(code)
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        slot.pid, slot.started, slot.ready_fd, slot.ready = pid, time.monotonic(), read_fd, False
        slot.restart_at = None
        log.info("worker %d started (pid %d)", n, pid)

    def _supervise(self) -> int:
        while True:
            timeout = self._poll_ready()
            if self._slots[0].served and not any(s.pid or s.served for s in self._slots[1:]):
                for n in range(1, self.workers):
                    self._start(n)
            info = signal.sigtimedwait(_SIGNALS, timeout)
            if info is not None and info.si_signo in (signal.SIGTERM, signal.SIGINT):
                log.info("%s: stopping the workers", signal.Signals(info.si_signo).name)
                return 0
            if (code := self._reap()) is not None:
                return code
            now = time.monotonic()
            for n, slot in enumerate(self._slots):
                if slot.restart_at is not None and slot.restart_at <= now:
                    self._start(n)

    def _poll_ready(self) -> float:
        """Note the workers that said they listen; the wait until the next thing to do."""
        timeout = 1.0
        for slot in self._slots:
            if slot.pid and not slot.ready:
                with contextlib.suppress(BlockingIOError):
                    if os.read(slot.ready_fd, 1):
                        slot.ready = slot.served = True
                        os.close(slot.ready_fd)
                        slot.ready_fd = -1
                if not slot.ready:
                    timeout = 0.05
            if slot.restart_at is not None:
                timeout = min(timeout, max(0.0, slot.restart_at - time.monotonic()))
        return timeout

    def _reap(self) -> int | None:
        """Collect dead workers and plan their restarts; an exit code to stop with."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return None
            if pid == 0:
                return None
            n = next((i for i, s in enumerate(self._slots) if s.pid == pid), None)
            if n is None:
                continue
            slot = self._slots[n]
            if slot.ready_fd >= 0:
                self._poll_ready()
            if slot.ready_fd >= 0:
                os.close(slot.ready_fd)
                slot.ready_fd = -1
            slot.pid = 0
            how = _describe(status)
            if not slot.served:
                # It never listened (a bad option, a certificate): every worker
                # would fail the same way. A worker that said why exits with 2.
                if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 2:
                    log.debug("worker %d could not start: stopping", n)
                else:
                    log.error("worker %d could not start (%s): stopping", n, how)
                return 2
            age = time.monotonic() - slot.started
            slot.backoff = min(max(slot.backoff * 2, 1.0), 30.0) if age < _YOUNG else 0.0
            slot.restart_at = time.monotonic() + slot.backoff
            log.warning("worker %d (pid %d) %s; restarting it in %.0f s", n, pid, how, slot.backoff)

    def _stop_all(self) -> None:
        live = {s.pid for s in self._slots if s.pid}
        for pid in live:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE
        while live and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                live.discard(pid)
            else:
                time.sleep(0.02)
        for pid in live:
            log.warning("worker pid %d did not stop in %.0f s: killed", pid, _STOP_GRACE)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        for slot in self._slots:
            slot.pid = 0


def _die_with(parent: int) -> None:
    """A worker whose supervisor is gone (even by SIGKILL) stops too, freeing the port."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before prctl took
        os.kill(os.getpid(), signal.SIGTERM)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"
