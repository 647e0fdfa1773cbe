"""vaecourse.eager: tensor kinds, the TypeProbe table and the step timer (tiny models)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from vaecourse import eager
from vaecourse.kit import execution
from vaecourse.mechanisms import build_vae
from vaecourse.models import VAEConfig, build_ae


def test_tensor_kind_names_the_three_kinds():
    assert eager.tensor_kind(keras.Input((3,))) == "KerasTensor"
    assert eager.tensor_kind(tf.ones(2)) == "EagerTensor"
    seen = []

    @tf.function
    def f(x):
        seen.append(eager.tensor_kind(x))
        return x

    f(tf.ones(2))
    assert seen == ["SymbolicTensor"]
    assert eager.tensor_kind(np.ones(2)) == "ndarray"


def test_where_code_runs_never_gives_call_a_keras_tensor():
    table = execution.where_code_runs()
    assert table["functional model: input and layer outputs"] == "KerasTensor"
    assert table["calling model(x) directly"] == "EagerTensor"
    assert table["model.fit (graph, tf.function)"] == "SymbolicTensor"
    assert table["model.fit(run_eagerly=True)"] == "EagerTensor"
    assert "KerasTensor" not in [v for k, v in table.items() if not k.startswith("functional")]


TINY = VAEConfig(
    name="tiny",
    input_shape=(8, 8, 1),
    filters=(4,),
    strides=(2,),
    z_dim=2,
    batch_norm=False,
    learning_rate=1e-3,
)


@pytest.mark.parametrize(
    "build",
    [lambda: build_vae(TINY, mechanism=3), lambda: build_ae(TINY)],
    ids=["vae_mechanism3", "ae"],
)
def test_time_train_step_same_first_loss_in_every_mode(build):
    x = np.random.default_rng(0).random((16, 8, 8, 1)).astype("float32")
    timings = execution.time_train_step(build, x, modes=("eager", "graph"), steps=1, batch_size=8)
    assert list(timings) == ["eager", "graph"]
    for t in timings.values():
        assert t.step_s > 0 and t.first_s > 0 and t.steps == 1 and np.isfinite(t.first_loss)
    assert np.isclose(timings["eager"].first_loss, timings["graph"].first_loss, rtol=1e-4)


def test_time_train_step_rejects_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        execution.time_train_step(
            lambda: build_ae(TINY),
            np.zeros((8, 8, 8, 1), "float32"),
            modes=("turbo",),
            steps=1,
            batch_size=8,
        )
