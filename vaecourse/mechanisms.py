"""The four ways of the series to add the KL loss to a VAE, in Keras 3.

=====  =====================================================================
  0    a custom encoder layer computes the KL term and calls ``add_loss``
  1    tensor transfer: mu and log_var become a second model output "kl",
       and an ordinary ``(y_true, y_pred)`` loss acts on it
  2    ``add_loss`` at model level, inside a subclassed model's ``call()``
       (the Keras 2 symbolic ``vae.add_loss(tensor)`` fails: see
       :func:`vaecourse.pitfalls.symbolic_model_add_loss`)
  3    a ``keras.Model`` subclass with ``train_step``/``test_step`` and a
       ``tf.GradientTape`` (the series' choice from part VIII on)
=====  =====================================================================

Every mechanism logs the same keys: ``loss`` (total), ``reconstruction_loss`` and
``kl_loss`` (both already weighted, so ``loss = reconstruction_loss + kl_loss``), and
``val_...`` for validation data (:data:`vaecourse.history.LOSS_KEYS`).  Mechanism 1 needs
targets for both outputs; use :func:`fit_targets` (or :func:`vaecourse.training.fit`, which
does it for you).  The forms that fail are in :mod:`vaecourse.pitfalls`.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from .models import (
    VAEConfig,
    build_decoder,
    build_encoder,
    compile_and_build,
    kl_divergence,
    reconstruction_loss,
    reconstruction_metric,
    register,
)

MECHANISMS = {
    0: "encoder layer with add_loss",
    1: "multiple outputs (tensor transfer)",
    2: "add_loss in a subclassed model's call()",
    3: "train_step with GradientTape",
}


# --- Mechanism 0: a custom encoder layer ---------------------------------------------
@register
class KLLossLayer(layers.Layer):
    """(chapter V) Passes [mu, log_var] through unchanged and adds fact * KL to the model's losses."""

    def __init__(self, fact=1.0, **kwargs):
        super().__init__(**kwargs)
        self.fact = float(fact)
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")  # add_metric is gone in Keras 3

    def call(self, inputs):
        mu, log_var = inputs
        kl = self.fact * ops.mean(kl_divergence(mu, log_var))
        self.add_loss(kl)
        self.kl_tracker.update_state(kl)
        return [mu, log_var]

    def get_config(self):
        return {**super().get_config(), "fact": self.fact}


def build_vae_layer_loss(config: VAEConfig, optimizer=None, compile=True, seed=None):
    """(chapter V) Mechanism 0: functional VAE; the KL term comes from a layer inside the encoder."""
    encoder = build_encoder(
        config, kl_layer=KLLossLayer(config.fact, name="kl_loss_layer"), seed=seed
    )
    decoder = build_decoder(config)
    x = keras.Input(config.input_shape, name="image")
    z, mu, log_var = encoder(x)
    vae = keras.Model(x, decoder(z), name=config.name)
    loss, metrics = reconstruction_loss(config), [reconstruction_metric(config)]
    return compile_and_build(
        vae, config, optimizer, compile, build=False, loss=loss, metrics=metrics
    )


