"""Run profiles: one code path, three sizes of experiment.

``ci``   -- seconds per chapter on a 2-core CPU (nbval, CI).
``book`` -- minutes on a CPU; what the committed outputs and the HTML book show: real faces
            (the CelebA subset named in ``data/celeba_book_subset.txt``) when
            ``$VAECOURSE_CELEBA`` points at CelebA, else the embedded synthetic faces.
``full`` -- the series' settings (96x96x3 CelebA, 170k images, 24 epochs, z_dim 256) for a GPU.

A chapter calls ``P = vaecourse.profile()`` once and reads numbers from it.  Chapter-specific
numbers use ``P.pick(ci=..., book=..., full=...)`` so that chapters never branch on the name.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field

ENV_PROFILE = "VAECOURSE_PROFILE"
ENV_DATA = "VAECOURSE_DATA"
ENV_CELEBA = "VAECOURSE_CELEBA"
ENV_CACHE = "VAECOURSE_CACHE"  # where prepared data and trained models are kept
_NOTED = False
PROFILE_NAMES = ("ci", "book", "full")
DATASETS = ("synthetic", "celeba")


class CelebAError(RuntimeError):
    """CelebA is missing, empty or unreadable; the message says what to do.  (Defined with the
    profiles, which choose the data set, so that chapters can catch it without the kit.)"""


@dataclass(frozen=True)
class Profile:
    """All the sizes a chapter scales with.  Frozen: a chapter reads, never writes."""

    name: str
    image_size: int  # faces are image_size x image_size x 3
    n_train: int  # training images
    n_val: int  # held-out images
    epochs: int  # epochs for the main face model
    batch_size: int
    z_dim: int  # latent dimension of the face VAE
    filters: tuple  # encoder filters of the face VAE (decoder mirrors them)
    learning_rate: float
    dataset: str  # "synthetic" (embedded) or "celeba" (real data)
    digits_n: int  # digit images for the early (MNIST-like) chapters
    digits_epochs: int
    seed: int = 42
    extra: dict = field(default_factory=dict, compare=False)

    def pick(self, *, ci, book, full):
        """Return the value for this profile: ``P.pick(ci=2, book=10, full=50)``."""
        return {"ci": ci, "book": book, "full": full}[self.name]

    @property
    def image_shape(self) -> tuple:
        return (self.image_size, self.image_size, 3)

    def describe(self) -> str:
        """One line a chapter prints first, so a reader knows what produced the figures."""
        f = "-".join(str(x) for x in self.filters)
        return (
            f"profile={self.name} | data={self.dataset} {self.image_size}x{self.image_size}x3, "
            f"train={self.n_train:,} val={self.n_val:,} | epochs={self.epochs} "
            f"batch={self.batch_size} | z_dim={self.z_dim} filters={f} lr={self.learning_rate:g}"
        )

    def replace(self, **changes) -> Profile:
        """A modified copy, e.g. for an exercise: ``P.replace(epochs=3)``."""
        return dataclasses.replace(self, **changes)


_PROFILES = {
    "ci": Profile(
        name="ci",
        image_size=32,
        n_train=512,
        n_val=128,
        epochs=1,
        batch_size=64,
        z_dim=16,
        filters=(16, 32),
        learning_rate=1e-3,
        dataset="synthetic",
        digits_n=512,
        digits_epochs=1,
    ),
    # book: all 14,283 train-partition faces of the subset for 15 epochs (about 7 min of a
    # quiet 2-core CPU for the face VAE); val/test are the subset's official val/test images
    "book": Profile(
        name="book",
        image_size=64,
        n_train=14_283,
        n_val=780,
        epochs=15,
        batch_size=64,
        z_dim=128,
        filters=(32, 64, 128, 256),
        learning_rate=5e-4,
        dataset="celeba",
        digits_n=5000,
        digits_epochs=5,
    ),
    # full: the official partitions (the series trained on the first 170,000 images)
    "full": Profile(
        name="full",
        image_size=96,
        n_train=162_770,
        n_val=19_867,
        epochs=24,
        batch_size=128,
        z_dim=256,
        filters=(32, 64, 128, 256),
        learning_rate=5e-4,
        dataset="celeba",
        digits_n=60_000,
        digits_epochs=20,
    ),
}


def has_gpu() -> bool:
    """True when TensorFlow sees a GPU (imports TensorFlow lazily)."""
    try:
        import tensorflow as tf
    except ImportError:
        return False
    return bool(tf.config.list_physical_devices("GPU"))


def default_profile_name() -> str:
    """``$VAECOURSE_PROFILE`` if set, else ``full`` on a GPU and ``book`` on a CPU."""
    name = os.environ.get(ENV_PROFILE, "").strip().lower()
    if name:
        return name
    return "full" if has_gpu() else "book"


def profile(name: str | None = None) -> Profile:
    """The active profile.  ``$VAECOURSE_DATA`` (synthetic|celeba) overrides its data set."""
    name = (name or default_profile_name()).strip().lower()
    if name not in _PROFILES:
        raise ValueError(
            f"unknown profile {name!r}: set {ENV_PROFILE} to one of {', '.join(PROFILE_NAMES)}"
        )
    p = _PROFILES[name]
    data = os.environ.get(ENV_DATA, "").strip().lower()
    if data:
        if data not in DATASETS:
            raise ValueError(
                f"unknown data set {data!r}: set {ENV_DATA} to one of {', '.join(DATASETS)}"
            )
        p = p.replace(dataset=data)
    elif p.name == "book" and not os.environ.get(ENV_CELEBA, "").strip():
        # a reader without CelebA still runs every chapter, on the embedded faces
        global _NOTED
        if not _NOTED:
            print(
                f"note: {ENV_CELEBA} is not set, so this runs on the course's synthetic faces; "
                f"the book's figures come from real CelebA (see the setup page)",
                file=sys.stderr,
            )
            _NOTED = True
        p = p.replace(dataset="synthetic")
    return p
