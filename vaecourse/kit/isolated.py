"""Running a function of the package in a fresh Python process: the one subprocess runner
(and :func:`quiet_stderr`, which holds back native log lines in this one).

Two kinds of job need a process of their own: the Keras 2 pitfalls of chapter III (they switch
TensorFlow's global execution mode) and memory measurements (a notebook kernel already holds
TensorFlow, models and data, and Python rarely gives memory back).

    result = isolated.run("vaecourse.kit.measure:feed_child", {"kind": "tfdata", ...})

The target is ``"module:function"``; it gets the JSON keyword arguments and returns something
JSON-able, which comes back through one marked line of the child's standard output.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

MARK = "@@VAECOURSE-RESULT@@"
CHILD = f"""
import importlib, json, os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
module, name = sys.argv[1].split(":")
kwargs = json.loads(sys.stdin.readline())  # not argv: one argument is capped at 128 KiB
result = getattr(importlib.import_module(module), name)(**kwargs)
print({MARK!r} + json.dumps(result), flush=True)
"""


def start(target: str, kwargs: dict | None = None, cpu_only: bool = True) -> subprocess.Popen:
    """Start ``target(**kwargs)`` in a fresh process; :func:`finish` collects the result.
    ``cpu_only`` hides any GPU from the child."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if cpu_only:
        env["CUDA_VISIBLE_DEVICES"] = "-1"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, target],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        proc.stdin.write(json.dumps(kwargs or {}) + "\n")
        proc.stdin.flush()
    except BrokenPipeError:  # the child died first: finish() shows its error output
        pass
    return proc


def finish(proc: subprocess.Popen, timeout: float = 600):
    """Wait for a process from :func:`start` and return what its function returned."""
    stdout, stderr = proc.communicate(timeout=timeout)
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    raise RuntimeError(
        f"{proc.args[3]} in a fresh process gave no result (exit {proc.returncode}); "
        f"its error output ends with:\n{stderr[-2000:]}"
    )


def run(target: str, kwargs: dict | None = None, timeout: float = 600, cpu_only: bool = True):
    """``target(**kwargs)`` in a fresh process: start it and wait for the result."""
    return finish(start(target, kwargs, cpu_only), timeout)


# --- Chapter III: the Keras 2 closure, eager and in graph mode --------------------------
@dataclass
class ClosureRun:
    """What a historical run did: ``succeeded``/``failed``, the error type and message."""

    eager: bool
    succeeded: bool
    error_type: str = ""
    error_message: str = ""
    history: dict = field(default_factory=dict)
    tf_keras_version: str = ""

    @property
    def failed(self) -> bool:
        return not self.succeeded

    @property
    def error_summary(self) -> str:
        """The last paragraph of the message (tf.function errors prepend a traceback)."""
        parts = [p.strip() for p in self.error_message.split("\n\n") if p.strip()]
        return parts[-1] if parts else ""


def keras2_closure_child(eager: bool) -> dict:
    """Runs in the child: :func:`vaecourse.pitfalls.keras2_closure_vae`, its error caught."""
    out = {"eager": eager, "succeeded": False}
    try:
        import tf_keras

        from vaecourse.pitfalls import keras2_closure_vae

        out["tf_keras_version"] = tf_keras.__version__
        out["history"] = keras2_closure_vae(eager)
        out["succeeded"] = True
    except Exception as e:
        out["error_type"], out["error_message"] = type(e).__name__, str(e)
    return out


def compare_eager_and_graph(timeout: float = 300) -> tuple:
    """Part III's Keras 2 closure under eager execution and in graph mode, each in its own
    process (in parallel): ``(eager_run, graph_run)``.  Needs ``tf_keras``."""
    target = f"{__name__}:keras2_closure_child"
    procs = {eager: start(target, {"eager": eager}) for eager in (True, False)}
    return tuple(ClosureRun(**finish(procs[eager], timeout)) for eager in (True, False))


@contextlib.contextmanager
def quiet_stderr():
    """Hold back what this process writes to stderr inside the block -- TensorFlow's graph
    optimiser logs from C++, straight to file descriptor 2, which a notebook shows even under
    ``TF_CPP_MIN_LOG_LEVEL=3`` -- and let it out only if the block fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as held:
        os.dup2(held.fileno(), 2)
        try:
            with contextlib.redirect_stderr(io.StringIO()) as text:
                yield
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode(errors="replace") + text.getvalue())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
