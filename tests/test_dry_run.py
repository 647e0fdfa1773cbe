"""The dress rehearsal (VAECOURSE_DRY_RUN=1): full's shapes, little data, few batches per fit,
and trained models that never take a real model's cache key."""

import dataclasses
import importlib.util
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from vaecourse.kit import dry_run, model_cache, profiles

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def dry(monkeypatch):
    """The dress rehearsal switched on; keras.Model.fit restored afterwards."""
    monkeypatch.setattr(keras.Model, "fit", keras.Model.fit)
    monkeypatch.setenv(profiles.ENV_DRY_RUN, "1")
    monkeypatch.delenv(profiles.ENV_DATA, raising=False)
    monkeypatch.delenv(profiles.ENV_CELEBA, raising=False)
    return monkeypatch


def test_full_keeps_its_shapes_and_shrinks_its_data(dry):
    real, p = profiles._PROFILES["full"], profiles.profile("full")
    for name in ("image_size", "z_dim", "batch_size", "filters", "learning_rate", "seed"):
        assert getattr(p, name) == getattr(real, name), name
    assert p.n_train == profiles.DRY_RUN["n_train"] < real.n_train
    assert p.n_val == profiles.DRY_RUN["n_val"] < real.n_val
    assert (p.epochs, p.digits_epochs) == (real.epochs, real.digits_epochs)  # fit caps them
    assert p.pick(ci=1, book=2, full=3) == 3  # the chapters' own full picks stay
    assert p.dry_run and "DRY RUN" in p.describe()
    assert p.dataset == "synthetic"  # no CelebA at hand: the synthetic faces stand in
    dry.setenv(profiles.ENV_CELEBA, "/somewhere/celeba")
    assert profiles.profile("full").dataset == "celeba"  # a reader checks their own copy
    assert profiles.profile("ci").n_train == 512 and profiles.profile("ci").dataset == "synthetic"


def test_off_by_default_and_bad_values_say_what_to_do(monkeypatch):
    monkeypatch.delenv(profiles.ENV_DRY_RUN, raising=False)
    p = profiles.profile("full")
    assert not p.dry_run and "DRY RUN" not in p.describe() and p.n_train == 162_770
    monkeypatch.setenv(profiles.ENV_DRY_RUN, "maybe")
    with pytest.raises(ValueError, match="VAECOURSE_DRY_RUN.*1"):
        profiles.profile("full")


def test_profile_fields_unchanged():
    # asdict(profile) enters every model cache key: a new field would retrain every model
    names = [f.name for f in dataclasses.fields(profiles.Profile)]
    assert names == [
        "name",
        "image_size",
        "n_train",
        "n_val",
        "epochs",
        "batch_size",
        "z_dim",
        "filters",
        "learning_rate",
        "dataset",
        "digits_n",
        "digits_epochs",
        "seed",
        "extra",
    ]


def test_dry_run_models_are_keyed_apart(dry):
    from vaecourse import models

    p = profiles.profile("full")
    # even with every number put back, the dress rehearsal's key differs from the real one
    full = profiles._PROFILES["full"]
    same = p.replace(**{k: getattr(full, k) for k in ("n_train", "n_val", "digits_n", "dataset")})
    config = models.config_from_profile(profiles._PROFILES["full"], "series_x")
    real_key = model_cache.cache_key("face_vae", config, profiles._PROFILES["full"])
    assert model_cache.cache_key("face_vae", config, same) != real_key
    assert dataclasses.asdict(same) | {"extra": {}} == dataclasses.asdict(
        profiles._PROFILES["full"]
    )
    # and the real profiles' keys do not depend on the switch
    dry.delenv(profiles.ENV_DRY_RUN)
    assert model_cache.cache_key("face_vae", config, profiles.profile("full")) == real_key


def _tiny():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


