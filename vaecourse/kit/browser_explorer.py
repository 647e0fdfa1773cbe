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
``book/_vendor/explorer/latent_explorer.js``; onnxruntime-web, vendored in
``book/_vendor/vendor/onnxruntime-web/``, runs the decoder there.

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

from .. import latent, models
from . import isolated

SCRIPT_NAME = "face_decoder.js"
GLOBAL_NAME = "VAECOURSE_EXPLORER"
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
    """The Keras decoder as an ONNX model (float32), written by Keras 3's own exporter."""
    _require("onnx"), _require("tf2onnx")
    z_dim = decoder.inputs[0].shape[-1]
    decoder(np.zeros((1, z_dim), "float32"), training=False)  # built and called once
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


def onnx_decode(session, z, output_activation: str = "sigmoid") -> np.ndarray:
    """Images on [0, 1] from latent points, decoded by ``session``: the same mapping as
    :func:`vaecourse.models.decode`."""
    z = np.atleast_2d(np.asarray(z, "float32"))
    out = session.run(None, {session.get_inputs()[0].name: z})[0]
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
) -> Path:
    """Write ``window.VAECOURSE_EXPLORER = {...};``: the model gzipped and base64-encoded,
    everything else as JSON."""
    payload = {
        "format": FORMAT,
        "label": label,
        "model": {
            "onnx_gzip_base64": base64.b64encode(gzip.compress(model, 9, mtime=0)).decode("ascii"),
            "bytes": len(model),
            "input": input_name,
            "output": output_name,
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
        f"// Written by vaecourse.kit.browser_explorer (chapter 'Exploring the latent "
        f"space'); do not edit.\nwindow.{GLOBAL_NAME} = {json.dumps(payload)};\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text)
    tmp.replace(path)  # atomically: a book build never sees half a file
    return path


def read_script(path) -> tuple:
    """``(model bytes, data dict)`` from a script written by :func:`write_script`."""
    text = Path(path).read_text()
    start = text.index(f"window.{GLOBAL_NAME} = ") + len(f"window.{GLOBAL_NAME} = ")
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
    to8 = lambda x: np.round(x * 255.0)  # noqa: E731

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
    return ExplorerExport(
        path=path,
        model_bytes=len(shipped),
        script_bytes=path.stat().st_size,
        weights=weights,
        max_abs_diff=float(np.abs(onnx_images - keras_images).max()),
        max_abs_diff_float32=float(np.abs(float32_images - keras_images).max()),
        pixels_changed=float(np.mean(to8(onnx_images) != to8(keras_images))),
        n_checked=len(z),
    )
