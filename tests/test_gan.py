"""The DC-GAN of chapter XIII: builder shapes and parameter counts, the remedies as config
fields, one training step, learning a trivial distribution, the balance monitor, the
grid-artefact measure, reproducible samples, saving and the model cache (tiny configs, CPU)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from vaecourse import gan, latent, models, training
from vaecourse.gan import GANConfig
from vaecourse.kit import fitting, measures

TINY = GANConfig(name="tiny", image_size=16, z_dim=8, filters=(8, 16))
REMEDIES = dict(upsample="resize", instance_noise=0.1, g_steps=2, spectral_norm=True)


def hand_count(cfg: GANConfig) -> tuple:
    """(generator, discriminator) parameters written out layer by layer.

    Conv2D/Conv2DTranspose: k*k*c_in*c_out (+ c_out with a bias).  Dense: n_in*n_out (+ n_out).
    BatchNormalization: 4*c (gamma, beta, moving mean, moving variance).  The resize generator
    uses 3x3 convolutions.  Spectral normalisation: D without BN, every layer with a bias and
    one power-iteration vector u of its output size.
    """
    k, b, c, f = cfg.kernel_size, cfg.base_size, cfg.channels, cfg.filters
    kg = 3 if cfg.upsample == "resize" else k
    g = cfg.z_dim * b * b * f[-1] + 4 * f[-1]  # Dense without bias, BN
    for f_in, f_out in zip(f[::-1][:-1], f[::-1][1:]):
        g += kg * kg * f_in * f_out + 4 * f_out  # (transposed) conv without bias, BN
    g += kg * kg * f[0] * c + c  # output layer with bias
    sn = cfg.spectral_norm
    d = k * k * c * f[0] + f[0] + sn * f[0]  # first conv with bias, no BN
    for f_in, f_out in zip(f[:-1], f[1:]):
        d += k * k * f_in * f_out + (f_out + f_out if sn else 4 * f_out)
    d += b * b * f[-1] + 1 + sn * 1
    return g, d


@pytest.mark.parametrize(
    "size,filters,z,extra",
    [
        (16, (8, 16), 8, {}),
        (32, (16, 32), 16, {}),
        (64, (32, 64, 128, 256), 128, {}),
        (96, (32, 64, 128, 256), 256, {}),
        (32, (16, 32), 16, {"upsample": "resize"}),
        (32, (16, 32), 16, {"spectral_norm": True}),
        (64, (32, 64, 128, 256), 128, {"upsample": "resize", "spectral_norm": True}),
    ],
)
def test_shapes_and_parameter_counts(size, filters, z, extra):
    cfg = GANConfig(image_size=size, filters=filters, z_dim=z, **extra)
    g, d = gan.build_generator(cfg), gan.build_discriminator(cfg)
    assert g.output_shape == (None, size, size, 3)
    assert d.output_shape == (None, 1)
    assert (g.count_params(), d.count_params()) == hand_count(cfg)
    assert gan.count_params_by_hand(cfg) == {
        "generator": g.count_params(),
        "discriminator": d.count_params(),
    }


def kinds(model) -> set:
    return {type(layer).__name__ for layer in model.layers}


def test_dcgan_rules_in_the_layers():
    g, d = gan.build_generator(TINY), gan.build_discriminator(TINY)
    assert not any("Pooling" in k for k in kinds(g) | kinds(d))
    assert "ReLU" in kinds(g) and "LeakyReLU" in kinds(d)
    assert g.get_layer("generator_output").activation.__name__ == "sigmoid"
    assert "discriminator_0_bn" not in [layer.name for layer in d.layers]
    assert "Conv2DTranspose" in kinds(g) and "UpSampling2D" not in kinds(g)


def test_the_remedies_change_the_layers():
    g = gan.build_generator(TINY.replace(upsample="resize"))
    assert "Conv2DTranspose" not in kinds(g)
    assert {"UpSampling2D", "Conv2D"} <= kinds(g)
    d = gan.build_discriminator(TINY.replace(spectral_norm=True))
    assert "BatchNormalization" not in kinds(d)
    assert kinds(d) >= {"SpectralNormalization"}
    assert len([x for x in d.layers if type(x).__name__ == "SpectralNormalization"]) == 3


def test_config_validation_and_dict_round_trip():
    with pytest.raises(ValueError, match="divisible"):
        GANConfig(image_size=20, filters=(8, 16, 32))
    with pytest.raises(ValueError, match="output_activation"):
        GANConfig(output_activation="relu")
    with pytest.raises(ValueError, match="upsample"):
        GANConfig(upsample="bilinear")
    with pytest.raises(ValueError, match="g_steps"):
        GANConfig(g_steps=0)
    assert GANConfig(**TINY.to_dict()) == TINY
    remedied = TINY.replace(**REMEDIES)
    assert GANConfig(**remedied.to_dict()) == remedied
    assert TINY.replace(output_activation="tanh").scale == "pm1"


def test_the_remedy_fields_leave_old_cache_keys_alone():
    # keyed at the remedies' defaults, a config has exactly the fields it had before they existed
    key = fitting.GANKey
    assert not set(fitting.LATER_FIELDS) & set(key(TINY).to_dict())
    assert set(key(TINY.replace(upsample="resize")).to_dict()) - set(key(TINY).to_dict()) == {
        "upsample"
    }
    assert set(TINY.to_dict()) >= set(fitting.LATER_FIELDS)  # the config itself keeps them all


@pytest.mark.parametrize("extra", [{}, REMEDIES], ids=["plain", "remedies"])
def test_one_train_step_updates_both_networks(extra):
    model = gan.build_gan(TINY.replace(**extra), seed=0)
    x = np.random.default_rng(0).random((8, 16, 16, 3)).astype("float32")
    g0 = [w.copy() for w in model.generator.get_weights()]
    d0 = [w.copy() for w in model.discriminator.get_weights()]
    logs = {k: float(v) for k, v in model.train_step(x).items()}
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(v) for v in logs.values())
    assert 0.0 < logs["d_real"] < 1.0 and 0.0 < logs["d_fake"] < 1.0
    assert any(not np.allclose(a, b) for a, b in zip(g0, model.generator.get_weights()))
    assert any(not np.allclose(a, b) for a, b in zip(d0, model.discriminator.get_weights()))
    # the update ratio: one discriminator step, g_steps generator steps
    assert int(model.d_optimizer.iterations) == 1
    assert int(model.g_optimizer.iterations) == model.gan_config.g_steps


def test_instance_noise_reaches_what_the_discriminator_sees():
    x = tf.zeros((4, 16, 16, 3))
    assert np.array_equal(gan.build_gan(TINY, seed=0).with_instance_noise(x), x)
    noisy = np.asarray(
        gan.build_gan(TINY.replace(instance_noise=0.5), seed=0).with_instance_noise(x)
    )
    assert 0.4 < noisy.std() < 0.6


# --------------------------------------------------------------------------------------
# Learning a trivial distribution
# --------------------------------------------------------------------------------------
def blobs(n: int, size: int = 16, seed: int = 0) -> np.ndarray:
    """Centred grey Gaussian blobs on black, of random width (1.5-4 px) and peak (0.5-1)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    width = rng.uniform(1.5, 4.0, (n, 1, 1))
    peak = rng.uniform(0.5, 1.0, (n, 1, 1))
    img = peak * np.exp(-(xx**2 + yy**2) / (2 * width**2))
    return np.repeat(img[..., None], 3, axis=-1).astype("float32")


