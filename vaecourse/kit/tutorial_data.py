"""Data for the two tutorial chapters (T1, T2) that the course's ``load_faces`` does not give.

* :func:`load_full_size_faces` -- CelebA crops from *full-size* (178x218) images only, so that
  tutorial 001's 128x128 input is never an upscaled small copy.  The book's CelebA subset holds
  6,009 full-size images (4,569 train / 780 val / 660 test in the official partition) beside
  half-size copies; ``celeba_full_size_subset.txt`` lists them.  Under ``full`` every CelebA
  image is full-size; without CelebA the synthetic faces are rendered at the size asked for.
* :func:`image_folder` -- a folder of image files in the layout the tutorials read from
  (``<folder>/<one subfolder>/*.jpg``), for ``flow_from_directory`` and its successor.
* :func:`celeba_identities` -- the person shown in each CelebA image, when the source has the
  ``identity_CelebA.txt`` file of the original release.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

from .data import find_source, load_celeba, load_synthetic, write_fake_celeba

FULL_SIZE_FILE = Path(__file__).with_name("celeba_full_size_subset.txt")
IDENTITY_FILE = "identity_CelebA.txt"


def full_size_names() -> list:
    """The file names of the full-size (178x218) images of the book's CelebA subset."""
    return FULL_SIZE_FILE.read_text().split()


def load_full_size_faces(P, size: int, n_train: int | None = None, n_val: int | None = None):
    """A FaceSet of ``size`` x ``size`` face crops from full-size images only: under ``book`` the
    full-size part of the book subset, under ``full`` all of CelebA, otherwise synthetic faces.
    Split by CelebA's official partition; ``n_train``/``n_val`` default to the profile's."""
    n_train = P.n_train if n_train is None else int(n_train)
    n_val = P.n_val if n_val is None else int(n_val)
    if P.dataset != "celeba":
        return load_synthetic(n_train, n_val, size, seed=P.seed, verbose=False)
    # the book keeps to the full-size part of its subset; full takes all of CelebA
    names = full_size_names() if P.pick(ci=False, book=True, full=False) else None
    return load_celeba(size, n_train, n_val, names=names, verbose=False, progress=False)


def _link_or_copy(src, dst: Path) -> None:
    try:
        os.symlink(src, dst)
    except OSError:  # e.g. no symlinks on this file system
        shutil.copyfile(src, dst)


def image_folder(P, n: int, root) -> Path:
    """A folder ``root/img_align_celeba`` holding one subfolder with ``n`` full-size CelebA
    image files (linked from the source, or extracted from its zip), or ``n`` synthetic faces
    written as 178x218 JPEGs when the profile has no CelebA.  Returns the outer folder: the
    ``DATA_FOLDER`` of tutorial 001, whose images sit one level down."""
    root = Path(root)
    outer = root / "img_align_celeba"
    inner = outer / "img_align_celeba"
    if P.dataset != "celeba":
        write_fake_celeba(root, n, seed=P.seed, workers=1)
        return outer
    src = find_source()
    wanted = set(full_size_names()) if P.pick(ci=False, book=True, full=False) else None
    refs = [(name, ref) for name, ref in src.images if wanted is None or name in wanted][:n]
    inner.mkdir(parents=True, exist_ok=True)
    if src.zip_path is None:
        for name, path in refs:
            _link_or_copy(path, inner / name)
    else:
        with zipfile.ZipFile(src.zip_path) as zf:
            for name, member in refs:
                (inner / name).write_bytes(zf.read(member))
    return outer


def celeba_identities(source=None) -> dict | None:
    """``{file name: person id}`` from ``identity_CelebA.txt`` beside the CelebA images (the
    original release has it; Kaggle's copy does not), or None when there is none."""
    try:
        src = find_source(source, download=False)
    except Exception:  # no CelebA at all: nothing to read
        return None
    text = None
    if src.zip_path is not None:
        with zipfile.ZipFile(src.zip_path) as zf:
            member = next((m for m in zf.namelist() if m.endswith(IDENTITY_FILE)), None)
            text = zf.read(member).decode() if member else None
        folder = src.zip_path.parent
    else:
        folder = Path(src.origin)
    if text is None:
        found = [p for pat in (IDENTITY_FILE, f"*/{IDENTITY_FILE}") for p in folder.glob(pat)]
        text = found[0].read_text() if found else None
    if text is None:
        return None
    ids = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            ids[parts[0]] = int(parts[1])
    return ids
