"""MariaDB sequence calls that need the proxy before or after the statement runs.

MariaDB's LASTVAL(s) is NULL where PostgreSQL's currval('s') raises 55000, it has
no lastval(), takes a sequence only by name (never a bound value), and its
SETVAL does nothing below the current value. Such a statement becomes one step
(pgproxy/backends/sequence_calls.py): names given as parameters are looked up
through a bound query and put in as quoted names; currval/lastval are checked
first; a bare `SELECT setval(…)` that MariaDB did not apply is applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp

from dialects.api import Generated, Step
from dialects.sequences import BOUND_NAME, _constant_name, unqualify


@dataclass(frozen=True, slots=True)
class SequenceCalls:
    sql: str  # the statement, a bound name spelled `pgproxy_bound_seq_<i>`
    bound: tuple[int, ...]  # 0-based client parameters that name sequences, in order
    currval: tuple[str, ...]  # sequence names (as in `sql`) currval reads before any nextval
    lastval: bool  # lastval() with no nextval() before it in the statement
    setval: tuple[str, bool] | None  # SELECT setval(s, v [, is_called]): s, is_called given


def _calls(tree: exp.Expr) -> list[tuple[str, exp.Anonymous]]:
    found = []
    for node in tree.find_all(exp.Anonymous):
        fn = node.name.lower()
        if fn in ("nextval", "currval", "setval", "lastval"):
            found.append((fn, node))
    return found


def needs_plan(tree: exp.Expr) -> bool:
    """Whether MariaDB's own functions would answer `tree` otherwise than PostgreSQL."""
    if isinstance(tree, (exp.Create, exp.Alter, exp.Drop)):
        return False
    unqualify(tree)
    for fn, node in _calls(tree):
        if fn in ("currval", "lastval") or (fn == "setval" and _bare_setval(tree) is node):
            return True
        if node.expressions and isinstance(_uncast(node.expressions[0]), exp.Parameter):
            return True
    return False


def _uncast(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Cast):
        node = node.this
    return node


def _bare_setval(tree: exp.Expr) -> exp.Anonymous | None:
    """The setval(…) of `SELECT setval(…)` with nothing else (pg_dump's form, resets)."""
    if not isinstance(tree, exp.Select) or tree.args.get("from_") or len(tree.expressions) != 1:
        return None
    item = tree.expressions[0]
    item = item.this if isinstance(item, exp.Alias) else item
    if isinstance(item, exp.Anonymous) and item.name.lower() == "setval" and len(
        item.expressions
    ) in (2, 3):
        return item
    return None


def prepare(tree: exp.Expr) -> tuple[tuple[int, ...], tuple[str, ...], bool, tuple | None]:
    """What the plan checks, read from the statement before the dialect rewrites it; a
    bare setval gets its arguments as extra columns (the routine reads them back)."""
    calls = _calls(tree)
    bound: list[int] = []
    currval: list[str] = []
    advanced: set[str] = set()
    for fn, node in calls:
        if fn == "lastval" or not node.expressions:
            continue
        name = _constant_name(node.expressions[0], fn).split(".")[-1]
        if name.startswith(BOUND_NAME) and int(name[len(BOUND_NAME):]) not in bound:
            bound.append(int(name[len(BOUND_NAME):]))
        if fn == "nextval":
            advanced.add(name)
    for fn, node in calls:
        if fn == "currval" and node.expressions:
            name = _constant_name(node.expressions[0], fn).split(".")[-1]
            if name not in advanced and _quote(name) not in currval:
                currval.append(_quote(name))
    lastval = any(fn == "lastval" for fn, _ in calls) and not any(
        fn == "nextval" for fn, _ in calls)
    setval = None
    if (call := _bare_setval(tree)) is not None:
        name = _constant_name(call.expressions[0], "setval").split(".")[-1]
        setval = (_quote(name), len(call.expressions) == 3)
        tree.set("expressions", [*tree.expressions, *(a.copy() for a in call.expressions[1:])])
    return tuple(bound), tuple(currval), lastval, setval


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


_BOUND_CALL = re.compile(
    rf"(?:NEXTVAL|LASTVAL|SETVAL)\(`{BOUND_NAME}\d+`[^()]*\)", re.IGNORECASE)


def step(found: tuple, generated: Generated, described: Generated) -> Step:
    """The statement as one step; `described` (no extra setval columns) for Describe,
    with a bound name's call typed as the BIGINT it returns."""
    bound, currval, lastval, setval = found
    plan = SequenceCalls(generated.sql, bound, currval, lastval, setval)
    return Step(sql=_BOUND_CALL.sub("CAST(NULL AS SIGNED)", described.sql),
                routine="sequence_calls", args=(plan,), params=(*bound, *generated.params),
                result=True)
