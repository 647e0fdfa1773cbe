"""The package's shape: the taught layer never imports the kit, and no module imports itself
back through others.  The graph is read statically with ``ast`` and includes imports inside
functions, where import cycles like to hide."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vaecourse"
KIT = "vaecourse.kit"


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = PACKAGE, unresolved: list | None = None) -> dict:
    """``{module: {package modules it imports, at any depth of its code}}``; imports of package
    modules that do not exist are appended to ``unresolved``."""
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets.add(base)
                if (
                    base.split(".")[0] == "vaecourse"
                    and base not in files
                    and unresolved is not None
                ):
                    unresolved.append(f"{name}: from {base} import ...")
                # "from . import models" names a module; "from .models import VAE" does not
                targets.update(f"{base}.{alias.name}" for alias in node.names)
        # a module's own parent packages are initialised before it runs: never a cycle
        ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        graph[name] = {t for t in targets if t in files and t != name and t not in ancestors}
    return graph


def is_kit(name: str) -> bool:
    return name == KIT or name.startswith(KIT + ".")


def find_cycle(graph: dict):
    """One import cycle as a list of modules, or None."""
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt, stack + [nxt])):
                return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_the_graph_sees_imports_inside_functions(tmp_path):
    pkg = tmp_path / "vaecourse"
    (pkg / "kit").mkdir(parents=True)
    for f in ("__init__.py", "a.py", "kit/__init__.py", "kit/b.py"):
        (pkg / f).write_text("")
    (pkg / "a.py").write_text("def f():\n    from .kit import b\n    return b\n")
    (pkg / "kit" / "b.py").write_text("from .. import a\nfrom ..a import f\n")
    graph = import_graph(pkg)
    assert graph["vaecourse.a"] == {"vaecourse.kit", "vaecourse.kit.b"}
    assert graph["vaecourse.kit.b"] == {"vaecourse.a"}
    assert find_cycle(graph) == ["vaecourse.a", "vaecourse.kit.b", "vaecourse.a"]


def test_the_taught_layer_never_imports_the_kit():
    graph = import_graph()
    assert any(is_kit(m) for m in graph), "vaecourse.kit is missing"
    wrong = {m: sorted(t for t in ts if is_kit(t)) for m, ts in graph.items() if not is_kit(m)}
    assert {m: ts for m, ts in wrong.items() if ts} == {}


def test_every_import_of_a_package_module_resolves():
    unresolved = []
    import_graph(unresolved=unresolved)
    assert unresolved == []


def test_there_are_no_import_cycles():
    assert find_cycle(import_graph()) is None


def test_no_private_names_imported_across_modules():
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                found += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith("_")]
    assert found == []
