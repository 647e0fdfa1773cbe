"""Configurable convolutional autoencoders: one builder for the AE and the VAE.

A frozen :class:`VAEConfig` holds every choice the series and the two tutorials make;
:func:`build_encoder` and :func:`build_decoder` turn it into two functional Keras models,
:func:`build_ae` joins them into a plain autoencoder (``mechanisms.build_vae``: a VAE).
Losses, the same for every model of the course: ``reconstruction_loss`` = ``rec_factor`` x the
per-pixel error (BCE or squared error, channel mean) summed (``rec_reduction="sum"``, the
series) or averaged (``"mean"``, the tutorials) over H x W, batch mean; ``kl_loss`` = ``fact``
x KL(N(mu, sigma^2) || N(0, I)) summed over z, batch mean; ``loss`` is their sum.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import keras
import numpy as np
from keras import layers, ops

register = keras.saving.register_keras_serializable(package="vaecourse")

#: The allowed values of the VAEConfig fields that are choices.
CHOICES = {
    "activation": ("leaky_relu", "relu", "selu"),
    "output_activation": ("sigmoid", "tanh"),
    "rec_loss": ("bce", "mse"),
    "rec_reduction": ("sum", "mean"),
    "downsampling": ("stride", "maxpool"),
    "optimizer": ("adam", "rmsprop", "sgd"),
}
PER_LAYER = ("kernel_sizes", "strides", "padding")


@dataclass(frozen=True)
class VAEConfig:
    """(chapter I) Everything that defines an (V)AE of the course.  Frozen: derive with ``replace``.

    ``strides`` are the downsampling factors per layer: the stride of the Conv2D layer
    (``downsampling="stride"``, the series) or the pool size of a MaxPooling2D layer after a
    stride-1 convolution (``"maxpool"``, seed 002).  The decoder mirrors the encoder;
    Cropping2D layers trim an upsampled map that came out larger than the encoder's.
    """

    name: str = "vae"
    input_shape: tuple = (96, 96, 3)
    filters: tuple = (32, 64, 128, 256)
    kernel_sizes: tuple = (3, 3, 3, 3)
    strides: tuple = (2, 2, 2, 2)
    padding: tuple = ("same", "same", "same", "same")
    downsampling: str = "stride"
    z_dim: int = 256
    variational: bool = True  # False: plain AE, deterministic Dense encoding
    activation: str = "leaky_relu"  # leaky_relu | relu | selu (LeCun init, AlphaDropout)
    batch_norm: bool = True
    latent_batch_norm: bool = False  # seed 002 normalises mu and log_var
    dropout: float = 0.0  # 0 = no dropout layers
    output_activation: str = "sigmoid"  # sigmoid for [0, 1] data, tanh for [-1, 1] data
    rec_loss: str = "bce"  # bce | mse
    rec_reduction: str = "sum"  # sum | mean over pixel positions
    rec_factor: float = 1.0  # seed 001's LOSS_FACTOR
    fact: float = 5.0  # weight of the KL loss
    optimizer: str = "adam"
    learning_rate: float = 5e-4

    def __post_init__(self):
        # ints / lists are accepted, a uniform list (e.g. kernels 3-3-3-3) is stretched to the
        # number of layers; tuples are stored so that configs hash and compare
        n = len(tuple(self.filters))
        for fname in PER_LAYER:
            value = getattr(self, fname)
            value = (value,) * n if isinstance(value, (int, str)) else tuple(value)
            if len(value) != n and len(set(value)) == 1:
                value = value[:1] * n
            object.__setattr__(self, fname, value)
        object.__setattr__(self, "filters", tuple(int(f) for f in self.filters))
        object.__setattr__(self, "input_shape", tuple(int(s) for s in self.input_shape))
        for problem in self._problems():
            raise ValueError(f"VAEConfig.{problem}")

    def _problems(self):
        """What is wrong with the config, each saying what to do (checked in order)."""
        n = len(self.filters)
        if n == 0:
            yield "filters is empty: give at least one filter count"
        for fname in PER_LAYER:
            if len(getattr(self, fname)) != n:
                yield f"{fname} has {len(getattr(self, fname))} entries but filters has {n}: give one entry per conv layer"  # noqa: E501
        for fname, allowed in CHOICES.items():
            if getattr(self, fname) not in allowed:
                yield f"{fname}={getattr(self, fname)!r}: choose one of {', '.join(allowed)}"
        if set(self.padding) - {"same", "valid"}:
            yield f"padding={self.padding}: use 'same' or 'valid'"
        if len(self.input_shape) != 3:
            yield f"input_shape={self.input_shape}: give (height, width, channels)"
        if self.rec_loss == "bce" and self.output_activation == "tanh":
            yield "rec_loss='bce' needs outputs in [0, 1], tanh gives [-1, 1]: use rec_loss='mse' with tanh, or output_activation='sigmoid'"  # noqa: E501
        if not 0.0 <= self.dropout < 1.0:
            yield f"dropout={self.dropout}: use a rate in [0, 1)"
        if self.z_dim < 1:
            yield f"z_dim={self.z_dim}: must be >= 1"
        if min(min(hw) for hw in feature_sizes(self)) < 1:
            yield f"input_shape {self.input_shape[:2]} is too small for {n} downsampling layers (feature sizes {feature_sizes(self)}): use fewer filters or larger images"  # noqa: E501

    @property
    def image_size(self) -> int:
        return self.input_shape[0]

    def replace(self, **changes) -> VAEConfig:
        """A modified copy.  ``image_size=s`` sets a square ``input_shape``.  A new length of
        ``filters`` trims (or extends with the last value) the per-layer lists you did not
        also pass, so ``replace(filters=(16, 32))`` keeps working for any preset."""
        changes = dict(changes)
        if "image_size" in changes:
            s = int(changes.pop("image_size"))
            changes["input_shape"] = (s, s, changes.get("input_shape", self.input_shape)[2])
        if "filters" in changes:
            n = len(tuple(changes["filters"]))
            for fname in set(PER_LAYER) - set(changes):
                old = getattr(self, fname)
                changes[fname] = tuple(old[:n]) + (old[-1],) * max(0, n - len(old))
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise TypeError(
                f"unknown VAEConfig field(s) {sorted(unknown)}; known: "
                f"{', '.join(f.name for f in dataclasses.fields(self))}, image_size"
            )
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> VAEConfig:
        return cls(**d)

    def describe(self) -> str:
        """One line with the choices that matter for a figure caption."""
        h, w, c = self.input_shape
        loss = f"{self.rec_loss.upper()}({self.rec_reduction})"
        if self.rec_factor != 1:
            loss = f"{self.rec_factor:g}*{loss}"
        kl = f" + {self.fact:g}*KL" if self.variational else ""
        return (
            f"{'VAE' if self.variational else 'AE'} {self.name}: {h}x{w}x{c} | filters "
            f"{'-'.join(map(str, self.filters))} kernels {'-'.join(map(str, self.kernel_sizes))} "
            f"{self.downsampling} {'-'.join(map(str, self.strides))} | z_dim={self.z_dim} | "
            f"{self.activation}{' +BN' if self.batch_norm else ''}"
            f"{f' +dropout {self.dropout:g}' if self.dropout else ''} | "
            f"loss {loss}{kl} | out {self.output_activation}"
        )


def feature_sizes(config: VAEConfig) -> list:
    """(chapter XI) Spatial (h, w) of the input and after each encoder layer: ``[(h0, w0), ..., (hn, wn)]``."""
    h, w = config.input_shape[:2]
    sizes = [(h, w)]
    for k, s, p in zip(config.kernel_sizes, config.strides, config.padding):
        if config.downsampling == "maxpool":
            if p == "valid":  # stride-1 conv shrinks by k-1, then pooling with 'same'
                h, w = h - k + 1, w - k + 1
            h, w = math.ceil(h / s), math.ceil(w / s)
        elif p == "same":
            h, w = math.ceil(h / s), math.ceil(w / s)
        else:
            h, w = (h - k) // s + 1, (w - k) // s + 1
        sizes.append((h, w))
    return sizes


# The configurations of the source texts: series X/XI (96x96 CelebA, 4 strided convs, BN, BCE,
# fact 5, z 256); "Curse of dimensionality I" (a plain AE, z 1600); seed 001 (128x128, no BN,
# "RMSE", really the per-image mean squared error); seed 002 (218x178 aligned CelebA,
# conv+BN+MaxPooling, UpSampling+Cropping, tanh, MSE + 1e-4 KL, BN on mu/log_var, RMSprop).
_SEED001 = dict(input_shape=(128, 128, 3), filters=(32, 64, 64, 64), z_dim=200, batch_norm=False,
                rec_loss="mse", rec_reduction="mean")  # fmt: skip
PRESETS = {
    "series_x": VAEConfig(name="series_x"),
    "series_curse_ae": VAEConfig(name="series_curse_ae", filters=(64, 64, 128, 128),
                                 kernel_sizes=(5, 5, 3, 3), z_dim=1600, variational=False),
    "seed001_ae": VAEConfig(name="seed001_ae", variational=False, fact=0.0, **_SEED001),
    "seed001_vae": VAEConfig(name="seed001_vae", rec_factor=10000.0, fact=1.0, **_SEED001),
    "seed002": VAEConfig(name="seed002", input_shape=(218, 178, 3), downsampling="maxpool",
                         z_dim=512, activation="relu", latent_batch_norm=True,
                         output_activation="tanh", rec_loss="mse", rec_reduction="mean",
                         fact=1e-4, optimizer="rmsprop", learning_rate=1e-3),
}  # fmt: skip


def preset(name: str, **overrides) -> VAEConfig:
    """(chapter III) A preset, optionally scaled: ``preset("series_x", image_size=64, z_dim=128)``."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return PRESETS[name].replace(**overrides) if overrides else PRESETS[name]


