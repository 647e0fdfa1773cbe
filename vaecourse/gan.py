"""A DC-GAN for the course's faces: the generative model chapter XIII compares the VAE with.

A frozen :class:`GANConfig` fixes the architecture; :func:`build_generator` and
:func:`build_discriminator` turn it into two functional models (the DC-GAN rules of Radford et
al., 2015: strided convolutions, no pooling; BN except on G's output and D's input; ReLU in G,
LeakyReLU 0.2 in D; N(0, 0.02) weights; Adam 2e-4, beta_1 0.5); :class:`DCGAN`'s
``train_step`` updates both.  ``fit`` logs ``d_loss`` (BCE of D on a real and a generated
batch), ``g_loss`` (non-saturating) and ``d_real`` / ``d_fake`` (mean D(x), D(G(z))); a balanced
game sits near ln 2 = 0.693 and 0.5.  Remedies for a discriminator that wins are config fields:
``label_smoothing``, ``instance_noise``, ``g_steps``, learning rates, ``spectral_norm``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from .models import decode, register


@dataclass(frozen=True)
class GANConfig:
    """(chapter XIII) Everything that defines a DC-GAN of the course.  Frozen: derive with ``replace``.

    ``filters`` are the discriminator's channels from the input side, e.g. (32, 64, 128, 256);
    the generator mirrors them (256 -> 128 -> 64 -> 32 ... -> image).  Each layer halves (D) or
    doubles (G) the map, so ``image_size`` must be divisible by ``2 ** len(filters)``: 32 with
    two layers starts the generator from 8x8, 64 with four from 4x4, 96 with four from 6x6.
    """

    name: str = "dcgan"
    image_size: int = 64
    channels: int = 3
    z_dim: int = 128
    filters: tuple = (32, 64, 128, 256)
    kernel_size: int = 4
    leaky_slope: float = 0.2
    output_activation: str = "sigmoid"  # sigmoid for [0, 1] data, tanh for [-1, 1] data
    g_learning_rate: float = 2e-4
    d_learning_rate: float = 2e-4
    beta_1: float = 0.5
    label_smoothing: float = 0.0  # real labels become 1 - label_smoothing
    init_stddev: float = 0.02
    upsample: str = "transpose"  # "transpose" (Conv2DTranspose) or "resize" (UpSampling + Conv)
    instance_noise: float = 0.0  # std of Gaussian noise added to every image D sees (data units)
    g_steps: int = 1  # generator updates per batch (the discriminator makes one)
    spectral_norm: bool = False  # SpectralNormalization around D's layers, which then has no BN

    def __post_init__(self):
        object.__setattr__(self, "filters", tuple(int(f) for f in self.filters))
        if not self.filters:
            raise ValueError("GANConfig.filters is empty: give at least one filter count")
        if self.output_activation not in ("sigmoid", "tanh"):
            raise ValueError(
                f"GANConfig.output_activation={self.output_activation!r}: "
                "use 'sigmoid' for [0, 1] data or 'tanh' for [-1, 1] data"
            )
        step = 2 ** len(self.filters)
        if self.image_size % step:
            raise ValueError(
                f"image_size {self.image_size} is not divisible by 2**{len(self.filters)}"
                f" = {step}: use fewer filters or another image size"
            )
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ValueError(f"label_smoothing={self.label_smoothing}: use a value in [0, 0.5)")
        if self.upsample not in ("transpose", "resize"):
            raise ValueError(f"GANConfig.upsample={self.upsample!r}: use 'transpose' or 'resize'")
        if self.instance_noise < 0 or int(self.g_steps) < 1:
            raise ValueError("instance_noise must be >= 0 and g_steps >= 1")
        object.__setattr__(self, "g_steps", int(self.g_steps))

    @property
    def base_size(self) -> int:  # side of G's first feature map (and D's last)
        return self.image_size // 2 ** len(self.filters)

    @property
    def image_shape(self) -> tuple:
        return (self.image_size, self.image_size, self.channels)

    @property
    def scale(self) -> str:  # the make_dataset scale that matches the generator's output
        return "pm1" if self.output_activation == "tanh" else "01"

    def replace(self, **changes) -> GANConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def describe(self) -> str:
        s, b = self.image_size, self.base_size
        g = "-".join(map(str, reversed(self.filters)))
        d = "-".join(map(str, self.filters))
        extras = [
            f"label smoothing {self.label_smoothing:g}" if self.label_smoothing else "",
            f"instance noise {self.instance_noise:g}" if self.instance_noise else "",
            f"{self.g_steps} G steps per batch" if self.g_steps > 1 else "",
            "spectral norm in D" if self.spectral_norm else "",
        ]
        up = "resize-conv" if self.upsample == "resize" else "conv-transpose"
        return (
            f"DC-GAN {self.name}: z {self.z_dim} -> {b}x{b} -> G {g} ({up}) -> "
            f"{s}x{s}x{self.channels} {self.output_activation} | D {d} -> 1 logit | Adam lr G "
            f"{self.g_learning_rate:g} D {self.d_learning_rate:g} beta_1 {self.beta_1:g}"
            + "".join(f" | {e}" for e in extras if e)
        )


def config_from_profile(profile, **overrides) -> GANConfig:
    """(chapter XIII) The DC-GAN at a run profile's image size, latent size and filters (``overrides`` win)."""
    cfg = dict(image_size=profile.image_size, z_dim=profile.z_dim, filters=tuple(profile.filters))
    cfg.update(overrides)
    return GANConfig(**cfg)