def blob_features(images) -> np.ndarray:
    """Five numbers per image: mean and peak brightness, the brightness-weighted RMS distance
    from the centre (the width), and the brightness-weighted centre of mass (x, y)."""
    g = np.asarray(images, np.float64).mean(axis=-1)
    size = g.shape[1]
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    mass = g.sum(axis=(1, 2)) + 1e-9
    cx, cy = (g * xx).sum(axis=(1, 2)) / mass, (g * yy).sum(axis=(1, 2)) / mass
    spread = np.sqrt((g * (xx**2 + yy**2)).sum(axis=(1, 2)) / mass)
    return np.stack([g.mean(axis=(1, 2)), g.max(axis=(1, 2)), spread, cx, cy], axis=1)


def blob_dataset(n=512, batch=32, repeat=True):
    ds = tf.data.Dataset.from_tensor_slices(blobs(n)).shuffle(n, seed=0).batch(batch)
    return ds.repeat() if repeat else ds


def test_a_tiny_gan_learns_gaussian_blobs():
    # learning rates 1e-3: a toy problem tolerates (and needs, in 200 steps) larger steps
    cfg = TINY.replace(filters=(16, 32), g_learning_rate=1e-3, d_learning_rate=1e-3)
    model = gan.build_gan(cfg, seed=0)
    real = blob_features(blobs(256, seed=1))
    z = latent.normal_points(256, TINY.z_dim, seed=2)
    before = measures.frechet_distance(blob_features(models.decode(model, z)), real)
    model.fit(blob_dataset(), epochs=1, steps_per_epoch=200, verbose=0, shuffle=False)
    after = measures.frechet_distance(blob_features(models.decode(model, z)), real)
    assert after < 0.2 * before, (before, after)