def config_from_profile(profile, name: str = "series_x", **overrides) -> VAEConfig:
    """(chapter I) The preset ``name`` (series X by default) scaled to a run profile's image size,
    latent dimension, filters and learning rate; ``overrides`` win over the profile."""
    scaled = dict(
        image_size=profile.image_size,
        z_dim=profile.z_dim,
        filters=tuple(profile.filters),
        learning_rate=profile.learning_rate,
    )
    return preset(name, **{**scaled, **overrides})


# --- Losses --------------------------------------------------------------------------
def kl_divergence(mu, log_var):
    """(chapter I) KL(N(mu, exp(log_var)) || N(0, I)) per sample, summed over the latent dimensions."""
    mu, log_var = ops.cast(mu, "float32"), ops.cast(log_var, "float32")
    return -0.5 * ops.sum(1.0 + log_var - ops.square(mu) - ops.exp(log_var), axis=-1)


def reconstruction_error(x, x_hat, kind="bce", reduction="sum", factor=1.0):
    """(chapter I) Per-image reconstruction loss: channel-mean BCE or squared error per pixel,
    summed or averaged over the H x W positions, times ``factor``.  Shape: (batch,)."""
    x_hat = ops.cast(x_hat, "float32")
    x = ops.cast(x, "float32")
    if kind == "bce":
        per_pixel = keras.losses.binary_crossentropy(x, x_hat)  # mean over channels
    else:
        per_pixel = keras.losses.mean_squared_error(x, x_hat)
    reduce = ops.sum if reduction == "sum" else ops.mean
    return factor * reduce(per_pixel, axis=(1, 2))


