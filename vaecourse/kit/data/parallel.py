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
    """Stands in for a pool where child processes cannot start: runs jobs in order here."""

    @staticmethod
    def imap(func, iterable):
        return map(func, iterable)


def _children_can_start() -> bool:
    """False when the main script cannot be re-imported by a child (``python - <<EOF``):
    forkserver and spawn children would die on start and the pool would respawn them
    forever."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return main_file is None or os.path.exists(main_file)


@contextlib.contextmanager
def process_pool(workers: int):
    """A ``multiprocessing`` pool of ``workers`` processes, terminated on exit.

    Terminating (rather than joining) on an exception stops the workers at once when a
    preparation is interrupted, so no orphan keeps writing.  Where child processes cannot
    start, the jobs run in this process instead (slower, same results).
    """
    if workers <= 1 or not _children_can_start():
        yield _Serial()
        return
    ctx = pool_context()
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
