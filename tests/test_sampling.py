"""Chapter XI/XII helpers: latent draws, radii, sharpening, sharpness, parameter arithmetic."""
import numpy as np
import pytest

from vaecourse import bottleneck, models, sampling


def test_uniform_cube_bounds_and_radius():
    z = sampling.uniform_cube(2000, 300, 2.0, seed=0)
    assert z.dtype == np.float32 and z.shape == (2000, 300)
    assert z.min() >= -2.0 and z.max() <= 2.0
    # radius of U[-r, r]^N concentrates at r * sqrt(N / 3)
    assert sampling.cube_radius(2.0, 300) == pytest.approx(20.0)
    assert np.median(sampling.radii(z)) == pytest.approx(20.0, rel=0.02)


def test_uniform_cube_low_edge_is_seed002_sampling():
    z = sampling.uniform_cube(500, 64, 1.0, low=0.0, seed=1)
    assert z.min() >= 0.0 and z.max() < 1.0
    assert z.mean() == pytest.approx(0.5, abs=0.01)


def test_normal_radius_is_sqrt_dim():
    z = sampling.normal_points(2000, 256, seed=0)
    assert np.median(sampling.radii(z)) == pytest.approx(16.0, rel=0.02)
    assert np.array_equal(z, sampling.normal_points(2000, 256, seed=0))


def test_sharpen_identity_and_types():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    assert np.array_equal(sampling.sharpen(img, 1.0), img)
    f = sampling.sharpen(img.astype("float32") / 255.0, 3.0)
    assert f.dtype == np.float32 and f.shape == img.shape and 0.0 <= f.min() <= f.max() <= 1.0


def test_sharpness_measures_rank_blur_below_detail():
    flat = np.full((1, 16, 16, 3), 0.5, "float32")
    checker = (np.indices((16, 16)).sum(0) % 2).astype("float32")[None, ..., None].repeat(3, -1)
    assert sampling.laplacian_variance(flat)[0] == 0.0
    assert sampling.gradient_magnitude(flat)[0] == 0.0
    assert sampling.laplacian_variance(checker)[0] > 1.0
    blurred = sampling.sharpen(checker, 0.0)
    assert sampling.laplacian_variance(blurred)[0] < sampling.laplacian_variance(checker)[0]


def test_head_parameters_arithmetic_at_series_size():
    cfg = models.preset("series_x")
    assert bottleneck.flat_size(cfg) == 6 * 6 * 256
    assert bottleneck.head_parameters(cfg) == 2 * (9216 * 256 + 256)
    assert bottleneck.head_parameters(cfg, 256) == 9216 * 256 + 256 + 2 * (256 * 256 + 256)


def test_dense_encoder_parameter_difference_matches_arithmetic():
    cfg = models.preset("series_x", image_size=32, z_dim=16, filters=(16, 32))
    diff = bottleneck.encoder_parameters(cfg) - bottleneck.encoder_parameters(cfg, 8)
    assert diff == bottleneck.head_parameters(cfg) - bottleneck.head_parameters(cfg, 8)
    vae = bottleneck.build_dense_vae(cfg, 8)
    z, mu, log_var = vae.encoder(np.zeros((2, 32, 32, 3), "float32"))
    assert tuple(mu.shape) == (2, 16)
    assert vae.encoder.get_layer("encoder_dense").units == 8
