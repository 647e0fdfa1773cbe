"""Where caches live and how they are written: atomically, under a lock, with a digest.

* :func:`cache_dir` -- ``$VAECOURSE_CACHE`` (default ``~/.cache/vaecourse``) and below;
* :func:`atomic_path` -- write under a temporary name, rename when complete, so an interrupted
  run never leaves a half-written file that a later run would take as valid;
* :func:`locked` -- one process at a time (two notebooks preparing the same data or training
  the same model): the second waits, then finds the first one's result;
* :func:`file_digest` -- the SHA-256 that tells an intact file from a partial or corrupt one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

from ..profiles import ENV_CACHE


def cache_dir(*parts: str) -> Path:
    """``$VAECOURSE_CACHE`` (default ``~/.cache/vaecourse``), joined with ``parts``, created."""
    root = Path(os.environ.get(ENV_CACHE) or Path.home() / ".cache" / "vaecourse")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path next to ``target``; on success rename it onto ``target``.

    The rename is atomic on one file system, so readers see the old file or the new one,
    never a partial one.  On an exception the temporary file is removed and ``target`` is
    untouched.  ``suffix`` keeps an extension some writers insist on (e.g. ``.keras``).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = suffix if suffix is not None else "".join(target.suffixes)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".part{suffix}", dir=target.parent
    )
    os.close(fd)
    os.unlink(tmp)  # writers such as np.save or h5py want to create the file themselves
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json_atomic(target: str | os.PathLike, obj) -> None:
    """Write ``obj`` as JSON to ``target`` atomically."""
    with atomic_path(target) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=2, sort_keys=True))


def read_json(path: str | os.PathLike, default=None):
    """Read JSON, returning ``default`` when the file does not exist."""
    path = Path(path)
    if not path.exists():
        return default
    return json.loads(path.read_text())


@contextlib.contextmanager
def locked(lock_file: str | os.PathLike):
    """Hold an exclusive lock on ``lock_file`` (created if needed) across processes; the OS
    releases it when a process dies, so a killed run never blocks the next one."""
    lock_file = Path(lock_file)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as f:
        try:
            import fcntl
        except ImportError:  # not on POSIX: atomic renames still keep files consistent
            yield
            return
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def file_digest(path: str | os.PathLike, chunk: int = 1 << 24) -> str:
    """SHA-256 of a whole file, read in chunks (RAM stays small)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
