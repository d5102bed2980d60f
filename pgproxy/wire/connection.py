"""One client connection: the asyncio glue that drives the protocol's state machine.

The state, the statements and portals and the frames to send live in a
sans-I/O `protocol.ServerProtocol`; this half moves bytes and awaits the core.
`data_received` feeds a FrameReader and wakes the connection's task, frames are
buffered until a Sync, a Flush or a full batch, and `drain` waits while the
transport's buffer is over its high mark. The connection runs its own login
(TLS, the auth policy's exchange, a cancel key from the registry) and one
handler per message type, in the manner of asyncpg's coreproto.

A statement run again costs the least the protocol allows: messages already
received are handled without a wait, handlers that need not wait make no
coroutine, and a statement keeps the RowDescription and row encoder of its
last result (wire/described.py), reused while its columns, formats and Style hold.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pgproxy import errors
from pgproxy.wire import batches, copyio, encoding
from pgproxy.wire import messages as m
from pgproxy.wire.described import result_description, row_description, shape
from pgproxy.wire.policy import Peer
from pgproxy.wire.protocol import Portal, ServerProtocol, State
from pgproxy.wire.repeats import PENDING

if TYPE_CHECKING:
    from pgproxy.wire.interface import Core, CoreSession, Result
    from pgproxy.wire.keys import CancelKeys
    from pgproxy.wire.policy import AuthPolicy

log = logging.getLogger("pgproxy.wire")

# Rows per fetch when the client set no row limit: large enough that the
# per-batch costs (a thread hop, a write) vanish, small enough that memory
# stays flat whatever the result size.
BATCH_ROWS = 2000
# Stop reading from a client whose unprocessed input exceeds this (a message
# being assembled does not count: its bytes are needed to make progress).
READ_HIGH_WATER = 8 << 20


class ConnectionLost(Exception):
    """The client went away."""


@dataclass(frozen=True, slots=True)
class Limits:
    """The listener's settings a connection needs before it has a session."""

    ssl_context: ssl.SSLContext | None = None
    # PostgreSQL's authentication_timeout: a client that stalls before it has
    # authenticated holds nothing for longer than this.
    authentication_timeout: float = 60.0


