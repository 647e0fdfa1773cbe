#!/usr/bin/env python3
"""Alt text for the book's figures: what each image a chapter draws shows, in words.

    python scripts/alt_text.py apply [NOTEBOOK ...]   # write scripts/alt_text.json into the cells
    python scripts/alt_text.py check [NOTEBOOK ...]   # list figures without real alt text

myst-nb gives every image output of a code cell the alt text in the cell's metadata
``{"mystnb": {"image": {"alt": "..."}}}``; without it Sphinx writes the image's file name
(``../_images/e1ab….png``), which is all a screen reader would get.  ``scripts/alt_text.json``
holds the texts, ``{notebook stem: {cell id: text}}`` (cell ids survive re-execution and cells
inserted elsewhere); ``apply`` copies them into the metadata (text and metadata only, outputs
untouched) and refuses an id that is not a code cell with an image output.  A text says what
the figure shows ("Grid of 16 faces decoded from z ~ N(0, I): blurred but recognisable faces"),
not what it is called.  ``check`` (and ``tests/test_book_pages.py``) fails on a figure whose alt
text is missing, empty or a file name; ``scripts/check_book.py`` does the same on the built pages
with :func:`bad_alt`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).with_name("alt_text.json")
NOTEBOOKS = ROOT / "notebooks"
_FILE = re.compile(r"^\S*\.(png|jpe?g|gif|svg|webp|pdf)$", re.I)
MIN_WORDS = 2  # a logo's "Colab logo" says enough; one word never does


def bad_alt(alt: str | None, src: str = "") -> str | None:
    """Why ``alt`` says nothing about the image at ``src`` (None when it is real alt text)."""
    text = (alt or "").strip()
    if not text:
        return "no alt text"
    name = src.rsplit("/", 1)[-1]
    if _FILE.match(text) or (name and text in (src, name)):
        return f"alt text is a file name ({text[:60]})"
    if len(text.split()) < MIN_WORDS:
        return f"alt text too short to say what the image shows ({text!r})"
    return None


def image_outputs(cell) -> int:
    """How many image outputs a stored code cell has."""
    if cell.get("cell_type") != "code":
        return 0
    return sum(
        1 for o in cell.get("outputs", []) if any(k.startswith("image/") for k in o.get("data", {}))
    )


def cell_alt(cell) -> str | None:
    return ((cell.get("metadata", {}).get("mystnb") or {}).get("image") or {}).get("alt")


def figures_without_alt(nb) -> list[str]:
    """``cell N (id): reason`` for every code cell with an image output and no real alt text."""
    return [
        f"cell {i} ({cell.get('id')}): {reason}"
        for i, cell in enumerate(nb.cells)
        if image_outputs(cell) and (reason := bad_alt(cell_alt(cell)))
    ]


def load_texts() -> dict:
    return json.loads(DATA.read_text())


def apply(path: Path, texts: dict) -> int:
    """Write ``texts`` ({cell id: alt}) into ``path``'s cell metadata; return the cells changed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    by_id = {cell.get("id"): cell for cell in nb.cells}
    changed = 0
    for cell_id, alt in texts.items():
        cell = by_id.get(cell_id)
        if cell is None or not image_outputs(cell):
            raise SystemExit(f"{path.name}: cell {cell_id} is not a code cell with an image output")
        if reason := bad_alt(alt):
            raise SystemExit(f"{path.name}: cell {cell_id}: {reason}")
        if cell_alt(cell) != alt:
            cell.metadata.setdefault("mystnb", {}).setdefault("image", {})["alt"] = alt
            changed += 1
    if changed:
        tmp = path.with_suffix(".ipynb.tmp")
        nbformat.write(nb, tmp)
        tmp.replace(path)
    return changed


def _paths(names: list[str]) -> list[Path]:
    if not names:
        return sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    return [Path(n) if Path(n).suffix == ".ipynb" else NOTEBOOKS / f"{n}.ipynb" for n in names]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("action", choices=["apply", "check"])
    ap.add_argument("notebooks", nargs="*", help="notebook paths or stems (default: all)")
    args = ap.parse_args(argv)
    import nbformat

    texts, status = load_texts(), 0
    for path in _paths(args.notebooks):
        if args.action == "apply":
            n = apply(path, texts.get(path.stem, {}))
            print(f"{path.name}: {n} figure(s) given alt text")
            continue
        missing = figures_without_alt(nbformat.read(path, as_version=4))
        for line in missing:
            print(f"{path.name} {line}")
        status |= bool(missing)
    return status


if __name__ == "__main__":
    sys.exit(main())