# --- Mechanism 1: tensor transfer to a second output ---------------------------------
@register
class KLLoss(keras.losses.Loss):
    """(chapter VI) fact * KL computed from y_pred = concat(mu, log_var); y_true is a dummy."""

    def __init__(self, fact=1.0, name="kl_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.fact = float(fact)

    def call(self, y_true, y_pred):
        mu, log_var = ops.split(y_pred, 2, axis=-1)
        return self.fact * kl_divergence(mu, log_var)

    def get_config(self):
        return {**super().get_config(), "fact": self.fact}


def build_vae_multi_output(config: VAEConfig, optimizer=None, compile=True, seed=None):
    """(chapter VI) Mechanism 1: outputs {"reconstruction": x_hat, "kl": [mu | log_var]}; Keras logs the
    per-output losses as reconstruction_loss and kl_loss."""
    encoder, decoder = build_encoder(config, seed=seed), build_decoder(config)
    x = keras.Input(config.input_shape, name="image")
    z, mu, log_var = encoder(x)
    outputs = {
        "reconstruction": layers.Identity(name="reconstruction")(decoder(z)),
        "kl": layers.Concatenate(name="kl", dtype="float32")([mu, log_var]),
    }
    vae = keras.Model(x, outputs, name=config.name)
    loss = {"reconstruction": reconstruction_loss(config), "kl": KLLoss(config.fact)}
    return compile_and_build(vae, config, optimizer, compile, build=False, loss=loss)


# --- Mechanism 2: add_loss in a subclassed model --------------------------------------
@register
class VAEModelLoss(keras.Model):
    """(chapter VII) Encoder + decoder; call() adds fact * KL with self.add_loss (Keras 3 allows this
    only inside call(), where mu and log_var are real tensors)."""

    def __init__(self, encoder, decoder, fact=1.0, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder, self.fact = encoder, decoder, float(fact)
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    def call(self, x, training=False):
        z, mu, log_var = self.encoder(x, training=training)
        kl = self.fact * ops.mean(kl_divergence(mu, log_var))
        self.add_loss(kl)
        self.kl_tracker.update_state(kl)
        return self.decoder(z, training=training)

    def get_config(self):
        return {
            "name": self.name,
            "fact": self.fact,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for part in ("encoder", "decoder"):
            config[part] = keras.saving.deserialize_keras_object(config[part])
        return cls(**config)


def build_vae_model_loss(config: VAEConfig, optimizer=None, compile=True, seed=None):
    """(chapter VII) Mechanism 2: a subclassed model that calls add_loss in call()."""
    encoder, decoder = build_encoder(config, seed=seed), build_decoder(config)
    vae = VAEModelLoss(encoder, decoder, config.fact, name=config.name)
    loss, metrics = reconstruction_loss(config), [reconstruction_metric(config)]
    return compile_and_build(vae, config, optimizer, compile, loss=loss, metrics=metrics)


# --- Mechanism 3: train_step with GradientTape ---------------------------------------
@register
class VAE(keras.Model):
    """(chapter IV) VAE with its own train_step/test_step (keras-io style, as in the series' part VIII).

    The losses are computed per image, and a step differentiates their sum divided by the
    global batch, so the model trains the same on several devices (chapter Scaling)."""

    def __init__(self, encoder, decoder, rec_loss=None, fact=1.0, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder, self.fact = encoder, decoder, float(fact)
        self.rec_loss = keras.losses.get(rec_loss) if isinstance(rec_loss, dict) else rec_loss
        self.total_tracker = keras.metrics.Mean(name="loss")
        self.rec_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):  # listed here so Keras resets them every epoch
        return [self.total_tracker, self.rec_tracker, self.kl_tracker]

    def call(self, x, training=False):
        z, mu, log_var = self.encoder(x, training=training)
        return self.decoder(z, training=training)

    def compute_losses(self, x, training=False):
        z, mu, log_var = self.encoder(x, training=training)
        x_hat = self.decoder(z, training=training)
        rec = self.rec_loss.call(x, x_hat)  # per image: call() leaves the batch unreduced
        kl = self.fact * kl_divergence(mu, log_var)  # per image
        return rec + kl, rec, kl

    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            total, rec, kl = self.compute_losses(x, training=True)
            # sum over this replica's images / GLOBAL batch: on several devices the replicas'
            # gradients add up to that of the batch mean; on one device it is the mean
            # ((-1,): a loss that is one batch mean, as some subclasses return, counts once)
            loss = tf.nn.compute_average_loss(ops.reshape(total, (-1,)))
            scaled = self.optimizer.scale_loss(loss)  # no-op without mixed precision
        grads = tape.gradient(scaled, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self.update_trackers(total, rec, kl)

    def test_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self.update_trackers(*self.compute_losses(x, training=False))

    def update_trackers(self, total, rec, kl):
        for tracker, value in zip(self.metrics, (total, rec, kl)):
            tracker.update_state(ops.mean(value))  # the batch's (replica's) mean, once per step
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        return {
            "name": self.name,
            "fact": self.fact,
            "rec_loss": keras.saving.serialize_keras_object(self.rec_loss),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for part in ("encoder", "decoder", "rec_loss"):
            config[part] = keras.saving.deserialize_keras_object(config[part])
        return cls(**config)


def build_vae_gradient_tape(config: VAEConfig, optimizer=None, compile=True, seed=None):
    """(chapter I) Mechanism 3: the :class:`VAE` model with its GradientTape train_step."""
    encoder, decoder = build_encoder(config, seed=seed), build_decoder(config)
    vae = VAE(encoder, decoder, reconstruction_loss(config), config.fact, name=config.name)
    return compile_and_build(vae, config, optimizer, compile)


BUILDERS = {
    0: build_vae_layer_loss,
    1: build_vae_multi_output,
    2: build_vae_model_loss,
    3: build_vae_gradient_tape,
}


def build_vae(config: VAEConfig, mechanism: int = 3, optimizer=None, compile=True, seed=None):
    """(chapter I) The VAE of ``config`` whose KL loss is added by ``mechanism`` 0-3 (see the module
    docstring).  All four log ``loss``, ``reconstruction_loss`` and ``kl_loss``."""
    if mechanism not in BUILDERS:
        raise ValueError(f"mechanism={mechanism!r}: choose 0-3 ({MECHANISMS})")
    if not config.variational:
        raise ValueError(
            f"config {config.name!r} has variational=False: use "
            "models.build_ae(config) or config.replace(variational=True)"
        )
    return BUILDERS[mechanism](config, optimizer=optimizer, compile=compile, seed=seed)


def fit_targets(model, x):
    """(chapter VI) The ``y`` that ``model.fit(x, y)`` needs: a dummy for the "kl" output of mechanism 1,
    None for mechanism 3 (its train_step needs no targets), ``x`` itself otherwise."""
    if isinstance(model, VAE):
        return None
    if isinstance(getattr(model, "output", None), dict):
        return {"reconstruction": x, "kl": np.zeros((len(x), 1), "float32")}
    return x