class WireConnection(asyncio.Protocol):
    """A client's connection, from the first byte to disconnect."""

    def __init__(
        self,
        core: Core,
        policy: AuthPolicy,
        keys: CancelKeys,
        limits: Limits,
        *,
        admitted: bool = True,
        on_close: Callable[[WireConnection], None] | None = None,
    ) -> None:
        self.core = core
        self.policy = policy
        self.keys = keys
        self.limits = limits
        self._over_limit = not admitted  # past max_client_conn: 53300 after the startup packet
        self._forget = on_close
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.reader = m.FrameReader()
        self.protocol = ServerProtocol()
        self.write = self.protocol.write  # type: ignore[method-assign]  # the hot path's
        self.pid = 0
        self.secret = 0
        self.peer = "?"
        self.session: CoreSession | None = None
        self._hits: Any = None  # the core's answers at the wire (Core.hit_path)
        self._at_ready = False  # ReadyForQuery sent, no message since
        # Waiting for a command with nothing unread, no idle timeout and hits to answer:
        # data_received may answer a request that arrives whole (Hits.at_wire, a cache
        # hit; wire_reads.Reads.at_wire, a repeated SQLite read run inline).
        self._parked = False
        self._later: bytes | None = None  # a request at_wire put off to the loop's next turn
        # A request at_wire answers later (wire_reads_async.PENDING) until _deliver: it, and
        # the bytes received since, held in order; whether an EOF came meanwhile.
        self._asked: bytes | None = None
        self._held: list[bytes] | None = None
        self._held_size = 0
        self._eof_held = False
        self._waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._paused_writing = False
        self._paused_reading = False
        self._lost = False
        self._task: asyncio.Task[None] | None = None
        # client_encoding: None while the client speaks UTF-8 (no conversion at all).
        self._enc: encoding.ClientEncoding | None = None
        self._enc_name = "UTF8"
        # The session's settings, whose `version` changes with any value (None: it has none):
        # client_encoding is looked up again only after a change.
        self._settings: Any = None
        self._enc_seen = -1
        self._inbox: Any = None  # the session's LISTEN / NOTIFY inbox, if it has one
        # A handler returns what is left to await, if anything: Bind, portal Describe and
        # Sync mostly finish at once, with no coroutine made for them.
        self._handlers: dict[bytes, Callable[[bytes], Awaitable[None] | None]] = {
            b"Q": self._on_query,
            b"P": self._on_parse,
            b"B": self._on_bind,
            b"D": self._on_describe,
            b"E": self._on_execute,
            b"C": self._on_close,
            b"S": self._on_sync,
            b"H": self._on_flush,
            # What a client sends of a COPY FROM after its error: dropped, as PostgreSQL does.
            b"d": _ignore,
            b"c": _ignore,
            b"f": _ignore,
        }

    # ------------------------------------------------------------ asyncio glue

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer or "local")
        self._task = self.loop.create_task(self._run())

    def data_received(self, data: bytes) -> None:
        held = self._held
        if held is not None:  # behind a request being answered at the wire: in order
            held.append(data)
            self._held_size += len(data)
            if self._held_size > READ_HIGH_WATER and not self._paused_reading:
                self._paused_reading = True
                self.transport.pause_reading()  # type: ignore[union-attr]  # connected
            return
        if self._later is not None:  # more bytes behind a request offered again: in order
            data, self._later = self._later + data, None
            self._parked = False
        if self._parked:
            reply = None if self._paused_writing else self._hits.at_wire(data, self.protocol)
            if reply is not None:
                if reply is PENDING:  # answered when its read returns: see _deliver
                    self._asked, self._held, self._held_size = data, [], 0
                    self._at_ready = False
                elif reply:
                    self.transport.write(reply)  # type: ignore[union-attr]  # connected
                else:  # b"": to be offered again once the loop has turned (wire_reads.LATER)
                    self._later = data
                    self.loop.call_soon(self._offer_again)
                return
            self._parked = False
        self._take(data)

    def _deliver(self, reply: bytes | None) -> None:
        """The reply to the request at_wire answered PENDING (None: the full path answers
        it); then what arrived meanwhile, as it would have been taken after the reply."""
        request, held = self._asked, self._held
        self._asked = self._held = None
        self._at_ready = True
        if self._paused_reading:
            self._resume_reading()
        if reply is None:
            self._parked = False
            held.insert(0, request)  # type: ignore[union-attr, arg-type]  # set with it
            self._take(b"".join(held))  # type: ignore[arg-type]
        else:
            transport = self.transport
            if not self._lost and transport is not None and not transport.is_closing():
                transport.write(reply)
            if held and not self._lost:
                self.data_received(b"".join(held))
            if self._inbox is not None and self._inbox.received:
                self._on_notification()  # held back while the read ran
        if self._held is not None:
            return  # another request answered later: the EOF, a loss wait for it too
        if self._eof_held:
            self._eof_held = False
            self.eof_received()
        elif self._lost:
            self._wake()

    def _offer_again(self) -> None:
        """A request at_wire put off until the loop turned (see data_received)."""
        data, self._later = self._later, None
        if data is not None and not self._lost:
            self.data_received(data)

    def _take(self, data: bytes) -> None:
        """Received bytes for the connection's task to handle."""
        self.reader.feed(data)
        if self.reader.pending() > READ_HIGH_WATER and self.transport and not self._paused_reading:
            self._paused_reading = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool | None:
        if self._held is not None:  # after the reply to a request being answered (_deliver)
            self._eof_held = True
            # Kept open to send it: a TLS transport cannot be, and closes (the reply is lost
            # with it, as the full path's would be).
            return self.transport is None or self.transport.get_extra_info("ssl_object") is None
        if self._later is not None:  # a request put off: the task answers it before the EOF
            data, self._later = self._later, None
            self._parked = False
            self._take(data)
        self._lost = True
        self._wake()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._wake()
        if self._drain_waiter and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    def pause_writing(self) -> None:
        self._paused_writing = True

    def resume_writing(self) -> None:
        self._paused_writing = False
        if self._drain_waiter and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    def _wake(self) -> None:
        w = self._waiter
        # (Not while a request is answered at the wire: _deliver wakes it after the reply.)
        if w is not None and not w.done() and self._held is None:
            w.set_result(None)

    async def _next(self, empty: bool = False) -> tuple[bytes, bytes]:
        """The next whole message, waited for (`empty`: the reader has none yet)."""
        while True:
            msg = None if empty else self.reader.next()
            empty = False
            if msg is not None:
                if self._paused_reading and self.reader.pending() < READ_HIGH_WATER // 2:
                    self._resume_reading()
                return msg
            if self._lost:
                raise ConnectionLost
            if self._paused_reading:
                self._resume_reading()  # no whole message yet: only more input helps
            self._waiter = self.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def _resume_reading(self) -> None:
        self._paused_reading = False
        if self.transport is not None and not self._lost:
            self.transport.resume_reading()

    @property
    def state(self) -> State:
        return self.protocol.state

    def write(self, data: bytes) -> None:
        """Buffer a frame to send (bound to the protocol's own in __init__: no extra call)."""
        self.protocol.write(data)

    def flush(self) -> None:
        protocol = self.protocol
        out, size = protocol.out, protocol.out_size
        protocol.out, protocol.out_size = [], 0  # take() inline: once per message or batch
        if out and self.transport is not None and not self._lost:
            if len(out) == 1:
                self.transport.write(out[0])
            elif size > 1 << 20:
                self.transport.writelines(out)  # a large row: no joined copy of it
            else:
                self.transport.write(b"".join(out))

    async def drain(self) -> None:
        """Send what is buffered and wait while the client is slower than we are."""
        self.flush()
        if self._lost:
            raise ConnectionLost
        if self._paused_writing:
            self._drain_waiter = self.loop.create_future()
            await self._drain_waiter
            if self._lost:
                raise ConnectionLost

    # ------------------------------------------------------------ lifecycle

    async def _run(self) -> None:
        reason = "client closed the connection"
        try:
            if await self._startup():
                await self._serve()
                reason = "client sent Terminate"
        except ConnectionLost:
            reason = "client connection lost"
        except errors.PgError as exc:
            reason = f"{exc.sqlstate}: {exc.message}"
            self._send_error(exc, fatal=True)
            self.flush()
        except (ConnectionError, ssl.SSLError) as exc:
            reason = f"transport error: {exc}"
        except Exception as exc:  # the connection boundary: log, report XX000, close
            log.exception("internal error on connection %s", self.peer)
            reason = f"internal error: {exc!r}"
            self._send_error(errors.InternalError(f"internal error: {exc}"), fatal=True)
            self.flush()
        finally:
            await self._disconnect(reason)

    async def _disconnect(self, reason: str) -> None:
        """Every disconnect goes through here, with a short reason."""
        protocol = self.protocol
        if protocol.state is State.CLOSED:
            return
        protocol.state = State.CLOSED
        self.keys.forget(self.pid, self)
        if self._forget is not None:
            self._forget(self)
        for portal in protocol.portals.values():
            if portal.result is not None:
                await _quietly(portal.result.close())
        protocol.portals.clear()
        if self.session is not None:
            await _quietly(self.session.close(reason))
        if self.transport is not None:
            self.transport.close()
        log.debug("client %s disconnected: %s", self.peer, reason)

    # ------------------------------------------------------------ startup

    async def _startup(self) -> bool:
        """Negotiate TLS, authenticate, open the session. False: not a session (cancel)."""
        try:
            async with asyncio.timeout(self.limits.authentication_timeout):
                params = await self._handshake()
        except TimeoutError:
            raise errors.QueryCanceled("canceling authentication due to timeout") from None
        if params is None:
            return False
        self.pid, self.secret = self.keys.register(self)
        self.session = await self.core.open_session(params, self.pid, self.peer)
        # Parse statements are the wire's; the session shows them (pg_prepared_statements).
        self.session.protocol_statements = self.protocol.statements
        self._settings = getattr(self.session, "settings", None)
        hit_path = getattr(self.core, "hit_path", None)
        self._hits = hit_path(self.session) if hit_path is not None else None
        if hasattr(self._hits, "deliver"):  # it answers some requests later (PENDING)
            self._hits.deliver = self._deliver
        self._sync_encoding()
        inbox = self._inbox = getattr(self.session, "inbox", None)  # the admin has none
        if inbox is not None:  # LISTEN / NOTIFY
            inbox.wake = self._on_notification
        if hasattr(self.session, "on_terminate"):
            self.session.on_terminate = self.terminate
        for name, value in self.session.parameter_status().items():
            self.write(self._text_out(m.parameter_status(name, value)))
        self.protocol.authenticated(self.pid, self.secret, self.session.transaction_status)
        self.flush()
        self._at_ready = True  # waiting for a command: the idle timeouts run
        log.debug(
            "client %s connected: user=%s database=%s", self.peer, params["user"],
            params["database"],
        )
        return True

    async def _handshake(self) -> dict[str, str] | None:
        """TLS, the startup packet and authentication: the session's parameters, or
        None for a cancel request."""
        while True:
            _, body = await self._next()
            startup = m.parse_startup(body)
            if startup.code == m.SSL_REQUEST:
                await self._on_ssl_request()
                continue
            if startup.code == m.GSSENC_REQUEST:
                self.transport.write(b"N")  # type: ignore[union-attr]
                continue
            if startup.code == m.CANCEL_REQUEST:
                self.keys.cancel(startup.cancel_pid, startup.cancel_secret)
                return None
            break
        if self._over_limit:
            raise errors.TooManyConnections("sorry, too many clients already")
        params = self.protocol.startup(startup)
        self.reader.startup = False
        await self._authenticate(params["user"])
        self.write(m.AUTH_OK)
        return params

    async def _authenticate(self, user: str) -> None:
        """The auth policy's exchange for `user`, run to its end: 28P01 if it fails."""
        assert self.transport is not None
        exchange = self.policy.start(user, Peer.of(self.transport, self.peer))
        request = exchange.first()
        while request is not None:
            reply = await self.password(request)
            request, final = exchange.step(reply)
            if final is not None:  # SASLFinal: no reply expected
                self.write(m.authentication(final))
                break
        if not exchange.succeeded:
            raise errors.InvalidPassword(f'password authentication failed for user "{user}"')

    async def _on_ssl_request(self) -> None:
        context = self.limits.ssl_context
        assert self.transport is not None
        if context is None or self.reader.pending():
            self.transport.write(b"N")
            return
        self.transport.write(b"S")
        tls = await self.loop.start_tls(self.transport, self, context, server_side=True)
        if tls is None:
            raise ConnectionLost
        self.transport = tls  # type: ignore[assignment]

    async def password(self, request: bytes) -> bytes:
        """Send an AuthenticationRequest and return the body of the client's reply."""
        self.write(m.authentication(request))
        self.flush()
        mtype, body = await self._next()
        if mtype != b"p":
            raise errors.ProtocolViolation(
                f"expected password response, got message type {mtype!r}"
            )
        return body

    # ------------------------------------------------------------ ready

    async def _serve(self) -> None:
        handlers = self._handlers
        protocol = self.protocol
        reader = self.reader
        extended = State.EXTENDED  # (an enum member: a class lookup each time it is named)
        while True:
            # A message already received is taken at once (a pipelined Bind/Execute/Sync:
            # no wait, no timeout); else the client is waited for.
            msg = reader.next()
            if msg is not None:
                mtype, body = msg
                if self._paused_reading and reader.pending() < READ_HIGH_WATER // 2:
                    self._resume_reading()
            else:
                idle = self.session.idle_timeout() if self._at_ready and self.session else None
                if idle is None:
                    self._parked = self._hits is not None and reader.between()
                    mtype, body = await self._next(empty=True)
                    self._parked = False
                else:  # idle_session_timeout / idle_in_transaction_session_timeout
                    try:
                        async with asyncio.timeout(idle[0]):
                            mtype, body = await self._next(empty=True)
                    except TimeoutError:
                        raise idle[1] from None
            self._at_ready = False
            if mtype == b"X":
                return
            if (mtype == b"B" or mtype == b"Q") and self._hits is not None and \
                    self._hits.answer(mtype, body, protocol, self.reader):
                self._ready()  # a cache hit's reply is written: one write with ReadyForQuery
                continue
            if protocol.describe_pending is not None and mtype != b"E":
                # Not the portal's Execute (that one answers the Describe itself).
                try:
                    await self._settle_describe(mtype, None)
                except Exception as exc:
                    self._failed(b"D", exc)
            # Within an extended query every message is taken (and the state stays).
            if protocol.state is not extended and not protocol.receive(mtype):
                continue  # discarding until Sync
            handler = handlers.get(mtype) or _invalid(mtype)
            try:
                if self._enc is not None and mtype in (b"Q", b"P"):
                    body = encoding.query_in(self._enc, mtype, body)
                pending = handler(body)
                if pending is not None:
                    await pending
            except Exception as exc:
                self._failed(mtype, exc)
            if protocol.out_size > 65536:
                await self.drain()

    def _failed(self, mtype: bytes, exc: Exception) -> None:
        """A message's handler failed (called in its `except`): that message's
        ErrorResponse, unless the error ends the connection."""
        if isinstance(exc, errors.PgError):
            if isinstance(exc, errors.Fatal):
                raise exc
            self._statement_failed(mtype, exc)
        elif isinstance(exc, ConnectionLost):
            raise exc
        elif isinstance(exc, RecursionError):
            self._statement_failed(mtype, _statement_error(exc))
        else:
            # A bug in one statement is that statement's XX000, not the session's end.
            log.exception("internal error handling %r from %s", mtype, self.peer)
            self._statement_failed(mtype, errors.InternalError(f"internal error: {exc}"))

    def _statement_failed(self, mtype: bytes, exc: errors.PgError) -> None:
        self.protocol.failed(mtype, self._error(exc))
        if mtype == b"Q":
            self._ready()
        else:
            # The client may be waiting on a Flush rather than a Sync (asyncpg
            # prepares that way): the error must reach it now.
            self.flush()

    def _error(self, exc: errors.PgError, fatal: bool = False) -> bytes:
        fields = exc.fields()
        if fatal and fields["S"] == "ERROR":
            fields["S"] = fields["V"] = "FATAL"
        return self._text_out(m.error_response(fields))

    def _send_error(self, exc: errors.PgError, fatal: bool = False) -> None:
        self.write(self._error(exc, fatal))

    def _sync_encoding(self) -> None:
        """Follow the session's client_encoding (a SET takes effect at once, as in PostgreSQL)."""
        if self._settings is not None:
            self._enc_seen = self._settings.version
        name = getattr(self.session, "client_encoding", "UTF8")
        if name != self._enc_name:
            self._enc_name = name
            self._enc = encoding.lookup(name)

    def _text_out(self, msg: bytes) -> bytes:
        return msg if self._enc is None else encoding.message_out(self._enc, msg)

    def _desc_out(self, msg: bytes) -> bytes:
        return msg if self._enc is None else encoding.row_description_out(self._enc, msg)

    def _ready(self, status: bytes | None = None) -> None:
        """ReadyForQuery (`status`: the session's transaction status, if just read)."""
        session = self.session
        assert session is not None
        for name, value in session.changed_parameters():
            self.write(self._text_out(m.parameter_status(name, value)))
        if status is None:
            status = session.transaction_status
        if status == b"I" and self._inbox is not None and self._inbox.received:
            self._write_notifications()
        self.protocol.ready(status)
        self.flush()
        self._at_ready = True  # waiting for a command: the idle timeouts run

    def _on_notification(self) -> None:
        """Another session's NOTIFY reached us: an idle client gets it at once, as from
        PostgreSQL; a busy one before its next ReadyForQuery outside a transaction block."""
        if self._at_ready and self.session is not None and self.session.transaction_status == b"I":
            self._write_notifications()
            self.flush()

    def _write_notifications(self) -> None:
        inbox = self._inbox
        while inbox is not None and inbox.received:
            pid, channel, payload = inbox.received.popleft()
            self.write(self._text_out(m.notification_response(pid, channel, payload)))

    async def _on_query(self, body: bytes) -> None:
        assert self.session is not None
        sql = m.parse_query(body)
        dropped = self.protocol.simple_query()
        if dropped is not None and dropped.result is not None:
            await dropped.result.close()
        implicit = False
        try:
            statements = await self.session.split(sql)
            if not statements:
                self.write(m.EMPTY_QUERY)
            # Several statements in one Query run as one implicit transaction, as in
            # PostgreSQL: an error in the third undoes the first two.
            if len(statements) > 1:
                implicit = await self.session.begin_implicit(statements)
            for prepared in statements:
                if prepared.empty:
                    self.write(m.EMPTY_QUERY)
                    continue
                result = await self.session.execute(prepared, (), ())
                if self._settings is not None and self._settings.version != self._enc_seen:
                    self._sync_encoding()
                try:
                    if getattr(result, "copy", None) is not None:
                        await copyio.transfer(self, result)
                        continue
                    columns = result.columns
                    formats = [0] * len(columns) if columns is not None else []
                    encode = None
                    if columns is not None:  # else no RowDescription, nor NoData
                        encode = self._write_description(prepared, result, formats)
                    await self._stream(result, 0, formats, prepared, encode)
                finally:
                    await result.close()
            if implicit:
                implicit = False
                await self.session.end_implicit(commit=True)
        except (errors.PgError, RecursionError) as caught:
            exc = _statement_error(caught)
            if isinstance(exc, errors.Fatal):
                raise exc from None
            self._send_error(exc)
            if implicit:
                await self.session.end_implicit(commit=False)
        self._ready()

    async def _stream(
        self, result: Result, max_rows: int, formats: Sequence[int], prepared: Any = None,
        encode: Any = None,
    ) -> bool:
        """Send rows until done (CommandComplete) or `max_rows` (PortalSuspended).
        `prepared`: the statement whose memo (wire/described.shape) has the result's encoder;
        `encode`: that encoder, when the RowDescription just sent came with it."""
        sent = 0
        enc = self._enc
        convert: list[bool] = []
        columns = result.columns
        # One encoder per result, its per-column encoders bound once; a hit needs none.
        if enc is not None and columns is not None:
            oids = [c.type_oid for c in columns]
            convert = encoding.converted(m.formats_for(formats, len(oids)), oids)
        while True:
            want = BATCH_ROWS if max_rows <= 0 else min(BATCH_ROWS, max_rows - sent)
            batch = await result.fetch(want)
            data = batch.frames
            if data is None:  # rows: encoded here, and kept on the batch (a cache fill's)
                rows = batch.rows
                if rows:
                    if encode is None:
                        encode = (batches.encoder_for(columns, formats, result.style)
                                  if prepared is None else shape(prepared, result, formats)[1])
                    data = batch.frames = encode(rows) if encode is not None else b""
            if data:
                if enc is not None:
                    data = encoding.rows_out(enc, data, convert)
                self.write(data)
            sent += batch.count
            if result.done:
                for text in getattr(result, "notices", ()):
                    self.write(m.notice_response(text))
                self.write(m.command_complete(result.tag))
                return True
            if max_rows > 0 and sent >= max_rows:
                self.write(m.PORTAL_SUSPENDED)
                suspended = getattr(result, "suspended", None)  # the client will likely ask again
                if suspended is not None:
                    suspended(max_rows)
                return False
            if self.protocol.out_size >= 65536:
                await self.drain()

    # ------------------------------------------------------------ extended query

    async def _on_parse(self, body: bytes) -> None:
        assert self.session is not None
        msg = m.parse_parse(body)
        self.protocol.check_parse(msg.name)
        self.protocol.parsed(msg.name, await self.session.prepare(msg.query, msg.param_types))

    def _on_bind(self, body: bytes) -> Awaitable[None] | None:
        assert self.session is not None
        msg = m.parse_bind(body)
        prepared = self.protocol.check_bind(msg)
        formats = msg.param_formats  # one code per value already: most Binds
        if len(formats) != len(msg.params):
            formats = m.formats_for(formats, len(msg.params))
        if self._enc is not None:
            convert = encoding.converted(formats, prepared.param_types)
            msg.params = encoding.params_in(self._enc, msg.params, convert)
        params = self.session.decode_params(prepared, msg.params, formats)
        old = self.protocol.bound(msg.portal, Portal(prepared, params, msg.result_formats))
        if old is not None and old.result is not None:  # the unnamed portal it replaces
            return old.result.close()
        return None

    def _on_describe(self, body: bytes) -> Awaitable[None] | None:
        assert self.session is not None
        kind, name = m.parse_describe_or_close(body)
        protocol = self.protocol
        if kind == b"S":
            return self._describe_statement(protocol.statement(name))
        if name not in protocol.portals:
            # SQL cursors (DECLARE) share the portal namespace, as in PostgreSQL.
            cursor = self.session.cursor_description(name)
            if cursor is not None:
                columns, formats = cursor
                self.write(self._desc_out(row_description(columns, formats)) if columns
                           else m.NO_DATA)
                return None
        portal = protocol.portals.get(name) or protocol.portal(name)  # the latter raises 34000
        if portal.prepared.empty:
            self.write(m.NO_DATA)
        elif portal.result is not None:  # a suspended portal: its result says
            self._describe_result(portal)
        else:
            # Describe never runs the statement (an INSERT … RETURNING described and closed
            # must write nothing): answered with the next message, see _settle_describe.
            protocol.describe_pending = name
        return None

    async def _describe_statement(self, prepared: Any) -> None:
        assert self.session is not None
        self.write(m.parameter_description(prepared.param_types))
        columns = None if prepared.empty else await self.session.describe(prepared)
        if columns is None:
            self.write(m.NO_DATA)
        else:
            self.write(self._desc_out(row_description(columns, [0] * len(columns))))

    async def _settle_describe(self, mtype: bytes, execute_name: str | None) -> None:
        """Answer a pending portal Describe the next message does not answer (it is not
        that portal's Execute) without running the statement: its columns from the
        prepared statement, bound to the portal's parameters."""
        name = self.protocol.settle(mtype, execute_name)
        if name is None:
            return
        assert self.session is not None
        portal = self.protocol.portal(name)
        columns = await self.session.describe(portal.prepared, portal.params)
        if columns is None:
            self.write(m.NO_DATA)
        else:
            formats = m.formats_for(portal.formats, len(columns))
            self.write(self._desc_out(row_description(columns, formats)))

    def _describe_result(self, portal: Portal) -> Any:
        assert portal.result is not None
        return self._write_description(portal.prepared, portal.result, portal.formats)

    def _write_description(self, prepared: Any, result: Result, formats: Sequence[int]) -> Any:
        """A result's RowDescription, NoData if it has no columns: the result's own when
        it keeps one (a cache hit), else from the statement's memo (wire/described.shape),
        whose row encoder is returned for the rows."""
        columns = result.columns
        if columns is None:
            self.write(m.NO_DATA)
        elif getattr(result, "row_description", None) is None:
            description, encode = shape(prepared, result, formats)
            self.write(description if self._enc is None else self._desc_out(description))
            return encode
        else:
            formats = m.formats_for(formats, len(columns))
            self.write(self._desc_out(result_description(result, formats)))
        return None

    async def _on_execute(self, body: bytes) -> None:
        assert self.session is not None
        name, max_rows = m.parse_execute(body)
        protocol = self.protocol
        described = protocol.describe_pending == name  # the result answers that Describe
        if protocol.describe_pending is not None and not described:
            await self._settle_describe(b"E", name)
        protocol.describe_pending = None
        portal = protocol.portals.get(name) or protocol.portal(name)  # the latter raises 34000
        if portal.prepared.empty:
            self.write(m.EMPTY_QUERY)
            return
        if portal.result is None:
            portal.result = await self.session.execute(
                portal.prepared, portal.params, portal.formats
            )
            if self._settings is not None and self._settings.version != self._enc_seen:
                self._sync_encoding()
        encode = self._write_description(portal.prepared, portal.result, portal.formats) \
            if described else None
        try:
            if getattr(portal.result, "copy", None) is not None:
                finished = await copyio.transfer(self, portal.result)
            else:
                finished = await self._stream(portal.result, max_rows, portal.formats,
                                              portal.prepared, encode)
        except BaseException:
            await _close_result(protocol.drop_portal(name))
            raise
        if finished:
            # A portal run to completion answers later Executes with no rows.
            await portal.result.close()
            portal.closed = True  # Sync need not close it again

    async def _on_close(self, body: bytes) -> None:
        kind, name = m.parse_describe_or_close(body)
        await _close_result(self.protocol.close(kind, name))

    def _on_sync(self, body: bytes) -> Awaitable[None] | None:
        session = self.session
        assert session is not None
        session.end_of_sync()
        status = session.transaction_status
        if self.protocol.portals:  # else ReadyForQuery alone ends the extended query
            # Outside a transaction block, portals do not survive a Sync.
            open_ = [portal.result for portal in self.protocol.sync(status != b"I")
                     if portal.result is not None and not portal.closed]
            if open_:
                return self._ready_after(open_)
        self._ready(status)
        return None

    async def _ready_after(self, results: list[Any]) -> None:
        """Close the results a Sync ended, then ReadyForQuery (the connection they held
        may go back to its pool by then)."""
        for result in results:
            await result.close()
        self._ready()

    async def _on_flush(self, body: bytes) -> None:
        await self.drain()

    # ------------------------------------------------------------ cancel

    def cancel(self) -> None:
        if self.session is not None:
            self.session.cancel()

    def terminate(self) -> None:
        """Another session's pg_terminate_backend(): FATAL 57P01 now, then the connection's
        task ends as for a lost client, as PostgreSQL ends a terminated backend."""
        if self.state is State.CLOSED or self._lost:
            return
        self.protocol.take()  # what was to be sent goes unsent
        exc = errors.AdminShutdown("terminating connection due to administrator command")
        self._send_error(exc, fatal=True)
        self.flush()
        self._lost = True
        if self.transport is not None:
            self.transport.close()
        self._wake()


def _statement_error(exc: Exception) -> errors.PgError:
    """A statement's failure as an ErrorResponse: a statement nested deeper than the
    parser's checks foresaw is PostgreSQL's 54001, not a bug."""
    if isinstance(exc, errors.PgError):
        return exc
    return errors.from_sqlstate("54001", "stack depth limit exceeded")


async def _ignore(body: bytes) -> None:
    pass


def _invalid(mtype: bytes) -> Callable[[bytes], Coroutine[Any, Any, None]]:
    async def handler(body: bytes) -> None:
        raise errors.ProtocolViolation(f"invalid frontend message type {mtype!r}")

    return handler


async def _close_result(portal: Portal | None) -> None:
    if portal is not None and portal.result is not None:
        await portal.result.close()


async def _quietly(aw: Coroutine[Any, Any, Any]) -> None:
    try:
        await aw
    except Exception:  # closing after a failure must not raise a second one
        log.debug("error while closing", exc_info=True)
