"""The package's layers, read from the source with `ast`: no import cycle between its parts, and
the engine knows nothing of change requests or the schedule (the approval gate is handed to it by
`adoffboard.app`).

A part is a subpackage (`adoffboard.cr`, `adoffboard.scheduling`, `adoffboard.connectors`...) or a
top-level module (`adoffboard.engine`, `adoffboard.store`...). Every import counts, also those
inside functions (made there only to keep start-up fast); only `if TYPE_CHECKING:` blocks are left
out, since they never run.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "adoffboard"


def module_files() -> dict[str, Path]:
    """Every module of the package by dotted name, the linked folders (connectors, commands) and
    cli.py included."""
    found: dict[str, Path] = {}
    files = [
        Path(folder) / f
        for folder, _dirs, names in os.walk(PACKAGE, followlinks=True)
        for f in names
        if f.endswith(".py")
    ]
    for path in sorted(files):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if "__pycache__" in parts or parts[0] == "migrations":
            continue  # migrations are run by Alembic, not imported by the package
        dotted = ["adoffboard", *parts]
        if dotted[-1] == "__init__":
            dotted.pop()
        found[".".join(dotted)] = path
    return found


MODULES = module_files()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            yield from (n for s in child.orelse for n in [s, *_walk(s)])
            continue
        yield child
        yield from _walk(child)


def imports_of(name: str) -> set[str]:
    """The package's modules that module `name` imports (at any depth of its code)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target not in ("", "adoffboard", name):  # the package's own __init__ is empty
                found.add(target)
    return found


DECLARATIONS = "adoffboard.connectors:declarations"


def part_of(module: str) -> str:
    """`adoffboard.cr.repo` -> `adoffboard.cr`; a top-level module is a part of its own. The
    connectors' declarations (the registry, `declare`, each platform's `declaration`) are a part
    of their own, below the workspace configuration that composes them; the connectors
    themselves are another part, above it."""
    if (
        module in ("adoffboard.connectors", "adoffboard.connectors.declare")
        or module.startswith("adoffboard.connectors.")
        and module.endswith(".declaration")
    ):
        return DECLARATIONS
    pieces = module.split(".")
    if len(pieces) > 2 or MODULES[module].name == "__init__.py" and len(pieces) == 2:
        return ".".join(pieces[:2])
    return module


def part_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        mine = part_of(module)
        graph.setdefault(mine, set())
        graph[mine] |= {part_of(t) for t in imports_of(module)} - {mine}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of more than one node (Tarjan): each is an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                found.append(sorted(members))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_the_imports_it_should() -> None:
    """The checks below mean something only if the walk finds imports: a few known ones."""
    graph = part_graph()
    assert "adoffboard.commands" in graph["adoffboard.cli"]
    assert "adoffboard.cr" in graph["adoffboard.scheduling"]
    assert "adoffboard.engine" in graph["adoffboard.app"]
    assert any(m.startswith("adoffboard.connectors") for m in engine_imports())
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_between_modules() -> None:
    graph = {m: imports_of(m) - {m} for m in MODULES}
    assert cycles(graph) == []


def test_the_declarations_need_nothing_above_them() -> None:
    """Listing the platforms (config, `runbooks list`, the registry) loads no connector."""
    assert part_graph()[DECLARATIONS] <= {
        "adoffboard.credentials",
        "adoffboard.errors",
        "adoffboard.models",
    }


def test_no_import_cycle_between_the_parts_of_the_package() -> None:
    found = cycles(part_graph())
    assert found == [], "import cycles between parts of adoffboard: " + "; ".join(
        " <-> ".join(c) for c in found
    )


def engine_imports() -> set[str]:
    """What the engine package's modules import, all of them."""
    return {
        t
        for m in MODULES
        if m == "adoffboard.engine" or m.startswith("adoffboard.engine.")
        for t in imports_of(m)
    }


@pytest.mark.parametrize("forbidden", ["adoffboard.cr", "adoffboard.scheduling"])
def test_the_engine_imports_neither_change_requests_nor_the_schedule(forbidden: str) -> None:
    assert not {m for m in engine_imports() if m == forbidden or m.startswith(forbidden + ".")}
