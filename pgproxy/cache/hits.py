"""Cache hits answered at the wire: a repeated read's whole reply written from its entry.

A read the query cache can answer costs a fraction of a miss only if the hit
skips what a miss needs: decoding the Bind, the session, the stages, the
translation, the binding and the key. So the worker keeps a memo from what a
client sent — a prepared statement's text and types with the raw bytes of its
Bind after the names (parameter formats, values, result formats), or a
Query's raw text — to the cache key the full path computed for it, under the
session state the key depends on: route, target (branch, AS OF, database),
the RESULT_SETTINGS values and the temporary tables (and the user, when users
are configured), interned as a small state number that each session finds
again only when one of those objects changed (the session replaces them when
they change). On a request the wire asks `answer` first: when the memo has
it for the session's state, the session is in no transaction that wrote or
failed, the entry is live and fresh, and the messages that end the request
(Describe, Execute, Sync) are already received, the reply is written at once
and the wire sends it with its ReadyForQuery.

A request that arrives whole in one read while the connection waits for a
command outside a transaction block is offered to `at_wire` from
data_received itself (recognised as wire/repeats.py recognises it for the
inline reads of pgproxy/wire_reads.py too): the trailing messages are checked by one compare, the
memo looked up by one key of the bytes received, and the reply with its
ReadyForQuery goes out in one write, before the connection's task is woken. A small
reply is kept with the memo's entry for the request: its repeat checks only that the
cache still holds the very entry it was made from, fresh, and writes the same bytes.
A Parse of the unnamed statement before the Bind is answered there too when it
is byte for byte the Parse the full path last made that statement of, with
no invalidation in the cache since (a write or DDL may change what it parses to).

What the memo holds was learned from the full path itself: on a memo miss the
request goes the usual way, and when the cache serves it a hit there, the
key goes to `learn` if the statement that reached the cache is the
request's (a miss, which fills the entry, teaches nothing: a statement seen
once costs the memo nothing). That its values are what the request's bytes
decode to is checked when the request comes again.
Once a request of a prepared statement passed that check, the statement has a
Plan in that state: a Bind of it the memo never saw is decoded and keyed by
the full path's own functions (pipeline._bind, QueryCache.key_of), and kept
in the memo when the cache has the key (a simple Query's statement likewise:
a text of its shape is keyed from its literals); a plan whose keys keep missing is
tried only now and then, so misses do not pay for it.
A statement that binds a value of the session's own (current_user, a
setting's value) is not learned: its key holds what no other session has.
With observers, a hit answered here is handed to them as the full path
hands one (Hook.answered: one tuple on the collector's queue, cache_hit true);
other statement hooks (telemetry's spans, steps' timers) need the full path.
Whatever the memo cannot vouch for — those hooks, a transaction that wrote
or failed, an entry due for refresh or stale, a large entry (the full path
streams it with flow control), a row limit, a named portal, a client
encoding other than UTF-8 — goes the full path, which answers exactly as
before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from lru import LRU

from pgproxy import errors
from pgproxy.cache.results import CachedResult, described
from pgproxy.cache.store import CacheStore, Entry, Stats
from pgproxy.core.context import StatementContext
from pgproxy.core.hooks import Hooks
from pgproxy.params import is_derived, timelike
from pgproxy.wire import messages as m
from pgproxy.wire import repeats
from pgproxy.wire.protocol import Portal, ServerProtocol, State

if TYPE_CHECKING:
    from pgproxy.session import Session
    from pgproxy.wire.messages import FrameReader

log = logging.getLogger("pgproxy.cache")
# Requests the memo keeps at least (least recently used go first; as many as the cache
# keeps entries), and session states it numbers at most.
MEMO = 1024
# The largest entry answered here; a larger one goes the full path, which waits
# for a slow client between batches.
MAX_REPLY = 65536
# A reply at_wire writes is kept with the request's memo entry when it is this small
# (point reads): a repeat looks no further than the memo and the entry it came from. At
# most this much per memo entry, beside the cache's own bytes.
KEPT_REPLY = 2048
# A Plan's score at first, its most, and how often one at zero is tried all the same.
PLAN_SCORE, PLAN_MAX, PLAN_PROBE = 4, 64, 128


class Cache(Protocol):
    """What the hits use of the query cache (stage.QueryCache, which imports this)."""

    store: CacheStore
    stats: Stats
    grace: float
    per_user: bool
    memo: Memo
    learner: Any

    def key_of(self, session: Any, stmt: Any, sql: str, values: Any, formats: Any) -> Any: ...


# The form of a request at_wire answers that is a simple Query (a Bind's is 0-3).
QUERY_FORM = 4


class Keyed(NamedTuple):
    """A Bind or Query the memo's plan decoded and keyed just now, and missed
    (Hits._derive, _derive_query): what the reads at the wire (wire_reads.py,
    wire_reads_async.py), offered the miss, need not make again."""

    prepared: Any  # its prepared statement (a Query's: Session._prepared's, literals set)
    params: list[Any]  # a Bind's values decoded (the statement's literals not among them)
    formats: list[int]  # a Bind's result formats
    generated: Any  # the translation its values were bound for
    values: list[Any]  # the driver's values (pipeline._bind's)
    key: Any  # the cache key of those (QueryCache.key_of's)


class Learned:
    """What the memo keeps for one request in one session state: its key, and until the
    request comes again, how to check it (see Hits.learn)."""

    __slots__ = ("described", "formats", "key", "replied", "stmt", "unchecked")

    def __init__(self, key: Hashable, stmt: Any, unchecked: tuple[Any, ...] | None) -> None:
        self.key = key
        self.stmt = stmt  # the statement the full path ran: what an observer is told of
        self.formats: list[int] = []  # the Bind's result format codes
        # (entry, its RowDescription for these formats): the last one written.
        self.described: tuple[Entry, bytes] | None = None
        # (entry, the request's form, the whole reply at_wire wrote from it: see Hits._reply)
        self.replied: tuple[Entry, int, bytes] | None = None
        # (statement, parameters, result formats) the full path keyed, and the request's
        # prepared statement (None: a Query): checked on the request's repeat.
        self.unchecked: tuple[Any, ...] | None = unchecked


class Plan:
    """A prepared statement whose cache keys the memo makes itself, in one session state:
    a request of it the memo has not seen is keyed from its Bind's values, by the full
    path's own functions, and answered here when the cache has that key. Learned once a
    request of the statement was checked (Hits._vouch): its key binds only the client's
    values. `score` falls with each key made for nothing (a miss the full path then
    answers) and rises with each hit: a statement whose keys mostly miss is keyed here
    only now and then."""

    __slots__ = ("score", "skipped", "stmt")

    def __init__(self, stmt: Any = None) -> None:
        self.score = PLAN_SCORE
        self.skipped = 0
        self.stmt = stmt  # a Query's: the shaped statement its texts parse to


class Memo(repeats.Numbers):
    """The worker's memo, shared by its sessions: (state, statement, Bind tail) or
    (state, Query text, None) -> Learned; its numbers are the requests' (wire/repeats.py)."""

    __slots__ = ("learned", "plans", "queries")

    def __init__(self, size: int) -> None:
        super().__init__()
        self.learned: LRU = LRU(max(MEMO, size))
        # (state, statement number) or (state, ("Q", id of a Query's statement)) -> Plan
        self.plans: LRU = LRU(MEMO)
        self.queries = False  # a Query's statement has a plan: a Query's text is worth parsing


