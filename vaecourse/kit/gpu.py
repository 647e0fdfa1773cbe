"""The series' GPU options (a VRAM cap, memory growth, XLA) and mixed precision, set once per
process before anything runs on the GPU.  Chapter X calls :func:`configure_gpu`; what it sets is
no part of what the chapter teaches, and without a GPU it sets nothing."""

from __future__ import annotations

import keras
import tensorflow as tf


def configure_gpu(
    memory_growth: bool = True,
    memory_limit_mb: int | None = None,
    mixed_precision: bool = False,
    xla: bool = False,
) -> dict:
    """GPU options of the series (VRAM cap, XLA) plus mixed precision.  All of them are
    no-ops without a GPU.  Call once, before anything runs on the GPU.  Returns what was set."""
    gpus = tf.config.list_physical_devices("GPU")
    applied = {
        "gpus": len(gpus),
        "memory_growth": False,
        "memory_limit_mb": None,
        "mixed_precision": False,
        "xla": False,
    }
    if not gpus:
        return applied
    try:
        if memory_limit_mb:  # a hard cap on the first GPU, as in the series (2048 MB)
            tf.config.set_logical_device_configuration(
                gpus[0], [tf.config.LogicalDeviceConfiguration(memory_limit=int(memory_limit_mb))]
            )
            applied["memory_limit_mb"] = int(memory_limit_mb)
        elif memory_growth:
            for gpu in gpus:
                tf.config.experimental.set_memory_growth(gpu, True)
            applied["memory_growth"] = True
    except RuntimeError as err:
        raise RuntimeError(
            "GPU memory options must be set before TensorFlow uses the GPU: "
            "restart the kernel and call configure_gpu() first"
        ) from err
    if mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
        applied["mixed_precision"] = True
    if xla:
        tf.config.optimizer.set_jit(True)
        applied["xla"] = True
    return applied
