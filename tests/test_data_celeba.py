"""CelebA: finding it, reading its labels, preparing it, and every kind of bad input."""

import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from vaecourse.kit import files
from vaecourse.kit.data import celeba, store
from vaecourse.kit.data.attributes import ATTR_NAMES, attr_index


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAECOURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(celeba.ENV_CELEBA, raising=False)


@pytest.fixture
def kaggle(tmp_path):
    """A made-up CelebA in Kaggle's layout: 12 synthetic 178x218 JPEGs and csv labels."""
    return celeba.write_fake_celeba(tmp_path / "kaggle", 12, seed=1, layout="kaggle", workers=1)


def _image_dir(root):
    return root / "img_align_celeba" / "img_align_celeba"


def _manifest(folder):
    return json.loads((folder / "manifest.json").read_text())


# ----------------------------------------------------------------------------- labels
def test_attribute_file_in_both_forms_reads_the_same(kaggle, tmp_path):
    orig = celeba.write_fake_celeba(tmp_path / "orig", 12, seed=1, layout="original", workers=1)
    csv = celeba.parse_attributes((kaggle / "list_attr_celeba.csv").read_text())
    txt = celeba.parse_attributes((orig / "list_attr_celeba.txt").read_text())
    assert txt.declared == 12 and csv.declared is None
    assert sorted(csv.rows) == sorted(txt.rows) == [f"{i:06d}.jpg" for i in range(1, 13)]
    for k in csv.rows:
        np.testing.assert_array_equal(csv.rows[k], txt.rows[k])
    assert not csv.problems and not txt.problems
    p_csv = celeba.parse_partitions((kaggle / "list_eval_partition.csv").read_text())
    p_txt = celeba.parse_partitions((orig / "list_eval_partition.txt").read_text())
    assert p_csv.rows == p_txt.rows and set(p_csv.rows.values()) == {0, 1, 2}


def test_attribute_columns_are_reordered_by_name():
    names = list(reversed(ATTR_NAMES))
    row = ["1" if n == "Smiling" else "-1" for n in names]
    text = "image_id," + ",".join(names) + "\n000001.jpg," + ",".join(row) + "\n"
    labels = celeba.parse_attributes(text)
    values = labels.rows["000001.jpg"]
    assert values[attr_index("Smiling")] == 1 and values.sum() == -38


def test_malformed_missing_and_extra_attribute_rows_are_counted():
    header = "3\n" + " ".join(ATTR_NAMES) + "\n"
    good = " ".join(["1"] * 40)
    text = (
        header
        + f"000001.jpg {good}\n000002.jpg 1 -1\n000003.jpg {' '.join(['7'] * 40)}\n"
        + f"000004.jpg {good}\n"
    )
    labels = celeba.parse_attributes(text)
    assert sorted(labels.rows) == ["000001.jpg", "000004.jpg"]
    assert labels.problems["malformed_rows"] == 2
    assert labels.problems["count_line"] == 3 and labels.problems["rows_found"] == 4
    with pytest.raises(celeba.CelebAError, match="header"):
        celeba.parse_attributes("image_id,Smiling,Nonsense\n000001.jpg,1,1\n")
    with pytest.raises(celeba.CelebAError, match="empty"):
        celeba.parse_attributes("\n\n")


# ----------------------------------------------------------------------------- preparing
def test_prepare_from_kaggle_folder(kaggle):
    folder = celeba.prepare_celeba(24, source=kaggle, progress=False, verbose=False)
    images = np.load(folder / "images.npy", mmap_mode="r")
    attrs = np.load(folder / "attrs.npy")
    assert images.shape == (12, 24, 24, 3) and images.dtype == np.uint8
    labels = celeba.parse_attributes((kaggle / "list_attr_celeba.csv").read_text())
    names = (folder / "names.txt").read_text().split()
    assert names == sorted(labels.rows)
    np.testing.assert_array_equal(attrs, np.stack([labels.rows[n] for n in names]))
    assert list(np.load(folder / "partition.npy")[:2]) == [0, 0]
    m = _manifest(folder)
    assert m["count"] == 12 and m["size"] == 24 and m["crop_box"] == list(celeba.CROP_BOX)
    assert m["files"]["images.npy"]["sha256"] == files.file_digest(folder / "images.npy")
    assert m["report"]["skipped"] == {}
    # the crop is the documented box, resized (compare with a plain PIL crop)
    with Image.open(_image_dir(kaggle) / names[3]) as im:
        ref = np.asarray(im.convert("RGB").crop(celeba.CROP_BOX).resize((24, 24), Image.BILINEAR))
    assert np.abs(ref.astype(int) - images[3]).mean() < 6


