"""PostgreSQL's advisory locks, kept by the proxy across the sessions of one backend.

No translated backend has pg_advisory_lock(); drivers and frameworks use it
(asyncpg's pool sends `SELECT pg_advisory_unlock_all()` on every release;
migration tools take one around their work). A table-less SELECT of only
advisory-lock calls is answered here. Locks are keyed by backend and by the
key (one bigint, or two integers: separate key spaces, as in PostgreSQL);
session-level locks count re-entries and go with the session, transaction-level
ones go at the end of the transaction. A wait ends with the lock, a cancel
request, or statement_timeout (57014).

With several worker processes, a lock is also taken between them
(advisory_shared.py), so a session on another worker is excluded too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlglot import exp

import dialects
from dialects import Kind
from pgproxy import errors, pgtypes
from pgproxy.advisory_shared import POLL, FileLocks
from pgproxy.backends.base import Backend, Capabilities, Column
from pgproxy.results import RowsResult
from pgproxy.routing.router import Route

# name -> (shared, transaction-level, waits, what it does)
_LOCKS = {
    "pg_advisory_lock": (False, False, True),
    "pg_advisory_lock_shared": (True, False, True),
    "pg_try_advisory_lock": (False, False, False),
    "pg_try_advisory_lock_shared": (True, False, False),
    "pg_advisory_xact_lock": (False, True, True),
    "pg_advisory_xact_lock_shared": (True, True, True),
    "pg_try_advisory_xact_lock": (False, True, False),
    "pg_try_advisory_xact_lock_shared": (True, True, False),
}
_UNLOCKS = {"pg_advisory_unlock": False, "pg_advisory_unlock_shared": True}
FUNCTIONS = frozenset({*_LOCKS, *_UNLOCKS, "pg_advisory_unlock_all"})

Key = tuple[int, ...]  # (bigint,) or (int, int)
Holder = tuple[int, bool, bool]  # (pid, shared, transaction-level)


@dataclass
class _Lock:
    holders: dict[Holder, int] = field(default_factory=dict)  # -> times taken
    waiters: list[asyncio.Future[None]] = field(default_factory=list)

    def free_for(self, pid: int, shared: bool) -> bool:
        return all(p == pid or (shared and s) for p, s, _ in self.holders)

    def exclusive(self) -> bool | None:
        """The hold the process needs: exclusive (True), shared (False), none (None)."""
        if not self.holders:
            return None
        return any(not s for _, s, _ in self.holders)


class AdvisoryLocks:
    """Every session's advisory locks, per backend (one lock table for the proxy)."""

    def __init__(self) -> None:
        self._locks: dict[tuple[Hashable, Key], _Lock] = {}
        self.held = self._locks  # read only: empty when no session holds or awaits a lock
        self.between: FileLocks | None = None  # the other worker processes, with --workers

    def try_lock(self, route: Hashable, key: Key, pid: int, shared: bool, xact: bool) -> bool:
        lock = self._locks.setdefault((route, key), _Lock())
        if not lock.free_for(pid, shared):
            return False
        if self.between is not None and not self.between.hold(str(route), key, not shared):
            if not lock.holders:
                del self._locks[(route, key)]
            return False
        holder = (pid, shared, xact)
        lock.holders[holder] = lock.holders.get(holder, 0) + 1
        return True

    async def lock(
        self, route: Hashable, key: Key, pid: int, shared: bool, xact: bool, session: Caller
    ) -> None:
        loop = asyncio.get_running_loop()
        while not self.try_lock(route, key, pid, shared, xact):
            waiter = loop.create_future()
            lock = self._locks.setdefault((route, key), _Lock())
            lock.waiters.append(waiter)
            polls: list[asyncio.TimerHandle] = []
            if lock.free_for(pid, shared):  # another worker holds it: nobody here will wake us
                polls.append(
                    loop.call_later(POLL, self._poll, route, key, pid, shared, waiter, polls)
                )
            try:
                await session.wait_for_lock(waiter)
            except BaseException:
                if self.between is not None:  # a poll may have taken the hold meanwhile
                    held = self._locks.get((route, key))
                    self.between.settle(str(route), key, held.exclusive() if held else None)
                raise
            finally:
                for handle in polls:
                    handle.cancel()
                lock = self._locks.get((route, key))
                if lock is not None and waiter in lock.waiters:
                    lock.waiters.remove(waiter)
                if lock is not None and not lock.holders and not lock.waiters:
                    del self._locks[(route, key)]  # it waited only for another worker

    def _poll(
        self,
        route: Hashable,
        key: Key,
        pid: int,
        shared: bool,
        waiter: asyncio.Future[None],
        polls: list[asyncio.TimerHandle],
    ) -> None:
        """Try for another worker's lock; the waiter is woken only once this process holds
        it, so a cancel that comes meanwhile still finds the waiter waiting."""
        lock = self._locks.get((route, key))
        if waiter.done() or lock is None or not lock.free_for(pid, shared):
            return  # canceled, or a session here took it: its release wakes the waiter
        assert self.between is not None
        if self.between.hold(str(route), key, not shared):
            _wake(waiter)
        else:
            polls[:] = [
                asyncio.get_running_loop().call_later(
                    POLL, self._poll, route, key, pid, shared, waiter, polls
                )
            ]

    def unlock(self, route: Hashable, key: Key, pid: int, shared: bool) -> bool:
        lock = self._locks.get((route, key))
        holder = (pid, shared, False)
        if lock is None or holder not in lock.holders:
            return False
        lock.holders[holder] -= 1
        if not lock.holders[holder]:
            del lock.holders[holder]
            self._changed(route, key, lock)
        return True

    def release(self, pid: int, xact: bool | None = None) -> None:
        """Drop `pid`'s locks: its transaction-level ones (xact True), session-level ones
        (False), or all of them (None, the session ended)."""
        for (route, key), lock in list(self._locks.items()):
            gone = [h for h in lock.holders if h[0] == pid and (xact is None or h[2] == xact)]
            for holder in gone:
                del lock.holders[holder]
            if gone:
                self._changed(route, key, lock)

    def _changed(self, route: Hashable, key: Key, lock: _Lock) -> None:
        if self.between is not None:
            self.between.settle(str(route), key, lock.exclusive())
        for waiter in lock.waiters:
            _wake(waiter)
        lock.waiters.clear()
        if not lock.holders:
            del self._locks[(route, key)]

    def rows(self, route: Hashable) -> list[tuple[Any, ...]]:
        """pg_locks rows of `route`'s advisory locks, keys spelled as PostgreSQL does."""
        out = []
        for (r, key), lock in self._locks.items():
            if r != route:
                continue
            if len(key) == 1:  # a bigint: its high and low halves, objsubid 1
                classid, objid, sub = (key[0] >> 32) & 0xFFFFFFFF, key[0] & 0xFFFFFFFF, 1
            else:
                classid, objid, sub = key[0] & 0xFFFFFFFF, key[1] & 0xFFFFFFFF, 2
            for pid, shared, _ in lock.holders:
                mode = "ShareLock" if shared else "ExclusiveLock"
                out.append(
                    (
                        "advisory",
                        0,
                        None,
                        None,
                        None,
                        None,
                        None,
                        classid,
                        objid,
                        sub,
                        None,
                        pid,
                        mode,
                        True,
                        False,
                        None,
                    )
                )
        return out


