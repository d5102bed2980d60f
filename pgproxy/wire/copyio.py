"""The COPY sub-protocol on a client connection: CopyIn/CopyOut responses and CopyData.

A result whose `copy` attribute is set (see `interface.Copy`) is a COPY: for
COPY TO its fetch() yields CopyData messages and finally CopyDone, streamed
like rows; for COPY FROM the client's CopyData is handed to `copy.feed` until
CopyDone (`copy.finish`) or CopyFail (`copy.fail`). Flush and Sync are ignored
while copying in, as PostgreSQL does; any other message ends the COPY with
08P01.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pgproxy import errors
from pgproxy.wire import messages as m

if TYPE_CHECKING:
    from pgproxy.wire.connection import WireConnection


async def transfer(conn: WireConnection, result: Any) -> bool:
    """Run the COPY `result` is; True when it completed (its CommandComplete is written)."""
    copy = result.copy
    conn.protocol.copy(copy.inbound)
    try:
        if not copy.inbound:
            conn.write(m.copy_out_response(copy.binary, copy.ncols))
            return await conn._stream(result, 0, ())
        return await _copy_in(conn, result, copy)
    finally:
        conn.protocol.copy_done()


async def _copy_in(conn: WireConnection, result: Any, copy: Any) -> bool:
    conn.write(m.copy_in_response(copy.binary, copy.ncols))
    conn.flush()
    while True:
        try:
            mtype, body = await conn._next()
        except BaseException:
            await copy.abort("08006")
            raise
        if mtype == b"d":
            await copy.feed(body)
        elif mtype == b"c":
            await copy.finish()
            conn.write(m.command_complete(result.tag))
            return True
        elif mtype == b"f":
            await copy.fail(m.parse_copy_fail(body))
        elif mtype in (b"H", b"S"):
            continue
        else:
            await copy.abort("08P01")
            if mtype == b"X":  # the client is leaving: a fatal error closes the connection
                raise errors.ProtocolViolation("client sent Terminate during COPY from stdin")
            raise errors.ConnectionException(
                f"unexpected message type 0x{mtype[0]:02X} during COPY from stdin",
                sqlstate="08P01",
            )
