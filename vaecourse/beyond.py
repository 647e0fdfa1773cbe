"""Beyond the series (chapter XIV): a VAE that sets its own ``fact``, and a VAE you can steer.

* :class:`SigmaVAE` -- the book VAE with a Gaussian decoder whose noise level sigma is the
  maximum-likelihood value of each batch ("sigma-VAE", Rybkin et al. 2021): the loss is the
  negative ELBO in nats, and sigma plays the part of ``fact`` (chapter X: sigma^2 = 1.5 fact);
* :class:`ConditionalVAE` -- encoder and decoder also see an attribute vector ``c`` (+1/-1):
  "make this face smile" is a switch on ``c``;
* :class:`RegularisedVAE` -- KL warm-up (the KL weight rises from 0 over the first steps) and
  free bits (no KL cost below a floor per latent dimension).

Encoder and decoder are the course's own (:mod:`vaecourse.models`); losses and inputs change.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from . import mechanisms, models

LOG_2PI = math.log(2.0 * math.pi)


def fact_of_sigma(sigma):
    """(chapter XIV) The course's KL weight ``fact`` that claims the pixel noise ``sigma``
    (chapter X: the channel-mean squared error + fact * KL is the Gaussian -ELBO / (3 fact)
    when 2 sigma^2 = 3 fact)."""
    return 2.0 * np.square(sigma) / 3.0


@models.register
class SigmaVAE(mechanisms.VAE):
    """(chapter XIV) -ELBO in nats per image with a Gaussian decoder N(x_hat, sigma^2 I); sigma^2
    is the batch's mean squared error, the value that maximises the likelihood.  ``log_sigma``
    keeps a running mean of log sigma for evaluation after training."""

    def __init__(self, encoder, decoder, rec_loss=None, fact=1.0, min_sigma=1e-3, **kwargs):
        super().__init__(encoder, decoder, rec_loss, fact, **kwargs)
        self.min_sigma = float(min_sigma)
        self.sigma_tracker = keras.metrics.Mean(name="sigma")
        self.log_sigma = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="log_sigma"
        )

    @property
    def metrics(self):
        return [self.total_tracker, self.rec_tracker, self.kl_tracker, self.sigma_tracker]

    def compute_losses(self, x, training=False):
        z, mu, log_var = self.encoder(x, training=training)
        x_hat = self.decoder(z, training=training)
        mse = ops.mean(ops.square(ops.cast(x, "float32") - x_hat))
        log_sigma = 0.5 * ops.log(ops.maximum(mse, self.min_sigma**2))
        d = float(np.prod(x.shape[1:]))  # values per image: H x W x C
        # sum over the D values of -log N(x; x_hat, sigma^2) with sigma^2 = mse:
        rec = d * (log_sigma + 0.5 * LOG_2PI + 0.5)
        kl = self.fact * ops.mean(models.kl_divergence(mu, log_var))
        return rec + kl, rec, kl, log_sigma

    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            total, rec, kl, log_sigma = self.compute_losses(x, training=True)
            loss = tf.nn.compute_average_loss(ops.reshape(total, (-1,)))  # as mechanisms.VAE
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.log_sigma.assign(0.99 * self.log_sigma + 0.01 * log_sigma)  # ~100-step memory
        return self.update_trackers(total, rec, kl, log_sigma)

    def update_trackers(self, total, rec, kl, log_sigma):
        for tracker, value in zip(self.metrics, (total, rec, kl, ops.exp(log_sigma))):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.metrics}

    @property
    def sigma(self) -> float:
        return float(np.exp(keras.ops.convert_to_numpy(self.log_sigma)))


def build_sigma_vae(config: models.VAEConfig, seed=None) -> SigmaVAE:
    """(chapter XIV) The book VAE's encoder and decoder in a :class:`SigmaVAE` (``fact`` 1:
    the weight between the terms is sigma's job now)."""
    config = config.replace(rec_loss="mse")  # so kit.measures.elbo reads its likelihood as Gaussian
    encoder, decoder = models.build_encoder(config, seed=seed), models.build_decoder(config)
    vae = SigmaVAE(encoder, decoder, None, config.fact, name=config.name)
    return models.compile_and_build(vae, config)


@models.register
class ConditionalVAE(mechanisms.VAE):
    """(chapter XIV) Inputs ``(x, c)``: the encoder reads the image with ``c`` as extra
    constant channels, the decoder reads ``[z, c]``.  Loss as the book VAE's."""

    def call(self, inputs, training=False):
        x, c = inputs
        z, mu, log_var = self.encoder([x, c], training=training)
        return self.decoder([z, c], training=training)

    def compute_losses(self, inputs, training=False):
        x, c = inputs
        z, mu, log_var = self.encoder([x, c], training=training)
        x_hat = self.decoder([z, c], training=training)
        rec = self.rec_loss(x, x_hat)
        kl = self.fact * ops.mean(models.kl_divergence(mu, log_var))
        return rec + kl, rec, kl


