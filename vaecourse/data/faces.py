"""Face images for the chapters: one call, synthetic or real CelebA by the profile.

``load_faces(P)`` returns a :class:`FaceSet` whose ``train``/``val`` arrays are read-only
memory maps of uint8 images, so even the 5.6 GB CelebA set costs almost no RAM until a
batch is read.  ``P.dataset`` is the one switch: ``"celeba"`` prepares (once) and maps the
real images, anything else the embedded synthetic faces.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io import atomic_path, cache_dir
from . import store
from .attributes import ATTR_NAMES, N_ATTRS, attr_index
from .synthetic import GENERATOR_VERSION, render_faces


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
    source: str                       # "synthetic" or "celeba"
    size: int
    path: Path                        # the prepared folder
    manifest: dict = field(repr=False, default_factory=dict)
    attr_names: tuple = ATTR_NAMES
    partition: np.ndarray | None = None   # CelebA's official split (0/1/2), all images
    names: list | None = None             # CelebA file names, all images
    test: np.ndarray | None = None
    attrs_test: np.ndarray | None = None

    def attr(self, name: str, split: str = "train") -> np.ndarray:
        """The ±1 column of attribute ``name`` for ``split`` ("train", "val" or "test")."""
        attrs = {"train": self.attrs_train, "val": self.attrs_val, "test": self.attrs_test}[split]
        return attrs[:, attr_index(name)]

    @property
    def tag(self) -> str:
        """Which images these are, for cache keys: the synthetic generator's version, or
        the prepared CelebA selection (the book subset or all of it)."""
        if self.source == "synthetic":
            return f"synthetic-v{GENERATOR_VERSION}"
        return "celeba-" + str(self.manifest.get("selection") or "all")

    def describe(self) -> str:
        n_test = 0 if self.test is None else len(self.test)
        return (f"faces: {self.source} {self.size}x{self.size}x3 uint8, "
                f"train={len(self.train):,} val={len(self.val):,} test={n_test:,} "
                f"(cache folder {self.path.name})")


# ----------------------------------------------------------------------------- synthetic
def synthetic_folder(size: int, n: int, seed: int) -> Path:
    """Cache folder of a synthetic set: the key is (generator version, size, n, seed)."""
    return cache_dir("faces", f"synthetic-v{GENERATOR_VERSION}-{size}px-n{n}-seed{seed}")


def prepare_synthetic(n: int, size: int, seed: int = 0, *, workers: int | None = None,
                      force: bool = False, verbose: bool = True, progress: bool = False
                      ) -> Path:
    """Generate ``n`` synthetic faces once and cache them; returns the folder.

    A valid cache is reused (unless ``force``); otherwise the set is rendered straight
    into a temporary memory-mapped ``.npy`` that is renamed into place when complete.
    ``progress`` shows a tqdm bar while rendering.
    """
    n, size = int(n), int(size)
    folder = synthetic_folder(size, n, seed)
    expect = {"source": "synthetic", "count": n, "size": size, "seed": seed,
              "generator_version": GENERATOR_VERSION}
    if not force and store.validate(folder, expect):
        return folder
    with store.locked(folder):
        if not force and store.validate(folder, expect):     # another process made it
            return folder
        store.start(folder)
        store.check_free_space(folder, n * size * size * 3 + n * N_ATTRS)
        t0 = time.perf_counter()
        with atomic_path(folder / "images.npy") as tmp_img, \
                atomic_path(folder / "attrs.npy") as tmp_att:
            images = np.lib.format.open_memmap(tmp_img, mode="w+", dtype=np.uint8,
                                               shape=(n, size, size, 3))
            attrs = np.lib.format.open_memmap(tmp_att, mode="w+", dtype=np.int8,
                                              shape=(n, N_ATTRS))
            bar = None
            if progress:
                from tqdm import tqdm
                bar = tqdm(total=n, unit="img", desc="synthetic faces", file=sys.stderr)
            try:
                render_faces(n, size, seed, workers=workers, out=images, attrs_out=attrs,
                             progress=bar.update if bar else None)
            finally:
                if bar:
                    bar.close()
            images.flush()
            attrs.flush()
            del images, attrs
        seconds = time.perf_counter() - t0
        rate = n / seconds if seconds > 0 else float("inf")
        store.finish(folder, ["images.npy", "attrs.npy"],
                     dict(expect, attr_names=list(ATTR_NAMES), seconds=round(seconds, 3),
                          images_per_second=round(rate, 1)))
    if verbose:
        print(f"generated {n:,} synthetic faces {size}x{size} in {seconds:.1f} s "
              f"({rate:,.0f} img/s) -> cache folder {folder.name}", file=sys.stderr)
    return folder


def load_synthetic(n_train: int, n_val: int, size: int, seed: int = 0, **kw) -> FaceSet:
    """The synthetic face set: train = the first ``n_train`` images, val = the next
    ``n_val``, test = the ``n_val`` after those."""
    a, b = n_train, n_train + n_val
    folder = prepare_synthetic(b + n_val, size, seed, **kw)
    images = store.open_images(folder)
    attrs = np.load(folder / "attrs.npy", mmap_mode="r")
    manifest = store.validate(folder) or {}
    return FaceSet(images[:a], images[a:b], attrs[:a], attrs[a:b], "synthetic", size, folder,
                   manifest, test=images[b:], attrs_test=attrs[b:])


# ----------------------------------------------------------------------------- facade
def data_tag(P) -> str:
    """The :attr:`FaceSet.tag` that :func:`load_faces` will give for profile ``P``, known
    without loading anything (model caches key on it)."""
    if P.dataset != "celeba":
        return f"synthetic-v{GENERATOR_VERSION}"
    if P.name == "book":
        from .celeba import _expect, book_subset
        return "celeba-" + _expect(0, None, None, book_subset())["selection"]
    return "celeba-all"


def load_faces(P=None, *, n_train: int | None = None, n_val: int | None = None,
               size: int | None = None, source: str | None = None, verbose: bool = True,
               **kw) -> FaceSet:
    """Faces for profile ``P`` (default ``vaecourse.profile()``).

    ``P.dataset == "celeba"`` gives the real CelebA (prepared once, see
    :func:`vaecourse.data.celeba.prepare_celeba`; ``$VAECOURSE_CELEBA`` names a local
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
        names = book_subset() if P.name == "book" else None
        faces = load_celeba(size, n_train, n_val, source=source, names=names,
                            verbose=verbose, **kw)
    else:
        faces = load_synthetic(n_train, n_val, size, seed=P.seed, verbose=verbose, **kw)
    if verbose:
        print(faces.describe())
    return faces