def calls(stmt: dialects.Statement, caps: Capabilities) -> list[exp.Anonymous] | None:
    """The advisory-lock calls of a table-less SELECT that makes only such calls
    (None on PostgreSQL itself, whose own locks other clients see)."""
    tree = stmt.expression
    if caps.passthrough or stmt.kind is not Kind.SELECT or stmt.tables_read:
        return None
    if not isinstance(tree, exp.Select):
        return None
    if tree.args.get("from"):
        return None
    out = []
    for e in tree.expressions:
        call = e.this if isinstance(e, exp.Alias) else e
        if not isinstance(call, exp.Anonymous) or str(call.this).lower() not in FUNCTIONS:
            return None
        out.append(call)
    return out


def param_types(stmt: dialects.Statement, calls_: list[exp.Anonymous]) -> list[int]:
    """Each $n a key is: bigint alone, integer in a pair (0 elsewhere)."""
    types = [0] * stmt.nparams
    for call in calls_:
        for arg in call.expressions:
            if isinstance(arg, exp.Parameter) and 0 < int(arg.this.this) <= len(types):
                one = len(call.expressions) == 1
                types[int(arg.this.this) - 1] = pgtypes.INT8 if one else pgtypes.INT4
    return types


def _key(call: exp.Anonymous, params: Sequence[Any]) -> Key:
    values = []
    for arg in call.expressions:
        while isinstance(arg, exp.Cast | exp.Paren):
            arg = arg.this
        negative = isinstance(arg, exp.Neg)
        if negative:
            arg = arg.this
        if isinstance(arg, exp.Parameter):
            value = params[int(arg.this.this) - 1]
        elif isinstance(arg, exp.Literal) and not arg.is_string:
            value = arg.this
        else:
            raise errors.FeatureNotSupported(
                f"pgproxy takes {call.this}()'s key as a constant or a parameter"
            )
        if value is None:
            raise errors.NullValueNotAllowed(f"{call.this}() takes no NULL key")
        values.append(-int(value) if negative else int(value))
    if len(values) not in (1, 2):
        raise errors.UndefinedFunction(
            f"function {call.this}({', '.join(['integer'] * len(values))}) does not exist"
        )
    return tuple(values)


