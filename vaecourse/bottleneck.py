"""Chapter XII: an extra Dense layer between Flatten and mu/log_var, and what it saves.

The series' encoder maps the flattened feature map straight onto mu and log_var: two Dense
layers of ``flat * z_dim`` weights each.  Putting one Dense layer of ``hidden`` units in
between replaces them by ``flat * hidden + 2 * hidden * z_dim`` weights -- far fewer when
``hidden`` is small against ``flat``.  Every weight costs memory four times during training
with Adam (the weight, its gradient, two moment estimates).

    vae = build_dense_vae(cfg, hidden=256)            # the variant (GradientTape mechanism)
    encoder_parameters(cfg), encoder_parameters(cfg, hidden=256)

The memory a training step takes is measured by :func:`vaecourse.kit.measure.training_memory`.
"""

from __future__ import annotations

import keras
from keras import layers

from .mechanisms import VAE
from .models import (
    Sampling,
    VAEConfig,
    build_decoder,
    build_encoder,
    compile_and_build,
    feature_sizes,
    reconstruction_loss,
)


def flat_size(config: VAEConfig) -> int:
    """(chapter XII) Length of the encoder's flattened feature map: h * w * last filter count."""
    h, w = feature_sizes(config)[-1]
    return int(h * w * config.filters[-1])


def head_parameters(config: VAEConfig, hidden: int | None = None) -> int:
    """(chapter XII) Weights + biases between Flatten and (mu, log_var), by arithmetic."""
    flat, z = flat_size(config), config.z_dim
    if not hidden:
        return 2 * (flat * z + z)
    return (flat * hidden + hidden) + 2 * (hidden * z + z)


def build_dense_encoder(config: VAEConfig, hidden: int, seed=None):
    """(chapter XII) The series encoder with ``Dense(hidden)`` + activation after Flatten.

    The conv stack is the one :func:`vaecourse.models.build_encoder` makes (same layer names);
    only the head differs: Flatten -> encoder_dense -> mu / log_var -> Sampling.
    """
    if not config.variational:
        raise ValueError("build_dense_encoder builds a VAE encoder: use a variational config")
    base = build_encoder(config.replace(latent_batch_norm=False), seed=seed)
    x = base.get_layer("encoder_flatten").output
    x = layers.Dense(int(hidden), name="encoder_dense")(x)
    x = (
        layers.LeakyReLU(name="encoder_dense_act")(x)
        if config.activation == "leaky_relu"
        else layers.Activation(config.activation, name="encoder_dense_act")(x)
    )
    mu = layers.Dense(config.z_dim, name="mu")(x)
    log_var = layers.Dense(config.z_dim, name="log_var")(x)
    z = Sampling(seed=seed, name="z")([mu, log_var])
    return keras.Model(base.input, [z, mu, log_var], name="encoder")


def build_dense_vae(config: VAEConfig, hidden: int, compile: bool = True, seed=None):
    """(chapter XII) The GradientTape VAE (mechanism 3) with :func:`build_dense_encoder` as its encoder."""
    encoder, decoder = build_dense_encoder(config, hidden, seed=seed), build_decoder(config)
    vae = VAE(encoder, decoder, reconstruction_loss(config), config.fact, name=config.name)
    return compile_and_build(vae, config, compile=compile)


def encoder_parameters(config: VAEConfig, hidden: int | None = None) -> int:
    """(chapter XII) Parameter count of the built encoder (with the extra Dense layer if ``hidden``)."""
    enc = build_dense_encoder(config, hidden) if hidden else build_encoder(config)
    return int(enc.count_params())
