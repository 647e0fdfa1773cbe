"""vaecourse.distribute and the two-worker run (vaecourse.kit.multiworker), on the CPU.

The two-replica checks run in a fresh process: splitting the CPU into logical devices must
happen before TensorFlow initialises, which this pytest process did long ago.
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from vaecourse import distribute, models
from vaecourse.kit import multiworker

CONFIG = models.preset("series_x", input_shape=(16, 16, 3), filters=(8, 16), z_dim=4)

# The child: one SGD step of rate 1 subtracts exactly the gradient a model's own train step
# applies; compare it (and the logged losses) between one device and two replicas.
CHILD = """
import json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
from vaecourse import distribute
devices = distribute.logical_cpus(2)
import keras
from vaecourse import compare, mechanisms, models
config = models.VAEConfig.from_dict(json.loads(os.environ["CONFIG"]))
x = np.random.default_rng(0).random((16,) + config.input_shape).astype("float32")
one, two = distribute.strategy(verbose=False), distribute.strategy(devices, verbose=False)
keras.utils.set_random_seed(0)
reference = distribute.build_vae(config, seed=0)

def step(strategy, kind):
    with strategy.scope():
        sgd = keras.optimizers.SGD(1.0)
        if kind == "global":
            model = distribute.build_vae(config, optimizer=sgd)
        else:
            model = mechanisms.build_vae(config, mechanism=kind, optimizer=sgd)
    compare.share_weights([reference, model], source=0)
    distribute.synchronize_batch_norm(model)
    y = mechanisms.fit_targets(model, x)
    logs = model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)
    before = [v.numpy() for v in model.trainable_weights]
    model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
    grad = np.concatenate([(b - v.numpy()).ravel() for b, v in zip(before, model.trainable_weights)])
    return grad, {k: float(logs[k]) for k in ("loss", "reconstruction_loss", "kl_loss")}

out = {"replicas": two.num_replicas_in_sync}
for kind in (0, 1, 2, 3, "global"):
    (g1, l1), (g2, l2) = step(one, kind), step(two, kind)
    out[str(kind)] = {
        "grad_diff": float(np.linalg.norm(g2 - g1) / np.linalg.norm(g1)),
        "loss_diff": max(abs(l2[k] - l1[k]) / abs(l1[k]) for k in l1),
        "rec_ratio": l2["reconstruction_loss"] / l1["reconstruction_loss"],
    }
print("@@" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def two_replicas():
    env = dict(os.environ, CONFIG=json.dumps(CONFIG.to_dict()))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600, env=env
    )
    lines = [x for x in proc.stdout.splitlines() if x.startswith("@@")]
    assert lines, f"the child failed:\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1][2:])


def test_two_logical_devices_give_two_replicas(two_replicas):
    assert two_replicas["replicas"] == 2


@pytest.mark.parametrize("kind", ["0", "1", "2", "global"])
def test_scaled_mechanisms_match_one_device(two_replicas, kind):
    """Mechanisms 0-2 (Keras scales their losses) and GlobalBatchVAE: the same losses and
    the same applied gradient on two replicas as on one device."""
    row = two_replicas[kind]
    assert row["loss_diff"] < 1e-5, row
    assert row["grad_diff"] < 1e-4, row


def test_mechanism_3_unchanged_is_not_scaled_for_replicas(two_replicas):
    """Its KL term is a per-replica mean (counted twice in the sum of two replicas), and the
    logged reconstruction loss is Keras' own, already divided by the number of replicas."""
    row = two_replicas["3"]
    assert row["grad_diff"] > 1e-2, row
    assert row["rec_ratio"] == pytest.approx(0.5, rel=1e-4)


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
    vae = distribute.build_vae(config, seed=0)
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
