"""The package's import graph: no cycles, and no module imports a later stage of the data flow.

Stages, in the order data flows (``ARCHITECTURE.md``): io -> preprocess -> model -> score ->
audit -> report, with the foundation (errors, schema, statistics) below all of them, the file
jobs above them and the command line on top. A module may import modules of its own or an earlier stage. Every import
counts, including those inside functions (they are lazy, not absent). The graph is read from
the source with ``ast``: nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tonecls"

# module-name prefix -> stage (the longest prefix wins); top-level private modules (vendored
# helpers such as tonecls._nltk_casual) belong to the foundation
STAGES = {
    "tonecls": 0, "tonecls.errors": 0, "tonecls.schema": 0, "tonecls.stats": 0,
    "tonecls.io": 1, "tonecls.datasets": 1,
    "tonecls.preprocess": 2, "tonecls.language": 2,
    "tonecls.model": 3, "tonecls.privacy": 3,
    "tonecls.score": 4,
    "tonecls.audit": 5, "tonecls.prevalence": 5,
    "tonecls.report": 6,
    "tonecls.jobs": 7,
    "tonecls.cli": 8, "tonecls.__main__": 8,
}
STAGE_NAMES = ["foundation", "io", "preprocess", "model", "score", "audit", "report", "file jobs",
               "command line"]


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the tonecls modules it imports (a name imported from a package is the
    submodule if there is one of that name, else the package)."""
    known = modules()

    def owner(name: str) -> str:
        while name not in known:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                           for alias in node.names]
            else:
                continue
            graph[name] |= {owner(t) for t in targets if t == "tonecls" or t.startswith("tonecls.")}
        graph[name].discard(name)
    return graph


def stage(module: str) -> int:
    if module.count(".") == 1 and module.split(".")[1].startswith("_") and module != "tonecls.__main__":
        return 0
    prefix = module
    while prefix not in STAGES:
        prefix = prefix.rpartition(".")[0]
    return STAGES[prefix]


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in sorted(graph[node]):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_reader_sees_function_level_and_relative_imports(tmp_path):
    graph = import_graph()
    assert "tonecls.score.core" in graph["tonecls.score"]  # package re-exports
    assert "tonecls.jobs.audit" in graph["tonecls.cli"]  # imported inside a command function
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset("abc")]


def test_every_module_has_a_stage():
    """A new top-level module is placed in STAGES (else it would count as foundation)."""
    unplaced = [name for name in modules() if name != "tonecls" and name.count(".") >= 1
                and not name.split(".")[1].startswith("_") and f"tonecls.{name.split('.')[1]}" not in STAGES]
    assert not unplaced, f"add {unplaced} to STAGES in tests/test_layers.py (and to ARCHITECTURE.md)"


def test_every_stage_names_a_module():
    known = modules()
    assert not [name for name in STAGES if name not in known], "STAGES lists modules that do not exist"


def test_no_import_cycles():
    found = [sorted(c) for c in cycles(import_graph())]
    assert not found, f"import cycles: {found}"


def test_no_module_imports_a_later_stage():
    graph = import_graph()
    back = sorted(
        f"{module} ({STAGE_NAMES[stage(module)]}) imports {target} ({STAGE_NAMES[stage(target)]})"
        for module, targets in graph.items() for target in targets
        if stage(target) > stage(module)
    )
    assert not back, "back-edges against io -> preprocess -> model -> score -> audit -> report:\n" + "\n".join(back)


def test_foundation_modules_use_only_the_standard_library_and_each_other():
    """tonecls.schema and tonecls.errors are the contract every stage imports: nothing of the
    package above them, and nothing heavy."""
    for name in ("schema", "errors"):
        tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and not node.level}
        assert imported <= {"__future__", "collections", "dataclasses", "enum", "typing", "tonecls"}, (name, imported)
