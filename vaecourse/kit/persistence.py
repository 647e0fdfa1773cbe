"""Saving and loading models and weights -- always atomically.

* :func:`save_weights` / :func:`load_weights`: ``.weights.h5`` files of the whole model and
  of its encoder and decoder (the series kept all three, in ``all/``, ``enc/``, ``dec/``).
* :func:`save_model` / :func:`load_model`: a whole model as one ``.keras`` file; the custom
  layers, losses and models of the course are registered with Keras, so loading works in
  ``safe_mode``.
* Resuming a run (the series trained 18 + 6 epochs) needs nothing of our own: a
  ``.weights.h5`` file of a compiled model carries the optimizer state, Keras'
  ``ModelCheckpoint(path, save_weights_only=True)`` writes one after every epoch (and
  ``BackupAndRestore`` survives an interrupted ``fit``), and ``fit(initial_epoch=...)``
  numbers the epochs on.  :func:`load_weights` builds the optimizer first, so that its
  state loads too.

Every file is first written under a temporary name and then renamed, so an interrupted
run leaves the previous file intact, never a truncated one.
"""

from __future__ import annotations

from pathlib import Path

import keras

from .. import (
    mechanisms,  # noqa: F401  (registers the custom objects for load_model)
    models,
)
from .files import atomic_path

PARTS = ("model", "encoder", "decoder")


def _parts(model) -> dict:
    return {
        "model": model,
        "encoder": models.get_encoder(model),
        "decoder": models.get_decoder(model),
    }


def save_weights(model, directory) -> dict:
    """Write ``model``, ``encoder`` and ``decoder`` ``.weights.h5`` files into ``directory``;
    returns ``{part: path}``."""
    directory = Path(directory)
    build_optimizer(model)  # so the file always carries the full optimizer state
    paths = {}
    for part, obj in _parts(model).items():
        paths[part] = directory / f"{part}.weights.h5"
        with atomic_path(paths[part]) as tmp:
            obj.save_weights(tmp)
    return paths


def build_optimizer(model) -> None:
    """Create the optimizer's slot variables, so that saved optimizer state can be loaded
    into them (Keras skips it, with a warning, for an optimizer that is not built yet)."""
    opt = getattr(model, "optimizer", None)
    if opt is not None and not opt.built:
        opt.build(model.trainable_variables)


def load_weights(model, directory, parts=("model",)) -> None:
    """Load weights saved by :func:`save_weights`: the whole model (with the optimizer state,
    if it was compiled), or e.g. ``parts=("decoder",)`` to load only a decoder."""
    directory = Path(directory)
    if "model" in parts:
        build_optimizer(model)
    objs = _parts(model)
    for part in parts:
        if part not in objs:
            raise ValueError(f"unknown part {part!r}: choose from {PARTS}")
        path = directory / f"{part}.weights.h5"
        if not path.exists():
            raise FileNotFoundError(
                f"{path} does not exist: save with save_weights(model, {str(directory)!r}) first"
            )
        objs[part].load_weights(path)


def save_model(model, path) -> Path:
    """Save a whole model (architecture, weights, optimizer) as a ``.keras`` file."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"{path}: a whole model is saved as a '.keras' file")
    with atomic_path(path) as tmp:
        model.save(tmp)
    return path


def load_model(path, compile: bool = True):
    """Load a ``.keras`` file (safe mode); ``models.get_encoder``/``get_decoder`` find its parts."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: save a model there with save_model()")
    return keras.saving.load_model(path, compile=compile, safe_mode=True)
