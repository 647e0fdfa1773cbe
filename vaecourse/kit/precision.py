"""Mixed precision under the ``full`` profile on a GPU; float32 everywhere else.

* compute capability 8.0 or newer (A100, L4, H100, RTX 30xx/40xx): ``mixed_bfloat16`` --
  float32's range, so no loss scaling;
* 7.0 to 7.5 (V100, T4 -- Colab's free GPU): ``mixed_float16`` with loss scaling (Keras wraps
  the optimizer of a compiled model in a ``LossScaleOptimizer``; a custom ``train_step`` calls
  ``optimizer.scale_loss``);
* older GPUs (no tensor cores), any CPU, and the ``ci`` and ``book`` profiles: ``float32``.

The course's face models (every model :func:`vaecourse.kit.zoo.trained` builds) are built under
:func:`scope`: their layers keep the policy, the rest of a chapter stays float32, so the exact
comparisons of the KL chapters are untouched.  The models keep what must stay float32 in float32: the decoder's and the generator's final
activation, the discriminator's logit and the classifier's output layer are float32 layers, and
the KL divergence and the reconstruction loss cast to float32 before they sum
(``vaecourse.models``).  ``$VAECOURSE_PRECISION`` (``float32``, ``mixed_float16``,
``mixed_bfloat16``) overrides the choice, e.g. to measure one against the other.
"""

from __future__ import annotations

import contextlib
import os

ENV_PRECISION = "VAECOURSE_PRECISION"
POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


def policy_for(compute_capability) -> str:
    """The policy for a GPU of ``compute_capability`` (``(major, minor)``; None: no GPU)."""
    if not compute_capability:
        return "float32"
    cc = tuple(int(x) for x in compute_capability)
    if cc >= (8, 0):
        return "mixed_bfloat16"
    if cc >= (7, 0):
        return "mixed_float16"
    return "float32"


def gpu_compute_capability():
    """``(major, minor)`` of TensorFlow's first GPU, or None without one."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    return tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")


def choose(P) -> str:
    """The policy for profile ``P`` on this machine: mixed only under ``full`` on a GPU."""
    wanted = os.environ.get(ENV_PRECISION, "").strip()
    if wanted:
        if wanted not in POLICIES:
            raise ValueError(f"{ENV_PRECISION}={wanted!r}: use one of {', '.join(POLICIES)}")
        return wanted
    if not P.pick(ci=False, book=False, full=True):  # the series' sizes, meant for a GPU
        return "float32"
    return policy_for(gpu_compute_capability())


def setup(P) -> str:
    """Set Keras' global dtype policy for profile ``P`` (before any model is built); returns
    its name.  Idempotent."""
    import keras

    policy = choose(P)
    if keras.mixed_precision.dtype_policy().name != policy:
        keras.mixed_precision.set_dtype_policy(policy)
    return policy


@contextlib.contextmanager
def scope(P):
    """Build models under profile ``P``'s policy (:func:`choose`); the global policy is
    restored afterwards.  A layer keeps the policy it was built with, and ``compile`` wraps
    a ``mixed_float16`` model's optimizer for loss scaling."""
    import keras

    before = keras.mixed_precision.dtype_policy().name
    policy = choose(P)
    keras.mixed_precision.set_dtype_policy(policy)
    try:
        yield policy
    finally:
        keras.mixed_precision.set_dtype_policy(before)


#: The encoder's last layers: the latent codes the chapters study with NumPy stay float32.
FLOAT32_LAYERS = ("mu", "log_var", "z")


def float32_codes(model):
    """Give the layers of :data:`FLOAT32_LAYERS` in ``model``'s encoder the float32 policy, so
    that ``models.encode`` returns float32 codes (statistics of bfloat16 or float16 arrays in
    NumPy lose digits) and the KL sees float32 inputs.  Returns the model."""
    import keras

    # A subclassed VAE holds its encoder as an attribute; a functional one as its layer "encoder".
    named = [layer for layer in model.layers if layer.name == "encoder"]
    encoder = named[0] if named else getattr(model, "encoder", None)
    for layer in getattr(encoder, "layers", []):
        if layer.name in FLOAT32_LAYERS:
            layer.dtype_policy = keras.DTypePolicy("float32")
    return model