# --------------------------------------------------------------------------------------
# The balance monitor
# --------------------------------------------------------------------------------------
def feed(monitor, values):
    """Play one epoch of per-batch D(G(z)) values to ``monitor`` as ``fit`` logs them:
    running means."""
    monitor.on_epoch_begin(0)
    for k, _ in enumerate(values):
        monitor.on_train_batch_end(k, {"d_fake": float(np.mean(values[: k + 1]))})
    monitor.on_epoch_end(0)


def test_balance_monitor_needs_most_batches_below_the_threshold():
    lines = []
    won = fitting.BalanceMonitor(threshold=0.05, share=0.75, print_fn=lines.append)
    feed(won, [0.04, 0.01, 0.6, 0.02])  # one batch in which D was fooled: still a won epoch
    assert won.flagged == [0] and len(lines) == 1 and "won epoch 1" in lines[0]
    np.testing.assert_allclose(won.values, [0.04, 0.01, 0.6, 0.02], atol=1e-6)
    assert won.below == [0.75]
    # the epoch's mean is 0.03, but half of its batches reached 0.06: not a won epoch
    fought = fitting.BalanceMonitor(threshold=0.05, share=0.75, print_fn=lines.append)
    feed(fought, [0.0, 0.06, 0.0, 0.06])
    assert fought.flagged == [] and len(lines) == 1 and fought.below == [0.5]
    # a stored history is judged alike (a model loaded from the cache): 2 epochs of 4 batches
    replayed = fitting.BalanceMonitor(threshold=0.05, share=0.75, print_fn=lines.append)
    history = {"d_fake": [0.1, 0.03], "d_fake_batch": [0.3, 0.01, 0.02, 0.2, 0.01, 0.0, 0.9, 0.02]}
    assert replayed.replay(history) == [1]
    assert len(lines) == 2 and "won epoch 2" in lines[-1]


def test_balance_monitor_flags_a_discriminator_that_wins():
    # a generator that can barely move against a fast discriminator: D wins from epoch 2 on
    strong_d = gan.build_gan(TINY.replace(d_learning_rate=1e-2, g_learning_rate=1e-6), seed=0)
    lines = []
    monitor = fitting.BalanceMonitor(stop=True, print_fn=lines.append)
    h = strong_d.fit(
        blob_dataset(), epochs=4, steps_per_epoch=40, verbose=0, shuffle=False, callbacks=[monitor]
    )
    assert monitor.flagged and len(lines) == 1  # stop=True: training ended at the first flag
    assert len(h.history["d_fake"]) == monitor.flagged[0] + 1 < 4
    # the balanced configuration on the same data is never flagged
    balanced = gan.build_gan(TINY, seed=0)
    quiet = fitting.BalanceMonitor()
    history = fitting.fit_gan(balanced, blob_dataset(repeat=False), epochs=2, callbacks=[quiet])
    assert quiet.flagged == [] and max(quiet.below) < quiet.share
    assert len(history["d_fake_batch"]) == 2 * 16  # 512 blobs in batches of 32, two epochs
    assert fitting.BalanceMonitor().replay(history) == []


