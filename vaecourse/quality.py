"""How face-like is an image?  A measured answer for chapters XI, XIII and the latent-space chapters.

The measure: fit a principal-component basis to real face images; an image is face-like when it
lies close to that "face subspace".  Its *manifold distance* is the energy of the part of the
image the basis cannot express, divided by the median of the same quantity over held-out real
faces.  So a held-out real face scores about 1, a decoded face that a reader would accept scores
in the same range, and noise or colour blobs score many times higher.

Why this and not a classifier: it needs no training beyond an SVD, it has no threshold to tune,
it is deterministic, and its meaning is simple to state — "how much of this image is not made of
what faces are made of".  What it does not measure is sharpness: a blurred face lies inside the
low-frequency part of the subspace and scores well.  Chapters say so where it matters.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _flat(images) -> np.ndarray:
    x = np.asarray(images)
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    return x.reshape(len(x), -1)


@dataclass
class FaceSubspace:
    """A PCA basis of real faces and the median residual of held-out real faces."""

    mean: np.ndarray        # (d,)
    basis: np.ndarray       # (k, d) orthonormal rows
    reference: float        # median residual energy per pixel of held-out real images

    @classmethod
    def fit(cls, train_images, heldout_images, n_components: int = 64) -> "FaceSubspace":
        """Fit the basis on ``train_images``; calibrate on ``heldout_images`` (same image size)."""
        x = _flat(train_images)
        if len(x) < 2:
            raise ValueError("FaceSubspace.fit needs at least two training images")
        k = int(min(n_components, len(x) - 1, x.shape[1]))
        mean = x.mean(axis=0)
        # economy SVD of the centred data: rows of vt are the principal directions
        _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
        sub = cls(mean=mean, basis=vt[:k].astype(np.float32), reference=1.0)
        ref = float(np.median(sub.residual(heldout_images)))
        sub.reference = max(ref, 1e-12)
        return sub

    def residual(self, images) -> np.ndarray:
        """Mean squared residual per pixel after projecting each image onto the subspace."""
        x = _flat(images)
        if x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"images have {x.shape[1]} values each, the subspace was fitted on "
                             f"{self.mean.shape[0]}: use images of the same size and channels")
        c = x - self.mean
        r = c - (c @ self.basis.T) @ self.basis
        return np.mean(r * r, axis=1)

    def distance(self, images) -> np.ndarray:
        """Manifold distance per image: residual / median residual of held-out real faces."""
        return self.residual(images) / self.reference

    def face_likeness(self, images, threshold: float = 2.0) -> float:
        """Share of images within ``threshold`` times the real faces' median distance."""
        return float(np.mean(self.distance(images) <= threshold))
