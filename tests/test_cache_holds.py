"""What already held when CelebA preparation was tried as a careful user would, kept: a kill -9
mid-preparation never leaves a half-written set in use and the rerun is bit-identical; two
simultaneous preparations make one set; odd image files and a macOS zip are handled."""

import os
import signal
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from PIL import Image

from vaecourse.kit.data import celeba, store

TIMEOUT = 90

# prepares a made-up CelebA in 6 batches of 2 images, slowly, printing a line per batch
SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from vaecourse.kit.data import celeba

    celeba.BATCH = 2
    decode = celeba._decode_job

    def slow(args):
        print("decoding", flush=True)
        time.sleep(float(os.environ["PAUSE"]))
        return decode(args)

    celeba._decode_job = slow
    folder = celeba.prepare_celeba(16, source=sys.argv[1], workers=1, progress=False, verbose=False)
    print("done", folder, flush=True)
    """
)


pytestmark = pytest.mark.usefixtures("fresh_cache")  # tests/conftest.py


@pytest.fixture
def kaggle(tmp_path):
    return celeba.write_fake_celeba(tmp_path / "kaggle", 12, seed=7, layout="kaggle", workers=1)


def _start(source, pause):
    env = {**os.environ, "PAUSE": str(pause)}
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def _arrays(folder):
    return [np.load(folder / f) for f in ("images.npy", "attrs.npy", "partition.npy")] + [
        (folder / "names.txt").read_text()
    ]


def _reference(source, tmp_path, monkeypatch):
    """The same set prepared without interruption, in a cache of its own."""
    monkeypatch.setenv("VAECOURSE_CACHE", str(tmp_path / "reference"))
    ref = _arrays(celeba.prepare_celeba(16, source=source, progress=False, verbose=False))
    monkeypatch.setenv("VAECOURSE_CACHE", str(tmp_path / "cache"))
    return ref


def _same(a, b):
    for x, y in zip(a, b):
        if isinstance(x, str):
            assert x == y
        else:
            np.testing.assert_array_equal(x, y)


def test_kill_9_mid_preparation_leaves_no_set_in_use_and_the_rerun_is_identical(
    kaggle, tmp_path, monkeypatch
):
    reference = _reference(kaggle, tmp_path, monkeypatch)
    folder = celeba.celeba_folder(16, None, kaggle)
    proc = _start(kaggle, pause=0.5)
    try:
        seen = 0
        while seen < 3:  # killed in the middle of the decode
            line = proc.stdout.readline()
            assert line, "the preparation ended before it could be killed"
            seen += line.startswith("decoding")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(TIMEOUT)
    finally:
        proc.kill()
    assert store.validate(folder) is None  # nothing half-written counts as a set
    again = celeba.prepare_celeba(16, source=kaggle, progress=False, verbose=False)
    assert again == folder and not list(folder.glob(".*.part*"))
    _same(_arrays(again), reference)


def test_two_simultaneous_preparations_make_one_set(kaggle, tmp_path, monkeypatch):
    reference = _reference(kaggle, tmp_path, monkeypatch)
    procs = [_start(kaggle, pause=0.2) for _ in range(2)]
    outs = []
    for proc in procs:
        try:
            outs.append(proc.communicate(timeout=TIMEOUT)[0])
        finally:
            proc.kill()
    assert all(p.returncode == 0 for p in procs), outs
    assert sum(out.count("decoding") for out in outs) == 6  # one decode of 6 batches in all
    folders = {line.split(" ", 1)[1] for out in outs for line in out.splitlines() if "done" in line}
    assert len(folders) == 1
    _same(_arrays(celeba.celeba_folder(16, None, kaggle)), reference)


def test_empty_files_and_a_png_named_jpg(kaggle):
    d = kaggle / "img_align_celeba" / "img_align_celeba"
    (d / "000002.jpg").write_bytes(b"")  # empty
    png = d / "000003.jpg"
    Image.open(png).convert("RGB").save(png, format="PNG")  # a PNG under a .jpg name
    folder = celeba.prepare_celeba(16, source=kaggle, progress=False, verbose=False)
    names = (folder / "names.txt").read_text().split()
    assert "000002.jpg" not in names and "000003.jpg" in names
    assert sum(store.read_json(folder / "manifest.json")["report"]["skipped"].values()) == 1


def test_a_macos_zip_with_its_metadata_folder_gives_the_same_images(kaggle, tmp_path):
    plain = _arrays(celeba.prepare_celeba(16, source=kaggle, progress=False, verbose=False))
    zpath = tmp_path / "celeba-mac.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(kaggle.rglob("*")):
            if p.is_file():
                rel = p.relative_to(kaggle).as_posix()
                zf.write(p, rel)
                # Finder's zip: an AppleDouble twin of every file under __MACOSX/
                parent, _, name = rel.rpartition("/")
                twin = f"__MACOSX/{parent + '/' if parent else ''}._{name}"
                zf.writestr(twin, b"\x00\x05\x16\x07 not an image")
        zf.writestr(".DS_Store", b"\x00\x00\x00\x01Bud1")
    folder = celeba.prepare_celeba(16, source=zpath, progress=False, verbose=False)
    _same(_arrays(folder), plain)
    assert store.read_json(folder / "manifest.json")["report"]["skipped"] == {}
