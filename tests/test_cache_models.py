"""The model cache never serves a model trained on other data, and loads what it has even when
it cannot write.

Tiny models (16x16 faces, z_dim 4, one epoch on 80 made-up CelebA images) go through the same
``zoo`` functions the book's models do.
"""

import pytest

from vaecourse.kit import profiles, zoo
from vaecourse.kit.data import celeba

TINY = dict(image_size=16, filters=(4, 8), z_dim=4)


def tiny_profile():
    P = profiles.profile("ci")
    return P.replace(
        dataset="celeba", image_size=16, n_train=80, n_val=10, epochs=1, batch_size=16, z_dim=4
    )


@pytest.fixture(scope="module")
def two_copies(tmp_path_factory):
    """Two made-up CelebA folders of 100 images each that differ in their pixels."""
    root = tmp_path_factory.mktemp("celeba_copies")
    a = celeba.write_fake_celeba(root / "a", 100, seed=5, layout="original", workers=1)
    b = celeba.write_fake_celeba(root / "b", 100, seed=6, layout="original", workers=1)
    return a, b


pytestmark = pytest.mark.usefixtures("fresh_cache")  # tests/conftest.py


def test_a_model_is_keyed_by_the_data_that_trained_it(two_copies, monkeypatch, capsys):
    a, b = two_copies
    P = tiny_profile()
    monkeypatch.setenv(celeba.ENV_CELEBA, str(a))
    first = zoo.face_vae(P, **TINY)
    assert first.trained
    monkeypatch.setenv(celeba.ENV_CELEBA, str(b))
    other = zoo.face_vae(P, **TINY)
    assert other.trained, "a model trained on another copy of CelebA was reused"
    assert other.key != first.key
    monkeypatch.setenv(celeba.ENV_CELEBA, str(a))
    capsys.readouterr()
    again = zoo.face_vae(P, **TINY)
    assert not again.trained and again.key == first.key
    said = capsys.readouterr().out
    assert first.trained_on != other.trained_on  # each names its prepared set
    assert f"trained on {first.trained_on}" in said and other.trained_on not in said
    assert str(a) not in said  # no machine paths: this is printed into notebooks


# ----------------------------------------------------------------------------- the classifier
def _copy_with_attributes(src, dst, edit):
    """A copy of a made-up CelebA (original layout) whose attribute file ``edit`` rewrites
    (``edit(lines) -> lines``; None deletes the file)."""
    import shutil

    shutil.copytree(src, dst)
    path = dst / "list_attr_celeba.txt"
    lines = path.read_text().splitlines(keepends=True)
    new = edit(lines)
    if new is None:
        path.unlink()
    else:
        path.write_text("".join(new))
    return dst


def _flip_first_column(lines):
    out = lines[:2]
    for line in lines[2:]:
        name, first, *rest = line.split()
        out.append(" ".join([name, str(-int(first)), *rest]) + "\n")
    return out


def test_the_classifier_refuses_faces_without_attributes(two_copies, tmp_path, monkeypatch):
    bare = _copy_with_attributes(two_copies[0], tmp_path / "bare", lambda lines: None)
    monkeypatch.setenv(celeba.ENV_CELEBA, str(bare))
    with pytest.raises(celeba.CelebAError, match="attribute"):
        zoo.attribute_classifier(tiny_profile())


def test_the_classifier_trains_on_labelled_faces_only(two_copies, tmp_path, monkeypatch, capsys):
    # no rows for images 51-80: 30 of the 80 training images have unknown attributes
    part = _copy_with_attributes(
        two_copies[0], tmp_path / "part", lambda lines: lines[:52] + lines[82:]
    )
    monkeypatch.setenv(celeba.ENV_CELEBA, str(part))
    entry = zoo.attribute_classifier(tiny_profile())
    assert entry.trained
    said = capsys.readouterr().out
    assert "50 of the 80 training faces" in said and "unknown" in said


def test_the_classifier_is_keyed_by_the_attributes(two_copies, tmp_path, monkeypatch):
    from vaecourse.kit.data import load_faces

    P = tiny_profile()
    flipped = _copy_with_attributes(two_copies[0], tmp_path / "flip", _flip_first_column)
    monkeypatch.setenv(celeba.ENV_CELEBA, str(two_copies[0]))
    first = zoo.attribute_classifier(P)
    same_images = load_faces(P, verbose=False).tag
    monkeypatch.setenv(celeba.ENV_CELEBA, str(flipped))
    assert load_faces(P, verbose=False).tag == same_images  # the images' models are shared
    other = zoo.attribute_classifier(P)
    assert other.trained and other.key != first.key


# ----------------------------------------------------------------------------- read-only
def test_a_read_only_model_cache_still_serves_its_models(two_copies, monkeypatch):
    from vaecourse.kit import files, model_cache

    P = tiny_profile()
    monkeypatch.setenv(celeba.ENV_CELEBA, str(two_copies[0]))
    first = zoo.face_vae(P, **TINY)
    cache = first.path.parent.parent

    def read_only(*args, **kwargs):  # what a read-only disk does to a write
        raise PermissionError(30, "Read-only file system", str(cache))

    monkeypatch.setattr(files, "locked", read_only)
    monkeypatch.setattr(model_cache, "locked", read_only)
    monkeypatch.setattr(model_cache, "atomic_path", read_only)
    again = zoo.face_vae(P, **TINY)
    assert not again.trained and again.key == first.key


@pytest.mark.skipif(__import__("os").geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_model_cache_folder_still_serves_its_models(two_copies, monkeypatch):
    import os

    P = tiny_profile()
    monkeypatch.setenv(celeba.ENV_CELEBA, str(two_copies[0]))
    first = zoo.face_vae(P, **TINY)
    zoo.face_vae(P, **TINY)  # the prepared set's sources are recorded: nothing left to write
    cache = first.path.parent.parent
    modes = {}
    for root, _dirs, names in os.walk(cache):
        for p in [root, *(os.path.join(root, n) for n in names)]:
            modes[p] = os.stat(p).st_mode
            os.chmod(p, 0o555 if p == root else 0o444)
    try:
        again = zoo.face_vae(P, **TINY)
        assert not again.trained
    finally:
        for p, mode in modes.items():
            os.chmod(p, mode)
