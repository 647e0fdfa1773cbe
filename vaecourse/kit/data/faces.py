"""Face images for the chapters: one call, synthetic or real CelebA by the profile.

``load_faces(P)`` returns a :class:`FaceSet` whose ``train``/``val`` arrays are read-only
memory maps of uint8 images, so even the 5.6 GB CelebA set costs almost no RAM until a
batch is read.  ``P.dataset`` is the one switch: ``"celeba"`` prepares (once) and maps the
real images, anything else the embedded synthetic faces.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from ..files import atomic_path, cache_dir
from . import store
from .attributes import ATTR_NAMES, N_ATTRS
from .store import FaceSet
from .synthetic import GENERATOR_VERSION, render_faces


# ----------------------------------------------------------------------------- synthetic
def synthetic_folder(size: int, n: int, seed: int) -> Path:
    """Cache folder of a synthetic set: the key is (generator version, size, n, seed)."""
    return cache_dir("faces", f"synthetic-v{GENERATOR_VERSION}-{size}px-n{n}-seed{seed}")


def prepare_synthetic(
    n: int,
    size: int,
    seed: int = 0,
    *,
    workers: int | None = None,
    force: bool = False,
    verbose: bool = True,
    progress: bool = False,
) -> Path:
    """Generate ``n`` synthetic faces once and cache them; returns the folder.

    A valid cache is reused (unless ``force``); otherwise the set is rendered straight
    into a temporary memory-mapped ``.npy`` that is renamed into place when complete.
    ``progress`` shows a tqdm bar while rendering.
    """
    n, size = int(n), int(size)
    folder = synthetic_folder(size, n, seed)
    expect = {
        "source": "synthetic",
        "count": n,
        "size": size,
        "seed": seed,
        "generator_version": GENERATOR_VERSION,
    }
    if not force and store.validate(folder, expect):
        return folder
    with store.preparing(folder):
        if not force and store.validate(folder, expect):  # another process made it
            return folder
        store.start(folder)
        store.check_free_space(folder, n * size * size * 3 + n * N_ATTRS)
        t0 = time.perf_counter()
        with (
            atomic_path(folder / "images.npy") as tmp_img,
            atomic_path(folder / "attrs.npy") as tmp_att,
        ):
            images = np.lib.format.open_memmap(
                tmp_img, mode="w+", dtype=np.uint8, shape=(n, size, size, 3)
            )
            attrs = np.lib.format.open_memmap(tmp_att, mode="w+", dtype=np.int8, shape=(n, N_ATTRS))
            bar = None
            if progress:
                from tqdm import tqdm

                bar = tqdm(total=n, unit="img", desc="synthetic faces", file=sys.stderr)
            try:
                render_faces(
                    n,
                    size,
                    seed,
                    workers=workers,
                    out=images,
                    attrs_out=attrs,
                    progress=bar.update if bar else None,
                )
            finally:
                if bar:
                    bar.close()
            images.flush()
            attrs.flush()
            del images, attrs
        seconds = time.perf_counter() - t0
        rate = n / seconds if seconds > 0 else float("inf")
        store.finish(
            folder,
            ["images.npy", "attrs.npy"],
            dict(
                expect,
                attr_names=list(ATTR_NAMES),
                seconds=round(seconds, 3),
                images_per_second=round(rate, 1),
            ),
        )
    if verbose:
        print(
            f"generated {n:,} synthetic faces {size}x{size} in {seconds:.1f} s "
            f"({rate:,.0f} img/s) -> cache folder {folder.name}",
            file=sys.stderr,
        )
    return folder


def load_synthetic(n_train: int, n_val: int, size: int, seed: int = 0, **kw) -> FaceSet:
    """The synthetic face set: train = the first ``n_train`` images, val = the next
    ``n_val``, test = the ``n_val`` after those."""
    a, b = n_train, n_train + n_val
    folder = prepare_synthetic(b + n_val, size, seed, **kw)
    images = store.open_images(folder)
    attrs = np.load(folder / "attrs.npy", mmap_mode="r")
    manifest = store.validate(folder) or {}
    return FaceSet(
        images[:a],
        images[a:b],
        attrs[:a],
        attrs[a:b],
        "synthetic",
        size,
        folder,
        manifest,
        test=images[b:],
        attrs_test=attrs[b:],
    )


# ----------------------------------------------------------------------------- facade
def data_identity(P, faces=None) -> tuple:
    """``(tag, provenance)`` of the faces a model for profile ``P`` trains on: the tag enters
    the model's cache key (:attr:`FaceSet.tag`), the provenance is printed with it.

    Synthetic faces are known from the profile alone (``faces`` is not touched); a CelebA
    model needs ``faces`` (a :class:`FaceSet`): its key holds the prepared set's content."""
    if isinstance(faces, FaceSet):
        return faces.tag, faces.provenance
    if P.dataset != "celeba":
        return (
            f"synthetic-v{GENERATOR_VERSION}",
            f"synthetic faces (generator v{GENERATOR_VERSION}) {P.image_size}px",
        )
    raise TypeError(
        "a CelebA model is keyed by the prepared set it trains on: pass faces=load_faces(P)"
    )


def load_faces(
    P=None,
    *,
    n_train: int | None = None,
    n_val: int | None = None,
    size: int | None = None,
    source: str | None = None,
    verbose: bool = True,
    **kw,
) -> FaceSet:
    """Faces for profile ``P`` (default ``profiles.profile()``).

    ``P.dataset == "celeba"`` gives the real CelebA (prepared once, see
    :func:`vaecourse.kit.data.celeba.prepare_celeba`; ``$VAECOURSE_CELEBA`` names a local
    folder or zip, else kagglehub downloads it); otherwise the synthetic set.  Keyword
    arguments override the profile's numbers.  Prints one line saying which set ran.
    """
    if P is None:
        from ..profiles import profile

        P = profile()
    n_train = P.n_train if n_train is None else int(n_train)
    n_val = P.n_val if n_val is None else int(n_val)
    size = P.image_size if size is None else int(size)
    if P.dataset == "celeba":
        from .celeba import book_subset, load_celeba

        names = book_subset() if P.pick(ci=False, book=True, full=False) else None
        faces = load_celeba(size, n_train, n_val, source=source, names=names, verbose=verbose, **kw)
    else:
        faces = load_synthetic(n_train, n_val, size, seed=P.seed, verbose=verbose, **kw)
    if verbose:
        print(faces.describe())
    return faces
