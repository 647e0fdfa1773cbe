"""The measures a chapter reports about images, samples and models: each one is tested against
the cases it must reject (``tests/test_metrics.py``).

Samples of a generative model (and reconstructions) are judged against held-out *real* images
(the official CelebA test partition in the book).  Every measure below is a ratio or a distance
to that reference, so that "real" is the yardstick and a failure mode has a number:

===========================================  ====================================================
measure                                      what it rejects
===========================================  ====================================================
:func:`face_detection_rate`,                 noise, colour blobs, scrambled faces (OpenCV's Haar
:func:`relative_detection_rate`              frontal-face cascade; calibrated by
                                             :func:`detector_calibration`)
:func:`diversity`                            collapse: a mean face passes a detector, but a set
                                             of near-identical images scores about 0
:func:`sharpness_ratio`                      blur (Laplacian variance against real images)
:func:`frechet_distance`                     a wrong distribution of features (here: features of
                                             a CelebA attribute classifier, not FID)
:func:`elbo`, :func:`iwae_bound`             the objective itself, in nats per image, without
                                             the training weights (``fact``) so models compare
:func:`nearest_training`,                    memorised training images
:func:`likely_copies`
:func:`grid_artefact_ratio`                  a checkerboard (the 2-pixel grid a stride-2
                                             transposed convolution paints), against real images
===========================================  ====================================================

:class:`SampleMeasures` takes the first four at once, against one set of real faces.

:class:`FaceSubspace` is a teaching device only: its distance rewards blur and cannot tell a
collapsed generator from a good one, so no conclusion may rest on it alone.

Images are ``(n, h, w, 3)`` arrays, uint8 or float in [0, 1] (convert [-1, 1] data first).
What the chapters teach of measuring -- the sharpening of chapter XI and the Fréchet distance
of two Gaussians of chapter XIII -- is :mod:`vaecourse.metrics`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from scipy import ndimage, special

from .. import beyond, mechanisms, models
from ..metrics import frechet_distance_from_stats


def _unit(images) -> np.ndarray:
    """float32 copy in [0, 1]: uint8 is divided by 255, floats must already be in [0, 1]."""
    x = np.asarray(images)
    if x.dtype == np.uint8:
        return models.to_unit(x)
    x = x.astype(np.float32)
    if x.size and (x.min() < -1e-3 or x.max() > 1.0 + 1e-3):
        raise ValueError(
            f"float images must lie in [0, 1], these span [{x.min():.3g}, "
            f"{x.max():.3g}]: map [-1, 1] data with (x + 1) / 2 first"
        )
    return x


def _flat(images) -> np.ndarray:
    x = _unit(images)
    return x.reshape(len(x), -1)


def _uint8(images) -> np.ndarray:
    x = np.asarray(images)
    if x.dtype == np.uint8:
        return x
    return np.clip(np.round(_unit(x) * 255.0), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------
# Face detection (OpenCV's bundled Haar cascade: no download, no training)
# --------------------------------------------------------------------------------------
#: The detector's settings.  Every image is converted to grey and resized to DETECT_SIZE^2
#: (a 64^2 image is upscaled x2): the cascade's smallest window is 24^2, so 64^2 faces are
#: too small for its eyes-and-mouth features.  ``scaleFactor`` 1.1 is the window's growth per
#: step, ``minNeighbors`` 3 (OpenCV's default) the overlapping hits a detection needs,
#: ``minSize`` 32^2 ignores windows smaller than a quarter of the frame (a face crop fills it).
CASCADE = "haarcascade_frontalface_default.xml"
DETECT_SIZE = 128
SCALE_FACTOR = 1.1
MIN_NEIGHBORS = 3
MIN_SIZE = 32

_CASCADES: dict = {}


def _cascade():
    try:
        import cv2
    except ImportError as err:
        raise ImportError(
            "the face detector needs OpenCV: pip install 'opencv-python-headless>=4.8,<5'"
        ) from err
    if "face" not in _CASCADES:
        if not hasattr(cv2, "CascadeClassifier"):  # OpenCV 5 moved the Haar cascades out
            raise ImportError(
                f"OpenCV {cv2.__version__} has no CascadeClassifier: install "
                "'opencv-python-headless>=4.8,<5'"
            )
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE)
        if cascade.empty():
            raise RuntimeError(f"OpenCV could not load {CASCADE} from {cv2.data.haarcascades}")
        _CASCADES["face"] = cascade
    return cv2, _CASCADES["face"]


def detect_faces(images) -> np.ndarray:
    """Per image: True when the Haar frontal-face cascade finds at least one face."""
    cv2, cascade = _cascade()
    found = []
    for img in _uint8(images):
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
        grey = cv2.resize(grey, (DETECT_SIZE, DETECT_SIZE), interpolation=cv2.INTER_LINEAR)
        boxes = cascade.detectMultiScale(
            grey, scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBORS, minSize=(MIN_SIZE, MIN_SIZE)
        )
        found.append(len(boxes) > 0)
    return np.array(found, bool)


def face_detection_rate(images) -> float:
    """Share of images in which the Haar cascade detects a face (0..1)."""
    return float(np.mean(detect_faces(images)))


def relative_detection_rate(images, real_images) -> float:
    """:func:`face_detection_rate` of ``images`` divided by that of held-out ``real_images``.

    1 means "detected as often as real faces".  The detector alone is fooled by a mean face:
    read it next to :func:`diversity`."""
    real = face_detection_rate(real_images)
    if real == 0:
        raise ValueError(
            "no face detected in the real reference images: are they faces, "
            "uint8 or floats in [0, 1], and at least 32 pixels wide?"
        )
    return face_detection_rate(images) / real


def gaussian_blur(images, sigma: float) -> np.ndarray:
    """Each image blurred by a Gaussian of ``sigma`` pixels (same dtype as the input)."""
    x = np.asarray(images)
    blurred = ndimage.gaussian_filter(_unit(x), sigma=(0, sigma, sigma, 0), mode="reflect")
    return _uint8(blurred) if x.dtype == np.uint8 else blurred


def scramble_blocks(images, block: int = 16, seed: int = 0) -> np.ndarray:
    """Each image cut into ``block`` x ``block`` tiles that are shuffled (one permutation per
    image): every local feature of a face survives, its arrangement does not."""
    x = np.asarray(images)
    n, h, w, c = x.shape
    if h % block or w % block:
        raise ValueError(f"block {block} does not divide the image size {h}x{w}")
    gh, gw = h // block, w // block
    tiles = x.reshape(n, gh, block, gw, block, c).transpose(0, 1, 3, 2, 4, 5)
    tiles = tiles.reshape(n, gh * gw, block, block, c)
    rng = np.random.default_rng(seed)
    tiles = np.stack([t[rng.permutation(gh * gw)] for t in tiles])
    return tiles.reshape(n, gh, gw, block, block, c).transpose(0, 1, 3, 2, 4, 5).reshape(x.shape)


def detector_calibration(real_images, seed: int = 0, block: int = 16) -> dict:
    """Detection rate of real faces and of four things made from them that are not faces (or
    are worse ones): Gaussian blur with sigma 3 and 5 pixels, uniform noise of the same shape,
    and the faces cut into ``block``-pixel tiles and shuffled.

    Chapter 0 prints what it gives on the book's held-out faces."""
    x = _uint8(real_images)
    noise = np.random.default_rng(seed).integers(0, 256, x.shape, dtype=np.uint8)
    sets = {
        "real": x,
        "blurred σ=3": gaussian_blur(x, 3.0),
        "blurred σ=5": gaussian_blur(x, 5.0),
        "uniform noise": noise,
        "block-scrambled": scramble_blocks(x, block, seed),
    }
    return {name: face_detection_rate(imgs) for name, imgs in sets.items()}


