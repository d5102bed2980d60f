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
        self._parse = parse  # Pipeline.parse_shaped: a Query's statements, to learn one
        # request -> (Key, route, target, result_key, temp_names, result formats)
        self._memo: LRU = LRU(MEMO)
        # The request whose key the full path is about to compute (see learn).
        self._pending: tuple[Any, ...] | None = None

    def answer(
        self, mtype: bytes, body: bytes, protocol: ServerProtocol, reader: FrameReader
    ) -> bool:
        """Write the whole reply to this Bind (with the Describe, Execute and Sync after
        it) or Query when the cache has it; False: nothing was written or consumed."""
        self._pending = None
        if protocol.state is not State.READY or self._hooks.wraps or self._hooks.steps:
            return False
        if mtype == b"B":
            return self._bind(body, protocol, reader)
        return self._query(body, protocol)

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
        hit = self._memo.get(request)
        if hit is None or not self._same_state(hit):
            self._expect((request, body, prepared))
            return False
        if reader.unread_starts(_DESCRIBE_EXECUTE_SYNC):
            rest = _DESCRIBE_EXECUTE_SYNC
        elif reader.unread_starts(_EXECUTE_SYNC):
            rest = _EXECUTE_SYNC
        else:
            return False  # a row limit, a Flush, more Binds: the full path
        entry = self._entry(hit[0], protocol)
        if entry is None:
            return False
        columns = len(entry.columns)
        formats = hit[5]
        if rest is _DESCRIBE_EXECUTE_SYNC and len(formats) > 1 and len(formats) != columns:
            return False  # the full path's Describe reports the mismatch
        reader.skip(len(rest))  # answered here with the Bind
        self._count(entry)
        write = protocol.write
        write(m.BIND_COMPLETE)
        if rest is _DESCRIBE_EXECUTE_SYNC:
            write(described(entry, m.formats_for(formats, columns)))
        for data, _ in entry.batches:
            write(data)
        write(m.command_complete(entry.tag))
        session = self._session
        if session.in_transaction:
            # The portal lives on to the end of the block, as PostgreSQL keeps it.
            done = CachedResult(entry)
            done.done = True
            protocol.portals[""] = Portal(prepared, [], formats, done)
        session.end_of_sync()
        return True

    def _query(self, body: bytes, protocol: ServerProtocol) -> bool:
        if len(body) > MAX_REQUEST or body.__class__ is not bytes:
            return False
        hit = self._memo.get(body)
        if hit is None or not self._same_state(hit):
            self._expect((body, body, None))
            return False
        entry = self._entry(hit[0], protocol)
        if entry is None:
            return False
        self._count(entry)
        protocol.simple_query()  # drops the unnamed statement and portal (see _entry)
        write = protocol.write
        write(described(entry, [0] * len(entry.columns)))
        for data, _ in entry.batches:
            write(data)
        write(m.command_complete(entry.tag))
        return True

    def _same_state(self, hit: tuple[Any, ...]) -> bool:
        """The session is as it was when the key was learned: same route, target (branch,
        AS OF, database), settings (result_key() is rebuilt on any SET) and temp tables."""
        session = self._session
        return (
            hit[1] is session.route and hit[2] is session.target()
            and hit[3] is session.settings.result_key() and hit[4] is session.temp_names
        )

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

    def _expect(self, pending: tuple[Any, ...]) -> None:
        """Ask the cache for the key the full path is about to compute for this request."""
        self._pending = pending
        self._cache.learner = self

    def learn(self, ctx: StatementContext, key: Hashable) -> None:
        """The full path computed `key` for a statement: kept for the pending request if
        that statement is the request's, with the values its bytes decode to."""
        pending, self._pending = self._pending, None
        session = self._session
        if pending is None or ctx.session_id != id(session):
            return
        request, body, prepared = pending
        try:
            if prepared is not None:
                if ctx.prepared is not prepared or not self._bound(ctx, body, prepared):
                    return
                formats = m.parse_bind(body).result_formats
            else:
                statements, literals = self._parse(m.parse_query(body), ctx.target(), 0, True)
                if len(statements) != 1 or ctx.stmt is not statements[0] or ctx.formats \
                        or list(ctx.params) != list(literals):
                    return
                formats = []
        except errors.PgError:
            return
        settings = session.settings
        if encoding.lookup(settings.get("client_encoding")) is not None:
            return  # the wire converts this client's bytes: the full path does
        self._memo[request] = (
            key, session.route, session.target(), settings.result_key(), session.temp_names,
            formats,
        )

    def _bound(self, ctx: StatementContext, body: bytes, prepared: Any) -> bool:
        """Whether the statement at the cache was bound to what `body` decodes to."""
        msg = m.parse_bind(body)
        formats = m.formats_for(msg.param_formats, len(msg.params))
        params = self._session.decode_params(prepared, msg.params, formats)
        return list(ctx.params[: len(params)]) == params and list(ctx.formats) == list(
            msg.result_formats
        )
