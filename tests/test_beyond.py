"""Chapter XIV's models: the sigma-VAE's loss is the Gaussian -ELBO, the conditional VAE listens
to its condition, warm-up and free bits change the KL term as stated."""

import numpy as np
import pytest

from vaecourse import beyond, models
from vaecourse.kit import measures, zoo_beyond

CFG = models.VAEConfig(
    name="tiny", input_shape=(16, 16, 3), filters=(8, 16), z_dim=4, learning_rate=1e-3
)
RNG = np.random.default_rng(0)
X = RNG.uniform(0, 1, (8, 16, 16, 3)).astype("float32")
C = np.where(RNG.uniform(size=(8, 2)) > 0.5, 1.0, -1.0).astype("float32")


def test_fact_of_sigma_inverts_chapter_x():
    for fact in (0.001, 0.01, 5.0):
        assert beyond.fact_of_sigma(np.sqrt(1.5 * fact)) == pytest.approx(fact)


def test_sigma_vae_loss_is_the_gaussian_negative_elbo():
    vae = beyond.build_sigma_vae(CFG, seed=1)
    models.set_enc_to_predict(vae)  # z = mu: one decoding per image, known here
    total, rec, kl, log_sigma = (np.asarray(t) for t in vae.compute_losses(X))
    x_hat = models.reconstruct(vae, X)
    sigma = np.sqrt(np.mean((X - x_hat) ** 2))
    assert np.exp(log_sigma) == pytest.approx(sigma, rel=1e-4)
    nll = -measures.decoder_log_likelihood(X, x_hat, "gaussian", sigma).mean()
    assert rec == pytest.approx(nll, rel=1e-4)
    assert total == pytest.approx(rec + kl, rel=1e-6)


def test_sigma_vae_tracks_sigma_while_training():
    vae = beyond.build_sigma_vae(CFG, seed=1)
    hist = vae.fit(X, epochs=2, batch_size=4, verbose=0)
    assert {"sigma", "loss", "kl_loss"} <= set(hist.history)
    assert vae.sigma < 1.0  # the running log sigma moved from its start, log 1 = 0


def test_calibrated_sigma_maximises_the_elbo():
    vae = beyond.build_sigma_vae(CFG, seed=1)
    models.set_enc_to_predict(vae)
    s = beyond.calibrated_sigma(vae, X)
    best = measures.elbo(vae, X, samples=1, sigma=s)
    assert best > measures.elbo(vae, X, samples=1, sigma=s / 2)
    assert best > measures.elbo(vae, X, samples=1, sigma=2 * s)


def test_cvae_decoder_listens_to_the_condition():
    vae = beyond.build_cvae(CFG, n_conditions=2, seed=1)
    z = beyond.encode_c(vae, X, C)
    assert z.shape == (8, CFG.z_dim)
    out = beyond.decode_c(vae, z, C)
    flipped = beyond.decode_c(vae, z, -C)
    assert out.shape == X.shape and np.abs(out - flipped).max() > 1e-4
    hist = vae.fit([X, C], epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(hist.history["loss"][0])


def test_free_bits_and_warmup_change_the_kl_term():
    fb = beyond.build_regularised_vae(CFG.replace(fact=2.0), free_bits=5.0, seed=1)
    _, _, kl = fb.compute_losses(X)
    # an untrained encoder gives far less than 5 nats per dimension: each counts as 5
    assert float(kl) == pytest.approx(2.0 * 5.0 * CFG.z_dim)
    warm = beyond.build_regularised_vae(CFG, warmup_steps=10, seed=1)
    _, _, kl_train = warm.compute_losses(X, training=True)  # step 0: weight 0
    _, _, kl_eval = warm.compute_losses(X, training=False)
    assert float(kl_train) == 0.0 and float(kl_eval) > 0.0


def test_conditions_reject_unknown_attributes():
    attrs = np.ones((3, 40), "int8")
    assert zoo_beyond.conditions(attrs).shape == (3, len(zoo_beyond.CONDITIONS))
    with pytest.raises(ValueError, match="unknown CelebA attribute"):
        zoo_beyond.conditions(attrs, ("Smiling", "Smiles"))


def test_cvae_key_carries_the_attributes_digest(monkeypatch):
    """Relabelled CelebA (same images, other attrs.npy) must retrain the conditional VAE."""
    from types import SimpleNamespace

    from vaecourse.kit import profiles

    seen = []
    monkeypatch.setattr(zoo_beyond.zoo, "trained", lambda *a, **kw: seen.append(kw))
    P = profiles.profile("ci")
    for tag in ("aaaa", "bbbb"):
        zoo_beyond.cvae(P, faces=SimpleNamespace(attributes_tag=tag))
    assert [kw["attributes"] for kw in seen] == ["aaaa", "bbbb"]
    zoo_beyond.cvae(
        P, faces=SimpleNamespace(attributes_tag=None)
    )  # synthetic faces: no labels file
    assert "attributes" not in seen[-1]
