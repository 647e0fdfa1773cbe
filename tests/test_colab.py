"""Colab support of vaecourse.kit.chapter: the install line, the Drive cache, the short CelebA error.

Colab itself is not here; google.colab is replaced by a stand-in that records the Drive mount.
"""

import os
import sys
import types

import pytest

from vaecourse.kit import chapter
from vaecourse.kit import colab as kit_colab
from vaecourse.kit.files import cache_dir
from vaecourse.kit.profiles import ENV_CACHE, CelebAError


def test_install_spec_names_the_extras_and_the_repository():
    spec = kit_colab.install_spec()
    assert (
        spec
        == f"vaecourse[data,glue,history,explorer] @ git+https://github.com/{chapter.REPOSITORY}"
    )
    assert kit_colab.install_spec("me/fork").endswith("git+https://github.com/me/fork")


def test_a_path_becomes_the_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_CACHE, raising=False)
    assert kit_colab.use_cache(None) is None and ENV_CACHE not in os.environ
    got = kit_colab.use_cache(tmp_path / "c")
    assert got == tmp_path / "c" and got.is_dir()
    assert os.environ[ENV_CACHE] == str(tmp_path / "c")
    assert cache_dir("models") == tmp_path / "c" / "models"


def test_drive_off_colab_keeps_the_default_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ENV_CACHE, "drive")
    assert kit_colab.use_cache() is None
    assert ENV_CACHE not in os.environ, "no cache folder literally named 'drive'"
    assert "needs Google Colab" in capsys.readouterr().out
    assert not (tmp_path / "drive").exists()


@pytest.fixture
def fake_colab(tmp_path, monkeypatch):
    """google.colab with a drive.mount that creates MyDrive under tmp_path and records calls."""
    mounts = []

    def mount(where):
        mounts.append(where)
        os.makedirs(os.path.join(where, "MyDrive"), exist_ok=True)

    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=mount)
    # only google.colab is faked: the real "google" package (protobuf, for TensorFlow) stays
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(kit_colab, "DRIVE_MOUNT", str(tmp_path / "drive"))
    return mounts


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_drive_on_colab_mounts_and_points_the_cache_there(fake_colab, tmp_path, monkeypatch, how):
    monkeypatch.setenv("VAECOURSE_PROFILE", "ci")
    if how == "argument":
        monkeypatch.delenv(ENV_CACHE, raising=False)
        chapter.start("T", "test", cache="drive")
    else:  # the commented line of the install cell: %env VAECOURSE_CACHE=drive
        monkeypatch.setenv(ENV_CACHE, "drive")
        chapter.start("T", "test")
    want = tmp_path / "drive" / "MyDrive" / "vaecourse-cache"
    assert fake_colab == []  # Drive is mounted when the kit first needs the cache
    assert cache_dir("models").parent == want
    assert fake_colab == [str(tmp_path / "drive")]
    assert os.environ[ENV_CACHE] == str(want) and want.is_dir()


KAGGLE_FAILURE = (
    "kagglehub could not download jessicali9530/celeba-dataset: UnauthenticatedError: "
    "You must authenticate\nHow to get CelebA (about 1.4 GB):\n  * with kagglehub: ...\n"
    "Without CelebA, set VAECOURSE_DATA=synthetic to use the course's synthetic faces."
)


def test_celeba_help_says_what_to_type_in_a_cell():
    text = kit_colab.celeba_help(CelebAError(KAGGLE_FAILURE))
    assert "UnauthenticatedError: You must authenticate" in text  # what went wrong, one line
    assert "How to get CelebA" not in text  # the shell-shaped how-to is replaced
    assert "kagglehub.login()" in text
    assert 'os.environ["VAECOURSE_CELEBA"]' in text and "%env VAECOURSE_CELEBA=" in text
    assert 'os.environ["VAECOURSE_DATA"] = "synthetic"' in text
    assert 'os.environ["VAECOURSE_PROFILE"] = "book"' in text
    assert len(text.splitlines()) <= 16


def test_a_celeba_error_in_a_notebook_is_the_message_without_a_traceback(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        assert kit_colab.short_celeba_errors()
        code = (
            "from vaecourse.kit.profiles import CelebAError\n"
            "def load():\n"
            "    try:\n"
            "        raise OSError('no network')\n"
            "    except OSError as e:\n"
            f"        raise CelebAError({KAGGLE_FAILURE!r}) from e\n"
            "load()"
        )
        result = shell.run_cell(code)
        shown = capsys.readouterr()
        text = shown.out + shown.err
        assert isinstance(result.error_in_exec, CelebAError)  # the cell still fails: Run all stops
        assert text.lstrip().startswith("CelebAError: CelebA is not at hand (kagglehub could not")
        assert "kagglehub.login()" in text
        assert "Traceback" not in text and "OSError" not in text  # no chained wall
        assert len(text.strip().splitlines()) <= 16
    finally:
        shell.set_custom_exc((), None)
        InteractiveShell.clear_instance()


def test_outside_ipython_nothing_is_installed():
    assert kit_colab.short_celeba_errors() is False
