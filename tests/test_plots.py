"""The shared figures: display conversion, tiling, grids of images, loss curves."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from vaecourse import models  # noqa: E402
from vaecourse.kit import plots  # noqa: E402


def test_to_unit_by_output_activation():
    np.testing.assert_allclose(models.to_unit(np.array([0, 255], np.uint8)), [0.0, 1.0])
    x = np.array([-1.0, 0.0, 1.0], np.float32)
    np.testing.assert_allclose(models.to_unit(x, "tanh"), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(models.to_unit(x), [0.0, 0.0, 1.0])  # sigmoid: only clipped
    assert models.to_unit(x).dtype == np.float32


def test_image_grid_and_rows_show_every_image_with_labels():
    import matplotlib.pyplot as plt

    imgs = np.random.default_rng(0).random((5, 4, 4, 3)).astype("float32")
    fig = plots.image_grid(imgs, ncols=3, titles=list("abcde"), title="t")
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 6 and len(shown) == 5
    assert [ax.get_title() for ax in shown] == list("abcde")
    np.testing.assert_allclose(shown[4].images[0].get_array(), imgs[4], rtol=1e-6)
    fig = plots.image_rows([imgs[:3], imgs[:2]], labels=["in", "out"])
    assert len(fig.axes) == 6 and fig.axes[3].get_ylabel() == "out"
    plt.close("all")


def test_loss_curves_one_panel_per_key_with_validation():
    import matplotlib.pyplot as plt

    h = {"loss": [3.0, 2.0], "kl_loss": [1.0, 0.5], "val_loss": [3.5, 2.5]}
    fig = plots.loss_curves(h)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "kl_loss"]
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2 and list(lines[1].get_ydata()) == [3.5, 2.5]
    assert len(fig.axes[1].get_lines()) == 1
    with pytest.raises(KeyError):
        plots.loss_curves(h, keys=["reconstruction_loss"])
    plt.close("all")
