"""The profile object: chosen by environment, validated, and scaled in the right order."""

import pytest

from vaecourse.kit import profiles


def test_env_selects_profile(monkeypatch):
    for name in ("ci", "book", "full"):
        monkeypatch.setenv(profiles.ENV_PROFILE, name)
        assert profiles.profile().name == name


def test_explicit_name_wins_over_env(monkeypatch):
    monkeypatch.setenv(profiles.ENV_PROFILE, "ci")
    assert profiles.profile("book").name == "book"


def test_default_without_gpu_is_book(monkeypatch):
    monkeypatch.delenv(profiles.ENV_PROFILE, raising=False)
    monkeypatch.setattr(profiles, "has_gpu", lambda: False)
    assert profiles.profile().name == "book"
    monkeypatch.setattr(profiles, "has_gpu", lambda: True)
    assert profiles.profile().name == "full"


def test_unknown_profile_says_what_to_do(monkeypatch):
    monkeypatch.setenv(profiles.ENV_PROFILE, "huge")
    with pytest.raises(ValueError, match="VAECOURSE_PROFILE.*ci, book, full"):
        profiles.profile()


def test_data_switch(monkeypatch):
    monkeypatch.setenv(profiles.ENV_DATA, "celeba")
    assert profiles.profile("ci").dataset == "celeba"
    monkeypatch.setenv(profiles.ENV_DATA, "imagenet")
    with pytest.raises(ValueError, match="VAECOURSE_DATA"):
        profiles.profile("ci")


def test_full_is_the_series_setting():
    p = profiles.profile("full")
    # the series' sizes; training and validation are CelebA's official partitions
    assert (p.image_size, p.epochs, p.batch_size, p.z_dim) == (96, 24, 128, 256)
    assert (p.n_train, p.n_val) == (162_770, 19_867)
    assert p.filters == (32, 64, 128, 256) and p.dataset == "celeba"


def test_book_runs_on_celeba_when_it_is_there(monkeypatch, capsys):
    monkeypatch.delenv(profiles.ENV_DATA, raising=False)
    monkeypatch.setenv(profiles.ENV_CELEBA, "/somewhere/celeba")
    assert profiles.profile("book").dataset == "celeba"
    monkeypatch.delenv(profiles.ENV_CELEBA)
    monkeypatch.setattr(profiles, "_NOTED", False)
    assert profiles.profile("book").dataset == "synthetic"
    assert "synthetic faces" in capsys.readouterr().err  # one line says so
    profiles.profile("book")
    assert capsys.readouterr().err == ""  # once per process
    assert profiles.profile("ci").dataset == "synthetic"  # ci never needs CelebA


def test_profiles_grow_from_ci_to_full():
    ci, book, full = (profiles.profile(n) for n in ("ci", "book", "full"))
    for field in ("image_size", "n_train", "n_val", "epochs", "z_dim", "digits_n"):
        assert getattr(ci, field) < getattr(book, field) < getattr(full, field), field
    # every conv stride halves the image: the encoder output must stay at least 2x2
    for p in (ci, book, full):
        assert p.image_size // 2 ** len(p.filters) >= 2


def test_pick_and_describe():
    p = profiles.profile("book")
    assert p.pick(ci=1, book=2, full=3) == 2
    line = p.describe()
    assert line.startswith("profile=book") and "64x64x3" in line and "z_dim=128" in line
    assert p.replace(epochs=1).epochs == 1 and p.epochs == 15  # frozen original


def test_quiet_tensorflow_start_holds_back_only_the_native_start_up_lines(tmp_path):
    import subprocess
    import sys

    # a fresh process: TensorFlow's native lines go to file descriptor 2 while it starts
    code = (
        "import os; from vaecourse.kit import profiles; "
        "profiles.quiet_tensorflow_start(); os.write(2, b'after start\\n')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "after start" in out.stderr  # file descriptor 2 works again afterwards
    assert not any(n in out.stderr for n in profiles.NATIVE_START_NOISE), out.stderr
