"""The CelebA attribute classifier whose features the course's Fréchet distance uses
(:func:`vaecourse.kit.measures.frechet_distance` on :func:`vaecourse.kit.measures.features`): its
architecture, its input pipeline and its training.  ``zoo.attribute_classifier(P)`` trains it
once per profile and caches it.  A Fréchet distance on these features is not FID.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .. import models
from . import fitting
from .measures import FEATURE_LAYER


def attribute_classifier(
    image_size: int = 64,
    n_attrs: int = 40,
    filters: tuple = (32, 64, 128, 256),
    feature_dim: int = 256,
    dropout: float = 0.3,
    learning_rate: float = 1e-3,
    compile: bool = True,
) -> keras.Model:
    """A small conv net: ``(image_size, image_size, 3)`` images in [0, 1] -> ``n_attrs`` logits,
    one per binary CelebA attribute.

    Strided 3x3 convolutions (+BN, ReLU) -> Flatten -> Dense(``feature_dim``, ReLU) named
    ``"features"`` (the layer :func:`features` reads) -> Dropout -> Dense(``n_attrs``) logits.
    Compiled with binary cross-entropy on logits (targets in {0, 1}) and Adam."""
    x_in = keras.Input((image_size, image_size, 3), name="image")
    x = x_in
    for i, f in enumerate(filters):
        conv = keras.layers.Conv2D(
            f, 3, strides=2, padding="same", use_bias=False, name=f"conv_{i}"
        )
        x = conv(x)
        # momentum 0.9: the moving statistics settle within a few hundred steps
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"bn_{i}")(x)
        x = keras.layers.ReLU(name=f"relu_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    feats = keras.layers.Dense(feature_dim, activation="relu", name=FEATURE_LAYER)(x)
    x = keras.layers.Dropout(dropout, name="dropout")(feats)
    logits = keras.layers.Dense(n_attrs, name="logits")(x)
    model = keras.Model(x_in, logits, name="attribute_classifier")
    if compile:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss=keras.losses.BinaryCrossentropy(from_logits=True),
            metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")],
        )
    return model


def _attr_dataset(images, attrs, batch_size: int, shuffle: bool, seed: int):
    """tf.data of ([0, 1] images, {0, 1} targets), gathering batches from the (uint8, possibly
    memory-mapped) arrays instead of copying them into the graph."""
    y = (np.asarray(attrs) > 0).astype(np.float32)
    if len(images) != len(y):
        raise ValueError(f"{len(images)} images but {len(y)} attribute rows")
    shape = (None, *np.asarray(images[:1]).shape[1:])

    def gather(idx):
        idx = np.sort(idx)  # sorted reads are sequential on a memmap
        return models.to_unit(images[idx]), y[idx]

    def load(idx):
        x, t = tf.numpy_function(gather, [idx], (tf.float32, tf.float32))
        x.set_shape(shape)
        t.set_shape((None, y.shape[1]))
        return x, t

    ds = tf.data.Dataset.range(len(y))
    if shuffle:
        ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).map(load).prefetch(tf.data.AUTOTUNE)


def fit_attribute_classifier(
    model,
    images,
    attrs,
    val_images,
    val_attrs,
    epochs: int,
    batch_size: int = 128,
    seed: int = 0,
    callbacks=(),
) -> dict:
    """Train :func:`attribute_classifier` on images (uint8 or [0, 1]) and +1/-1 attributes
    through :func:`~vaecourse.kit.fitting.fit_dataset`; returns the history (with ``seconds``,
    the wall time of each epoch)."""
    return fitting.fit_dataset(
        model,
        _attr_dataset(images, attrs, batch_size, True, seed),
        validation=_attr_dataset(val_images, val_attrs, batch_size, False, seed),
        epochs=epochs,
        n_images=len(images),
        callbacks=callbacks,
    )


def majority_accuracy(train_attrs, attrs, per_attribute: bool = False):
    """Accuracy of always answering each attribute's most common training value: the baseline
    an attribute classifier has to beat (about 0.80 on CelebA)."""
    majority = np.mean(np.asarray(train_attrs) > 0, axis=0) >= 0.5
    acc = np.mean((np.asarray(attrs) > 0) == majority, axis=0)
    return acc if per_attribute else float(acc.mean())
