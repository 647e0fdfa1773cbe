"""Histories in one shape: aliases, merging resumed runs, KL share, JSON, plots."""
import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from vaecourse import history  # noqa: E402


class FakeKerasHistory:
    def __init__(self, d):
        self.history = d


def test_as_dict_accepts_keras_history_and_renames_aliases():
    h = history.as_dict(FakeKerasHistory({"total_loss": [3, 2], "rec_loss": [2.5, 1.5],
                                          "kl": [0.5, 0.5], "val_rec_loss": [2.7, 1.7]}))
    assert set(h) == {"loss", "reconstruction_loss", "kl_loss", "val_reconstruction_loss"}
    assert h["loss"] == [3.0, 2.0] and all(isinstance(v, float) for v in h["kl_loss"])
    assert history.as_dict(None) == {}
    with pytest.raises(TypeError, match="dict of lists"):
        history.as_dict([1, 2])


def test_merge_keeps_epochs_aligned_and_kl_share():
    first = {"loss": [10.0, 8.0], "kl_loss": [1.0, 2.0]}
    second = {"loss": [4.0], "kl_loss": [1.0], "val_loss": [5.0]}
    merged = history.merge(first, second)
    assert merged["loss"] == [10.0, 8.0, 4.0] and history.n_epochs(merged) == 3
    assert math.isnan(merged["val_loss"][0]) and merged["val_loss"][2] == 5.0
    np.testing.assert_allclose(history.kl_share(merged), [0.1, 0.25, 0.25])
    assert "KL share 25.0%" in history.summary(merged)
    with pytest.raises(KeyError, match="plain AE"):
        history.kl_share({"loss": [1.0]})


def test_save_load_round_trip_and_plot(tmp_path):
    h = {"loss": [3.0, 2.0], "reconstruction_loss": [2.0, 1.5], "kl_loss": [1.0, 0.5],
         "val_loss": [3.5, 2.5]}
    path = history.save(h, tmp_path / "sub" / "h.json")
    assert history.load(path) == h and history.load(tmp_path / "missing.json") == {}
    ax = history.plot(h, title="t")
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["loss", "val_loss", "reconstruction_loss", "kl_loss"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [3.5, 2.5])