# --------------------------------------------------------------------------------------
# Checkerboards
# --------------------------------------------------------------------------------------
def test_grid_energy_sees_checkerboards_and_stripes_not_smooth_images():
    yy, xx = np.mgrid[:32, :32]
    checker = np.repeat(((xx + yy) % 2)[None, ..., None], 3, -1).astype("float32")
    stripes = np.repeat((yy % 2)[None, ..., None], 3, -1).astype("float32")
    smooth = np.repeat((np.sin(xx / 5.0) * 0.4 + 0.5)[None, ..., None], 3, -1).astype("float32")
    assert measures.grid_energy(checker)[0] == pytest.approx(1.0)
    assert measures.grid_energy(stripes)[0] == pytest.approx(1.0)
    assert measures.grid_energy(smooth)[0] < 1e-3
    mixed = 0.8 * smooth + 0.2 * checker
    assert measures.grid_artefact_ratio(mixed, smooth) > 100
    assert measures.grid_energy((checker * 255).astype(np.uint8))[0] == pytest.approx(1.0)


def test_an_untrained_transposed_convolution_paints_more_grid_than_a_resize():
    keras.utils.set_random_seed(0)  # the initial weights come from the global seed, not `seed`
    z = latent.normal_points(16, 16, seed=0)
    cfg = GANConfig(image_size=32, filters=(16, 32), z_dim=16)
    transpose = models.decode(gan.build_gan(cfg, seed=0), z)
    resize = models.decode(gan.build_gan(cfg.replace(upsample="resize"), seed=0), z)
    assert np.mean(measures.grid_energy(transpose)) > 5 * np.mean(measures.grid_energy(resize))


# --------------------------------------------------------------------------------------
# Samples, saving, the cache
# --------------------------------------------------------------------------------------
def test_fit_on_the_course_pipeline_with_label_smoothing():
    from vaecourse.kit import zoo
    from vaecourse.kit.profiles import profile

    P = profile("ci").replace(batch_size=8)
    model = gan.build_gan(TINY.replace(label_smoothing=0.1), seed=0)
    images = np.random.default_rng(1).integers(0, 256, (32, 16, 16, 3), dtype=np.uint8)
    lines = []
    log = training.EpochLog(print_fn=lines.append, fields=fitting.GAN_FIELDS)
    h = zoo.train_gan(model, images, P, epochs=2, log_every=99, callbacks=[log])
    assert len(h["d_loss"]) == 2 and len(h["seconds"]) == 2 and len(h["d_fake_batch"]) == 2 * 4
    assert np.isfinite(h["g_loss"]).all()
    assert len(lines) == 2 and lines[1].startswith("epoch 2/2  d_loss ")


def sample(model, n, seed):
    return models.decode(model, latent.normal_points(n, model.gan_config.z_dim, seed=seed))


def test_samples_reproducible_from_a_seed():
    model = gan.build_gan(TINY, seed=0)
    a, b, c = sample(model, 4, 7), sample(model, 4, 7), sample(model, 4, 8)
    assert a.shape == (4, 16, 16, 3) and 0.0 <= a.min() and a.max() <= 1.0
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_a_tanh_generator_is_decoded_onto_the_unit_range():
    model = gan.build_gan(TINY.replace(output_activation="tanh"), seed=0)
    z = latent.normal_points(4, TINY.z_dim, seed=0)
    raw = np.asarray(model.generator(z, training=False))
    assert models.output_activation(model) == "tanh" and raw.min() < 0
    np.testing.assert_allclose(models.decode(model, z), (raw + 1) / 2, atol=1e-6)


def test_weights_save_and_load(tmp_path):
    model = gan.build_gan(TINY.replace(**REMEDIES), seed=0)
    model.train_step(np.random.default_rng(0).random((8, 16, 16, 3)).astype("float32"))
    path = tmp_path / "gan.weights.h5"
    model.save_weights(path)
    other = gan.build_gan(TINY.replace(**REMEDIES), seed=1)
    other.load_weights(path)
    np.testing.assert_allclose(sample(model, 3, 2), sample(other, 3, 2))
    for a, b in zip(model.d_optimizer.variables, other.d_optimizer.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b))


