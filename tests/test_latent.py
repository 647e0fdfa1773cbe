"""The latent-space measurements on synthetic Gaussians whose answers are known."""

import numpy as np
import pytest

from vaecourse import latent
from vaecourse.kit import latent_summary


def test_radius_of_a_standard_normal_in_256_dims_is_about_16():
    z = np.random.default_rng(0).normal(size=(4000, 256))
    r = latent.radii(z)
    assert abs(latent.chi_mean(256) - np.sqrt(255.5)) < 1e-3
    assert abs(r.mean() - latent.chi_mean(256)) < 0.05
    assert abs(r.std() - latent.chi_std(256)) < 0.05 and 0.6 < latent.chi_std(256) < 0.75


def test_radius_measured_from_a_centre():
    z = np.random.default_rng(1).normal(size=(2000, 64)) + 5.0
    assert latent.radii(z).mean() > 39
    assert abs(latent.radii(z, z.mean(axis=0)).mean() - latent.chi_mean(64)) < 0.1


def test_cube_radius_is_b_sqrt_z_dim_over_3():
    assert latent.cube_radius(2.0, 300) == pytest.approx(20.0)
    for b, z_dim in [(1.0, 100), (5.0, 800)]:
        z = latent.uniform_cube(3000, z_dim, b, seed=2)
        assert z.dtype == np.float32 and z.shape == (3000, z_dim)
        assert -b <= z.min() and z.max() <= b
        assert abs(latent.radii(z).mean() / latent.cube_radius(b, z_dim) - 1) < 0.01


def test_uniform_cube_low_edge_is_seed002_sampling():
    z = latent.uniform_cube(500, 64, 1.0, low=0.0, seed=1)
    assert z.min() >= 0.0 and z.max() < 1.0
    assert z.mean() == pytest.approx(0.5, abs=0.01)


def test_normal_points_radius_is_about_sqrt_z_dim():
    z = latent.normal_points(2000, 256, seed=0)
    assert np.median(latent.radii(z)) == pytest.approx(16.0, rel=0.02)
    np.testing.assert_array_equal(z, latent.normal_points(2000, 256, seed=0))


def test_cube_within_radius_matches_monte_carlo():
    b, n = 2.0, 200
    z = latent.uniform_cube(20000, n, b, seed=3)
    r = latent.radii(z)
    for q in (0.1, 0.5, 0.9):
        rq = np.quantile(r, q)
        assert abs(latent.cube_within_radius(rq, b, n) - q) < 0.03
    assert latent.cube_within_radius(0.3 * latent.cube_radius(b, n), b, n) < 1e-10


def test_ball_over_cube_in_two_and_three_dims():
    assert latent.log10_ball_over_cube(1, 1, 2) == pytest.approx(np.log10(np.pi / 4))
    assert latent.log10_ball_over_cube(1, 1, 3) == pytest.approx(np.log10(np.pi / 6))
    assert latent.log10_ball_over_cube(1, 1, 256) < -100


def test_pca_recovers_a_known_covariance():
    rng = np.random.default_rng(4)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    cov = (q * np.array([9.0, 4.0, 1.0, 0.25, 0.04])) @ q.T
    z = rng.multivariate_normal(np.arange(5.0), cov, size=40000)
    p = latent.pca(z)
    np.testing.assert_allclose(p.variances, [9, 4, 1, 0.25, 0.04], rtol=0.05)
    np.testing.assert_allclose(p.covariance(), cov, atol=0.1)
    np.testing.assert_allclose(p.mean, np.arange(5.0), atol=0.05)
    assert abs(abs(p.components[0] @ q[:, 0]) - 1) < 1e-3
    assert p.elongation() == pytest.approx(15, rel=0.05)
    assert p.project(z, 2).shape == (40000, 2)


def test_correlations_of_independent_and_tied_components():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(5000, 10))
    assert latent_summary.correlation_summary(z)["max_abs_corr"] < 0.06
    z[:, 1] = z[:, 0] + 0.1 * z[:, 1]
    assert latent_summary.correlation_summary(z)["max_abs_corr"] > 0.99


def test_active_units_counts_the_dimensions_that_vary():
    rng = np.random.default_rng(6)
    mu = np.zeros((1000, 20))
    mu[:, :7] = rng.normal(size=(1000, 7))
    mu[:, 7:] = 0.01 * rng.normal(size=(1000, 13))
    n, mask = latent.active_units(mu)
    assert n == 7 and mask[:7].all() and not mask[7:].any()


def test_kl_per_dim():
    mu, lv = np.zeros((10, 4)), np.zeros((10, 4))
    np.testing.assert_allclose(latent.kl_per_dim(mu, lv), 0.0)
    mu[:, 2] = 2.0
    lv[:, 3] = np.log(4.0)
    kl = latent.kl_per_dim(mu, lv)
    np.testing.assert_allclose(kl, [0, 0, 2.0, 0.5 * (4 - 1 - np.log(4))])


def test_attribute_vector_recovers_a_planted_shift():
    rng = np.random.default_rng(7)
    z = rng.normal(size=(6000, 32))
    labels = np.where(rng.random(6000) < 0.3, 1, -1).astype(np.int8)
    shift = np.zeros(32)
    shift[[3, 10]] = [2.0, -1.5]
    z[labels > 0] += shift
    np.testing.assert_allclose(latent.attribute_vector(z, labels), shift, atol=0.12)
    with pytest.raises(ValueError):
        latent.attribute_vector(z, np.ones(6000))


def test_interpolate():
    line = latent.interpolate(np.zeros(3), np.ones(3), 5)
    np.testing.assert_allclose(line[:, 0], [0, 0.25, 0.5, 0.75, 1])


def test_cloud_summary_of_a_standard_normal():
    s = latent_summary.cloud_summary(np.random.default_rng(8).normal(size=(3000, 64)))
    assert abs(s["radius_mean"] - latent.chi_mean(64)) < 0.1 and s["centre_offset"] < 0.3


def test_cube_within_radius_is_exact_inside_the_cube():
    assert latent.cube_within_radius(1.0, 1.0, 2) == pytest.approx(np.pi / 4)
