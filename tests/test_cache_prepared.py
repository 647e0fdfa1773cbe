"""A prepared image set is used only while it is what it claims to be: intact to the last
byte (damage anywhere is found, not only at the ends), and made from the source as it is
now (images or label files added or changed later are noticed and the set prepared again).
"""

import os
import shutil

import numpy as np
import pytest

from vaecourse.kit.data import celeba, store
from vaecourse.kit.data.faces import load_synthetic, synthetic_folder

pytestmark = pytest.mark.usefixtures("fresh_cache")  # tests/conftest.py


def _zero_middle(path, nbytes):
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(size // 2)
        f.write(b"\0" * nbytes)


# ----------------------------------------------------------------------------- damage
@pytest.mark.parametrize("whole_file_limit", [None, 0], ids=["hashed", "sampled"])
def test_damage_in_the_middle_of_the_images_is_found_and_repaired(monkeypatch, whole_file_limit):
    if whole_file_limit is not None:  # as for a big set: a sample across the whole file
        monkeypatch.setattr(store, "WHOLE_FILE_LIMIT", whole_file_limit)
    faces = load_synthetic(512, 64, 64, verbose=False)  # 640 faces, 7.9 MB
    folder = synthetic_folder(64, 640, 0)
    want = np.array(faces.train)
    images = folder / "images.npy"
    assert images.stat().st_size > 4 << 20  # longer than the two ends the old check read
    _zero_middle(images, 1 << 20)  # 1 MiB of black faces
    store.forget_verified()
    assert store.validate(folder) is None
    again = load_synthetic(512, 64, 64, verbose=False)
    np.testing.assert_array_equal(again.train, want)
    assert store.validate(folder) is not None


def test_an_intact_set_is_verified_once_per_process(monkeypatch):
    load_synthetic(64, 16, 16, verbose=False)
    folder = synthetic_folder(16, 96, 0)
    assert store.validate(folder) is not None
    reads = []
    monkeypatch.setattr(store, "file_digest", lambda path: reads.append(path) or "x")
    assert store.validate(folder) is not None and reads == []  # unchanged files: no re-read


# ----------------------------------------------------------------------------- staleness
@pytest.fixture
def kaggle(tmp_path):
    return celeba.write_fake_celeba(tmp_path / "kaggle", 12, seed=4, layout="kaggle", workers=1)


def _image_dir(root):
    return root / "img_align_celeba" / "img_align_celeba"


def _prepare(source, capsys=None):
    folder = celeba.prepare_celeba(16, source=source, progress=False, verbose=False)
    return folder, (folder / "names.txt").read_text().split()


def test_images_added_later_are_prepared(kaggle, capsys):
    folder, names = _prepare(kaggle)
    assert len(names) == 12
    for i in (13, 14, 15):  # three more faces: copies under new names
        shutil.copy(_image_dir(kaggle) / "000001.jpg", _image_dir(kaggle) / f"{i:06d}.jpg")
    capsys.readouterr()
    folder2, names2 = _prepare(kaggle)
    assert folder2 == folder and len(names2) == 15
    assert "changed" in capsys.readouterr().err


def test_an_attribute_file_added_later_is_read(kaggle, tmp_path):
    attr_file = kaggle / "list_attr_celeba.csv"
    kept = tmp_path / "kept.csv"
    shutil.move(attr_file, kept)
    folder, _ = _prepare(kaggle)
    assert (np.load(folder / "attrs.npy") == 0).all()  # unknown
    shutil.move(kept, attr_file)
    folder, _ = _prepare(kaggle)
    assert (np.load(folder / "attrs.npy") != 0).all()


def test_an_attribute_file_changed_in_place_is_read_again(kaggle):
    folder, _ = _prepare(kaggle)
    before = np.load(folder / "attrs.npy")
    path = kaggle / "list_attr_celeba.csv"
    lines = path.read_text().splitlines()
    name, first, rest = lines[1].split(",", 2)
    lines[1] = ",".join([name, str(-int(first)), rest])
    path.write_text("\n".join(lines) + "\n")
    folder, _ = _prepare(kaggle)
    after = np.load(folder / "attrs.npy")
    assert after[0, 0] == -before[0, 0] and (after[1:] == before[1:]).all()


def test_an_unchanged_source_is_not_prepared_again(kaggle, monkeypatch):
    folder, _ = _prepare(kaggle)
    stamp = (folder / "images.npy").stat().st_mtime_ns
    os.utime(_image_dir(kaggle))  # a touched folder: looked at again, nothing to redo

    def no_decoding(args):
        raise AssertionError("an unchanged source was decoded again")

    monkeypatch.setattr(celeba, "_decode_job", no_decoding)
    _prepare(kaggle)
    _prepare(kaggle)
    assert (folder / "images.npy").stat().st_mtime_ns == stamp


def test_a_set_prepared_before_sources_were_recorded(kaggle, monkeypatch):
    folder, _ = _prepare(kaggle)
    manifest = store.read_json(folder / "manifest.json")
    del manifest["sources"]  # as sets prepared before this check was written
    store.write_json_atomic(folder / "manifest.json", manifest)
    decode = celeba._decode_job
    monkeypatch.setattr(celeba, "_decode_job", lambda args: 1 / 0)  # must not decode
    _prepare(kaggle)
    assert "sources" in store.read_json(folder / "manifest.json")  # recorded now
    store.write_json_atomic(folder / "manifest.json", manifest)
    shutil.copy(_image_dir(kaggle) / "000001.jpg", _image_dir(kaggle) / "000013.jpg")
    monkeypatch.setattr(celeba, "_decode_job", decode)
    assert len(_prepare(kaggle)[1]) == 13
