"""The book's live explorer: the decoder exported to ONNX decodes as Keras does.

A small decoder built by the course's builder at the ``ci`` size, with random weights and
batch-norm statistics (so that every layer matters), stands in for the book's face VAE."""

import numpy as np
import pytest

from vaecourse import latent, mechanisms, models
from vaecourse.kit import browser_explorer as bx
from vaecourse.kit import profiles

TOL_FLOAT32 = 1e-4  # the exporter's model: float32 arithmetic in another order
TOL_FLOAT16 = 2e-3  # float16 weights: half an 8-bit grey level (1/255 = 3.9e-3)
ATTRIBUTES = ("Smiling", "Eyeglasses", "Blond_Hair", "Male")


@pytest.fixture(scope="module")
def vae():
    P = profiles.profile("ci")
    model = mechanisms.build_vae(models.config_from_profile(P, "series_x"), mechanism=3)
    rng = np.random.default_rng(0)
    for w in models.get_decoder(model).weights:
        values = rng.normal(0.0, 0.2, w.shape)
        if "variance" in w.path:  # batch-norm variances must be positive
            values = np.abs(values) + 0.5
        w.assign(values.astype("float32"))
    return model


@pytest.fixture(scope="module")
def z(vae):
    return latent.normal_points(32, profiles.profile("ci").z_dim, seed=3) * 1.5


@pytest.fixture(scope="module")
def full_onnx(vae):
    return bx.onnx_bytes(models.get_decoder(vae))


def test_onnxruntime_decodes_as_keras(vae, z, full_onnx):
    session = bx.onnx_session(full_onnx)
    got = bx.onnx_decode(session, z, models.output_activation(vae))
    want = models.decode(vae, z)
    assert got.shape == want.shape == (32, 32, 32, 3)
    assert want.std() > 0.05  # the images are not flat: a wrong layer would show
    assert np.abs(got - want).max() <= TOL_FLOAT32


def test_float16_weights_halve_the_file_and_keep_the_images(vae, z, full_onnx):
    half = bx.float16_weights(full_onnx)
    assert len(half) < 0.55 * len(full_onnx)
    got = bx.onnx_decode(bx.onnx_session(half), z, models.output_activation(vae))
    diff = np.abs(got - models.decode(vae, z)).max()
    assert 0 < diff <= TOL_FLOAT16  # rounded weights, but not so that one could see it


@pytest.fixture(scope="module")
def exported(vae, tmp_path_factory):
    rng = np.random.default_rng(1)
    codes = (rng.standard_normal((300, profiles.profile("ci").z_dim)) * [2.0] + 0.3).astype(
        "float32"
    )
    labels = {name: np.where(rng.random(300) < 0.3, 1, -1) for name in ATTRIBUTES}
    vectors = {name: latent.attribute_vector(codes, y) for name, y in labels.items()}
    ex = bx.export(vae, codes, vectors, tmp_path_factory.mktemp("explorer"), n_check=16)
    return ex, codes, vectors


def test_the_script_file_carries_a_model_that_decodes_as_keras(vae, z, exported):
    ex, _, _ = exported
    assert ex.path.name == "face_decoder.js" and ex.where.startswith("a temporary folder")
    text = ex.path.read_text()
    assert text.count("\n") == 3 and "\nwindow.VAECOURSE_EXPLORER = {" in text
    model, data = bx.read_script(ex.path)
    assert len(model) == ex.model_bytes == data["model"]["bytes"]
    session = bx.onnx_session(model)
    assert data["model"]["input"] == session.get_inputs()[0].name
    assert data["model"]["output"] == session.get_outputs()[0].name
    got = bx.onnx_decode(session, z, data["image"]["activation"])
    assert np.abs(got - models.decode(vae, z)).max() <= TOL_FLOAT16
    assert ex.max_abs_diff <= TOL_FLOAT16 and ex.max_abs_diff_float32 <= TOL_FLOAT32
    assert ex.n_checked == 32


