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
    """(chapter XI) Apply PIL's ``ImageEnhance.Sharpness(img).enhance(factor)`` to each image.

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
