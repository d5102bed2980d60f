"""The import rules of DESIGN.md, enforced: every import statement of the tree, read with ast.

pgproxy/wire/ imports nothing of dialects/ or pgproxy/backends/; dialects/ imports
nothing of pgproxy/; pgproxy/backends/ imports nothing of pgproxy/wire/. Function-level
imports, imports under TYPE_CHECKING, relative imports and importlib.import_module("…")
with a constant name count as much as the ones at the top of a file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgproxy.backends import registry

ROOT = Path(__file__).resolve().parents[2]

# (package directory, modules it must not import, why)
RULES = [
    ("pgproxy/wire", ("dialects", "pgproxy.backends"),
     "the wire knows the protocol, nothing of SQL dialects or backends"),
    ("dialects", ("pgproxy",), "dialects/ is pure translation and imports nothing of pgproxy/"),
    ("pgproxy/backends", ("pgproxy.wire",), "backends know nothing of the wire"),
    ("pgproxy/types", ("pgproxy.wire", "pgproxy.backends", "dialects"),
     "PostgreSQL's types know nothing of the wire, the backends or SQL translation"),
]

def module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(source: str, module: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in `source`, a file of `module`; `from a import b`
    gives both a and a.b (b may be a submodule)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def _within(name: str, packages: tuple[str, ...]) -> str | None:
    for package in packages:
        if name == package or name.startswith(package + "."):
            return package
    return None


def violations(directory: str, forbidden: tuple[str, ...]) -> dict[tuple[str, str], int]:
    """{(file, imported module): line} for the imports of `directory` that break its rule;
    `from x.y import name` is reported as x.y."""
    found: dict[tuple[str, str], int] = {}
    for path in sorted((ROOT / directory).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        imports = list(imported(path.read_text(), module_of(path), path.name == "__init__.py"))
        names = {name for _, name in imports}
        for line, name in imports:
            if _within(name, forbidden) is None:
                continue
            # Report the module, not a name imported from it.
            parent = name.rpartition(".")[0]
            key = parent if parent in names and _within(parent, forbidden) else name
            found.setdefault((rel, key), line)
    return found


@pytest.mark.parametrize(("directory", "forbidden", "why"), RULES, ids=[r[0] for r in RULES])
def test_layer_imports(directory: str, forbidden: tuple[str, ...], why: str) -> None:
    new = violations(directory, forbidden)
    listed = ", ".join(f"{f}:{line} imports {m}" for (f, m), line in new.items())
    assert not new, f"{why}: {listed}"


def test_registry_factories_live_in_backends() -> None:
    """The registry names its factories by string: they too stay inside pgproxy/backends/."""
    named = [s.factory for s in registry.SCHEMES.values() if s.factory]
    named += [e.steps for e in registry.ENGINES.values() if e.steps]
    assert named
    for name in named:
        assert name.startswith("pgproxy.backends."), name


def test_every_kind_of_import_is_seen() -> None:
    source = """
from __future__ import annotations
import os, dialects.api
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from pgproxy.session import Session
from . import sibling
from ..backends import base
def f():
    import pgproxy.types as codecs
    importlib.import_module("pgproxy.backends.sqlite")
"""
    names = {name for _, name in imported(source, "pgproxy.wire.messages")}
    assert {"os", "dialects.api", "pgproxy.session", "pgproxy.session.Session",
            "pgproxy.wire.sibling", "pgproxy.backends", "pgproxy.backends.base",
            "pgproxy.types", "pgproxy.backends.sqlite"} <= names
    # A package's own relative import resolves from the package itself.
    assert (1, "pgproxy.types.arrays") in set(
        imported("from . import arrays", "pgproxy.types", is_package=True))


def _graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of `package` it imports (any import, TYPE_CHECKING ones too);
    `from package import sub` is an import of the submodule only."""
    paths = {module_of(p): p for p in (ROOT / package.replace(".", "/")).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        names = {name for _, name in imported(path.read_text(), module, path.name == "__init__.py")}
        # `from a import b` yields a and a.b: keep the most specific module named.
        graph[module] = {n for n in names if n in paths and n != module
                         and not any(m.startswith(n + ".") for m in names if m in paths)}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of `graph`, or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_catalog_has_no_import_cycle() -> None:
    """The engine imports its functions and loaders; none of them imports the engine back
    (catalog/common.py holds what they share)."""
    cycle = _cycle(_graph("pgproxy.catalog"))
    assert not cycle, " -> ".join(cycle)


def test_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []
