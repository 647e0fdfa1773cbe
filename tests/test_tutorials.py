"""The two tutorials' losses, mistakes and tools (vaecourse.tutorials), and the data helpers of
their chapters (vaecourse.kit.tutorial_data, vaecourse.kit.tutorial_tools)."""

import keras
import numpy as np
import pytest

from vaecourse import mechanisms, models, tutorials
from vaecourse.kit import tutorial_data, tutorial_tools

TINY = dict(input_shape=(8, 8, 3), filters=(4, 8), z_dim=6, batch_norm=False)


# --- tutorial 001 ---------------------------------------------------------------------------
def test_r_loss_is_the_mean_squared_error_and_rmse_its_root():
    y_true = np.zeros((2, 4, 4, 3), "float32")
    y_pred = np.full((2, 4, 4, 3), 0.5, "float32")
    y_pred[1] = 0.1
    np.testing.assert_allclose(tutorials.r_loss(y_true, y_pred), [0.25, 0.01], rtol=1e-6)
    np.testing.assert_allclose(tutorials.rmse(y_true, y_pred), [0.5, 0.1], rtol=1e-6)


def test_loss_factor_and_fact_give_proportional_losses():
    """LOSS_FACTOR * mean + KL is (LOSS_FACTOR / HW) times sum + fact * KL."""
    assert tutorials.loss_factor_as_fact(10_000, (128, 128, 3)) == pytest.approx(1.6384)
    rng = np.random.default_rng(0)
    x, x_hat = rng.random((3, 16, 16, 3), "float32"), rng.random((3, 16, 16, 3), "float32")
    mu, log_var = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    kl = np.asarray(models.kl_divergence(mu, log_var))
    loss_factor = 300.0
    fact = tutorials.loss_factor_as_fact(loss_factor, x.shape[1:])
    tutorial = loss_factor * np.asarray(models.reconstruction_error(x, x_hat, "mse", "mean")) + kl
    series = np.asarray(models.reconstruction_error(x, x_hat, "mse", "sum")) + fact * kl
    np.testing.assert_allclose(tutorial, loss_factor / (16 * 16) * series, rtol=1e-5)


def test_misspelt_batch_norm_fails_only_when_its_branch_runs():
    encoder = tutorials.tutorial_vae_encoder(
        (16, 16, 3), z_dim=4, filters=(4, 8), kernels=(3, 3), strides=(2, 2)
    )
    assert [o.shape for o in encoder.outputs] == [(None, 4)] * 3
    with pytest.raises(NameError, match="BathcNormalization"):
        tutorials.tutorial_vae_encoder(
            (16, 16, 3),
            z_dim=4,
            filters=(4, 8),
            kernels=(3, 3),
            strides=(2, 2),
            use_batch_norm=True,
        )


def test_undefined_names_finds_the_typo_without_running_it():
    assert tutorial_tools.undefined_names(tutorials.tutorial_vae_encoder) == ["BathcNormalization"]
    assert tutorial_tools.undefined_names(models.build_encoder) == []
    assert tutorial_tools.undefined_names(tutorial_tools.undefined_names) == []


def test_drop_pixels_blackens_whole_pixels_at_the_asked_rate():
    x = np.full((4, 32, 32, 3), 0.5, "float32")
    masked = tutorial_tools.drop_pixels(x, keep=0.2, seed=1)
    kept = masked[..., 0] > 0
    assert abs(kept.mean() - 0.2) < 0.03
    assert np.array_equal(kept, masked[..., 2] > 0)  # all channels of a pixel go together
    assert np.array_equal(masked, tutorial_tools.drop_pixels(x, keep=0.2, seed=1))


def test_fill_from_neighbours_restores_a_smooth_image_and_keeps_seen_pixels():
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    smooth = np.stack([0.2 + 0.6 * yy, 0.2 + 0.6 * xx, np.full_like(xx, 0.5)], -1)[None]
    masked = tutorial_tools.drop_pixels(smooth, keep=0.3, seed=0)
    filled = tutorial_tools.fill_from_neighbours(masked)
    seen = masked[..., :1] > 0
    assert np.allclose(np.where(seen, filled, 0), np.where(seen, smooth, 0))
    assert np.mean((filled - smooth) ** 2) < 0.1 * np.mean((masked - smooth) ** 2)


def test_pixel_dropout_acts_in_training_only():
    layer = tutorials.PixelDropout(0.2, 0.2, seed=0)
    x = np.ones((2, 16, 16, 3), "float32")
    assert np.array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)
    y = keras.ops.convert_to_numpy(layer(x, training=True))
    assert 0.1 < (y[..., 0] > 0).mean() < 0.3


def test_denoising_ae_trains_and_reconstructs_through_its_parts():
    cfg = models.VAEConfig(variational=False, rec_loss="mse", rec_reduction="mean", **TINY)
    ae = tutorial_tools.build_denoising_ae(cfg, seed=0)
    x = np.random.default_rng(0).random((16,) + cfg.input_shape).astype("float32")
    ae.fit(x, x, epochs=1, batch_size=8, verbose=0)
    assert models.reconstruct(ae, x).shape == x.shape


# --- tutorial 002 ---------------------------------------------------------------------------
def _epsilon(layer_cls, batch=5, z_dim=7):
    mu = np.zeros((batch, z_dim), "float32")
    log_var = np.log(np.linspace(0.5, 2.0, batch * z_dim).reshape(batch, z_dim)).astype("float32")
    z = keras.ops.convert_to_numpy(layer_cls(seed=3)([mu, log_var]))
    return z / np.exp(0.5 * log_var)  # the epsilon each image got


def test_shared_epsilon_gives_every_image_of_a_batch_the_same_noise():
    eps = _epsilon(tutorials.SharedEpsilonSampling)
    assert np.allclose(eps, eps[0], atol=1e-6)  # one noise vector for the whole batch
    eps_ok = _epsilon(models.Sampling)
    assert not np.allclose(eps_ok, eps_ok[0], atol=1e-3)  # one per image


def test_log_sigma_sampling_takes_the_name_at_its_word():
    n = 20_000
    mu = np.zeros((n, 1), "float32")
    log_sigma = np.full((n, 1), np.log(0.5), "float32")
    z_name = keras.ops.convert_to_numpy(tutorials.LogSigmaSampling(seed=0)([mu, log_sigma]))
    z_code = keras.ops.convert_to_numpy(models.Sampling(seed=0)([mu, log_sigma]))
    assert z_name.std() == pytest.approx(0.5, rel=0.03)  # sigma = exp(l)
    assert z_code.std() == pytest.approx(np.sqrt(0.5), rel=0.03)  # sigma = exp(l / 2)


def test_kl_with_log_sigma_is_the_kl_with_twice_it_as_log_variance():
    rng = np.random.default_rng(0)
    mu, log_sigma = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    np.testing.assert_allclose(
        tutorials.kl_divergence_log_sigma(mu, log_sigma),
        models.kl_divergence(mu, 2 * log_sigma),
        rtol=1e-5,
    )


@pytest.mark.parametrize("sampling", ["shared", "log_sigma"])
def test_build_tutorial_vae_swaps_the_sampling_layer_and_trains(sampling):
    cfg = models.VAEConfig(rec_loss="mse", rec_reduction="mean", **TINY)
    vae = tutorials.build_tutorial_vae(cfg, sampling, seed=0)
    kinds = [type(layer) for layer in vae.encoder.layers]
    assert tutorials.SAMPLINGS[sampling] in kinds and models.Sampling not in kinds
    x = np.random.default_rng(0).random((16,) + cfg.input_shape).astype("float32")
    hist = vae.fit(x, epochs=1, batch_size=8, verbose=0).history
    assert np.isfinite(hist["loss"][-1]) and "kl_loss" in hist
    assert isinstance(tutorials.build_tutorial_vae(cfg), mechanisms.VAE)
    with pytest.raises(ValueError, match="per_image"):
        tutorials.build_tutorial_vae(cfg, "uniform")


def test_tutorial_vae_weights_survive_a_save_and_load(tmp_path):
    cfg = models.VAEConfig(rec_loss="mse", rec_reduction="mean", **TINY)
    vae = tutorials.build_tutorial_vae(cfg, "shared", seed=0)
    x = np.random.default_rng(0).random((4,) + cfg.input_shape).astype("float32")
    vae.save_weights(tmp_path / "m.weights.h5")
    again = tutorials.build_tutorial_vae(cfg, "shared", seed=1)
    again.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_allclose(models.encode(again, x), models.encode(vae, x), rtol=1e-6)


def test_read_as_log_variance_doubles_log_sigma():
    cfg = models.VAEConfig(rec_loss="mse", rec_reduction="mean", **TINY)
    vae = tutorials.build_tutorial_vae(cfg, "log_sigma", seed=0)
    x = np.random.default_rng(0).random((4,) + cfg.input_shape).astype("float32")
    mu, log_sigma = models.encode(vae, x, log_var=True)
    view = tutorial_tools.read_as_log_variance(vae)
    mu2, log_var = models.encode(view, x, log_var=True)
    np.testing.assert_allclose(mu2, mu, rtol=1e-6)
    np.testing.assert_allclose(log_var, 2 * log_sigma, rtol=1e-5, atol=1e-6)
    assert models.decode(view, mu).shape == x.shape


def test_tutorial002_loss_equals_the_preset_loss():
    """MSE over the flattened batch + 1e-4 KL is the seed002 preset's per-image mean + fact KL."""
    rng = np.random.default_rng(0)
    x, x_hat = rng.uniform(-1, 1, (3, 8, 8, 3)), rng.uniform(-1, 1, (3, 8, 8, 3))
    mu, log_var = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    cfg = models.preset("seed002")
    preset = np.mean(models.reconstruction_error(x, x_hat, cfg.rec_loss, cfg.rec_reduction))
    preset += cfg.fact * np.mean(models.kl_divergence(mu, log_var))
    assert float(tutorials.tutorial002_loss(x, x_hat, mu, log_var)) == pytest.approx(preset)


def test_split_by_file_index_and_identity_overlap():
    names = [f"{i:06d}.jpg" for i in range(10, 0, -1)]
    train, val = tutorial_tools.split_by_file_index(names)
    assert train == [f"{i:06d}.jpg" for i in range(1, 9)] and val == ["000009.jpg", "000010.jpg"]
    assert tutorial_tools.identity_overlap([1, 2, 3], [3, 4, 4, 5]) == 0.25
    assert tutorial_tools.identity_overlap([1], [2]) == 0.0


def test_unseen_share_is_about_exp_minus_draws_over_files():
    assert tutorial_tools.unseen_share(10_000, 10_000, seed=0) == pytest.approx(
        np.exp(-1), abs=0.01
    )
    assert tutorial_tools.unseen_share(100, 100_000, seed=0) == 0.0


def test_code_images_and_neighbour_correlation():
    codes = np.random.default_rng(0).normal(size=(200, 512))
    imgs = tutorial_tools.code_images(codes)
    assert imgs.shape == (200, 32, 16) and imgs.min() >= 0 and imgs.max() <= 1
    near, rand = tutorial_tools.neighbour_correlation(codes, seed=0)
    assert abs(near - rand) < 0.03  # independent dimensions: neighbours mean nothing
    smooth = np.cumsum(codes, axis=1)  # each dimension a running sum of the previous ones
    near, rand = tutorial_tools.neighbour_correlation(smooth, seed=0)
    assert near > rand + 0.3


# --- the chapters' data ---------------------------------------------------------------------
def test_full_size_list_is_the_part_of_the_book_subset_at_full_size():
    from vaecourse.kit.data.celeba import book_subset

    names = tutorial_data.full_size_names()
    assert len(names) == 6009 and len(set(names)) == len(names)
    assert set(names) <= set(book_subset())


def test_image_folder_without_celeba_writes_synthetic_files(tmp_path):
    from vaecourse.kit import profiles

    P = profiles.profile("ci")
    outer = tutorial_data.image_folder(P, 6, tmp_path)
    files = sorted(outer.glob("*/*.jpg"))
    assert len(files) == 6
    from PIL import Image

    assert Image.open(files[0]).size == (178, 218)


def test_celeba_identities_reads_the_original_release_file(tmp_path, monkeypatch):
    from vaecourse.kit.data import write_fake_celeba

    folder = write_fake_celeba(tmp_path / "celeba", 4, layout="original")
    (folder / "identity_CelebA.txt").write_text("000001.jpg 7\n000002.jpg 7\n000003.jpg 9\n")
    ids = tutorial_data.celeba_identities(str(folder))
    assert ids == {"000001.jpg": 7, "000002.jpg": 7, "000003.jpg": 9}
    (folder / "identity_CelebA.txt").unlink()
    assert tutorial_data.celeba_identities(str(folder)) is None
