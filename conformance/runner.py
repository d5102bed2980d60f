"""Run the conformance cases on real PostgreSQL and through the proxy; compare.

Each case (`conformance/cases/*.sql`, format in conformance/README.md) runs
statement by statement with psycopg 3, once on a real PostgreSQL (the
reference) and once through pgproxy on each backend, every time on a fresh
autocommit connection. For every statement the runner compares what a client
sees: the column names, the rows as the Python values psycopg decodes (so a
numeric `2.50` differs from `2.5`, a `bool` from an `int`, a `Decimal` from a
`float`), the command tag, and for a failing statement the SQLSTATE.

    python -m conformance.runner                       # sqlite and mysql (MariaDB)
    python -m conformance.runner --backends sqlite -v  # show every difference
    python -m conformance.runner --postgresql URL --proxy sqlite=postgresql://...

Without URLs it starts a throwaway PostgreSQL, a MariaDB and one proxy per
backend itself (tests/fix_servers.py, tests/fix_proxy.py). Exit status 0 when
every case passes or differs only where annotated `known` or `bug`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

CASES_DIR = Path(__file__).resolve().parent / "cases"
BACKENDS = ("sqlite", "mysql", "postgresql", "mssql")
DEFAULT_BACKENDS = ("sqlite", "mysql")

# --- case files ---------------------------------------------------------------

_ANNOTATION = re.compile(
    r"^(?P<kind>expect|known|bug|unordered)"
    r"(?:\[(?P<backends>[a-z0-9_,\s]+)\])?"
    r"\s*(?::\s*(?P<value>.*))?$"
)
_SQLSTATE = re.compile(r"^[0-9A-Z]{5}$")


class CaseFormatError(ValueError):
    pass


@dataclass
class Statement:
    sql: str
    line: int
    expect_error: str | None = None  # SQLSTATE every side must fail with
    expect_error_on: dict[str, str] = field(default_factory=dict)  # backend -> SQLSTATE
    known: dict[str, str] = field(default_factory=dict)  # backend -> reason
    bugs: dict[str, str] = field(default_factory=dict)  # backend -> open proxy bug
    unordered: bool = False

    def expected_error(self, backend: str | None) -> str | None:
        if backend is not None and backend in self.expect_error_on:
            return self.expect_error_on[backend]
        return self.expect_error


@dataclass
class Case:
    name: str
    path: Path
    title: str
    statements: list[Statement]


def _apply(stmt_notes: list[tuple[str, list[str] | None, str | None, int]], stmt: Statement,
           where: str) -> None:
    for kind, backends, value, line in stmt_notes:
        at = f"{where}:{line}"
        for b in backends or []:
            if b not in BACKENDS:
                raise CaseFormatError(f"{at}: unknown backend {b!r} (one of {BACKENDS})")
        if kind == "unordered":
            stmt.unordered = True
        elif kind in ("known", "bug"):
            if not backends or not value:
                raise CaseFormatError(f"{at}: write `-- {kind}[backend]: reason`")
            for b in backends:
                if b in stmt.known or b in stmt.bugs:
                    raise CaseFormatError(f"{at}: two known/bug notes for {b}")
                (stmt.known if kind == "known" else stmt.bugs)[b] = value
        else:  # expect
            parts = (value or "").split()
            if len(parts) != 2 or parts[0] != "error" or not _SQLSTATE.match(parts[1]):
                raise CaseFormatError(f"{at}: write `-- expect: error SQLSTATE`")
            if backends:
                for b in backends:
                    stmt.expect_error_on[b] = parts[1]
            else:
                stmt.expect_error = parts[1]


def parse_case(text: str, name: str = "<case>", path: Path | None = None) -> Case:
    """Split a case file into statements, attaching each annotation to the next one."""
    statements: list[Statement] = []
    notes: list[tuple[str, list[str] | None, str | None, int]] = []
    title = ""
    buf: list[str] = []
    start_line = 0
    line = 1
    i, n = 0, len(text)

    def started() -> bool:
        return any(part.strip() for part in buf)

    def finish() -> None:
        nonlocal notes, buf
        sql = "".join(buf).strip()
        if sql:
            stmt = Statement(sql, start_line)
            _apply(notes, stmt, name)
            statements.append(stmt)
        elif notes:
            raise CaseFormatError(f"{name}:{notes[0][3]}: annotation without a statement")
        notes, buf = [], []

    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            comment = text[i + 2 : end].strip()
            if started():
                buf.append(text[i:end])
            else:
                m = _ANNOTATION.match(comment)
                if m:
                    backends = m["backends"]
                    notes.append((
                        m["kind"],
                        [b.strip() for b in backends.split(",") if b.strip()] if backends else None,
                        m["value"].strip() if m["value"] else None,
                        line,
                    ))
                elif not statements and not title and comment:
                    title = comment
            i = end
            continue
        if c == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            chunk = text[i:end]
        elif c in "'\"":
            escapes = c == "'" and i > 0 and text[i - 1] in "eE" and (
                i < 2 or not (text[i - 2].isalnum() or text[i - 2] == "_"))
            j = i + 1
            while j < n:
                if escapes and text[j] == "\\":
                    j += 2
                    continue
                if text[j] == c:
                    if j + 1 < n and text[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            chunk = text[i : j + 1]
            end = j + 1
        elif c == "$" and (m := re.match(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$", text[i:])):
            tag = m.group(0)
            close = text.find(tag, i + len(tag))
            end = n if close < 0 else close + len(tag)
            chunk = text[i:end]
        elif c == ";":
            finish()
            i += 1
            continue
        else:
            chunk, end = c, i + 1
        if not started() and chunk.strip():
            start_line = line
        buf.append(chunk)
        line += chunk.count("\n")
        i = end
    finish()
    return Case(name, path or Path(name), title, statements)


def load_cases(directory: Path = CASES_DIR, pattern: str = "*.sql") -> list[Case]:
    cases = []
    for path in sorted(directory.glob(pattern)):
        cases.append(parse_case(path.read_text(), path.stem, path))
    return cases


# --- running ------------------------------------------------------------------


@dataclass
class Outcome:
    """What a client saw for one statement."""

    columns: list[str] | None = None
    rows: list[tuple[Any, ...]] | None = None
    tag: str | None = None
    sqlstate: str | None = None
    message: str | None = None

    @property
    def failed(self) -> bool:
        return self.sqlstate is not None

    def show(self, limit: int = 6) -> str:
        if self.failed:
            return f"ERROR {self.sqlstate}: {self.message}"
        text = f"{self.tag!r}"
        if self.columns is not None:
            rows = self.rows or []
            shown = ", ".join(_show_row(r) for r in rows[:limit])
            more = f", ... ({len(rows)} rows)" if len(rows) > limit else ""
            text += f" columns={self.columns} rows=[{shown}{more}]"
        return text


def _show_row(row: tuple[Any, ...]) -> str:
    return "(" + ", ".join(repr(v) for v in row) + ("," if len(row) == 1 else "") + ")"


def connect(dsn: str) -> psycopg.Connection[Any]:
    return psycopg.connect(dsn, autocommit=True, connect_timeout=15)


def run_statements(dsn: str, statements: Iterable[Statement]) -> list[Outcome]:
    """Run each statement on one fresh connection (simple query protocol)."""
    outcomes: list[Outcome] = []
    conn = connect(dsn)
    try:
        for stmt in statements:
            if conn.closed:
                conn = connect(dsn)
            try:
                cur = conn.execute(stmt.sql)
                if cur.description is not None:
                    columns = [d.name for d in cur.description]
                    rows = [tuple(r) for r in cur.fetchall()]
                else:
                    columns, rows = None, None
                outcomes.append(Outcome(columns, rows, cur.statusmessage))
            except psycopg.Error as exc:
                first = (str(exc).strip().splitlines() or [""])[0]
                outcomes.append(Outcome(sqlstate=exc.sqlstate or "?????", message=first))
    finally:
        conn.close()
    return outcomes


def _key(value: Any) -> Any:
    """How a decoded value compares: its type and its value (Decimal with its scale)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def _row_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(_key(v) for v in row)


