"""The DC-GAN of chapter XIII: builder shapes and parameter counts, one training step,
reproducible samples, saving and the model cache (tiny configs, CPU)."""

import numpy as np
import pytest

from vaecourse import gan, latent, models
from vaecourse.gan import GANConfig

TINY = GANConfig(name="tiny", image_size=16, z_dim=8, filters=(8, 16))


def hand_count(cfg: GANConfig) -> tuple:
    """(generator, discriminator) parameters written out layer by layer.

    Conv2D/Conv2DTranspose: k*k*c_in*c_out (+ c_out with a bias).  Dense: n_in*n_out (+ n_out).
    BatchNormalization: 4*c (gamma, beta, moving mean, moving variance).
    """
    k, b, c = cfg.kernel_size, cfg.base_size, cfg.channels
    f = cfg.filters
    g = cfg.z_dim * b * b * f[-1] + 4 * f[-1]  # Dense without bias, BN
    for f_in, f_out in zip(f[::-1][:-1], f[::-1][1:]):
        g += k * k * f_in * f_out + 4 * f_out  # ConvT without bias, BN
    g += k * k * f[0] * c + c  # output ConvT with bias
    d = k * k * c * f[0] + f[0]  # first conv with bias, no BN
    for f_in, f_out in zip(f[:-1], f[1:]):
        d += k * k * f_in * f_out + 4 * f_out
    d += b * b * f[-1] + 1
    return g, d


@pytest.mark.parametrize(
    "size,filters,z",
    [
        (16, (8, 16), 8),
        (32, (16, 32), 16),
        (64, (32, 64, 128, 256), 128),
        (96, (32, 64, 128, 256), 256),
    ],
)
def test_shapes_and_parameter_counts(size, filters, z):
    cfg = GANConfig(image_size=size, filters=filters, z_dim=z)
    g, d = gan.build_generator(cfg), gan.build_discriminator(cfg)
    assert g.output_shape == (None, size, size, 3)
    assert d.output_shape == (None, 1)
    assert (g.count_params(), d.count_params()) == hand_count(cfg)
    assert gan.count_params_by_hand(cfg) == {
        "generator": g.count_params(),
        "discriminator": d.count_params(),
    }


def test_dcgan_rules_in_the_layers():
    g, d = gan.build_generator(TINY), gan.build_discriminator(TINY)
    kinds = {type(layer).__name__ for layer in g.layers + d.layers}
    assert not any("Pooling" in k for k in kinds)
    assert "ReLU" in {type(layer).__name__ for layer in g.layers}
    assert "LeakyReLU" in {type(layer).__name__ for layer in d.layers}
    assert g.get_layer("generator_output").activation.__name__ == "sigmoid"
    assert "discriminator_0_bn" not in [layer.name for layer in d.layers]


def test_config_validation_and_dict_round_trip():
    with pytest.raises(ValueError, match="divisible"):
        GANConfig(image_size=20, filters=(8, 16, 32))
    with pytest.raises(ValueError, match="output_activation"):
        GANConfig(output_activation="relu")
    assert GANConfig.from_dict(TINY.to_dict()) == TINY
    assert TINY.replace(output_activation="tanh").scale == "pm1"


def test_one_train_step_updates_both_networks():
    model = gan.build_gan(TINY, seed=0)
    x = np.random.default_rng(0).random((8, 16, 16, 3)).astype("float32")
    g0 = [w.copy() for w in model.generator.get_weights()]
    d0 = [w.copy() for w in model.discriminator.get_weights()]
    logs = model.train_step(x)
    logs = {k: float(v) for k, v in logs.items()}
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(v) for v in logs.values())
    assert 0.0 < logs["d_real"] < 1.0 and 0.0 < logs["d_fake"] < 1.0
    assert any(not np.allclose(a, b) for a, b in zip(g0, model.generator.get_weights()))
    assert any(not np.allclose(a, b) for a, b in zip(d0, model.discriminator.get_weights()))


def test_fit_on_the_course_pipeline_with_label_smoothing(tmp_path):
    from vaecourse.profiles import profile

    P = profile("ci").replace(batch_size=8)
    model = gan.build_gan(TINY.replace(label_smoothing=0.1), seed=0)
    images = np.random.default_rng(1).integers(0, 256, (32, 16, 16, 3), dtype=np.uint8)
    lines = []
    log = gan.GANLog(print_fn=lines.append)
    h = gan.train_gan(model, images, P, epochs=2, log_every=99, callbacks=[log])
    assert len(h["d_loss"]) == 2 and len(h["seconds"]) == 2
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
    model = gan.build_gan(TINY, seed=0)
    model.train_step(np.random.default_rng(0).random((8, 16, 16, 3)).astype("float32"))
    path = tmp_path / "gan.weights.h5"
    model.save_weights(path)
    other = gan.build_gan(TINY, seed=1)
    other.load_weights(path)
    np.testing.assert_allclose(sample(model, 3, 2), sample(other, 3, 2))
    for a, b in zip(model.d_optimizer.variables, other.d_optimizer.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b))


def test_face_gan_trains_once_then_loads_from_the_cache(tmp_path, monkeypatch):
    from vaecourse.profiles import profile

    monkeypatch.setenv("VAECOURSE_CACHE", str(tmp_path))
    P = profile("ci").replace(
        image_size=16, n_train=32, n_val=8, batch_size=16, filters=(8, 16), z_dim=8
    )

    class Faces:
        train = np.random.default_rng(0).integers(0, 256, (32, 16, 16, 3), dtype=np.uint8)

    first = gan.face_gan(P, faces=Faces)
    second = gan.face_gan(P, faces=Faces)
    assert first.trained and not second.trained
    assert second.history["d_loss"] == first.history["d_loss"]
    np.testing.assert_allclose(sample(first.model, 2, 0), sample(second.model, 2, 0))


def test_whole_model_round_trip_through_persistence(tmp_path):
    from vaecourse.kit import persistence

    model = gan.build_gan(TINY, seed=0)
    model.train_step(np.random.default_rng(0).random((8, 16, 16, 3)).astype("float32"))
    loaded = persistence.load_model(persistence.save_model(model, tmp_path / "gan.keras"))
    assert isinstance(loaded, gan.DCGAN) and loaded.gan_config == TINY
    np.testing.assert_allclose(sample(model, 2, 1), sample(loaded, 2, 1))
    logs = loaded.train_step(np.random.default_rng(1).random((8, 16, 16, 3)).astype("float32"))
    assert np.isfinite(float(logs["d_loss"]))
