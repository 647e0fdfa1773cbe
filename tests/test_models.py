"""The configurable AE/VAE builder: presets, parameter counts, shapes, losses, sampling."""

import numpy as np
import pytest

from vaecourse import models
from vaecourse.kit.profiles import profile
from vaecourse.models import VAEConfig


def expected_params(cfg: VAEConfig) -> tuple:
    """Hand count (trainable, non-trainable) for a stride-mode or maxpool-mode config.

    Conv2D / Conv2DTranspose: k*k*c_in*c_out + c_out.   Dense: n_in*n_out + n_out.
    BatchNormalization: 2*c trainable (gamma, beta) + 2*c non-trainable (moving mean/var).
    Sampling: 1 non-trainable scalar (the epsilon factor).
    Encoder: convs (c_in = previous filters) -> flatten F = h_n*w_n*f_n -> Dense(s) to z.
    Decoder: Dense(z -> F) -> transposed convs mirroring the encoder.
    """

    def conv(k, cin, cout):
        return k * k * cin * cout + cout

    train, frozen = 0, 0
    bn = cfg.batch_norm
    c_in = cfg.input_shape[2]
    for f, k in zip(cfg.filters, cfg.kernel_sizes):
        train += conv(k, c_in, f) + (2 * f if bn else 0)
        frozen += 2 * f if bn else 0
        c_in = f
    h, w = models.feature_sizes(cfg)[-1]
    flat = h * w * cfg.filters[-1]
    n_heads = 2 if cfg.variational else 1
    train += n_heads * (flat * cfg.z_dim + cfg.z_dim)
    if cfg.variational:
        frozen += 1
        if cfg.latent_batch_norm:
            train += 2 * 2 * cfg.z_dim
            frozen += 2 * 2 * cfg.z_dim
    train += cfg.z_dim * flat + flat  # decoder Dense
    channels = cfg.input_shape[2]
    rev_f, rev_k = cfg.filters[::-1], cfg.kernel_sizes[::-1]
    if cfg.downsampling == "stride":
        outs = rev_f[1:] + (channels,)
        c_in = rev_f[0]
        for i, (f, k) in enumerate(zip(outs, rev_k)):
            train += conv(k, c_in, f)
            if i < len(outs) - 1 and bn:
                train += 2 * f
                frozen += 2 * f
            c_in = f
    else:
        c_in = rev_f[0]
        for f, k in zip(rev_f, rev_k):
            train += conv(k, c_in, f) + (2 * f if bn else 0)
            frozen += 2 * f if bn else 0
            c_in = f
        train += conv(cfg.kernel_sizes[0], c_in, channels)
    return train, frozen


def count(model_parts):
    train = sum(int(np.prod(w.shape)) for m in model_parts for w in m.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for m in model_parts for w in m.non_trainable_weights)
    return train, frozen


@pytest.mark.parametrize(
    "name", ["series_x", "series_curse_ae", "seed001_ae", "seed001_vae", "seed002"]
)
def test_preset_parameter_counts_match_hand_count(name):
    cfg = models.preset(name)
    if name == "seed002":
        cfg = cfg.replace(
            z_dim=16
        )  # the 218x178 map makes z=512 Dense layers huge; z is in the formula
    assert count([models.build_encoder(cfg), models.build_decoder(cfg)]) == expected_params(cfg)


def test_series_x_numbers_written_out():
    # 96 -> 48 -> 24 -> 12 -> 6; flatten 6*6*256 = 9216.
    enc_convs = (
        (3 * 3 * 3 * 32 + 32)
        + (3 * 3 * 32 * 64 + 64)
        + (3 * 3 * 64 * 128 + 128)
        + (3 * 3 * 128 * 256 + 256)
    )
    heads = 2 * (9216 * 256 + 256)
    bn_enc = 4 * (32 + 64 + 128 + 256)
    assert enc_convs + heads + bn_enc + 1 == 5_109_441
    cfg = models.preset("series_x")
    assert models.build_encoder(cfg).count_params() == 5_109_441


def test_seed002_decoder_crops_back_to_218x178():
    cfg = models.preset("seed002", z_dim=8)
    dec = models.build_decoder(cfg)
    assert tuple(dec.output.shape[1:]) == (218, 178, 3)
    crops = [layer.name for layer in dec.layers if layer.name.startswith("decoder_crop")]
    assert crops == ["decoder_crop_0", "decoder_crop_1", "decoder_crop_2"]


