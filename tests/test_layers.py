"""The import direction of docs/architecture.md, checked on the source (every import, also those
inside functions): no module cycle, no import against the layers, one module per vendor."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rag", "ingest", "ui", "evals")

# what each part may import of the project (besides itself)
ALLOWED: dict[str, set[str]] = {
    "rag": set(),  # the package's own __init__
    "rag.core": set(),
    "rag.stores": {"rag.core"},
    "rag.retrieval": {"rag.core", "rag.stores"},
    "ingest": {"rag.core", "rag.stores"},
    "rag.answer": {"rag.core", "rag.stores", "rag.retrieval", "ingest"},
    "rag.staff": {"rag.core", "rag.stores", "rag.retrieval", "ingest", "rag.answer"},
    "ui": {"rag.core", "rag.stores", "rag.retrieval", "ingest", "rag.answer", "rag.staff"},
    "evals": {"rag.core", "rag.stores", "rag.retrieval", "ingest", "rag.answer", "rag.staff"},
    "rag.cli": {"rag.core", "rag.stores", "rag.retrieval", "ingest", "rag.answer", "rag.staff", "ui", "evals"},
}
# vendors behind one adapter each
VENDORS = {"chromadb": {"rag.stores.chroma_store"},
           "openai": {"rag.stores.openai_adapter"}, "langchain_openai": {"rag.stores.openai_adapter"}}


def modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = f
    return out


def imports(name: str, path: Path) -> set[str]:
    """Every module name an import statement in ``path`` names (relative ones resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_pkg else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)  # "from rag.cli import serve"
    return out


def part_of(module: str) -> str | None:
    """The part of ALLOWED a module belongs to (the longest prefix)."""
    best = None
    for p in ALLOWED:
        if (module == p or module.startswith(p + ".")) and (best is None or len(p) > len(best)):
            best = p
    return best


MODS = modules()
GRAPH = {m: {i for i in imports(m, f) if i in MODS and i != m} for m, f in MODS.items()}


def test_every_module_belongs_to_a_part():
    assert [m for m in MODS if part_of(m) is None] == []


def test_imports_follow_the_layers():
    wrong = []
    for m, deps in GRAPH.items():
        mine = part_of(m)
        for d in deps:
            theirs = part_of(d)
            if theirs != mine and theirs not in ALLOWED[mine]:
                wrong.append(f"{m} -> {d}")
    assert wrong == []


def test_nothing_imports_the_cli_and_only_the_cli_imports_ui_and_evals():
    for m, deps in GRAPH.items():
        if part_of(m) != "rag.cli":
            assert not any(part_of(d) == "rag.cli" for d in deps), m
        if part_of(m) not in ("rag.cli", "ui"):
            assert not any(part_of(d) == "ui" for d in deps), m
        if part_of(m) not in ("rag.cli", "evals"):
            assert not any(part_of(d) == "evals" for d in deps), m


def test_no_import_cycles():
    """Tarjan's strongly connected components over every import between project modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert cycles == []


def test_each_vendor_is_imported_by_its_adapter_only():
    for vendor, adapters in VENDORS.items():
        users = {m for m, f in MODS.items() if any(i == vendor or i.startswith(vendor + ".") for i in imports(m, f))}
        assert users <= adapters, (vendor, sorted(users - adapters))


def test_the_checker_sees_imports_inside_functions(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("def f():\n    from rag.cli.common import fail\n    import ui.app\n", encoding="utf-8")
    assert {"rag.cli.common", "rag.cli.common.fail", "ui.app"} <= imports("rag.core.x", f)
