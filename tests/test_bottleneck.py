"""Chapter XII: the extra Dense layer's parameter arithmetic agrees with the built encoder."""

import numpy as np

from vaecourse import bottleneck, models


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
