"""vaecourse.compare: the four mechanisms agree on one batch; timing returns one median each."""
import numpy as np
import pytest

from vaecourse import compare, mechanisms, models
from vaecourse.models import VAEConfig

CFG = VAEConfig(input_shape=(16, 16, 1), filters=(4, 8), z_dim=3, fact=2.0)


@pytest.fixture(scope="module")
def four():
    vaes = {m: models.build_vae(CFG, m, seed=0) for m in range(4)}
    compare.share_weights(list(vaes.values()), source=3)
    return vaes


def test_share_weights_copies_and_switches_sampling_off(four):
    for vae in four.values():
        assert compare.weights_equal(vae.encoder, four[3].encoder)
        assert compare.weights_equal(vae.decoder, four[3].decoder)
        z_layer = vae.encoder.get_layer("z")
        assert float(z_layer.eps_factor.numpy()) == 0.0


def test_losses_on_batch_agree(four):
    x = np.random.default_rng(0).random((8,) + CFG.input_shape, dtype="float32")
    losses = compare.losses_on_batch(four, x)
    assert set(losses) == set(four)
    for row in losses.values():
        assert set(row) == set(mechanisms.LOSS_KEYS)
        assert row["loss"] == pytest.approx(row["reconstruction_loss"] + row["kl_loss"], rel=1e-5)
    table = compare.agreement(losses, reference=3)
    assert all(r["equal"] for r in table.values())
    assert table[3]["max_rel_diff"] == 0.0


def test_agreement_detects_a_difference():
    losses = {"a": {"loss": 1.0, "reconstruction_loss": 0.5, "kl_loss": 0.5},
              "b": {"loss": 1.0, "reconstruction_loss": 0.5, "kl_loss": 0.51}}
    table = compare.agreement(losses)
    assert table["a"]["equal"] and not table["b"]["equal"]
    assert table["b"]["max_rel_diff"] == pytest.approx(0.01 / 0.51)
    assert compare.relative_difference(0.0, 0.0) == 0.0


def test_step_times_one_positive_median_per_model():
    vaes = [models.build_vae(CFG, m, seed=0) for m in (1, 3)]
    x = np.random.default_rng(1).random((4,) + CFG.input_shape, dtype="float32")
    times = compare.step_times(vaes, x, steps=2, rounds=1, warmup=1)
    assert set(times) == {0, 1}
    assert all(t > 0 for t in times.values())
