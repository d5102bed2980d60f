"""Rows per second for the batch DataRow encoder, text and binary formats.

A 1,000,000-row by 4-column result (int8, text, float8, timestamp) in batches
of 1000, shaped as backends hand them over: SQLite's timestamps arrive as
'YYYY-MM-DD HH:MM:SS' text, MySQL's as datetime. Run:

    python benchmarks/bench_encode.py [--rows N] [--batch N] [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pgproxy import pgtypes
from pgproxy.types import row_encoder

OIDS = [pgtypes.INT8, pgtypes.TEXT, pgtypes.FLOAT8, pgtypes.TIMESTAMP]


def make_batches(rows: int, batch: int, ts_as_str: bool, nulls: bool) -> list[list[tuple]]:
    base = datetime(2024, 1, 1)
    out = []
    for start in range(0, rows, batch):
        b = []
        for i in range(start, min(start + batch, rows)):
            ts = base + timedelta(seconds=i)
            b.append((
                i,
                None if nulls and i % 10 == 0 else f"name-{i}",
                i * 1.25 + 0.1,
                ts.strftime("%Y-%m-%d %H:%M:%S") if ts_as_str else ts,
            ))
        out.append(b)
    return out


def run(batches: list[list[tuple]], fmt: int, repeat: int) -> tuple[float, float, int]:
    """Best wall and CPU seconds over `repeat` runs, and the bytes produced.

    CPU time is reported too because on a shared machine wall time mostly
    measures the neighbours.
    """
    best_wall = best_cpu = float("inf")
    nbytes = 0
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        enc = row_encoder(OIDS, [fmt])
        nbytes = 0
        for b in batches:
            nbytes += len(enc(b))
        best_wall = min(best_wall, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best_wall, best_cpu, nbytes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs")
    a = ap.parse_args()
    print(f"{a.rows:,} rows x 4 columns (int8, text, float8, timestamp), batches of {a.batch}, "
          f"best of {a.repeat}")
    for label, ts_as_str, nulls in (
        ("timestamp as str", True, False),
        ("timestamp as str, 10% NULL text", True, True),
        ("timestamp as datetime", False, False),
    ):
        batches = make_batches(a.rows, a.batch, ts_as_str, nulls)
        for fmt, fname in ((0, "text"), (1, "binary")):
            wall, cpu, nbytes = run(batches, fmt, a.repeat)
            print(f"  {fname:6} {label:34} {a.rows / wall:>12,.0f} rows/s wall "
                  f"{a.rows / cpu:>12,.0f} rows/s cpu  {nbytes / wall / 1e6:6.1f} MB/s")


if __name__ == "__main__":
    main()