def test_the_script_file_carries_the_directions(exported):
    ex, codes, vectors = exported
    _, data = bx.read_script(ex.path)
    p = latent.pca(codes)
    assert data["z_dim"] == codes.shape[1] and len(data["faces"]) == 8
    np.testing.assert_allclose(data["centre"], p.mean, rtol=1e-5, atol=1e-6)
    directions = np.asarray(data["axes"]["directions"])
    assert directions.shape == (4, codes.shape[1])
    np.testing.assert_allclose(directions @ directions.T, np.eye(4), atol=1e-4)
    np.testing.assert_allclose(data["axes"]["stds"], p.stds[:4], rtol=1e-5)
    assert list(data["attributes"]) == list(ATTRIBUTES)
    for name, v in vectors.items():
        np.testing.assert_allclose(data["attributes"][name], v, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(data["faces"], codes[:8], rtol=1e-5, atol=1e-6)
    radii = data["radii"]
    assert radii["chi"] == pytest.approx(latent.chi_mean(codes.shape[1]))
    assert radii["codes_about_centre"] == pytest.approx(latent.radii(codes, p.mean).mean())


def test_only_the_book_run_on_real_faces_writes_into_the_book(monkeypatch):
    book = profiles.profile("book").replace(dataset="celeba")
    monkeypatch.delenv(bx.ENV_BOOK_ASSETS, raising=False)
    others = [profiles.profile("ci"), book.replace(dataset="synthetic"), book.replace(name="full")]
    for P in [book, *others]:  # not run by scripts/execute_notebooks.py: never the book's folder
        folder = bx.book_folder(P)
        assert folder != bx.BOOK_FOLDER and folder.is_dir() and not any(folder.iterdir())
    monkeypatch.setenv(bx.ENV_BOOK_ASSETS, str(bx.BOOK_FOLDER.parent))
    assert bx.book_folder(book) == bx.BOOK_FOLDER
    for P in others:
        folder = bx.book_folder(P)
        assert folder != bx.BOOK_FOLDER and folder.is_dir() and not any(folder.iterdir())


# ------------------------------------------------------- chapter XIV: the conditional decoder
@pytest.fixture(scope="module")
def cvae():
    """The chapter's conditional VAE at the ci size, random weights (as ``vae`` above)."""
    from vaecourse import beyond

    P = profiles.profile("ci")
    model = beyond.build_cvae(models.config_from_profile(P, "series_x"), len(ATTRIBUTES), seed=0)
    rng = np.random.default_rng(2)
    for w in models.get_decoder(model).weights:
        values = rng.normal(0.0, 0.2, w.shape)
        if "variance" in w.path:
            values = np.abs(values) + 0.5
        w.assign(values.astype("float32"))
    return model


@pytest.fixture(scope="module")
def exported_conditional(cvae, tmp_path_factory):
    rng = np.random.default_rng(4)
    codes = rng.standard_normal((20, profiles.profile("ci").z_dim)).astype("float32")
    labels = rng.choice([-1.0, 1.0], (20, len(ATTRIBUTES))).astype("float32")
    folder = tmp_path_factory.mktemp("cvae")
    return bx.export_conditional(cvae, codes, labels, ATTRIBUTES, folder, n_check=8), codes, labels


def test_the_conditional_script_decodes_as_keras_and_listens_to_the_labels(
    cvae, exported_conditional
):
    from vaecourse import beyond

    ex, codes, labels = exported_conditional
    assert ex.path.name == "cvae_decoder.js" and ex.n_checked == 16
    text = ex.path.read_text()
    assert "\nwindow.VAECOURSE_CVAE = {" in text and "VAECOURSE_EXPLORER" not in text
    model, data = bx.read_script(ex.path, bx.CONDITIONAL_GLOBAL_NAME)
    assert data["conditions"] == list(ATTRIBUTES) and data["model"]["condition_input"] == "c"
    np.testing.assert_allclose(data["faces"], codes[:8], rtol=1e-5, atol=1e-6)
    assert data["labels"] == labels[:8].astype(int).tolist()
    session = bx.onnx_session(model)
    act = data["image"]["activation"]
    got = bx.onnx_decode(session, codes, act, c=labels)
    assert np.abs(got - beyond.decode_c(cvae, codes, labels)).max() <= TOL_FLOAT16
    assert ex.max_abs_diff <= TOL_FLOAT16 and ex.max_abs_diff_float32 <= TOL_FLOAT32
    flipped = labels.copy()
    flipped[:, 0] *= -1  # one switch, as the page's first checkbox does
    assert np.abs(bx.onnx_decode(session, codes, act, c=flipped) - got).max() > 0.01
    with pytest.raises(ValueError, match="give z and c"):
        bx.onnx_decode(session, codes, act)


def test_the_conditional_export_rejects_labels_that_do_not_fit(cvae, tmp_path):
    codes = np.zeros((5, profiles.profile("ci").z_dim), "float32")
    with pytest.raises(ValueError, match="one column per attribute"):
        bx.export_conditional(cvae, codes, np.ones((5, 3)), ATTRIBUTES, tmp_path)


def test_chapter_xiv_page_carries_the_switches_and_the_browser_check_flips_one():
    """The chapter's markdown loads the runtime, the book's exported conditional decoder and
    the page script; scripts/book_page_checks.py has the check that flips a switch there."""
    import re
    import sys

    import nbformat

    from vaecourse.kit import zoo_beyond

    nb = nbformat.read(bx.ROOT / "notebooks" / "19_beyond_the_series.ipynb", as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert '<div class="vae-explorer vae-conditional">' in markdown
    scripts = re.findall(r'<script defer src="\.\./([^"]+)"></script>', markdown)
    assert f"explorer/{bx.CONDITIONAL_SCRIPT_NAME}" in scripts
    assert "explorer/conditional_explorer.js" in scripts
    for src in scripts:  # the site's explorer/ and vendor/ folders are book/_vendor/'s
        assert (bx.BOOK_FOLDER.parent / src).is_file(), src
    _, data = bx.read_script(
        bx.BOOK_FOLDER / bx.CONDITIONAL_SCRIPT_NAME, bx.CONDITIONAL_GLOBAL_NAME
    )
    assert data["conditions"] == list(zoo_beyond.CONDITIONS)
    assert {v for row in data["labels"] for v in row} <= {-1, 1}
    assert len(data["faces"]) == len(data["labels"]) and len(data["faces"][0]) == data["z_dim"]
    sys.path.insert(0, str(bx.ROOT / "scripts"))
    import book_page_checks

    hooks = book_page_checks.hooks_for("notebooks/19_beyond_the_series.html")
    assert [h.__name__ for h in hooks] == ["conditional_switches"]


@pytest.mark.parametrize(
    "stem, page_script",
    [
        ("15_latent_explorer", "latent_explorer.js"),
        ("19_beyond_the_series", "conditional_explorer.js"),
    ],
)
def test_each_live_page_loads_the_shared_helper_first(stem, page_script):
    """Both live decoders take the runtime, the panel and the decoding loop from one helper
    (explorer_page.js): each page loads it before its own script (``defer`` keeps the order),
    and neither page script carries a copy of what the helper holds."""
    import re

    import nbformat

    nb = nbformat.read(bx.ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    scripts = re.findall(r'<script defer src="\.\./([^"]+)"></script>', markdown)
    helper, own = "explorer/explorer_page.js", f"explorer/{page_script}"
    assert helper in scripts and own in scripts
    assert scripts.index(helper) < scripts.index(own)
    for src in scripts:  # the site's explorer/ and vendor/ folders are book/_vendor/'s
        assert (bx.BOOK_FOLDER.parent / src).is_file(), src
    text = (bx.BOOK_FOLDER / page_script).read_text(encoding="utf-8")
    assert "window.vaeExplorerPage" in text
    shared = (bx.BOOK_FOLDER / "explorer_page.js").read_text(encoding="utf-8")
    for name in re.findall(r"^  (?:async )?function (\w+)\(", shared, re.M):
        assert not re.search(rf"function {name}\(", text), f"{page_script} defines {name} again"