def test_original_layout_and_zip_give_the_same_images(kaggle, tmp_path):
    a = np.load(
        celeba.prepare_celeba(16, source=kaggle, progress=False, verbose=False) / "images.npy"
    )
    zpath = tmp_path / "celeba.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(kaggle.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(kaggle).as_posix())
    folder = celeba.prepare_celeba(16, source=zpath, progress=False, verbose=False, force=True)
    np.testing.assert_array_equal(np.load(folder / "images.npy"), a)
    assert _manifest(folder)["report"]["attributes"]["images_without_row"] == 0
    # the original release: images zipped in Img/, labels as .txt in Anno/ and Eval/
    orig = celeba.write_fake_celeba(tmp_path / "orig", 12, seed=1, layout="original", workers=1)
    rel = tmp_path / "release"
    (rel / "Img").mkdir(parents=True)
    (rel / "Anno").mkdir()
    (rel / "Eval").mkdir()
    with zipfile.ZipFile(rel / "Img" / "img_align_celeba.zip", "w") as zf:
        for p in sorted((orig / "img_align_celeba").glob("*.jpg")):
            zf.write(p, "img_align_celeba/" + p.name)
    (orig / "list_attr_celeba.txt").rename(rel / "Anno" / "list_attr_celeba.txt")
    (orig / "list_eval_partition.txt").rename(rel / "Eval" / "list_eval_partition.txt")
    folder = celeba.prepare_celeba(16, source=rel, progress=False, verbose=False, force=True)
    np.testing.assert_array_equal(np.load(folder / "images.npy"), a)
    assert np.load(folder / "attrs.npy").any()


