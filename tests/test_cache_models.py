"""The model cache never serves a model trained on other data, and loads what it has even when
it cannot write.

Tiny models (16x16 faces, z_dim 4, one epoch on 80 made-up CelebA images) go through the same
``zoo`` functions the book's models do.
"""

import pytest

from vaecourse import profiles
from vaecourse.kit import zoo
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


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAECOURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(celeba.ENV_CELEBA, raising=False)


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
    assert "trained on" in said and str(a) in said and str(b) not in said
