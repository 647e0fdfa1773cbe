"""vaecourse.distribute, mechanisms.VAE under a strategy and the two-worker run
(vaecourse.kit.multiworker), on the CPU.

The two-replica checks run in a fresh process: splitting the CPU into logical devices must
happen before TensorFlow initialises, which this pytest process did long ago.  The child
process trains through the model zoo on its two logical devices; this process, with one
device, trains the same and compares.
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from vaecourse import distribute, mechanisms, models
from vaecourse.kit import multiworker

CONFIG = models.preset("series_x", input_shape=(16, 16, 3), filters=(8, 16), z_dim=4)

# Shared by this process and the child (exec'd in both).  OneDeviceVAE: the VAE as written
# for one device (the Keras example's form) -- batch means, the whole mean differentiated.
# run_zoo: the cached-model path (kit.zoo.trained, kit.data.make_dataset) on a tiny profile
# with plain SGD (Adam would turn the rounding noise of the biases batch normalisation
# cancels into full steps) and no sampling noise (drawn alike on every replica).
SHARED = """
import keras, numpy as np, tensorflow as tf
from keras import ops
from vaecourse.kit import profiles
from vaecourse import mechanisms, models

class OneDeviceVAE(mechanisms.VAE):
    def compute_losses(self, x, training=False):
        z, mu, log_var = self.encoder(x, training=training)
        x_hat = self.decoder(z, training=training)
        rec = self.rec_loss(x, x_hat)
        kl = self.fact * ops.mean(models.kl_divergence(mu, log_var))
        return rec + kl, rec, kl

    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            total, rec, kl = self.compute_losses(x, training=True)
        grads = tape.gradient(total, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self.update_trackers(total, rec, kl)

def build_one_device_form(config, optimizer):
    vae = mechanisms.build_vae(config, compile=False)
    model = OneDeviceVAE(vae.encoder, vae.decoder, vae.rec_loss, vae.fact)
    model.compile(optimizer=optimizer)
    model(np.zeros((1,) + config.input_shape, "float32"))
    return model

def run_zoo():
    from vaecourse.kit import data, fitting, zoo
    P = profiles.profile("ci").replace(n_train=64, n_val=32, image_size=16, batch_size=16,
                                       epochs=2)
    config = zoo.face_vae_config(P, filters=(4, 8), z_dim=4, optimizer="sgd",
                                 learning_rate=1e-3)

    start = []

    def fit(model, faces):  # in a fixed order: a distributed data set shuffles another way
        models.set_enc_to_predict(model)
        start.extend(v.numpy() for v in model.trainable_weights)
        train = data.make_dataset(faces.train, P.batch_size, shuffle=False)
        return fitting.fit_dataset(model, train, epochs=P.epochs)

    keras.utils.set_random_seed(0)
    build = lambda cfg: mechanisms.build_vae(cfg, seed=0)
    entry = zoo.trained("distribute_test_vae", config, build, fit, P, epochs=P.epochs)
    weights = [v.numpy() for v in entry.model.trainable_weights]
    return entry, start + weights
"""

# The child: one SGD step of rate 1 subtracts exactly the gradient a model's own train step
# applies; compare it (and the logged losses) between one device and two replicas.
CHILD = """
import json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
from vaecourse import distribute
devices = distribute.logical_cpus(2)
exec(os.environ["SHARED"])
from vaecourse import compare
config = models.VAEConfig.from_dict(json.loads(os.environ["CONFIG"]))
x = np.random.default_rng(0).random((16,) + config.input_shape).astype("float32")
one, two = tf.distribute.get_strategy(), distribute.strategy()
keras.utils.set_random_seed(0)
reference = mechanisms.build_vae(config, seed=0)

def step(strategy, kind):
    with strategy.scope():
        sgd = keras.optimizers.SGD(1.0)
        if kind == "one_device_form":
            model = build_one_device_form(config, sgd)
        elif kind == "sigma":
            from vaecourse import beyond
            model = beyond.build_sigma_vae(config, seed=0)
            model.compile(optimizer=sgd)
        else:
            model = mechanisms.build_vae(config, mechanism=kind, optimizer=sgd)
    compare.share_weights([reference, model], source=0)
    distribute.synchronize_batch_norm(model)
    y = mechanisms.fit_targets(model, x)
    logs = model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)
    before = [v.numpy() for v in model.trainable_weights]
    model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
    after = model.trainable_weights
    grad = np.concatenate([(b - v.numpy()).ravel() for b, v in zip(before, after)])
    keys = ("loss", "reconstruction_loss", "kl_loss")
    return grad, {k: float(logs[k]) for k in keys if k in logs}