# --------------------------------------------------------------------------------------
# Diversity and memorisation
# --------------------------------------------------------------------------------------
def mean_pairwise_distance(x, max_n: int = 500, seed: int = 0) -> float:
    """Mean Euclidean distance between all pairs of rows of ``x`` (up to ``max_n`` rows drawn
    with ``seed``), divided by sqrt(values per row) so that it does not grow with the size.

    ``x`` is a set of images (uint8 or [0, 1]) or a 2-d array of feature vectors."""
    x = np.asarray(x)
    x = _flat(x) if x.ndim > 2 else x.astype(np.float64)
    if len(x) < 2:
        raise ValueError("mean_pairwise_distance needs at least two images or feature rows")
    if len(x) > max_n:
        x = x[np.random.default_rng(seed).choice(len(x), max_n, replace=False)]
    x = x.astype(np.float64)
    sq = np.sum(x * x, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)
    iu = np.triu_indices(len(x), k=1)
    return float(np.mean(np.sqrt(d2[iu])) / np.sqrt(x.shape[1]))


def diversity(samples, real, max_n: int = 500, seed: int = 0) -> float:
    """:func:`mean_pairwise_distance` of ``samples`` divided by that of ``real`` images (or of
    feature vectors: pass classifier features for a diversity in feature space).

    About 1 for samples as varied as real faces, about 0 for a collapsed set (one image, or a
    mean face plus small noise), which the detector rate cannot see."""
    ref = mean_pairwise_distance(real, max_n, seed)
    if ref == 0:
        raise ValueError("the real reference images are all identical")
    return mean_pairwise_distance(samples, max_n, seed) / ref


