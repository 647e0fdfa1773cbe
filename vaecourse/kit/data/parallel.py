"""A process pool that is safe to start from a notebook that has imported TensorFlow.

``fork`` would copy TensorFlow's threads and locks into the children, where they can
deadlock; ``forkserver`` (Linux, macOS) and ``spawn`` (Windows) start clean children that
import only what the job needs (numpy, PIL).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import sys


def pool_context():
    """The multiprocessing context the data jobs use."""
    methods = mp.get_all_start_methods()
    return mp.get_context("forkserver" if "forkserver" in methods else "spawn")


class _Serial:
    """Stands in for a pool of one: runs the jobs in order in this process."""

    @staticmethod
    def imap(func, iterable):
        return map(func, iterable)


@contextlib.contextmanager
def _main_hidden():
    """Start children without the main script: forkserver and spawn children re-run it
    otherwise, and a script without an ``if __name__ == "__main__":`` guard that calls
    ``load_faces`` at top level then blocks in every child on the preparation lock its
    parent holds -- a hang with no output.  The jobs live in this package, so the children
    never need the script (and a script read from stdin, which they cannot re-run, works
    too)."""
    main = sys.modules.get("__main__")
    saved = {k: v for k, v in vars(main).items() if k in ("__file__", "__spec__")} if main else {}
    try:
        if "__file__" in saved:
            del main.__file__
        if "__spec__" in saved:
            main.__spec__ = None  # ``python -m module`` would be re-imported by name
        yield
    finally:
        for k, v in saved.items():
            setattr(main, k, v)


@contextlib.contextmanager
def process_pool(workers: int):
    """A ``multiprocessing`` pool of ``workers`` processes, terminated on exit.

    Terminating (rather than joining) on an exception stops the workers at once when a
    preparation is interrupted, so no orphan keeps writing.  The workers start without the
    caller's main script (:func:`_main_hidden`).
    """
    if workers <= 1:
        yield _Serial()
        return
    ctx = pool_context()
    with _main_hidden():  # the children are started here, in the Pool's constructor
        pool = ctx.Pool(processes=max(1, int(workers)))
    try:
        yield pool
        pool.close()
        pool.join()
    finally:
        pool.terminate()


def cpu_workers() -> int:
    """Usable CPU cores (respects an affinity mask, e.g. in containers)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
