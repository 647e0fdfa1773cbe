"""Fréchet distance, diversity, memorisation and sharpness measures of chapter XIII."""
import numpy as np
import pytest

from vaecourse import compare_generative as cg


def test_frechet_is_zero_for_identical_statistics():
    rng = np.random.default_rng(0)
    f = rng.standard_normal((200, 5))
    mu, sigma = cg.feature_stats(f)
    assert cg.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)
    assert cg.frechet_from_features(f, f) == pytest.approx(0.0, abs=1e-8)


def test_frechet_matches_the_closed_form_for_diagonal_gaussians():
    # For diagonal covariances: |mu1 - mu2|^2 + sum (s1 - s2)^2 with s the standard deviations.
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.5])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((s1 - s2) ** 2)
    got = cg.frechet_distance(mu1, np.diag(s1 ** 2), mu2, np.diag(s2 ** 2))
    assert got == pytest.approx(expected, rel=1e-9)


def test_frechet_of_samples_approaches_the_closed_form():
    rng = np.random.default_rng(1)
    a = rng.normal(0.0, 1.0, (20000, 2))
    b = rng.normal(2.0, 2.0, (20000, 2))
    # 2 * 2^2 (means) + 2 * (2 - 1)^2 (standard deviations) = 10
    assert cg.frechet_from_features(a, b) == pytest.approx(10.0, rel=0.05)


def test_frechet_rejects_mismatched_dimensions():
    with pytest.raises(ValueError):
        cg.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_diversity_sees_collapse():
    rng = np.random.default_rng(2)
    varied = rng.random((50, 8, 8, 3)).astype("float32")
    collapsed = np.repeat(varied[:1], 50, axis=0) + 0.01 * rng.random((50, 8, 8, 3)).astype("float32")
    assert cg.mean_pairwise_distance(collapsed) < 0.1 * cg.mean_pairwise_distance(varied)
    assert cg.mean_pairwise_distance(np.repeat(varied[:1], 5, axis=0)) == pytest.approx(0.0, abs=1e-3)


def test_memorisation_check_finds_a_planted_copy():
    rng = np.random.default_rng(3)
    train = rng.integers(0, 256, (300, 8, 8, 3), dtype=np.uint8)
    heldout = rng.integers(0, 256, (20, 8, 8, 3), dtype=np.uint8)
    samples = rng.random((10, 8, 8, 3)).astype("float32")
    samples[4] = train[123] / 255.0                       # the planted copy
    idx, dist = cg.nearest_training(samples, train, chunk=64)  # several chunks
    assert idx[4] == 123 and dist[4] == pytest.approx(0.0, abs=1e-3)
    assert dist[np.arange(10) != 4].min() > 0.1
    _, ref = cg.nearest_training(heldout, train)
    assert list(cg.copies(samples, train, ref)) == [4]


def test_sharpness_drops_with_blur():
    rng = np.random.default_rng(4)
    sharp = rng.random((3, 16, 16, 3)).astype("float32")
    blurred = (sharp + np.roll(sharp, 1, 1) + np.roll(sharp, 1, 2) + np.roll(sharp, (1, 1), (1, 2))) / 4
    assert (cg.laplacian_variance(blurred) < cg.laplacian_variance(sharp)).all()
    assert cg.laplacian_variance(np.full((1, 8, 8, 3), 0.5))[0] == pytest.approx(0.0)


def test_interpolation_ends_at_both_points():
    a, b = np.zeros(4), np.ones(4)
    path = cg.interpolate(a, b, steps=5)
    assert path.shape == (5, 4)
    np.testing.assert_allclose(path[0], a)
    np.testing.assert_allclose(path[-1], b)
    np.testing.assert_allclose(path[2], 0.5)
