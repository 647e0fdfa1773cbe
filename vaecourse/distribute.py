"""Training on several devices and machines with ``tf.distribute`` (chapter "Scaling").

* :func:`strategy` -- the one way the course gets a strategy: several workers named by
  ``TF_CONFIG`` -> ``MultiWorkerMirroredStrategy``; several GPUs, a CPU split into logical
  devices (:func:`logical_cpus`) or the ``devices`` given -> ``MirroredStrategy``; otherwise
  TensorFlow's default strategy.  It prints the replicas.
* :func:`scope` is that strategy's scope when there are several devices, and
  :func:`replicated` builds a model there with :func:`synchronize_batch_norm` (batch
  statistics over the global batch): the model zoo builds, loads and trains every cached
  model this way.
* :func:`dataset` is an input pipeline of the global batch with its sharding policy stated.

Build and compile models inside ``with strategy.scope():`` -- variables, optimizer slots and
metrics created there are mirrored on every replica.  ``fit`` then splits each global batch
among the replicas and sums their gradients, which is why
:meth:`vaecourse.mechanisms.VAE.train_step` divides each replica's loss sum by the GLOBAL
batch (``tf.nn.compute_average_loss``).
"""

from __future__ import annotations

import contextlib
import json
import os

import keras
import tensorflow as tf


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
    """(chapter Scaling) The strategy for this machine (see the module docstring); prints how many replicas.
    Without ``devices`` it is made once and then reused."""
    global _machine
    workers = json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster", {}).get("worker")
    if devices is not None:
        chosen = tf.distribute.MirroredStrategy(devices)
    elif _machine is not None:
        chosen = _machine  # made once: a second MultiWorkerMirroredStrategy would fail
    elif workers and len(workers) > 1:  # first: it must set up TensorFlow's devices itself
        # a collective that hangs (a worker died) fails after 5 minutes instead of never
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=300)
        chosen = _machine = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    elif len(tf.config.list_logical_devices("GPU")) > 1:
        chosen = _machine = tf.distribute.MirroredStrategy()  # all GPUs
    elif len(cpus := tf.config.list_logical_devices("CPU")) > 1:  # split by logical_cpus()
        chosen = _machine = tf.distribute.MirroredStrategy([d.name for d in cpus])
    else:
        chosen = tf.distribute.get_strategy()  # TensorFlow's default: one device
    if verbose:
        print(describe(chosen))
    return chosen


_machine = None  # the strategy strategy() made for this machine's devices


def describe(chosen: tf.distribute.Strategy) -> str:
    """(chapter Scaling) e.g. ``"MirroredStrategy: 2 replica(s)"``."""
    name = type(chosen).__name__
    if not tf.distribute.has_strategy() and chosen is tf.distribute.get_strategy():
        name = "the default strategy"
    return f"{name}: {chosen.num_replicas_in_sync} replica(s)"


@contextlib.contextmanager
def scope():
    """(chapter Scaling) Inside: the scope of :func:`strategy` when it finds several devices (it
    says so), where models are built, loaded and trained on all of them; on one device, or
    inside a scope the caller opened, it changes nothing."""
    if tf.distribute.has_strategy():  # the caller chose
        yield tf.distribute.get_strategy()
        return
    chosen = strategy(verbose=False)
    if chosen.num_replicas_in_sync == 1:
        yield chosen
        return
    print(f"on {describe(chosen)}")
    with chosen.scope():
        yield chosen


def replicated(build):
    """(chapter Scaling) The model ``build()`` makes (and compiles) with batch normalisation over
    the global batch (:func:`synchronize_batch_norm`) when it is built on several replicas --
    inside :func:`scope` -- and just ``build()`` on one device.  ``fit`` then splits the
    batches it gets -- global batches -- among the replicas."""
    model = build()
    if tf.distribute.get_strategy().num_replicas_in_sync > 1:
        synchronize_batch_norm(model)
    return model


def synchronize_batch_norm(model) -> int:
    """(chapter Scaling) Let every BatchNormalization layer of ``model`` compute its batch statistics over the
    global batch (an all-reduce per layer) instead of each replica's share; returns how many.
    Set it before the first training step: the flag is read when the step is traced."""
    found, todo = 0, list(model.layers)
    while todo:  # the layers sit inside the encoder and decoder (models inside the model)
        layer = todo.pop()
        todo += layer.layers if isinstance(layer, keras.Model) else []
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized, found = True, found + 1
    return found


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
