"""Chapter XI: sharpening keeps types and ranges; 0 blurs, 1 keeps, more sharpens."""

import numpy as np

from vaecourse import metrics


def test_sharpen_identity_and_types():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    assert np.array_equal(metrics.sharpen(img, 1.0), img)
    f = metrics.sharpen(img.astype("float32") / 255.0, 3.0)
    assert f.dtype == np.float32 and f.shape == img.shape and 0.0 <= f.min() <= f.max() <= 1.0


def test_sharpen_blurs_below_1_and_overshoots_edges_above():
    edge = np.zeros((1, 16, 16, 3), np.uint8)
    edge[:, :, 8:] = 200
    blurred, same, sharp = (metrics.sharpen(edge, f)[0, 8, :, 0] for f in (0.0, 1.0, 4.0))
    assert ((blurred > 0) & (blurred < 200)).any()  # a soft ramp across the edge
    np.testing.assert_array_equal(same, edge[0, 8, :, 0])
    assert sharp.max() > 200  # the unsharp mask overshoots on the bright side