class _Count(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = []

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.batches[-1] += 1


def test_fit_is_capped_at_few_batches(dry):
    import tensorflow as tf

    profiles.profile("full")  # switches the cap on
    x, y = np.ones((1000, 3), "float32"), np.ones((1000, 1), "float32")
    count = _Count()
    h = _tiny().fit(
        x, y, epochs=7, batch_size=10, validation_data=(x, y), verbose=0, callbacks=[count]
    )
    assert count.batches == [2, 2] and len(h.history["val_loss"]) == 2
    count = _Count()
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(10)
    _tiny().fit(ds, epochs=9, initial_epoch=3, verbose=0, callbacks=[count])
    assert count.batches == [2, 2]  # epochs 4 and 5, from where it resumed


def test_script_finds_chapters():
    spec = importlib.util.spec_from_file_location("dry_run", ROOT / "scripts" / "dry_run.py")
    dry_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dry_run)
    assert [p.name[:2] for p in dry_run.chapter_paths(["10", "7"])] == ["10", "07"]
    assert len(dry_run.chapter_paths([])) == len(list((ROOT / "notebooks").glob("[0-9]*.ipynb")))
    with pytest.raises(SystemExit, match="no chapter"):
        dry_run.chapter_paths(["99"])


def test_forward_cost_counts_convolutions_and_dense_layers():
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3, strides=2, padding="same"),  # 4x4x4 out, 3*3*3*4 kernel
            keras.layers.Flatten(),
            keras.layers.Dense(5),  # 64 -> 5
            keras.layers.Dense(2 * 2 * 4),
            keras.layers.Reshape((2, 2, 4)),
            keras.layers.Conv2DTranspose(3, 3, strides=2, padding="same"),  # per input position
        ]
    )
    cost = dry_run.forward_cost(model, (8, 8, 3))
    expect = 2 * (16 * 3 * 3 * 3 * 4 + 64 * 5 + 5 * 16 + 4 * 3 * 3 * 4 * 3)
    assert cost["flops"] == expect
    assert cost["outputs"] == 64 + 5 + 16 + 4 * 4 * 3
    assert cost["params"] == model.count_params()


def test_the_log_records_what_a_chapter_asked_for(dry, tmp_path):
    log = tmp_path / "fits.jsonl"
    dry.setenv(profiles.ENV_DRY_RUN_LOG, str(log))
    profiles.profile("full")
    x = np.ones((1000, 3), "float32")
    _tiny().fit(x, x[:, :1], epochs=7, batch_size=10, verbose=0)
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["epochs_asked"] == 7 and record["images_seen"] == 1000
    assert record["x"] == "array float32" and record["bytes_per_image"] == 12
    assert record["cost"]["flops"] == 2 * 3 and record["cost"]["params"] == 4


def _script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_budget_reads_the_chapters_full_picks_and_prices_a_fit():
    budget = _script("full_budget")
    p = budget.picks(ROOT / "notebooks" / "11_creating_faces.ipynb")
    assert p["SWEEP_IMAGES"] == 50_000 and p["SWEEP_EPOCHS"] == 10  # the chapter's full values
    fit = {
        "model": "series_x",
        "image_shape": [96, 96, 3],
        "epochs_asked": p["SWEEP_EPOCHS"],
        "initial_epoch": 0,
        "x": "array float32",
        "bytes_per_image": 96 * 96 * 3 * 4,
        "batch_size": 128,
        "validation": None,
        "cost": {"flops": 1e8, "outputs": 1000, "params": 10},
    }
    b = budget.fit_budget("11", fit, p)
    assert (b["images"], b["epochs"]) == (50_000, 10)  # a sweep model: the sweep's pick
    assert b["flops"] == 10 * 50_000 * 3 * 1e8  # forward and backward
    assert b["ram"] == 50_000 * 96 * 96 * 3 * 4  # the array in memory at its full size
    b = budget.fit_budget("11", {**fit, "epochs_asked": 24, "x": "dataset"}, p)
    assert (b["images"], b["ram"]) == (162_770, 0)  # the profile's set, streamed


