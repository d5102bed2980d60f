"""Translation cost: microseconds for a statement's first translation and for a repeat.

Run: python benchmarks/bench_translate.py [--rounds N]
"First" is parse + generate of text never seen (each round uses a distinct
literal so nothing is cached); "repeat" is TranslationCache.translate of text
already seen (one LRU lookup); "same shape" is TranslationCache.parse_shaped +
generate of a text never seen whose shape was (only its literals differ; "-"
where the shape cache refuses the statement and a full parse runs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialects import Target, generate, parse
from dialects.cache import TranslationCache

TARGETS = {
    "sqlite": Target("sqlite", "qmark", "sqlite", returning=True),
    "mariadb": Target("mariadb", "format", "mariadb", as_of_timestamp=True, returning=True),
    "dolt": Target("dolt", "format", "dolt", as_of_commit=True, as_of_timestamp=True,
                   branches=True, database="mydb"),
}
STATEMENTS = {
    "point select": "SELECT id, name, balance FROM accounts WHERE id = $1 AND tag <> '{n}'",
    "join + order": (
        "SELECT o.id, c.name, o.total FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE o.created_at > now() - interval '1 day' AND c.name ILIKE 'a%{n}' "
        "ORDER BY o.total DESC LIMIT 20 OFFSET 40"
    ),
    "upsert": (
        "INSERT INTO counters (k, v) VALUES ($1, {n}) "
        "ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"
    ),
    "as of": "SELECT * FROM orders AS OF 'HEAD~{n}' o WHERE o.id = $1",
}


def _us(seconds: float) -> float:
    return seconds * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=300)
    args = ap.parse_args()
    parse("SELECT 1")  # import and warm sqlglot once; not part of any figure
    print(f"{'statement':14} {'target':8} {'first µs (median)':>18} {'repeat µs (median)':>19} "
          f"{'same shape µs':>14}")
    for label, template in STATEMENTS.items():
        for name, target in TARGETS.items():
            if label == "as of" and name != "dolt":
                continue
            cache = TranslationCache()
            first, repeat = [], []
            for n in range(args.rounds):
                sql = template.format(n=n + 1)
                t0 = time.perf_counter()
                for statement in parse(sql):
                    generate(statement, target)
                first.append(time.perf_counter() - t0)
            sql = template.format(n=1)
            cache.translate(sql, target)
            for _ in range(args.rounds * 10):
                t0 = time.perf_counter()
                cache.translate(sql, target)
                repeat.append(time.perf_counter() - t0)
            print(
                f"{label:14} {name:8} {_us(statistics.median(first)):18.1f} "
                f"{_us(statistics.median(repeat)):19.2f} {_same_shape(template, target, args):>14}"
            )
    pgbench = "SELECT abalance FROM pgbench_accounts WHERE aid = {n};"
    print(f"{'pgbench -S':14} {'sqlite':8} {'':18} {'':19} "
          f"{_same_shape(pgbench, TARGETS['sqlite'], args):>14}")


def _same_shape(template: str, target: Target, args: argparse.Namespace) -> str:
    cache = TranslationCache()
    declared = template.count("$1")  # the client's parameters, as a driver declares them
    statements, literals = cache.parse_shaped(template.format(n=0), target, declared)
    if not literals:
        return "-"
    for statement in statements:
        cache.generate(statement, target)
    times = []
    for n in range(args.rounds * 10):
        sql = template.format(n=n + 1)
        t0 = time.perf_counter()
        statements, literals = cache.parse_shaped(sql, target, declared)
        for statement in statements:
            cache.generate(statement, target)
        times.append(time.perf_counter() - t0)
    return f"{_us(statistics.median(times)):.2f}"


if __name__ == "__main__":
    main()
