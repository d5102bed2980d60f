"""The statement path's modules import one another one way: no circle, none hidden behind
TYPE_CHECKING or an import inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pgproxy"
# The modules of issue 11's import circle, and the stages they reach.
CORE = {
    "pgproxy.session", "pgproxy.session_link", "pgproxy.pipeline", "pgproxy.proxy",
    "pgproxy.cache",
    "pgproxy.cache.stage", "pgproxy.cache.warm", "pgproxy.catalog", "pgproxy.commands",
    "pgproxy.core", "pgproxy.core.context", "pgproxy.core.hooks", "pgproxy.core.stages",
    "pgproxy.core.statement", "pgproxy.copy.stage", "pgproxy.advisory", "pgproxy.notify",
    "pgproxy.calls", "pgproxy.health", "pgproxy.telemetry", "pgproxy.observers.watch",
}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module(p): p for p in PACKAGE.rglob("*.py")}


def _targets(node: ast.Import | ast.ImportFrom, known: set[str]) -> set[str]:
    """The pgproxy modules an import statement loads, with their parent packages."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif node.module and node.level == 0:
        names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    out = set()
    for name in names:
        parts = name.split(".")
        for i in range(2, len(parts) + 1):  # pgproxy.a.b loads pgproxy.a first
            if ".".join(parts[:i]) in known:
                out.add(".".join(parts[:i]))
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        edges = set()
        # Module level, `if TYPE_CHECKING:` blocks included: a circle a type checker
        # sees is a circle.
        body = list(tree.body)
        while body:
            node = body.pop()
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges |= _targets(node, known)
            elif isinstance(node, ast.If | ast.Try):
                body += [*node.body, *node.orelse]
        # A module's own packages are loaded before it: no edge back to them.
        own = {name.rsplit(".", i)[0] for i in range(1, name.count("."))} | {name}
        graph[name] = edges - own
    return graph


def _cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A path start -> … -> start, if there is one."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_the_statement_path_has_no_import_circle():
    graph = _graph()
    circles = {m: c for m in sorted(CORE) if (c := _cycle_through(graph, m)) is not None}
    assert not circles, circles


def test_no_import_is_hidden_behind_type_checking_or_inside_a_function():
    modules = _modules()
    for name in sorted(CORE):
        tree = ast.parse(modules[name].read_text())
        assert "TYPE_CHECKING" not in ast.unparse(tree), name
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = [n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)
                         and _targets(n, set(modules))]
                assert not inner, f"{name}.{node.name} imports inside the function"


def test_stages_get_a_context_and_nothing_reaches_through_a_session_to_the_proxy():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert "session.proxy" not in text, path
    stages = (PACKAGE / "core" / "stages.py").read_text()
    assert "pgproxy.session" not in stages and "pgproxy.proxy" not in stages
