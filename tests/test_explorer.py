"""The latent explorer builds without a display, follows its controls, and its static
stand-ins have the right grid shapes."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

keras = pytest.importorskip("keras")
from vaecourse import latent, models  # noqa: E402
from vaecourse.kit import explorer  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    keras.utils.set_random_seed(0)
    dec = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8 * 8 * 3, activation="sigmoid"),
            keras.layers.Reshape((8, 8, 3)),
            keras.layers.Activation("sigmoid"),
        ],
        name="decoder",
    )
    codes = np.random.default_rng(0).normal(size=(50, 6))
    # a model whose part named "decoder" is what the explorer decodes with
    return keras.Sequential([keras.Input((6,)), dec], name="tiny_vae"), codes


def test_widget_builds_and_a_slider_change_updates_the_image(tiny):
    model, codes = tiny
    ex = explorer.LatentExplorer(model, codes, attributes={"Smiling": np.ones(6)}, n_axes=2)
    before = ex.image.value
    assert before[:4] == b"\x89PNG"
    ex.set(axis0=3.0)  # through observe
    assert ex.image.value != before
    z_axis = ex.z()
    np.testing.assert_allclose(z_axis - codes[0], 3 * ex.pca.stds[0] * ex.pca.components[0])
    ex.controls["attr:Smiling"].value = 1.0
    np.testing.assert_allclose(ex.z() - z_axis, np.ones(6))
    ex.set(axis0=0.0, **{"attr:Smiling": 0.0}, t=1.0)
    np.testing.assert_allclose(ex.z(), codes[1])
    ex.set(radius=0.0)
    np.testing.assert_allclose(ex.z(), codes.mean(axis=0))
    ex.update()  # callable directly, too


def test_static_fallbacks_have_the_right_grid_shape(tiny):
    model, codes = tiny
    fig = explorer.axis_grid(model, codes, n_axes=3, values=(-2, 0, 2, 4))
    assert len(fig.axes) == 12 and fig.axes[0].get_ylabel() == "PC 1"
    fig = explorer.attribute_grid(
        model, codes[:2], {"a": np.ones(6), "b": -np.ones(6)}, strengths=(0, 1, 2)
    )
    assert len(fig.axes) == 2 * 2 * 3
    fig = explorer.interpolation_strip(model, [(codes[0], codes[1])], n=5)
    assert len(fig.axes) == 5
    fig = explorer.radius_strip(model, codes[:3], codes.mean(axis=0), factors=(0, 1, 2, 3))
    assert len(fig.axes) == 12
    gif = explorer.morph_gif(model, codes[0], codes[1], n=4)
    assert gif[:6] in (b"GIF89a", b"GIF87a")
    import matplotlib.pyplot as plt

    plt.close("all")


def test_decode_is_in_unit_range(tiny):
    model, codes = tiny
    x = models.decode(model, latent.interpolate(codes[0], codes[1], 3))
    assert x.shape == (3, 8, 8, 3) and 0 <= x.min() and x.max() <= 1


def test_along_axes():
    pts = explorer.along_axes(np.zeros(2), np.eye(2), [1.0, 2.0], [-1, 0, 1])
    np.testing.assert_allclose(pts, [[-1, 0], [0, 0], [1, 0], [0, -2], [0, 0], [0, 2]])