def describe(stmt: dialects.Statement, calls_: list[exp.Anonymous]) -> list[Column]:
    """The result's columns: void for the waiting locks and unlock_all, else boolean."""
    tree = stmt.expression
    assert tree is not None
    out = []
    for e, call in zip(tree.expressions, calls_, strict=True):
        name = str(call.this).lower()
        void = name == "pg_advisory_unlock_all" or (name in _LOCKS and _LOCKS[name][2])
        out.append(
            Column(
                e.alias_or_name if isinstance(e, exp.Alias) else name,
                pgtypes.VOID if void else pgtypes.BOOL,
            )
        )
    return out


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def space(backend: Backend) -> str:
    """The lock space of a backend: its URL, the same in every worker process."""
    return str(getattr(backend, "url", "") or id(backend))


class Caller(Protocol):
    """What a lock call reads of the statement's session (a StatementContext)."""

    @property
    def pid(self) -> int: ...
    @property
    def route(self) -> Route: ...
    @property
    def in_transaction(self) -> bool: ...
    @property
    def advisory(self) -> AdvisoryLocks: ...

    def wait_for_lock(self, waiter: asyncio.Future[None]) -> Awaitable[None]: ...


async def run(
    session: Caller,
    stmt: dialects.Statement,
    calls_: list[exp.Anonymous],
    params: Sequence[Any],
) -> RowsResult:
    locks = session.advisory
    route, pid = space(session.route.backend), session.pid
    row: list[Any] = []
    notices = []
    for call in calls_:
        name = str(call.this).lower()
        if name == "pg_advisory_unlock_all":
            if call.expressions:
                raise errors.UndefinedFunction(f"function {name}() takes no arguments")
            locks.release(pid, xact=False)
            row.append("")
            continue
        key = _key(call, params)
        if name in _UNLOCKS:
            shared = _UNLOCKS[name]
            done = locks.unlock(route, key, pid, shared)
            if not done:
                mode = "ShareLock" if shared else "ExclusiveLock"
                notices.append(f"you don't own a lock of type {mode}")
            row.append(done)
            continue
        shared, xact, waits = _LOCKS[name]
        if waits:
            await locks.lock(route, key, pid, shared, xact, session)
            row.append("")
        else:
            row.append(locks.try_lock(route, key, pid, shared, xact))
    if not session.in_transaction:
        locks.release(pid, xact=True)  # the statement was its own transaction
    result = RowsResult("SELECT", describe(stmt, calls_), [tuple(row)])
    result.notices = tuple(notices)
    return result
