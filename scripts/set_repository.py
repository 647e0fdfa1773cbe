#!/usr/bin/env python3
"""Point the course at another GitHub repository, e.g. a fork:

    python scripts/set_repository.py OWNER/NAME

rewrites everything that names the repository: ``REPOSITORY`` in ``vaecourse/kit/chapter.py``
(which the package's Colab links read), ``repository.url`` in ``_config.yml`` (the book's GitHub
button), the Open-in-Colab badge and the install cell at the top of every chapter, and the
links in ``book/*.md`` and ``README.md``.  ``--check`` changes nothing and exits 1 if any file
disagrees with ``REPOSITORY`` or has a badge or install cell other than the standard ones.

The notebooks are rewritten by a read-modify-write of those two cells (nothing is executed);
the badge is an inline PNG (a data URI), so that it shows on Colab, on GitHub and in the
offline book alike.
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BADGE_PNG = Path("book/images/colab-badge.png")
CHAPTER_PY = Path("vaecourse/kit/chapter.py")
NAME = r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+"
# every place a text file can name the repository: a GitHub URL, a Colab-from-GitHub URL
REFERENCE = re.compile(
    rf"(?:github\.com|colab\.research\.google\.com/github)/({NAME}?)(?=[/\"'\s)#?`]|\.git|\.(?:\s|$)|$)",
    re.M,
)
# an install line in the prose, e.g. in book/setup.md: its extras follow INSTALL_EXTRAS
INSTALL_REF = re.compile(r"vaecourse\[([A-Za-z0-9_,-]*)\] @ git\+https://github\.com/")
BADGE_LINE = re.compile(r"^\[!\[Open in Colab\]\([^)]*\)\]\([^)]*\)[ \t]*$", re.M)
INSTALL_CELL = """\
import sys
if "google.colab" in sys.modules:  # on Colab: install the course package first
    %pip install -q "{spec}"
    # to keep trained models and data in your Google Drive between sessions, uncomment:
    # %env VAECOURSE_CACHE=drive"""


def current(root: Path = ROOT) -> str:
    """``REPOSITORY`` as ``vaecourse/kit/chapter.py`` has it now."""
    m = re.search(r'^REPOSITORY = "([^"]+)"', (root / CHAPTER_PY).read_text(), re.M)
    if not m:
        sys.exit(f"set_repository: no REPOSITORY line in {CHAPTER_PY}")
    return m.group(1)


def extras(root: Path = ROOT) -> str:
    m = re.search(r"^INSTALL_EXTRAS = \(([^)]*)\)", (root / CHAPTER_PY).read_text(), re.M)
    return ",".join(re.findall(r'"([^"]+)"', m.group(1))) if m else ""


def badge(notebook: str, repository: str, root: Path = ROOT) -> str:
    """The first line of a chapter: the Open-in-Colab badge as an inline PNG, linking to Colab."""
    png = base64.b64encode((root / BADGE_PNG).read_bytes()).decode("ascii")
    url = f"https://colab.research.google.com/github/{repository}/blob/main/notebooks/{notebook}"
    return f"[![Open in Colab](data:image/png;base64,{png})]({url})"


def install_cell(repository: str, root: Path = ROOT) -> str:
    """The source of a chapter's first code cell (it does something only on Colab)."""
    spec = f"vaecourse[{extras(root)}] @ git+https://github.com/{repository}"
    return INSTALL_CELL.format(spec=spec)


def is_install_cell(cell) -> bool:
    return (
        cell.cell_type == "code" and "%pip install" in cell.source and "google.colab" in cell.source
    )


def text_files(root: Path) -> list:
    return [
        root / "README.md",
        root / "_config.yml",
        root / CHAPTER_PY,
        *sorted((root / "book").glob("*.md")),
    ]


def notebooks(root: Path) -> list:
    return sorted((root / "notebooks").glob("[0-9]*.ipynb"))


def problems(repository: str, root: Path = ROOT) -> list:
    """Every place that disagrees with ``repository`` (empty when all agree)."""
    import nbformat

    found = []
    for path in text_files(root) + notebooks(root):
        text = path.read_text()
        for m in REFERENCE.finditer(text):
            if m.group(1).removesuffix(".git") != repository:
                found.append(f"{path.relative_to(root)}: names {m.group(1)}")
        for m in INSTALL_REF.finditer(text):
            if m.group(1) != extras(root):
                found.append(
                    f"{path.relative_to(root)}: installs [{m.group(1)}], not [{extras(root)}]"
                )
    for path in notebooks(root):
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0].source.splitlines()[0] if nb.cells and nb.cells[0].source else ""
        if nb.cells[0].cell_type != "markdown" or first != badge(path.name, repository, root):
            found.append(f"{path.relative_to(root)}: first line is not the standard badge")
        installs = [c for c in nb.cells if is_install_cell(c)]
        if not installs or installs[0] is not next(c for c in nb.cells if c.cell_type == "code"):
            found.append(f"{path.relative_to(root)}: the first code cell is not the install cell")
        elif installs[0].source != install_cell(repository, root):
            found.append(f"{path.relative_to(root)}: install cell differs from the standard one")
    return found


def repoint_notebook(nb, name: str, repository: str, root: Path = ROOT) -> bool:
    """Give the notebook ``name`` the standard badge and install cell for ``repository`` and
    re-point any other mention; True if anything changed."""
    before = [c.source for c in nb.cells]
    head = nb.cells[0]
    if head.cell_type == "markdown" and BADGE_LINE.match(head.source):
        head.source = BADGE_LINE.sub(lambda m: badge(name, repository, root), head.source, count=1)
    else:  # no badge yet: put one on top of the chapter's first cell
        head.source = badge(name, repository, root) + "\n\n" + head.source
    for cell in nb.cells:
        if is_install_cell(cell):
            cell.source = install_cell(repository, root)
            break
    for cell in nb.cells:  # any other mention, e.g. a link in the prose
        cell.source = REFERENCE.sub(
            lambda m: m.group(0).replace(m.group(1), repository), cell.source
        )
    return [c.source for c in nb.cells] != before


def set_repository(repository: str, root: Path = ROOT) -> list:
    """Rewrite every reference to point at ``repository``; returns the files changed."""
    import nbformat

    old = current(root)
    changed = []
    for path in text_files(root):
        text = path.read_text()
        new = REFERENCE.sub(lambda m: m.group(0).replace(m.group(1), repository), text)
        new = INSTALL_REF.sub(lambda m: m.group(0).replace(m.group(1), extras(root)), new)
        if path.name == "chapter.py":
            new = re.sub(r'^REPOSITORY = "[^"]+"', f'REPOSITORY = "{repository}"', new, flags=re.M)
        if new != text:
            path.write_text(new)
            changed.append(path)
    for path in notebooks(root):
        nb = nbformat.read(path, as_version=4)
        if repoint_notebook(nb, path.name, repository, root):
            nbformat.write(nb, path)
            changed.append(path)
    print(f"repository: {old} -> {repository}; {len(changed)} files changed")
    return changed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "repository", nargs="?", help="OWNER/NAME on GitHub (default: keep the current one)"
    )
    ap.add_argument("--root", default=str(ROOT), help="the checkout to change (default: this one)")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 on disagreement")
    args = ap.parse_args(argv)
    root = Path(args.root).resolve()
    repository = args.repository or current(root)
    if not re.fullmatch(NAME, repository):
        ap.error(f"expected OWNER/NAME, got {repository!r}")
    if not args.check:
        set_repository(repository, root)
    found = problems(repository, root)
    for line in found:
        print(f"set_repository: {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
