"""psycopg 3's own tests run on PostgreSQL 15 and through the proxy on SQLite and MariaDB.

A measurement, not a test: given a checkout of psycopg's sources (its tests/
directory and conftest, which take `--test-dsn`), start a throwaway
PostgreSQL and MariaDB (tests/fix_servers.py) and the proxy on SQLite and on
MariaDB (tests/fix_proxy.py), run the selected test files against each, and
print passed / failed / error / skipped, the proxy's passes as a share of
PostgreSQL's, and the commonest causes of the tests that pass on PostgreSQL
but not through the proxy. Per-test outcomes stay in --out as JUnit XML.

    git --git-dir=<psycopg repo> archive 3.3.4 | tar -x -C /tmp/psycopg-src
    pip install anyio pproxy dnspython pytest-timeout
    python benchmarks/driver_suite.py /tmp/psycopg-src [--backends pg,sqlite,mariadb]

Its tests need anyio and pytest-timeout; pytest-randomly is turned off.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fix_proxy import run_proxy  # noqa: E402
from tests.fix_servers import MariaDBServer, PostgreSQLServer  # noqa: E402

# What the proxy cannot be, left out: the connection pool package (tests/pool),
# CockroachDB, libpq's own internals (tests/pq), mypy typing checks, DNS, Windows,
# gevent and free-threading; async twins of the sync files are left out to halve
# the run time (they exercise the same protocol paths).
EXCLUDE = re.compile(
    r"_async\.py$|test_typing|test_dns|test_windows|test_gevent|test_free_threading|test_tstring"
)


def selection(src: Path) -> list[str]:
    files = sorted(src.glob("tests/test_*.py")) + sorted(src.glob("tests/types/test_*.py"))
    return [str(p.relative_to(src)) for p in files if not EXCLUDE.search(p.name)]


def outcomes(junit: Path) -> dict[str, tuple[str, str]]:
    """test id -> (passed | failed | error | skipped, first line of the failure)."""
    found: dict[str, tuple[str, str]] = {}
    for case in ET.parse(junit).iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = "failed" if child.tag == "failure" else child.tag
                message = next(iter((child.get("message") or "").splitlines()), "")
                break
        found[name] = (outcome, message)
    return found


def cause(message: str) -> str:
    """A failure message with its test-specific values blanked, for grouping."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", message)
    text = re.sub(r"\b\d+(\.\d+)?\b", "N", text)
    return text[:140]


def run_suite(src: Path, files: list[str], name: str, dsn: str, out: Path, timeout: int) -> Path:
    junit = out / f"{name}.xml"
    cmd = [
        sys.executable, "-m", "pytest", *files, "--test-dsn", dsn, "-p", "no:randomly",
        f"--timeout={timeout}", "-q", "-rA", "-o", f"cache_dir={out}/cache_{name}",
        f"--junitxml={junit}",
    ]  # fmt: skip
    with open(out / f"{name}.txt", "wb") as log:
        subprocess.run(cmd, cwd=src, stdout=log, stderr=subprocess.STDOUT, check=False)
    return junit


@contextlib.contextmanager
def targets(backends: list[str]) -> Iterator[dict[str, str]]:
    """Start what `backends` need; yield name -> DSN."""
    with contextlib.ExitStack() as stack:
        dsns: dict[str, str] = {}
        if "pg" in backends:
            dsns["pg"] = stack.enter_context(PostgreSQLServer.started()).url
        if "sqlite" in backends:
            db = Path(stack.enter_context(_tempdir())) / "app.db"
            dsns["sqlite"] = stack.enter_context(run_proxy(f"sqlite:///{db}")).url()
        if "mariadb" in backends:
            maria = stack.enter_context(MariaDBServer.started())
            dsns["mariadb"] = stack.enter_context(run_proxy(maria.url)).url()
        yield dsns


@contextlib.contextmanager
def _tempdir() -> Iterator[str]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="driver-suite-") as path:
        yield path


def report(results: dict[str, dict[str, tuple[str, str]]], top: int) -> None:
    reference = results.get("pg")
    ref_passed = {k for k, v in reference.items() if v[0] == "passed"} if reference else set()
    print(f"{'backend':10} {'passed':>7} {'failed':>7} {'error':>6} {'skipped':>7} {'of pg':>7}")
    for name, found in results.items():
        counts = collections.Counter(v[0] for v in found.values())
        ratio = f"{100 * counts['passed'] / len(ref_passed):.1f}%" if ref_passed else "-"
        print(
            f"{name:10} {counts['passed']:7} {counts['failed']:7} {counts['error']:6} "
            f"{counts['skipped']:7} {ratio:>7}"
        )
    if not reference:
        return
    for name, found in results.items():
        if name == "pg":
            continue
        lost = {k: found[k] for k in ref_passed if k in found and found[k][0] != "passed"}
        groups: dict[str, list[str]] = collections.defaultdict(list)
        for test, (_, message) in lost.items():
            groups[cause(message)].append(test)
        print(f"\n{name}: {len(lost)} tests pass on PostgreSQL but not here; top causes:")
        for text, tests in sorted(groups.items(), key=lambda kv: -len(kv[1]))[:top]:
            print(f"  {len(tests):5}  {text}\n         e.g. {sorted(tests)[0]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="a psycopg source checkout (with tests/)")
    parser.add_argument("--backends", default="pg,sqlite,mariadb")
    parser.add_argument("--files", nargs="*", help="test files (default: the selection)")
    parser.add_argument("--timeout", type=int, default=20, help="seconds per test")
    parser.add_argument("--out", type=Path, default=Path("/tmp/driver_suite"))
    parser.add_argument("--top", type=int, default=15, help="causes listed per backend")
    parser.add_argument(
        "--report-only", action="store_true", help="re-read --out's JUnit files, run nothing"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    backends = args.backends.split(",")
    files = args.files or selection(args.src)
    results: dict[str, dict[str, tuple[str, str]]] = {}
    if args.report_only:
        for name in backends:
            results[name] = outcomes(args.out / f"{name}.xml")
        report(results, args.top)
        return 0
    with targets(backends) as dsns:
        # One after another: on a shared machine parallel runs time out instead.
        for name in backends:
            started = time.monotonic()
            junit = run_suite(args.src, files, name, dsns[name], args.out, args.timeout)
            results[name] = outcomes(junit)
            print(f"{name}: {len(results[name])} tests in {time.monotonic() - started:.0f}s",
                  file=sys.stderr)  # fmt: skip
    print(f"{len(files)} files of {args.src}; outcomes in {args.out}/<backend>.xml\n")
    report(results, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
