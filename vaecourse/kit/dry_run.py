"""The dress rehearsal's machinery: every ``fit`` capped to a few batches, and logged.

A dress rehearsal (``VAECOURSE_DRY_RUN=1``, see :mod:`vaecourse.kit.profiles`) runs a chapter with its
real shapes and models on a small slice of data.  :func:`vaecourse.kit.profiles.profile` shrinks the
profile; what else a rehearsal needs is here, out of the taught layer: :func:`cap_fit` cuts
every ``keras.Model.fit`` of the process to :data:`~vaecourse.kit.profiles.DRY_RUN`'s epochs of
its batches, and, with ``$VAECOURSE_DRY_RUN_LOG`` set, appends one JSON line per fit
(:func:`fit_record`: with :func:`forward_cost`, the per-image cost at the real shapes, and
when it ran) for ``scripts/dry_run.py`` and ``scripts/full_budget.py``.  Importing the kit
registers :func:`install` with the profiles, so the cap is on as soon as a chapter's profile
is a rehearsal (the taught layer never imports the kit).
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import time

from . import profiles
from .profiles import DRY_RUN, ENV_DRY_RUN_LOG


def install() -> None:
    """Cap every ``fit`` of this process as :data:`~vaecourse.kit.profiles.DRY_RUN` says (what
    :func:`vaecourse.kit.profiles.dress_rehearsal` calls)."""
    cap_fit(DRY_RUN["epochs"], DRY_RUN["batches"])


if install not in profiles.REHEARSAL_HOOKS:
    profiles.REHEARSAL_HOOKS.append(install)


def _head(data, n: int):
    """The first ``n`` samples of an array, or of each array in a tuple/list/dict."""
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: _head(v, n) for k, v in data.items()}
    if isinstance(data, (tuple, list)):
        return type(data)(_head(v, n) for v in data)
    if hasattr(data, "shape") and hasattr(data, "__getitem__") and len(data.shape):
        return data[:n]
    return data


def _few_batches(data, n_batches: int, batch_size):
    """``data`` cut to ``n_batches`` batches: arrays sliced, a tf.data.Dataset taken."""
    if hasattr(data, "take") and hasattr(data, "element_spec"):  # tf.data.Dataset (batched)
        return data.take(n_batches)
    return _head(data, n_batches * (batch_size or 32))


def cap_fit(epochs: int, batches: int) -> None:
    """Cap every ``keras.Model.fit`` of this process at ``epochs`` epochs (counted from its
    ``initial_epoch``) of ``batches`` batches, training and validation.  For the dress
    rehearsal only: idempotent, and it changes nothing but how much data a fit sees."""
    import keras

    if getattr(keras.Model.fit, "dry_run_cap", None):
        keras.Model.fit.dry_run_cap.update(epochs=epochs, batches=batches)
        return
    original = keras.Model.fit
    signature = inspect.signature(original)
    limits = {"epochs": epochs, "batches": batches}

    @functools.wraps(original)
    def fit(self, *args, **kwargs):
        a = dict(signature.bind(self, *args, **kwargs).arguments)  # only what was passed
        kwargs_asked = dict(a)
        b, size = limits["batches"], a.get("batch_size")
        a["epochs"] = min(a.get("epochs", 1), a.get("initial_epoch", 0) + limits["epochs"])
        for key in ("x", "y", "sample_weight"):
            if a.get(key) is not None:
                a[key] = _few_batches(a[key], b, size)
        if a.get("validation_data") is not None:
            vsize = a.get("validation_batch_size") or size
            a["validation_data"] = _few_batches(a["validation_data"], b, vsize)
        for key in ("steps_per_epoch", "validation_steps"):
            if a.get(key):
                a[key] = min(a[key], b)
        a.pop("self")
        record = None
        if os.environ.get(ENV_DRY_RUN_LOG):
            try:
                record = fit_record(self, kwargs_asked)
            except Exception as err:  # the log must never stop a rehearsal
                print(f"dry-run log: {type(err).__name__}: {err}", file=sys.stderr)
        start = time.time()
        try:
            return original(self, **a)
        finally:
            if record is not None:  # when it trained: the rehearsal's memory outside training
                _append({**record, "span": [start, time.time()]})

    fit.dry_run_cap = limits
    keras.Model.fit = fit


def _first(tree):
    """The first leaf of nested tuples, lists and dicts (a model's first input)."""
    while isinstance(tree, (tuple, list, dict)):
        tree = next(iter(tree.values())) if isinstance(tree, dict) else tree[0]
    return tree


def _images(data):
    """(images, bytes per image, kind, shape) of fit's ``x``: an array or a dataset."""
    import numpy as np

    if hasattr(data, "element_spec"):
        spec = _first(data.element_spec)
        n = int(data.cardinality())
        return n, int(np.prod(spec.shape[1:])) * spec.dtype.size, "dataset", list(spec.shape[1:])
    data = _first(data)
    kind = "memmap" if isinstance(data, np.memmap) else f"array {data.dtype}"
    return len(data), int(np.prod(data.shape[1:])) * data.dtype.itemsize, kind, list(data.shape[1:])


def forward_cost(model, shape) -> dict:
    """Multiply-adds x 2 (FLOPs) and output values of one image's forward pass through the
    Conv2D, Conv2DTranspose and Dense layers of ``model`` (at any depth), counted from the
    shapes they see in one eager call.  The dress rehearsal's log and the budget use it."""
    import keras
    import numpy as np

    kinds = (keras.layers.Conv2D, keras.layers.Conv2DTranspose, keras.layers.Dense)
    seen = {"flops": 0, "outputs": 0}
    layers = [m for m in model._flatten_layers(include_self=False) if isinstance(m, kinds)]
    originals = {}

    def counted(layer):
        call = layer.call

        def wrapper(x, *a, **k):
            y = call(x, *a, **k)
            kernel = layer.kernel.shape
            if isinstance(layer, keras.layers.Conv2DTranspose):
                positions = int(np.prod(x.shape[1:-1]))  # one kernel per input position
            else:
                positions = int(np.prod(y.shape[1:-1])) if len(y.shape) > 2 else 1
            seen["flops"] += 2 * positions * int(np.prod(kernel))
            seen["outputs"] += int(np.prod(y.shape[1:]))
            return y

        return wrapper

    for layer in layers:
        originals[id(layer)] = layer.call
        layer.call = counted(layer)
    try:
        model(np.zeros((1, *shape), "float32"), training=False)
    finally:
        for layer in layers:
            layer.call = originals[id(layer)]
    params = int(sum(np.prod(w.shape) for w in model.weights))
    return {**seen, "params": params}


def _append(record: dict) -> None:
    """One JSON line to ``$VAECOURSE_DRY_RUN_LOG``; a failure is reported, never raised."""
    import json

    try:
        with open(os.environ[ENV_DRY_RUN_LOG], "a") as f:
            f.write(json.dumps(record) + "\n")
    except Exception as err:  # the log must never stop a rehearsal
        print(f"dry-run log: {type(err).__name__}: {err}", file=sys.stderr)


def fit_record(model, asked: dict) -> dict:
    """What the log says about one fit: the model, its per-image forward cost at the real
    shapes, what the chapter asked for and what ran (the cap adds the fit's ``span``, its
    start and end in seconds since the epoch, once it has run)."""
    n, nbytes, kind, shape = _images(asked["x"])
    record = {
        "model": model.name,
        "class": type(model).__name__,
        "image_shape": shape,
        "images_seen": n,
        "bytes_per_image": nbytes,
        "x": kind,
        "batch_size": asked.get("batch_size"),
        "epochs_asked": asked.get("epochs", 1),
        "initial_epoch": asked.get("initial_epoch", 0),
        "validation": _images(asked["validation_data"])[:3]
        if asked.get("validation_data") is not None
        else None,
    }
    try:
        parts = {"generator": model.generator, "discriminator": model.discriminator}
        record["cost"] = {
            "generator": forward_cost(parts["generator"], [model.generator.input.shape[-1]]),
            "discriminator": forward_cost(parts["discriminator"], shape),
        }
    except AttributeError:
        try:
            record["cost"] = forward_cost(model, shape)
        except Exception as err:  # the log must never stop a rehearsal
            record["cost"] = {"error": f"{type(err).__name__}: {err}"[:200]}
    return record
