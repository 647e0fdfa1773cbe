"""The live explorer of the HTML book: the face VAE's decoder runs in the reader's browser.

    folder = browser_explorer.book_folder(P)   # the book's copy only under 'book' on real faces
    ex = browser_explorer.export(vae, codes, attributes, folder)
    ex.path, ex.model_bytes, ex.max_abs_diff   # the script file, the ONNX decoder, Keras vs ONNX

Python trains the VAE and encodes the faces; the browser only decodes.  :func:`export` writes
ONE script file, ``face_decoder.js``, that sets ``window.VAECOURSE_EXPLORER``: the decoder as
ONNX (Keras 3's own exporter, weights stored as float16), the centre and principal directions
of the codes, attribute vectors, the typical radii and a few encoded faces.  One script and not
separate files, because a book opened from disk (file://) may not ``fetch()`` anything, but it
may run ``<script src=...>``.  The page element that reads it is
``book/_vendor/explorer/latent_explorer.js``, on what both live pages share,
``book/_vendor/explorer/explorer_page.js`` (loaded first); onnxruntime-web, vendored in
``book/_vendor/vendor/onnxruntime-web/``, runs the decoder there.

The conditional VAE of chapter XIV gets its own script the same way
(:func:`export_conditional`): ``cvae_decoder.js`` sets ``window.VAECOURSE_CVAE`` -- its decoder,
which reads ``[z, c]``, a few encoded faces and their labels -- and
``book/_vendor/explorer/conditional_explorer.js`` gives the page a switch per attribute.

Needs the extra ``explorer`` (``onnx``, ``tf2onnx`` for the export, ``onnxruntime`` to check it).
"""

from __future__ import annotations

import atexit
import base64
import gzip
import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import beyond, latent, models
from . import isolated

SCRIPT_NAME = "face_decoder.js"
GLOBAL_NAME = "VAECOURSE_EXPLORER"
CONDITIONAL_SCRIPT_NAME = "cvae_decoder.js"  # chapter XIV's conditional decoder
CONDITIONAL_GLOBAL_NAME = "VAECOURSE_CVAE"
FORMAT = 1
ROOT = Path(__file__).resolve().parents[2]
BOOK_FOLDER = ROOT / "book" / "_vendor" / "explorer"  # copied to the site's explorer/ folder
ENV_BOOK_ASSETS = "VAECOURSE_BOOK_ASSETS"  # set by scripts/execute_notebooks.py alone


def _require(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"the browser explorer needs {module!r}: pip install 'vaecourse[explorer]'"
        ) from err


# --------------------------------------------------------------------------------------
# The decoder as ONNX
# --------------------------------------------------------------------------------------
def onnx_bytes(decoder) -> bytes:
    """The Keras decoder as an ONNX model (float32), written by Keras 3's own exporter; one
    ONNX input per Keras input (``z``, and ``c`` for the conditional VAE's decoder)."""
    _require("onnx"), _require("tf2onnx")
    zeros = [np.zeros((1, *x.shape[1:]), "float32") for x in decoder.inputs]
    decoder(zeros if len(zeros) > 1 else zeros[0], training=False)  # built and called once
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), isolated.quiet_stderr():
        warnings.simplefilter("ignore")  # tf2onnx's deprecation chatter about NumPy and TF
        path = Path(tmp) / "decoder.onnx"
        decoder.export(str(path), format="onnx", verbose=False)
        return path.read_bytes()


