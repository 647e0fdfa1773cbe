"""Saving and loading models, weights and training checkpoints -- always atomically.

* :func:`save_weights` / :func:`load_weights`: ``.weights.h5`` files of the whole model and
  of its encoder and decoder (the series kept all three, in ``all/``, ``enc/``, ``dec/``).
* :func:`save_model` / :func:`load_model`: a whole model as one ``.keras`` file; the custom
  layers, losses and models of the course are registered with Keras, so loading works in
  ``safe_mode``.
* :func:`save_checkpoint` / :func:`resume` and the :class:`Checkpoint` callback: weights +
  optimizer state + epoch counter + history in one ``.npz`` file, to continue training with
  ``initial_epoch`` exactly where it stopped (the series trained 18 + 6 epochs).

Every file is first written under a temporary name and then renamed, so an interrupted
run leaves the previous file intact, never a truncated one.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import keras

from . import history as hist
from . import mechanisms  # noqa: F401  (registers the custom objects for load_model)
from . import models
from .io import atomic_path

PARTS = ("model", "encoder", "decoder")
CHECKPOINT_FORMAT = 1


def _parts(model) -> dict:
    return {"model": model, "encoder": models.get_encoder(model),
            "decoder": models.get_decoder(model)}


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
            raise FileNotFoundError(f"{path} does not exist: save with save_weights(model, "
                                    f"{str(directory)!r}) first")
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
    """Load a ``.keras`` file (safe mode) and restore the ``.encoder``/``.decoder`` handles."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: save a model there with save_model()")
    model = keras.saving.load_model(path, compile=compile, safe_mode=True)
    if getattr(model, "encoder", None) is None:
        names = {layer.name for layer in model.layers}
        if {"encoder", "decoder"} <= names:
            model.encoder, model.decoder = model.get_layer("encoder"), model.get_layer("decoder")
    return model


# --- Checkpoints for resuming --------------------------------------------------------
@dataclass
class CheckpointState:
    """What :func:`resume` restored: the epochs done so far and their history."""

    epoch: int = 0
    history: dict = field(default_factory=dict)
    path: Path | None = None


def _config_hash(model):
    cfg = getattr(model, "vae_config", None)
    return cfg.config_hash() if cfg is not None else None


def save_checkpoint(model, path, epoch: int, history=None) -> Path:
    """Weights, optimizer variables, ``epoch`` (epochs completed) and history in one ``.npz``."""
    path = Path(path)
    arrays = {f"w{i:04d}": w for i, w in enumerate(model.get_weights())}
    opt = getattr(model, "optimizer", None)
    opt_paths = []
    if opt is not None and opt.built:
        for i, v in enumerate(opt.variables):
            arrays[f"o{i:04d}"] = np.asarray(v.numpy())
            opt_paths.append(_slot_name(v))
    state = {"format": CHECKPOINT_FORMAT, "epoch": int(epoch), "history": hist.as_dict(history),
             "optimizer": type(opt).__name__ if opt is not None else None,
             "optimizer_paths": opt_paths, "config_hash": _config_hash(model),
             "n_weights": len(model.weights), "keras": keras.__version__}
    arrays["state"] = np.array(json.dumps(state))
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)
    return path


def load_checkpoint(model, path) -> CheckpointState:
    """Restore weights and optimizer state written by :func:`save_checkpoint`."""
    path = Path(path)
    with np.load(path, allow_pickle=False) as data:
        state = json.loads(str(data["state"]))
        weights = [data[k] for k in sorted(k for k in data.files if k.startswith("w"))]
        opt_values = [data[k] for k in sorted(k for k in data.files if k.startswith("o"))]
    ours = _config_hash(model)
    if state["config_hash"] and ours and state["config_hash"] != ours:
        raise ValueError(f"checkpoint {path} belongs to config {state['config_hash']}, the model "
                         f"has config {ours}: build the model with the same VAEConfig or delete "
                         "the checkpoint")
    shapes = [tuple(w.shape) for w in model.weights]
    if shapes != [tuple(w.shape) for w in weights]:
        raise ValueError(f"checkpoint {path} holds weights of another architecture "
                         f"({len(weights)} arrays, model has {len(shapes)}): delete it or build "
                         "the matching model")
    model.set_weights(weights)
    if opt_values:
        _restore_optimizer(model, state["optimizer_paths"], opt_values, path)
    return CheckpointState(epoch=state["epoch"], history=state["history"], path=path)


def _slot_name(variable) -> str:
    # "adam_3/encoder_conv_0_kernel_momentum" -> drop the optimizer's instance name.
    return variable.path.split("/", 1)[-1]


def _restore_optimizer(model, paths, values, ckpt_path):
    opt = getattr(model, "optimizer", None)
    if opt is None:
        raise ValueError(f"checkpoint {ckpt_path} has optimizer state but the model is not "
                         "compiled: compile it (build_vae/build_ae do) before resuming")
    build_optimizer(model)
    if [_slot_name(v) for v in opt.variables] != paths:
        raise ValueError(f"optimizer variables of {ckpt_path} do not match "
                         f"{type(opt).__name__}: use the optimizer that wrote the checkpoint")
    for var, value in zip(opt.variables, values):
        var.assign(value)


def resume(model, path) -> CheckpointState:
    """Load ``path`` if it exists (returns the epoch to pass as ``initial_epoch``), else a
    fresh state with epoch 0."""
    path = Path(path)
    if not path.exists():
        return CheckpointState(epoch=0, history={}, path=path)
    return load_checkpoint(model, path)


class Checkpoint(keras.callbacks.Callback):
    """Saves a checkpoint every ``every`` epochs (and after the last one), with the history
    accumulated since ``state`` (pass the :func:`resume` result to continue a run)."""

    def __init__(self, path, state: CheckpointState | None = None, every: int = 1):
        super().__init__()
        self.path, self.every = Path(path), max(1, int(every))
        self.history = hist.as_dict(state.history) if state else {}
        self._last_saved = None

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(hist._canonical(key), []).append(float(value))
        if (epoch + 1) % self.every == 0:
            save_checkpoint(self.model, self.path, epoch + 1, self.history)
            self._last_saved = epoch + 1
        self._epoch = epoch + 1

    def on_train_end(self, logs=None):
        if getattr(self, "_epoch", None) and self._last_saved != self._epoch:
            save_checkpoint(self.model, self.path, self._epoch, self.history)
