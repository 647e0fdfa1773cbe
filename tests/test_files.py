"""Cache folders, atomic writes (a failed write leaves the old file untouched and no temporary
behind), the lock and the digest."""

import numpy as np
import pytest

from vaecourse.kit import files
from vaecourse.kit.profiles import ENV_CACHE


def test_cache_dir_uses_env(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_CACHE, str(tmp_path))
    d = files.cache_dir("faces", "x")
    assert d == tmp_path / "faces" / "x" and d.is_dir()


def test_atomic_path_replaces_on_success(tmp_path):
    target = tmp_path / "a.npy"
    with files.atomic_path(target) as tmp:
        np.save(tmp, np.arange(3))
        assert not target.exists()
    assert np.load(target).tolist() == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["a.npy"]


def test_atomic_path_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "m.json"
    files.write_json_atomic(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with files.atomic_path(target) as tmp:
            tmp.write_text("{half")
            raise RuntimeError("interrupted")
    assert files.read_json(target) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
    assert files.read_json(tmp_path / "missing.json", default="none") == "none"


def test_file_digest_is_the_sha256_of_the_content(tmp_path):
    import hashlib

    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 100_000)
    assert files.file_digest(path, chunk=4096) == hashlib.sha256(b"x" * 100_000).hexdigest()


def test_locked_excludes_a_second_process(tmp_path):
    import subprocess
    import sys
    import time

    lock = tmp_path / "sub" / ".lock"
    child = (
        "import sys, time\n"
        "from vaecourse.kit import files\n"
        "print('ready', flush=True)\n"
        "t0 = time.perf_counter()\n"
        "with files.locked(sys.argv[1]):\n"
        "    print(time.perf_counter() - t0)\n"
    )
    with files.locked(lock):
        proc = subprocess.Popen(
            [sys.executable, "-c", child, str(lock)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # the child now waits for the lock we hold
    waited = float(proc.communicate(timeout=60)[0])
    assert waited > 0.8
