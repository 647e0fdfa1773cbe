"""The on-disk form of a prepared image set, and the rules that keep it trustworthy.

A prepared set is a folder holding ``images.npy`` (uint8, memory-mapped when read),
``attrs.npy`` (int8) and sometimes more arrays, plus ``manifest.json`` written last.  The
manifest records each file's byte count and SHA-256; a set counts as valid only when the
manifest exists and every file matches it.  So an interrupted preparation (killed process,
full disk, Ctrl-C) is never read as valid: the next run sees no or a mismatching manifest
and prepares again from scratch.  Each file is written through :func:`vaecourse.kit.files.atomic_path`,
and one preparation at a time holds the folder's lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..files import file_digest, locked, read_json, write_json_atomic
from .attributes import ATTR_NAMES, attr_index
from .synthetic import GENERATOR_VERSION

MANIFEST = "manifest.json"
FORMAT = 1
_EDGE = 1 << 20  # bytes hashed at each end by the quick check
WHOLE_FILE_LIMIT = 512 << 20  # files up to this size are hashed whole on load (~0.3 s)
SAMPLE_STRIDE = 256 << 10  # larger ones: a 4 KiB block every 256 KiB, so any damaged
SAMPLE_BLOCK = 4 << 10  # stretch of 260 KiB or more is found (the book's set is hashed whole)
_verified = {}  # path -> (size, mtime_ns, inode, expected digest) verified in this process


def quick_digest(path: str | os.PathLike) -> str:
    """SHA-256 of the size and the first and last MiB (kept in manifests as a fast
    pre-check; it misses damage in between, so :func:`validate` never relies on it alone)."""
    path = Path(path)
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(_EDGE))
        if size > _EDGE:
            f.seek(max(_EDGE, size - _EDGE))
            h.update(f.read(_EDGE))
    return h.hexdigest()


def sampled_digest(path: str | os.PathLike) -> str:
    """SHA-256 of the size, the first and last MiB and a :data:`SAMPLE_BLOCK` every
    :data:`SAMPLE_STRIDE` across the whole file: for sets too big to hash on every load
    (5.6 GB under ``full``: 22,000 reads, well under a second)."""
    path = Path(path)
    size = path.stat().st_size
    h = hashlib.sha256(quick_digest(path).encode())
    with open(path, "rb") as f:
        for offset in range(0, size, SAMPLE_STRIDE):
            f.seek(offset)
            h.update(f.read(SAMPLE_BLOCK))
    return h.hexdigest()


def describe_file(path: Path) -> dict:
    return {
        "bytes": path.stat().st_size,
        "sha256": file_digest(path),
        "quick_sha256": quick_digest(path),
        "sampled_sha256": sampled_digest(path),
    }


def forget_verified() -> None:
    """Verify every file again on its next load (tests; another process's damage keeps a
    file's mtime only when done on purpose)."""
    _verified.clear()


def _intact(path: Path, meta: dict, full: bool) -> bool:
    """True when ``path`` matches its manifest entry ``meta``: the whole file's SHA-256 up
    to :data:`WHOLE_FILE_LIMIT` (or with ``full``), else the sampled digest.  A file verified
    in this process and unchanged since (size, mtime, inode) is not read again."""
    st = path.stat()
    if st.st_size != meta["bytes"]:
        return False
    whole = full or st.st_size <= WHOLE_FILE_LIMIT or "sampled_sha256" not in meta
    want = meta["sha256"] if whole else meta["sampled_sha256"]
    stamp = (st.st_size, st.st_mtime_ns, st.st_ino, want)
    if _verified.get(str(path)) == stamp:
        return True
    if quick_digest(path) != meta["quick_sha256"]:
        return False
    if (file_digest(path) if whole else sampled_digest(path)) != want:
        return False
    _verified[str(path)] = stamp
    return True


@contextlib.contextmanager
def preparing(folder: Path):
    """Hold the lock of ``folder`` while a set is prepared in it.

    With the lock held, leftover ``*.part*`` files can only come from a dead run, so they
    are removed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with locked(folder / ".lock"):
        for stale in folder.glob(".*.part*"):
            stale.unlink(missing_ok=True)
        yield


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

    ``expect``: manifest entries that must match (e.g. size, count).  Every file is checked
    against its manifest entry (:func:`_intact`): hashed whole when it is cheap (up to
    :data:`WHOLE_FILE_LIMIT`, or always with ``full=True``), else sampled across its whole
    length -- a stretch of zeros in the middle of ``images.npy`` is found either way.
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
        try:
            if not _intact(folder / name, meta, full):
                return None
        except (OSError, KeyError, TypeError):
            return None
    return manifest


IDENTITY_FILES = ("images.npy", "names.txt", "partition.npy")  # what a face model learns from


def content_tag(manifest: dict) -> str:
    """``celeba-<count>-<digest>``: the identity of a prepared CelebA set, from the SHA-256
    of its images, their file names and their split recorded in its manifest.  The same
    images give the same tag wherever they came from; other images never do."""
    files = manifest.get("files") or {}
    missing = [name for name in IDENTITY_FILES if "sha256" not in files.get(name, {})]
    if missing or "count" not in manifest:
        raise ValueError(
            f"the manifest of this prepared set lacks {missing or ['count']}: prepare it again "
            f"(delete its folder under $VAECOURSE_CACHE/faces)"
        )
    h = hashlib.sha256()
    for name in IDENTITY_FILES:
        h.update(f"{name} {files[name]['sha256']}\n".encode())
    return f"celeba-{manifest['count']}-{h.hexdigest()[:16]}"


def attributes_tag(manifest: dict) -> str:
    """The SHA-256 (16 hex digits) of a prepared set's ``attrs.npy``: what an attribute
    classifier learns from besides the images."""
    return manifest["files"]["attrs.npy"]["sha256"][:16]


def open_images(folder: Path, name: str = "images.npy") -> np.ndarray:
    """Memory-map a prepared array read-only: pages load on access, RAM stays small."""
    return np.load(folder / name, mmap_mode="r")


@dataclass
class FaceSet:
    """Images (uint8, (n, s, s, 3)) and ±1 attributes, split into train, val and test.

    ``test`` is held out from everything, training and model selection alike: the measures
    compare model samples against it as the "real" reference.
    """

    train: np.ndarray
    val: np.ndarray
    attrs_train: np.ndarray
    attrs_val: np.ndarray
    source: str  # "synthetic" or "celeba"
    size: int
    path: Path  # the prepared folder
    manifest: dict = field(repr=False, default_factory=dict)
    attr_names: tuple = ATTR_NAMES
    partition: np.ndarray | None = None  # CelebA's official split (0/1/2), all images
    names: list | None = None  # CelebA file names, all images
    test: np.ndarray | None = None
    attrs_test: np.ndarray | None = None

    def attr(self, name: str, split: str = "train") -> np.ndarray:
        """The ±1 column of attribute ``name`` for ``split`` ("train", "val" or "test")."""
        attrs = {"train": self.attrs_train, "val": self.attrs_val, "test": self.attrs_test}[split]
        return attrs[:, attr_index(name)]

    @property
    def tag(self) -> str:
        """Which images these are, for model keys: the synthetic generator's version, or the
        prepared CelebA set's content (:func:`content_tag`) -- so a model trained on another
        copy of CelebA is never taken for one trained on this."""
        if self.source == "synthetic":
            return f"synthetic-v{GENERATOR_VERSION}"
        return content_tag(self.manifest)

    @property
    def attributes_tag(self) -> str | None:
        """The prepared CelebA attributes' digest (:func:`attributes_tag`), None for the
        synthetic faces (their labels follow from the generator's version)."""
        return None if self.source == "synthetic" else attributes_tag(self.manifest)

    @property
    def provenance(self) -> str:
        """Where these images came from, in words (printed with a cached model)."""
        if self.source == "synthetic":
            return f"synthetic faces (generator v{GENERATOR_VERSION}) {self.size}px"
        m = self.manifest
        origin = str(m.get("origin", "?"))
        where = Path(origin).name if os.path.isabs(origin) else origin  # no machine paths
        return f"{m.get('count', 0):,} CelebA images {self.size}px prepared from {where} (set {self.tag})"

    def describe(self) -> str:
        n_test = 0 if self.test is None else len(self.test)
        return (
            f"faces: {self.source} {self.size}x{self.size}x3 uint8, "
            f"train={len(self.train):,} val={len(self.val):,} test={n_test:,} "
            f"(cache folder {self.path.name})"
        )