class Hits:
    """One session's way into the worker's memo, and the replies it writes from it."""

    __slots__ = (
        "_bind_values", "_cache", "_generate", "_hooks", "_keyed", "_memo", "_missed",
        "_missed_plan", "_parse", "_pending", "_reads", "_session", "_st", "_statements",
        "_unnamed",
    )

    def __init__(
        self, cache: Cache, session: Session, hooks: Hooks,
        parse: Callable[..., tuple[list[Any], tuple[Any, ...]]],
        generate: Callable[..., Any], reads: Any = None,
    ) -> None:
        self._cache = cache
        # The reads at the wire (wire_reads.Reads, run inline; wire_reads_async.AsyncReads,
        # answered when they return): what a miss here may be answered by (they keep the
        # result in the cache), else None.
        self._reads = reads
        self._missed_plan: Plan | None = None  # a plan whose key missed in this request
        # That request (a Bind, a Query) as the plan decoded and keyed it: the reads need
        # not make it again.
        self._keyed: Keyed | None = None
        self._session = session
        self._hooks = hooks
        self._parse = parse  # Pipeline.parse_shaped: a Query's statements, to check one
        self._generate = generate  # Pipeline.generate: what a learned statement binds
        from pgproxy.pipeline import _bind  # here: the pipeline imports the cache

        self._bind_values = _bind  # the full path's values of a key (see _derive)
        self._memo: Memo = cache.memo
        # The session's state as last numbered (-1: a client_encoding the wire converts).
        self._st = repeats.SessionState(self._memo, session, cache.per_user)
        # (memo key, its prepared statement or None for a Query): the request whose key
        # the full path is about to compute (see learn).
        self._pending: tuple[Any, ...] | None = None
        # The same for the request at_wire did not find in the memo: the connection's
        # next message, which answer() then need not look up again.
        self._missed: tuple[Any, ...] | None = None
        # The unnamed statement's Parse resent before its Bind, outdated by the cache's
        # invalidation clock (a write since, DDL included).
        self._unnamed = repeats.UnnamedParse()
        # A Bind's statement name as sent -> (name, prepared statement, its memo number).
        self._statements = repeats.Statements(self._memo)

    def at_wire(self, data: bytes, protocol: ServerProtocol) -> bytes | None:
        """The whole reply, ReadyForQuery included, to a request read in one piece while
        the connection waited for a command outside a transaction block
        (WireConnection.data_received): a Bind with its Execute and Sync (a Describe of
        its portal between), or a Query. None: nothing was changed, and the connection
        handles the bytes as usual. The trailing messages are checked by one compare, the
        memo looked up by one key made of the bytes received, and no task wakes. A
        request the cache cannot answer here goes to the reads at the wire, if any (a
        miss they answer is kept in the cache; wire_reads.LATER: offered again;
        repeats.PENDING: answered when its read returns)."""
        self._missed_plan = self._keyed = self._missed = None
        self._unnamed.parsed = None  # a new request (UnnamedParse.forget)
        request = repeats.recognise(data)
        hooks = self._hooks
        if request is None or not repeats.waiting(self._session, protocol, hooks):
            return self._read(data, protocol)
        start = 0.0 if hooks.answered is None else time.perf_counter()
        at, end, name_end, describe = request
        if at > 0:  # a Parse of the unnamed statement again, then its Bind
            if not self._unnamed.known(data, at, protocol, self._cache.store.clock):
                # answer() learns what the full path makes of it
                return self._read(data, protocol)
        if at >= 0:  # Bind, on the unnamed portal
            known = self._statements.named(data[at + 6 : name_end], protocol)
            if known is None:
                return self._read(data, protocol)
            _, prepared, number = known
            tail = data[name_end + 1 : end]
            st = self._st  # _recall's answer when the memo has it in the same state
            hit = self._memo.learned.get((st.number, number, tail)) if st.number >= 0 else None
            if hit is None or not st.same():
                hit = self._recall(number, tail, prepared, False)
            if at > 0:
                # Else the full path parses the statement anew before the Bind: answer()
                # looks the Bind up again for that statement.
                self._missed = None
            if hit is None:
                hit = self._derive(number, prepared, data[at + 5 : end], tail)
                if hit is None:
                    return self._read(data, protocol)
                self._missed = None  # known now: nothing for the full path to learn
            elif hit.unchecked is not None and not self._vouch(hit, data[at + 5 : end]):
                return self._read(data, protocol)
            form = (2 if at else 0) + describe
        else:  # Query
            body = data[5:]
            hit = self._recall(body, None, None, False)
            if hit is None:
                hit = self._derive_query(body)
                if hit is None:
                    return self._read(data, protocol)
                self._missed = None
            elif hit.unchecked is not None and not self._vouch(hit, body):
                return self._read(data, protocol)
            form = QUERY_FORM
        replied, cache = hit.replied, self._cache
        if replied is not None and replied[1] == form and cache.store.serves(replied[0]):
            entry, reply = replied[0], replied[2]
        else:
            entry = self._entry(hit.key, protocol)
            if entry is None:
                return self._read(data, protocol)
            reply = self._reply(hit, entry, form)
            if reply is None:
                return self._read(data, protocol)
        if form == QUERY_FORM:
            protocol.statements.pop("", None)  # as a simple Query does
        entry.hits += 1  # as _count does
        cache.stats.hits += 1
        if hooks.answered is not None:
            self._answered(hit, entry, start)
        if self._reads is not None:
            self._reads.unnamed.parsed = None  # answered: no Parse there waits (forget)
        return reply

    @property
    def deliver(self) -> Callable[[bytes | None], None] | None:
        """The connection's writer of a reply answered later (wire_reads_async.AsyncReads,
        the reads of a backend whose driver is asyncio's): theirs."""
        return getattr(self._reads, "deliver", None)

    @deliver.setter
    def deliver(self, deliver: Callable[[bytes | None], None] | None) -> None:
        if hasattr(self._reads, "deliver"):
            self._reads.deliver = deliver

    def _read(self, data: bytes, protocol: ServerProtocol) -> bytes | None:
        """A request at_wire found no entry for: the reads at the wire's to answer, if any."""
        reads = self._reads
        if reads is None:
            return None
        reply = reads.at_wire(data, protocol, self._keyed)
        self._keyed = None
        if reply:  # answered (or to be: PENDING, a read under way)
            if reply is not repeats.PENDING:  # nothing of it for the full path to learn
                self._missed = None
                self._unnamed.forget()
            if self._missed_plan is not None:  # its key was made for that answer
                self._missed_plan.score += 1
        return reply

    def _reply(self, hit: Learned, entry: Entry, form: int) -> bytes | None:
        """The whole reply at_wire writes from `entry` for a request of `form` (QUERY_FORM,
        or a Bind's: 1 with a Describe, 2 after a Parse), kept with the request's memo
        entry when small (None: a format count that matches no column count)."""
        head = [m.PARSE_COMPLETE] if form & 2 else []
        if form == QUERY_FORM:
            head.append(self._description(hit, entry, []))  # type: ignore[arg-type]  # never None
        else:
            description = self._description(hit, entry, hit.formats) if form & 1 else b""
            if description is None:
                return None
            head += [m.BIND_COMPLETE, description]
        head += [data for data, _ in entry.batches]
        head += [m.command_complete(entry.tag), m.READY_IDLE]
        reply = b"".join(head)
        if len(reply) <= KEPT_REPLY:
            hit.replied = (entry, form, reply)
        return reply

    def answer(
        self, mtype: bytes, body: bytes, protocol: ServerProtocol, reader: FrameReader
    ) -> bool:
        """Write the whole reply to this Bind (with the Describe, Execute and Sync after
        it) or Query when the cache has it; False: nothing was written or consumed."""
        if self._reads is not None:
            self._reads.answer(mtype, body, protocol, reader)  # what it learns, never answers
        self._unnamed.made(mtype, protocol, self._cache.store.clock)
        missed = self._pending = self._missed
        if missed is not None:
            self._missed = None  # at_wire's request, not in the memo: the full path's
            self._cache.learner = self
            return False
        hooks = self._hooks
        if hooks.full_path:
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

    def _answered(self, hit: Learned, entry: Entry, start: float) -> None:
        """Tell the observers of a hit answered here (see Hook.answered)."""
        report = self._hooks.answered
        if report is not None:
            report(self._session, hit.stmt, start, entry.tag, entry.rows)

    def _description(self, hit: Learned, entry: Entry, formats: list[int]) -> bytes | None:
        """The entry's RowDescription for the request's result formats (None: a count
        that matches no column count, which the full path's Describe reports)."""
        done = hit.described
        if done is not None and done[0] is entry:
            return done[1]
        columns = len(entry.columns)
        if len(formats) > 1 and len(formats) != columns:
            return None
        description = described(entry, m.formats_for(formats, columns))
        hit.described = (entry, description)
        return description

    def _bind(self, body: bytes, protocol: ServerProtocol, reader: FrameReader) -> bool:
        if body[:1] != b"\0" or len(body) > repeats.MAX_REQUEST or body.__class__ is not bytes:
            return False  # a named portal; a large or assembled body
        end = body.find(b"\0", 1)
        known = self._statements.named(body[1:end], protocol)
        if known is None:
            return False
        _, prepared, number = known
        start = time.perf_counter()
        tail = body[end + 1 :]
        hit = self._recall(number, tail, prepared, True)
        if hit is None:
            hit = self._derive(number, prepared, body, tail)
            if hit is None:
                return False
            self._pending = None  # known now: nothing to learn
        elif hit.unchecked is not None and not self._vouch(hit, body):
            return False
        if reader.unread_starts(repeats.DESCRIBE_EXECUTE_SYNC):
            rest = repeats.DESCRIBE_EXECUTE_SYNC
        elif reader.unread_starts(repeats.EXECUTE_SYNC):
            rest = repeats.EXECUTE_SYNC
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
        if rest is repeats.DESCRIBE_EXECUTE_SYNC:
            description = self._description(hit, entry, formats)
            if description is None:
                return False
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
        self._answered(hit, entry, start)
        session.end_of_sync()
        return True

    def _query(self, body: bytes, protocol: ServerProtocol) -> bool:
        if len(body) > repeats.MAX_REQUEST or body.__class__ is not bytes:
            return False
        start = time.perf_counter()
        hit = self._recall(body, None, None, True)
        if hit is None:
            hit = self._derive_query(body)
            if hit is None:
                return False
            self._pending = None
        elif hit.unchecked is not None and not self._vouch(hit, body):
            return False
        entry = self._entry(hit.key, protocol)
        if entry is None:
            return False
        description = self._description(hit, entry, [])
        self._count(entry)
        protocol.simple_query()  # drops the unnamed statement and portal (see _entry)
        write = protocol.write
        write(description)  # type: ignore[arg-type]  # no formats: never None
        for data, _ in entry.batches:
            write(data)
        write(m.command_complete(entry.tag))
        self._answered(hit, entry, start)
        return True

    def _recall(self, what: Any, tail: bytes | None, prepared: Any, learn: bool) -> Learned | None:
        """The memo's key for a request in the session's state: a statement's number and
        its Bind's bytes after the statement name, or a Query's text (and None). None:
        not known (and with `learn`, the full path is asked for it). The state is looked
        at only when the memo has the request (learn numbers it anew if it changed): a
        memo miss costs one lookup. What it returns may still need _check."""
        if self._st.number < 0 and (self._st.same() or self._st.renumber() < 0):
            return None  # a client_encoding the wire converts: the full path answers
        memo = self._memo.learned
        hit: Learned | None = memo.get((self._st.number, what, tail))
        if hit is not None and not self._st.same():
            if self._st.renumber() < 0:
                return None
            hit = memo.get((self._st.number, what, tail))
        if hit is None:
            if learn:
                self._pending = ((self._st.number, what, tail), prepared)
                self._cache.learner = self
            else:
                self._missed = ((self._st.number, what, tail), prepared)
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

    def _plan(self, token: Any) -> Plan | None:
        """The Plan of a statement (a Bind's statement number, ("Q", id) of a Query's
        statement) in the session's state, when it is to be tried now. Looked up under the
        state last numbered (a memo hit or learn numbers a changed one): a miss costs one
        lookup; then under the state as it is now, which the key is made under."""
        plans = self._memo.plans
        plan: Plan | None = plans.get((self._st.number, token))
        if plan is None:
            return None
        if plan.score <= 0:
            plan.skipped += 1
            if plan.skipped % PLAN_PROBE:
                return None
        if not self._st.same():
            if self._st.renumber() < 0:
                return None
            plan = plans.get((self._st.number, token))
        return plan

    def _derive(self, number: int, prepared: Any, body: bytes, tail: bytes) -> Learned | None:
        """A Bind the memo has not seen, of a statement it has a Plan for: keyed as the
        full path keys it (its decoding, pipeline._bind, QueryCache.key_of), and kept in
        the memo when the cache has that key. None: the full path answers."""
        plan = self._plan(number)
        if plan is None:
            return None
        translated = prepared.translated
        session = self._session
        if translated is None or translated[0] is not session.target() \
                or translated[1] is not prepared.statement \
                or (prepared.statement.literal_columns and timelike(prepared.literals)):
            return None  # translated for another target; literals read as their columns
        generated = translated[2]
        try:
            msg = m.parse_bind(body)
            codes = m.formats_for(msg.param_formats, len(msg.params))
            params = decoded = session.decode_params(prepared, msg.params, codes)
            if prepared.literals:
                params = [*params, *prepared.literals]
            ctx = StatementContext(session, prepared, params, msg.result_formats)
            values = self._bind_values(ctx, generated, params, prepared.param_types)
            key = self._cache.key_of(
                ctx, prepared.statement, generated.sql, values, msg.result_formats)
        except errors.PgError:
            return None  # the full path reports it
        except Exception:  # a bug here must not end the connection: the full path answers
            log.exception("keying a cache hit's request failed")
            return None
        hit = self._keep(plan, key, prepared.statement, msg.result_formats, number, tail)
        if hit is None and key is not None:  # a miss: the reads may run it with these
            self._keyed = Keyed(prepared, decoded, msg.result_formats, generated, values, key)
        return hit

    def _derive_query(self, body: bytes) -> Learned | None:
        """A Query the memo has not seen, of a shape whose statement has a Plan: keyed from
        its literals as the full path keys it (the text's parse is the full path's, kept
        for it), and kept in the memo when the cache has that key."""
        if not self._memo.queries:
            return None  # no Query's statement has a plan: its text is not parsed here
        session = self._session
        try:
            statements, literals = self._parse(m.parse_query(body), session.target(), 0, True)
            if len(statements) != 1:
                return None
            stmt = statements[0]
            plan = self._plan(("Q", id(stmt)))
            if plan is None or plan.stmt is not stmt or \
                    (stmt.literal_columns and timelike(literals)):
                return None
            generated = self._generate(stmt, session.target())
            # The statement as the full path prepares it (Session._prepared, its memos and
            # all): a derived value (a literal typed by its column) is bound as there.
            prepared = session._prepared(stmt, ())
            prepared.literals = literals
            params = list(literals)
            ctx = StatementContext(session, prepared, params, ())
            values = self._bind_values(ctx, generated, params, prepared.param_types)
            key = self._cache.key_of(ctx, stmt, generated.sql, values, ())
        except errors.PgError:
            return None  # the full path reports it
        except Exception:  # a bug here must not end the connection: the full path answers
            log.exception("keying a cache hit's request failed")
            return None
        hit = self._keep(plan, key, stmt, [], body, None)
        if hit is None and key is not None:  # a miss: the reads may run it with these
            self._keyed = Keyed(prepared, [], [], generated, values, key)
        return hit

    def _keep(
        self, plan: Plan, key: Any, stmt: Any, formats: list[int], what: Any, tail: Any
    ) -> Learned | None:
        """A key a plan made: in the memo if the cache has it (the plan scores either way:
        at_wire gives back what a miss cost it when the reads run inline answer it)."""
        entry = None if key is None else self._cache.store.kept(key)
        if entry is None:
            plan.score -= 1
            self._missed_plan = plan
            return None
        plan.score = min(plan.score + 2, PLAN_MAX)
        # The entry's own key (an equal one made here would be compared part by part,
        # in Python, on each lookup of every hit of this request).
        hit = Learned(entry.key, stmt, None)
        hit.formats = formats
        self._memo.learned[self._st.number, what, tail] = hit
        return hit

    def learn(self, ctx: StatementContext, key: Hashable) -> None:
        """The full path served a statement from the cache under `key` (QueryCache.read):
        kept for the pending request if the statement is this session's and the
        request's. That it binds nothing of the session's own and that its values are
        what the request's bytes decode to is checked when the request comes again
        (_check)."""
        pending, self._pending = self._pending, None
        if pending is None or ctx.session_id != id(self._session):
            return
        where, prepared = pending
        if prepared is not None and ctx.prepared is not prepared:
            return
        if not self._st.same() and self._st.renumber() < 0:
            return  # the wire converts this client's bytes: the full path answers them
        if where[0] != self._st.number:
            return  # looked up under the state before a change: learned next time
        self._memo.learned[where] = Learned(
            key, ctx.stmt, (ctx.stmt, ctx.params, ctx.formats, prepared, where)
        )

    def _vouch(self, hit: Learned, body: bytes) -> bool:
        """_check on a learned request's first repeat; one that fails leaves the memo."""
        assert hit.unchecked is not None
        stmt, _, _, prepared, where = hit.unchecked
        if self._check(hit, body):
            memo = self._memo
            token = where[1] if prepared is not None else ("Q", id(stmt))
            if (where[0], token) not in memo.plans:
                memo.plans[where[0], token] = Plan(None if prepared is not None else stmt)
                memo.queries = memo.queries or prepared is None
            return True
        self._memo.learned.pop(where, None)
        return False

    def _check(self, hit: Learned, body: bytes) -> bool:
        """Whether the statement the full path keyed binds only the client's values (no
        value of the session's own: current_user, a setting's) and was bound to what the
        request's bytes decode to (a Bind's values, a Query's one statement and its
        literals)."""
        assert hit.unchecked is not None
        stmt, params, formats, prepared, _ = hit.unchecked
        session = self._session
        try:
            generated = self._generate(stmt, session.target())  # the full path's, cached
            if not all(isinstance(p, int) or is_derived(p) for p in generated.params):
                return False  # a session value (current_user, a setting) is in the key
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
