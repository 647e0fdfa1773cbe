"""The course's machinery: what the chapters use but do not teach.

* ``data`` -- synthetic faces, CelebA, digits, input pipelines, prepared-set stores;
* ``zoo`` -- the trained models chapters share, through ``model_cache`` (train once, reuse);
* ``files`` -- cache folders, atomic writes, the one lock and digest;
* ``persistence`` -- saving and loading weights and whole models, atomically;
* ``measure`` -- images per second and memory of input pipelines and of a training step;
* ``isolated`` -- run a function of the package in a fresh Python process (the one runner);
* ``colab`` -- the install line, a cache in Google Drive, the short message for missing CelebA;
* ``dry_run`` -- the dress rehearsal's cap on every ``fit`` and its log (registered on import).

The taught layer (:mod:`vaecourse`) never imports from here; the kit builds on it.
"""

from . import (
    dry_run,  # noqa: F401  (registers the dress rehearsal's cap with the profiles)
    profiles,  # noqa: F401  (first: in a notebook, TensorFlow starts quietly)
)
from .colab import short_celeba_errors

short_celeba_errors()  # inside IPython: a missing CelebA is a message, not a traceback
