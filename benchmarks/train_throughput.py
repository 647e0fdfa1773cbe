"""Training throughput of the series X/XI VAE for each KL mechanism, against a reference.

The reference is a plain keras-io-style VAE (Sampling layer + GradientTape train_step) on
the *same* convolutional layers, trained in the same run on the same in-memory data.  For
every model the script times whole epochs (after a warm-up that traces the train function),
interleaving the models so that background load hits all alike, and prints images/s (from
the median batch time) and the ratio to the reference (target: >= 1.0, i.e. no slower).

    python benchmarks/train_throughput.py                      # 96x96, 512 images
    python benchmarks/train_throughput.py --image-size 64 --n-images 256 --repeats 1
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers, ops  # noqa: E402

from vaecourse import mechanisms, models  # noqa: E402


class RefSampling(layers.Layer):
    """keras-io's Sampling layer."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


class ReferenceVAE(keras.Model):
    """keras-io's VAE class (BCE summed over pixels + KL), unchanged in substance except
    ``training=True``: keras-io's model has no BatchNormalization, and without the flag the
    series' BN layers would silently run in inference mode (less work, and wrong)."""

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data, training=True)
            reconstruction = self.decoder(z, training=True)
            reconstruction_loss = ops.mean(
                ops.sum(keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2))
            )
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
            total_loss = reconstruction_loss + kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {m.name: m.result() for m in self.metrics}


def build_reference(config):
    """Our conv stack up to mu/log_var, then keras-io's Sampling and model class."""
    ours = models.build_encoder(config)
    mu, log_var = ours.get_layer("mu").output, ours.get_layer("log_var").output
    if config.latent_batch_norm:
        mu, log_var = ours.get_layer("mu_bn").output, ours.get_layer("log_var_bn").output
    encoder = keras.Model(ours.input, [mu, log_var, RefSampling()([mu, log_var])])
    vae = ReferenceVAE(encoder, models.build_decoder(config))
    vae.compile(optimizer=models.make_optimizer(config))
    return vae


def forward_flops(model) -> int:
    """Multiply-adds x 2 of the Conv2D, Conv2DTranspose and Dense layers, per image."""
    total = 0
    for layer in models._all_layers(model):
        if isinstance(layer, layers.Conv2DTranspose):  # each input pixel scatters a kernel
            kh, kw = layer.kernel_size
            _, h, w, c_in = layer.input.shape
            total += 2 * kh * kw * c_in * layer.filters * h * w
        elif isinstance(layer, layers.Conv2D):
            kh, kw = layer.kernel_size
            _, h, w, c_out = layer.output.shape
            total += 2 * kh * kw * layer.input.shape[-1] * c_out * h * w
        elif isinstance(layer, layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
    return total


class BatchTimer(keras.callbacks.Callback):
    """Wall time of every training batch (the median resists bursts of background load)."""

    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_begin(self, batch, logs=None):
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self._t0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="series_x")
    ap.add_argument("--image-size", type=int, default=96)
    ap.add_argument("--z-dim", type=int, default=None, help="default: the preset's")
    ap.add_argument("--n-images", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2, help="timed epochs per model (best counts)")
    ap.add_argument("--mechanisms", default="0,1,2,3")
    args = ap.parse_args(argv)
    if args.n_images % args.batch_size:
        ap.error("--n-images must be a multiple of --batch-size (a partial batch re-traces)")

    overrides = {"image_size": args.image_size}
    if args.z_dim:
        overrides["z_dim"] = args.z_dim
    config = models.preset(args.preset, **overrides)
    if config.output_activation == "tanh" or not config.variational:
        ap.error("the reference is a sigmoid/BCE VAE: pick a variational sigmoid preset")
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((args.n_images,) + config.input_shape, dtype="float32")

    contenders = {"reference (keras-io)": build_reference(config)}
    for m in (int(s) for s in args.mechanisms.split(",")):
        contenders[f"{m} {mechanisms.MECHANISMS[m]}"] = mechanisms.build_vae(config, m)

    def epoch(model, data, callbacks=()):
        y = None if isinstance(model, ReferenceVAE) else mechanisms.fit_targets(model, data)
        model.fit(
            data,
            y,
            epochs=1,
            batch_size=args.batch_size,
            verbose=0,
            shuffle=True,
            callbacks=list(callbacks),
        )

    for model in contenders.values():  # warm-up: trace the train function on two batches
        epoch(model, x[: 2 * args.batch_size])
    best = {name: float("inf") for name in contenders}
    timers = {name: BatchTimer() for name in contenders}
    for _ in range(args.repeats):  # interleaved, so background load hits all models alike
        for name, model in contenders.items():
            t0 = time.perf_counter()
            epoch(model, x, [timers[name]])
            best[name] = min(best[name], time.perf_counter() - t0)

    ref = contenders["reference (keras-io)"]
    enc, dec = ref.encoder.count_params(), ref.decoder.count_params()
    flops = forward_flops(ref.encoder) + forward_flops(ref.decoder)
    h, w, c = config.input_shape
    print(
        f"train_throughput: {config.name} {h}x{w}x{c}, filters {'-'.join(map(str, config.filters))}, "
        f"z_dim {config.z_dim}, {args.n_images} images, batch {args.batch_size}, "
        f"best of {args.repeats} epoch(s)"
    )
    print(
        f"TF {tf.__version__}, Keras {keras.__version__}, "
        f"{'GPU' if tf.config.list_physical_devices('GPU') else 'CPU'} "
        f"({os.cpu_count()} cores, {platform.processor() or platform.machine()})"
    )
    print(f"params: {enc + dec:,} (encoder {enc:,}, decoder {dec:,})")
    print(
        f"forward FLOPs/image: {flops / 1e9:.3f} GFLOP (training step ~3x: {3 * flops / 1e9:.3f})"
    )
    # img/s from the median batch time (robust on a shared machine); the best whole epoch too.
    rates = {name: args.batch_size / float(np.median(t.times)) for name, t in timers.items()}
    ref_rate = rates["reference (keras-io)"]
    print(f"{'model':42s} {'img/s':>8s} {'GFLOP/s':>8s} {'ratio':>6s} {'best epoch s':>13s}")
    for name, rate in rates.items():
        print(
            f"{name:42s} {rate:8.1f} {rate * 3 * flops / 1e9:8.1f} {rate / ref_rate:6.2f} "
            f"{best[name]:13.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