def test_bad_files_are_converted_or_skipped_and_counted(kaggle, capsys):
    d = _image_dir(kaggle)
    good = (d / "000001.jpg").read_bytes()
    (d / "000002.jpg").write_bytes(good[: len(good) // 2])  # truncated
    (d / "000003.jpg").write_text("this is not a picture")  # not an image
    Image.new("L", (178, 218), 120).save(d / "000004.jpg")  # grayscale
    Image.new("CMYK", (178, 218), (10, 20, 30, 40)).save(d / "000005.jpg")  # CMYK
    (d / "000006.jpg").unlink()
    Image.new("RGBA", (178, 218), (200, 10, 10, 128)).save(d / "000006.png")  # RGBA
    Image.new("RGB", (100, 100)).save(d / "000007.jpg")  # wrong shape
    Image.new("RGB", (89, 109), (0, 255, 0)).save(d / "000008.jpg")  # half size: usable
    (d / "notes.txt").write_text("not data")  # not an image file
    folder = celeba.prepare_celeba(16, source=kaggle, progress=False)
    m = _manifest(folder)
    rep = m["report"]
    assert rep["skipped"] == {"corrupt": 1, "not_an_image": 1, "wrong_size": 1}
    assert rep["converted_modes"] == {"L": 1, "CMYK": 1, "RGBA": 1}
    assert rep["ignored_files"] == 1
    # 000006.png has no attribute row (the csv names 000006.jpg); that row has no image
    assert rep["attributes"]["images_without_row"] == 1
    assert rep["attributes"]["rows_without_image"] == 1
    names = (folder / "names.txt").read_text().split()
    assert len(names) == m["count"] == 9
    assert "000002.jpg" not in names and "000007.jpg" in "".join(
        (folder / "skipped.txt").read_text()
    )
    attrs = np.load(folder / "attrs.npy")
    assert not attrs[names.index("000006.png")].any()  # unknown -> zeros
    images = np.load(folder / "images.npy")
    gray = images[names.index("000004.jpg")]
    assert np.abs(gray.astype(int) - 120).max() <= 2
    assert images[names.index("000008.jpg")][..., 1].mean() > 240
    err = capsys.readouterr().err
    assert "SKIPPED" in err and "wrong_size: 1" in err and "skipped.txt" in err


def test_empty_or_missing_source_says_how_to_get_the_data(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(celeba.CelebAError) as e:
        celeba.prepare_celeba(16, source=empty)
    for hint in ("kagglehub", celeba.ENV_CELEBA, "zip", "VAECOURSE_DATA=synthetic"):
        assert hint in str(e.value)
    with pytest.raises(celeba.CelebAError, match="does not exist"):
        celeba.find_source(tmp_path / "nowhere")
    monkeypatch.setenv(celeba.ENV_CELEBA, str(tmp_path / "gone.zip"))
    with pytest.raises(celeba.CelebAError, match="VAECOURSE_CELEBA"):
        celeba.find_source()
    monkeypatch.delenv(celeba.ENV_CELEBA)
    monkeypatch.setitem(__import__("sys").modules, "kagglehub", None)  # not installed
    with pytest.raises(celeba.CelebAError, match="kagglehub is not installed"):
        celeba.find_source()
    (tmp_path / "bad.zip").write_text("no zip")
    with pytest.raises(celeba.CelebAError, match="not a readable zip"):
        celeba.find_source(tmp_path / "bad.zip")


def test_only_broken_images_is_an_error(tmp_path):
    d = tmp_path / "junk"
    d.mkdir()
    (d / "1.jpg").write_text("x")
    with pytest.raises(celeba.CelebAError, match="none of the 1"):
        celeba.prepare_celeba(16, source=d, progress=False)
    assert store.validate(celeba.celeba_folder(16, None, d)) is None


def test_interrupted_preparation_is_never_read_as_valid(kaggle, monkeypatch):
    monkeypatch.setattr(celeba, "BATCH", 4)
    folder = celeba.celeba_folder(16, None, kaggle)
    with pytest.raises(KeyboardInterrupt):
        celeba.prepare_celeba(16, source=kaggle, progress=False, _stop_after=1)
    assert store.validate(folder) is None
    assert not (folder / "images.npy").exists() and not list(folder.glob(".*.part*"))
    done = celeba.prepare_celeba(16, source=kaggle, progress=False, verbose=False, workers=1)
    assert _manifest(done)["count"] == 12
    # a kill -9 mid-rewrite: manifest gone, a half file and a temp file left behind
    (folder / "manifest.json").unlink()
    (folder / ".images.x.part.npy").write_bytes(b"half")
    assert store.validate(folder) is None
    again = celeba.prepare_celeba(16, source=kaggle, progress=False, verbose=False, workers=1)
    assert store.validate(again) is not None and not list(folder.glob(".*.part*"))


def test_prepared_set_loads_without_the_source(kaggle, monkeypatch, capsys):
    import shutil

    from vaecourse.kit import profiles
    from vaecourse.kit.data import load_faces

    monkeypatch.setenv(celeba.ENV_CELEBA, str(kaggle))
    monkeypatch.setattr(celeba, "MIN_TRAIN", 1)
    monkeypatch.setattr(celeba, "MIN_VAL", 1)
    P = profiles.profile("ci").replace(dataset="celeba", image_size=16, n_train=8, n_val=4)
    faces = load_faces(P, progress=False)
    # the made-up set's partition: 10 train, 1 val, 1 test (80/10/10 of 12, rounded up)
    assert faces.source == "celeba" and faces.train.shape == (8, 16, 16, 3)
    assert faces.val.shape == (1, 16, 16, 3) and faces.test.shape == (1, 16, 16, 3)
    assert faces.partition.shape == (12,)
    assert faces.names[0] == "000001.jpg"
    shutil.rmtree(kaggle)  # the raw files are not needed any more
    again = load_faces(P)
    np.testing.assert_array_equal(again.train, faces.train)
    assert "celeba" in capsys.readouterr().out
