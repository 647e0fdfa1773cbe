"""Chapter XI: sharpening keeps types and ranges; the sharpness measure ranks blur low."""

import numpy as np

from vaecourse import sharpness


def test_sharpen_identity_and_types():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    assert np.array_equal(sharpness.sharpen(img, 1.0), img)
    f = sharpness.sharpen(img.astype("float32") / 255.0, 3.0)
    assert f.dtype == np.float32 and f.shape == img.shape and 0.0 <= f.min() <= f.max() <= 1.0


def test_laplacian_variance_ranks_blur_below_detail():
    flat = np.full((1, 16, 16, 3), 0.5, "float32")
    checker = (np.indices((16, 16)).sum(0) % 2).astype("float32")[None, ..., None].repeat(3, -1)
    assert sharpness.laplacian_variance(flat)[0] == 0.0
    # a one-pixel checkerboard: the Laplacian is +-4 everywhere, so its variance is 16
    assert sharpness.laplacian_variance(checker)[0] == 16.0
    blurred = sharpness.sharpen(checker, 0.0)
    assert sharpness.laplacian_variance(blurred)[0] < sharpness.laplacian_variance(checker)[0]
    np.testing.assert_allclose(
        sharpness.laplacian_variance((checker * 255).astype(np.uint8)), [16.0], rtol=1e-12
    )
