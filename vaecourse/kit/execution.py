"""Chapter IV's two experiments on execution modes, run from the kit: where a layer's code
sees which kind of tensor (:func:`where_code_runs`), and what one training step costs eager,
traced into a graph and compiled by XLA (:func:`time_train_step`).  What the chapter teaches
-- the kinds of tensor and the probe that records them -- is :mod:`vaecourse.eager`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass

import keras
import numpy as np

from ..eager import TypeProbe, tensor_kind
from ..mechanisms import fit_targets

MODES = {
    "eager": dict(run_eagerly=True, jit_compile=False),  # every op runs at once, in Python
    "graph": dict(run_eagerly=False, jit_compile=False),  # the step is traced into a tf.function
    "xla": dict(run_eagerly=False, jit_compile=True),  # ... and compiled by XLA
}


def where_code_runs(n: int = 8, dim: int = 4) -> dict:
    """Build a tiny functional model with a :class:`TypeProbe`, then call it directly, train it
    with ``fit`` in graph mode and with ``run_eagerly=True``.  Returns, for each situation, the
    tensor kind the probe's ``call`` received (its first sighting there).

    While the model is built, Keras works out output shapes by running ``call`` on stand-in
    graph tensors, so ``call`` never receives a ``KerasTensor``: those only live *between*
    layers of a functional model."""
    probe = TypeProbe(name="probe")
    inp = keras.Input((dim,))
    hidden = probe(inp)
    out = keras.layers.Dense(1)(hidden)
    model = keras.Model(inp, out)
    x = np.zeros((n, dim), "float32")
    y = np.zeros((n, 1), "float32")
    result = {}

    def record(label, action):
        start = len(probe.seen)
        action()
        result[label] = probe.seen[start][0] if len(probe.seen) > start else "(not called)"

    result["functional model: input and layer outputs"] = tensor_kind(hidden)
    result["building the functional model"] = probe.seen[0][0] if probe.seen else "(not called)"
    record("calling model(x) directly", lambda: model(x))
    model.compile(optimizer="sgd", loss="mse", run_eagerly=False, jit_compile=False)
    record("model.fit (graph, tf.function)", lambda: model.fit(x, y, epochs=1, verbose=0))
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    record("model.fit(run_eagerly=True)", lambda: model.fit(x, y, epochs=1, verbose=0))
    return result


@dataclass
class StepTiming:
    """Seconds for the first step (tracing and compiling included) and the median of the
    following ones."""

    mode: str
    first_s: float
    step_s: float
    steps: int
    first_loss: float = float("nan")  # loss of the first step (before any update)

    @property
    def steps_per_s(self) -> float:
        return 1.0 / self.step_s if self.step_s > 0 else float("inf")


def time_train_step(
    build_fn,
    x,
    modes=("eager", "graph", "xla"),
    steps: int = 10,
    batch_size: int = 32,
    seed: int = 0,
) -> dict:
    """Time ``model.train_on_batch`` for each execution mode.

    ``build_fn()`` returns a fresh, compiled model (it is compiled again here with the
    mode's ``run_eagerly``/``jit_compile``, keeping its optimizer class and learning rate).
    Each mode starts from the same seed (so the same initial weights and noise), takes a first
    step (tracing and compiling happen here; timed separately) and ``steps`` timed steps on the
    same batch.  Returns ``{mode: StepTiming}``.
    """
    batch = np.asarray(x[:batch_size], "float32")
    timings = {}
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"mode {mode!r}: choose from {', '.join(MODES)}")
        keras.utils.set_random_seed(seed)
        model = build_fn()
        optimizer = model.optimizer.__class__.from_config(model.optimizer.get_config())
        model.compile(optimizer=optimizer, loss=model.loss, **MODES[mode])
        y = fit_targets(model, batch)
        t0 = time.perf_counter()
        with _quiet_native_stderr():  # XLA announces its first compile on the C++ stderr
            logs = model.train_on_batch(batch, y, return_dict=True)
        first = time.perf_counter() - t0
        times = []
        for _ in range(max(1, int(steps))):
            t0 = time.perf_counter()
            model.train_on_batch(batch, y)
            times.append(time.perf_counter() - t0)
        timings[mode] = StepTiming(
            mode, first, float(np.median(times)), len(times), float(logs["loss"])
        )
    return timings


@contextlib.contextmanager
def _quiet_native_stderr():
    """Send file descriptor 2 (where TensorFlow's C++ code logs) to /dev/null for a moment.
    Python exceptions are unaffected: they are raised, not written."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (some embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