def float16_weights(model: bytes, min_size: int = 16) -> bytes:
    """The same ONNX model with its float32 weights stored as float16: half the bytes.

    Each weight tensor gets a ``Cast`` back to float32 in front of the graph, so the arithmetic
    stays float32 (a runtime folds the casts once, when it loads the model); only the weights
    are rounded, to about 3 significant digits."""
    onnx = _require("onnx")
    from onnx import TensorProto, helper, numpy_helper

    m = onnx.load_from_string(model)
    weights, casts = [], []
    for t in m.graph.initializer:
        if t.data_type == TensorProto.FLOAT and int(np.prod(t.dims)) >= min_size:
            half = numpy_helper.from_array(
                numpy_helper.to_array(t).astype(np.float16), t.name + "/fp16"
            )
            weights.append(half)
            casts.append(helper.make_node("Cast", [half.name], [t.name], to=TensorProto.FLOAT))
        else:  # shapes (int64) and tiny tensors stay as they are
            weights.append(t)
    del m.graph.initializer[:]
    m.graph.initializer.extend(weights)
    nodes = casts + list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.checker.check_model(m)
    return m.SerializeToString()


def onnx_session(model: bytes):
    """An ``onnxruntime`` session of an ONNX model given as bytes (CPU)."""
    ort = _require("onnxruntime")
    return ort.InferenceSession(model, providers=["CPUExecutionProvider"])


def onnx_decode(session, z, output_activation: str = "sigmoid", c=None) -> np.ndarray:
    """Images on [0, 1] from latent points, decoded by ``session``: the same mapping as
    :func:`vaecourse.models.decode` (with conditions ``c``: as :func:`vaecourse.beyond.decode_c`)."""
    feeds = [np.atleast_2d(np.asarray(z, "float32"))]
    if c is not None:
        feeds.append(np.atleast_2d(np.asarray(c, "float32")))
    names = [x.name for x in session.get_inputs()]
    if len(names) != len(feeds):
        raise ValueError(
            f"the ONNX decoder reads {names}: give {'z and c' if len(names) > 1 else 'z'}"
        )
    out = session.run(None, dict(zip(names, feeds)))[0]
    return models.to_unit(out, output_activation)


# --------------------------------------------------------------------------------------
# What the page needs besides the model
# --------------------------------------------------------------------------------------
def _numbers(a, digits: int = 6):
    """Floats rounded to ``digits`` significant digits, as nested lists (small JSON)."""
    round_ = np.vectorize(lambda v: float(f"{v:.{digits}g}"), otypes=[float])
    return round_(np.asarray(a, np.float64)).tolist()


def explorer_data(codes, attributes: dict, n_axes: int = 4, n_faces: int = 8) -> dict:
    """The directions and radii the page's controls move along, from the encoded ``codes``.

    ``attributes`` maps a name to its vector (:func:`vaecourse.latent.attribute_vector`)."""
    codes = np.asarray(codes, np.float64)
    p = latent.pca(codes)
    return {
        "z_dim": int(codes.shape[1]),
        "centre": _numbers(p.mean),
        "axes": {
            "directions": _numbers(p.components[:n_axes]),
            "stds": _numbers(p.stds[:n_axes]),
            "explained": _numbers(p.explained[:n_axes]),
        },
        "attributes": {name: _numbers(v) for name, v in attributes.items()},
        "faces": _numbers(codes[:n_faces]),
        "radii": {
            # the radius control scales the distance from the centre; these are its landmarks
            "codes_about_centre": float(latent.radii(codes, p.mean).mean()),
            "codes": float(latent.radii(codes).mean()),
            "chi": latent.chi_mean(codes.shape[1]),  # |z| of N(0, I): the prior's shell
        },
        "n_codes": int(len(codes)),
    }