def nearest_training(samples, train_images, chunk: int = 2048) -> tuple:
    """For every sample: the index of its nearest training image and the (per-value, as in
    :func:`mean_pairwise_distance`) Euclidean distance to it.  Returns ``(index, distance)``.

    The official CelebA split is identity-disjoint: a test face's nearest training image is
    another person, so test faces give the distance an honest non-copy has."""
    s = _flat(samples).astype(np.float64)
    s_sq = np.sum(s * s, axis=1)
    best_d2 = np.full(len(s), np.inf)
    best_i = np.zeros(len(s), np.int64)
    for start in range(0, len(train_images), chunk):
        t = _flat(train_images[start : start + chunk]).astype(np.float64)
        d2 = s_sq[:, None] + np.sum(t * t, axis=1)[None, :] - 2.0 * s @ t.T
        i = np.argmin(d2, axis=1)
        d = d2[np.arange(len(s)), i]
        better = d < best_d2
        best_d2[better], best_i[better] = d[better], i[better] + start
    return best_i, np.sqrt(np.maximum(best_d2, 0.0)) / np.sqrt(s.shape[1])


def likely_copies(samples, train_images, reference_distances, factor: float = 0.5) -> np.ndarray:
    """Indices of samples whose nearest-training distance is below ``factor`` times the median
    nearest-training distance of held-out real images (``reference_distances``)."""
    _, d = nearest_training(samples, train_images)
    return np.flatnonzero(d < factor * float(np.median(reference_distances)))


# --------------------------------------------------------------------------------------
# Sharpness
# --------------------------------------------------------------------------------------
def laplacian_variance(images) -> np.ndarray:
    """Per image: variance of the 4-neighbour Laplacian of the grey image (values in [0, 1]).

    A standard focus measure: blur removes the fine detail the Laplacian responds to, so a
    blurred image scores low.  Noise and checkerboard artefacts score *high*: sharpness alone
    cannot tell detail from noise."""
    g = _unit(images).astype(np.float64)
    g = g.mean(axis=-1) if g.ndim == 4 else g
    lap = (
        -4.0 * g[:, 1:-1, 1:-1]
        + g[:, :-2, 1:-1]
        + g[:, 2:, 1:-1]
        + g[:, 1:-1, :-2]
        + g[:, 1:-1, 2:]
    )
    return lap.reshape(len(g), -1).var(axis=1)


def sharpness_ratio(samples, real) -> float:
    """Median :func:`laplacian_variance` of ``samples`` over that of ``real`` images:
    below 1 blurrier than real faces, far above 1 noisier."""
    ref = float(np.median(laplacian_variance(real)))
    if ref == 0:
        raise ValueError("the real reference images are flat (zero Laplacian variance)")
    return float(np.median(laplacian_variance(samples))) / ref


