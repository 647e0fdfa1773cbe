"""What every chapter does first: read the profile, seed everything, set up figures.

    P = vaecourse.chapter.start("X", "The VAE on faces")

prints one line naming the profile, so a reader knows what produced the figures.
"""

from __future__ import annotations

import inspect
import os
import sys
import textwrap

from .profiles import Profile, profile

REPOSITORY = "vaecourse/vaecourse"  # GitHub owner/name: the Colab badge and install point here


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
    number: str, title: str, name: str | None = None, deterministic_ops: bool = False
) -> Profile:
    """Begin a chapter: pick the profile, seed, set up figures, print what runs.

    Returns the :class:`~vaecourse.profiles.Profile` the chapter reads its sizes from.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's C++ start-up chatter out
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


def colab_url(notebook: str, branch: str = "main") -> str:
    """The URL that opens ``notebooks/<notebook>`` of the repository in Colab."""
    return (
        f"https://colab.research.google.com/github/{REPOSITORY}/blob/{branch}/notebooks/{notebook}"
    )
