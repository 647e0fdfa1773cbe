"""Run profiles: one code path, three sizes of experiment.

``ci`` runs a chapter in seconds (tests), ``book`` in minutes on a CPU (the stored outputs: real
CelebA when ``$VAECOURSE_CELEBA`` points at it, else the embedded synthetic faces), ``full`` at
the series' settings on a GPU.  A chapter reads its numbers from ``P = chapter.start(...)`` and
``P.pick(ci=..., book=..., full=...)``, never from the name.  ``VAECOURSE_DRY_RUN=1`` is the
dress rehearsal of a profile (:data:`DRY_RUN`: its shapes and models, a few hundred images, a
few batches per ``fit``; the cap on ``fit`` is :mod:`vaecourse.kit.dry_run`).
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
ENV_DRY_RUN = "VAECOURSE_DRY_RUN"  # 1: the dress rehearsal (see the module's docstring)
ENV_DRY_RUN_LOG = "VAECOURSE_DRY_RUN_LOG"  # a file: one JSON line per fit of the rehearsal
# What a dress rehearsal keeps of the profile: images per split, epochs, and per fit() call
# at most `epochs` epochs of `batches` batches each (Lightning's fast_dev_run, for Keras)
DRY_RUN = {"n_train": 512, "n_val": 256, "digits_n": 512, "epochs": 2, "batches": 2}
_NOTED = False
PROFILE_NAMES = ("ci", "book", "full")
DATASETS = ("synthetic", "celeba")


# TensorFlow's native start-up lines (absl, oneDNN, CUDA probing), which TF_CPP_MIN_LOG_LEVEL no
# longer silences: they come before absl's logging is initialised.  Lines without these marks
# are passed on.
NATIVE_START_NOISE = (
    "absl::InitializeLog",
    "port.cc:",
    "cudart_stub.cc:",
    "cuda_platform.cc:",
    "cuda_executor.cc:",
    "cuda_diagnostics.cc:",
    "cpu_feature_guard.cc:",
    "To enable the following instructions",
    "Unable to register cu",
    "computation placer already registered",
    "TF-TRT Warning",
)


def quiet_tensorflow_start() -> None:
    """Import TensorFlow and probe for GPUs once, with the native start-up lines
    of :data:`NATIVE_START_NOISE` held back (anything else it prints is passed on), so a
    chapter's first cell shows none of them.  A no-op once TensorFlow is imported."""
    if "tensorflow" in sys.modules:
        return
    import tempfile

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)  # native code writes to file descriptor 2, not sys.stderr
        try:
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # CUDA's probe logs once, here
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode("utf-8", "replace").splitlines()
    kept = [x for x in lines if x.strip() and not any(n in x for n in NATIVE_START_NOISE)]
    if kept:
        print("\n".join(kept), file=sys.stderr)


def _in_ipython() -> bool:
    shell = sys.modules.get("IPython")
    return bool(shell and getattr(shell, "get_ipython", lambda: None)())


if _in_ipython():  # a chapter: its first import of the package starts TensorFlow quietly
    quiet_tensorflow_start()


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

    @property
    def dry_run(self) -> bool:
        """True in a dress rehearsal (``$VAECOURSE_DRY_RUN``): few images, few batches."""
        return bool(self.extra.get("dry_run"))

    def describe(self) -> str:
        """One line a chapter prints first, so a reader knows what produced the figures."""
        f = "-".join(str(x) for x in self.filters)
        line = (
            f"profile={self.name} | data={self.dataset} {self.image_size}x{self.image_size}x3, "
            f"train={self.n_train:,} val={self.n_val:,} | epochs={self.epochs} "
            f"batch={self.batch_size} | z_dim={self.z_dim} filters={f} lr={self.learning_rate:g}"
        )
        if self.dry_run:
            line += (
                f" | DRY RUN: at most {DRY_RUN['epochs']} epochs of {DRY_RUN['batches']} "
                f"batches per fit, numbers meaningless"
            )
        return line

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
    """True when TensorFlow sees a GPU (imports TensorFlow lazily, quietly)."""
    try:
        quiet_tensorflow_start()
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
    elif p.pick(ci=False, book=True, full=False) and not os.environ.get(ENV_CELEBA, "").strip():
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
    if dry_run_active():
        p = dress_rehearsal(
            p, celeba=bool(data == "celeba" or os.environ.get(ENV_CELEBA, "").strip())
        )
    return p


# --------------------------------------------------------------------------------------
# The dress rehearsal
# --------------------------------------------------------------------------------------
def dry_run_active() -> bool:
    """True when ``$VAECOURSE_DRY_RUN`` is set to 1/true/yes."""
    value = os.environ.get(ENV_DRY_RUN, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{ENV_DRY_RUN}={value!r}: set it to 1 (dress rehearsal) or 0 (off)")


#: What a dress rehearsal does besides shrinking the profile: ``vaecourse.kit.dry_run`` adds
#: the cap on every ``fit`` here when the kit is imported (the taught layer never imports it).
REHEARSAL_HOOKS: list = []


def dress_rehearsal(p: Profile, celeba: bool = False) -> Profile:
    """``p`` with the same shapes and models but :data:`DRY_RUN`'s small data and epochs, and
    every ``fit`` of this process capped to a few batches.  ``celeba`` keeps real CelebA (the
    reader checks their copy of it); otherwise the synthetic faces stand in for it."""
    if not REHEARSAL_HOOKS:
        raise RuntimeError(
            f"{ENV_DRY_RUN}=1 caps every fit through vaecourse.kit: import vaecourse.kit "
            "before asking for the profile"
        )
    # the epochs stay as they are (the log records what a chapter asks for); fit caps them
    cap = {k: min(getattr(p, k), DRY_RUN[k]) for k in ("n_train", "n_val", "digits_n")}
    dataset = p.dataset if (celeba or p.dataset != "celeba") else "synthetic"
    for hook in REHEARSAL_HOOKS:
        hook()
    return p.replace(**cap, dataset=dataset, extra={**p.extra, "dry_run": True})
