"""CelebA splits and labels at scale: the official partitions, the book subset, the minimum
sizes, and the fast label parser agreeing with the careful one."""

import numpy as np
import pytest

from vaecourse.kit.data import celeba
from vaecourse.kit.data.attributes import ATTR_NAMES


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAECOURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(celeba.ENV_CELEBA, raising=False)


@pytest.fixture(scope="module")
def fake100(tmp_path_factory):
    """100 made-up 178x218 faces in the original layout: partitions 80 / 10 / 10."""
    root = tmp_path_factory.mktemp("celeba100")
    return celeba.write_fake_celeba(root / "orig", 100, seed=3, layout="original", workers=1)


def _attr_text(n, rng):
    rows = rng.choice([-1, 1], size=(n, len(ATTR_NAMES)))
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    text = (
        f"{n}\n"
        + " ".join(ATTR_NAMES)
        + "\n"
        + "".join(nm + " " + " ".join(f"{v:2d}" for v in r) + "\n" for nm, r in zip(names, rows))
    )
    return text, names, rows


def test_splits_follow_the_official_partition(fake100):
    faces = celeba.load_celeba(16, 70, 10, source=fake100, progress=False, verbose=False)
    part = faces.partition
    names = np.array(faces.names)
    assert faces.train.shape[0] == 70 and faces.val.shape[0] == 10 and faces.test.shape[0] == 10
    all_images = np.load(faces.path / "images.npy")
    # train is the first 70 of partition 0, val all of 1, test all of 2 -- and never mixed
    np.testing.assert_array_equal(faces.train, all_images[np.flatnonzero(part == 0)[:70]])
    np.testing.assert_array_equal(faces.val, all_images[part == 1])
    np.testing.assert_array_equal(faces.test, all_images[part == 2])
    assert set(names[part == 1]).isdisjoint(names[part == 0])


def test_a_selection_prepares_only_the_named_files(fake100):
    chosen = [f"{i:06d}.jpg" for i in (1, 2, 3, 85, 86, 95, 96, 97)] + ["999999.jpg"]
    folder = celeba.prepare_celeba(16, source=fake100, names=chosen, progress=False, verbose=False)
    assert (folder / "names.txt").read_text().split() == sorted(chosen)[:-1]
    manifest = celeba.store.validate(folder)
    assert manifest["selected_not_found"] == 1 and manifest["count"] == 8
    other = celeba.prepare_celeba(
        16, source=fake100, names=chosen[:4], progress=False, verbose=False
    )
    assert other != folder  # another selection, another cache folder


def test_too_few_images_is_a_clear_error_never_an_empty_validation_set(fake100, monkeypatch):
    monkeypatch.setattr(celeba, "MIN_VAL", 11)  # the made-up set has 10 val images
    with pytest.raises(celeba.CelebAError, match="validation images"):
        celeba.load_celeba(16, 70, 20, source=fake100, progress=False, verbose=False)


def test_fewer_than_asked_is_used_with_a_note(fake100, capsys):
    faces = celeba.load_celeba(16, 500, 50, source=fake100, progress=False)
    assert len(faces.train) == 80 and len(faces.val) == 10
    assert "fewer images than asked for" in capsys.readouterr().err


def test_fast_parser_agrees_with_the_row_by_row_parser():
    rng = np.random.default_rng(0)
    text, names, rows = _attr_text(3000, rng)
    labels = celeba.parse_attributes(text)
    assert len(labels.rows) == 3000 and not labels.problems
    np.testing.assert_array_equal(labels.rows[names[1234]], rows[1234])
    # one bad row sends the file through the careful parser, which reports it by line
    bad = text.replace(names[10] + " ", names[10] + " x", 1)
    careful = celeba.parse_attributes(bad)
    assert careful.malformed[0][0] == 13 and len(careful.rows) == 2999
    np.testing.assert_array_equal(careful.rows[names[11]], rows[11])
    # a row one value short next to a row one value long adds up, and is still caught
    lines = text.splitlines()
    lines[5] = lines[5][:-3]
    lines[6] = lines[6] + "  1"
    odd = celeba.parse_attributes("\n".join(lines) + "\n")
    assert len(odd.malformed) == 2


def test_keep_parses_only_the_named_rows():
    rng = np.random.default_rng(1)
    text, names, rows = _attr_text(500, rng)
    labels = celeba.parse_attributes(text, keep=set(names[:7]))
    assert sorted(labels.rows) == names[:7] and labels.not_kept == 493
    assert not labels.problems  # the count line still adds up
    part = celeba.parse_partitions(
        "".join(f"{n} {i % 3}\n" for i, n in enumerate(names)), keep={names[4]}
    )
    assert part.rows == {names[4]: 1} and part.not_kept == 499


def test_book_subset_list_is_sorted_unique_celeba_names():
    names = celeba.book_subset()
    assert len(names) == 15_723 and names == sorted(set(names))
    assert all(len(n) == 10 and n.endswith(".jpg") and n[:6].isdigit() for n in names)
