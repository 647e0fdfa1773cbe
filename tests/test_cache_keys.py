"""The cache keys of the book's shared models, pinned.

The book models are trained once into the model cache under keys that hash the model's name,
its config (``config.to_dict()``), the profile (``dataclasses.asdict``) and the ``extra`` values
``zoo`` adds.  A refactor that changes any of these -- a renamed config field, a new default, a
moved ``extra`` -- would silently retrain every model.  The keys below were computed before the
taught layer was reorganised (issue 22); change them only with a change meant to retrain.
"""

import pytest

from vaecourse import profiles
from vaecourse.kit import model_cache, zoo

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
        "face_vae": "face_vae-book-dc25287e7b7c",
        "face_ae": "face_ae-book-34486b8ebcdb",
        "curse_vae": "curse_vae-book-da84b19272e6",
        "attribute_classifier": "attribute_classifier-book-18404c7d4485",
        "face_gan": "face_gan-book-aacc8a32437d",
        "face_vae_dense": "face_vae_dense-book-307d70b3618b",
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

    monkeypatch.setattr(zoo, "cached_model", fake)
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