def diff(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))

out = {"replicas": two.num_replicas_in_sync, "chosen": distribute.describe(two)}
one_device = {}
for kind in (0, 1, 2, 3, "one_device_form", "sigma"):
    (g1, l1), (g2, l2) = step(one, kind), step(two, kind)
    one_device[kind] = g1
    out[str(kind)] = {
        "grad_diff": diff(g2, g1),
        "loss_diff": max(abs(l2[k] - l1[k]) / abs(l1[k]) for k in l1),
        "rec_ratio": l2.get("reconstruction_loss", 1.0) / l1.get("reconstruction_loss", 1.0),
        "ratio": float(g2 @ g1 / (g1 @ g1)),
    }
out["vae_vs_one_device_form"] = diff(one_device[3], one_device["one_device_form"])
entry, weights = run_zoo()
out["zoo_replicas"] = entry.model.distribute_strategy.num_replicas_in_sync
out["zoo_trained"] = entry.trained
np.savez(os.environ["WEIGHTS"], *weights)
print("@@" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def two_replicas(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("two_replicas")
    env = dict(
        os.environ,
        CONFIG=json.dumps(CONFIG.to_dict()),
        SHARED=SHARED,
        WEIGHTS=str(tmp / "zoo.npz"),
        VAECOURSE_CACHE=str(tmp / "cache"),
    )
    proc = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600, env=env
    )
    lines = [x for x in proc.stdout.splitlines() if x.startswith("@@")]
    assert lines, f"the child failed:\n{proc.stderr[-3000:]}"
    out = json.loads(lines[-1][2:])
    with np.load(tmp / "zoo.npz") as f:
        out["zoo_weights"] = [f[k] for k in f.files]
    out["stdout"] = proc.stdout
    return out


def test_logical_cpus_count_as_several_devices(two_replicas):
    assert two_replicas["replicas"] == 2
    assert two_replicas["chosen"] == "MirroredStrategy: 2 replica(s)"


@pytest.mark.parametrize("kind", ["0", "1", "2", "3"])
def test_the_four_mechanisms_match_one_device(two_replicas, kind):
    """Mechanisms 0-2 (Keras scales their losses) and mechanism 3 (its train_step divides by
    the global batch): the same losses and the same applied gradient on two replicas."""
    row = two_replicas[kind]
    assert row["loss_diff"] < 1e-5, row
    assert row["grad_diff"] < 1e-4, row


def test_the_sigma_vae_steps_as_far_on_two_replicas_as_on_one(two_replicas):
    # Its sigma comes from each replica's half of the batch, so the step is close, not equal;
    # without the global-batch scaling it would be twice as long (ratio 2).
    assert 0.95 < two_replicas["sigma"]["ratio"] < 1.05, two_replicas["sigma"]


def test_the_one_device_form_is_wrong_on_two_replicas(two_replicas):
    """Batch means: Keras halves its Loss object on each replica, not the KL mean, which the
    two replicas' sum then counts twice; the log shows half the reconstruction loss."""
    row = two_replicas["one_device_form"]
    assert row["grad_diff"] > 1e-2, row
    assert 1.05 < row["ratio"] < 2.0, row
    assert row["rec_ratio"] == pytest.approx(0.5, rel=1e-4)


def test_mechanism_3_on_one_device_applies_the_batch_mean_gradient(two_replicas):
    """The per-image form with the global-batch scaling is the one-device VAE, up to rounding."""
    assert two_replicas["vae_vs_one_device_form"] < 1e-5


def test_the_zoo_trains_on_two_replicas_what_it_trains_on_one(two_replicas, tmp_path, monkeypatch):
    assert two_replicas["zoo_trained"] and two_replicas["zoo_replicas"] == 2
    assert "on MirroredStrategy: 2 replica(s)" in two_replicas["stdout"]
    monkeypatch.setenv("VAECOURSE_CACHE", str(tmp_path))
    scope = {}
    exec(SHARED, scope)
    entry, mine = scope["run_zoo"]()
    assert entry.trained and entry.model.distribute_strategy.num_replicas_in_sync == 1
    n = len(mine) // 2  # the starting weights, then the trained ones
    start, a, b = (
        np.concatenate([w.ravel() for w in ws])
        for ws in (mine[:n], mine[n:], two_replicas["zoo_weights"][n:])
    )
    theirs_start = np.concatenate([w.ravel() for w in two_replicas["zoo_weights"][:n]])
    assert np.array_equal(start, theirs_start)  # the same starting weights on both
    moved = np.linalg.norm(a - start)
    assert moved > 0
    assert np.linalg.norm(b - a) < 1e-3 * moved


def test_default_strategy_on_one_device(capsys):
    chosen = distribute.strategy()
    assert chosen.num_replicas_in_sync == 1
    assert "default strategy: 1 replica(s)" in capsys.readouterr().out


def test_logical_cpus_too_late_says_what_to_do():
    import tensorflow as tf

    tf.constant(1.0)  # TensorFlow has initialised its devices
    with pytest.raises(RuntimeError, match="restart the kernel"):
        distribute.logical_cpus(2)


def test_dataset_drops_the_incomplete_batch_and_shards_by_data():
    import tensorflow as tf

    images = np.zeros((10, 4, 4, 3), "uint8")
    ds = distribute.dataset(images, 4)
    assert [b.shape[0] for b in ds] == [4, 4]
    assert next(iter(ds)).dtype == tf.float32
    policy = ds.options().experimental_distribute.auto_shard_policy
    assert policy == tf.data.experimental.AutoShardPolicy.DATA


def test_free_ports_differ_and_can_be_bound():
    import socket

    ports = multiworker.free_ports(2)
    assert len(set(ports)) == 2
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def _initial(tmp_path, config):
    import keras

    keras.utils.set_random_seed(0)
    vae = mechanisms.build_vae(config, seed=0)
    path = tmp_path / "initial.weights.h5"
    vae.save_weights(path)
    return vae, path


def test_two_workers_agree_with_one_process(tmp_path):
    """Two worker processes on 127.0.0.1 train the same weights as this process with the same
    global batch, and end by themselves well within the time limit."""
    config = CONFIG.replace(batch_norm=False)  # no BN-cancelled biases: Adam leaves them noisy
    images = np.random.default_rng(1).random((64,) + config.input_shape).astype("float32")
    vae, path = _initial(tmp_path, config)
    models.set_enc_to_predict(vae)
    vae.fit(distribute.dataset(images, 16), epochs=1, verbose=0, shuffle=False)
    result = multiworker.run(config, images, path, global_batch=16, timeout=400)
    assert result["seconds"] < 400
    assert result["same_on_both"]
    assert {w["replicas"] for w in result["workers"]} == {2}
    assert all(w["multi_worker"] for w in result["workers"])
    mine = np.concatenate([v.numpy().ravel() for v in vae.trainable_weights])
    theirs = np.concatenate([w.ravel() for w in result["weights"]])
    assert np.linalg.norm(theirs - mine) / np.linalg.norm(mine) < 1e-4


def test_two_workers_are_stopped_when_time_runs_out(tmp_path):
    _, path = _initial(tmp_path, CONFIG)
    images = np.zeros((32,) + CONFIG.input_shape, "float32")
    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match="timed out"):
        multiworker.run(CONFIG, images, path, global_batch=16, timeout=2)
    assert time.perf_counter() - t0 < 30


def test_a_failing_worker_stops_the_other(tmp_path):
    _, path = _initial(tmp_path, CONFIG)
    wrong = np.zeros((32, 8, 8, 3), "float32")  # not the model's input size: both fail to fit
    with pytest.raises(RuntimeError, match="failed"):
        multiworker.run(CONFIG, wrong, path, global_batch=16, timeout=400)
