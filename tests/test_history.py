"""Histories in one shape: aliases, KL share, the one-line summary."""

import numpy as np
import pytest

from vaecourse import history


class FakeKerasHistory:
    def __init__(self, d):
        self.history = d


def test_as_dict_accepts_keras_history_and_renames_aliases():
    h = history.as_dict(
        FakeKerasHistory(
            {
                "total_loss": [3, 2],
                "rec_loss": [2.5, 1.5],
                "kl": [0.5, 0.5],
                "val_rec_loss": [2.7, 1.7],
            }
        )
    )
    assert set(h) == {"loss", "reconstruction_loss", "kl_loss", "val_reconstruction_loss"}
    assert h["loss"] == [3.0, 2.0] and all(isinstance(v, float) for v in h["kl_loss"])
    assert history.as_dict(None) == {}
    with pytest.raises(TypeError, match="dict of lists"):
        history.as_dict([1, 2])


def test_kl_share_and_summary():
    h = {
        "loss": [10.0, 8.0, 4.0],
        "kl_loss": [1.0, 2.0, 1.0],
        "val_loss": [12.0, 9.0, 5.0],
        "val_kl_loss": [0.6, 0.9, 1.0],
    }
    np.testing.assert_allclose(history.kl_share(h), [0.1, 0.25, 0.25])
    np.testing.assert_allclose(history.kl_share(h, prefix="val_"), [0.05, 0.1, 0.2])
    assert history.summary(h) == "3 epochs | loss 10 -> 4 | val_loss 5 | KL share 25.0%"
    assert history.summary({}) == "empty history"
    with pytest.raises(KeyError, match="plain AE"):
        history.kl_share({"loss": [1.0]})
