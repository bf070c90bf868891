"""The architecture as a test: who imports whom, no cycles, no module over 400 lines, the tree in the docs."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("notifier", "workers")
MAX_LINES = 400
# Only the composition root wires the web/domain side to the queue runtime.
COMPOSITION_ROOT = ("notifier.cli", "notifier.processes", "notifier.__main__")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
            if "migrations" not in p.parts}


MODULES = _modules()


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """Return the project modules an import statement names (submodules where it names one)."""
    if node.level:
        base = current.split(".")
        base = base if is_package else base[:-1]
        base = base[:len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    found = []
    for alias in node.names:
        candidate = f"{prefix}.{alias.name}"
        found.append(candidate if candidate in MODULES else prefix)
    return [m for m in found if m in MODULES]


def imports_of(name: str) -> set[str]:
    """Return every project module that module imports, at top level or inside functions."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            out.update(_resolve(name, path.name == "__init__.py", node))
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in MODULES)
    out.discard(name)
    return out


GRAPH = {name: imports_of(name) for name in MODULES}


def _under(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_domain_and_the_web_never_import_the_queue_runtime() -> None:
    wrong = [(m, i) for m, deps in GRAPH.items() for i in deps
             if _under(m, "notifier") and not _under(m, *COMPOSITION_ROOT)
             and _under(i, "workers")]
    assert not wrong, f"only {COMPOSITION_ROOT} may import workers/: {wrong}"


def test_the_domain_never_imports_the_web_the_cli_or_the_processes() -> None:
    outer = ("notifier.web", "notifier.cli", "notifier.processes", "notifier.__main__")
    domain = [m for m in GRAPH if _under(m, "notifier") and not _under(m, *outer)
              and m != "notifier" and not _under(m, "notifier.sandbox")]
    wrong = [(m, i) for m in domain for i in GRAPH[m] if _under(i, *outer)]
    assert not wrong, f"domain modules import outer layers: {wrong}"


def test_the_web_layer_never_imports_the_cli_or_the_processes() -> None:
    wrong = [(m, i) for m, deps in GRAPH.items() for i in deps
             if _under(m, "notifier.web") and _under(i, "notifier.cli", "notifier.processes")]
    assert not wrong, wrong


def _cycles() -> list[list[str]]:
    """Return the strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    # A package's __init__ re-exporting its own modules is not a cycle worth naming.
    cycles = [c for c in _cycles()
              if not all(_under(m, c[0]) for m in c[1:])]
    assert not cycles, f"import cycles: {cycles}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    GRAPH["notifier.__probe_a"] = {"notifier.__probe_b"}
    GRAPH["notifier.__probe_b"] = {"notifier.__probe_a"}
    try:
        assert ["notifier.__probe_a", "notifier.__probe_b"] in _cycles()
    finally:
        del GRAPH["notifier.__probe_a"], GRAPH["notifier.__probe_b"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_400_lines(name: str) -> None:
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(ROOT)} has {lines} lines: split it"


def _tree_in_the_docs() -> set[str]:
    """Return the paths the code-layout tree of docs/architecture.md names (two spaces a level)."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = text.split("## Code layout", 1)[1].split("```", 2)[1]
    folders: list[str] = []
    found = set()
    for line in block.splitlines()[1:]:
        name = line.strip().split(" ", 1)[0]
        if not name or name.startswith("#") or name.endswith(","):
            continue
        depth = (len(line) - len(line.lstrip())) // 2
        folders = folders[:depth]
        found.add("".join(folders) + name)
        if name.endswith("/"):
            folders.append(name)
    return found


def test_every_module_has_a_line_in_the_architecture_tree() -> None:
    listed = _tree_in_the_docs()
    missing = sorted(str(path.relative_to(ROOT)) for path in MODULES.values()
                     if str(path.relative_to(ROOT)) not in listed
                     and not (path.name == "__init__.py" and f"{path.parent.relative_to(ROOT)}/"
                              in listed))
    assert not missing, f"add a line for each to the tree in docs/architecture.md: {missing}"
