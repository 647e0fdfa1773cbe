"""What the chapters teach of measuring images: sharpening (chapter XI) and the Fréchet distance
of two Gaussians (chapter XIII).

Every measure a chapter only reports -- the face detector, diversity, sharpness and grid
ratios, the Fréchet distance on classifier features, the ELBO and IWAE bounds -- is
:mod:`vaecourse.kit.measures`, each one tested against what it must reject.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

from . import models


def sharpen(images, factor: float) -> np.ndarray:
    """(chapter XI) Apply PIL's ``ImageEnhance.Sharpness(img).enhance(factor)`` to each image.

    ``factor`` 1 leaves an image as it is, 0 blurs it (PIL's smoothing filter), values above
    1 add the difference between the image and its blurred version ``factor - 1`` times --
    an unsharp mask that amplifies every edge, including noise and checkerboard artefacts.
    Float images in [0, 1] come back as float32 in [0, 1]; uint8 images as uint8.
    """
    from PIL import Image, ImageEnhance

    was_float = np.asarray(images).dtype != np.uint8
    pixels = np.round(models.to_unit(images) * 255.0).astype(np.uint8)  # PIL works on uint8
    out = np.stack(
        [
            np.asarray(ImageEnhance.Sharpness(Image.fromarray(img)).enhance(float(factor)))
            for img in pixels
        ]
    )
    return out.astype("float32") / 255.0 if was_float else out


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """(chapter XIII) d^2 = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)): the squared Fréchet (2-Wasserstein)
    distance of two Gaussians.

    Guards: when the square root is not finite, far from real or inaccurate (singular
    covariances: fewer samples than features), ``eps`` is added to both diagonals and it is
    taken again; a tiny imaginary round-off is dropped; what still fails raises."""
    mu1 = np.atleast_1d(np.asarray(mu1, np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, np.float64))
    s1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    s2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (len(mu1), len(mu1)):
        raise ValueError("the two sets of statistics have different dimensions")

    def sqrt_product(a, b):
        """(a b)^(1/2) and whether it is trustworthy: finite, nearly real, X X close to a b."""
        prod = a @ b
        with warnings.catch_warnings():  # scipy warns on singular products; judged below
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            root = linalg.sqrtm(prod)
        if not np.isfinite(root).all():
            return root, False
        size = max(np.abs(root).max(), 1.0)
        nearly_real = not np.iscomplexobj(root) or np.abs(root.imag).max() <= 1e-3 * size
        error = np.linalg.norm(root @ root - prod) / max(np.linalg.norm(prod), 1e-300)
        return root, nearly_real and error < 1e-3

    covmean, ok = sqrt_product(s1, s2)
    if not ok:  # singular covariances (fewer samples than features): regularise
        offset = np.eye(len(s1)) * eps
        covmean, ok = sqrt_product(s1 + offset, s2 + offset)
    if not ok:
        raise ValueError("(S1 S2)^(1/2) is not accurate: are these valid covariances?")
    covmean = np.real(covmean)
    diff = mu1 - mu2
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))
