"""Every badge, install cell and link names the repository in vaecourse.kit.chapter.REPOSITORY, and
scripts/set_repository.py re-points all of them at once."""

import importlib.util
import re
import shutil
from pathlib import Path

import nbformat

from vaecourse.kit import chapter, colab

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("set_repository", ROOT / "scripts/set_repository.py")
set_repository = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(set_repository)


def test_everything_names_chapter_repository():
    assert set_repository.current() == chapter.REPOSITORY
    assert set_repository.problems(chapter.REPOSITORY) == []


def test_the_install_cell_installs_what_chapter_install_spec_says():
    assert f'%pip install -q "{colab.install_spec()}"' in set_repository.install_cell(
        chapter.REPOSITORY
    )


def test_a_stray_reference_is_found(tmp_path):
    root = _copy(tmp_path)
    setup = root / "book/setup.md"
    setup.write_text(setup.read_text() + "\nSee https://github.com/someone/else.\n")
    assert any("someone/else" in p for p in set_repository.problems(chapter.REPOSITORY, root))


def _copy(tmp_path) -> Path:
    root = tmp_path / "checkout"
    for rel in [
        "README.md",
        "_config.yml",
        "vaecourse/kit/chapter.py",
        "book/images/colab-badge.png",
    ]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, root / rel)
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".*"))
    for md in (ROOT / "book").glob("*.md"):
        shutil.copy(md, root / "book" / md.name)
    return root


def test_set_repository_re_points_every_reference(tmp_path):
    root = _copy(tmp_path)
    before = {
        p: nbformat.read(p, as_version=4) for p in sorted((root / "notebooks").glob("*.ipynb"))
    }
    set_repository.main(["someone/fork", "--root", str(root)])

    assert set_repository.problems("someone/fork", root) == []
    old = re.escape(chapter.REPOSITORY)
    for path in [
        p for p in root.rglob("*") if p.is_file() and p.suffix in (".md", ".yml", ".py", ".ipynb")
    ]:
        assert not re.search(rf"(github\.com|/github)/{old}\b|\"{old}\"", path.read_text()), path
    assert 'REPOSITORY = "someone/fork"' in (root / "vaecourse/kit/chapter.py").read_text()
    assert "url: https://github.com/someone/fork" in (root / "_config.yml").read_text()
    # in the notebooks only the badge line and the install cell change: outputs and the rest stay
    for path, nb in before.items():
        after = nbformat.read(path, as_version=4)
        assert len(after.cells) == len(nb.cells)
        for a, b in zip(after.cells, nb.cells):
            assert a.get("outputs") == b.get("outputs") and a.metadata == b.metadata
            if a.source != b.source:
                changed = set(a.source.splitlines()) ^ set(b.source.splitlines())
                assert all("someone/fork" in line or chapter.REPOSITORY in line for line in changed)
