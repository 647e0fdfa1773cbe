"""Mixed precision (vaecourse.kit.precision): the policy per GPU generation, and the course's
models under mixed_bfloat16 on a CPU give the losses of float32 within a stated tolerance.

Tolerances: bfloat16 keeps 8 significant bits (a relative rounding step of 2^-8 = 0.4 %); the
losses are float32 sums over many bfloat16 activations, whose rounding errors mostly cancel.
Measured on the small models below: under 0.3 % on a forward pass, under 1 % after a few
training steps.  The tests allow 1 % (forward) and 3 % (after training).
"""

import keras
import numpy as np
import pytest

from vaecourse import gan, mechanisms, models
from vaecourse.kit import precision

try:  # the attribute classifier of the measures (kit.classifier, earlier metrics)
    from vaecourse.kit.classifier import attribute_classifier
except ImportError:
    from vaecourse.metrics import attribute_classifier
from vaecourse.kit.profiles import profile
from vaecourse.models import VAEConfig

FORWARD_RTOL = 0.01
TRAINED_RTOL = 0.03
CFG = VAEConfig(input_shape=(16, 16, 3), filters=(8, 16), z_dim=8, fact=5.0)


@pytest.fixture
def restore_policy():
    before = keras.mixed_precision.dtype_policy().name
    yield
    keras.mixed_precision.set_dtype_policy(before)


