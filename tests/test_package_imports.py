"""The import graph of the ``archscope`` package has no cycle, and the ops never import the backend.

The graph is read from the source with :mod:`ast`, not from a running interpreter, so an import
inside a function (a lazy import, run only when that function is called) is an edge too: a
cycle through one still means that calling the function first from the wrong side fails, or
works only because something else happened to be imported before.

Edges:
- ``import a.b.c`` and ``from a.b import c`` execute ``a/__init__``, ``a/b/__init__`` and then
  ``c`` when it is a submodule, so each of those is an edge;
- imports under ``if TYPE_CHECKING:`` never run and are not edges;
- relative imports are resolved against the importing module's package;
- a module's own enclosing packages are not edges from it: Python starts running them before
  the module, so they are never waiting on it (the edge that matters is the one from whoever
  imports the package from outside, e.g. ``elaborate`` → ``ops``);
- ``archscope/__init__.py`` is a leaf: every ``archscope.*`` import runs it first, so it is on
  every path by Python's rules, and it is a facade that only re-exports (its backend names load
  on first attribute access). Its own imports are checked by the import it makes happen: if the
  facade is importable at all, its imports ran with no other archscope module half-initialised.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "archscope"
SOURCE = Path(__file__).resolve().parent.parent / PACKAGE


def modules() -> dict[str, Path]:
    """Dotted module name → file, for every ``.py`` file of the package."""
    out = {}
    for path in sorted(SOURCE.rglob("*.py")):
        parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_package(name: str, known: dict[str, Path]) -> bool:
    return known[name].name == "__init__.py"


def _with_parents(name: str, known: dict[str, Path]) -> list[str]:
    """``a.b.c`` → the known modules ``a``, ``a.b``, ``a.b.c`` (all executed by importing it)."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in known]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST):
    """Every node, but those under ``if TYPE_CHECKING:`` (never executed)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def imports_of(name: str, known: dict[str, Path]) -> set[str]:
    """The package's modules that importing ``name`` executes directly (lazy imports included)."""
    tree = ast.parse(known[name].read_text(encoding="utf-8"))
    package = name if _is_package(name, known) else name.rpartition(".")[0]
    out: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.update(_with_parents(alias.name, known))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: -(node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.update(_with_parents(target, known))
            for alias in node.names:  # `from . import x`: x may be a submodule
                sub = f"{target}.{alias.name}"
                if sub in known:
                    out.add(sub)
    # its own packages have started running before it (Python initialises parents first): not an edge
    return {m for m in out if m != name and not name.startswith(m + ".")}


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph = {name: imports_of(name, known) for name in known}
    graph[PACKAGE] = set()  # the facade is a leaf (see the module docstring)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path ``[a, b, …, a]``, or None."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_graph_is_read_correctly():
    graph = import_graph()
    assert "archscope.ops.registry" in graph["archscope.ops"]  # `from .registry import …`
    assert "archscope.ops.conv" in graph["archscope.ops"]  # `from . import conv`
    assert "archscope.ops" in graph["archscope.graph"]  # `from .ops.registry import …` runs `ops/__init__`
    assert "archscope.api" not in graph["archscope.torch_backend"]  # only under `if TYPE_CHECKING:`
    assert "archscope.ops" in graph["archscope.torch_backend.lowering"]  # `from ..ops import REGISTRY`
    # a lazy import inside a function is an edge
    assert "archscope.torch_backend.modules" in graph["archscope.torch_backend.lowering"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def test_ops_never_import_the_torch_backend():
    graph = import_graph()
    bad = {
        name: sorted(t for t in targets if t.startswith(f"{PACKAGE}.torch_backend"))
        for name, targets in graph.items()
        if name.startswith(f"{PACKAGE}.ops")
    }
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, bad
