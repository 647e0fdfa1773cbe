"""House rules for the chapter notebooks, checked on the committed files (no execution).

nbval checks that the notebooks run and that compared outputs do not drift; these tests check
what nbval does not: that every chapter is executed and committed with outputs, is in the
table of contents, has its Colab badge, prints its profile first, ends with a summary and
exercises, shows no stray tracebacks, no SVG figures and no paths of the machine it ran on.
"""

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
MACHINE_PATH = re.compile(r"(/work/|/root/|/home/[a-z]|/tmp/|site-packages|\.venv/)")


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc)
    return files


def output_text(out) -> str:
    if out.output_type == "stream":
        return out.text
    if out.output_type == "error":
        return "\n".join(out.traceback)
    return "\n".join(str(v) for k, v in out.get("data", {}).items() if k.startswith("text/"))


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 2


def test_toc_lists_every_chapter_in_order():
    listed = [f for f in toc_files() if f.startswith("notebooks/")]
    on_disk = [f"notebooks/{p.stem}" for p in NOTEBOOKS]
    assert listed == on_disk


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_house_rules(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    # badge in the first cell, pointing at this very notebook
    assert f"notebooks/{path.name}" in nb.cells[0].source and "colab" in nb.cells[0].source.lower()
    assert re.search(r"^#+ .*Summary", md, re.M), "a chapter ends with a summary"
    assert re.search(r"^#+ .*Exercises", md, re.M), "a chapter ends with exercises"
    printed_profile = False
    for cell in code:
        tags = cell.metadata.get("tags", [])
        assert cell.execution_count is not None, f"not executed: {cell.source[:80]!r}"
        assert "execution" not in cell.metadata, "timing metadata is dropped"
        for line in cell.source.splitlines():
            if line.strip().startswith(("%pip", "!pip")):
                assert "google.colab" in cell.source, "%pip only inside a Colab check"
        for out in cell.outputs:
            if out.output_type == "error":
                assert "raises-exception" in tags, f"stray traceback in {cell.source[:80]!r}"
            assert "image/svg+xml" not in out.get("data", {}), "figures are PNG"
            text = output_text(out)
            assert not MACHINE_PATH.search(text), (
                f"machine path in output: {MACHINE_PATH.search(text)[0]}"
            )
            printed_profile = printed_profile or "profile=" in text
    assert printed_profile, "a chapter prints the profile it ran with"
    first_with_output = next(c for c in code if c.outputs)
    assert "profile=" in "".join(output_text(o) for o in first_with_output.outputs), (
        "the profile is the chapter's first output"
    )
