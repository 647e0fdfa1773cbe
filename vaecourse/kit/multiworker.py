"""Two worker processes on this machine under ``MultiWorkerMirroredStrategy`` (appendix chapter).

    result = multiworker.run(config, images, initial_weights, global_batch=32, steps=10)

starts two fresh Python processes, each with its own ``TF_CONFIG`` naming both workers on
127.0.0.1 at ports the operating system just handed out, lets each train
the course's VAE, :class:`vaecourse.mechanisms.VAE` (:func:`worker`), and returns what they trained.
The run ends by itself: each worker's collectives give up after a timeout, and the parent
kills both processes when the whole run takes longer than ``timeout`` seconds or one fails.

From a shell: ``python -m vaecourse.kit.multiworker`` runs a small model for a few steps
and prints the wall time.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def free_ports(n: int = 2) -> list:
    """``n`` TCP ports that are free now: the OS picks them when a socket binds port 0 (all
    are held open together, so they differ)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def tf_config(ports, index: int) -> dict:
    """The ``TF_CONFIG`` of worker ``index``: the whole cluster, and which task this is."""
    workers = [f"127.0.0.1:{p}" for p in ports]
    return {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}


def worker(workdir: str, index: int) -> dict:
    """What one worker process runs: the same code on every machine of a cluster."""
    import keras
    import tensorflow as tf

    from vaecourse import distribute, mechanisms, models

    job = json.loads((Path(workdir) / "job.json").read_text())
    strategy = distribute.strategy()  # TF_CONFIG names two workers: MultiWorkerMirrored
    config = models.VAEConfig.from_dict(job["config"])
    with strategy.scope():
        vae = mechanisms.build_vae(config)  # mechanism 3: its step scales by the global batch
    vae.load_weights(Path(workdir) / "initial.weights.h5")
    models.set_enc_to_predict(vae)  # no sampling noise: the run is compared with one process
    distribute.synchronize_batch_norm(vae)
    # Keras 3 averages the workers' logged numbers along axis 0, which a scalar lacks, and
    # fails (tensorflow/tensorflow#72388): the step logs 1-element vectors instead
    step = vae.train_step
    vae.train_step = lambda data: {k: keras.ops.reshape(v, (1,)) for k, v in step(data).items()}
    images = np.load(Path(workdir) / "images.npy")
    # each machine keeps its own backup (on a cluster: a disk it can reach after a restart)
    backup = keras.callbacks.BackupAndRestore(str(Path(workdir) / f"backup-{index}"))
    history = vae.fit(
        distribute.dataset(images, job["global_batch"]),
        epochs=1,
        callbacks=[backup],
        verbose=0,
        shuffle=False,  # the data set is already in order (and shuffled when asked)
    )
    weights = [v.numpy() for v in vae.trainable_weights]
    np.savez(Path(workdir) / f"worker-{index}.npz", *weights)
    return {
        "replicas": int(strategy.num_replicas_in_sync),
        "multi_worker": isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy),
        "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
    }


MARK = "@@VAECOURSE-WORKER@@"
WORKER = f"""
import json, sys
from vaecourse.kit.multiworker import worker
print({MARK!r} + json.dumps(worker(sys.argv[1], int(sys.argv[2]))), flush=True)
"""


def run(config, images, initial_weights, *, global_batch: int, timeout: float = 300) -> dict:
    """Train ``config``'s :class:`~vaecourse.mechanisms.VAE` (mechanism 3) from the weights in the
    file ``initial_weights`` on ``images`` (one epoch, batches of ``global_batch`` split over
    two workers).  Returns ``{"weights": [arrays of worker 0], "same_on_both": bool,
    "seconds": wall time, "ports": [...], "workers": [what each returned]}``."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vaecourse-workers-") as tmp:
        work = Path(tmp)
        np.save(work / "images.npy", np.asarray(images))
        (work / "initial.weights.h5").write_bytes(Path(initial_weights).read_bytes())
        job = {"config": config.to_dict(), "global_batch": int(global_batch)}
        (work / "job.json").write_text(json.dumps(job))
        ports = free_ports(2)
        procs = []
        try:
            for index in range(2):
                env = dict(os.environ, TF_CONFIG=json.dumps(tf_config(ports, index)))
                env.update(CUDA_VISIBLE_DEVICES="-1", TF_CPP_MIN_LOG_LEVEL="3")
                # output into files: a full pipe would block a worker that nobody reads
                with open(work / f"out-{index}.txt", "w") as out:
                    with open(work / f"err-{index}.txt", "w") as err:
                        cmd = [sys.executable, "-c", WORKER, str(work), str(index)]
                        procs.append(subprocess.Popen(cmd, stdout=out, stderr=err, env=env))
            _wait_all(procs, work, t0 + timeout)
        finally:
            for proc in procs:  # interrupted or failed: no worker outlives the run
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        results = []
        for index in range(2):
            lines = (work / f"out-{index}.txt").read_text().splitlines()
            results.append(json.loads([x for x in lines if x.startswith(MARK)][-1][len(MARK) :]))
        trained = [np.load(work / f"worker-{i}.npz") for i in range(2)]
        weights = [[f[k] for k in f.files] for f in trained]
    same = all(np.array_equal(a, b) for a, b in zip(*weights))
    return {
        "weights": weights[0],
        "same_on_both": bool(same),
        "seconds": time.perf_counter() - t0,
        "ports": ports,
        "workers": results,
    }


def _wait_all(procs, work: Path, deadline: float) -> None:
    """Return when every worker has exited cleanly; raise (the caller kills the rest) when one
    fails -- the other would wait for it until its collectives time out -- or time runs out."""
    while True:
        codes = [proc.poll() for proc in procs]
        failed = [i for i, code in enumerate(codes) if code not in (None, 0)]
        if not failed and all(code == 0 for code in codes):
            return
        if failed or time.perf_counter() > deadline:
            i = failed[0] if failed else 0
            what = f"worker {i} failed (exit {codes[i]})" if failed else "the workers timed out"
            tail = (work / f"err-{i}.txt").read_text()[-2000:]
            raise RuntimeError(f"{what}; both are stopped. Its error output ends with:\n{tail}")
        time.sleep(0.2)


def main() -> None:
    """A small VAE, a few steps on random images: prints the wall time and the agreement."""
    from vaecourse import models

    config = models.preset("series_x", input_shape=(16, 16, 3), filters=(8, 16), z_dim=4)
    images = np.random.default_rng(0).random((64, 16, 16, 3)).astype("float32")
    import keras

    from vaecourse import mechanisms

    keras.utils.set_random_seed(0)
    vae = mechanisms.build_vae(config, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "initial.weights.h5"
        vae.save_weights(path)
        result = run(config, images, path, global_batch=16)
    print(
        f"two workers on ports {result['ports']}: {result['seconds']:.1f} s, "
        f"same weights on both: {result['same_on_both']}"
    )


if __name__ == "__main__":
    main()
