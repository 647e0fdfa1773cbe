"""Training helpers: seeding, the epoch log, sample grids, the NaN guard, GPU options."""
import numpy as np
import pytest
from PIL import Image

from vaecourse import models, training
from vaecourse.models import VAEConfig
from vaecourse.profiles import has_gpu

CFG = VAEConfig(input_shape=(16, 16, 3), filters=(4, 8), z_dim=3)
X = np.random.default_rng(0).random((16, 16, 16, 3), dtype="float32")


def test_fit_prints_one_line_per_epoch_and_saves_sample_grids(tmp_path):
    vae = models.build_vae(CFG, mechanism=1)
    vae.run_eagerly = True  # no tracing: seconds faster on a tiny model
    lines = []
    grid = training.SampleGrid(tmp_path / "grids", n=6, ncols=3)
    h = training.fit(vae, X, epochs=2, batch_size=8, validation_data=X[:8],
                     callbacks=[training.EpochLog(n_images=len(X), print_fn=lines.append),
                                grid, training.NaNGuard()])
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2  loss ")
    assert " rec " in lines[1] and "%)" in lines[1] and "| val loss" in lines[1]
    assert lines[1].endswith("img/s")
    assert set(h) == {"loss", "reconstruction_loss", "kl_loss", "val_loss",
                      "val_reconstruction_loss", "val_kl_loss"}
    assert [p.name for p in grid.paths] == ["epoch_001.png", "epoch_002.png"]
    img = np.asarray(Image.open(grid.paths[-1]))
    assert img.shape == (2 * 18 + 2, 3 * 18 + 2, 3)  # 2 rows x 3 columns of 16px + 2px gaps


def test_nan_guard_stops_with_an_explanation():
    ae = models.build_ae(CFG)
    ae.run_eagerly = True
    bad = X.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        training.fit(ae, bad, epochs=1, batch_size=16, log=False, callbacks=[training.NaNGuard()])


def test_set_seed_makes_initial_weights_reproducible():
    training.set_seed(7)
    a = models.build_decoder(CFG).get_weights()
    training.set_seed(7)
    b = models.build_decoder(CFG).get_weights()
    training.set_seed(8)
    c = models.build_decoder(CFG).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_image_grid_and_tanh_range():
    imgs = np.stack([np.zeros((2, 2, 1)), np.ones((2, 2, 1))]).astype("float32")
    grid = training.image_grid(imgs, ncols=2, pad=1)
    assert grid.shape == (4, 7, 3) and grid.dtype == np.uint8
    assert grid[1, 1, 0] == 0 and grid[1, 4, 0] == 255
    np.testing.assert_allclose(training.to_unit_range(np.array([-1.0, 1.0]), "tanh"), [0, 1])


@pytest.mark.skipif(has_gpu(), reason="checks the CPU no-op path")
def test_gpu_options_are_noops_on_cpu():
    applied = training.configure_gpu(memory_limit_mb=2048, mixed_precision=True, xla=True)
    assert applied == {"gpus": 0, "memory_growth": False, "memory_limit_mb": None,
                       "mixed_precision": False, "xla": False}
