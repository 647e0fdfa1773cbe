"""A DC-GAN for the course's faces: the generative model chapter XIII compares the VAE with.

A frozen :class:`GANConfig` fixes the architecture; :func:`build_generator` and
:func:`build_discriminator` turn it into two functional Keras models with named layers, in the
same builder style as :mod:`vaecourse.models`; :class:`DCGAN` joins them into one
``keras.Model`` whose ``train_step`` updates both networks, so ``fit`` on the course's
``make_dataset(..., target="x")`` pipeline trains it.

The DC-GAN rules (Radford, Metz & Chintala, 2015) the builders follow:

* no pooling: the discriminator downsamples with strided convolutions, the generator upsamples
  with strided transposed convolutions;
* BatchNormalization in both networks, except on the generator's output layer and the
  discriminator's input layer;
* ReLU in the generator, LeakyReLU (slope 0.2) in the discriminator;
* the generator's output activation matches the data: sigmoid for [0, 1] images (the course's
  default), tanh for [-1, 1] images;
* weights drawn from N(0, 0.02), Adam with learning rate 2e-4 and beta_1 = 0.5.

Losses (logged per epoch by ``fit``):

* ``d_loss``: binary cross-entropy of the discriminator on a real batch (labelled 1, or
  ``1 - label_smoothing``) and a generated batch (labelled 0), the mean of the two halves;
* ``g_loss``: the non-saturating generator loss, BCE of D(G(z)) against the label 1;
* ``d_real`` / ``d_fake``: the mean probability D gives real and generated images.  A balanced
  game sits near d_loss = g_loss = ln 2 = 0.693 and D(x) = D(G(z)) = 0.5.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import keras
import tensorflow as tf
from keras import layers, ops

from .models import register


@dataclass(frozen=True)
class GANConfig:
    """Everything that defines a DC-GAN of the course.  Frozen: derive with ``replace``.

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

    @property
    def base_size(self) -> int:
        """Side of the generator's first feature map (and the discriminator's last)."""
        return self.image_size // 2 ** len(self.filters)

    @property
    def image_shape(self) -> tuple:
        return (self.image_size, self.image_size, self.channels)

    @property
    def scale(self) -> str:
        """The ``make_dataset`` scale that matches the generator's output."""
        return "pm1" if self.output_activation == "tanh" else "01"

    def replace(self, **changes) -> GANConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> GANConfig:
        d = dict(d)
        d["filters"] = tuple(d["filters"])
        return cls(**d)

    def describe(self) -> str:
        s, b = self.image_size, self.base_size
        g = "-".join(map(str, reversed(self.filters)))
        d = "-".join(map(str, self.filters))
        smooth = f" | label smoothing {self.label_smoothing:g}" if self.label_smoothing else ""
        return (
            f"DC-GAN {self.name}: z {self.z_dim} -> {b}x{b} -> G {g} -> {s}x{s}x{self.channels} "
            f"{self.output_activation} | D {d} -> 1 logit | Adam lr G {self.g_learning_rate:g} "
            f"D {self.d_learning_rate:g} beta_1 {self.beta_1:g}{smooth}"
        )


def config_from_profile(profile, **overrides) -> GANConfig:
    """The DC-GAN at a run profile's image size, latent size and filters (``overrides`` win)."""
    cfg = dict(image_size=profile.image_size, z_dim=profile.z_dim, filters=tuple(profile.filters))
    cfg.update(overrides)
    return GANConfig(**cfg)


def _init(config: GANConfig):
    return keras.initializers.RandomNormal(0.0, config.init_stddev)