# --------------------------------------------------------------------------------------
# The one script file
# --------------------------------------------------------------------------------------
def write_script(
    path,
    model: bytes,
    data: dict,
    *,
    input_name: str,
    output_name: str,
    image_shape,
    output_activation: str,
    label: str = "",
    global_name: str = GLOBAL_NAME,
    chapter: str = "Exploring the latent space",
    model_info: dict | None = None,
) -> Path:
    """Write ``window.<global_name> = {...};``: the model gzipped and base64-encoded, everything
    else as JSON (``model_info``: more about the model, e.g. the names of its inputs)."""
    payload = {
        "format": FORMAT,
        "label": label,
        "model": {
            "onnx_gzip_base64": base64.b64encode(gzip.compress(model, 9, mtime=0)).decode("ascii"),
            "bytes": len(model),
            "input": input_name,
            "output": output_name,
            **(model_info or {}),
        },
        "image": {
            "height": int(image_shape[0]),
            "width": int(image_shape[1]),
            "channels": int(image_shape[2]),
            "activation": output_activation,
        },
        **data,
    }
    text = (
        f"// The face VAE's decoder and latent directions for the book's live explorer.\n"
        f"// Written by vaecourse.kit.browser_explorer (chapter '{chapter}'); do not edit."
        f"\nwindow.{global_name} = {json.dumps(payload)};\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text)
    tmp.replace(path)  # atomically: a book build never sees half a file
    return path


def read_script(path, global_name: str = GLOBAL_NAME) -> tuple:
    """``(model bytes, data dict)`` from a script written by :func:`write_script`."""
    text = Path(path).read_text()
    start = text.index(f"window.{global_name} = ") + len(f"window.{global_name} = ")
    data = json.loads(text[start:].rstrip().removesuffix(";"))
    model = gzip.decompress(base64.b64decode(data["model"]["onnx_gzip_base64"]))
    return model, data


# --------------------------------------------------------------------------------------
# Everything at once, as the chapter calls it
# --------------------------------------------------------------------------------------
@dataclass
class ExplorerExport:
    """What :func:`export` wrote and how closely the browser's decoder follows Keras."""

    path: Path
    model_bytes: int  # the ONNX file the page decodes with
    script_bytes: int  # the script file (model gzipped + base64, data as JSON)
    weights: str  # "float16" or "float32"
    max_abs_diff: float  # shipped ONNX model vs Keras, images on [0, 1]
    max_abs_diff_float32: float  # the exporter's float32 model vs Keras
    pixels_changed: float  # share of 8-bit pixel values that differ from Keras'
    n_checked: int

    @property
    def where(self) -> str:
        """The script's path relative to the repository, or "a temporary folder"."""
        try:
            return str(self.path.relative_to(ROOT))
        except ValueError:
            return f"a temporary folder ({self.path.name})"


def book_folder(P) -> Path:
    """Where the chapter writes the script: the book's assets (``book/_vendor/explorer``) when
    ``scripts/execute_notebooks.py`` runs the chapter for the book (it sets
    ``$VAECOURSE_BOOK_ASSETS``) under the ``book`` profile on real faces -- else a new temporary
    folder, so that a ``ci`` run, nbval or a reader's run never overwrites the book's copy."""
    assets = os.environ.get(ENV_BOOK_ASSETS, "").strip()
    for_the_book = P.pick(ci=False, book=True, full=False) and P.dataset == "celeba"
    if assets and for_the_book:
        return Path(assets) / BOOK_FOLDER.name
    folder = tempfile.mkdtemp(prefix="vaecourse-explorer-")
    atexit.register(shutil.rmtree, folder, True)  # gone with the kernel, also after a failure
    return Path(folder)


def export(
    model,
    codes,
    attributes: dict,
    folder,
    *,
    weights: str = "float16",
    n_axes: int = 4,
    n_faces: int = 8,
    n_check: int = 64,
    label: str = "",
    seed: int = 0,
) -> ExplorerExport:
    """Export ``model``'s decoder and the page's data into ``folder/face_decoder.js``.

    The shipped model is decoded with ``onnxruntime`` on ``n_check`` encoded faces and as many
    draws from N(0, I), and compared with Keras (``models.decode``)."""
    if weights not in ("float16", "float32"):
        raise ValueError("weights: 'float16' or 'float32'")
    decoder = models.get_decoder(model)
    activation = models.output_activation(model)
    full = onnx_bytes(decoder)
    shipped = float16_weights(full) if weights == "float16" else full
    session = onnx_session(shipped)

    codes = np.asarray(codes, np.float32)
    z = np.concatenate([codes[:n_check], latent.normal_points(n_check, codes.shape[1], seed=seed)])
    keras_images = models.decode(model, z)
    onnx_images = onnx_decode(session, z, activation)
    float32_images = onnx_decode(onnx_session(full), z, activation)

    path = write_script(
        Path(folder) / SCRIPT_NAME,
        shipped,
        explorer_data(codes, attributes, n_axes=n_axes, n_faces=n_faces),
        input_name=session.get_inputs()[0].name,
        output_name=session.get_outputs()[0].name,
        image_shape=decoder.outputs[0].shape[1:],
        output_activation=activation,
        label=label,
    )
    return _export_record(path, shipped, weights, onnx_images, float32_images, keras_images)


def export_conditional(
    model,
    codes,
    conditions,
    names,
    folder,
    *,
    weights: str = "float16",
    n_faces: int = 8,
    n_check: int = 64,
    label: str = "",
    seed: int = 0,
) -> ExplorerExport:
    """Export the conditional VAE's decoder (inputs ``z`` and ``c``) into
    ``folder/cvae_decoder.js``, with ``n_faces`` encoded faces (``codes``) and their labels
    (``conditions``, +1/-1, one column per attribute of ``names``).

    Checked as :func:`export` is: ``onnxruntime`` against Keras (:func:`vaecourse.beyond.decode_c`)
    on ``n_check`` encoded faces under their labels and as many N(0, I) draws under random
    labels."""
    if weights not in ("float16", "float32"):
        raise ValueError("weights: 'float16' or 'float32'")
    codes, conditions, names = np.asarray(codes, np.float32), np.asarray(conditions), list(names)
    if conditions.shape != (len(codes), len(names)):
        raise ValueError(
            f"conditions: one row per code and one column per attribute {names}, "
            f"got shape {conditions.shape} for {len(codes)} codes"
        )
    decoder = models.get_decoder(model)
    activation = models.output_activation(model)
    full = onnx_bytes(decoder)
    shipped = float16_weights(full) if weights == "float16" else full
    session = onnx_session(shipped)

    rng = np.random.default_rng(seed)
    z = np.concatenate([codes[:n_check], latent.normal_points(n_check, codes.shape[1], seed=seed)])
    c = np.concatenate(
        [conditions[:n_check], rng.choice([-1.0, 1.0], (n_check, len(names)))]
    ).astype("float32")
    keras_images = beyond.decode_c(model, z, c)
    onnx_images = onnx_decode(session, z, activation, c=c)
    float32_images = onnx_decode(onnx_session(full), z, activation, c=c)

    z_input, c_input = (x.name for x in session.get_inputs())
    data = {
        "z_dim": int(codes.shape[1]),
        "conditions": names,
        "faces": _numbers(codes[:n_faces]),
        "labels": np.asarray(conditions[:n_faces]).astype(int).tolist(),
        "n_codes": int(len(codes)),
    }
    path = write_script(
        Path(folder) / CONDITIONAL_SCRIPT_NAME,
        shipped,
        data,
        input_name=z_input,
        output_name=session.get_outputs()[0].name,
        image_shape=decoder.outputs[0].shape[1:],
        output_activation=activation,
        label=label,
        global_name=CONDITIONAL_GLOBAL_NAME,
        chapter="Beyond the series",
        model_info={"condition_input": c_input},
    )
    return _export_record(path, shipped, weights, onnx_images, float32_images, keras_images)


def _export_record(path, shipped, weights, onnx_images, float32_images, keras_images):
    """What an export wrote and how far the page's decoder is from Keras on the checked codes."""
    return ExplorerExport(
        path=path,
        model_bytes=len(shipped),
        script_bytes=path.stat().st_size,
        weights=weights,
        max_abs_diff=float(np.abs(onnx_images - keras_images).max()),
        max_abs_diff_float32=float(np.abs(float32_images - keras_images).max()),
        pixels_changed=float(
            np.mean(np.round(onnx_images * 255.0) != np.round(keras_images * 255.0))
        ),
        n_checked=len(keras_images),
    )
