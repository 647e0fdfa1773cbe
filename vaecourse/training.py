"""Training helpers: short epoch logs and one ``fit`` that works for every model of the course.
(Seeding is :func:`vaecourse.kit.chapter.seed_everything`; GPU options are the kit's ``gpu``.)

Chapters train with ``verbose=0`` and :class:`EpochLog`, which prints one short line per
epoch instead of Keras' progress bars (they bloat notebook outputs).
"""

from __future__ import annotations

import time

import keras

from . import history as hist
from . import mechanisms


def _fmt(value: float) -> str:
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.4g}"


class EpochLog(keras.callbacks.Callback):
    """(chapter V) Prints one line per epoch, e.g.
    ``epoch  3/10  loss 5123  rec 4980  kl 143.2 (2.8%)  | val loss 5201  | 12.1 s, 660 img/s``.
    ``every`` prints only every n-th epoch (and the last); ``self.seconds`` keeps the
    wall-clock time of every epoch.  ``fields`` names other logged numbers to print instead
    of the VAE's losses, as ``(key, label, format)`` (the GAN's:
    :data:`vaecourse.kit.fitting.GAN_FIELDS`)."""

    def __init__(self, every: int = 1, n_images: int | None = None, print_fn=print, fields=None):
        super().__init__()
        self.every, self.n_images, self.print_fn = max(1, int(every)), n_images, print_fn
        self.fields = tuple(fields) if fields else None
        self.lines, self.seconds = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def _losses(self, logs, prefix):
        if self.fields:
            return "  ".join(
                f"{label} {float(logs[prefix + key]):{fmt}}"
                for key, label, fmt in self.fields
                if prefix + key in logs
            )
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
        seconds = time.perf_counter() - self._t0
        self.seconds.append(seconds)
        logs = {hist.canonical_key(k): v for k, v in (logs or {}).items()}
        total_epochs = self.params.get("epochs", epoch + 1)
        if (epoch + 1) % self.every and epoch + 1 != total_epochs:
            return
        line = (
            f"epoch {epoch + 1:>{len(str(total_epochs))}}/{total_epochs}  {self._losses(logs, '')}"
        )
        if "val_loss" in logs:
            line += f"  | val {self._losses(logs, 'val_')}"
        line += f"  | {seconds:.1f} s"
        if self.n_images:
            line += f", {self.n_images / seconds:.0f} img/s"
        self.lines.append(line)
        self.print_fn(line)


class BatchTrace(keras.callbacks.Callback):
    """(chapter X) Each training batch's own value of the logged ``keys``.

    During an epoch ``fit`` logs running means, so two consecutive ones give the k-th batch's
    own value (k from 1): ``x_k = k m_k - (k - 1) m_(k-1)``.  ``values[key]`` keeps every
    batch's value, all epochs in one list; ``shown[key]`` the running mean a progress bar
    shows; ``counts`` the number of batches of each epoch."""

    def __init__(self, keys=("loss", "kl_loss")):
        super().__init__()
        self.keys = tuple(keys)
        self.values = {k: [] for k in self.keys}
        self.shown = {k: [] for k in self.keys}
        self.counts = []

    def on_epoch_begin(self, epoch, logs=None):
        self._last = dict.fromkeys(self.keys, 0.0)
        self.counts.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.counts[-1] += 1
        k = self.counts[-1]
        for key in self.keys:
            mean = float(logs[key])
            self.values[key].append(k * mean - (k - 1) * self._last[key])
            self.shown[key].append(mean)
            self._last[key] = mean


def fit(
    model,
    x,
    *,
    epochs: int,
    batch_size: int,
    validation_data=None,
    initial_epoch: int = 0,
    callbacks=(),
    verbose: int = 0,
    shuffle: bool = True,
    log: bool = True,
) -> dict:
    """(chapter I) ``model.fit`` for any model of the course (it supplies mechanism 1's extra targets) and
    an :class:`EpochLog` unless ``log=False``.  Returns the history as a dict."""
    callbacks = list(callbacks)
    if log and not any(isinstance(c, EpochLog) for c in callbacks):
        callbacks.append(EpochLog(n_images=len(x)))
    val = None
    if validation_data is not None:
        y_val = mechanisms.fit_targets(model, validation_data)
        val = validation_data if y_val is None else (validation_data, y_val)
    result = model.fit(
        x,
        mechanisms.fit_targets(model, x),
        epochs=epochs,
        batch_size=batch_size,
        validation_data=val,
        initial_epoch=initial_epoch,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=shuffle,
    )
    return hist.as_dict(result)