def test_face_gan_trains_once_with_the_recipe_then_loads_from_the_cache(tmp_path, monkeypatch):
    from vaecourse.kit import zoo
    from vaecourse.kit.profiles import profile

    monkeypatch.setenv("VAECOURSE_CACHE", str(tmp_path))
    P = profile("ci").replace(
        image_size=16, n_train=32, n_val=8, batch_size=16, filters=(8, 16), z_dim=8
    )

    class Faces:
        train = np.random.default_rng(0).integers(0, 256, (32, 16, 16, 3), dtype=np.uint8)

    first = zoo.face_gan(P, faces=Faces)
    second = zoo.face_gan(P, faces=Faces)
    assert first.trained and not second.trained
    assert first.model.gan_config == fitting.face_gan_config(P, name="face_gan")
    assert {
        k: getattr(first.model.gan_config, k) for k in fitting.FACE_RECIPE
    } == fitting.FACE_RECIPE
    assert second.history["d_loss"] == first.history["d_loss"]
    np.testing.assert_allclose(sample(first.model, 2, 0), sample(second.model, 2, 0))


def test_sample_quality_measures_the_samples_after_every_epoch():
    from vaecourse.kit import zoo
    from vaecourse.kit.profiles import profile

    P = profile("ci").replace(batch_size=8)
    model = gan.build_gan(TINY, seed=0)
    z = latent.normal_points(4, TINY.z_dim, seed=3)
    before = models.decode(model, z)
    quality = gan.SampleQuality(z, {"mean": lambda x: x.mean(), "n": len})
    images = np.random.default_rng(1).integers(0, 256, (32, 16, 16, 3), dtype=np.uint8)
    h = zoo.train_gan(model, images, P, epochs=2, log_every=99, callbacks=[quality])
    assert h["sample_n"] == [4.0, 4.0]
    after = models.decode(model, z)  # the last epoch's number is these samples' measure
    assert h["sample_mean"][-1] == pytest.approx(float(after.mean()), abs=1e-6)
    assert h["sample_mean"][0] != pytest.approx(float(before.mean()), abs=1e-6)


def test_track_quality_is_part_of_the_cache_key_and_fills_the_history(tmp_path, monkeypatch):
    from vaecourse.kit import zoo
    from vaecourse.kit.profiles import profile

    monkeypatch.setenv("VAECOURSE_CACHE", str(tmp_path))
    P = profile("ci").replace(image_size=16, batch_size=16, filters=(8, 16), z_dim=8, epochs=2)
    seen = []

    def fake_quality(P_, faces, z_dim):  # the real one needs test faces and the classifier
        seen.append((len(faces.test), z_dim))
        return gan.SampleQuality(np.zeros((2, z_dim)), {"detected": lambda x: 0.5})

    monkeypatch.setattr(zoo, "sample_quality", fake_quality)

    class Faces:
        train = np.random.default_rng(0).integers(0, 256, (32, 16, 16, 3), dtype=np.uint8)
        test = train[:4]

    class TrainOnly:
        train = Faces.train

    with pytest.raises(ValueError, match="test faces.*load_faces"):
        zoo.face_gan(P, faces=TrainOnly, track_quality=True)
    plain = zoo.face_gan(P, faces=Faces)
    tracked = zoo.face_gan(P, faces=Faces, track_quality=True)
    assert tracked.trained and tracked.key != plain.key and seen == [(4, 8)]
    assert tracked.history["sample_detected"] == [0.5, 0.5]
    assert "sample_detected" not in plain.history


def test_whole_model_round_trip_through_persistence(tmp_path):
    from vaecourse.kit import persistence

    model = gan.build_gan(TINY, seed=0)
    model.train_step(np.random.default_rng(0).random((8, 16, 16, 3)).astype("float32"))
    loaded = persistence.load_model(persistence.save_model(model, tmp_path / "gan.keras"))
    assert isinstance(loaded, gan.DCGAN) and loaded.gan_config == TINY
    np.testing.assert_allclose(sample(model, 2, 1), sample(loaded, 2, 1))
    logs = loaded.train_step(np.random.default_rng(1).random((8, 16, 16, 3)).astype("float32"))
    assert np.isfinite(float(logs["d_loss"]))
