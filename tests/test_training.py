"""Training helpers: the one fit, the epoch log, GPU options."""

import numpy as np
import pytest

from vaecourse import mechanisms, models, training
from vaecourse.kit import gpu
from vaecourse.kit.profiles import has_gpu
from vaecourse.models import VAEConfig

CFG = VAEConfig(input_shape=(16, 16, 3), filters=(4, 8), z_dim=3)
X = np.random.default_rng(0).random((16, 16, 16, 3), dtype="float32")


def test_fit_prints_one_line_per_epoch():
    vae = mechanisms.build_vae(CFG, mechanism=1)  # the mechanism that needs extra targets
    vae.run_eagerly = True  # no tracing: seconds faster on a tiny model
    lines = []
    h = training.fit(
        vae,
        X,
        epochs=2,
        batch_size=8,
        validation_data=X[:8],
        callbacks=[training.EpochLog(n_images=len(X), print_fn=lines.append)],
    )
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2  loss ")
    assert " rec " in lines[1] and "%)" in lines[1] and "| val loss" in lines[1]
    assert lines[1].endswith("img/s")
    assert set(h) == {
        "loss",
        "reconstruction_loss",
        "kl_loss",
        "val_loss",
        "val_reconstruction_loss",
        "val_kl_loss",
    }


def test_fit_without_a_log_prints_nothing(capsys):
    ae = models.build_ae(CFG)
    ae.run_eagerly = True
    h = training.fit(ae, X, epochs=1, batch_size=16, log=False)
    assert capsys.readouterr().out == "" and set(h) == {"loss", "reconstruction_loss"}


@pytest.mark.skipif(has_gpu(), reason="checks the CPU no-op path")
def test_gpu_options_are_noops_on_cpu():
    applied = gpu.configure_gpu(memory_limit_mb=2048, mixed_precision=True, xla=True)
    assert applied == {
        "gpus": 0,
        "memory_growth": False,
        "memory_limit_mb": None,
        "mixed_precision": False,
        "xla": False,
    }


def test_batch_trace_recovers_each_batch_from_the_running_means():
    trace = training.BatchTrace(keys=("loss",))
    for epoch, batches in enumerate(([4.0, 2.0, 6.0], [1.0, 3.0])):
        trace.on_epoch_begin(epoch)
        for k, _ in enumerate(batches):  # what fit logs: the mean of the epoch so far
            trace.on_train_batch_end(k, {"loss": float(np.mean(batches[: k + 1]))})
    np.testing.assert_allclose(trace.values["loss"], [4.0, 2.0, 6.0, 1.0, 3.0])
    np.testing.assert_allclose(trace.shown["loss"], [4.0, 3.0, 4.0, 1.0, 2.0])
    assert trace.counts == [3, 2]
