"""How the cached models train: :func:`fit_dataset`, the one training loop every model of the
zoo goes through (a per-epoch log line and the wall time of each epoch).  And how the course's
DC-GAN trains, is keyed in the model cache and reports: :func:`fit_gan` with a balance monitor
(:class:`BalanceMonitor`) and per-batch D(G(z)); the cache's view of its config; a one-line
summary of a stored history; and the book's face GAN recipe (:data:`FACE_RECIPE`,
:func:`face_gan_config`, :func:`face_gan_schedule`) with the record of the tuning runs behind
it (:func:`tuning_record`).  Chapter XIII teaches the GAN itself
(:mod:`vaecourse.gan`) and calls the monitor and the recipe.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from ..gan import DCGAN, GANConfig, SampleQuality, config_from_profile
from ..training import BatchTrace, EpochLog

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


class CachedDCGAN(DCGAN):
    """The DC-GAN as the model cache stores it.  Keras names saved weights by attribute, and the
    GANs were cached while :class:`~vaecourse.gan.DCGAN` had a ``decoder`` alias of its
    generator, so their generator weights sit under ``decoder/``; this alias keeps that layout,
    so cached GANs load (``zoo.face_gan`` builds this class)."""

    @property
    def decoder(self):
        return self.generator


def build_cached_gan(config: GANConfig, seed=None) -> CachedDCGAN:
    """A compiled :class:`CachedDCGAN` (what :func:`vaecourse.gan.build_gan` builds, in the
    cache's weight layout)."""
    model = CachedDCGAN(config, seed=seed)
    model.compile()
    return model


#: What :class:`EpochLog` prints for a GAN: ``epoch 2/5  d_loss 0.612  g_loss 1.120  D(x) 0.62
#: D(G(z)) 0.31  | 41.0 s``.
GAN_FIELDS = (
    ("d_loss", "d_loss", ".3f"),
    ("g_loss", "g_loss", ".3f"),
    ("d_real", "D(x)", ".2f"),
    ("d_fake", "D(G(z))", ".2f"),
)


def fit_dataset(
    model,
    train,
    *,
    epochs: int,
    validation=None,
    n_images: int | None = None,
    log_every: int = 1,
    callbacks=(),
    fields=None,
) -> dict:
    """The one training loop of the cached models (VAEs, AEs, the GAN, the classifier, chapter
    XIV's models): ``model.fit`` on ``tf.data`` datasets (which shuffle themselves), an
    :class:`~vaecourse.training.EpochLog` line every ``log_every`` epochs (``fields``: what it
    prints, e.g. :data:`GAN_FIELDS`) and ``callbacks``.  Returns the history as floats plus
    ``seconds``, the wall time of every epoch."""
    log = EpochLog(every=log_every, n_images=n_images, fields=fields)
    result = model.fit(
        train,
        validation_data=validation,
        epochs=int(epochs),
        verbose=0,
        shuffle=False,
        callbacks=[log, *callbacks],
    )
    history = {k: [float(v) for v in vals] for k, vals in result.history.items()}
    return {**history, "seconds": [float(s) for s in log.seconds]}


def fit_gan(
    gan, dataset, epochs: int, n_images: int | None = None, log_every: int = 1, callbacks=()
) -> dict:
    """:func:`fit_dataset` for a DC-GAN, with a :class:`BalanceMonitor` (the default one unless
    ``callbacks`` holds one).  The history gains ``d_fake_batch`` (every batch's D(G(z)), all
    epochs in one list), from which :meth:`BalanceMonitor.replay` judges it, and the per-epoch
    numbers of any :class:`~vaecourse.gan.SampleQuality` in ``callbacks``."""
    monitor = next((c for c in callbacks if isinstance(c, BalanceMonitor)), None)
    extra = [] if monitor else [monitor := BalanceMonitor()]
    history = fit_dataset(
        gan,
        dataset,
        epochs=epochs,
        n_images=n_images,
        log_every=log_every,
        callbacks=[*extra, *callbacks],
        fields=GAN_FIELDS,
    )
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


class BalanceMonitor(keras.callbacks.Callback):
    """Flags an epoch the discriminator won: D(G(z)) below ``threshold`` in at least ``share``
    of the epoch's batches.

    A balanced game keeps D(G(z)) in the tenths; once D rejects most generated batches with
    confidence, the generator's gradient carries little but "not like this", and the game
    rarely recovers.  A share, not every batch: D's own steps are noisy, so even a lost game
    has the odd batch in which D is fooled.  The defaults come from the face GANs of chapter
    XIII (150-batch epochs, measured per batch): the recipe had 5-8 % of its batches below 0.03,
    a discriminator with four times the learning rate of its generator up to 53 %, the
    strong-discriminator failure 69-83 %.  ``fit`` logs running means; a
    :class:`~vaecourse.training.BatchTrace` recovers each batch's own value, and ``values``
    keeps them all.  A flagged epoch is printed, kept in ``flagged`` (0-based) and, with
    ``stop=True``, ends training."""

    def __init__(
        self, threshold: float = 0.03, share: float = 0.6, stop: bool = False, print_fn=print
    ):
        super().__init__()
        self.threshold, self.share = float(threshold), float(share)
        self.stop, self.print_fn = bool(stop), print_fn
        self.trace = BatchTrace(keys=("d_fake",))
        self.below, self.flagged = [], []

    @property
    def values(self) -> list:
        """D(G(z)) of every batch so far."""
        return self.trace.values["d_fake"]

    def on_epoch_begin(self, epoch, logs=None):
        self.trace.on_epoch_begin(epoch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.trace.on_train_batch_end(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        n = self.trace.counts[-1] if self.trace.counts else 0
        if n:
            self._judge(epoch, self.values[-n:])

    def _judge(self, epoch: int, batch_values) -> None:
        v = np.asarray(batch_values, float)
        below = float(np.mean(v < self.threshold))
        self.below.append(below)
        if below >= self.share:
            self.flagged.append(epoch)
            self.print_fn(
                f"BalanceMonitor: the discriminator won epoch {epoch + 1}: D(G(z)) was below "
                f"{self.threshold:g} in {below:.0%} of its {len(v)} batches (mean {v.mean():.3f})"
            )
            if self.stop and self.model is not None:
                self.model.stop_training = True

    def replay(self, history: dict) -> list:
        """Judge a stored history (the per-batch ``d_fake_batch`` that :func:`fit_gan` records,
        split evenly into its epochs) as the monitor judges during training, e.g. for a model
        loaded from a cache; returns the flagged epochs."""
        batches = np.asarray(history["d_fake_batch"], float)
        for epoch, chunk in enumerate(np.array_split(batches, len(history["d_fake"]))):
            self._judge(epoch, chunk)
        return self.flagged


# ------------------------------------------------------------------------------------------
# The book's face GAN: the recipe the tuning of chapter XIII arrived at
# ------------------------------------------------------------------------------------------
#: What the tuning changed from the DC-GAN defaults (each change measured in chapter XIII):
#: data on [-1, 1] with a tanh generator, resize-convolutions against checkerboards,
#: one-sided label smoothing.
FACE_RECIPE = dict(output_activation="tanh", upsample="resize", label_smoothing=0.1)


def face_gan_config(P, **overrides) -> GANConfig:
    """The face GAN's config (``zoo.face_gan`` trains and caches it) for profile ``P``: :data:`FACE_RECIPE` at the profile's image
    size, latent size and filters; ``overrides`` win."""
    return config_from_profile(P, **{**FACE_RECIPE, **overrides})


def face_gan_schedule(P) -> dict:
    """Epochs and batch size of the face GAN for profile ``P``: the VAE's epochs, in batches
    of 32 on the book's CPU (more updates per epoch than the VAE's 64; about 20 minutes for
    the 15 book epochs on 2 cores) and the VAE's batch size elsewhere."""
    return {
        "epochs": P.epochs,
        "batch_size": P.pick(ci=P.batch_size, book=32, full=P.batch_size),
    }


#: The dated record of ``benchmarks/gan_tuning.py``'s runs (its ``--record``), in the repository.
TUNING_RECORD = "benchmarks/gan_tuning.json"


def tuning_record() -> dict:
    """The record of the tuning runs behind :data:`FACE_RECIPE`: ``runs`` (date, command,
    machine) and ``rows`` (one per variant and seed, the run it comes from in ``run``).  Read
    from the repository; an installed package without it (Colab) fetches the repository's copy."""
    path = Path(__file__).resolve().parents[2] / TUNING_RECORD
    if not path.exists():
        from .chapter import REPOSITORY

        url = f"https://raw.githubusercontent.com/{REPOSITORY}/main/{TUNING_RECORD}"
        path = Path(keras.utils.get_file("gan_tuning.json", url, cache_subdir="vaecourse"))
    return json.loads(path.read_text(encoding="utf-8"))
