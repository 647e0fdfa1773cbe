"""Where caches live and how they are written: atomically, under a lock, with a digest.

* :func:`cache_dir` -- ``$VAECOURSE_CACHE`` (default ``~/.cache/vaecourse``) and below; a cache
  that cannot be used raises :class:`CacheError`, whose message says what to set;
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

from .profiles import ENV_CACHE


class CacheError(OSError):
    """The cache folder cannot be created or written; the message says what to set."""


def _unusable(path, err: OSError) -> CacheError:
    given = os.environ.get(ENV_CACHE, "").strip()
    now = f"it is {ENV_CACHE}={given}" if given else f"{ENV_CACHE} is not set: the default"
    return CacheError(
        f"cannot use {path} for the course's cache ({err.strerror or err}; {now}). "
        f"Set {ENV_CACHE} to a folder you can write, e.g. {ENV_CACHE}=$HOME/vaecourse-cache "
        f"(a read-only cache still serves what it holds)."
    )


def cache_root() -> Path:
    """``$VAECOURSE_CACHE`` with ``~`` expanded, or ``~/.cache/vaecourse``; ``drive`` (on Colab)
    mounts Google Drive and becomes a folder there (:func:`vaecourse.kit.colab.use_cache`)."""
    if os.environ.get(ENV_CACHE, "").strip() == "drive":  # Colab: mount Drive on first use
        from .colab import use_cache

        use_cache()
    given = os.environ.get(ENV_CACHE, "").strip()
    return Path(given).expanduser() if given else Path.home() / ".cache" / "vaecourse"


def cache_dir(*parts: str, create: bool = True) -> Path:
    """:func:`cache_root` joined with ``parts``, created (unless ``create=False``); a folder
    that cannot be created raises :class:`CacheError`."""
    path = cache_root().joinpath(*parts)
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise _unusable(path, err) from None  # the message says all
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
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        f = open(lock_file, "a")
    except OSError as err:
        raise _unusable(lock_file.parent, err) from None
    with f:
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
