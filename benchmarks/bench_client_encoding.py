"""What a non-UTF8 client_encoding and a non-default DateStyle cost, next to the defaults.

The same 200,000-row result (int8, text, float8, timestamptz) is encoded as
DataRow batches for a default session (UTF8, ISO, UTC: nothing to convert)
and then converted for a LATIN1 client, with ASCII text (the whole batch
passes unchanged) and with accented text (each value converted); then the
timestamptz column printed in 'SQL, DMY' / Europe/Rome. Run:

    python benchmarks/bench_client_encoding.py [--rows N] [--batch N] [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pgproxy import pgtypes
from pgproxy.settings import Settings
from pgproxy.types import row_encoder
from pgproxy.wire import encoding

OIDS = [pgtypes.INT8, pgtypes.TEXT, pgtypes.FLOAT8, pgtypes.TIMESTAMPTZ]


def make_batches(rows: int, batch: int, word: str) -> list[list[tuple]]:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        [(i, f"{word}-{i}", i * 1.25, base + timedelta(seconds=i))
         for i in range(start, min(start + batch, rows))]
        for start in range(0, rows, batch)
    ]


def best(fn: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    latin1 = encoding.lookup("LATIN1")
    assert latin1 is not None
    convert = encoding.converted([0] * len(OIDS), OIDS)
    default = row_encoder(OIDS, [])
    styled = row_encoder(
        OIDS, [], style=Settings({"DateStyle": "SQL, DMY", "TimeZone": "Europe/Rome"}).style()
    )
    print(f"{args.rows:,} rows x 4 columns (int8, text, float8, timestamptz), "
          f"batches of {args.batch}, CPU seconds, best of {args.repeat}")
    for word in ("name", "café"):
        batches = make_batches(args.rows, args.batch, word)
        frames = [default(b) for b in batches]
        base = best(lambda b=batches: [default(x) for x in b], args.repeat)
        conv = best(lambda f=frames: [encoding.rows_out(latin1, x, convert) for x in f],
                    args.repeat)
        print(f"  text {word!r:8} UTF8 (no conversion)   {args.rows / base:>12,.0f} rows/s")
        print(f"  text {word!r:8} + LATIN1 conversion    {args.rows / (base + conv):>12,.0f} "
              f"rows/s  (conversion alone {args.rows / conv:,.0f} rows/s)")
    batches = make_batches(args.rows, args.batch, "name")
    iso = best(lambda: [default(x) for x in batches], args.repeat)
    sql = best(lambda: [styled(x) for x in batches], args.repeat)
    print(f"  timestamptz ISO, UTC                    {args.rows / iso:>12,.0f} rows/s")
    print(f"  timestamptz 'SQL, DMY', Europe/Rome     {args.rows / sql:>12,.0f} rows/s")


if __name__ == "__main__":
    main()
