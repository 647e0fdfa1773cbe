"""The four ways of the series to add the KL loss to a VAE, in Keras 3.

=====  =====================================================================
  0    a custom encoder layer computes the KL term and calls ``add_loss``
  1    tensor transfer: mu and log_var become a second model output "kl",
       and an ordinary ``(y_true, y_pred)`` loss acts on it
  2    ``add_loss`` at model level, inside a subclassed model's ``call()``
       (the Keras 2 symbolic ``vae.add_loss(tensor)`` fails: see
       :func:`symbolic_model_add_loss`)
  3    a ``keras.Model`` subclass with ``train_step``/``test_step`` and a
       ``tf.GradientTape`` (the series' choice from part VIII on)
=====  =====================================================================

Every mechanism logs the same keys: ``loss`` (total), ``reconstruction_loss`` and
``kl_loss`` (both already weighted, so ``loss = reconstruction_loss + kl_loss``), and
``val_...`` for validation data.  Mechanism 1 needs targets for both outputs; use
:func:`fit_targets` (or :func:`vaecourse.training.fit`, which does it for you).

:func:`run_keras2_closure_vae` reproduces the historical eager-execution error of part III
with ``tf_keras`` in a subprocess; :func:`keras3_closure_vae` shows the same mistake in Keras 3.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field

import numpy as np
import keras
import tensorflow as tf
from keras import layers, ops

from .models import (VAEConfig, build_decoder, build_encoder, kl_divergence, make_optimizer,
                     reconstruction_loss, reconstruction_metric, register, _attach)

MECHANISMS = {
    0: "encoder layer with add_loss",
    1: "multiple outputs (tensor transfer)",
    2: "add_loss in a subclassed model's call()",
    3: "train_step with GradientTape",
}
LOSS_KEYS = ("loss", "reconstruction_loss", "kl_loss")


# --- Mechanism 0: a custom encoder layer ---------------------------------------------
@register
class KLLossLayer(layers.Layer):
    """Passes [mu, log_var] through unchanged and adds fact * KL to the model's losses."""

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
    """Mechanism 0: functional VAE; the KL term comes from a layer inside the encoder."""
    encoder = build_encoder(config, kl_layer=KLLossLayer(config.fact, name="kl_loss_layer"),
                            seed=seed)
    decoder = build_decoder(config)
    x = keras.Input(config.input_shape, name="image")
    z, mu, log_var = encoder(x)
    vae = keras.Model(x, decoder(z), name=config.name)
    if compile:
        vae.compile(optimizer=optimizer or make_optimizer(config),
                    loss=reconstruction_loss(config), metrics=[reconstruction_metric(config)])
    return _attach(vae, encoder, decoder, config, 0)