def images(n=32, size=16, seed=0):
    """Smooth images in [0, 1] (random noise would make every model's loss the same)."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((n, size // 4, size // 4, 3), dtype="float32")
    return np.kron(coarse, np.ones((1, 4, 4, 1), "float32"))


def test_policy_per_gpu_generation(monkeypatch):
    assert precision.policy_for(None) == "float32"  # CPU
    assert precision.policy_for((6, 0)) == "float32"  # P100: no tensor cores
    assert precision.policy_for((7, 5)) == "mixed_float16"  # T4 (Colab's free GPU), V100 7.0
    assert precision.policy_for((8, 0)) == "mixed_bfloat16"  # A100, and newer
    assert precision.policy_for((9, 0)) == "mixed_bfloat16"  # H100
    monkeypatch.delenv(precision.ENV_PRECISION, raising=False)
    monkeypatch.setattr(precision, "gpu_compute_capability", lambda: (7, 5))
    assert precision.choose(profile("full")) == "mixed_float16"
    assert precision.choose(profile("book")) == precision.choose(profile("ci")) == "float32"
    monkeypatch.setattr(precision, "gpu_compute_capability", lambda: None)
    assert precision.choose(profile("full")) == "float32"  # CPU keeps float32
    monkeypatch.setenv(precision.ENV_PRECISION, "mixed_bfloat16")
    assert precision.choose(profile("ci")) == "mixed_bfloat16"
    monkeypatch.setenv(precision.ENV_PRECISION, "half")
    with pytest.raises(ValueError, match="VAECOURSE_PRECISION"):
        precision.choose(profile("ci"))


def test_setup_sets_the_policy(monkeypatch, restore_policy):
    monkeypatch.setenv(precision.ENV_PRECISION, "mixed_bfloat16")
    assert precision.setup(profile("ci")) == "mixed_bfloat16"
    assert keras.mixed_precision.dtype_policy().name == "mixed_bfloat16"
    monkeypatch.delenv(precision.ENV_PRECISION)
    assert precision.setup(profile("ci")) == "float32"
    assert keras.mixed_precision.dtype_policy().name == "float32"


def test_scope_builds_under_the_policy_and_restores_it(monkeypatch, restore_policy):
    monkeypatch.setenv(precision.ENV_PRECISION, "mixed_bfloat16")
    with precision.scope(profile("ci")) as policy:
        vae = mechanisms.build_vae(CFG, 3)
    assert policy == "mixed_bfloat16" and vae.encoder.layers[1].dtype_policy.name == policy
    assert keras.mixed_precision.dtype_policy().name == "float32"  # the chapter stays float32
    assert vae.decoder(np.zeros((1, CFG.z_dim), "float32")).dtype == "float32"


def _run(policy, build, measure, weights=None):
    """Build under ``policy`` (weights from the float32 model), return (measure(model), weights)."""
    keras.mixed_precision.set_dtype_policy(policy)
    keras.utils.set_random_seed(0)
    model = build()
    if weights is not None:
        model.set_weights(weights)
    weights = model.get_weights()
    return measure(model), weights


def _compare(build, measure):
    """``measure(model)`` under float32 and under mixed_bfloat16 on the same weights: values
    named ``trained_*`` within TRAINED_RTOL, the others (forward passes) within FORWARD_RTOL."""
    ref, weights = _run("float32", build, measure)
    mixed, _ = _run("mixed_bfloat16", build, measure, weights)
    for key in ref:
        print(
            f"{key}: float32 {ref[key]:.5g}, mixed_bfloat16 {mixed[key]:.5g}, "
            f"relative difference {abs(mixed[key] / ref[key] - 1):.2%}"
        )
        assert np.isfinite(mixed[key]), key
        rtol = TRAINED_RTOL if key.startswith("trained_") else FORWARD_RTOL
        np.testing.assert_allclose(mixed[key], ref[key], rtol=rtol, err_msg=key)
    return ref


def _fit(model, x, y=None, epochs=3, batch_size=8, keys=None):
    """Forward losses of the first batches (the first epoch's first step is taken on the
    initial weights) and the epoch means after ``epochs`` epochs (same batches every time)."""
    h = model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0).history
    keys = keys or [k for k in h if "loss" in k]
    return {**{f"first_{k}": h[k][0] for k in keys}, **{f"trained_{k}": h[k][-1] for k in keys}}


@pytest.mark.parametrize("mechanism", [0, 1, 2, 3])
def test_four_kl_mechanisms_under_mixed_bfloat16(mechanism, restore_policy):
    x = images(16, 16)

    def build():
        vae = mechanisms.build_vae(CFG, mechanism, optimizer=keras.optimizers.Adam(3e-3))
        models.set_enc_to_predict(vae)  # z = mu: the comparison without sampling noise
        return vae

    def measure(vae):
        y = mechanisms.fit_targets(vae, x)
        out = vae.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
        return {**out, **_fit(vae, x, y, epochs=4)}

    ref = _compare(build, measure)
    assert ref["kl_loss"] > 0 and ref["reconstruction_loss"] > 0
    assert ref["trained_loss"] < 0.97 * ref["first_loss"]  # it trained: a fair comparison


def test_mixed_models_keep_float32_where_it_matters(restore_policy):
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    vae = mechanisms.build_vae(CFG, 3)
    x = images(4)
    assert vae.decoder(vae.encoder(x)[0]).dtype == "float32"  # the decoder's final activation
    _, mu, log_var = vae.encoder(x)
    assert models.kl_divergence(mu, log_var).dtype == "float32"  # KL summed in float32
    g = gan.build_gan(gan.GANConfig(image_size=16, z_dim=8, filters=(16, 32)))
    assert g.generator(np.zeros((2, 8), "float32")).dtype == "float32"
    assert g.discriminator(x).dtype == "float32"  # the logit


def test_gan_under_mixed_bfloat16(restore_policy):
    x = images(32, 16)
    config = gan.GANConfig(image_size=16, z_dim=8, filters=(16, 32))
    # a GAN's losses are chaotic: two epochs, the first step is the fair comparison
    _compare(
        lambda: gan.build_gan(config, seed=0),
        lambda g: _fit(g, x, epochs=2, batch_size=16, keys=("d_loss", "g_loss")),
    )


def test_classifier_under_mixed_bfloat16(restore_policy):
    x = images(32, 16)
    y = (np.random.default_rng(1).random((32, 40)) > 0.5).astype("float32")

    def build():
        return attribute_classifier(image_size=16, filters=(16, 32), feature_dim=32)

    def measure(model):
        return {
            **model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True),
            **_fit(model, x, y),
        }

    _compare(build, measure)


def test_gan_under_mixed_float16_scales_its_losses(restore_policy):
    # a T4's policy: both of the GAN's own optimizers scale the loss, so small float16
    # gradients do not underflow
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    keras.utils.set_random_seed(0)
    g = gan.build_gan(gan.GANConfig(image_size=16, z_dim=8, filters=(16, 32)))
    assert isinstance(g.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(g.g_optimizer, keras.optimizers.LossScaleOptimizer)
    h = g.fit(images(16, 16), epochs=1, batch_size=16, verbose=0).history
    assert np.isfinite(h["d_loss"][0]) and np.isfinite(h["g_loss"][0])


def test_codes_stay_float32_under_mixed_precision(restore_policy):
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    vae = mechanisms.build_vae(CFG, 3)
    x = images(4)
    assert models.encode(vae, x).dtype == "bfloat16"  # what NumPy would get without it
    precision.float32_codes(vae)
    z, (mu, log_var) = models.encode(vae, x), models.encode(vae, x, log_var=True)
    assert z.dtype == mu.dtype == log_var.dtype == "float32"
    assert vae.decoder(z).dtype == "float32"
    assert np.isfinite(vae.evaluate(x, x, verbose=0, return_dict=True)["loss"])


def test_codes_of_a_functional_model_stay_float32_too(restore_policy):
    # A functional model holds its encoder as the layer named "encoder", not as an attribute.
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    ae = models.build_ae(CFG)
    x = images(4)
    assert models.encode(ae, x).dtype == "bfloat16"
    precision.float32_codes(ae)
    assert models.encode(ae, x).dtype == "float32"
