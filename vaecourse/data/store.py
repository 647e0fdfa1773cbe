"""The on-disk form of a prepared image set, and the rules that keep it trustworthy.

A prepared set is a folder holding ``images.npy`` (uint8, memory-mapped when read),
``attrs.npy`` (int8) and sometimes more arrays, plus ``manifest.json`` written last.  The
manifest records each file's byte count and SHA-256; a set counts as valid only when the
manifest exists and every file matches it.  So an interrupted preparation (killed process,
full disk, Ctrl-C) is never read as valid: the next run sees no or a mismatching manifest
and prepares again from scratch.  Each file is written through :func:`vaecourse.io.atomic_path`,
and one preparation at a time holds the folder's lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from pathlib import Path

import numpy as np

from ..io import read_json, write_json_atomic

MANIFEST = "manifest.json"
FORMAT = 1
_EDGE = 1 << 20  # bytes hashed at each end for the quick check on every load


def file_digest(path: str | os.PathLike, chunk: int = 1 << 24) -> str:
    """SHA-256 of a whole file, read in chunks (RAM stays small)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def quick_digest(path: str | os.PathLike) -> str:
    """SHA-256 of the size and the first and last MiB: cheap enough for every load."""
    path = Path(path)
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(_EDGE))
        if size > _EDGE:
            f.seek(max(_EDGE, size - _EDGE))
            h.update(f.read(_EDGE))
    return h.hexdigest()


def describe_file(path: Path) -> dict:
    return {
        "bytes": path.stat().st_size,
        "sha256": file_digest(path),
        "quick_sha256": quick_digest(path),
    }


@contextlib.contextmanager
def locked(folder: Path):
    """Hold an exclusive lock on ``folder`` (released when the process ends, even killed).

    With the lock held, leftover ``*.part*`` files can only come from a dead run, so they
    are removed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    fh = open(folder / ".lock", "a+")
    try:
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        except ImportError:  # Windows: no advisory locks; one run at a time is on the user
            pass
        for stale in folder.glob(".*.part*"):
            stale.unlink(missing_ok=True)
        yield
    finally:
        fh.close()


def check_free_space(folder: Path, needed: int) -> None:
    """Raise a clear error before writing ``needed`` bytes where they do not fit."""
    free = shutil.disk_usage(folder).free
    if free < needed * 1.05:
        raise OSError(
            f"preparing needs {needed / 1e9:.2f} GB in {folder}, but only "
            f"{free / 1e9:.2f} GB are free.  Free some space, or point "
            f"$VAECOURSE_CACHE to a disk with room."
        )


def start(folder: Path) -> None:
    """Invalidate a set before rewriting it: the manifest goes first."""
    (folder / MANIFEST).unlink(missing_ok=True)


def finish(folder: Path, files: list[str], info: dict) -> dict:
    """Write the manifest for ``files`` (already in place) with ``info``; returns it."""
    manifest = dict(info)
    manifest["format"] = FORMAT
    manifest["files"] = {name: describe_file(folder / name) for name in files}
    write_json_atomic(folder / MANIFEST, manifest)
    return manifest


def validate(folder: Path, expect: dict | None = None, *, full: bool = False) -> dict | None:
    """The manifest of a valid set in ``folder``, or None when it is absent or broken.

    ``expect``: manifest entries that must match (e.g. size, count).  ``full=True`` also
    re-hashes every byte (slow for big sets; the quick check catches truncation and most
    overwrites).
    """
    try:
        manifest = read_json(folder / MANIFEST)
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return None
    for key, value in (expect or {}).items():
        if manifest.get(key) != value:
            return None
    for name, meta in manifest.get("files", {}).items():
        path = folder / name
        try:
            if path.stat().st_size != meta["bytes"]:
                return None
            if quick_digest(path) != meta["quick_sha256"]:
                return None
            if full and file_digest(path) != meta["sha256"]:
                return None
        except (OSError, KeyError, TypeError):
            return None
    return manifest


def open_images(folder: Path, name: str = "images.npy") -> np.ndarray:
    """Memory-map a prepared array read-only: pages load on access, RAM stays small."""
    return np.load(folder / name, mmap_mode="r")
