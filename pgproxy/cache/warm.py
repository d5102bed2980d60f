"""Cache warming: run a file of statements once at start-up so their results are cached."""

from __future__ import annotations

import logging
from pathlib import Path

from pgproxy import errors
from pgproxy.cache.stage import CacheOptions
from pgproxy.session import Session, SessionServices
from pgproxy.wire.batches import encoder_for, frames_of

log = logging.getLogger("pgproxy.cache")


async def warm(proxy: SessionServices, options: CacheOptions) -> int:
    r"""Run each statement of `options.warm_file`; `\c name` lines pick the database (route).

    Warmed entries match clients' simple-protocol text-format queries: the key
    includes the result formats, as a client would ask for them.
    """
    assert options.warm_file is not None
    database = options.warm_database
    done = 0
    for line in Path(options.warm_file).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("--"):
            continue
        if line.startswith("\\c "):
            database = line[3:].strip()
            continue
        session = Session(
            proxy, {"user": options.warm_user, "database": database},
            proxy.router.resolve(database), 0, "cache warm-up",
        )
        try:
            for prepared in await session.split(line):
                result = await session.execute(prepared, (), ())
                # Encoded as for a client in text format: what the cache keeps is frames.
                encode = encoder_for(result.columns, (), getattr(result, "style", None))
                try:
                    while not result.done:
                        frames_of(await result.fetch(0), encode)
                finally:
                    await result.close()
                done += 1
        except errors.PgError as exc:
            log.warning("cache warm-up: %s failed: %s", line[:80], exc)
        finally:
            await session.close("cache warm-up done")
    return done
