"""vaecourse.compare: the four mechanisms agree on one batch; timing returns one median each."""

import numpy as np
import pytest

from vaecourse import compare, history, mechanisms, models
from vaecourse.models import VAEConfig

CFG = VAEConfig(input_shape=(16, 16, 1), filters=(4, 8), z_dim=3, fact=2.0)


@pytest.fixture(scope="module")
def four():
    vaes = {m: mechanisms.build_vae(CFG, m, seed=0) for m in range(4)}
    compare.share_weights(list(vaes.values()), source=3)
    return vaes


def test_share_weights_copies_and_switches_sampling_off(four):
    for vae in four.values():
        enc, dec = models.get_encoder(vae), models.get_decoder(vae)
        assert compare.weights_equal(enc, models.get_encoder(four[3]))
        assert compare.weights_equal(dec, models.get_decoder(four[3]))
        z_layer = enc.get_layer("z")
        assert float(z_layer.eps_factor.numpy()) == 0.0


def test_losses_on_batch_agree(four):
    x = np.random.default_rng(0).random((8,) + CFG.input_shape, dtype="float32")
    losses = compare.losses_on_batch(four, x)
    assert set(losses) == set(four)
    for row in losses.values():
        assert set(row) == set(history.LOSS_KEYS)
        assert row["loss"] == pytest.approx(row["reconstruction_loss"] + row["kl_loss"], rel=1e-5)
    table = compare.agreement(losses, reference=3)
    assert all(r["equal"] for r in table.values())
    assert table[3]["max_rel_diff"] == 0.0


def test_agreement_detects_a_difference():
    losses = {
        "a": {"loss": 1.0, "reconstruction_loss": 0.5, "kl_loss": 0.5},
        "b": {"loss": 1.0, "reconstruction_loss": 0.5, "kl_loss": 0.51},
    }
    table = compare.agreement(losses)
    assert table["a"]["equal"] and not table["b"]["equal"]
    assert table["b"]["max_rel_diff"] == pytest.approx(0.01 / 0.51)
    assert compare.relative_difference(0.0, 0.0) == 0.0


def test_step_times_are_medians_of_the_timed_steps(monkeypatch):
    clock = {"t": 0.0}
    monkeypatch.setattr(compare.time, "perf_counter", lambda: clock["t"])

    class Model:  # each train_on_batch advances the clock by the next of its step costs
        def __init__(self, costs):
            self.costs = list(costs)

        def train_on_batch(self, x, y):
            clock["t"] += self.costs.pop(0)

    # warm-up steps (tracing) are slow and must not count; the median ignores one burst
    vaes = {"a": Model([100.0, 1.0, 9.0, 2.0, 3.0]), "b": Model([50.0, 0.5, 0.5, 0.5, 0.5])}
    times = compare.step_times(vaes, np.zeros((2, 1)), steps=2, rounds=2, warmup=1)
    assert times == {"a": 2.5, "b": 0.5}
    assert all(not m.costs for m in vaes.values())  # 1 warm-up + 2 rounds x 2 steps each


def test_step_times_train_real_models():
    vaes = [mechanisms.build_vae(CFG, m, seed=0) for m in (1, 3)]
    x = np.random.default_rng(1).random((4,) + CFG.input_shape, dtype="float32")
    before = [int(v.optimizer.iterations) for v in vaes]
    times = compare.step_times(vaes, x, steps=2, rounds=1, warmup=1)
    assert set(times) == {0, 1}
    assert [int(v.optimizer.iterations) - b for v, b in zip(vaes, before)] == [3, 3]