_SETTINGS = ("kind", "pixel_reduction", "factor")  # what the two classes below keep and save


@register
class ReconstructionLoss(keras.losses.Loss):
    """(chapter I) :func:`reconstruction_error` as a Keras loss (averaged over the batch)."""

    def __init__(
        self, kind="bce", pixel_reduction="sum", factor=1.0, name="reconstruction_loss", **kwargs
    ):
        super().__init__(name=name, **kwargs)
        self.kind, self.pixel_reduction, self.factor = kind, pixel_reduction, float(factor)

    def call(self, y_true, y_pred):
        return reconstruction_error(y_true, y_pred, self.kind, self.pixel_reduction, self.factor)

    def get_config(self):
        return {**super().get_config(), **{k: getattr(self, k) for k in _SETTINGS}}


@register
class ReconstructionMetric(keras.metrics.Mean):
    """(chapter I) Tracks the reconstruction loss in ``fit`` logs as ``reconstruction_loss``."""

    def __init__(
        self, kind="bce", pixel_reduction="sum", factor=1.0, name="reconstruction_loss", dtype=None
    ):
        super().__init__(name=name, dtype=dtype)
        self.kind, self.pixel_reduction, self.factor = kind, pixel_reduction, float(factor)

    def update_state(self, y_true, y_pred, sample_weight=None):
        err = reconstruction_error(y_true, y_pred, self.kind, self.pixel_reduction, self.factor)
        return super().update_state(err, sample_weight=sample_weight)

    def get_config(self):
        return {**super().get_config(), **{k: getattr(self, k) for k in _SETTINGS}}


