"""The historical ways of adding the KL loss that fail, kept apart from the working ones.

* :func:`keras2_closure_vae` -- part III with Keras 2 (``tf_keras``): a loss function closes
  over the symbolic mu/log_var of a functional model.  It fails under eager execution and works
  after ``disable_eager_execution()``; it changes TensorFlow's global mode, so chapter III runs
  it in a fresh process (:func:`vaecourse.kit.isolated.compare_eager_and_graph`).
* :func:`keras3_closure_vae` -- the same closure in Keras 3: ``fit`` raises.
* :func:`symbolic_model_add_loss` -- part VII's ``vae.add_loss(tensor)`` on a functional
  model: Keras 3 raises.

The working forms are the four of :mod:`vaecourse.mechanisms`.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .models import VAEConfig, build_decoder, build_encoder, kl_divergence


def symbolic_model_add_loss(config: VAEConfig):
    """(chapter III) The Keras 2 recipe of part VII: ``vae.add_loss(kl)`` on a functional model with
    symbolic mu/log_var.  Keras 3 raises ``NotImplementedError`` here (try it)."""
    encoder, decoder = build_encoder(config), build_decoder(config)
    x = keras.Input(config.input_shape, name="image")
    z, mu, log_var = encoder(x)
    vae = keras.Model(x, decoder(z))
    vae.add_loss(config.fact * ops.mean(kl_divergence(mu, log_var)))  # raises in Keras 3
    return vae


def keras3_closure_vae(n: int = 32, seed: int = 0):
    """(chapter III) A loss function that closes over the symbolic mu/log_var of a functional model
    (the recipe of tutorial T1) in Keras 3: ``fit`` raises ``ValueError`` (a KerasTensor cannot be
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


def keras2_closure_vae(eager: bool = True) -> dict:
    """(chapter III) Part III's situation with Keras 2: a loss closure uses the symbolic mu/log_var.
    Fails under eager execution, works after ``disable_eager_execution()``.
    It changes TensorFlow's global mode: run it in a fresh process."""
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