def test_isolated_runs_take_arguments_beyond_argvs_limit():
    # found by the dress rehearsal: chapter IX passes 3,000 JPEG paths under full, more than
    # the 128 KiB one command-line argument may hold
    from vaecourse.kit import isolated

    paths = [f"/content/celeba/img_align_celeba/{i:06d}.jpg" for i in range(5000)]
    assert len(isolated.run("json:dumps", {"obj": paths})) > 200_000


def test_a_rehearsal_without_the_kits_cap_says_what_to_do(dry):
    # the cap on fit is the kit's; a profile asked for before the kit is imported would
    # rehearse with uncapped fits, so it stops with the remedy instead
    assert dry_run.install in profiles.REHEARSAL_HOOKS
    dry.setattr(profiles, "REHEARSAL_HOOKS", [])
    with pytest.raises(RuntimeError, match="import vaecourse.kit"):
        profiles.profile("full")


def test_the_log_reads_nested_inputs(dry, tmp_path):
    # found by the rehearsal of chapter XIV: a conditional model's dataset yields ((x, c), y)
    import tensorflow as tf

    log = tmp_path / "fits.jsonl"
    dry.setenv(profiles.ENV_DRY_RUN_LOG, str(log))
    profiles.profile("full")
    x, y = np.ones((40, 3), "float32"), np.ones((40, 1), "float32")
    ds = tf.data.Dataset.from_tensor_slices(((x,), y)).batch(10)
    _tiny().fit(ds, epochs=3, verbose=0)
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["image_shape"] == [3] and record["x"] == "dataset"


def test_the_log_says_when_each_fit_ran_and_the_script_measures_outside_them(dry, tmp_path):
    # a GPU holds a fit's activations; the host memory a rehearsal measures outside its fits
    # is what the budget prices
    log = tmp_path / "fits.jsonl"
    dry.setenv(profiles.ENV_DRY_RUN_LOG, str(log))
    profiles.profile("full")
    x = np.ones((100, 3), "float32")
    _tiny().fit(x, x[:, :1], epochs=3, batch_size=10, verbose=0)
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    start, end = record["span"]
    assert 0 < start <= end
    memory = _script("dry_run").PeakMemory()
    memory.samples = [(1.0, 5), (2.0, 90), (3.0, 7), (4.0, 60)]
    assert memory.peak_outside([(1.5, 2.5)]) == 60
    assert memory.peak_outside([(1.5, 2.5), (3.5, 4.5)]) == 7
    memory.cpus = [10.0, 30.0, 31.0, 50.0]  # CPU seconds at each poll
    assert memory.cpu_inside([(1.5, 2.5)]) == 20.0  # from the poll before to the last inside
    assert memory.cpu_inside([(1.5, 2.5), (3.5, 4.5)]) == 39.0


def test_budget_counts_nested_picks_and_split_long_arrays_at_full_size():
    budget = _script("full_budget")
    p = budget.picks(ROOT / "notebooks" / "20_several_gpus.ipynb")
    assert p["STEPS"] == 10  # STEPS = min(P.pick(..., full=10), len(faces.train) // BATCH)
    fit = {
        "model": "series_x",
        "image_shape": [96, 96, 3],
        "epochs_asked": 1,
        "initial_epoch": 0,
        "x": "array float32",
        "bytes_per_image": 96 * 96 * 3 * 4,
        "batch_size": 128,
        "validation": None,
        "cost": {"flops": 1e8, "outputs": 1000, "params": 10},
    }
    assert budget.fit_budget("20", fit, p)["images"] == 10 * 128  # STEPS global batches
    one = 96 * 96 * 3 * 4
    n_val = budget.DRY_RUN["n_val"]
    p11 = budget.picks(ROOT / "notebooks" / "11_creating_faces.ipynb")
    ((length, copies, _, _),) = budget.SPLIT_ARRAYS["11"]
    assert budget.split_arrays("11", p11) == copies * (length(p11) - n_val) * one
    assert budget.split_arrays("11", {**p11, "N_REAL": 100}) == 0  # no larger than rehearsed
    assert budget.split_arrays("05", {}) == 0  # a chapter without such arrays