def test_preset_overrides_and_profile_scaling():
    ci = profile("ci")
    cfg = models.config_from_profile(ci)
    assert cfg.input_shape == (32, 32, 3) and cfg.z_dim == ci.z_dim
    assert cfg.filters == tuple(ci.filters) and cfg.kernel_sizes == (3, 3) and cfg.fact == 5.0
    curse = models.preset("series_curse_ae", image_size=32, filters=(16, 32))
    assert curse.kernel_sizes == (5, 5) and not curse.variational
    assert models.build_decoder(curse).output.shape[1:] == (32, 32, 3)
    assert VAEConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(rec_loss="bce", output_activation="tanh"), "rec_loss='mse'"),
        (dict(input_shape=(4, 4, 3), filters=(8,), kernel_sizes=5, padding="valid"), "too small"),
        (dict(activation="gelu"), "leaky_relu"),
        (dict(kernel_sizes=(3, 5), filters=(8, 8, 8)), "one entry per conv layer"),
    ],
)
def test_bad_configs_say_what_to_do(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VAEConfig(**kwargs)


def test_unknown_preset_and_field():
    with pytest.raises(ValueError, match="series_x"):
        models.preset("series_y")
    with pytest.raises(TypeError, match="image_size"):
        models.preset("series_x", zdim=3)


def test_selu_uses_lecun_init_and_alpha_dropout():
    cfg = VAEConfig(
        input_shape=(16, 16, 3),
        filters=(4, 8),
        z_dim=2,
        activation="selu",
        batch_norm=False,
        dropout=0.1,
    )
    enc = models.build_encoder(cfg)
    kinds = {type(layer).__name__ for layer in enc.layers}
    assert "AlphaDropout" in kinds and "Dropout" not in kinds
    assert type(enc.get_layer("encoder_conv_0").kernel_initializer).__name__ == "LecunNormal"


def test_sampling_factor_switches_noise_off_and_on():
    cfg = VAEConfig(input_shape=(16, 16, 3), filters=(4, 8), z_dim=3, batch_norm=False)
    enc = models.build_encoder(cfg, seed=1)
    x = np.random.default_rng(0).random((64, 16, 16, 3), dtype="float32")
    models.set_enc_to_predict(enc)
    z, mu, log_var = (np.asarray(t) for t in enc(x))
    np.testing.assert_array_equal(z, mu)
    models.set_enc_to_predict(enc, 1.0)
    z, mu, log_var = (np.asarray(t) for t in enc(x))
    eps = (z - mu) / np.exp(0.5 * log_var)
    assert 0.7 < eps.std() < 1.3 and abs(eps.mean()) < 0.2


def test_losses_follow_the_documented_conventions():
    rng = np.random.default_rng(0)
    x = rng.random((2, 4, 4, 3)).astype("float32")
    x_hat = rng.uniform(0.05, 0.95, (2, 4, 4, 3)).astype("float32")
    bce = -(x * np.log(x_hat) + (1 - x) * np.log(1 - x_hat))
    got = np.asarray(models.reconstruction_error(x, x_hat, "bce", "sum"))
    np.testing.assert_allclose(got, bce.mean(axis=3).sum(axis=(1, 2)), rtol=1e-5)
    got = np.asarray(models.reconstruction_error(x, x_hat, "mse", "mean", factor=10.0))
    np.testing.assert_allclose(got, 10 * ((x - x_hat) ** 2).mean(axis=(1, 2, 3)), rtol=1e-5)
    mu, lv = rng.normal(size=(2, 5)), rng.normal(size=(2, 5))
    kl = 0.5 * (np.exp(lv) + mu**2 - 1 - lv).sum(axis=1)
    np.testing.assert_allclose(np.asarray(models.kl_divergence(mu, lv)), kl, rtol=1e-5)


def test_ae_is_the_same_builder_with_a_deterministic_encoder():
    cfg = VAEConfig(input_shape=(16, 16, 3), filters=(4, 8), z_dim=3, variational=True)
    ae = models.build_ae(cfg)
    assert len(models.get_encoder(ae).outputs) == 1  # z alone: no mu, no log_var
    x = np.random.default_rng(0).random((8, 16, 16, 3), dtype="float32")
    logs = ae.train_on_batch(x, x, return_dict=True)
    assert set(logs) == {"loss", "reconstruction_loss"}
    assert models.encode(ae, x).shape == (8, 3) and models.reconstruct(ae, x).shape == x.shape


def test_encode_gives_mu_or_z_and_on_request_log_var():
    keras = pytest.importorskip("keras")
    x_in = keras.Input((4,))
    ae_encoder = keras.Model(x_in, keras.layers.Dense(3)(x_in), name="encoder")
    ae = keras.Model(x_in, ae_encoder(x_in))  # encode finds the part named "encoder"
    mu, lv = keras.layers.Dense(3)(x_in), keras.layers.Dense(3)(x_in)
    vae_encoder = keras.Model(x_in, [mu + 1.0, mu, lv], name="encoder")  # [z, mu, log_var]
    vae = keras.Model(x_in, vae_encoder(x_in))
    x = np.random.default_rng(0).normal(size=(10, 4)).astype("float32")
    z, none = models.encode(ae, x, batch_size=3, log_var=True)
    assert z.shape == (10, 3) and none is None
    np.testing.assert_array_equal(models.encode(ae, x, batch_size=3), z)
    m, v = models.encode(vae, x, batch_size=4, log_var=True)
    assert m.shape == v.shape == (10, 3)
    np.testing.assert_allclose(models.encode(vae, x), m)  # mu, not z = mu + 1
    np.testing.assert_allclose(m, np.asarray(vae_encoder(x)[1]), rtol=1e-6)


def test_every_model_gives_its_parts_by_name_and_carries_no_attached_config():
    """The builders return plain Keras models: the encoder and decoder are found as the parts
    named so (a GAN's decoder is its generator); no config or mechanism is attached to them."""
    from vaecourse import gan, mechanisms

    cfg = VAEConfig(input_shape=(16, 16, 3), filters=(4, 8), z_dim=3)
    built = [mechanisms.build_vae(cfg, mechanism=m) for m in mechanisms.MECHANISMS]
    built.append(models.build_ae(cfg))
    for model in built:
        assert models.get_encoder(model).name == "encoder"
        assert models.get_decoder(model).name == "decoder"
        assert not hasattr(model, "vae_config") and not hasattr(model, "kl_mechanism")
        assert models.decode(model, np.zeros((2, 3), "float32")).shape == (2, 16, 16, 3)
    dcgan = gan.build_gan(gan.GANConfig(image_size=16, z_dim=3, filters=(8, 16)))
    assert models.get_decoder(dcgan) is dcgan.generator and not hasattr(dcgan, "decoder")
    assert models.output_activation(dcgan) == "sigmoid"