# --------------------------------------------------------------------------------------
# Checkerboard artefacts (the grid a stride-2 transposed convolution paints)
# --------------------------------------------------------------------------------------
def grid_energy(images) -> np.ndarray:
    """Per image: the share of its grey-level variance in the three 2-pixel-period patterns
    (the DFT's Nyquist terms: alternating rows, alternating columns, a checkerboard).

    A stride-2 transposed convolution whose kernels overlap unevenly stamps exactly these
    patterns on its output; natural images hold almost none of their variance there.
    Images are uint8 or floats in [0, 1]."""
    x = np.asarray(images)
    g = x.astype(np.float64) / (255.0 if x.dtype == np.uint8 else 1.0)
    g = g.mean(axis=-1) if g.ndim == 4 else g
    g = g - g.mean(axis=(1, 2), keepdims=True)
    h, w = g.shape[1:]
    ry, rx = (-1.0) ** np.arange(h), (-1.0) ** np.arange(w)
    patterns = (np.outer(ry, np.ones(w)), np.outer(np.ones(h), rx), np.outer(ry, rx))
    power = sum(np.sum(g * pattern, axis=(1, 2)) ** 2 for pattern in patterns)
    total = np.sum(g * g, axis=(1, 2)) * h * w  # Parseval: sum of all |DFT|^2 terms
    return power / np.maximum(total, 1e-12)


def grid_artefact_ratio(samples, real) -> float:
    """Mean :func:`grid_energy` of ``samples`` over that of ``real`` images: about 1 for no
    more checkerboard than real faces have, far above 1 for a checkerboarding generator."""
    ref = float(np.mean(grid_energy(real)))
    if ref == 0:
        raise ValueError("the real reference images have no energy at the grid frequencies")
    return float(np.mean(grid_energy(samples))) / ref


# --------------------------------------------------------------------------------------
# Fréchet distance
# --------------------------------------------------------------------------------------
def feature_stats(features) -> tuple:
    """Mean vector and covariance matrix of a ``(n, d)`` array (rows are samples)."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need a (n >= 2, d) array of features, got shape {f.shape}")
    return f.mean(axis=0), np.atleast_2d(np.cov(f, rowvar=False))


def frechet_distance(features_a, features_b) -> float:
    """Squared Fréchet distance between Gaussians fitted to two ``(n, d)`` feature sets.

    With the features of :func:`attribute_classifier` (via :func:`features`) it is a *Fréchet
    distance on CelebA attribute-classifier features*: comparable within the course, never to
    published FID numbers.  FID is this formula on :func:`inception_features`."""
    return frechet_distance_from_stats(*feature_stats(features_a), *feature_stats(features_b))


# --------------------------------------------------------------------------------------
# The CelebA attribute classifier whose features the Fréchet distance uses
# --------------------------------------------------------------------------------------
FEATURE_LAYER = "features"


def _batched(fn, images, batch_size: int) -> np.ndarray:
    out = [
        keras.ops.convert_to_numpy(fn(_unit(images[i : i + batch_size]), training=False))
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(out)


def features(classifier, images, batch_size: int = 256) -> np.ndarray:
    """``(n, feature_dim)`` activations of the classifier's ``"features"`` layer."""
    sub = keras.Model(classifier.input, classifier.get_layer(FEATURE_LAYER).output)
    return _batched(sub, images, batch_size)


def attribute_accuracy(
    classifier, images, attrs, per_attribute: bool = False, batch_size: int = 256
):
    """Share of correctly predicted attributes (+1/-1 ``attrs``; logit > 0 means +1): the mean
    over all attributes, or one value per attribute.  Compare with :func:`majority_accuracy`."""
    pred = _batched(classifier, images, batch_size) > 0
    acc = np.mean(pred == (np.asarray(attrs) > 0), axis=0)
    return acc if per_attribute else float(acc.mean())


def inception_features(images, batch_size: int = 64) -> np.ndarray:
    """2048-d pool features of ImageNet InceptionV3, the network the standard FID uses: FID is
    :func:`frechet_distance` on these.  Needs the ImageNet weights (a download on first use, so
    Colab); offline it raises a RuntimeError that says so."""
    try:
        net = keras.applications.InceptionV3(
            include_top=False, weights="imagenet", pooling="avg", input_shape=(299, 299, 3)
        )
    except Exception as err:  # noqa: BLE001  (offline: any error of the download)
        raise RuntimeError(
            "InceptionV3 ImageNet weights could not be loaded (offline?): the "
            "standard FID needs them; use attribute-classifier features "
            f"instead ({type(err).__name__})"
        ) from None
    out = []
    for i in range(0, len(images), batch_size):
        batch = tf.image.resize(_unit(images[i : i + batch_size]), (299, 299)) * 2.0 - 1.0
        out.append(net.predict(batch, verbose=0))  # Inception expects [-1, 1]
    return np.concatenate(out)


