"""Measuring input pipelines: images per second and the memory a pipeline needs.

    rate = measure.throughput(dataset, n_images=2000)          # in this process
    res = measure.feed("tfdata", images="faces.npy", n_images=2000)   # a fresh process
    mem = measure.training_memory(cfg, hidden=256, steps=3)    # chapter XII, a fresh process

:func:`throughput` times how fast an iterable of batches delivers images (after a warm-up
batch, which pays for tracing and opening files).  Memory is harder to measure in a
notebook: the kernel already holds TensorFlow, models and earlier data, and Python rarely
gives memory back.  :func:`feed_in_subprocess` therefore builds one pipeline in a fresh
Python process (through :mod:`vaecourse.kit.isolated`) and reports its resident memory (RSS)
after the imports, and the peak RSS while it fed batches (the peak counter is reset after the imports, where Linux allows it) --
the difference is what the pipeline itself costs.

The three ways of feeding batches (see :mod:`vaecourse.kit.data.pipelines`):

* ``"files"`` -- the file-streaming Python generator of the "VAE for CelebA" tutorial
  (decode, crop and resize JPEG files batch by batch);
* ``"flow"`` -- the series' ``ImageDataGenerator().flow(x)`` (Keras 2, via ``tf_keras``),
  which first copies the whole array to float32 in RAM;
* ``"tfdata"`` -- the course's ``tf.data`` pipeline over a uint8 memory map.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import asdict, dataclass

from . import isolated

KINDS = ("files", "flow", "tfdata")
LABELS = {
    "files": "file-streaming generator",
    "flow": "ImageDataGenerator.flow",
    "tfdata": "tf.data over a memmap",
}


@dataclass
class Rate:
    """What :func:`throughput` measured."""

    images: int
    seconds: float

    @property
    def img_per_s(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else float("inf")


def _batch_size(batch) -> int:
    x = batch[0] if isinstance(batch, (tuple, list)) else batch
    return int(x.shape[0])


def throughput(iterable, n_images: int, warmup: int = 1) -> Rate:
    """Images per second an iterable of batches delivers, over about ``n_images`` images
    after ``warmup`` batches (not timed).  Stops early if the iterable ends."""
    it = iter(iterable)
    for _ in range(int(warmup)):
        next(it)
    seen, t0 = 0, time.perf_counter()
    while seen < n_images:
        try:
            batch = next(it)
        except StopIteration:
            break
        seen += _batch_size(batch)
    return Rate(seen, time.perf_counter() - t0)


def rss_mb() -> float:
    """Resident memory of this process now, in MiB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MiB: since the last :func:`reset_peak_rss`
    where Linux allows the reset, else since the process started."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def reset_peak_rss() -> bool:
    """Start a new peak-RSS measurement (Linux: ``echo 5 > /proc/self/clear_refs``).
    Importing TensorFlow briefly needs more memory than it keeps; without the reset that
    import peak would hide the pipeline's.  Returns False where the reset is unavailable."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


@dataclass
class FeedResult:
    """One pipeline measured in its own process."""

    kind: str
    img_per_s: float
    images: int
    seconds: float
    base_rss_mb: float  # after importing TensorFlow, before the pipeline exists
    peak_rss_mb: float  # the most the process ever held
    data_mb: float  # the uint8 images the pipeline reads (0 for files)

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    @property
    def extra_mb(self) -> float:
        """Peak RSS above the baseline: what the pipeline cost."""
        return max(0.0, self.peak_rss_mb - self.base_rss_mb)


def _build(kind, images, paths, size, batch_size, seed):
    import numpy as np

    from .data import pipelines

    if kind == "files":
        return pipelines.stream_from_files(
            paths, batch_size, size=size, scale="01", target="x", seed=seed
        ), 0.0
    x = np.load(images, mmap_mode="r")
    if kind == "flow":
        return pipelines.legacy_flow(x, batch_size, seed=seed), x.nbytes / 2**20
    if kind == "tfdata":
        return (
            pipelines.make_dataset(x, batch_size, seed=seed, target="x", repeat=True),
            x.nbytes / 2**20,
        )
    raise ValueError(f"unknown pipeline {kind!r}: choose one of {KINDS}")


def feed_in_process(
    kind: str,
    *,
    images=None,
    paths=None,
    size: int = 64,
    batch_size: int = 128,
    n_images: int = 2000,
    seed: int = 0,
) -> FeedResult:
    """Like :func:`feed_in_subprocess`, but in this process (no start-up cost): the baseline
    is the RSS before the pipeline is built, the peak the largest RSS seen after building
    it and after every batch.  Cheaper, but rougher: memory an earlier measurement left
    behind raises the baseline, and a brief peak between two samples is missed."""
    _check(kind, images, paths)
    base = rss_mb()
    source, data_mb = _build(
        kind,
        None if images is None else str(images),
        [str(p) for p in (paths or [])],
        size,
        batch_size,
        seed,
    )
    peak = [max(base, rss_mb())]

    def sampled():
        for batch in source:
            peak[0] = max(peak[0], rss_mb())
            yield batch

    rate = throughput(sampled(), n_images)
    return FeedResult(
        kind,
        round(rate.img_per_s, 1),
        rate.images,
        round(rate.seconds, 3),
        round(base, 1),
        round(peak[0], 1),
        round(data_mb, 1),
    )


def _check(kind, images, paths):
    if kind not in KINDS:
        raise ValueError(f"unknown pipeline {kind!r}: choose one of {KINDS}")
    if kind == "files" and not paths:
        raise ValueError("the 'files' pipeline needs paths=[...] of image files")
    if kind != "files" and images is None:
        raise ValueError(f"the {kind!r} pipeline needs images=... (a .npy file)")


def feed(kind: str, *, isolated: bool = True, **kwargs) -> FeedResult:
    """:func:`feed_in_subprocess` (``isolated``) or :func:`feed_in_process`."""
    return (feed_in_subprocess if isolated else feed_in_process)(kind, **kwargs)


def feed_child(**spec) -> dict:
    """Runs in the fresh process: import, note the baseline, build, feed, report."""
    import tensorflow  # noqa: F401  (every pipeline pays for it; not counted as its cost)

    if spec["kind"] == "flow":
        import tf_keras  # noqa: F401
    import gc

    gc.collect()
    reset_peak_rss()
    base = rss_mb()
    source, data_mb = _build(
        spec["kind"], spec["images"], spec["paths"], spec["size"], spec["batch_size"], spec["seed"]
    )
    sampled = [rss_mb()]

    def watched():
        for batch in source:
            sampled.append(rss_mb())
            yield batch

    rate = throughput(watched(), spec["n_images"])
    peak = max(max(sampled), peak_rss_mb())
    return asdict(
        FeedResult(
            spec["kind"],
            round(rate.img_per_s, 1),
            rate.images,
            round(rate.seconds, 3),
            round(base, 1),
            round(peak, 1),
            round(data_mb, 1),
        )
    )


def feed_in_subprocess(
    kind: str,
    *,
    images=None,
    paths=None,
    size: int = 64,
    batch_size: int = 128,
    n_images: int = 2000,
    seed: int = 0,
    timeout: float = 600,
) -> FeedResult:
    """Measure pipeline ``kind`` (one of :data:`KINDS`) in a fresh Python process.

    ``images``: a ``.npy`` file of uint8 images (for ``"flow"`` and ``"tfdata"``);
    ``paths``: image files (for ``"files"``, cropped and resized to ``size``).
    """
    _check(kind, images, paths)
    spec = {
        "kind": kind,
        "images": None if images is None else str(images),
        "paths": [str(p) for p in (paths or [])],
        "size": int(size),
        "batch_size": int(batch_size),
        "n_images": int(n_images),
        "seed": int(seed),
    }
    return FeedResult(**isolated.run(f"{__name__}:feed_child", spec, timeout))


# --- Chapter XII: the memory a training step needs ---------------------------------------
def training_memory_child(config: dict, hidden, steps: int, batch_size: int) -> dict:
    """Runs in the fresh process: build the (dense-head) VAE, train ``steps`` batches."""
    import numpy as np
    import psutil
    import tensorflow as tf

    from vaecourse import bottleneck, mechanisms, models

    cfg = models.VAEConfig.from_dict(config)
    x = np.random.default_rng(0).random((batch_size * steps,) + tuple(cfg.input_shape))
    x = x.astype("float32")
    before = psutil.Process().memory_info().rss
    vae = bottleneck.build_dense_vae(cfg, hidden) if hidden else mechanisms.build_vae(cfg)
    vae.fit(x, epochs=1, batch_size=batch_size, verbose=0, shuffle=False)
    gpu = None
    if tf.config.list_physical_devices("GPU"):
        gpu = tf.config.experimental.get_memory_info("GPU:0")["peak"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB
    return {
        "peak_rss": peak,
        "rss_before_model": before,
        "params": int(vae.count_params()),
        "gpu_peak": gpu,
    }


def training_memory(
    config, hidden: int | None = None, steps: int = 3, batch_size: int = 32, timeout: float = 600
) -> dict:
    """Train ``steps`` batches of random images in a fresh Python process and return its
    memory in MiB: ``peak`` (peak resident set size of the whole process), ``before_model``
    (after importing TensorFlow and making the data), ``growth`` = peak - before_model, and
    ``gpu_peak`` (TensorFlow's peak GPU memory, None without a GPU).

    A fresh process per variant keeps one measurement from inheriting the other's memory.
    On a GPU the interesting number is ``gpu_peak``; on a CPU it is the host memory.
    """
    args = {
        "config": config.to_dict(),
        "hidden": hidden,
        "steps": int(steps),
        "batch_size": int(batch_size),
    }
    out = isolated.run(f"{__name__}:training_memory_child", args, timeout, cpu_only=False)
    mib = 1024.0 * 1024.0
    return {
        "peak": out["peak_rss"] / mib,
        "before_model": out["rss_before_model"] / mib,
        "growth": (out["peak_rss"] - out["rss_before_model"]) / mib,
        "params": out["params"],
        "gpu_peak": None if out["gpu_peak"] is None else out["gpu_peak"] / mib,
    }