def reconstruction_loss(config: VAEConfig) -> ReconstructionLoss:
    """(chapter XI) The reconstruction loss object a config asks for."""
    return ReconstructionLoss(config.rec_loss, config.rec_reduction, config.rec_factor)


def reconstruction_metric(config: VAEConfig) -> ReconstructionMetric:
    """(chapter I) The reconstruction term as a logged metric (``reconstruction_loss``)."""
    return ReconstructionMetric(config.rec_loss, config.rec_reduction, config.rec_factor)


def make_optimizer(config: VAEConfig):
    """(chapter XI) Adam / RMSprop / SGD with the config's learning rate."""
    name = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD"}[config.optimizer]
    return getattr(keras.optimizers, name)(learning_rate=config.learning_rate)


# --- Layers and builders -------------------------------------------------------------
@register
class Sampling(layers.Layer):
    """(chapter I) z = mu + eps_factor * exp(log_var / 2) * epsilon, with epsilon ~ N(0, I).

    ``eps_factor`` is 1 for training and 0 for deterministic encodings (the series'
    ``set_enc_to_predict``).  It is a (non-trainable) variable, so changing it takes
    effect in already compiled ``fit``/``predict`` functions.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.eps_factor = self.add_weight(
            shape=(), initializer="ones", trainable=False, name="eps_factor"
        )

    def call(self, inputs):
        mu, log_var = inputs
        epsilon = keras.random.normal(ops.shape(mu), dtype=mu.dtype, seed=self.seed_generator)
        scale = ops.cast(self.eps_factor, mu.dtype) * ops.exp(0.5 * log_var)
        return mu + scale * epsilon

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def _conv_block_tail(x, config: VAEConfig, tag: str):
    """BatchNorm -> activation -> dropout, the same after every hidden conv layer."""
    if config.batch_norm:
        x = layers.BatchNormalization(name=f"{tag}_bn")(x)
    if config.activation == "leaky_relu":
        x = layers.LeakyReLU(name=f"{tag}_act")(x)
    else:
        x = layers.Activation(config.activation, name=f"{tag}_act")(x)
    if config.dropout:
        drop = layers.AlphaDropout if config.activation == "selu" else layers.Dropout
        x = drop(config.dropout, name=f"{tag}_dropout")(x)
    return x


def _init(config: VAEConfig) -> str:
    # SELU self-normalises only with LeCun-normal weights.
    return "lecun_normal" if config.activation == "selu" else "glorot_uniform"


def build_encoder(config: VAEConfig, kl_layer=None, seed=None) -> keras.Model:
    """(chapter XI) Conv stack -> Flatten -> Dense.  VAE: outputs ``[z, mu, log_var]``; AE: outputs ``z``.

    ``kl_layer`` (mechanism 0) is applied to ``[mu, log_var]`` before the sampling.
    """
    x_in = keras.Input(config.input_shape, name="encoder_input")
    x = x_in
    pooled = config.downsampling == "maxpool"
    for i, (f, k, s, p) in enumerate(
        zip(config.filters, config.kernel_sizes, config.strides, config.padding)
    ):
        x = layers.Conv2D(
            f,
            k,
            strides=1 if pooled else s,
            padding=p,
            kernel_initializer=_init(config),
            name=f"encoder_conv_{i}",
        )(x)
        x = _conv_block_tail(x, config, f"encoder_{i}")
        if pooled:
            x = layers.MaxPooling2D(s, padding="same", name=f"encoder_pool_{i}")(x)
    x = layers.Flatten(name="encoder_flatten")(x)
    if not config.variational:
        z = layers.Dense(config.z_dim, name="z")(x)
        return keras.Model(x_in, z, name="encoder")
    mu = layers.Dense(config.z_dim, name="mu")(x)
    log_var = layers.Dense(config.z_dim, name="log_var")(x)
    if config.latent_batch_norm:
        mu = layers.BatchNormalization(name="mu_bn")(mu)
        log_var = layers.BatchNormalization(name="log_var_bn")(log_var)
    if kl_layer is not None:
        mu, log_var = kl_layer([mu, log_var])
    z = Sampling(seed=seed, name="z")([mu, log_var])
    return keras.Model(x_in, [z, mu, log_var], name="encoder")


def _crop_to(x, target, name):
    """Trim bottom/right rows and columns so that x has the spatial size ``target``."""
    dh, dw = x.shape[1] - target[0], x.shape[2] - target[1]
    if dh < 0 or dw < 0:
        raise ValueError(
            f"decoder map {tuple(x.shape[1:3])} is smaller than the encoder map "
            f"{target}: use padding='same' or image sizes divisible by the strides"
        )
    return layers.Cropping2D(((0, dh), (0, dw)), name=name)(x) if dh or dw else x


def build_decoder(config: VAEConfig) -> keras.Model:
    """(chapter XI) Dense -> Reshape -> transposed convs mirroring the encoder -> output activation."""
    sizes = feature_sizes(config)
    (h, w), c = sizes[-1], config.filters[-1]
    n, channels = len(config.filters), config.input_shape[2]
    z_in = keras.Input((config.z_dim,), name="decoder_input")
    x = layers.Dense(h * w * c, name="decoder_dense")(z_in)
    x = layers.Reshape((h, w, c), name="decoder_reshape")(x)
    rev = lambda seq: tuple(reversed(seq))  # noqa: E731
    if config.downsampling == "stride":
        # Each transposed conv doubles the map; the last one produces the image channels.
        filters = rev(config.filters)[1:] + (channels,)
        for i, (f, k, s, p) in enumerate(
            zip(filters, rev(config.kernel_sizes), rev(config.strides), rev(config.padding))
        ):
            x = layers.Conv2DTranspose(
                f,
                k,
                strides=s,
                padding=p,
                kernel_initializer=_init(config),
                name=f"decoder_conv_t_{i}",
            )(x)
            x = _crop_to(x, sizes[n - 1 - i], f"decoder_crop_{i}")
            if i < n - 1:
                x = _conv_block_tail(x, config, f"decoder_{i}")
    else:
        # Seed 002: UpSampling2D -> Cropping2D -> stride-1 transposed conv, then a final
        # transposed conv to the image channels.
        for i, (f, k, s) in enumerate(
            zip(rev(config.filters), rev(config.kernel_sizes), rev(config.strides))
        ):
            x = layers.UpSampling2D(s, name=f"decoder_upsample_{i}")(x)
            x = _crop_to(x, sizes[n - 1 - i], f"decoder_crop_{i}")
            x = layers.Conv2DTranspose(
                f, k, padding="same", kernel_initializer=_init(config), name=f"decoder_conv_t_{i}"
            )(x)
            x = _conv_block_tail(x, config, f"decoder_{i}")
        x = layers.Conv2DTranspose(
            channels, config.kernel_sizes[0], padding="same", name=f"decoder_conv_t_{n}"
        )(x)
    # float32 output keeps the losses stable under mixed precision.
    out = layers.Activation(config.output_activation, dtype="float32", name="decoder_output")(x)
    return keras.Model(z_in, out, name="decoder")


def compile_and_build(
    model, config, optimizer=None, compile=True, build=True, inputs=None, **losses
):
    """(chapter I) The tail of every builder: compile ``model`` with the config's optimizer (and
    ``losses``, e.g. ``loss=`` and ``metrics=``) unless ``compile=False``; with ``build``, call
    it once on ``inputs`` (a zero batch by default), so that a subclassed model has its weights
    to train or to load into.  A functional model has them already (``build=False``)."""
    if compile:
        model.compile(optimizer=optimizer or make_optimizer(config), **losses)
    if build:
        model(np.zeros((1,) + config.input_shape, "float32") if inputs is None else inputs)
    return model


def build_ae(config: VAEConfig, optimizer=None, compile: bool = True) -> keras.Model:
    """(chapter T1) Plain autoencoder: the same builder with a deterministic encoder (no KL term).
    ``fit`` logs ``loss`` and ``reconstruction_loss``."""
    if config.variational:
        config = config.replace(variational=False)
    encoder, decoder = build_encoder(config), build_decoder(config)
    x = keras.Input(config.input_shape, name="image")
    ae = keras.Model(x, decoder(encoder(x)), name=config.name)
    loss, metrics = reconstruction_loss(config), [reconstruction_metric(config)]
    return compile_and_build(
        ae, config, optimizer, compile, build=False, loss=loss, metrics=metrics
    )


# --- Using a trained model -----------------------------------------------------------
def to_unit(images, output_activation: str = "sigmoid") -> np.ndarray:
    """(chapter I) Images as float32 on [0, 1], the range every figure and measure of the course reads:
    uint8 is divided by 255; float images are what a decoder with ``output_activation`` gives,
    so ``"tanh"`` maps [-1, 1] onto [0, 1].  The one conversion of the course's image ranges."""
    x = np.asarray(images)
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    x = x.astype(np.float32)
    if output_activation == "tanh":
        x = (x + 1.0) / 2.0
    return np.clip(x, 0.0, 1.0)


