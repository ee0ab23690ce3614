"""Layers that point one way: every import in the packages, read with ``ast`` (those in
functions too), goes to the same layer or a lower one, and no module reaches itself
through its imports.

From the bottom: shared records, text helpers and reference data; the sources; the store;
the notifier; the web page; the service and the command line (where the configuration file is loaded).
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("scraper", "store", "notifier", "web")
TOP_MODULES = ("scheduler", "configfile")

# Longest prefix wins. A module not listed falls in its package's layer.
LAYERS = ("records", "sources", "store", "notifier", "web", "top")
LAYER_OF = {
    "scraper.records": "records",
    "scraper.parse": "records",          # text and HTML helpers every parser shares
    "store.reference": "records",        # NOC data, programs and provinces
    "notifier.secrets": "records",       # masking of secrets in any text: imports no layer above
    "scraper": "sources",
    "scraper.sources": "sources",
    "scraper.spiders": "sources",
    "store": "store",
    "notifier": "notifier",
    "web": "web",                        # the page, API and feeds: reads the store, never subscribers
    "scraper.crawl": "top",
    "scraper.schedule": "top",
    "scraper.service": "top",
    "scraper.service_cli": "top",
    "scraper.cli": "top",
    "store.cli": "top",
    "notifier.cli": "top",
    "web.cli": "top",
    "scheduler": "top",
    "configfile": "top",
}


def module_files() -> dict[str, Path]:
    files = {name: ROOT / f"{name}.py" for name in TOP_MODULES}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def layer(module: str) -> str:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYER_OF:
            return LAYER_OF[".".join(parts[:n])]
    raise AssertionError(f"{module}: in no layer (add it to LAYER_OF)")


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The project's modules ``module`` imports (the deepest known name of each import)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {id(n) for node in ast.walk(tree) if _type_checking(node) for n in ast.walk(node)}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            parts = name.split(".")
            target = next((".".join(parts[:n]) for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in known), None)
            if target and target != module:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    files = module_files()
    return {module: imports(module, path, set(files)) for module, path in files.items()}


def test_every_module_is_in_a_layer():
    for module in module_files():
        assert layer(module) in LAYERS


def test_no_import_points_up():
    upward = [f"{a} ({layer(a)}) imports {b} ({layer(b)})" for a, targets in sorted(graph().items())
              for b in sorted(targets) if LAYERS.index(layer(b)) > LAYERS.index(layer(a))]
    assert upward == []


def test_no_import_cycle():
    edges = graph()
    # A package's __init__ importing its own modules is how a package exposes them, not a cycle.
    edges = {a: {b for b in targets if not b.startswith(a + ".")} for a, targets in edges.items()}
    cycles: list[str] = []
    state: dict[str, str] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [])
    assert cycles == []


def test_the_core_names_no_source():
    """Outside the sources' folders, nothing in the store, the notifier or the command
    line names a source: they ask the registry."""
    named = []
    for module, path in module_files().items():
        if module.startswith(("scraper.sources", "scraper.spiders")) or layer(module) == "records":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "oinp" in line or "express_entry" in line:
                named.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert named == []