def compare(expected: Outcome, actual: Outcome, stmt: Statement, backend: str | None) -> str | None:
    """None when `actual` is what a PostgreSQL client expects, else what differs."""
    want_error = stmt.expected_error(backend)
    if want_error is not None:
        if actual.sqlstate == want_error:
            return None
        return f"expected ERROR {want_error}, got {actual.show()}"
    if expected.failed or actual.failed:
        if expected.sqlstate == actual.sqlstate:
            return None
        return f"expected {expected.show()}, got {actual.show()}"
    diffs = []
    if expected.columns != actual.columns:
        diffs.append(f"columns {expected.columns} != {actual.columns}")
    if expected.rows is not None and actual.rows is not None:
        want = [_row_key(r) for r in expected.rows]
        got = [_row_key(r) for r in actual.rows]
        if stmt.unordered:
            want, got = sorted(want, key=repr), sorted(got, key=repr)
        if want != got:
            diffs.append("rows differ")
    elif expected.rows != actual.rows:
        diffs.append("rows differ")
    if expected.tag != actual.tag:
        diffs.append(f"tag {expected.tag!r} != {actual.tag!r}")
    if not diffs:
        return None
    return "; ".join(diffs) + f"\n      expected {expected.show()}\n      got      {actual.show()}"


@dataclass
class Difference:
    stmt: Statement
    detail: str
    known: str | None = None  # the annotated reason when it is a known difference
    bug: str | None = None  # the annotated open proxy bug it comes from

    @property
    def annotated(self) -> bool:
        return self.known is not None or self.bug is not None


