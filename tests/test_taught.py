""" "Taught" as a checked property of the taught layer (``vaecourse/*.py``).

Every public function and class there opens its docstring with the chapter that teaches it,
``(chapter X)`` -- the label the chapter gives ``chapter.start`` -- and that chapter reaches it:
its notebook names it in a code cell (a call, an import, ``show_source``), shows source that
uses it, names a definition that returns it (by return annotation), or calls taught code that
needs it (the taught layer cannot lean on the kit, so what its taught code uses is part of it).
A public definition no chapter reaches belongs to ``vaecourse/kit/`` (or is deleted);
``chapter.show_source`` leaves the tag out of its listings.  No taught function or method is
longer than :data:`MAX_LINES` lines.
"""

import ast
import importlib
import inspect
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TAUGHT = sorted(p for p in (ROOT / "vaecourse").glob("*.py") if p.name != "__init__.py")
TAG = re.compile(r"^\(chapter ([^)]+)\) ")
MAX_LINES = 60
#: Definitions of a chapter still being written, excused until it reaches them; remove each name
#: when it does.
PENDING: set[str] = set()


def code_of(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def chapters() -> dict:
    """``{label: code of its notebook}``, the label as the notebook gives ``chapter.start``."""
    found = {}
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        code = code_of(nb)
        m = re.search(r'chapter\.start\(\s*"([^"]+)"', code)
        if m:
            found[m.group(1)] = code
    return found


def definitions(path: Path):
    """``(name, node)`` of the module's top-level public functions and classes."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            yield node.name, node


def tagged():
    """``[(module, name, chapter label or None, node)]`` over the taught layer."""
    out = []
    for path in TAUGHT:
        for name, node in definitions(path):
            m = TAG.match(ast.get_docstring(node, clean=False) or "")
            out.append((path.stem, name, m.group(1) if m else None, node))
    return out


def shown_sources(code: str) -> str:
    """The source of everything a chapter shows with ``chapter.show_source``."""
    spaces = {}
    for mod in re.findall(r"from vaecourse(?:\.kit)? import ([\w, ]+)", code):
        for name in (n.strip() for n in mod.split(",")):
            for package in ("vaecourse", "vaecourse.kit"):
                try:
                    spaces[name] = importlib.import_module(f"{package}.{name}")
                    break
                except ImportError:
                    continue
    out = []
    for args in re.findall(r"show_source\(([^)]*)\)", code):
        for arg in (a.strip() for a in args.split(",") if a.strip()):
            obj = eval(arg, {}, spaces)  # dotted names of the package, nothing else
            out.append(inspect.getsource(getattr(obj, "fget", obj)))
    return "\n".join(out)


def reexported(code: str, module: str, name: str) -> bool:
    """The chapter names the definition through a kit module that re-exports it
    (``kit.alias.name`` or ``from vaecourse.kit.alias import name``)."""
    taught = getattr(importlib.import_module(f"vaecourse.{module}"), name)
    for found in re.findall(r"from vaecourse\.kit import ([\w, ]+)", code):
        for alias in (a.strip() for a in found.split(",")):
            if re.search(rf"\b{alias}\.{name}\b", code):
                kit = importlib.import_module(f"vaecourse.kit.{alias}")
                if getattr(kit, name, None) is taught:
                    return True
    for alias, names in re.findall(r"from vaecourse\.kit\.(\w+) import ([\w, ]+)", code):
        if name in (n.strip() for n in names.split(",")):
            kit = importlib.import_module(f"vaecourse.kit.{alias}")
            if getattr(kit, name, None) is taught:
                return True
    return False


def reaches(code: str, shown: str, module: str, name: str, returns: dict) -> bool:
    named = re.search(rf"\b{module}\.{name}\b", code) or any(
        re.search(rf"\b{name}\b", line)
        for line in re.findall(rf"from vaecourse\.{module} import ([^\n]*)", code)
    )
    if named or re.search(rf"\b{name}\b", shown):
        return True
    # a class the chapter gets from a definition it names (e.g. the config a builder returns)
    return any(
        returns.get((module, f)) == name and re.search(rf"\b{module}\.{f}\b", code)
        for (m, f) in returns
        if m == module
    )


def uses() -> dict:
    """``{(module, name): {(module, name) of the taught definitions its source uses}}``; a
    module-level constant it names (e.g. a table of builders) counts with what it names."""
    trees = {p.stem: ast.parse(p.read_text()) for p in TAUGHT}
    defs = {
        (m, n) for m, t in trees.items() for n, _ in definitions(ROOT / "vaecourse" / f"{m}.py")
    }
    out = {}
    for m, tree in trees.items():
        imported = {}  # bare name -> module, for "from .mod import name"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                imported.update({a.asname or a.name: node.module for a in node.names})
        consts = {
            t.id: ast.unparse(node.value)
            for node in tree.body
            if isinstance(node, ast.Assign)
            for t in node.targets
            if isinstance(t, ast.Name)
        }
        for node in tree.body:
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) or node.name.startswith("_"):
                continue
            src = ast.unparse(node)
            src += "\n".join(v for k, v in consts.items() if re.search(rf"\b{k}\b", src))
            names = set(re.findall(r"\b\w+\.\w+\b|\b\w+\b", src))
            out[(m, node.name)] = {
                (dm, dn)
                for dm, dn in defs
                if (dm, dn) != (m, node.name)
                and (f"{dm}.{dn}" in names or (dn in names and imported.get(dn, m) == dm))
            }
    return out


def reach_of_each_chapter() -> dict:
    """``{label: {(module, name) the chapter reaches}}``."""
    labels = chapters()
    returns = {}
    for m, n, _, node in tagged():
        if isinstance(node, ast.FunctionDef) and node.returns is not None:
            returns[(m, n)] = ast.unparse(node.returns).strip("'\"").split(".")[-1]
    graph = uses()
    out = {}
    for label, code in labels.items():
        shown = shown_sources(code)
        todo = [
            (m, n)
            for m, n, _, _ in tagged()
            if reaches(code, shown, m, n, returns) or reexported(code, m, n)
        ]
        seen = set(todo)
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        out[label] = seen
    return out


def test_every_public_definition_of_the_taught_layer_names_its_chapter():
    labels = chapters()
    assert len(labels) >= 19
    untagged = [f"{m}.{n}" for m, n, label, _ in tagged() if label is None]
    untagged = [name for name in untagged if name not in PENDING]
    assert untagged == [], "tag them '(chapter X)' or move them to vaecourse/kit/"
    unknown = [f"{m}.{n}: {label}" for m, n, label, _ in tagged() if label not in labels]
    assert unknown == [], f"chapters are {sorted(labels)}"


def test_each_chapter_reaches_what_it_is_said_to_teach():
    reach = reach_of_each_chapter()
    missing = [
        f"{m}.{n} (chapter {label})"
        for m, n, label, _ in tagged()
        if label in reach and (m, n) not in reach[label] and f"{m}.{n}" not in PENDING
    ]
    assert missing == [], "the chapter neither shows nor uses these"


def test_chapters_hand_numbers_to_the_prose_through_chapter_quote():
    direct = sorted(
        label
        for label, code in chapters().items()
        if re.search(r"(?<![\w.])glue\(|from myst_nb import glue", code)
    )
    assert direct == []


def test_the_kit_reads_profile_values_through_pick_not_the_name():
    compares = re.compile(r"""\.name\s*[=!]=\s*["'](ci|book|full)["']""")
    found = sorted(
        p.name for p in (ROOT / "vaecourse" / "kit").rglob("*.py") if compares.search(p.read_text())
    )
    assert found == []


def test_the_kit_is_untagged():
    """A chapter tag says "taught": machinery in the kit carries none (move it, or drop the tag)."""
    found = []
    for path in sorted((ROOT / "vaecourse" / "kit").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                if TAG.match(ast.get_docstring(node, clean=False) or ""):
                    found.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert found == []


@pytest.mark.parametrize("path", TAUGHT, ids=lambda p: p.name)
def test_no_taught_function_is_longer_than_a_screen(path):
    long = [
        f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_LINES
    ]
    assert long == []


def test_the_rules_catch_an_untaught_definition():
    code = 'P = chapter.start("Z", "t")\nmodels.build_ae(cfg)\nshow_source(models.encode)'
    returns = {("models", "build_ae"): "Model"}
    assert reaches(code, "", "models", "build_ae", returns)
    assert reaches(code, "", "models", "Model", returns)
    assert not reaches(code, "", "models", "build_encoder", returns)
    assert reaches(code, "x = build_encoder(config)", "models", "build_encoder", returns)
