"""Drawing latent points and judging the images they give: the tools of chapter XI.

    z = uniform_cube(n, z_dim, r, seed=1)        # the series' r_limit draws, U[-r, r]^z_dim
    radii(z)                                     # Euclidean length of each point
    cube_radius(r, z_dim)                        # what those lengths concentrate on
    sharpen(images, 6.0)                         # PIL's ImageEnhance.Sharpness, batched
    laplacian_variance(images)                   # a sharpness number (higher = crisper)

A point drawn uniformly from the cube [-r, r]^N has coordinates of variance r^2/3, so its
length concentrates at r * sqrt(N/3) when N is large; a point from N(0, I) has length close to
sqrt(N).  Comparing these radii with the radii of encoded training images tells where in the
latent space a decoder has actually been trained.
"""
from __future__ import annotations

import numpy as np

# one implementation of latent-space geometry: the lengths of points and the cube radius
from .latent import radii  # noqa: F401
from .latent import uniform_radius as cube_radius  # noqa: F401  r * sqrt(z_dim / 3)


def uniform_cube(n: int, z_dim: int, r: float, seed=None, low: float | None = None) -> np.ndarray:
    """``n`` points drawn uniformly from the cube [-r, r]^z_dim (float32).

    ``low`` replaces the lower edge: ``uniform_cube(n, d, 1.0, low=0.0)`` is U[0, 1)^d, the
    sampling of seed 002.
    """
    rng = np.random.default_rng(seed)
    lo = -float(r) if low is None else float(low)
    return rng.uniform(lo, float(r), size=(int(n), int(z_dim))).astype("float32")


def normal_points(n: int, z_dim: int, seed=None) -> np.ndarray:
    """``n`` points from the standard normal N(0, I) of the VAE's prior (float32)."""
    return np.random.default_rng(seed).standard_normal((int(n), int(z_dim))).astype("float32")


def _to_uint8(images) -> np.ndarray:
    x = np.asarray(images)
    if x.dtype == np.uint8:
        return x
    return np.clip(np.round(x.astype("float32") * 255.0), 0, 255).astype(np.uint8)


def sharpen(images, factor: float) -> np.ndarray:
    """Apply PIL's ``ImageEnhance.Sharpness(img).enhance(factor)`` to each image.

    ``factor`` 1 leaves an image as it is, 0 blurs it (PIL's smoothing filter), values above
    1 add the difference between the image and its blurred version ``factor - 1`` times --
    an unsharp mask that amplifies every edge, including noise and checkerboard artefacts.
    Float images in [0, 1] come back as float32 in [0, 1]; uint8 images as uint8.
    """
    from PIL import Image, ImageEnhance

    was_float = np.asarray(images).dtype != np.uint8
    out = np.stack([np.asarray(ImageEnhance.Sharpness(Image.fromarray(img)).enhance(float(factor)))
                    for img in _to_uint8(images)])
    return out.astype("float32") / 255.0 if was_float else out


def _gray(images) -> np.ndarray:
    x = np.asarray(images)
    x = x.astype("float64") / 255.0 if x.dtype == np.uint8 else x.astype("float64")
    return x.mean(axis=-1) if x.ndim == 4 else x


def laplacian_variance(images) -> np.ndarray:
    """Per image: variance of the 4-neighbour Laplacian of the grey image (values in [0, 1]).

    A standard focus measure: blur removes the fine detail the Laplacian responds to, so a
    blurred image scores low, a crisp one (or a noisy one) high.
    """
    g = _gray(images)
    lap = (-4.0 * g[:, 1:-1, 1:-1] + g[:, :-2, 1:-1] + g[:, 2:, 1:-1]
           + g[:, 1:-1, :-2] + g[:, 1:-1, 2:])
    return lap.reshape(len(g), -1).var(axis=1)


def gradient_magnitude(images) -> np.ndarray:
    """Per image: mean length of the finite-difference gradient of the grey image."""
    g = _gray(images)
    dx = g[:, :-1, 1:] - g[:, :-1, :-1]
    dy = g[:, 1:, :-1] - g[:, :-1, :-1]
    return np.sqrt(dx * dx + dy * dy).reshape(len(g), -1).mean(axis=1)
