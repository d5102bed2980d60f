"""Cache hits answered at the wire: a repeated read's whole reply written from its entry.

A read the query cache can answer costs a fraction of a miss only if the hit
skips what a miss needs: decoding the Bind, the session, the stages, the
translation, the binding and the key. So each session keeps a memo from what
the client sent — a prepared statement's text and types with the raw bytes of
its Bind after the names (parameter formats, values, result formats), or a
Query's raw text — to the cache key the full path computed for it, with the
session state that key was computed under (route, target, the settings, the
temporary tables; each compared by identity, as the session replaces them
when they change). On a repeat the wire asks `answer` first: when the memo
has it, the state is the same, the entry is live and fresh, and the messages
that end the request (Describe, Execute, Sync) are already received, the
reply is written at once and the wire sends it with its ReadyForQuery.

What the memo holds was learned from the full path itself: on a memo miss the
request goes the usual way, and the cache's key() hands its key to `learn`,
which decodes the same bytes again and keeps the key only if the statement
that reached the cache is this one with these values. Whatever the memo cannot
vouch for — statement hooks (observers, telemetry), an open transaction that
wrote, a failed one, an entry due for refresh or stale, a large entry (the
full path streams it with flow control), a client encoding other than UTF-8 —
goes the full path, which answers exactly as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from lru import LRU

from pgproxy import errors
from pgproxy.cache.results import CachedResult, described
from pgproxy.cache.store import Entry
from pgproxy.core.hooks import Hooks
from pgproxy.wire import encoding
from pgproxy.wire import messages as m
from pgproxy.wire.protocol import Portal, ServerProtocol, State

if TYPE_CHECKING:
    from pgproxy.cache.stage import QueryCache
    from pgproxy.core.context import StatementContext
    from pgproxy.session import Session
    from pgproxy.wire.messages import FrameReader

log = logging.getLogger("pgproxy.cache")
# Requests a session's memo keeps (least recently used go first).
MEMO = 1024
# The longest Bind tail or Query text memoised: point reads, not bulk parameters.
MAX_REQUEST = 4096
# The largest entry answered here; a larger one goes the full path, which waits
# for a slow client between batches.
MAX_REPLY = 65536
# What libpq (psycopg, pgbench) and asyncpg send after the Bind of a statement
# run to its end on the unnamed portal: [Describe portal ""] Execute "" 0, Sync.
_DESCRIBE = b"D\x00\x00\x00\x06P\x00"
_EXECUTE_SYNC = b"E\x00\x00\x00\x09\x00\x00\x00\x00\x00S\x00\x00\x00\x04"
_DESCRIBE_EXECUTE_SYNC = _DESCRIBE + _EXECUTE_SYNC


class Learned:
    """What the memo keeps for one request: its key, the session state it was computed
    under, and until the request comes again, how to check it (see Hits.learn)."""

    __slots__ = ("formats", "key", "result_key", "route", "target", "temp_names", "unchecked")

    def __init__(self, key: Hashable, session: Session, unchecked: tuple[Any, ...]) -> None:
        self.key = key
        self.route = session.route
        self.target = session.target()
        self.result_key = session.settings.result_key()
        self.temp_names = session.temp_names
        self.formats: list[int] = []  # the Bind's result format codes
        # (statement, parameters, result formats) the full path keyed, and the request's
        # bytes and prepared statement (None: a Query): checked on the request's repeat.
        self.unchecked: tuple[Any, ...] | None = unchecked


class Hits:
    """One session's memo of cache keys, and the replies it writes from them."""

    __slots__ = ("_cache", "_hooks", "_memo", "_parse", "_pending", "_session")

    def __init__(
        self, cache: QueryCache, session: Session, hooks: Hooks,
        parse: Callable[..., tuple[list[Any], tuple[Any, ...]]],
    ) -> None:
        self._cache = cache
        self._session = session
        self._hooks = hooks
        self._parse = parse  # Pipeline.parse_shaped: a Query's statements, to check one
        self._memo: LRU = LRU(MEMO)  # request -> Learned
        # (request, its bytes, its prepared statement or None for a Query): the request
        # whose key the full path is about to compute (see learn).
        self._pending: tuple[Any, ...] | None = None

    def answer(
        self, mtype: bytes, body: bytes, protocol: ServerProtocol, reader: FrameReader
    ) -> bool:
        """Write the whole reply to this Bind (with the Describe, Execute and Sync after
        it) or Query when the cache has it; False: nothing was written or consumed."""
        self._pending = None
        if self._hooks.wraps or self._hooks.steps:
            return False
        state = protocol.state
        if mtype == b"B":
            # After a Parse of the same extended query (an unnamed statement's) too, once
            # nothing before the Bind waits for an answer.
            if state is State.READY or (
                state is State.EXTENDED and protocol.describe_pending is None
            ):
                return self._bind(body, protocol, reader)
            return False
        return state is State.READY and self._query(body, protocol)

    def _bind(self, body: bytes, protocol: ServerProtocol, reader: FrameReader) -> bool:
        if body[:1] != b"\0" or len(body) > MAX_REQUEST or body.__class__ is not bytes:
            return False  # a named portal; a large or assembled body
        end = body.find(b"\0", 1)
        try:
            prepared = protocol.statements.get(body[1:end].decode())
        except UnicodeDecodeError:
            return False
        if prepared is None:
            return False  # the full path says why
        request = (prepared.text, tuple(prepared.param_types), body[end + 1 :])
        hit = self._recall(request, body, prepared)
        if hit is None:
            return False
        if reader.unread_starts(_DESCRIBE_EXECUTE_SYNC):
            rest = _DESCRIBE_EXECUTE_SYNC
        elif reader.unread_starts(_EXECUTE_SYNC):
            rest = _EXECUTE_SYNC
        else:
            return False  # a row limit, a Flush, more Binds: the full path
        portals = protocol.portals
        if portals and (len(portals) > 1 or "" not in portals) and \
                not self._session.in_transaction:
            return False  # the Sync closes the named portals' results: the full path's to do
        entry = self._entry(hit.key, protocol)
        if entry is None:
            return False
        formats = hit.formats
        description = None
        if rest is _DESCRIBE_EXECUTE_SYNC:
            columns = len(entry.columns)
            if len(formats) > 1 and len(formats) != columns:
                return False  # the full path's Describe reports the mismatch
            description = described(entry, m.formats_for(formats, columns))
        # Nothing below can fail: the Describe, Execute and Sync are answered here.
        reader.skip(len(rest))
        self._count(entry)
        write = protocol.write
        write(m.BIND_COMPLETE)
        if description is not None:
            write(description)
        for data, _ in entry.batches:
            write(data)
        write(m.command_complete(entry.tag))
        session = self._session
        if session.in_transaction:
            # The portal lives on to the end of the block, as PostgreSQL keeps it.
            done = CachedResult(entry)
            done.done = True
            protocol.portals[""] = Portal(prepared, [], formats, done)
        elif protocol.portals:
            protocol.portals.pop("", None)  # as the Sync would
        session.end_of_sync()
        return True

    def _query(self, body: bytes, protocol: ServerProtocol) -> bool:
        if len(body) > MAX_REQUEST or body.__class__ is not bytes:
            return False
        hit = self._recall(body, body, None)
        if hit is None:
            return False
        entry = self._entry(hit.key, protocol)
        if entry is None:
            return False
        description = described(entry, [0] * len(entry.columns))
        self._count(entry)
        protocol.simple_query()  # drops the unnamed statement and portal (see _entry)
        write = protocol.write
        write(description)
        for data, _ in entry.batches:
            write(data)
        write(m.command_complete(entry.tag))
        return True

    def _recall(self, request: Hashable, body: bytes, prepared: Any) -> Learned | None:
        """The memo's key for `request` if the session is as it was when it was learned:
        same route, target (branch, AS OF, database), settings (result_key() is rebuilt
        on any SET) and temporary tables. Else the full path is asked for it."""
        hit: Learned | None = self._memo.get(request)
        session = self._session
        if (
            hit is None or hit.route is not session.route or hit.target is not session.target()
            or hit.result_key is not session.settings.result_key()
            or hit.temp_names is not session.temp_names
        ):
            self._pending = (request, body, prepared)
            self._cache.learner = self
            return None
        if hit.unchecked is not None and not self._check(hit):
            del self._memo[request]
            return None
        return hit

    def _entry(self, key: Hashable, protocol: ServerProtocol) -> Entry | None:
        """The live, fresh, small entry under `key`, where the full path would serve it as
        a hit now. None: the full path decides."""
        session = self._session
        if session.failed or session.lost_transaction:
            return None
        if session.in_transaction:
            tx = session.cache_tx
            if tx is None or tx.wrote:
                return None
        old = protocol.portals.get("")
        if old is not None and old.result is not None and old.result.__class__ is not CachedResult:
            return None  # its result is the full path's to close
        cache = self._cache
        entry = cache.store.get(key, cache.grace)
        if entry is None or entry.size > MAX_REPLY:
            return None
        if entry.expires is not None:
            now = time.monotonic()
            if entry.expires <= now or (entry.refresh_at is not None and entry.refresh_at <= now):
                return None  # stale, or due for refresh: the full path starts it
        return entry

    def _count(self, entry: Entry) -> None:
        """A hit, in the entry's and the cache's statistics (SHOW CACHE, SHOW STATS)."""
        entry.hits += 1
        self._cache.stats.hits += 1

    def learn(self, ctx: StatementContext, key: Hashable) -> None:
        """The full path computed `key` for a statement (QueryCache.key): kept for the
        pending request if the statement is this session's, and the request's prepared
        statement. That its values are what the request's bytes decode to is checked when
        the request comes again (_check), so a miss seen once pays for no decoding."""
        pending, self._pending = self._pending, None
        session = self._session
        if pending is None or ctx.session_id != id(session):
            return
        request, body, prepared = pending
        if prepared is not None and ctx.prepared is not prepared:
            return
        self._memo[request] = Learned(
            key, session, (ctx.stmt, ctx.params, ctx.formats, body, prepared)
        )

    def _check(self, hit: Learned) -> bool:
        """Whether the statement the full path keyed was bound to what the request's bytes
        decode to (a Bind's values, a Query's one statement and its literals), for a client
        whose bytes the wire passes unconverted (UTF-8)."""
        assert hit.unchecked is not None
        stmt, params, formats, body, prepared = hit.unchecked
        session = self._session
        try:
            if encoding.lookup(session.settings.get("client_encoding")) is not None:
                return False  # the wire converts this client's bytes: the full path does
            if prepared is not None:
                msg = m.parse_bind(body)
                codes = m.formats_for(msg.param_formats, len(msg.params))
                values = session.decode_params(prepared, msg.params, codes)
                if list(params[: len(values)]) != values or list(formats) != msg.result_formats:
                    return False
                hit.formats = msg.result_formats
            else:
                statements, literals = self._parse(
                    m.parse_query(body), session.target(), 0, True)
                if len(statements) != 1 or statements[0] is not stmt or formats \
                        or list(params) != list(literals):
                    return False
        except errors.PgError:
            return False  # what the full path reported when it failed there
        except Exception:  # a bug here must not end the connection: the full path answers
            log.exception("checking a cache hit's request failed")
            return False
        hit.unchecked = None
        return True
