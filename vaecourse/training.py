"""Training helpers: seeding, GPU options, short epoch logs, sample grids, a NaN guard and
one ``fit`` that works for every model of the course.

Chapters train with ``verbose=0`` and :class:`EpochLog`, which prints one short line per
epoch instead of Keras' progress bars (they bloat notebook outputs).
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import keras
import tensorflow as tf

from . import history as hist
from . import mechanisms, models, plots
from .io import atomic_path


def set_seed(seed: int = 42, deterministic: bool = False) -> None:
    """Seed Python, NumPy and TensorFlow (``keras.utils.set_random_seed``).
    ``deterministic=True`` also asks TensorFlow for deterministic ops (slower on a GPU)."""
    keras.utils.set_random_seed(int(seed))
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def configure_gpu(memory_growth: bool = True, memory_limit_mb: int | None = None,
                  mixed_precision: bool = False, xla: bool = False) -> dict:
    """GPU options of the series (VRAM cap, XLA) plus mixed precision.  All of them are
    no-ops without a GPU.  Call once, before anything runs on the GPU.  Returns what was set."""
    gpus = tf.config.list_physical_devices("GPU")
    applied = {"gpus": len(gpus), "memory_growth": False, "memory_limit_mb": None,
               "mixed_precision": False, "xla": False}
    if not gpus:
        return applied
    try:
        if memory_limit_mb:  # a hard cap on the first GPU, as in the series (2048 MB)
            tf.config.set_logical_device_configuration(
                gpus[0], [tf.config.LogicalDeviceConfiguration(memory_limit=int(memory_limit_mb))])
            applied["memory_limit_mb"] = int(memory_limit_mb)
        elif memory_growth:
            for gpu in gpus:
                tf.config.experimental.set_memory_growth(gpu, True)
            applied["memory_growth"] = True
    except RuntimeError as err:
        raise RuntimeError("GPU memory options must be set before TensorFlow uses the GPU: "
                           "restart the kernel and call configure_gpu() first") from err
    if mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
        applied["mixed_precision"] = True
    if xla:
        tf.config.optimizer.set_jit(True)
        applied["xla"] = True
    return applied


def _fmt(value: float) -> str:
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.4g}"


class EpochLog(keras.callbacks.Callback):
    """Prints one line per epoch, e.g.
    ``epoch  3/10  loss 5123  rec 4980  kl 143.2 (2.8%)  | val loss 5201  | 12.1 s, 660 img/s``.
    ``every`` prints only every n-th epoch (and the last)."""

    def __init__(self, every: int = 1, n_images: int | None = None, print_fn=print):
        super().__init__()
        self.every, self.n_images, self.print_fn = max(1, int(every)), n_images, print_fn
        self.lines = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def _losses(self, logs, prefix):
        parts = []
        for key, label in (("loss", "loss"), ("reconstruction_loss", "rec"), ("kl_loss", "kl")):
            value = logs.get(prefix + key)
            if value is not None:
                parts.append(f"{label} {_fmt(float(value))}")
        kl, total = logs.get(prefix + "kl_loss"), logs.get(prefix + "loss")
        if kl is not None and total:
            parts[-1] += f" ({100 * float(kl) / float(total):.1f}%)"
        return "  ".join(parts)

    def on_epoch_end(self, epoch, logs=None):
        logs = {hist._canonical(k): v for k, v in (logs or {}).items()}
        total_epochs = self.params.get("epochs", epoch + 1)
        if (epoch + 1) % self.every and epoch + 1 != total_epochs:
            return
        seconds = time.perf_counter() - self._t0
        line = f"epoch {epoch + 1:>{len(str(total_epochs))}}/{total_epochs}  {self._losses(logs, '')}"
        if "val_loss" in logs:
            line += f"  | val {self._losses(logs, 'val_')}"
        line += f"  | {seconds:.1f} s"
        if self.n_images:
            line += f", {self.n_images / seconds:.0f} img/s"
        self.lines.append(line)
        self.print_fn(line)


def image_grid(images, ncols: int = 8, pad: int = 2) -> np.ndarray:
    """Tile images (n, h, w, c) with values in [0, 1] into one uint8 RGB array."""
    return plots.tile(np.clip(np.asarray(images, "float32"), 0.0, 1.0), ncols, pad)


def to_unit_range(images, output_activation: str = "sigmoid") -> np.ndarray:
    """Decoder output -> [0, 1] for display (tanh outputs live in [-1, 1])."""
    images = np.asarray(images, "float32")
    return (images + 1.0) / 2.0 if output_activation == "tanh" else images


class SampleGrid(keras.callbacks.Callback):
    """After every ``every`` epochs, decode the same ``n`` random points z ~ N(0, I) and save
    the image grid as ``directory/epoch_XXX.png`` (atomically).  ``self.paths`` lists them."""

    def __init__(self, directory, n: int = 16, ncols: int = 8, seed: int = 0, every: int = 1):
        super().__init__()
        self.directory, self.n, self.ncols = Path(directory), int(n), int(ncols)
        self.seed, self.every = seed, max(1, int(every))
        self.paths = []
        self._z = None

    def on_train_begin(self, logs=None):
        decoder = models.get_decoder(self.model)
        z_dim = decoder.inputs[0].shape[-1]
        self._z = np.random.default_rng(self.seed).standard_normal((self.n, z_dim)).astype("float32")

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        from PIL import Image

        decoder = models.get_decoder(self.model)
        images = keras.ops.convert_to_numpy(decoder(self._z, training=False))
        cfg = getattr(self.model, "vae_config", None)
        images = to_unit_range(images, cfg.output_activation if cfg else "sigmoid")
        path = self.directory / f"epoch_{epoch + 1:03d}.png"
        with atomic_path(path) as tmp:
            Image.fromarray(image_grid(images, self.ncols)).save(tmp, format="PNG")
        self.paths.append(path)


class NaNGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite loss and (by default) raises an error that
    says what to try, instead of silently training a model of NaNs."""

    def __init__(self, raise_error: bool = True):
        super().__init__()
        self.raise_error = raise_error
        self.bad = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        self.bad = (self._epoch + 1, batch)
        self.model.stop_training = True
        if self.raise_error:
            raise FloatingPointError(
                f"loss became {float(loss)} in epoch {self._epoch + 1}, batch {batch}: lower the "
                "learning rate, check that BCE targets lie in [0, 1], or resume from the last "
                "checkpoint")


def fit(model, x, *, epochs: int, batch_size: int, validation_data=None, initial_epoch: int = 0,
        callbacks=(), verbose: int = 0, shuffle: bool = True, log: bool = True) -> dict:
    """``model.fit`` for any model of the course (it supplies mechanism 1's extra targets) and
    an :class:`EpochLog` unless ``log=False``.  Returns the history as a dict."""
    callbacks = list(callbacks)
    if log and not any(isinstance(c, EpochLog) for c in callbacks):
        callbacks.append(EpochLog(n_images=len(x)))
    val = None
    if validation_data is not None:
        y_val = mechanisms.fit_targets(model, validation_data)
        val = validation_data if y_val is None else (validation_data, y_val)
    result = model.fit(x, mechanisms.fit_targets(model, x), epochs=epochs, batch_size=batch_size,
                       validation_data=val, initial_epoch=initial_epoch, callbacks=callbacks,
                       verbose=verbose, shuffle=shuffle)
    return hist.as_dict(result)