# --------------------------------------------------------------------------------------
# All four at once, against one set of real faces
# --------------------------------------------------------------------------------------
class SampleMeasures:
    """The course's four measures of a set of images against one set of held-out real faces,
    with what depends only on the real faces (their detection rate and features) computed
    once::

        judge = measures.SampleMeasures(faces.test, classifier)
        judge(samples)  # {"detected", "diversity", "sharpness", "frechet"}

    ``detected`` is relative to the real faces' rate (NaN if none of them is detected);
    ``frechet`` is on the features of ``classifier``.  ``featurize`` replaces
    ``features(classifier, images)`` where images need adapting first (e.g. resizing to the
    classifier's input size)."""

    def __init__(self, real, classifier=None, featurize=None):
        if classifier is None and featurize is None:
            raise ValueError(
                "SampleMeasures needs the attribute classifier or a featurize function"
            )
        self.real = real
        self.real_rate = face_detection_rate(real)
        self.featurize = featurize or (lambda images: features(classifier, images))
        self.real_features = self.featurize(real)

    def detected(self, images) -> float:
        return face_detection_rate(images) / self.real_rate if self.real_rate else float("nan")

    def frechet(self, images) -> float:
        return frechet_distance(self.featurize(images), self.real_features)

    def frechet_reference(self, faces) -> float:
        """The course's one real-vs-real Fréchet reference: the distance between the features of
        the first validation faces of ``faces`` (other people than the test faces) and those of
        the real faces these measures compare with, as many as there are (fewer where the
        validation partition is smaller).  Two finite samples of real faces never agree, so no
        set of as many generated images can be expected to come closer."""
        n = min(len(self.real), len(faces.val))
        if n < 2:
            raise ValueError("frechet_reference needs at least two validation faces")
        return self.frechet(faces.val[:n])

    def __call__(self, images) -> dict:
        return {
            "detected": self.detected(images),
            "diversity": diversity(images, self.real),
            "sharpness": sharpness_ratio(images, self.real),
            "frechet": self.frechet(images),
        }


# --------------------------------------------------------------------------------------
# The objective: ELBO and the importance-weighted bound, in nats per image
# --------------------------------------------------------------------------------------
#: Fixed standard deviation of the Gaussian decoder assumed for "mse" models (data units).
GAUSSIAN_SIGMA = 0.1
_LOG_2PI = math.log(2.0 * math.pi)
_CLIP = 1e-7  # Keras' epsilon: the clip of its binary cross-entropy


def decoder_log_likelihood(
    x, x_hat, likelihood: str = "bernoulli", sigma: float = GAUSSIAN_SIGMA
) -> np.ndarray:
    """log p(x | z) per image, in nats, summed over every value (H x W x C) of the image.

    * ``"bernoulli"`` (the course's ``rec_loss="bce"``, sigmoid outputs): sum of
      x log x_hat + (1 - x) log(1 - x_hat).  This is the course's reconstruction term read as a
      log-likelihood -- a Bernoulli on [0, 1] intensities, not a normalised density on
      continuous pixels: even x_hat = x scores below 0, at ``decoder_log_likelihood(x, x)``
      (about -6,250 nats for 64^2 CelebA test faces), the ceiling of any bound here.
    * ``"gaussian"`` (``rec_loss="mse"``): N(x; x_hat, sigma^2 I) with the stated, fixed
      ``sigma`` (data units); the value depends on sigma, so compare at equal sigma only.

    Compare bounds only between models with the same likelihood.  ``x`` broadcasts against
    ``x_hat`` (leading axes are kept, the last three are summed)."""
    x, x_hat = np.asarray(x, np.float64), np.asarray(x_hat, np.float64)
    axes = (-3, -2, -1)
    if likelihood == "bernoulli":
        p = np.clip(x_hat, _CLIP, 1.0 - _CLIP)
        return np.sum(x * np.log(p) + (1.0 - x) * np.log1p(-p), axis=axes)
    if likelihood == "gaussian":
        d = np.prod(x_hat.shape[-3:])
        sq = np.sum((x - x_hat) ** 2, axis=axes)
        return -0.5 * sq / sigma**2 - 0.5 * d * (_LOG_2PI + 2.0 * math.log(sigma))
    raise ValueError(f"likelihood={likelihood!r}: use 'bernoulli' or 'gaussian'")


