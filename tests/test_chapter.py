"""What every chapter calls first: the profile line, the seeding, show_source, the Colab URL."""

import numpy as np
import pytest

from vaecourse import mechanisms
from vaecourse.kit import chapter


def test_start_prints_the_chapter_and_profile_and_returns_the_profile(capsys, monkeypatch):
    monkeypatch.setenv("VAECOURSE_PROFILE", "ci")
    P = chapter.start("IV", "Rules")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Chapter IV · Rules"
    assert out[1] == P.describe() and P.name == "ci"


def test_start_prints_what_a_chapter_trains_when_it_says_so(capsys, monkeypatch):
    monkeypatch.setenv("VAECOURSE_PROFILE", "ci")
    P = chapter.start("T1", "Own models", trains=lambda p: p.replace(z_dim=200, epochs=6))
    line = capsys.readouterr().out.splitlines()[1]
    assert "z_dim=200" in line and "epochs=6" in line and line != P.describe()
    assert P.z_dim != 200  # the chapter still reads the profile's own sizes


def test_seed_everything_repeats_numpy_and_keras_draws():
    import keras

    def draws():
        return np.random.rand(3), keras.ops.convert_to_numpy(keras.random.normal((3,)))

    chapter.seed_everything(5)
    a = draws()
    chapter.seed_everything(5)
    b = draws()
    chapter.seed_everything(6)
    c = draws()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.allclose(a[0], c[0]) and not np.allclose(a[1], c[1])


def test_show_source_leaves_the_chapter_tag_out(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda code: shown.append(code.data))
    chapter.show_source(mechanisms.build_vae)
    assert "def build_vae(" in shown[0] and "(chapter" not in shown[0]
    assert mechanisms.build_vae.__doc__.startswith("(chapter ")


def test_show_source_shows_the_methods_asked_for(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    chapter.show_source(mechanisms.VAE.metrics, mechanisms.VAE.train_step)
    (code,) = shown
    text = code.data
    assert text.startswith("@property\ndef metrics(self):")  # dedented, getter of a property
    assert "\ndef train_step(self, data):" in text and "tape.gradient" in text
    assert "get_config" not in text and "class VAE" not in text


def test_this_is_not_colab():
    assert not chapter.in_colab()


def test_start_rejects_an_unknown_profile():
    with pytest.raises(ValueError, match="unknown profile"):
        chapter.start("0", "x", name="nope")


def test_quote_glues_ints_and_words_as_they_are_and_other_numbers_as_floats(monkeypatch):
    import myst_nb

    glued = []
    monkeypatch.setattr(
        myst_nb, "glue", lambda name, value, display: glued.append((name, value, display))
    )
    chapter.quote(kl=np.float32(16.5), n=3, m=np.int64(4), trend="rises")
    assert glued == [
        ("kl", 16.5, False),
        ("n", 3, False),
        ("m", 4.0, False),
        ("trend", "rises", False),
    ]
    assert [type(v) for _, v, _ in glued] == [float, int, float, str]  # as plain glue stores them