# --- Mechanism 1: tensor transfer to a second output ---------------------------------
@register
class KLLoss(keras.losses.Loss):
    """fact * KL computed from y_pred = concat(mu, log_var); y_true is a dummy."""

    def __init__(self, fact=1.0, name="kl_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.fact = float(fact)

    def call(self, y_true, y_pred):
        mu, log_var = ops.split(y_pred, 2, axis=-1)
        return self.fact * kl_divergence(mu, log_var)

    def get_config(self):
        return {**super().get_config(), "fact": self.fact}


def build_vae_multi_output(config: VAEConfig, optimizer=None, compile=True, seed=None):
    """Mechanism 1: outputs {"reconstruction": x_hat, "kl": [mu | log_var]}; Keras logs the
    per-output losses as reconstruction_loss and kl_loss."""
    encoder, decoder = build_encoder(config, seed=seed), build_decoder(config)
    x = keras.Input(config.input_shape, name="image")
    z, mu, log_var = encoder(x)
    outputs = {"reconstruction": layers.Identity(name="reconstruction")(decoder(z)),
               "kl": layers.Concatenate(name="kl", dtype="float32")([mu, log_var])}
    vae = keras.Model(x, outputs, name=config.name)
    if compile:
        vae.compile(optimizer=optimizer or make_optimizer(config),
                    loss={"reconstruction": reconstruction_loss(config), "kl": KLLoss(config.fact)})
    return _attach(vae, encoder, decoder, config, 1)


# --- Mechanism 2: add_loss in a subclassed model --------------------------------------
@register
class VAEModelLoss(keras.Model):
    """Encoder + decoder; call() adds fact * KL with self.add_loss (Keras 3 allows this
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
        return {"name": self.name, "fact": self.fact,
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "decoder": keras.saving.serialize_keras_object(self.decoder)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for part in ("encoder", "decoder"):
            config[part] = keras.saving.deserialize_keras_object(config[part])
        return cls(**config)


def build_vae_model_loss(config: VAEConfig, optimizer=None, compile=True, seed=None):
    """Mechanism 2: a subclassed model that calls add_loss in call()."""
    encoder, decoder = build_encoder(config, seed=seed), build_decoder(config)
    vae = VAEModelLoss(encoder, decoder, config.fact, name=config.name)
    if compile:
        vae.compile(optimizer=optimizer or make_optimizer(config),
                    loss=reconstruction_loss(config), metrics=[reconstruction_metric(config)])
    vae(np.zeros((1,) + config.input_shape, "float32"))  # build, so weights can be loaded
    return _attach(vae, encoder, decoder, config, 2)


def symbolic_model_add_loss(config: VAEConfig):
    """The Keras 2 recipe of part VII: ``vae.add_loss(kl)`` on a functional model with
    symbolic mu/log_var.  Keras 3 raises ``NotImplementedError`` here (try it)."""
    encoder, decoder = build_encoder(config), build_decoder(config)
    x = keras.Input(config.input_shape, name="image")
    z, mu, log_var = encoder(x)
    vae = keras.Model(x, decoder(z))
    vae.add_loss(config.fact * ops.mean(kl_divergence(mu, log_var)))  # raises in Keras 3
    return vae


# --- Mechanism 3: train_step with GradientTape ---------------------------------------
@register
class VAE(keras.Model):
    """VAE with its own train_step/test_step (keras-io style, as in the series' part VIII)."""

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
        rec = self.rec_loss(x, x_hat)
        kl = self.fact * ops.mean(kl_divergence(mu, log_var))
        return rec + kl, rec, kl

    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            total, rec, kl = self.compute_losses(x, training=True)
            scaled = self.optimizer.scale_loss(total)  # no-op without mixed precision
        grads = tape.gradient(scaled, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self.update_trackers(total, rec, kl)

    def test_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self.update_trackers(*self.compute_losses(x, training=False))

    def update_trackers(self, total, rec, kl):
        for tracker, value in zip(self.metrics, (total, rec, kl)):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        return {"name": self.name, "fact": self.fact,
                "rec_loss": keras.saving.serialize_keras_object(self.rec_loss),
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "decoder": keras.saving.serialize_keras_object(self.decoder)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for part in ("encoder", "decoder", "rec_loss"):
            config[part] = keras.saving.deserialize_keras_object(config[part])
        return cls(**config)


def build_vae_gradient_tape(config: VAEConfig, optimizer=None, compile=True, seed=None):
    """Mechanism 3: the :class:`VAE` model with its GradientTape train_step."""
    encoder, decoder = build_encoder(config, seed=seed), build_decoder(config)
    vae = VAE(encoder, decoder, reconstruction_loss(config), config.fact, name=config.name)
    if compile:
        vae.compile(optimizer=optimizer or make_optimizer(config))
    vae(np.zeros((1,) + config.input_shape, "float32"))
    return _attach(vae, encoder, decoder, config, 3)


BUILDERS = {0: build_vae_layer_loss, 1: build_vae_multi_output,
            2: build_vae_model_loss, 3: build_vae_gradient_tape}


def build(config: VAEConfig, mechanism: int = 3, optimizer=None, compile=True, seed=None):
    """The VAE of ``config`` with KL mechanism 0-3 (see the module docstring)."""
    if mechanism not in BUILDERS:
        raise ValueError(f"mechanism={mechanism!r}: choose 0-3 ({MECHANISMS})")
    if not config.variational:
        raise ValueError(f"config {config.name!r} has variational=False: use build_ae(config) "
                         "or config.replace(variational=True)")
    return BUILDERS[mechanism](config, optimizer=optimizer, compile=compile, seed=seed)


def fit_targets(model, x):
    """The ``y`` that ``model.fit(x, y)`` needs: a dummy for the "kl" output of mechanism 1,
    None for mechanism 3 (its train_step needs no targets), ``x`` itself otherwise."""
    if isinstance(model, VAE):
        return None
    if isinstance(getattr(model, "output", None), dict) or getattr(model, "kl_mechanism", None) == 1:
        return {"reconstruction": x, "kl": np.zeros((len(x), 1), "float32")}
    return x


# --- Keras 3: the closure mistake -----------------------------------------------------
def keras3_closure_vae(n: int = 32, seed: int = 0):
    """A loss function that closes over the symbolic mu/log_var of a functional model
    (seed 001's recipe) in Keras 3: ``fit`` raises ``ValueError`` (a KerasTensor cannot be
    used as input to a TensorFlow function)."""
    config = VAEConfig(input_shape=(8, 8, 1), filters=(4,), z_dim=2, batch_norm=False)
    encoder, decoder = build_encoder(config, seed=seed), build_decoder(config)
    x = keras.Input(config.input_shape)
    z, mu, log_var = encoder(x)
    vae = keras.Model(x, decoder(z))

    def total_loss(y_true, y_pred):  # mu and log_var are symbolic KerasTensors here
        rec = ops.mean(ops.square(y_true - y_pred), axis=(1, 2, 3))
        return rec + kl_divergence(mu, log_var)

    vae.compile(optimizer="adam", loss=total_loss)
    data = np.random.default_rng(seed).random((n,) + config.input_shape, dtype="float32")
    return vae.fit(data, data, epochs=1, batch_size=16, verbose=0)


# --- Keras 2 (tf_keras): the historical eager-execution error ---------------------------
def keras2_closure_vae(eager: bool = True) -> dict:
    """Part III's situation with Keras 2: a loss closure uses the symbolic mu/log_var.
    Fails under eager execution, works after ``disable_eager_execution()``.
    Run it via :func:`run_keras2_closure_vae`: it changes TensorFlow's global mode."""
    import tensorflow as tf
    if not eager:
        tf.compat.v1.disable_eager_execution()
    import tf_keras as K2
    from tf_keras import backend as B
    from tf_keras import layers as L

    inp = K2.Input((28, 28, 1))
    h = L.Flatten()(L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp))
    mu, log_var = L.Dense(2, name="mu")(h), L.Dense(2, name="log_var")(h)
    z = L.Lambda(lambda a: a[0] + B.exp(a[1] / 2) * B.random_normal(B.shape(a[0])))([mu, log_var])
    out = L.Reshape((28, 28, 1))(L.Dense(784, activation="sigmoid")(z))
    vae = K2.Model(inp, out)

    def total_loss(y_true, y_pred):
        rec = B.mean(B.binary_crossentropy(y_true, y_pred), axis=(1, 2, 3))
        kl = -0.5 * B.sum(1 + log_var - B.square(mu) - B.exp(log_var), axis=1)
        return rec + kl

    vae.compile(optimizer="adam", loss=total_loss)
    data = np.random.default_rng(0).random((64, 28, 28, 1)).astype("float32")
    hist = vae.fit(data, data, epochs=1, batch_size=32, verbose=0)
    return {"loss": [float(v) for v in hist.history["loss"]]}


@dataclass
class ClosureRun:
    """What a historical run did: ``succeeded``/``failed``, the error type and message."""

    eager: bool
    succeeded: bool
    error_type: str = ""
    error_message: str = ""
    history: dict = field(default_factory=dict)
    tf_keras_version: str = ""

    @property
    def failed(self) -> bool:
        return not self.succeeded

    @property
    def error_summary(self) -> str:
        """The last paragraph of the message (tf.function errors prepend a traceback)."""
        parts = [p.strip() for p in self.error_message.split("\n\n") if p.strip()]
        return parts[-1] if parts else ""


_RUNNER = textwrap.dedent("""
    import json, os, sys
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    eager = sys.argv[1] == "eager"
    out = {"eager": eager, "succeeded": False}
    try:
        import tf_keras
        out["tf_keras_version"] = tf_keras.__version__
        from vaecourse.mechanisms import keras2_closure_vae
        out["history"] = keras2_closure_vae(eager)
        out["succeeded"] = True
    except Exception as e:
        out["error_type"], out["error_message"] = type(e).__name__, str(e)
    print("@@RESULT@@" + json.dumps(out))
""")


def _start(eager: bool) -> subprocess.Popen:
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="-1", TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen([sys.executable, "-c", _RUNNER, "eager" if eager else "graph"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _finish(proc: subprocess.Popen, eager: bool, timeout: float) -> ClosureRun:
    stdout, stderr = proc.communicate(timeout=timeout)
    for line in stdout.splitlines():
        if line.startswith("@@RESULT@@"):
            return ClosureRun(**json.loads(line[len("@@RESULT@@"):]))
    raise RuntimeError(f"the tf_keras subprocess (eager={eager}) gave no result "
                       f"(exit {proc.returncode}); its stderr ends with:\n{stderr[-2000:]}")


def run_keras2_closure_vae(eager: bool = True, timeout: float = 300) -> ClosureRun:
    """Run :func:`keras2_closure_vae` in a fresh Python process (this kernel stays in Keras 3
    eager mode).  Needs the ``tf_keras`` package (``pip install tf_keras``)."""
    return _finish(_start(eager), eager, timeout)


def compare_eager_and_graph(timeout: float = 300) -> tuple:
    """Both historical runs side by side (in parallel): ``(eager_run, graph_run)``."""
    procs = {eager: _start(eager) for eager in (True, False)}
    return tuple(_finish(procs[eager], eager, timeout) for eager in (True, False))