@dataclass
class CaseResult:
    case: Case
    backend: str
    status: str  # "pass", "known", "bug", "fail"
    differences: list[Difference] = field(default_factory=list)
    reference_errors: list[str] = field(default_factory=list)
    stale_known: list[Statement] = field(default_factory=list)

    def report(self, verbose: bool = False) -> str:
        head = f"{self.status.upper():5} {self.case.name} [{self.backend}]"
        if self.case.title:
            head += f"  -- {self.case.title}"
        lines = [head]
        for err in self.reference_errors:
            lines.append(f"    reference (PostgreSQL) broke the case: {err}")
        for d in self.differences:
            note = f"known: {d.known}" if d.known is not None else f"bug: {d.bug}"
            if d.annotated and not verbose:
                lines.append(f"    line {d.stmt.line}: {note}")
                continue
            if d.annotated:
                lines.append(f"    line {d.stmt.line}: {note}")
                lines.append(f"      {_one_line(d.stmt.sql)}")
            else:
                lines.append(f"    line {d.stmt.line}: DIFFERS: {_one_line(d.stmt.sql)}")
            lines.append(f"      {d.detail}")
        for s in self.stale_known:
            lines.append(
                f"    line {s.line}: note: annotated known/bug[{self.backend}] but now matches"
            )
        return "\n".join(lines)


def _one_line(sql: str, width: int = 110) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def check_reference(case: Case, outcomes: list[Outcome]) -> list[str]:
    """The case's own expectations, checked on PostgreSQL."""
    errors = []
    for stmt, out in zip(case.statements, outcomes, strict=True):
        if stmt.expect_error is not None and out.sqlstate != stmt.expect_error:
            errors.append(f"line {stmt.line}: expected ERROR {stmt.expect_error}, "
                          f"got {out.show()}")
        elif stmt.expect_error is None and out.failed:
            errors.append(f"line {stmt.line}: {out.show()} ({_one_line(stmt.sql, 60)})")
    return errors


def run_case(case: Case, reference_dsn: str, backend: str, proxy_dsn: str,
             reference: list[Outcome] | None = None) -> CaseResult:
    """Run one case on PostgreSQL (unless its outcomes are given) and through the proxy."""
    if reference is None:
        reference = run_statements(reference_dsn, case.statements)
    actual = run_statements(proxy_dsn, case.statements)
    result = CaseResult(case, backend, "pass")
    result.reference_errors = check_reference(case, reference)
    for stmt, want, got in zip(case.statements, reference, actual, strict=True):
        detail = compare(want, got, stmt, backend)
        known, bug = stmt.known.get(backend), stmt.bugs.get(backend)
        if detail is not None:
            result.differences.append(Difference(stmt, detail, known, bug))
        elif known is not None or bug is not None:
            result.stale_known.append(stmt)
    if result.reference_errors or any(not d.annotated for d in result.differences):
        result.status = "fail"
    elif any(d.bug is not None for d in result.differences):
        result.status = "bug"
    elif result.differences:
        result.status = "known"
    return result


