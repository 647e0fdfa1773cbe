"""Measures for comparing generative models with each other and with real images.

* :func:`frechet_distance`: the Fréchet (2-Wasserstein) distance between two Gaussians fitted
  to feature vectors.  With ImageNet InceptionV3 pool features it is the FID; the course,
  offline, applies the same formula to features of a network it trained itself (the face VAE's
  encoder means) -- a *Fréchet distance on VAE-encoder features*, comparable only within one
  chapter, never to published FID numbers.
* :func:`mean_pairwise_distance`: diversity.  Samples of a collapsed generator sit close
  together; compare with the same number for real images.
* :func:`nearest_training`: memorisation.  Each sample's nearest training image and the
  distance to it; a copied training image shows up as a distance far below what held-out
  real images have to their nearest training image.
* :func:`laplacian_variance`: sharpness, the variance of the image's Laplacian (blur lowers it).
"""
from __future__ import annotations

import numpy as np
from scipy import linalg

from . import latent
from .sharpness import laplacian_variance  # noqa: F401  (sharpness, shared with chapter XI)


def _flat(images) -> np.ndarray:
    x = np.asarray(images)
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    return x.reshape(len(x), -1)


def feature_stats(features) -> tuple:
    """Mean vector and covariance matrix (rows are samples)."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need a (n >= 2, d) array of features, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """d^2 = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)), the Fréchet distance of two Gaussians.

    A small ``eps`` is added to the diagonals when the product's square root is singular
    (few samples, many features); the imaginary round-off of ``sqrtm`` is dropped."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape:
        raise ValueError("the two sets of statistics have different dimensions")
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(s1)) * eps
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))


def frechet_from_features(features_a, features_b) -> float:
    """:func:`frechet_distance` between the statistics of two feature sets."""
    return frechet_distance(*feature_stats(features_a), *feature_stats(features_b))


def mean_pairwise_distance(images, max_n: int = 500, seed: int = 0) -> float:
    """Mean Euclidean distance between all pairs of (up to ``max_n``) images, per pixel value
    (divided by sqrt(number of values), so the number does not grow with the image size)."""
    x = _flat(images)
    if len(x) > max_n:
        x = x[np.random.default_rng(seed).choice(len(x), max_n, replace=False)]
    sq = np.sum(x * x, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)
    iu = np.triu_indices(len(x), k=1)
    return float(np.mean(np.sqrt(d2[iu])) / np.sqrt(x.shape[1]))


def nearest_training(samples, train_images, chunk: int = 2048) -> tuple:
    """For every sample: the index of its nearest training image and the (per-value, as in
    :func:`mean_pairwise_distance`) Euclidean distance to it.  Returns ``(index, distance)``."""
    s = _flat(samples)
    s_sq = np.sum(s * s, axis=1)
    best_d2 = np.full(len(s), np.inf, np.float64)
    best_i = np.zeros(len(s), np.int64)
    for start in range(0, len(train_images), chunk):
        t = _flat(train_images[start:start + chunk])
        d2 = s_sq[:, None] + np.sum(t * t, axis=1)[None, :] - 2.0 * s @ t.T
        i = np.argmin(d2, axis=1)
        d = d2[np.arange(len(s)), i]
        better = d < best_d2
        best_d2[better], best_i[better] = d[better], i[better] + start
    return best_i, np.sqrt(np.maximum(best_d2, 0.0)) / np.sqrt(s.shape[1])


def copies(samples, train_images, reference_distances, factor: float = 0.5) -> np.ndarray:
    """Indices of samples whose nearest-training distance is below ``factor`` times the median
    nearest-training distance of held-out real images (``reference_distances``): likely copies."""
    _, d = nearest_training(samples, train_images)
    return np.flatnonzero(d < factor * float(np.median(reference_distances)))


def interpolate(z_a, z_b, steps: int = 8) -> np.ndarray:
    """``steps`` points on the straight line from ``z_a`` to ``z_b`` (both ends), float32."""
    return latent.interpolate(z_a, z_b, int(steps)).astype(np.float32)
