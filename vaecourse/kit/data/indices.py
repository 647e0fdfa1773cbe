"""Reproducible choices of example images.

The series picks its example images with a Mersenne-Twister generator seeded through a
``SeedSequence``, so that the same seed shows the same faces in every run and chapter.
"""

from __future__ import annotations

import numpy as np


def seeded_rng(seed: int) -> np.random.Generator:
    """``Generator(MT19937(SeedSequence(seed)))``: the generator the series uses."""
    return np.random.Generator(np.random.MT19937(np.random.SeedSequence(seed)))


def pick_indices(n_total: int, k: int, seed: int, *, replace: bool = False) -> np.ndarray:
    """``k`` indices into ``range(n_total)`` chosen by ``seeded_rng(seed)``, sorted as drawn.

    Without ``replace`` (the default) no image appears twice; ``replace=True`` draws
    independently, as the series' ``randint`` did.
    """
    n_total, k = int(n_total), int(k)
    if n_total <= 0:
        raise ValueError(f"cannot pick from an empty set (n_total={n_total})")
    if k < 0 or (not replace and k > n_total):
        raise ValueError(
            f"cannot pick {k} distinct indices from {n_total}; "
            f"ask for at most {n_total} or pass replace=True"
        )
    rng = seeded_rng(seed)
    if replace:
        return rng.integers(0, n_total, size=k)
    return rng.choice(n_total, size=k, replace=False)