def _likelihood_of(model, likelihood):
    """The likelihood the model trains with: its reconstruction loss read as one (BCE:
    Bernoulli, squared error: Gaussian; the sigma-VAE's is Gaussian by construction)."""
    if likelihood is not None:
        return likelihood
    if isinstance(model, beyond.SigmaVAE):
        return "gaussian"
    loss = model.rec_loss if isinstance(model, mechanisms.VAE) else model.loss
    loss = loss.get("reconstruction") if isinstance(loss, dict) else loss  # mechanism 1
    if not isinstance(loss, models.ReconstructionLoss):
        raise ValueError(
            "the model has no reconstruction loss of the course to read its likelihood from: "
            "pass likelihood='bernoulli' or 'gaussian'"
        )
    return "bernoulli" if loss.kind == "bce" else "gaussian"


def _model_input(model, images) -> np.ndarray:
    """uint8 images mapped to the model's data range ([0, 1], or [-1, 1] for tanh models)."""
    x = np.asarray(images)
    if x.dtype != np.uint8:
        return x.astype(np.float32)
    if models.output_activation(model) == "tanh":
        return x.astype(np.float32) / 127.5 - 1.0
    return x.astype(np.float32) / 255.0


def _posterior(model, x) -> tuple:
    out = models.get_encoder(model)(x, training=False)
    if not isinstance(out, (list, tuple)) or len(out) < 2:
        raise ValueError("the encoder returns no (mu, log_var): ELBO and IWAE need a VAE")
    mu, log_var = (keras.ops.convert_to_numpy(t).astype(np.float64) for t in out[-2:])
    return mu, log_var


