"""The two companion tutorials: what they build beyond the presets, and where they go wrong.

Their architectures are presets of :mod:`vaecourse.models` (``seed001_ae``, ``seed001_vae``,
``seed002``).  This module holds what a preset cannot express -- their losses as written and
their mistakes, kept on purpose so that a chapter can run each one against its corrected form:
tutorial 001's "RMSE" that is a mean squared error, its ``LOSS_FACTOR`` as the series' ``fact``,
its encoder with a typo in a branch that never runs, and pixel dropout (chapter T1); tutorial
002's one epsilon per batch, its ``z_log_sigma`` read as log sigma, and its loss (chapter T2).
The checks and measures the two chapters only call are :mod:`vaecourse.kit.tutorial_tools`.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from . import mechanisms, models


# ======================================================================================
# Tutorial 001
# ======================================================================================
def r_loss(y_true, y_pred):
    """(chapter T1) Tutorial 001's reconstruction loss as written: the mean of the squared differences over
    height, width and channels, one value per image.  The tutorial calls it RMSE; there is no
    square root, so it is the mean squared error."""
    return ops.mean(ops.square(y_true - y_pred), axis=(1, 2, 3))


def rmse(y_true, y_pred):
    """(chapter T1) The root mean squared error per image: the square root of :func:`r_loss`."""
    return ops.sqrt(r_loss(y_true, y_pred))


def loss_factor_as_fact(loss_factor: float, image_shape) -> float:
    """(chapter T1) The series' KL weight ``fact`` that gives the same optimum as tutorial 001's
    ``LOSS_FACTOR * r_loss + KL``.

    The tutorial averages the squared error over H x W pixels (and the channels); the series
    sums the per-pixel error over the H x W pixels and weighs the KL term instead.  Since
    ``mean = sum / (H W)``, ``LOSS_FACTOR * mean + KL = (LOSS_FACTOR / (H W)) * (sum + fact * KL)``
    with ``fact = H W / LOSS_FACTOR``: the two losses differ by a constant factor, so they have
    the same minimum.  A larger LOSS_FACTOR is a smaller fact."""
    h, w = image_shape[:2]
    return h * w / float(loss_factor)


def tutorial_vae_encoder(
    input_shape=(128, 128, 3),
    z_dim=200,
    filters=(32, 64, 64, 64),
    kernels=(3, 3, 3, 3),
    strides=(2, 2, 2, 2),
    use_batch_norm=False,
    use_dropout=False,
):
    """(chapter T1) Tutorial 001's VAE encoder, built the way the tutorial wrote it: convolutions with
    LeakyReLU, optional batch normalisation and dropout, then mu, log_var and a sampling layer.

    The batch-normalisation branch names a layer ``BathcNormalization`` that does not exist.
    The tutorial never passed ``use_batch_norm=True``, so the branch never ran and the typo never
    failed: Python looks a name up only when the line executes."""
    x_in = keras.Input(input_shape, name="encoder_input")
    x = x_in
    for i, (f, k, s) in enumerate(zip(filters, kernels, strides)):
        x = layers.Conv2D(f, k, strides=s, padding="same", name=f"encoder_conv_{i}")(x)
        if use_batch_norm:
            x = BathcNormalization()(x)  # noqa: F821  (the tutorial's typo, kept on purpose)
        x = layers.LeakyReLU()(x)
        if use_dropout:
            x = layers.Dropout(rate=0.25)(x)
    x = layers.Flatten()(x)
    mu = layers.Dense(z_dim, name="mu")(x)
    log_var = layers.Dense(z_dim, name="log_var")(x)
    z = models.Sampling(name="z")([mu, log_var])
    return keras.Model(x_in, [z, mu, log_var], name="encoder")


# --- Curse I's missing half: rebuilding a face from a fraction of its pixels ------------------
@models.register
class PixelDropout(layers.Layer):
    """(chapter T1) During training, keeps each pixel with a probability drawn per image from
    [``keep_min``, ``keep_max``] and blackens the rest; at inference it passes images through.
    Put in front of an AE, it turns the AE into one that rebuilds faces from a few pixels."""

    def __init__(self, keep_min=0.1, keep_max=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.keep_min, self.keep_max, self.seed = float(keep_min), float(keep_max), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=False):
        if not training:
            return x
        n, h, w = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
        keep = keras.random.uniform(
            (n, 1, 1, 1), self.keep_min, self.keep_max, seed=self.seed_generator
        )
        u = keras.random.uniform((n, h, w, 1), seed=self.seed_generator)
        return x * ops.cast(u < keep, x.dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "keep_min": self.keep_min,
            "keep_max": self.keep_max,
            "seed": self.seed,
        }


# ======================================================================================
# Tutorial 002
# ======================================================================================
@models.register
class SharedEpsilonSampling(models.Sampling):
    """(chapter T2) Tutorial 002's sampling: epsilon is drawn with shape ``(z_dim,)`` and broadcast over the
    batch, so every image of a batch is moved by the *same* noise vector (times its own sigma)."""

    def call(self, inputs):
        mu, log_var = inputs
        epsilon = keras.random.normal(ops.shape(mu)[-1:], dtype=mu.dtype, seed=self.seed_generator)
        scale = ops.cast(self.eps_factor, mu.dtype) * ops.exp(0.5 * log_var)
        return mu + scale * epsilon


@models.register
class LogSigmaSampling(models.Sampling):
    """(chapter T2) Sampling with the encoder's second output read as log sigma, as tutorial 002's name
    ``z_log_sigma`` says: z = mu + exp(z_log_sigma) * epsilon.  (The tutorial itself computes
    exp(z_log_sigma / 2), i.e. it uses the output as a log-variance.)"""

    def call(self, inputs):
        mu, log_sigma = inputs
        epsilon = keras.random.normal(ops.shape(mu), dtype=mu.dtype, seed=self.seed_generator)
        return mu + ops.cast(self.eps_factor, mu.dtype) * ops.exp(log_sigma) * epsilon


def kl_divergence_log_sigma(mu, log_sigma):
    """(chapter T2) KL(N(mu, sigma^2) || N(0, I)) per sample with log sigma given: the same as
    ``models.kl_divergence(mu, 2 * log_sigma)``."""
    mu, log_sigma = ops.cast(mu, "float32"), ops.cast(log_sigma, "float32")
    return -0.5 * ops.sum(
        1.0 + 2.0 * log_sigma - ops.square(mu) - ops.exp(2.0 * log_sigma), axis=-1
    )


#: The sampling layers :func:`build_tutorial_vae` can put into the encoder.
SAMPLINGS = {
    "per_image": models.Sampling,  # the correct form: one epsilon per image
    "shared": SharedEpsilonSampling,  # tutorial 002 as written
    "log_sigma": LogSigmaSampling,  # the name taken at its word, the KL left as written
}


def build_tutorial_vae(config: models.VAEConfig, sampling: str = "per_image", seed=None):
    """(chapter T2) The GradientTape VAE of ``config`` (mechanism 3) whose encoder draws z with the layer
    ``SAMPLINGS[sampling]``; the KL term is the usual one on (mu, log_var) in every case."""
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling={sampling!r}: choose one of {', '.join(SAMPLINGS)}")
    vae = mechanisms.build_vae(config, mechanism=3, seed=seed)
    if sampling == "per_image":
        return vae

    def swap(layer):
        if isinstance(layer, models.Sampling):
            return SAMPLINGS[sampling](seed=seed, name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    encoder = keras.models.clone_model(vae.encoder, clone_function=swap)
    model = mechanisms.VAE(
        encoder, vae.decoder, models.reconstruction_loss(config), config.fact, name=config.name
    )
    return models.compile_and_build(model, config)


def tutorial002_loss(x, x_hat, mu, log_var, kl_weight: float = 1e-4):
    """(chapter T2) Tutorial 002's loss as written: the squared error averaged over the *flattened batch*
    (one number), plus ``kl_weight`` times the KL term of each image; averaged over the batch."""
    x, x_hat = ops.cast(x, "float32"), ops.cast(x_hat, "float32")
    rec = ops.mean(ops.square(ops.reshape(x, (-1,)) - ops.reshape(x_hat, (-1,))))
    return ops.mean(rec + kl_weight * models.kl_divergence(mu, log_var))
