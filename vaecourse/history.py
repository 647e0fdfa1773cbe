"""Training histories in one shape: ``{key: [value per epoch]}``.

Whatever trained a model (``fit``'s ``History``, a cached JSON file, a resumed run in two
pieces), chapters get a plain dict with the keys ``loss``, ``reconstruction_loss`` and
``kl_loss`` (and ``val_...``), so that every curve is plotted, and every "KL share of the
total loss" computed, the same way.
"""

from __future__ import annotations

import numpy as np

# what every KL mechanism (and, without the KL term, the AE) logs per epoch
LOSS_KEYS = ("loss", "reconstruction_loss", "kl_loss")

# Names other code (the series, Keras-2 era notebooks) used for the same quantities.
ALIASES = {
    "total_loss": "loss",
    "rec_loss": "reconstruction_loss",
    "r_loss": "reconstruction_loss",
    "reconstruction": "reconstruction_loss",
    "kl": "kl_loss",
}


def canonical_key(key: str) -> str:
    """(chapter V) The course's name for a logged quantity: ``"val_rec_loss"`` -> ``"val_reconstruction_loss"``."""
    prefix = "val_" if key.startswith("val_") else ""
    base = key[len(prefix) :]
    return prefix + ALIASES.get(base, base)


def as_dict(history) -> dict:
    """(chapter V) ``{key: [float, ...]}`` from a Keras ``History``, a dict, or None (-> ``{}``)."""
    if history is None:
        return {}
    raw = getattr(history, "history", history)
    if not isinstance(raw, dict):
        raise TypeError(
            f"expected a keras History or a dict of lists, got {type(history).__name__}"
        )
    out = {}
    for key, values in raw.items():
        values = values if isinstance(values, (list, tuple, np.ndarray)) else [values]
        out[canonical_key(str(key))] = [float(v) for v in values]
    return out


def kl_share(history, prefix: str = "") -> np.ndarray:
    """(chapter V) Per-epoch fraction ``kl_loss / loss`` (prefix ``"val_"`` for validation)."""
    h = as_dict(history)
    kl, total = prefix + "kl_loss", prefix + "loss"
    if kl not in h or total not in h:
        raise KeyError(
            f"history has no {kl!r}/{total!r} (keys: {sorted(h)}); a plain AE has no KL loss"
        )
    return np.asarray(h[kl]) / np.asarray(h[total])


def summary(history) -> str:
    """(chapter V) One line: epochs, first -> last loss, last KL share (if any)."""
    h = as_dict(history)
    if not h.get("loss"):
        return "empty history"
    line = f"{len(h['loss'])} epochs | loss {h['loss'][0]:.4g} -> {h['loss'][-1]:.4g}"
    if "val_loss" in h:
        line += f" | val_loss {h['val_loss'][-1]:.4g}"
    if "kl_loss" in h:
        line += f" | KL share {100 * kl_share(h)[-1]:.1f}%"
    return line
