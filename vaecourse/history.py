"""Training histories in one shape: ``{key: [value per epoch]}``.

Whatever trained a model (``fit``'s ``History``, a cached JSON file, a resumed run in two
pieces), chapters get a plain dict with the keys ``loss``, ``reconstruction_loss`` and
``kl_loss`` (and ``val_...``), so that every curve is plotted, and every "KL share of the
total loss" computed, the same way.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .io import read_json, write_json_atomic

LOSS_KEYS = ("loss", "reconstruction_loss", "kl_loss")

# Names other code (the series, Keras-2 era notebooks) used for the same quantities.
ALIASES = {"total_loss": "loss", "rec_loss": "reconstruction_loss", "r_loss": "reconstruction_loss",
           "reconstruction": "reconstruction_loss", "kl": "kl_loss"}


def _canonical(key: str) -> str:
    prefix = "val_" if key.startswith("val_") else ""
    base = key[len(prefix):]
    return prefix + ALIASES.get(base, base)


def as_dict(history) -> dict:
    """``{key: [float, ...]}`` from a Keras ``History``, a dict, or None (-> ``{}``)."""
    if history is None:
        return {}
    raw = getattr(history, "history", history)
    if not isinstance(raw, dict):
        raise TypeError(f"expected a keras History or a dict of lists, got {type(history).__name__}")
    out = {}
    for key, values in raw.items():
        values = values if isinstance(values, (list, tuple, np.ndarray)) else [values]
        out[_canonical(str(key))] = [float(v) for v in values]
    return out


def n_epochs(history) -> int:
    """Number of epochs recorded (the longest series)."""
    return max((len(v) for v in as_dict(history).values()), default=0)


def merge(*histories) -> dict:
    """Concatenate histories of consecutive runs (e.g. 18 epochs, then 6 more after a
    resume).  A key missing in one part is padded with NaN so that epochs stay aligned."""
    parts = [as_dict(h) for h in histories]
    keys = sorted({k for p in parts for k in p})
    merged = {k: [] for k in keys}
    for part in parts:
        n = max((len(v) for v in part.values()), default=0)
        for k in keys:
            merged[k].extend(part.get(k, [math.nan] * n))
    return merged


def kl_share(history, prefix: str = "") -> np.ndarray:
    """Per-epoch fraction ``kl_loss / loss`` (prefix ``"val_"`` for validation)."""
    h = as_dict(history)
    kl, total = prefix + "kl_loss", prefix + "loss"
    if kl not in h or total not in h:
        raise KeyError(f"history has no {kl!r}/{total!r} (keys: {sorted(h)}); "
                       "a plain AE has no KL loss")
    return np.asarray(h[kl]) / np.asarray(h[total])


def summary(history) -> str:
    """One line: epochs, first -> last loss, last KL share (if any)."""
    h = as_dict(history)
    if not h.get("loss"):
        return "empty history"
    line = f"{len(h['loss'])} epochs | loss {h['loss'][0]:.4g} -> {h['loss'][-1]:.4g}"
    if "val_loss" in h:
        line += f" | val_loss {h['val_loss'][-1]:.4g}"
    if "kl_loss" in h:
        line += f" | KL share {100 * kl_share(h)[-1]:.1f}%"
    return line


def save(history, path) -> Path:
    """Write a history as JSON, atomically."""
    write_json_atomic(path, as_dict(history))
    return Path(path)


def load(path) -> dict:
    """Read a history written by :func:`save` (``{}`` if the file does not exist)."""
    return as_dict(read_json(path, default={}))


def plot(history, keys=LOSS_KEYS, ax=None, logy: bool = False, title: str | None = None):
    """Training (solid) and validation (dashed) curves of ``keys``; returns the axes.
    Keys a history lacks (e.g. ``kl_loss`` of an AE) are skipped."""
    import matplotlib.pyplot as plt

    h = as_dict(history)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for i, key in enumerate(k for k in keys if k in h):
        epochs = np.arange(1, len(h[key]) + 1)
        ax.plot(epochs, h[key], color=f"C{i}", label=key)
        if "val_" + key in h:
            ax.plot(epochs, h["val_" + key], color=f"C{i}", ls="--", label="val_" + key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return ax
