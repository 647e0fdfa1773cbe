"""Three ways to feed image batches to a model, for training and for comparing them.

* :func:`make_dataset` -- the course's standard: a ``tf.data`` pipeline over a uint8
  array (usually a memory map).  It shuffles *indices*, gathers one batch of images at a
  time, converts uint8 to float32 on the fly and prefetches.  RAM holds a few batches,
  never the data set: CelebA at 96x96 is 5.6 GB as uint8 and 22 GB as float32.
* :func:`stream_from_files` -- a Python generator that reads image files batch by batch,
  the technique of the "VAE for CelebA" tutorial (random files with replacement, values
  on [-1, 1]).  :func:`files_dataset` wraps it for ``tf.data``.
* :func:`legacy_flow` -- the series' ``ImageDataGenerator().flow(x_train)``, which only
  exists in legacy Keras 2 (the ``tf_keras`` package).  It converts the *whole* array to
  float32 first, so it is guarded against arrays that would not fit in RAM.

TensorFlow is imported inside the functions, so importing :mod:`vaecourse.kit.data` is quick.
"""

from __future__ import annotations

import sys

import numpy as np

SCALES = ("01", "pm1", "none")
TARGETS = ("x", "xx", "attrs")


def _check(scale, target, attrs, n):
    if scale not in SCALES:
        raise ValueError(
            f"scale must be one of {SCALES}: '01' -> [0, 1], 'pm1' -> [-1, 1] "
            f"(for a tanh decoder), 'none' -> uint8 as stored; got {scale!r}"
        )
    if target not in TARGETS:
        raise ValueError(
            f"target must be one of {TARGETS}: 'x' yields x (models whose "
            f"train_step computes the loss), 'xx' yields (x, x) (fit with a "
            f"reconstruction loss), 'attrs' yields (x, attrs); got {target!r}"
        )
    if target == "attrs":
        if attrs is None:
            raise ValueError("target='attrs' needs attrs=... (an (n, k) array)")
        if len(attrs) != n:
            raise ValueError(f"attrs has {len(attrs)} rows but there are {n} images")


def to_float(x: np.ndarray, scale: str = "01") -> np.ndarray:
    """uint8 images -> float32 on [0, 1] (``"01"``) or [-1, 1] (``"pm1"``), in numpy."""
    x = np.asarray(x)
    if scale == "none":
        return x
    if x.dtype != np.uint8:
        raise ValueError(f"to_float expects uint8 images, got {x.dtype}")
    x = x.astype(np.float32)
    return x / 255.0 if scale == "01" else x / 127.5 - 1.0


def make_dataset(
    images: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = True,
    seed: int | None = None,
    scale: str = "01",
    target: str = "xx",
    attrs: np.ndarray | None = None,
    drop_remainder: bool = False,
    repeat: bool = False,
    prefetch: bool = True,
):
    """A ``tf.data.Dataset`` of float32 batches from an image array of shape (n, h, w, c).

    uint8 images are scaled per ``scale``; float images pass through unchanged.  On a GPU,
    ``scale="none"`` plus a ``keras.layers.Rescaling`` layer in the model moves the float
    conversion onto the accelerator and quarters the bytes the pipeline moves.
    ``target``: ``"xx"`` -> (x, x), ``"x"`` -> x, ``"attrs"`` -> (x, attrs as float32).
    With ``shuffle`` the order changes every epoch (reproducibly, given ``seed``).
    """
    import tensorflow as tf

    images_ = images
    n = len(images_)
    if n == 0:
        raise ValueError("cannot make a data set from 0 images")
    if images_.ndim != 4:
        raise ValueError(f"expected images of shape (n, h, w, c), got {images_.shape}")
    _check(scale, target, attrs, n)
    batch_size = int(batch_size)
    is_uint8 = images_.dtype == np.uint8
    attrs_ = None if attrs is None else np.asarray(attrs)

    def gather(idx):
        # sorted indices read a memory map front to back; order inside a batch is moot
        idx = np.sort(idx)
        x = images_[idx]
        if target == "attrs":
            return x, attrs_[idx].astype(np.float32)
        return x

    ds = tf.data.Dataset.range(n)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    x_dtype = tf.as_dtype(images_.dtype)
    item = tuple(images_.shape[1:])

    def load(idx):
        if target == "attrs":
            x, y = tf.numpy_function(gather, [idx], (x_dtype, tf.float32))
            y.set_shape((None, attrs_.shape[1]))
            x.set_shape((None,) + item)
            return x, y
        x = tf.numpy_function(gather, [idx], x_dtype)
        x.set_shape((None,) + item)
        return x

    def convert(x, y=None):
        # a separate map: TF runs the conversion on its own threads, without the GIL
        if is_uint8 and scale != "none":
            x = tf.cast(x, tf.float32)
            x = x * (1 / 255.0) if scale == "01" else x * (1 / 127.5) - 1.0
        elif not is_uint8:
            x = tf.cast(x, tf.float32)
        if target == "x":
            return x
        return (x, x) if target == "xx" else (x, y)

    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if repeat:
        ds = ds.repeat()
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    # batches are GLOBAL batches; on several workers each reads them all and keeps its share
    # (no files to split: FILE sharding cannot apply, see vaecourse.distribute.dataset)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


# ----------------------------------------------------------------------------- files
def _load_file(path, size):
    """One image file as uint8 RGB: cropped/resized like CelebA when ``size`` is given."""
    if size is not None:
        from .celeba import decode_face

        return decode_face(str(path), size)[0]
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), np.uint8)


