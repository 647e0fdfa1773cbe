"""The face-subspace measure on data where the answer is known."""
import numpy as np
import pytest

from vaecourse.quality import FaceSubspace


def low_rank_images(n, rank=5, seed=0, noise=0.01):
    """Images that live (up to small noise) in a rank-``rank`` affine subspace."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(rank, 8 * 8 * 3))
    coef = rng.normal(size=(n, rank))
    x = 0.5 + 0.05 * coef @ basis + noise * rng.normal(size=(n, 8 * 8 * 3))
    return x.reshape(n, 8, 8, 3).astype(np.float32)


def test_heldout_real_images_score_about_one_and_noise_far_more():
    data = low_rank_images(600)
    sub = FaceSubspace.fit(data[:500], data[500:], n_components=5)
    d_real = sub.distance(data[500:])
    assert 0.8 < np.median(d_real) < 1.2
    noise = np.random.default_rng(1).uniform(0, 1, size=(50, 8, 8, 3)).astype(np.float32)
    assert np.median(sub.distance(noise)) > 50 * np.median(d_real)
    assert sub.face_likeness(data[500:]) > 0.9 and sub.face_likeness(noise) == 0.0


def test_image_inside_the_subspace_has_no_residual():
    data = low_rank_images(300, noise=0.0)
    sub = FaceSubspace.fit(data[:200], low_rank_images(50, noise=0.01, seed=0), n_components=5)
    assert np.max(sub.residual(data[200:])) < 1e-8


def test_uint8_and_float_agree_and_shape_is_checked():
    data = low_rank_images(100)
    sub = FaceSubspace.fit(data[:80], data[80:], n_components=4)
    u8 = np.clip(np.round(data[80:] * 255), 0, 255).astype(np.uint8)
    np.testing.assert_allclose(sub.residual(u8), sub.residual(u8.astype(np.float32) / 255), rtol=1e-5)
    with pytest.raises(ValueError, match="same size"):
        sub.residual(np.zeros((2, 4, 4, 3), np.float32))
