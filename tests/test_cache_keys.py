"""The cache keys of the book's shared models, pinned.

The book models are trained once into the model cache under keys that hash the model's name,
its config (``config.to_dict()``), the profile (``dataclasses.asdict``) and the ``extra`` values
``zoo`` adds.  A refactor that changes any of these -- a renamed config field, a new default, a
moved ``extra`` -- would silently retrain every model.  The keys below were computed before the
taught layer was reorganised (issue 22), the book's when CelebA models came to be keyed by the
prepared set's content (issue 23); change them only with a change meant to retrain.

A CelebA model's key holds the prepared set's identity (its content digests); ``BOOK_SET`` is
the manifest of the book's set as prepared from CelebA, so the book keys below are the keys
the book's models are cached under.
"""

import numpy as np
import pytest

from vaecourse.kit import model_cache, profiles, zoo
from vaecourse.kit.data.store import FaceSet

PINNED = {
    "ci": {
        "face_vae": "face_vae-ci-b567665ac48a",
        "face_ae": "face_ae-ci-5d56ae86a7a7",
        "curse_vae": "curse_vae-ci-a511584fdfae",
        "attribute_classifier": "attribute_classifier-ci-67435660d951",
        "face_gan": "face_gan-ci-a22a507229d6",
        "face_vae_dense": "face_vae_dense-ci-29f3f7cb062c",
    },
    "book": {
        "face_vae": "face_vae-book-47ca3d61af81",
        "face_ae": "face_ae-book-15905d9d30bd",
        "curse_vae": "curse_vae-book-e521aee48678",
        "attribute_classifier": "attribute_classifier-book-4c68a1cff359",
        "face_gan": "face_gan-book-6ccff2f39649",
        "face_vae_dense": "face_vae_dense-book-786b0e6dd616",
    },
}

BOOK_SET = {
    "count": 15723,
    "origin": "/path/to/celeba",
    "files": {
        "images.npy": {
            "sha256": "5fc8606b8e355557de73dfd2aa48d81a501f1d37b3fd8c4c14de5c53cac0a966"
        },
        "names.txt": {"sha256": "b68cf0fbf1c2e4a5006c16e4a0f25c49d0ac0eb1787e64391374e054ebba4caa"},
        "partition.npy": {
            "sha256": "8753e8a55301c99300381e4b3b520438107eb373cb8fc2de0d7ac1e3a2c104fa"
        },
        "attrs.npy": {"sha256": "c46694e6f5b081a9b4ad819994ead522ae3901ef2f5c66476121e755c525cc93"},
    },
}

MODELS = {
    "face_vae": lambda P: zoo.face_vae(P),
    "face_ae": lambda P: zoo.face_ae(P),
    "curse_vae": lambda P: zoo.curse_vae(P),
    "attribute_classifier": lambda P: zoo.attribute_classifier(P),
    "face_gan": lambda P: zoo.face_gan(P),
    "face_vae_dense": lambda P: zoo.face_vae_dense(P, 64),
}


def the_profile(name):
    P = profiles.profile(name)
    # the book's models are trained on CelebA, whether or not this machine has it
    return P.replace(dataset="celeba") if name == "book" else P


@pytest.fixture
def keys_only(monkeypatch):
    """``zoo``'s cache lookups, recorded instead of trained or loaded."""
    seen = []

    def fake(name, config, build_fn, train_fn, profile=None, extra=None, **kw):
        key = model_cache.cache_key(name, config, profile, extra)
        seen.append(key)
        return model_cache.CachedModel(None, {}, None, key, False)

    def book_set(P, **kw):  # the prepared book set: only its manifest enters the keys
        empty = np.zeros((0, P.image_size, P.image_size, 3), np.uint8)
        no_attrs = np.zeros((0, 40), np.int8)
        return FaceSet(empty, empty, no_attrs, no_attrs, "celeba", P.image_size, None, BOOK_SET)

    monkeypatch.setattr(zoo, "cached_model", fake)
    monkeypatch.setattr(zoo, "load_faces", book_set)
    return seen


@pytest.mark.parametrize("profile_name", sorted(PINNED))
@pytest.mark.parametrize("model", sorted(MODELS))
def test_the_shared_models_keep_their_cache_keys(keys_only, profile_name, model):
    entry = MODELS[model](the_profile(profile_name))
    assert keys_only == [PINNED[profile_name][model]]
    assert entry.key == PINNED[profile_name][model]


def test_an_override_gives_its_own_pinned_key(keys_only):
    P = the_profile("ci")
    assert zoo.face_vae(P, fact=1.0).key == "face_vae-ci-59575815a7c7"
    assert keys_only == ["face_vae-ci-59575815a7c7"]