def stream_from_files(
    paths,
    batch_size: int = 32,
    *,
    size: int | None = None,
    scale: str = "pm1",
    target: str = "xx",
    labels: np.ndarray | None = None,
    seed: int | None = None,
    replace: bool = True,
    forever: bool = True,
    stats: dict | None = None,
):
    """Yield float32 batches read from image files, as the "VAE for CelebA" tutorial did.

    Each batch draws ``batch_size`` random files (with replacement, as the tutorial; with
    ``replace=False`` an epoch visits every file once, reshuffled).  ``size`` crops and
    resizes like the prepared CelebA; without it the files are used as they are (all must
    have one size).  ``forever=False`` stops after about one epoch of batches.  A file
    that cannot be read is skipped, counted in ``stats["skipped"]`` and reported once;
    ``stats["images"]`` counts the images delivered.
    """
    from .celeba import SkipImage

    paths = [str(p) for p in paths]
    n = len(paths)
    if n == 0:
        raise ValueError("stream_from_files got no file paths")
    _check(scale, target, labels, n)
    stats = {} if stats is None else stats
    stats.setdefault("skipped", {})
    stats.setdefault("images", 0)
    rng = np.random.default_rng(seed)
    steps = -(-n // batch_size)
    reported = set()
    while True:
        order = None if replace else rng.permutation(n)
        for step in range(steps):
            if replace:
                pick = rng.choice(n, size=batch_size)
            else:
                pick = order[step * batch_size : (step + 1) * batch_size]
            xs, kept = [], []
            for i in pick:
                try:
                    xs.append(_load_file(paths[i], size))
                    kept.append(i)
                except (SkipImage, OSError, ValueError) as e:
                    reason = getattr(e, "reason", type(e).__name__)
                    stats["skipped"][reason] = stats["skipped"].get(reason, 0) + 1
                    if paths[i] not in reported:
                        reported.add(paths[i])
                        print(f"stream_from_files: skipped {paths[i]} ({e})", file=sys.stderr)
            if not xs:
                continue
            try:
                x = to_float(np.stack(xs), scale)
            except ValueError as e:
                raise ValueError(
                    "files of different sizes: pass size=... to crop and resize them"
                ) from e
            stats["images"] += len(xs)
            if target == "x":
                yield x
            elif target == "xx":
                yield x, x
            else:
                yield x, np.asarray(labels)[kept].astype(np.float32)
        if not forever:
            return


def files_dataset(
    paths,
    batch_size: int = 32,
    *,
    size: int,
    scale: str = "pm1",
    target: str = "xx",
    seed: int | None = None,
    replace: bool = True,
    forever: bool = False,
    stats: dict | None = None,
):
    """:func:`stream_from_files` as a ``tf.data.Dataset`` (one epoch unless ``forever``)."""
    import tensorflow as tf

    if target not in ("x", "xx"):
        raise ValueError("files_dataset supports target 'x' or 'xx'")
    spec = tf.TensorSpec((None, size, size, 3), tf.float32)
    signature = spec if target == "x" else (spec, spec)
    return tf.data.Dataset.from_generator(
        lambda: stream_from_files(
            paths,
            batch_size,
            size=size,
            scale=scale,
            target=target,
            seed=seed,
            replace=replace,
            forever=forever,
            stats=stats,
        ),
        output_signature=signature,
    )


# ----------------------------------------------------------------------------- legacy
def legacy_flow(
    images: np.ndarray,
    batch_size: int = 128,
    *,
    shuffle: bool = True,
    seed: int | None = None,
    scale: str = "01",
    ram_fraction: float = 0.5,
):
    """The series' ``ImageDataGenerator().flow(x_train, batch_size=..., shuffle=True)``.

    Needs the ``tf_keras`` package (Keras 2), where ``ImageDataGenerator`` still lives.
    Returns the iterator; wrap it with :func:`as_generator` for Keras 3's ``fit``.  It
    copies all of ``images`` to float32 up front, so it refuses arrays whose copy would
    take more than ``ram_fraction`` of the available memory.
    """
    try:
        from tf_keras.preprocessing.image import ImageDataGenerator
    except ImportError as e:
        raise ImportError(
            "legacy_flow needs Keras 2's ImageDataGenerator: "
            "pip install tf_keras (it is in requirements.txt)"
        ) from e
    import psutil

    _check(scale, "x", None, len(images))
    need = images.size * 4
    avail = psutil.virtual_memory().available
    if need > ram_fraction * avail:
        raise MemoryError(
            f"ImageDataGenerator.flow would copy {len(images):,} images to "
            f"float32 ({need / 1e9:.1f} GB) but only {avail / 1e9:.1f} GB "
            f"are free.  Pass a slice (images[:k]) or use make_dataset, "
            f"which reads one batch at a time."
        )
    kw = {}
    if scale == "01":
        kw["rescale"] = 1 / 255.0
    elif scale == "pm1":
        kw["preprocessing_function"] = lambda x: x / 127.5 - 1.0
    return ImageDataGenerator(**kw).flow(images, batch_size=batch_size, shuffle=shuffle, seed=seed)


def as_generator(iterator, target: str = "x"):
    """Yield batches from a Keras-2 iterator forever, as x or (x, x) for Keras 3 ``fit``."""
    while True:
        x = next(iterator)
        yield x if target == "x" else (x, x)