def build_generator(config: GANConfig) -> keras.Model:
    """z -> Dense -> (base x base x F) -> [ConvT stride 2 -> BN -> ReLU] ... -> ConvT -> image."""
    b, rev = config.base_size, tuple(reversed(config.filters))
    z_in = keras.Input((config.z_dim,), name="generator_input")
    x = layers.Dense(
        b * b * rev[0], use_bias=False, kernel_initializer=_init(config), name="generator_dense"
    )(z_in)
    x = layers.Reshape((b, b, rev[0]), name="generator_reshape")(x)
    x = layers.BatchNormalization(name="generator_dense_bn")(x)
    x = layers.ReLU(name="generator_dense_act")(x)
    for i, f in enumerate(rev[1:]):
        x = layers.Conv2DTranspose(
            f,
            config.kernel_size,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=_init(config),
            name=f"generator_conv_t_{i}",
        )(x)
        x = layers.BatchNormalization(name=f"generator_{i}_bn")(x)
        x = layers.ReLU(name=f"generator_{i}_act")(x)
    x = layers.Conv2DTranspose(
        config.channels,
        config.kernel_size,
        strides=2,
        padding="same",
        kernel_initializer=_init(config),
        name=f"generator_conv_t_{len(rev) - 1}",
    )(x)
    out = layers.Activation(config.output_activation, dtype="float32", name="generator_output")(x)
    return keras.Model(z_in, out, name="generator")


def build_discriminator(config: GANConfig) -> keras.Model:
    """image -> [Conv stride 2 -> (BN) -> LeakyReLU] ... -> Flatten -> Dense(1): a logit."""
    x_in = keras.Input(config.image_shape, name="discriminator_input")
    x = x_in
    for i, f in enumerate(config.filters):
        x = layers.Conv2D(
            f,
            config.kernel_size,
            strides=2,
            padding="same",
            use_bias=(i == 0),
            kernel_initializer=_init(config),
            name=f"discriminator_conv_{i}",
        )(x)
        if i > 0:  # DC-GAN: no BN on the discriminator's input layer
            x = layers.BatchNormalization(name=f"discriminator_{i}_bn")(x)
        x = layers.LeakyReLU(negative_slope=config.leaky_slope, name=f"discriminator_{i}_act")(x)
    x = layers.Flatten(name="discriminator_flatten")(x)
    logit = layers.Dense(
        1, kernel_initializer=_init(config), dtype="float32", name="discriminator_logit"
    )(x)
    return keras.Model(x_in, logit, name="discriminator")


def count_params_by_hand(config: GANConfig) -> dict:
    """Parameter counts from the layer formulas (BN counts 4 per channel: gamma, beta and the
    two moving statistics), for checking the builders and for teaching."""
    k2, b, c, f = config.kernel_size**2, config.base_size, config.channels, config.filters
    rev = tuple(reversed(f))
    g = config.z_dim * b * b * rev[0] + 4 * rev[0]  # Dense (no bias) + BN
    for f_in, f_out in zip(rev[:-1], rev[1:]):
        g += k2 * f_in * f_out + 4 * f_out  # ConvT (no bias) + BN
    g += k2 * rev[-1] * c + c  # output ConvT + bias
    d = k2 * c * f[0] + f[0]  # first conv + bias
    for f_in, f_out in zip(f[:-1], f[1:]):
        d += k2 * f_in * f_out + 4 * f_out  # conv (no bias) + BN
    d += b * b * f[-1] + 1  # Dense to one logit
    return {"generator": g, "discriminator": d}


