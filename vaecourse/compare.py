"""Side by side: the four KL mechanisms on the same weights, the same batch, the same clock.

Chapter VIII asks whether the four ways of adding the KL loss (:mod:`vaecourse.mechanisms`)
compute the same thing and cost the same.  The answer needs three small tools:

* :func:`share_weights` copies the encoder and decoder weights of one model into the others
  and (by default) sets the sampling noise to zero, so that every model maps a batch to the
  very same z;
* :func:`losses_on_batch` asks every model, through its own ``evaluate``, for ``loss``,
  ``reconstruction_loss`` and ``kl_loss`` on one batch, and :func:`agreement` turns the
  numbers into a table of the largest relative difference to a reference model;
* :func:`step_times` times training steps of several models, interleaved so that background
  load on a shared machine hits all of them alike, and reports the median step time.
"""

from __future__ import annotations

import time

import numpy as np

from . import mechanisms, models
from .history import LOSS_KEYS


def share_weights(vaes, source: int = 0, deterministic: bool = True) -> list:
    """(chapter VIII) Give every model of ``vaes`` the encoder and decoder weights of ``vaes[source]``.

    ``deterministic=True`` also sets the epsilon factor of the sampling layer to 0
    (:func:`vaecourse.models.set_enc_to_predict`), so z = mu in every model.
    Returns the list of models."""
    vaes = list(vaes)
    enc_w = models.get_encoder(vaes[source]).get_weights()
    dec_w = models.get_decoder(vaes[source]).get_weights()
    for vae in vaes:
        models.get_encoder(vae).set_weights(enc_w)
        models.get_decoder(vae).set_weights(dec_w)
        if deterministic:
            models.set_enc_to_predict(vae)
    return vaes


def weights_equal(a, b) -> bool:
    """(chapter VIII) True when two models hold exactly the same weight values (in the same order)."""
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))


def losses_on_batch(vaes, x) -> dict:
    """(chapter VIII) ``{key of vaes: {"loss": .., "reconstruction_loss": .., "kl_loss": ..}}`` from each
    model's own ``evaluate`` on the whole batch ``x`` at once.  ``vaes`` is a dict of models
    (or a list, keyed 0, 1, ...)."""
    if not isinstance(vaes, dict):
        vaes = dict(enumerate(vaes))
    out = {}
    for key, vae in vaes.items():
        logs = vae.evaluate(
            x, mechanisms.fit_targets(vae, x), batch_size=len(x), verbose=0, return_dict=True
        )
        out[key] = {k: float(logs[k]) for k in LOSS_KEYS}
    return out


def relative_difference(a: float, b: float) -> float:
    """(chapter VI) |a - b| / max(|a|, |b|), and 0 when both are 0."""
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def agreement(losses: dict, reference=None, rtol: float = 1e-5) -> dict:
    """(chapter VIII) For every model of ``losses`` (see :func:`losses_on_batch`): the largest relative
    difference of its three losses to those of ``reference`` (default: the first model),
    and whether it is below ``rtol``.  ``{key: {"max_rel_diff": .., "equal": bool}}``."""
    keys = list(losses)
    ref = losses[keys[0] if reference is None else reference]
    table = {}
    for key in keys:
        diff = max(relative_difference(losses[key][k], ref[k]) for k in LOSS_KEYS)
        table[key] = {"max_rel_diff": diff, "equal": diff < rtol}
    return table


def step_times(vaes, x, steps: int = 10, rounds: int = 3, warmup: int = 2) -> dict:
    """(chapter VIII) Median wall time (seconds) of one ``train_on_batch`` step on the batch ``x`` for each
    model of ``vaes`` (a dict or a list).

    Every model first runs ``warmup`` steps (the first traces the train function).  Then, in
    each of ``rounds`` rounds, every model in turn runs ``steps`` timed steps: interleaving
    spreads background load over all models, and the median ignores the bursts.  The models
    are trained by this, so time copies, not the models you compare."""
    if not isinstance(vaes, dict):
        vaes = dict(enumerate(vaes))
    targets = {key: mechanisms.fit_targets(vae, x) for key, vae in vaes.items()}
    for key, vae in vaes.items():
        for _ in range(warmup):
            vae.train_on_batch(x, targets[key])
    times = {key: [] for key in vaes}
    for _ in range(rounds):
        for key, vae in vaes.items():
            for _ in range(steps):
                t0 = time.perf_counter()
                vae.train_on_batch(x, targets[key])
                times[key].append(time.perf_counter() - t0)
    return {key: float(np.median(t)) for key, t in times.items()}
