"""Train once, reuse everywhere: a disk cache of trained models.

Several chapters (X, XI, XII and the latent-space chapters) study the same trained face
VAE/AE.  :func:`cached_model` trains it on the first call and stores its weights and
training history under ``cache_dir("models", <key>)``; later calls -- in other notebooks or
other processes -- rebuild the architecture and load the weights.  The key combines the
cache name, the run profile and a hash of the config, the profile and ``extra``, so a
different profile or config never picks up a wrong model.

Safety: files are written under temporary names and renamed; ``entry.json`` (written last)
records the SHA-256 of the weight file, so a partial or corrupt entry is detected and the
model retrained.  A lock file serialises two processes that want the same model (e.g.
pytest-xdist running two notebooks): the second waits and then loads what the first trained.
Loading an intact entry takes no lock and writes nothing, so a read-only cache (a course's
shared folder, a Kaggle input data set) serves its models.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import keras

from .. import history as hist
from .. import models
from .files import atomic_path, cache_dir, file_digest, locked, write_json_atomic
from .persistence import build_optimizer

CACHE_VERSION = 1  # bump when training code changes in a way that invalidates old models
WEIGHTS_FILE = "model.weights.h5"
ENTRY_FILE = "entry.json"


@dataclass
class CachedModel:
    """A trained model from the cache, with what it was built from and how it trained:
    ``config`` (what the builder got), ``history`` (per epoch), ``train_seconds`` (how long
    its training took, as recorded when it was cached) and ``trained`` (True if this call
    trained it).  ``encoder`` and ``decoder`` are the model's two halves (a GAN's decoder is
    its generator)."""

    model: object
    history: dict
    path: Path
    key: str
    trained: bool
    trained_on: str | None = None  # which data, in words
    config: object = None
    train_seconds: float | None = None

    @property
    def encoder(self):
        return models.get_encoder(self.model)

    @property
    def decoder(self):
        return models.get_decoder(self.model)


def _profile_dict(profile) -> dict:
    if profile is None:
        return {}
    d = dataclasses.asdict(profile)
    if d.pop("extra", None) and getattr(profile, "dry_run", False):
        d["dry_run"] = True  # a dress rehearsal's model never takes a real model's key
    return d


def cache_key(name: str, config, profile=None, extra=None) -> str:
    """``<name>-<profile>-<hash>``; the hash covers config, profile, ``extra`` and
    :data:`CACHE_VERSION`."""
    payload = {
        "version": CACHE_VERSION,
        "name": name,
        "config": config.to_dict(),
        "profile": _profile_dict(profile),
        "extra": extra,
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return f"{name}-{getattr(profile, 'name', 'noprofile')}-{digest[:12]}"


def read_entry(directory: Path, key: str):
    """The entry dict if ``directory`` holds a complete, intact entry for ``key``; else a
    string saying why not."""
    entry_path, weights = directory / ENTRY_FILE, directory / WEIGHTS_FILE
    if not entry_path.exists():
        return "no entry"
    try:
        entry = json.loads(entry_path.read_text())
    except (OSError, ValueError) as err:
        return f"unreadable entry.json ({err})"
    if entry.get("key") != key or entry.get("version") != CACHE_VERSION:
        return "entry written for another key/version"
    if not weights.exists():
        return "weight file missing"
    if file_digest(weights) != entry.get("weights_sha256"):
        return "weight file does not match its checksum (partial or corrupt)"
    return entry


def _no_paths(text: str) -> str:
    """``text`` with absolute paths shortened to their last part: what is printed ends up in
    notebooks, and a machine's paths do not belong there."""
    return re.sub(r"(?<![\w.:])/(?:[^\s/()]+/)+([^\s/()]+)", r"\1", text)


def _load(build_fn, config, directory: Path, key: str, say):
    """The model ``build_fn(config)`` with the cached weights of ``key`` as a :class:`CachedModel`, or
    a string saying why not (``"no entry"`` when there is none).  Reads only."""
    entry = read_entry(directory, key)
    if not isinstance(entry, dict):
        return entry
    model = build_fn(config)
    try:
        build_optimizer(model)  # so the saved optimizer state loads too
        model.load_weights(directory / WEIGHTS_FILE)
    except Exception as err:  # e.g. the architecture code changed since
        return f"weights do not fit the model ({type(err).__name__}: {err})"
    on = _no_paths(entry.get("trained_on") or "data not recorded")
    say(f"loaded cached model {key}, trained on {on} ({hist.summary(entry['history'])})")
    history, seconds = hist.as_dict(entry["history"]), entry.get("train_seconds")
    return CachedModel(model, history, directory, key, False, on, config, seconds)


def cached_model(
    name: str,
    config,
    build_fn,
    train_fn,
    profile=None,
    extra=None,
    force: bool = False,
    verbose: bool = True,
    trained_on: str | None = None,
) -> CachedModel:
    """Return the trained model for (name, config, profile): from the cache, or by calling
    ``model = build_fn(config)`` and ``train_fn(model)`` (which returns the history) once.

    ``force=True`` retrains and overwrites.  ``extra`` (any JSON-able value) enters the key,
    e.g. the data set's identity.  ``trained_on`` (which data, in words) is stored with the
    model and printed whenever it is loaded.
    """
    key = cache_key(name, config, profile, extra)
    directory = cache_dir("models", key, create=False)
    say = print if verbose else (lambda *a, **k: None)
    if not force:  # no lock and no write to load: a read-only cache serves what it holds
        found = _load(build_fn, config, directory, key, say)
        if isinstance(found, CachedModel):
            return found
    directory = cache_dir("models", key)
    with locked(directory / ".lock"):
        entry = "no entry" if force else _load(build_fn, config, directory, key, say)
        if isinstance(entry, CachedModel):  # another process trained it while this one waited
            return entry
        if entry != "no entry":
            say(f"cache entry {key} not usable: {entry}; training again")
        model = build_fn(config)  # a fresh one, never a half-loaded one
        t0 = time.perf_counter()
        history = hist.as_dict(train_fn(model))
        train_seconds = round(time.perf_counter() - t0, 1)
        weights = directory / WEIGHTS_FILE
        build_optimizer(model)  # a fixed layout: loading builds the optimizer too
        with atomic_path(weights) as tmp:
            model.save_weights(tmp)
        write_json_atomic(
            directory / ENTRY_FILE,
            {
                "key": key,
                "version": CACHE_VERSION,
                "name": name,
                "config": config.to_dict(),
                "profile": _profile_dict(profile),
                "extra": extra,
                "history": history,
                "weights_sha256": file_digest(weights),
                "keras": keras.__version__,
                "pid": os.getpid(),
                "train_seconds": train_seconds,
                "trained_on": trained_on,
            },
        )
        on = f" on {_no_paths(trained_on)}" if trained_on else ""
        say(
            f"trained and cached model {key}{on} in {train_seconds:.0f} s ({hist.summary(history)})"
        )
        return CachedModel(model, history, directory, key, True, trained_on, config, train_seconds)