@register
class DCGAN(keras.Model):
    """Generator + discriminator, trained by ``fit`` with one ``train_step`` per batch:
    first the discriminator on a real and a generated batch, then the generator through the
    (fixed) discriminator.  ``gan.generator`` (alias ``gan.decoder``, so that
    :func:`vaecourse.models.decode` serves both models) maps z ~ N(0, I) to images."""

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

    @property
    def decoder(self):
        return self.generator

    @property
    def z_dim(self) -> int:
        return self.gan_config.z_dim

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

    def train_step(self, data):
        real = data[0] if isinstance(data, (tuple, list)) else data
        real = ops.cast(real, "float32")
        n = ops.shape(real)[0]
        cfg = self.gan_config
        # 1) discriminator: real images -> 1 (or 1 - smoothing), generated images -> 0
        z = keras.random.normal((n, cfg.z_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = 0.5 * (
                self._bce(ops.full_like(real_logits, 1.0 - cfg.label_smoothing), real_logits)
                + self._bce(ops.zeros_like(fake_logits), fake_logits)
            )
        grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))
        # 2) generator: make D call fresh samples real (the non-saturating loss)
        z = keras.random.normal((n, cfg.z_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake_logits_g = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = self._bce(ops.ones_like(fake_logits_g), fake_logits_g)
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
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
        gan_cfg = GANConfig.from_dict(config.pop("config"))
        return cls(gan_cfg, **config)


def build_gan(config: GANConfig, seed=None, compile: bool = True) -> DCGAN:
    """A (compiled) :class:`DCGAN` for ``config``."""
    gan = DCGAN(config, seed=seed)
    if compile:
        gan.compile()
    return gan


class GANLog(keras.callbacks.Callback):
    """One line per epoch: ``epoch 2/5  d_loss 0.61  g_loss 1.12  D(x) 0.62  D(G(z)) 0.31  | 41 s``.
    ``self.seconds`` keeps the wall-clock time of each epoch."""

    def __init__(self, every: int = 1, n_images: int | None = None, print_fn=print):
        super().__init__()
        self.every, self.n_images, self.print_fn = max(1, int(every)), n_images, print_fn
        self.lines, self.seconds = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._t0
        self.seconds.append(seconds)
        logs = logs or {}
        total = self.params.get("epochs", epoch + 1)
        if (epoch + 1) % self.every and epoch + 1 != total:
            return
        line = (
            f"epoch {epoch + 1:>{len(str(total))}}/{total}  d_loss {float(logs['d_loss']):.3f}  "
            f"g_loss {float(logs['g_loss']):.3f}  D(x) {float(logs['d_real']):.2f}  "
            f"D(G(z)) {float(logs['d_fake']):.2f}  | {seconds:.1f} s"
        )
        if self.n_images:
            line += f", {self.n_images / seconds:.0f} img/s"
        self.lines.append(line)
        self.print_fn(line)


def train_gan(gan, images, P, epochs: int | None = None, log_every: int = 1, callbacks=()) -> dict:
    """Fit ``gan`` on uint8 ``images`` through the course's tf.data pipeline (``target="x"``).
    The history gains ``seconds`` (wall-clock per epoch)."""
    from .data import make_dataset

    ds = make_dataset(
        images,
        P.batch_size,
        shuffle=True,
        seed=P.seed,
        scale=gan.gan_config.scale,
        target="x",
        drop_remainder=len(images) >= 2 * P.batch_size,
    )
    log = GANLog(every=log_every, n_images=len(images))
    result = gan.fit(
        ds, epochs=epochs or P.epochs, verbose=0, shuffle=False, callbacks=[log, *callbacks]
    )
    history = {k: [float(v) for v in vals] for k, vals in result.history.items()}
    history["seconds"] = [float(s) for s in log.seconds]
    return history


def face_gan(P, *, faces=None, epochs=None, name: str = "face_gan", **overrides):
    """The trained DC-GAN for profile ``P`` (same data and epochs as ``zoo.face_vae``), from the
    model cache.  ``overrides`` change the config (e.g. ``d_learning_rate=2e-3``) and give
    another cached model."""
    from .data import GENERATOR_VERSION, load_faces
    from .model_cache import cached_model

    config = config_from_profile(P, name=name, **overrides)

    def train(model):
        data = faces if faces is not None else load_faces(P, verbose=False)
        return train_gan(model, data.train, P, epochs=epochs)

    extra = {
        "epochs": epochs or P.epochs,
        "data": P.dataset if P.dataset != "synthetic" else f"synthetic-v{GENERATOR_VERSION}",
    }
    entry = cached_model(
        name,
        config,
        lambda cfg: build_gan(cfg, seed=P.seed),
        train,
        profile=P,
        extra=extra,
        verbose=False,
    )
    print(
        f"{'trained and cached' if entry.trained else 'loaded cached'} DC-GAN {entry.key} "
        f"({history_summary(entry.history)})"
    )
    return entry


def history_summary(history: dict) -> str:
    """One line: epochs, first -> last d_loss and g_loss, last D(x) and D(G(z)), minutes."""
    if not history.get("d_loss"):
        return "no history"
    h = history
    line = (
        f"{len(h['d_loss'])} epochs | d_loss {h['d_loss'][0]:.3f} -> {h['d_loss'][-1]:.3f} | "
        f"g_loss {h['g_loss'][0]:.3f} -> {h['g_loss'][-1]:.3f} | D(x) {h['d_real'][-1]:.2f} "
        f"D(G(z)) {h['d_fake'][-1]:.2f}"
    )
    if h.get("seconds"):
        line += f" | {sum(h['seconds']) / 60:.1f} min"
    return line
