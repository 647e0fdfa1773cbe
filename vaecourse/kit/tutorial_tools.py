"""What the two tutorial chapters (T1, T2) use to test the tutorials, beside what they teach.

The taught side -- the tutorials' losses, their encoder, the sampling layers and the pixel
dropout -- is :mod:`vaecourse.tutorials`; this module holds the checks and measures the
chapters only call:

* T1: :func:`undefined_names` (the static check that finds the tutorial's misspelt layer), and
  the rebuilding of faces from a fraction of their pixels -- :func:`drop_pixels`, the AE that
  learns it (:func:`build_denoising_ae`) and the interpolation it has to beat
  (:func:`fill_from_neighbours`);
* T2: :func:`read_as_log_variance` (a log-sigma model seen by the measures),
  :func:`split_by_file_index`, :func:`identity_overlap`, :func:`unseen_share` (the tutorial's
  data split and its drawing of files with replacement), :func:`code_images` and
  :func:`neighbour_correlation` (its latent codes shown as 32x16 images).
"""

from __future__ import annotations

import ast
import builtins
import inspect
import textwrap

import keras
import numpy as np
from keras import layers

from .. import models
from ..tutorials import PixelDropout


def undefined_names(func) -> list:
    """Names that ``func`` reads but nothing defines -- not an argument, nothing assigned,
    imported or defined inside it, no variable of an enclosing function, no global of its module,
    no builtin -- found from the source, without running it (what linters report as F821)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    defined = set(dir(builtins)) | set(func.__globals__) | set(func.__code__.co_freevars)
    read = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else defined).add(node.id)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            defined.add(node.name)
    return sorted(read - defined)


def drop_pixels(images, keep: float, seed=None) -> np.ndarray:
    """Copies of float ``images`` (n, h, w, c) in which each pixel survives with probability
    ``keep``; the others are set to 0 in every channel (black)."""
    x = np.asarray(images, np.float32)
    rng = np.random.default_rng(seed)
    mask = rng.random(x.shape[:3] + (1,)) < keep
    return x * mask


def fill_from_neighbours(masked, sigma: float = 2.0) -> np.ndarray:
    """The baseline an AE has to beat: each missing (all-zero) pixel gets the Gaussian-weighted
    mean of the surviving pixels around it (normalised convolution, ``sigma`` in pixels)."""
    from scipy import ndimage

    x = np.asarray(masked, np.float32)
    seen = np.any(x > 0, axis=-1, keepdims=True).astype(np.float32)
    blur = (0, sigma, sigma, 0)
    num = ndimage.gaussian_filter(x * seen, blur, mode="reflect")
    den = ndimage.gaussian_filter(seen, blur, mode="reflect")
    filled = num / np.maximum(den, 1e-6)
    return np.where(seen > 0, x, filled)


def build_denoising_ae(
    config: models.VAEConfig, keep_min=0.1, keep_max=0.5, seed=None, compile=True
):
    """The plain AE of ``config`` trained on faces with most pixels missing: a
    :class:`PixelDropout` before the encoder, the clean face as the target.  Its ``encoder`` and
    ``decoder`` are an ordinary AE's, so ``models.reconstruct`` works on masked images."""
    ae = models.build_ae(config, compile=False)
    x = keras.Input(config.input_shape, name="image")
    masked = PixelDropout(keep_min, keep_max, seed=seed, name="pixel_dropout")(x)
    encoder, decoder = models.get_encoder(ae), models.get_decoder(ae)
    model = keras.Model(x, decoder(encoder(masked)), name=config.name)
    loss, metrics = models.reconstruction_loss(config), [models.reconstruction_metric(config)]
    return models.compile_and_build(
        model, config, None, compile, build=False, loss=loss, metrics=metrics
    )


def read_as_log_variance(model):
    """A view of a model whose encoder's third output is log sigma (:class:`~vaecourse.tutorials.LogSigmaSampling`)
    with that output doubled into a log-variance, as the measures (``measures.elbo``,
    ``latent.kl_per_dim``) expect.  The view has the model's decoder, and is compiled with its
    reconstruction loss, so the measures read the same likelihood from it."""
    encoder = models.get_encoder(model)
    z, mu, log_sigma = encoder.outputs
    log_var = layers.Rescaling(2.0, name="log_sigma_to_log_var")(log_sigma)
    view = keras.Model(encoder.input, [z, mu, log_var], name="encoder")
    x = keras.Input(encoder.input.shape[1:], name="image")
    whole = keras.Model(x, models.get_decoder(model)(view(x)[0]), name=f"{model.name}_view")
    whole.compile(loss=model.rec_loss)
    return whole


def split_by_file_index(names, train_share: float = 0.8) -> tuple:
    """Tutorial 002's split: the first ``train_share`` of the files in file-name order for
    training, the rest for validation.  Returns ``(train_names, val_names)``."""
    names = sorted(names)
    cut = int(train_share * len(names))
    return names[:cut], names[cut:]


def identity_overlap(train_ids, val_ids) -> float:
    """Share of validation images whose person (identity) also appears in the training images."""
    seen = set(np.asarray(train_ids).tolist())
    val_ids = np.asarray(val_ids)
    if len(val_ids) == 0:
        raise ValueError("identity_overlap needs at least one validation image")
    return float(np.mean([i in seen for i in val_ids.tolist()]))


def unseen_share(n_files: int, draws: int, seed=None) -> float:
    """Share of ``n_files`` files never picked when ``draws`` files are drawn at random with
    replacement -- what an "epoch" of tutorial 002's generator leaves out (about
    exp(-draws / n_files))."""
    picked = np.random.default_rng(seed).integers(0, n_files, size=draws)
    return 1.0 - len(np.unique(picked)) / n_files


def code_images(codes, shape=(32, 16)) -> np.ndarray:
    """Latent codes (n, h * w) shown as tutorial 002 did: reshaped to ``shape`` and mapped by
    (z + 1) / 2 onto [0, 1] (values outside [-1, 1] are clipped by the display)."""
    codes = np.asarray(codes, np.float32)
    return np.clip((codes.reshape((len(codes),) + tuple(shape)) + 1.0) / 2.0, 0.0, 1.0)


def neighbour_correlation(codes, shape=(32, 16), seed=None) -> tuple:
    """How much a 32x16 "code image" is an image: the correlation across images between
    horizontally neighbouring latent dimensions, and between randomly paired dimensions.
    Equal values mean that being neighbours in the picture means nothing."""
    z = np.asarray(codes, np.float64)
    h, w = shape
    z = (z - z.mean(axis=0)) / (z.std(axis=0) + 1e-12)
    grid = np.arange(h * w).reshape(h, w)
    left, right = grid[:, :-1].ravel(), grid[:, 1:].ravel()
    rng = np.random.default_rng(seed)
    a = rng.integers(0, h * w, size=len(left))
    b = (a + rng.integers(1, h * w, size=len(left))) % (h * w)  # never a dimension with itself

    def mean_abs_corr(i, j):
        return float(np.mean(np.abs(np.mean(z[:, i] * z[:, j], axis=0))))

    return mean_abs_corr(left, right), mean_abs_corr(a, b)