def build_cvae(config: models.VAEConfig, n_conditions: int, seed=None) -> ConditionalVAE:
    """(chapter XIV) The book VAE with ``n_conditions`` attributes given to both halves."""
    k, (h, w, channels) = int(n_conditions), config.input_shape
    x_in, c_in = keras.Input(config.input_shape, name="image"), keras.Input((k,), name="c")
    c_map = layers.UpSampling2D((h, w))(layers.Reshape((1, 1, k))(c_in))  # c at every pixel
    inner = models.build_encoder(config.replace(input_shape=(h, w, channels + k)), seed=seed)
    encoder = keras.Model([x_in, c_in], inner(layers.Concatenate()([x_in, c_map])), name="encoder")
    z_in = keras.Input((config.z_dim,), name="z")
    inner_dec = models.build_decoder(config.replace(z_dim=config.z_dim + k))
    decoder = keras.Model(
        [z_in, c_in], inner_dec(layers.Concatenate()([z_in, c_in])), name="decoder"
    )
    vae = ConditionalVAE(
        encoder, decoder, models.reconstruction_loss(config), config.fact, name=config.name
    )
    zeros = [np.zeros((1,) + config.input_shape, "float32"), np.zeros((1, k), "float32")]
    return models.compile_and_build(vae, config, inputs=zeros)


def encode_c(model, images, c, batch_size: int = 256) -> np.ndarray:
    """(chapter XIV) mu of q(z | x, c) for images on [0, 1] and conditions ``c``."""
    out = [
        ops.convert_to_numpy(
            model.encoder([images[i : i + batch_size], c[i : i + batch_size]], training=False)[1]
        )
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(out)


def decode_c(model, z, c, batch_size: int = 256) -> np.ndarray:
    """(chapter XIV) Images on [0, 1] decoded from codes ``z`` under conditions ``c``."""
    z, c = np.asarray(z, "float32"), np.asarray(c, "float32")
    out = [
        ops.convert_to_numpy(
            model.decoder([z[i : i + batch_size], c[i : i + batch_size]], training=False)
        )
        for i in range(0, len(z), batch_size)
    ]
    return np.concatenate(out)


@models.register
class RegularisedVAE(mechanisms.VAE):
    """(chapter XIV) The book VAE with KL warm-up (weight fact * min(1, step / warmup_steps))
    and free bits (each latent dimension's batch-mean KL counts as at least ``free_bits``
    nats, so the loss gives nothing for squeezing a dimension below it)."""

    def __init__(self, encoder, decoder, rec_loss=None, fact=1.0, warmup_steps=0, free_bits=0.0,
                 **kwargs):  # fmt: skip
        super().__init__(encoder, decoder, rec_loss, fact, **kwargs)
        self.warmup_steps, self.free_bits = int(warmup_steps), float(free_bits)

    def compute_losses(self, x, training=False):
        z, mu, log_var = self.encoder(x, training=training)
        x_hat = self.decoder(z, training=training)
        rec = self.rec_loss(x, x_hat)
        kl_dims = ops.mean(-0.5 * (1.0 + log_var - ops.square(mu) - ops.exp(log_var)), axis=0)
        if self.free_bits:
            kl_dims = ops.maximum(kl_dims, self.free_bits)
        weight = self.fact
        if training and self.warmup_steps:
            step = ops.cast(self.optimizer.iterations, "float32")
            weight = self.fact * ops.minimum(1.0, step / self.warmup_steps)
        kl = weight * ops.sum(kl_dims)
        return rec + kl, rec, kl


def build_regularised_vae(config, warmup_steps=0, free_bits=0.0, seed=None) -> RegularisedVAE:
    """(chapter XIV) The book VAE as a :class:`RegularisedVAE`."""
    encoder, decoder = models.build_encoder(config, seed=seed), models.build_decoder(config)
    vae = RegularisedVAE(encoder, decoder, models.reconstruction_loss(config), config.fact,
                         warmup_steps, free_bits, name=config.name)  # fmt: skip
    return models.compile_and_build(vae, config)


def calibrated_sigma(model, images, seed: int = 0) -> float:
    """(chapter XIV) The sigma that maximises a decoder's Gaussian ELBO on ``images`` (floats on
    [0, 1]): the root mean squared error of decodings of one z ~ q(z|x) per image."""
    mu, log_var = models.encode(model, images, log_var=True)
    eps = np.random.default_rng(seed).standard_normal(mu.shape)
    x_hat = models.decode(model, mu + np.exp(0.5 * log_var) * eps)
    return float(np.sqrt(np.mean((np.asarray(images, np.float64) - x_hat) ** 2)))
