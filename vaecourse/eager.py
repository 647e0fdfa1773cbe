"""Eager, graph and XLA execution: what kind of tensor a piece of code sees (chapter IV).

    probe = TypeProbe()                       # a pass-through layer that records tensor types
    eager.tensor_kind(x)                      # "KerasTensor", "EagerTensor", "SymbolicTensor"

The chapter's two experiments -- where the probe's code runs, and a training step timed in
each mode -- are run by :mod:`vaecourse.kit.execution`.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def tensor_kind(t) -> str:
    """(chapter IV) A short, stable name for the kind of tensor ``t`` is.

    ``KerasTensor`` (symbolic placeholder of a functional model), ``EagerTensor`` (a concrete
    value), ``SymbolicTensor`` (a node of a graph that ``tf.function`` is tracing), or the
    class name of anything else.
    """
    if isinstance(t, keras.KerasTensor):
        return "KerasTensor"
    if isinstance(t, tf.Tensor):
        return "EagerTensor" if hasattr(t, "numpy") and tf.executing_eagerly() else "SymbolicTensor"
    return type(t).__name__


class TypeProbe(keras.layers.Layer):
    """(chapter IV) Returns its input unchanged and records ``tensor_kind`` of every input it is called on,
    together with ``tf.executing_eagerly()`` (in ``self.seen``, as ``(kind, eager)`` pairs)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, x):
        self.seen.append((tensor_kind(x), bool(tf.executing_eagerly())))
        return x