def summary(results: list[CaseResult], backends: Iterable[str]) -> str:
    lines = []
    for backend in backends:
        mine = [r for r in results if r.backend == backend]
        counts = {s: sum(r.status == s for r in mine) for s in ("pass", "known", "bug", "fail")}
        lines.append(
            f"{backend}: {counts['pass']}/{len(mine)} cases pass, "
            f"{counts['known']} differ where documented (known), "
            f"{counts['bug']} hit an open proxy bug (bug), {counts['fail']} fail"
        )
    return "\n".join(lines)


# --- command line -------------------------------------------------------------


@contextlib.contextmanager
def _targets(args: argparse.Namespace, backends: list[str]) -> Iterator[tuple[str, dict[str, str]]]:
    """(reference DSN, backend -> proxy DSN), starting what was not given."""
    from tests.fix_proxy import run_proxy
    from tests.fix_servers import MariaDBServer, PostgreSQLServer

    given = dict(item.split("=", 1) for item in args.proxy)
    with contextlib.ExitStack() as stack:
        pg_url = args.postgresql
        if pg_url is None:
            print("starting PostgreSQL ...", file=sys.stderr)
            pg_url = stack.enter_context(PostgreSQLServer.started()).url
        proxies: dict[str, str] = {}
        for backend in backends:
            if backend in given:
                proxies[backend] = given[backend]
                continue
            if backend == "sqlite":
                tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="pgproxy-conf-"))
                url = f"sqlite:///{tmp}/conformance.db"
            elif backend == "mysql":
                url = args.mariadb
                if url is None:
                    print("starting MariaDB ...", file=sys.stderr)
                    url = stack.enter_context(MariaDBServer.started()).url
            elif backend == "mssql":
                # No SQL Server can be installed here: a running one is named.
                url = args.mssql or os.environ["PGPROXY_TEST_MSSQL_URL"]
            else:
                url = pg_url
            print(f"starting pgproxy on {backend} ...", file=sys.stderr)
            proxies[backend] = stack.enter_context(run_proxy(url)).dsn()
        yield pg_url, proxies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.runner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default=",".join(DEFAULT_BACKENDS),
                        help=f"comma-separated, of {', '.join(BACKENDS)} (default %(default)s)")
    parser.add_argument("--cases", default="*.sql", help="glob under conformance/cases")
    parser.add_argument("--postgresql", metavar="URL", help="reference PostgreSQL (else started)")
    parser.add_argument("--mariadb", metavar="URL", help="MariaDB behind the mysql proxy")
    parser.add_argument("--mssql", metavar="URL",
                        help="SQL Server behind the mssql proxy (else PGPROXY_TEST_MSSQL_URL)")
    parser.add_argument("--proxy", metavar="BACKEND=DSN", action="append", default=[],
                        help="use a running proxy for BACKEND instead of starting one")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show the rows of known differences too")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for b in backends:
        if b not in BACKENDS:
            parser.error(f"unknown backend {b!r}")
    if "mssql" in backends and not (args.mssql or os.environ.get("PGPROXY_TEST_MSSQL_URL")):
        parser.error("--backends mssql needs --mssql URL or PGPROXY_TEST_MSSQL_URL")
    cases = load_cases(CASES_DIR, args.cases)
    if not cases:
        parser.error(f"no case matches {args.cases!r} in {CASES_DIR}")
    results: list[CaseResult] = []
    with _targets(args, backends) as (pg_url, proxies):
        for case in cases:
            reference = run_statements(pg_url, case.statements)
            for backend in backends:
                result = run_case(case, pg_url, backend, proxies[backend], reference)
                results.append(result)
                print(result.report(args.verbose), flush=True)
    print()
    print(f"{len(cases)} cases")
    print(summary(results, backends))
    return 1 if any(r.status == "fail" for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