#: Kernel of the convolution after each 2x nearest-neighbour resize (``upsample="resize"``):
#: 3x3 covers the duplicated pixels symmetrically and costs 9/16 of a 4x4 kernel at that size.
RESIZE_KERNEL = 3


def _init(config: GANConfig):
    return keras.initializers.RandomNormal(0.0, config.init_stddev)


def upsample(x, filters: int, config: GANConfig, i: int, bias: bool):
    """(chapter XIII) Double the map's side: layer ``i`` of the generator.

    ``"transpose"``: a stride-2 transposed convolution.  Each output pixel is a sum over the
    kernel taps that land on it, and which taps land depends on the pixel's position modulo
    2: four interleaved sub-images, each with its own effective kernel.  Unless training makes
    the four agree, they differ in brightness -- a checkerboard of period 2.
    ``"resize"``: nearest-neighbour upsampling, then an ordinary convolution; every output
    pixel sees the same kernel, so no period-2 pattern is built in."""
    if config.upsample == "resize":
        x = layers.UpSampling2D(2, interpolation="nearest", name=f"generator_resize_{i}")(x)
        return layers.Conv2D(
            filters,
            RESIZE_KERNEL,
            padding="same",
            use_bias=bias,
            kernel_initializer=_init(config),
            name=f"generator_conv_{i}",
        )(x)
    return layers.Conv2DTranspose(
        filters,
        config.kernel_size,
        strides=2,
        padding="same",
        use_bias=bias,
        kernel_initializer=_init(config),
        name=f"generator_conv_t_{i}",
    )(x)


def build_generator(config: GANConfig) -> keras.Model:
    """(chapter XIII) z -> Dense -> (base x base x F) -> [upsample x2 -> BN -> ReLU] ... -> upsample -> image."""
    b, rev = config.base_size, tuple(reversed(config.filters))
    z_in = keras.Input((config.z_dim,), name="generator_input")
    x = layers.Dense(
        b * b * rev[0], use_bias=False, kernel_initializer=_init(config), name="generator_dense"
    )(z_in)
    x = layers.Reshape((b, b, rev[0]), name="generator_reshape")(x)
    x = layers.BatchNormalization(name="generator_dense_bn")(x)
    x = layers.ReLU(name="generator_dense_act")(x)
    for i, f in enumerate(rev[1:]):
        x = upsample(x, f, config, i, bias=False)  # BN follows: no bias
        x = layers.BatchNormalization(name=f"generator_{i}_bn")(x)
        x = layers.ReLU(name=f"generator_{i}_act")(x)
    x = upsample(x, config.channels, config, len(rev) - 1, bias=True)
    out = layers.Activation(config.output_activation, dtype="float32", name="generator_output")(x)
    return keras.Model(z_in, out, name="generator")


