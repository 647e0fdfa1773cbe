"""Sharpening decoded images and measuring how sharp they are: the tools of chapter XI.

sharpen(images, 6.0)            # PIL's ImageEnhance.Sharpness, batched
laplacian_variance(images)      # a sharpness number (higher = crisper)
"""

from __future__ import annotations

import numpy as np


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
    out = np.stack(
        [
            np.asarray(ImageEnhance.Sharpness(Image.fromarray(img)).enhance(float(factor)))
            for img in _to_uint8(images)
        ]
    )
    return out.astype("float32") / 255.0 if was_float else out


def laplacian_variance(images) -> np.ndarray:
    """Per image: variance of the 4-neighbour Laplacian of the grey image (values in [0, 1]).

    A standard focus measure: blur removes the fine detail the Laplacian responds to, so a
    blurred image scores low, a crisp one (or a noisy one) high.
    """
    x = np.asarray(images)
    g = x.astype("float64") / 255.0 if x.dtype == np.uint8 else x.astype("float64")
    g = g.mean(axis=-1) if g.ndim == 4 else g
    lap = (
        -4.0 * g[:, 1:-1, 1:-1]
        + g[:, :-2, 1:-1]
        + g[:, 2:, 1:-1]
        + g[:, 1:-1, :-2]
        + g[:, 1:-1, 2:]
    )
    return lap.reshape(len(g), -1).var(axis=1)
