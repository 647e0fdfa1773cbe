"""The synthetic face set: deterministic, varied, labelled like CelebA, cached safely."""

import numpy as np
import pytest

from vaecourse.kit.data import ATTR_NAMES, attr_index, render_faces, store
from vaecourse.kit.data import faces as faces_mod
from vaecourse.kit.data.synthetic import CHUNK


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAECOURSE_CACHE", str(tmp_path / "cache"))


def test_same_seed_same_images_and_prefix_property():
    a = render_faces(CHUNK + 6, 24, seed=3, workers=1)
    b = render_faces(CHUNK + 6, 24, seed=3, workers=1)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.attrs, b.attrs)
    small = render_faces(5, 24, seed=3, workers=1)  # the first k of a bigger set
    # equal up to float rounding (a chunk's length changes numpy's loop paths)
    assert np.abs(small.images.astype(int) - a.images[:5]).max() <= 1
    np.testing.assert_array_equal(small.attrs, a.attrs[:5])
    other = render_faces(5, 24, seed=4, workers=1)
    assert np.abs(other.images.astype(int) - small.images).mean() > 10


def test_output_types_shapes_and_variety():
    f = render_faces(256, 32, seed=0, workers=1)
    assert f.images.shape == (256, 32, 32, 3) and f.images.dtype == np.uint8
    assert f.attrs.shape == (256, 40) and f.attrs.dtype == np.int8
    assert set(np.unique(f.attrs)) == {-1, 1}
    # images differ from each other, and each uses a good part of the value range
    assert f.images.reshape(256, -1).std(axis=0).mean() > 25
    assert (
        f.images.reshape(256, -1).max(1).astype(int) - f.images.reshape(256, -1).min(1)
    ).min() > 80
    # the common attributes occur both ways in a few hundred faces
    for name in (
        "Smiling",
        "Male",
        "Young",
        "Black_Hair",
        "Blond_Hair",
        "Bangs",
        "No_Beard",
        "Eyeglasses",
        "Wearing_Hat",
        "Wavy_Hair",
        "Heavy_Makeup",
    ):
        col = f.attrs[:, attr_index(name)]
        assert 0 < (col == 1).sum() < 256, name


def test_labels_are_consistent_with_each_other():
    a = render_faces(640, 16, seed=1, workers=1).attrs
    col = {n: a[:, i] == 1 for i, n in enumerate(ATTR_NAMES)}
    hair = col["Black_Hair"].astype(int) + col["Blond_Hair"] + col["Brown_Hair"] + col["Gray_Hair"]
    assert hair.max() <= 1  # at most one hair colour
    assert not (col["Bald"] & (hair > 0)).any()  # bald heads have no hair colour
    assert not (~col["No_Beard"] & ~col["Male"]).any()
    assert not (col["Heavy_Makeup"] & col["Male"]).any()
    assert (col["Smiling"].mean() > 0.3) and (col["Smiling"].mean() < 0.7)


def test_attributes_change_the_picture():
    """Faces labelled Eyeglasses have more dark pixels around the eyes than the rest."""
    f = render_faces(512, 48, seed=2, workers=1)
    g = f.attrs[:, attr_index("Eyeglasses")] == 1
    band = f.images[:, 14:30, 8:40].astype(float).mean(axis=(1, 2, 3))
    assert g.sum() > 20
    assert band[g].mean() < band[~g].mean() - 5


def test_non_square_with_frame():
    f = render_faces(3, height=218, width=178, frame=(15, 40, 148), seed=0, workers=1)
    assert f.images.shape == (3, 218, 178, 3)


def test_process_pool_gives_the_same_images():
    one = render_faces(2 * CHUNK + 3, 16, seed=5, workers=1)
    two = render_faces(2 * CHUNK + 3, 16, seed=5, workers=2)
    np.testing.assert_array_equal(one.images, two.images)
    np.testing.assert_array_equal(one.attrs, two.attrs)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="too small"):
        render_faces(2, 4)
    with pytest.raises(ValueError, match="n must be"):
        render_faces(-1, 32)


def test_cache_is_reused_and_damage_is_detected():
    folder = faces_mod.prepare_synthetic(40, 16, seed=1, verbose=False)
    images = folder / "images.npy"
    first = np.load(images).copy()
    mtime = images.stat().st_mtime_ns
    assert faces_mod.prepare_synthetic(40, 16, seed=1, verbose=False) == folder
    assert images.stat().st_mtime_ns == mtime  # reused, not rewritten
    # a truncated file (e.g. a copy cut short) is not valid any more ...
    with open(images, "r+b") as fh:
        fh.truncate(images.stat().st_size - 100)
    assert store.validate(folder) is None
    # ... and the next call makes it again, identical
    faces_mod.prepare_synthetic(40, 16, seed=1, verbose=False)
    np.testing.assert_array_equal(np.load(images), first)
    assert store.validate(folder) is not None


def test_interrupted_generation_leaves_nothing_valid(monkeypatch):
    real = faces_mod.render_faces

    def broken(n, size, seed, out=None, attrs_out=None, **kw):
        out[: n // 2] = 7  # half written, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(faces_mod, "render_faces", broken)
    with pytest.raises(KeyboardInterrupt):
        faces_mod.prepare_synthetic(30, 16, seed=2, verbose=False)
    folder = faces_mod.synthetic_folder(16, 30, 2)
    assert store.validate(folder) is None
    assert not (folder / "images.npy").exists()
    assert not list(folder.glob(".*.part*"))
    # a run killed hard leaves a temporary file: the next run removes it and starts over
    (folder / ".images.dead.part.npy").write_bytes(b"junk")
    monkeypatch.setattr(faces_mod, "render_faces", real)
    faces_mod.prepare_synthetic(30, 16, seed=2, verbose=False)
    assert store.validate(folder) is not None
    assert not list(folder.glob(".*.part*"))
    assert np.load(folder / "images.npy").std() > 10


def test_load_faces_facade_splits_train_and_val(capsys):
    from vaecourse.kit import profiles

    P = profiles.profile("ci").replace(n_train=48, n_val=16, image_size=16)
    faces = faces_mod.load_faces(P)
    assert faces.source == "synthetic"
    assert faces.train.shape == (48, 16, 16, 3) and faces.val.shape == (16, 16, 16, 3)
    assert faces.attrs_train.shape == (48, 40) and faces.attr_names == ATTR_NAMES
    assert isinstance(faces.train, np.memmap)
    assert not faces.train.flags.writeable
    assert "synthetic" in capsys.readouterr().out
    smiles = faces.attr("Smiling", "val")
    assert smiles.shape == (16,) and set(np.unique(smiles)) <= {-1, 1}
