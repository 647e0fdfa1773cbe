"""Training on several devices and machines with ``tf.distribute`` (chapter "Scaling").

* :func:`strategy` -- the one way the course gets a strategy: several workers named by
  ``TF_CONFIG`` -> ``MultiWorkerMirroredStrategy``; several GPUs (or the ``devices`` given) ->
  ``MirroredStrategy``; otherwise TensorFlow's default strategy.  It prints the replicas.
* :func:`logical_cpus` splits the CPU into logical devices, so that all of this runs on a
  laptop; :func:`synchronize_batch_norm` makes batch normalisation use the global batch.
* :class:`GlobalBatchVAE` -- mechanism 3 with its loss scaled by the GLOBAL batch;
  :func:`build_vae` builds it; :func:`dataset` is the input pipeline with its sharding policy.

Build and compile models inside ``with strategy.scope():`` -- variables, optimizer slots and
metrics created there are mirrored on every replica.  ``fit`` then splits each global batch
among the replicas and sums their gradients.
"""

from __future__ import annotations

import json
import os

import keras
import tensorflow as tf
from keras import ops

from . import mechanisms, models


def logical_cpus(n: int = 2) -> list:
    """(chapter Scaling) Split the CPU into ``n`` logical devices and return their names.  TensorFlow accepts
    this only before it initialises its devices: call it before any tensor is made."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        config = [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
        tf.config.set_logical_device_configuration(cpu, config)
    except RuntimeError as err:
        raise RuntimeError(
            "TensorFlow has already initialised its devices, so the CPU can no longer be "
            "split: restart the kernel and call logical_cpus() before anything else runs"
        ) from err
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def strategy(devices=None, verbose: bool = True) -> tf.distribute.Strategy:
    """(chapter Scaling) The strategy for this machine (see the module docstring); prints how many replicas."""
    workers = json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster", {}).get("worker")
    if workers and len(workers) > 1:  # first: it must set up TensorFlow's devices itself
        # a collective that hangs (a worker died) fails after 5 minutes instead of never
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=300)
        chosen = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
        name = "MultiWorkerMirroredStrategy"
    elif devices or len(tf.config.list_logical_devices("GPU")) > 1:
        chosen, name = tf.distribute.MirroredStrategy(devices), "MirroredStrategy"  # None: GPUs
    else:
        chosen, name = tf.distribute.get_strategy(), "the default strategy"
    if verbose:
        print(f"{name}: {chosen.num_replicas_in_sync} replica(s)")
    return chosen


def synchronize_batch_norm(model) -> int:
    """(chapter Scaling) Let every BatchNormalization layer of ``model`` compute its batch statistics over the
    global batch (an all-reduce per layer) instead of each replica's share; returns how many.
    Set it before the first training step: the flag is read when the step is traced."""
    bn = keras.layers.BatchNormalization
    found = [layer for layer in models._all_layers(model) if isinstance(layer, bn)]
    for layer in found:
        layer.synchronized = True
    return len(found)


@models.register
class GlobalBatchVAE(mechanisms.VAE):
    """(chapter Scaling) Mechanism 3 (:class:`vaecourse.mechanisms.VAE`) for any number of
    replicas.

    Each replica differentiates the SUM of its images' losses divided by the GLOBAL batch, so
    the sum of the replicas' gradients -- what the optimizer applies -- is the gradient of the
    mean over the global batch.  The trackers get each replica's mean, which the ``Mean``
    metrics average over the replicas.  With one replica this is the plain VAE."""

    def per_image_losses(self, x, training=False):
        z, mu, log_var = self.encoder(x, training=training)
        x_hat = self.decoder(z, training=training)
        rec = self.rec_loss.call(x, x_hat)  # call(): per image, no reduction, no rescaling
        kl = self.fact * models.kl_divergence(mu, log_var)
        return rec + kl, rec, kl

    def compute_losses(self, x, training=False):
        return tuple(ops.mean(v) for v in self.per_image_losses(x, training))

    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            total, rec, kl = self.per_image_losses(x, training=True)
            loss = tf.nn.compute_average_loss(total)  # sum over my images / global batch
            scaled = self.optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self.update_trackers(ops.mean(total), ops.mean(rec), ops.mean(kl))


def build_vae(config: models.VAEConfig, optimizer=None, seed=None, model_class=GlobalBatchVAE):
    """(chapter Scaling) The :class:`GlobalBatchVAE` (or a subclass) of ``config``, compiled.  Call it inside
    ``strategy.scope()`` so that its variables are mirrored."""
    encoder = models.build_encoder(config, seed=seed)
    decoder = models.build_decoder(config)
    loss = models.reconstruction_loss(config)
    vae = model_class(encoder, decoder, loss, config.fact, name=config.name)
    vae.compile(optimizer=optimizer or models.make_optimizer(config))
    vae(ops.zeros((1,) + config.input_shape))
    return models.attach_parts(vae, encoder, decoder, config, 3)


def dataset(images, global_batch: int, shuffle: bool = False, seed=None) -> tf.data.Dataset:
    """(chapter Scaling) Float images in batches of the GLOBAL batch size (``fit`` splits each among the
    replicas), the incomplete last batch dropped so that every replica gets an equal share.

    Sharding across workers is set to DATA: every worker reads the same elements and keeps
    its share of each batch.  In-memory arrays have no files, so FILE sharding cannot apply;
    for data in many files on a cluster, FILE lets each worker read only its own files."""
    ds = tf.data.Dataset.from_tensor_slices(images)
    if images.dtype == "uint8":  # stored faces: to [0, 1] floats batch by batch
        ds = ds.map(lambda x: tf.cast(x, "float32") / 255.0)
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(global_batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)