def build_discriminator(config: GANConfig) -> keras.Model:
    """(chapter XIII) image -> [Conv stride 2 -> (BN) -> LeakyReLU] ... -> Flatten -> Dense(1): a logit.

    With ``spectral_norm`` every Conv2D and the Dense are wrapped in Keras'
    ``SpectralNormalization`` (each weight matrix divided by its largest singular value, so D
    cannot make its output change faster than its input) and D has no BatchNormalization."""

    def sn(layer):
        if not config.spectral_norm:
            return layer
        return layers.SpectralNormalization(layer, name=f"{layer.name}_sn")

    x_in = keras.Input(config.image_shape, name="discriminator_input")
    x = x_in
    for i, f in enumerate(config.filters):
        bn = i > 0 and not config.spectral_norm  # DC-GAN: no BN on the input layer
        x = sn(
            layers.Conv2D(
                f,
                config.kernel_size,
                strides=2,
                padding="same",
                use_bias=not bn,
                kernel_initializer=_init(config),
                name=f"discriminator_conv_{i}",
            )
        )(x)
        if bn:
            x = layers.BatchNormalization(name=f"discriminator_{i}_bn")(x)
        x = layers.LeakyReLU(negative_slope=config.leaky_slope, name=f"discriminator_{i}_act")(x)
    x = layers.Flatten(name="discriminator_flatten")(x)
    logit = sn(
        layers.Dense(
            1, kernel_initializer=_init(config), dtype="float32", name="discriminator_logit"
        )
    )(x)
    return keras.Model(x_in, logit, name="discriminator")


def count_params_by_hand(config: GANConfig) -> dict:
    """(chapter XIII) Parameter counts from the layer formulas (BN counts 4 per channel: gamma, beta and the
    two moving statistics; spectral normalisation keeps one vector u of the output size per
    layer), for checking the builders and for teaching."""
    k2, b, c, f = config.kernel_size**2, config.base_size, config.channels, config.filters
    up_k2 = RESIZE_KERNEL**2 if config.upsample == "resize" else k2
    rev = tuple(reversed(f))
    g = config.z_dim * b * b * rev[0] + 4 * rev[0]  # Dense (no bias) + BN
    for f_in, f_out in zip(rev[:-1], rev[1:]):
        g += up_k2 * f_in * f_out + 4 * f_out  # (transposed) conv, no bias, + BN
    g += up_k2 * rev[-1] * c + c  # output (transposed) conv + bias
    sn = config.spectral_norm
    d = k2 * c * f[0] + f[0] + (f[0] if sn else 0)  # first conv + bias (+ u)
    for f_in, f_out in zip(f[:-1], f[1:]):
        d += k2 * f_in * f_out + (2 * f_out if sn else 4 * f_out)  # conv + (bias + u | BN)
    d += b * b * f[-1] + 1 + (1 if sn else 0)  # Dense to one logit (+ u)
    return {"generator": g, "discriminator": d}


