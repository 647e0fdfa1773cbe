"""Atomic writes: a failed write leaves the old file untouched and no temporary behind."""

import numpy as np
import pytest

from vaecourse import io


def test_cache_dir_uses_env(tmp_path, monkeypatch):
    monkeypatch.setenv(io.ENV_CACHE, str(tmp_path))
    d = io.cache_dir("faces", "x")
    assert d == tmp_path / "faces" / "x" and d.is_dir()


def test_atomic_path_replaces_on_success(tmp_path):
    target = tmp_path / "a.npy"
    with io.atomic_path(target) as tmp:
        np.save(tmp, np.arange(3))
        assert not target.exists()
    assert np.load(target).tolist() == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["a.npy"]


def test_atomic_path_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "m.json"
    io.write_json_atomic(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("{half")
            raise RuntimeError("interrupted")
    assert io.read_json(target) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
    assert io.read_json(tmp_path / "missing.json", default="none") == "none"
