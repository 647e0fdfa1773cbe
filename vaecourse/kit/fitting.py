"""How the course's DC-GAN trains, is keyed in the model cache and reports: ``fit`` with a
per-epoch log line, a balance monitor and per-batch D(G(z)); the cache's view of its config;
and a one-line summary of a stored history.  ``zoo.face_gan``
trains through :func:`fit_gan` (via ``zoo.train_gan``); chapter XIII teaches the GAN itself
(:mod:`vaecourse.gan`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..gan import BalanceMonitor, GANConfig, SampleQuality
from ..training import EpochLog

#: GANConfig fields added after the first GANs were cached (the remedies of chapter XIII).
LATER_FIELDS = ("upsample", "instance_noise", "g_steps", "spectral_norm")


@dataclass(frozen=True)
class GANKey:
    """A :class:`~vaecourse.gan.GANConfig` as the model cache keys it: the fields in
    :data:`LATER_FIELDS` count only when they differ from their defaults, so a GAN cached before
    they existed keeps its key.  ``zoo.face_gan`` hands this to ``zoo.trained``."""

    config: GANConfig

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self.config)
        defaults = GANConfig.__dataclass_fields__
        for k in LATER_FIELDS:
            if d[k] == defaults[k].default:
                del d[k]
        return d


#: What :class:`EpochLog` prints for a GAN: ``epoch 2/5  d_loss 0.612  g_loss 1.120  D(x) 0.62
#: D(G(z)) 0.31  | 41.0 s``.
GAN_FIELDS = (
    ("d_loss", "d_loss", ".3f"),
    ("g_loss", "g_loss", ".3f"),
    ("d_real", "D(x)", ".2f"),
    ("d_fake", "D(G(z))", ".2f"),
)


def fit_gan(
    gan, dataset, epochs: int, n_images: int | None = None, log_every: int = 1, callbacks=()
) -> dict:
    """``gan.fit`` on a ``tf.data`` dataset of image batches, one :class:`~vaecourse.training.EpochLog`
    line per epoch and a :class:`~vaecourse.gan.BalanceMonitor` (the default one unless ``callbacks`` holds one).
    The history gains ``seconds`` (wall-clock per epoch), ``d_fake_batch`` (every batch's
    D(G(z)), all epochs in one list), from which :meth:`~vaecourse.gan.BalanceMonitor.replay` judges it, and
    the per-epoch numbers of any :class:`~vaecourse.gan.SampleQuality` in ``callbacks``."""
    log = EpochLog(every=log_every, n_images=n_images, fields=GAN_FIELDS)
    monitor = next((c for c in callbacks if isinstance(c, BalanceMonitor)), None)
    extra = [] if monitor else [monitor := BalanceMonitor()]
    result = gan.fit(
        dataset, epochs=epochs, verbose=0, shuffle=False, callbacks=[log, *extra, *callbacks]
    )
    history = {k: [float(v) for v in vals] for k, vals in result.history.items()}
    history["seconds"] = [float(s) for s in log.seconds]
    history["d_fake_batch"] = [round(float(v), 5) for v in monitor.values]
    for callback in callbacks:
        if isinstance(callback, SampleQuality):
            history.update({f"sample_{k}": v for k, v in callback.values.items()})
    return history


def history_summary(history: dict) -> str:
    """One line: epochs, first -> last d_loss and g_loss, last D(x) and D(G(z)), minutes."""
    if not history.get("d_loss"):
        return "no history"
    h = history
    line = (
        f"{len(h['d_loss'])} epochs | d_loss {h['d_loss'][0]:.3f} -> {h['d_loss'][-1]:.3f} | "
        f"g_loss {h['g_loss'][0]:.3f} -> {h['g_loss'][-1]:.3f} | D(x) {h['d_real'][-1]:.2f} "
        f"D(G(z)) {h['d_fake'][-1]:.2f}"
    )
    if h.get("seconds"):
        line += f" | {sum(h['seconds']) / 60:.1f} min"
    return line
