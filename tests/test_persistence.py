"""Weights, whole models, resuming with Keras' own means, and the train-once model cache."""

import json

import keras
import numpy as np
import pytest

from vaecourse import mechanisms, models, training
from vaecourse.kit import model_cache, persistence
from vaecourse.models import VAEConfig

CFG = VAEConfig(input_shape=(16, 16, 3), filters=(4, 8), z_dim=3)
X = np.random.default_rng(0).random((16, 16, 16, 3), dtype="float32")


def eager(model):
    """Skip tf.function tracing (seconds per model on this CPU); the saving code is the same."""
    model.run_eagerly = True
    return model


def recon(model):
    """Deterministic reconstruction, called eagerly (no predict tracing: faster on tiny data)."""
    encoded = models.get_encoder(model)(X, training=False)
    mu = encoded[1] if isinstance(encoded, (list, tuple)) else encoded
    return np.asarray(models.get_decoder(model)(mu, training=False))


def test_weights_round_trip_for_model_encoder_and_decoder(tmp_path):
    vae = eager(mechanisms.build_vae(CFG, mechanism=0))
    vae.train_on_batch(X, X)
    models.set_enc_to_predict(vae)
    paths = persistence.save_weights(vae, tmp_path / "w")
    assert {p.name for p in paths.values()} == {
        "model.weights.h5",
        "encoder.weights.h5",
        "decoder.weights.h5",
    }
    fresh = mechanisms.build_vae(CFG, mechanism=0)
    persistence.load_weights(fresh, tmp_path / "w")
    np.testing.assert_array_equal(recon(fresh), recon(vae))
    assert int(fresh.optimizer.iterations.numpy()) == 1  # optimizer state came along

    only_decoder = mechanisms.build_vae(CFG, mechanism=3)
    persistence.load_weights(only_decoder, tmp_path / "w", parts=("decoder",))
    z = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")
    np.testing.assert_array_equal(
        np.asarray(only_decoder.decoder(z)), np.asarray(models.get_decoder(vae)(z))
    )
    with pytest.raises(FileNotFoundError, match="save_weights"):
        persistence.load_weights(fresh, tmp_path / "nowhere")


@pytest.mark.parametrize("mechanism", [1, 3])
def test_keras_file_round_trip_in_safe_mode(tmp_path, mechanism):
    vae = mechanisms.build_vae(CFG, mechanism=mechanism)
    if mechanism == 1:
        eager(vae)  # mechanism 3 keeps the compiled path
    vae.train_on_batch(X, training_targets(vae))
    path = persistence.save_model(vae, tmp_path / "vae.keras")
    loaded = eager(persistence.load_model(path))
    assert type(loaded) is type(vae)
    np.testing.assert_array_equal(recon(loaded), recon(vae))
    assert int(loaded.optimizer.iterations.numpy()) == 1
    logs = loaded.evaluate(X, training_targets(loaded), verbose=0, return_dict=True)
    assert {"loss", "reconstruction_loss", "kl_loss"} <= set(logs)


def training_targets(model):
    from vaecourse.mechanisms import fit_targets

    return fit_targets(model, X)


def test_resume_with_model_checkpoint_and_initial_epoch(tmp_path):
    """What chapter X does: ModelCheckpoint's weights file carries the optimizer state, so a
    fresh model loaded from it continues training where the first one stopped."""
    ckpt = tmp_path / "run.weights.h5"
    vae = eager(mechanisms.build_vae(CFG, mechanism=3))
    save = keras.callbacks.ModelCheckpoint(ckpt, save_weights_only=True)
    training.fit(vae, X, epochs=1, batch_size=8, log=False, callbacks=[save])

    again = eager(mechanisms.build_vae(CFG, mechanism=3))
    persistence.build_optimizer(again)
    again.load_weights(ckpt)
    assert int(again.optimizer.iterations.numpy()) == int(vae.optimizer.iterations.numpy()) == 2
    for a, b in zip(again.optimizer.variables, vae.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    h = training.fit(again, X, epochs=2, initial_epoch=1, batch_size=8, log=False)
    assert len(h["loss"]) == 1 and int(again.optimizer.iterations.numpy()) == 4


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    vae = models.build_ae(CFG)
    path = persistence.save_model(vae, tmp_path / "ae.keras")
    before = path.read_bytes()

    def broken_save(target, *args, **kwargs):
        open(target, "wb").write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(vae, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        persistence.save_model(vae, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["ae.keras"]


def test_model_cache_trains_once_reloads_and_rejects_corrupt_entries(tmp_path, monkeypatch):
    monkeypatch.setenv("VAECOURSE_CACHE", str(tmp_path))
    calls = []

    def train(model):  # stands in for fit(): changes the weights, returns a history
        calls.append(1)
        model.set_weights([w + 0.01 * len(calls) for w in model.get_weights()])
        return {"loss": [10.0 / len(calls)], "reconstruction_loss": [10.0 / len(calls)]}

    def get():
        return model_cache.cached_model("tiny_ae", CFG, models.build_ae, train, verbose=False)

    first = get()
    assert first.trained and len(calls) == 1 and len(first.history["loss"]) == 1
    second = get()
    assert not second.trained and len(calls) == 1
    assert second.history == first.history
    for a, b in zip(second.model.get_weights(), first.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(recon(second.model), recon(first.model))

    weights = first.path / model_cache.WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:1000])  # a truncated file
    assert "checksum" in model_cache.read_entry(first.path, first.key)
    assert get().trained and len(calls) == 2

    (first.path / model_cache.ENTRY_FILE).write_text("{not json")
    assert get().trained and len(calls) == 3
    assert json.loads((first.path / model_cache.ENTRY_FILE).read_text())["key"] == first.key
    assert model_cache.cache_key("tiny_ae", CFG) != model_cache.cache_key(
        "tiny_ae", CFG.replace(z_dim=4)
    )


def test_model_cache_retrains_when_intact_weights_do_not_fit_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv("VAECOURSE_CACHE", str(tmp_path))
    calls = []

    def train(model):
        calls.append(1)
        return {"loss": [1.0]}

    first = model_cache.cached_model("tiny_ae", CFG, models.build_ae, train, verbose=False)
    # the architecture code changes, the key does not: the weights no longer fit
    other = models.build_ae(CFG.replace(z_dim=5))
    persistence.build_optimizer(other)
    other.save_weights(first.path / model_cache.WEIGHTS_FILE)
    entry = json.loads((first.path / model_cache.ENTRY_FILE).read_text())
    entry["weights_sha256"] = model_cache.file_digest(first.path / model_cache.WEIGHTS_FILE)
    (first.path / model_cache.ENTRY_FILE).write_text(json.dumps(entry))
    again = model_cache.cached_model("tiny_ae", CFG, models.build_ae, train, verbose=False)
    assert again.trained and len(calls) == 2
    assert not model_cache.cached_model("tiny_ae", CFG, models.build_ae, train).trained