@register
class DCGAN(keras.Model):
    """(chapter XIII) Generator + discriminator, trained by ``fit`` with one ``train_step`` per batch:
    first the discriminator on a real and a generated batch, then the generator through the
    (fixed) discriminator.  ``gan.generator`` maps z ~ N(0, I) to images (what
    :func:`vaecourse.models.decode` calls for a GAN)."""

    def __init__(self, config: GANConfig | None = None, seed=None, **kwargs):
        config = config or GANConfig()
        kwargs.setdefault("name", config.name)
        super().__init__(**kwargs)
        self.gan_config = config
        self.seed = seed
        self.generator = build_generator(config)
        self.discriminator = build_discriminator(config)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {
            k: keras.metrics.Mean(name=k) for k in ("d_loss", "g_loss", "d_real", "d_fake")
        }
        self.built = True  # both networks are functional models, built above

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        cfg = self.gan_config
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(
            cfg.d_learning_rate, beta_1=cfg.beta_1
        )
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(
            cfg.g_learning_rate, beta_1=cfg.beta_1
        )
        if self.dtype_policy.name == "mixed_float16":  # float16 gradients need loss scaling
            self.d_optimizer = keras.optimizers.LossScaleOptimizer(self.d_optimizer)
            self.g_optimizer = keras.optimizers.LossScaleOptimizer(self.g_optimizer)
        # The generator's optimizer doubles as ``model.optimizer`` (what Keras and the course's
        # persistence code look for).  Both are built now, so saved weights always carry their state.
        super().compile(optimizer=self.g_optimizer, **kwargs)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def get_compile_config(self):
        # the optimizers follow from the GANConfig; a loaded .keras model is compiled again
        return {"compiled": True}

    def compile_from_config(self, config):
        if config:
            self.compile()

    @property
    def metrics(self):
        return list(self.trackers.values())

    def _bce(self, labels, logits):
        return ops.mean(ops.binary_crossentropy(labels, logits, from_logits=True))

    def with_instance_noise(self, images):
        """What D sees: the images plus instance noise (real and generated alike), so the two
        distributions overlap and D cannot separate them perfectly."""
        sigma = self.gan_config.instance_noise
        if not sigma:
            return images
        return images + sigma * keras.random.normal(ops.shape(images), seed=self.seed_generator)

    def train_step(self, data):
        real = data[0] if isinstance(data, (tuple, list)) else data
        real = ops.cast(real, "float32")
        n = ops.shape(real)[0]
        cfg = self.gan_config
        # 1) discriminator: real images -> 1 (or 1 - smoothing), generated images -> 0
        z = keras.random.normal((n, cfg.z_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            real_logits = self.discriminator(self.with_instance_noise(real), training=True)
            fake_logits = self.discriminator(self.with_instance_noise(fake), training=True)
            d_loss = 0.5 * (
                self._bce(ops.full_like(real_logits, 1.0 - cfg.label_smoothing), real_logits)
                + self._bce(ops.zeros_like(fake_logits), fake_logits)
            )
            scaled = self.d_optimizer.scale_loss(d_loss)  # no-op without mixed_float16
        grads = tape.gradient(scaled, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))
        # 2) generator (g_steps times): make D call fresh samples real (non-saturating loss)
        for _ in range(cfg.g_steps):
            z = keras.random.normal((n, cfg.z_dim), seed=self.seed_generator)
            with tf.GradientTape() as tape:
                fake_g = self.with_instance_noise(self.generator(z, training=True))
                fake_logits_g = self.discriminator(fake_g, training=True)
                g_loss = self._bce(ops.ones_like(fake_logits_g), fake_logits_g)
                scaled = self.g_optimizer.scale_loss(g_loss)
            grads = tape.gradient(scaled, self.generator.trainable_variables)
            self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        self.trackers["d_loss"].update_state(d_loss)
        self.trackers["g_loss"].update_state(g_loss)
        self.trackers["d_real"].update_state(ops.mean(ops.sigmoid(real_logits)))
        self.trackers["d_fake"].update_state(ops.mean(ops.sigmoid(fake_logits)))
        return {k: t.result() for k, t in self.trackers.items()}

    def get_config(self):
        return {**super().get_config(), "config": self.gan_config.to_dict(), "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        gan_cfg = GANConfig(**config.pop("config"))
        return cls(gan_cfg, **config)


def build_gan(config: GANConfig, seed=None, compile: bool = True) -> DCGAN:
    """(chapter XIII) A (compiled) :class:`DCGAN` for ``config``."""
    gan = DCGAN(config, seed=seed)
    if compile:
        gan.compile()
    return gan


class SampleQuality(keras.callbacks.Callback):
    """(chapter XIII) Measures the generator's samples from fixed latent points ``z`` after every epoch:
    what the two losses of a GAN do not tell.  ``measures`` maps a name to a function of a
    batch of images in [0, 1] (e.g. :func:`vaecourse.kit.measures.face_detection_rate`)
    that returns a number; ``values[name]`` keeps one per epoch, and
    :func:`vaecourse.kit.fitting.fit_gan` stores them in the history as ``sample_<name>``."""

    def __init__(self, z, measures: dict):
        super().__init__()
        self.z = np.asarray(z, dtype="float32")
        self.measures = dict(measures)
        self.values = {name: [] for name in self.measures}

    def on_epoch_end(self, epoch, logs=None):
        images = decode(self.model, self.z)
        for name, measure in self.measures.items():
            self.values[name].append(float(measure(images)))