def set_enc_to_predict(model, factor: float = 0.0) -> int:
    """(chapter I) Deterministic encodings: z = mu (the Sampling layers' epsilon factor 0), as in
    the series; another ``factor`` scales the sampling noise.  Returns how many layers it set."""
    found, todo = [], list(model.layers)
    while todo:  # the Sampling layers sit inside the encoder (a model inside the model)
        layer = todo.pop()
        todo += layer.layers if isinstance(layer, keras.Model) else []
        if isinstance(layer, Sampling):
            layer.eps_factor.assign(float(factor))
            found.append(layer)
    return len(found)


def get_encoder(model):
    """(chapter XII) The encoder of a built or loaded model: its part named ``"encoder"``."""
    return model.get_layer("encoder")


def get_decoder(model):
    """(chapter I) The decoder of a built or loaded model: its part named ``"decoder"``, or a
    GAN's ``"generator"``."""
    names = [layer.name for layer in model.layers]
    return model.get_layer("decoder" if "decoder" in names else "generator")


def output_activation(model) -> str:
    """(chapter I) ``"sigmoid"`` or ``"tanh"``: the activation of the decoder's (or generator's) last layer."""
    last = get_decoder(model).layers[-1]
    while isinstance(last, keras.Model):  # a decoder wrapped around another (XIV's conditional)
        last = last.layers[-1]
    return last.activation.__name__