def _log_weights(model, images, k: int, likelihood, sigma, seed, batch_size) -> tuple:
    """For each image and each of ``k`` draws z ~ q(z|x): log p(x|z), log p(z) - log q(z|x);
    and the analytic KL(q || p) per image."""
    likelihood = _likelihood_of(model, likelihood)
    decoder = models.get_decoder(model)
    x_all = _model_input(model, images)
    rng = np.random.default_rng(seed)
    per_chunk = max(1, int(batch_size) // k)  # images per decoder call of <= batch_size points
    log_px, log_prior_ratio, kl = [], [], []
    for i in range(0, len(x_all), per_chunk):
        x = x_all[i : i + per_chunk]
        mu, log_var = _posterior(model, x)
        eps = rng.standard_normal((len(x), k, mu.shape[1]))
        z = mu[:, None] + np.exp(0.5 * log_var)[:, None] * eps
        x_hat = keras.ops.convert_to_numpy(
            decoder(z.reshape(-1, mu.shape[1]).astype(np.float32), training=False)
        )
        x_hat = x_hat.reshape(len(x), k, *x_hat.shape[1:])
        log_px.append(decoder_log_likelihood(x[:, None], x_hat, likelihood, sigma))
        log_pz = -0.5 * np.sum(z**2 + _LOG_2PI, axis=-1)
        log_qz = -0.5 * np.sum(eps**2 + _LOG_2PI + log_var[:, None], axis=-1)
        log_prior_ratio.append(log_pz - log_qz)
        kl.append(0.5 * np.sum(np.exp(log_var) + mu**2 - 1.0 - log_var, axis=-1))
    return np.concatenate(log_px), np.concatenate(log_prior_ratio), np.concatenate(kl)


def elbo(
    model,
    images,
    samples: int = 8,
    likelihood: str | None = None,
    sigma: float = GAUSSIAN_SIGMA,
    seed: int = 0,
    batch_size: int = 512,
    per_image: bool = False,
):
    """Evidence lower bound E_q[log p(x|z)] - KL(q(z|x) || N(0, I)) in nats per image (mean over
    ``images``; ``per_image=True`` gives the array).

    The expectation is a ``samples``-draw Monte Carlo average, the KL is exact.  Unweighted:
    ``fact`` = 1, ``rec_factor`` = 1 and the likelihood sums every pixel and channel (see
    :func:`decoder_log_likelihood`), so models trained with different ``fact`` compare.  The
    course's training loss is a weighted version of -ELBO: its BCE averages the channels, so
    for ``rec_reduction="sum"`` it is (1/C)(-log p(x|z)) + fact * KL.  ``likelihood`` defaults
    to the model's ``rec_loss``; uint8 images are mapped to the model's data range."""
    log_px, _, kl = _log_weights(model, images, int(samples), likelihood, sigma, seed, batch_size)
    value = log_px.mean(axis=1) - kl
    return value if per_image else float(value.mean())


def iwae_bound(
    model,
    images,
    k: int = 64,
    likelihood: str | None = None,
    sigma: float = GAUSSIAN_SIGMA,
    seed: int = 0,
    batch_size: int = 512,
    per_image: bool = False,
):
    """Importance-weighted bound log (1/k) sum_i p(x, z_i) / q(z_i | x), z_i ~ q(z|x), in nats
    per image (Burda et al. 2016).  It is >= the ELBO in expectation, grows with ``k`` and tends
    to log p(x) as k -> infinity.  Same conventions as :func:`elbo`.  Memory: each decoder call
    gets ``batch_size // k`` images x ``k`` draws (k = 64, 64^2 images: 8 images, 25 MB)."""
    k = int(k)
    log_px, log_prior_ratio, _ = _log_weights(model, images, k, likelihood, sigma, seed, batch_size)
    value = special.logsumexp(log_px + log_prior_ratio, axis=1) - math.log(k)
    return value if per_image else float(value.mean())


# --------------------------------------------------------------------------------------
# Teaching device: distance from a face subspace
# --------------------------------------------------------------------------------------
@dataclass
class FaceSubspace:
    """A PCA basis of real faces and the median residual of held-out real faces.

    Teaching device, not a quality measure: an image is "face-like" when it lies close to the
    subspace spanned by the main components of real faces.  A blurred face lies inside the
    low-frequency part of that subspace and scores *better* than a sharp real face, and a
    collapsed generator that draws one mean face scores perfectly.  It rewards blur and must
    never be used alone; use the detector, diversity and sharpness measures above."""

    mean: np.ndarray  # (d,)
    basis: np.ndarray  # (k, d) orthonormal rows
    reference: float  # median residual energy per pixel of held-out real images

    @classmethod
    def fit(cls, train_images, heldout_images, n_components: int = 64) -> FaceSubspace:
        """Fit the basis on ``train_images``; calibrate on ``heldout_images`` (same image size)."""
        x = _flat(train_images)
        if len(x) < 2:
            raise ValueError("FaceSubspace.fit needs at least two training images")
        k = int(min(n_components, len(x) - 1, x.shape[1]))
        mean = x.mean(axis=0)
        # economy SVD of the centred data: rows of vt are the principal directions
        _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
        sub = cls(mean=mean, basis=vt[:k].astype(np.float32), reference=1.0)
        sub.reference = max(float(np.median(sub.residual(heldout_images))), 1e-12)
        return sub

    def residual(self, images) -> np.ndarray:
        """Mean squared residual per pixel after projecting each image onto the subspace."""
        x = _flat(images)
        if x.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"images have {x.shape[1]} values each, the subspace was fitted on "
                f"{self.mean.shape[0]}: use images of the same size and channels"
            )
        c = x - self.mean
        r = c - (c @ self.basis.T) @ self.basis
        return np.mean(r * r, axis=1)

    def distance(self, images) -> np.ndarray:
        """Manifold distance per image: residual / median residual of held-out real faces."""
        return self.residual(images) / self.reference

    def face_likeness(self, images, threshold: float = 2.0) -> float:
        """Share of images within ``threshold`` times the real faces' median distance.  A mean
        face passes: read it only next to :func:`diversity`."""
        return float(np.mean(self.distance(images) <= threshold))
