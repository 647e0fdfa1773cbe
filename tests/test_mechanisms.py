"""The four KL mechanisms compute the same thing; the historical mistakes fail as recorded."""

import keras
import numpy as np
import pytest

from vaecourse import compare, history, mechanisms, models, pitfalls
from vaecourse.kit import isolated
from vaecourse.models import VAEConfig

CFG = VAEConfig(input_shape=(16, 16, 3), filters=(4, 8), z_dim=3, fact=2.0)


def four_vaes_with_equal_weights(lr=0.05):
    vaes = [mechanisms.build_vae(CFG, m, optimizer=keras.optimizers.SGD(lr)) for m in range(4)]
    return compare.share_weights(vaes)  # and epsilon factor 0: identical, deterministic z


def test_four_mechanisms_agree_on_losses_and_on_a_training_step():
    x = np.random.default_rng(0).random((8, 16, 16, 3), dtype="float32")
    vaes = four_vaes_with_equal_weights()

    # Same numbers, under the same names, on the same weights and batch.
    evals = [
        v.evaluate(x, mechanisms.fit_targets(v, x), batch_size=8, verbose=0, return_dict=True)
        for v in vaes
    ]
    for e in evals:
        assert set(e) == set(history.LOSS_KEYS)
        for key in history.LOSS_KEYS:
            np.testing.assert_allclose(e[key], evals[0][key], rtol=1e-5)
        np.testing.assert_allclose(e["loss"], e["reconstruction_loss"] + e["kl_loss"], rtol=1e-5)

    # The KL value is fact * KL(mu, log_var) of the encoder, averaged over the batch.
    _, mu, log_var = (np.asarray(t) for t in models.get_encoder(vaes[0])(x, training=False))
    kl = CFG.fact * np.mean(0.5 * (np.exp(log_var) + mu**2 - 1 - log_var).sum(axis=1))
    np.testing.assert_allclose(evals[0]["kl_loss"], kl, rtol=1e-4)

    # One SGD step (sensitive to the gradient's size, unlike Adam's first step) moves every
    # weight the same way in all four models.
    before = vaes[0].get_weights()
    logs = [v.train_on_batch(x, mechanisms.fit_targets(v, x), return_dict=True) for v in vaes]
    for log in logs:
        assert set(log) == set(history.LOSS_KEYS)
        np.testing.assert_allclose(log["loss"], logs[0]["loss"], rtol=1e-5)
    after = [v.get_weights() for v in vaes]
    assert max(np.abs(a - b).max() for a, b in zip(after[0], before)) > 1e-4
    for weights in after[1:]:
        for a, b in zip(weights, after[0]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_symbolic_model_add_loss_is_the_keras3_error():
    with pytest.raises(NotImplementedError) as err:
        pitfalls.symbolic_model_add_loss(CFG)
    # Keras 3 raises it without a message, from Functional.add_loss.
    assert str(err.value) == ""
    assert err.traceback[-1].name == "add_loss"


def test_keras3_closure_over_symbolic_tensors_fails():
    with pytest.raises(
        ValueError, match="A KerasTensor cannot be used as input to a TensorFlow function"
    ):
        pitfalls.keras3_closure_vae()


def test_keras2_closure_fails_eagerly_and_works_in_graph_mode():
    pytest.importorskip("tf_keras")
    eager, graph = isolated.compare_eager_and_graph()
    assert eager.failed and not eager.succeeded and eager.error_type == "TypeError"
    assert "an intermediate TF-Keras symbolic input/output" in eager.error_message
    assert "does not allow registering custom dispatchers" in eager.error_summary
    assert graph.succeeded and np.isfinite(graph.history["loss"][0])


def test_build_rejects_bad_requests():
    with pytest.raises(ValueError, match="choose 0-3"):
        mechanisms.build_vae(CFG, mechanism=4)
    with pytest.raises(ValueError, match="build_ae"):
        mechanisms.build_vae(CFG.replace(variational=False))