def encode(model, images, batch_size: int = 256, log_var: bool = False):
    """(chapter Curse II) Deterministic latent codes (float32, shape (n, z_dim)): mu for a VAE, z for an AE.

    ``log_var=True`` returns ``(mu, log_var)`` instead, with ``log_var`` None for a plain AE.
    The encoder is called directly, batch by batch: ``predict`` would trace a new function
    for every model and batch shape.
    """
    encoder, images = get_encoder(model), np.asarray(images)
    parts = []
    for i in range(0, len(images), batch_size):
        out = encoder(np.asarray(images[i : i + batch_size], "float32"), training=False)
        out = out[1:] if isinstance(out, (list, tuple)) else [out]  # VAE: [z, mu, log_var]
        parts.append([keras.ops.convert_to_numpy(o) for o in out])
    columns = [np.concatenate(c) for c in zip(*parts)]
    if not log_var:
        return columns[0]
    return columns[0], (columns[1] if len(columns) == 2 else None)


def decode(model, z, batch_size: int = 256) -> np.ndarray:
    """(chapter I) Images on [0, 1] from latent points (float32): a tanh decoder's [-1, 1] is mapped
    onto [0, 1], so every caller can show and measure them alike."""
    decoder, z = get_decoder(model), np.atleast_2d(np.asarray(z, "float32"))
    out = [
        keras.ops.convert_to_numpy(decoder(z[i : i + batch_size], training=False))
        for i in range(0, len(z), batch_size)
    ]
    return to_unit(np.concatenate(out), output_activation(model))


def reconstruct(model, x, batch_size: int = 256) -> np.ndarray:
    """(chapter I) decode(encode(x)): the deterministic reconstruction of images, on [0, 1]."""
    return decode(model, encode(model, x, batch_size), batch_size)
