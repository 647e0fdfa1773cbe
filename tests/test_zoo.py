"""The zoo of trained models: cache keys stay stable, and entries cached by earlier code load.

``tests/fixtures/model_cache`` holds tiny models (16x16 images, z_dim 4, one training step)
that the package cached *before* it was reorganised (issue 12).  The book's trained models
live in the same kind of cache, under keys made the same way; if a change to the key or to
the weight layout made these fixtures unusable, every book model would be retrained.  The
fixtures depend on the ``ci`` profile: a change to :class:`vaecourse.kit.profiles.Profile`
changes every key (deliberately) and means regenerating them.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest

from vaecourse.kit import profiles, zoo

FIXTURES = Path(__file__).parent / "fixtures" / "model_cache"
TINY = dict(image_size=16, filters=(4, 8), z_dim=4)
Z = np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4)
PLAIN_DCGAN = dict(output_activation="sigmoid", upsample="transpose", label_smoothing=0.0)


class NoFaces:
    """Stands in for the face set: loading a cached model must never need the images."""

    def __getattr__(self, name):
        raise AssertionError(f"the cached model was retrained (it read faces.{name})")


@pytest.fixture
def old_cache(tmp_path, monkeypatch):
    shutil.copytree(FIXTURES, tmp_path / "models")
    monkeypatch.setenv("VAECOURSE_CACHE", str(tmp_path))
    return tmp_path / "models"


@pytest.mark.parametrize(
    "key, get, decoder",
    [
        (
            "face_vae-ci-ccdf9f8b8e1a",
            lambda P: zoo.face_vae(P, faces=NoFaces(), **TINY),
            lambda m: m.decoder,
        ),
        (
            "face_vae_dense-ci-89680db47775",
            lambda P: zoo.face_vae_dense(P, 8, faces=NoFaces(), **TINY),
            lambda m: m.decoder,
        ),
        (
            "face_gan-ci-d7b7f4d519d2",
            # the plain DC-GAN it was cached as, before face_gan's defaults became the recipe
            lambda P: zoo.face_gan(P, faces=NoFaces(), **TINY, **PLAIN_DCGAN),
            lambda m: m.generator,
        ),
    ],
)
def test_models_cached_before_the_reorganisation_still_load(old_cache, key, get, decoder):
    entry = get(profiles.profile("ci"))
    assert entry.key == key  # same name, config, profile, extra -> same key
    assert not entry.trained
    expected = np.load(old_cache / key / "decoded.npy")
    got = np.asarray(decoder(entry.model)(Z, training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_the_entry_carries_its_config_and_training_seconds(tmp_path, monkeypatch):
    monkeypatch.setenv("VAECOURSE_CACHE", str(tmp_path))
    P = profiles.profile("ci").replace(n_train=64, n_val=32, image_size=16)
    first = zoo.face_vae(P, **TINY)
    assert first.trained and 0 < first.train_seconds < 600
    assert first.config == zoo.face_vae_config(P, **TINY)
    assert first.encoder.name == "encoder" and first.decoder.name == "decoder"
    again = zoo.face_vae(P, faces=NoFaces(), **TINY)  # loaded: the time recorded when cached
    assert not again.trained and again.train_seconds == first.train_seconds
    assert again.config == first.config and "seconds" in again.history
