"""``VAECOURSE_CACHE`` as people set it: with a ``~``, pointing at a file, at a folder that
cannot be written -- one message that says what to set, never a bare OSError traceback."""

import os
import subprocess
import sys

import pytest

from vaecourse.kit import files
from vaecourse.kit.profiles import ENV_CACHE


def test_a_tilde_means_the_home_folder_from_a_script_too(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    script = "from vaecourse.kit import files; print(files.cache_dir('faces'))"
    env = {**os.environ, ENV_CACHE: "~/vc-cache"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == str(tmp_path / "home" / "vc-cache" / "faces")
    assert not (tmp_path / "~").exists()  # no folder literally named "~"


def test_a_cache_that_is_a_file_says_what_to_set(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "cache.txt"
    not_a_folder.write_text("oops")
    monkeypatch.setenv(ENV_CACHE, str(not_a_folder))
    for parts in [(), ("faces", "x")]:
        with pytest.raises(files.CacheError) as err:
            files.cache_dir(*parts)
        message = str(err.value)
        assert ENV_CACHE in message and str(not_a_folder) in message
    assert isinstance(err.value, OSError)  # callers that catch OSError still do


def test_a_cache_that_cannot_be_created_says_what_to_set(tmp_path, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setenv(ENV_CACHE, str(tmp_path / "ro" / "cache"))
    monkeypatch.setattr(files.Path, "mkdir", refuse)  # as a read-only disk answers
    with pytest.raises(files.CacheError, match=f"{ENV_CACHE}.*writ|writ.*{ENV_CACHE}"):
        files.cache_dir("models")


def test_a_lock_that_cannot_be_written_says_what_to_set(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_CACHE, str(tmp_path))
    folder = files.cache_dir("faces", "x")
    (folder / ".lock").mkdir()  # opening the lock file for writing fails
    with pytest.raises(files.CacheError, match=ENV_CACHE):
        with files.locked(folder / ".lock"):
            pass


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_cache_folder_says_what_to_set(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    monkeypatch.setenv(ENV_CACHE, str(ro))
    try:
        with pytest.raises(files.CacheError, match=ENV_CACHE):
            files.cache_dir("models", "k")
    finally:
        ro.chmod(0o755)
