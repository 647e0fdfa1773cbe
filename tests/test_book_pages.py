"""The reader's pages say what the code does: the profile table matches vaecourse.profiles, every
page is in the table of contents, and the chapters that use CelebA's attributes link the data page."""

import re
from pathlib import Path

import nbformat
import pytest
import yaml

from vaecourse.profiles import PROFILE_NAMES, profile

ROOT = Path(__file__).resolve().parents[1]


def table_rows(markdown: str, first_header: str) -> dict:
    """``{first cell: [cells]}`` of the Markdown table whose header starts with ``first_header``."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells
    return rows


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_profile_table_matches_the_profiles(name):
    rows = table_rows((ROOT / "book/how_to_use.md").read_text(), "profile")
    _, _, faces, images, epochs, _ = rows[name]
    P = profile(name)
    assert faces.startswith(f"{P.image_size}×{P.image_size}"), faces
    assert int(images.replace(",", "")) == P.n_train
    assert int(epochs) == P.epochs


def test_every_book_page_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    files = set(re.findall(r"file: (\S+)", toc)) | {yaml.safe_load(toc)["root"]}
    for page in (ROOT / "book").glob("*.md"):
        assert f"book/{page.stem}" in files, page.name


@pytest.mark.parametrize("stem", ["00_setup", "15_latent_explorer"])
def test_chapters_using_attributes_link_the_data_page(stem):
    nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "](../book/data.md)" in markdown
