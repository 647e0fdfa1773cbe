"""CelebA's label files as people save them: with a byte-order mark (Excel's "CSV UTF-8",
Notepad), with an extra column, with a broken header -- checked before any image is decoded,
and every error names the file."""

import numpy as np
import pytest

from vaecourse.kit.data import celeba
from vaecourse.kit.data.attributes import ATTR_NAMES

BOM = "\ufeff"


pytestmark = pytest.mark.usefixtures("fresh_cache")  # tests/conftest.py


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """12 made-up faces in both layouts, prepared once from the untouched label files."""
    root = tmp_path_factory.mktemp("labels")
    kaggle = celeba.write_fake_celeba(root / "kaggle", 12, seed=2, layout="kaggle", workers=1)
    orig = celeba.write_fake_celeba(root / "orig", 12, seed=2, layout="original", workers=1)
    return kaggle, orig


def _prepared(source):
    folder = celeba.prepare_celeba(16, source=source, progress=False, verbose=False)
    return (
        np.load(folder / "attrs.npy"),
        np.load(folder / "partition.npy"),
        (folder / "names.txt").read_text().split(),
        folder,
    )


def _copy(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def _prefix(path, text):
    path.write_bytes(text.encode("utf-8") + path.read_bytes())


@pytest.mark.parametrize("layout", ["kaggle", "original"])
def test_label_files_with_a_byte_order_mark_read_as_without(reference, tmp_path, layout):
    src = reference[0] if layout == "kaggle" else reference[1]
    ext = ".csv" if layout == "kaggle" else ".txt"
    bom = _copy(src, tmp_path / "bom")
    for stem in ("list_attr_celeba", "list_eval_partition"):
        _prefix(bom / (stem + ext), BOM)
    attrs, part, names, folder = _prepared(bom)
    want_attrs, want_part, want_names, _ = _prepared(src)
    assert names == want_names
    np.testing.assert_array_equal(part, want_part)
    assert part[0] == 0  # 000001.jpg stays in training
    np.testing.assert_array_equal(attrs, want_attrs)
    assert (attrs != 0).all()


def test_parsers_take_text_that_starts_with_a_byte_order_mark():
    row = ",".join(["1"] * 40)
    attrs = celeba.parse_attributes(BOM + "image_id," + ",".join(ATTR_NAMES) + f"\na.jpg,{row}\n")
    assert list(attrs.rows) == ["a.jpg"]
    parts = celeba.parse_partitions(BOM + "a.jpg 0\nb.jpg 2\n")
    assert parts.rows == {"a.jpg": 0, "b.jpg": 2} and not parts.malformed


def test_a_broken_header_fails_before_decoding_and_names_the_file(reference, tmp_path, monkeypatch):
    broken = _copy(reference[0], tmp_path / "broken")
    path = broken / "list_attr_celeba.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace("Smiling", "Smilling")  # a typo in the header
    path.write_text("".join(lines))

    def no_decoding(args):
        raise AssertionError("images were decoded before the label files were checked")

    monkeypatch.setattr(celeba, "_decode_job", no_decoding)
    with pytest.raises(celeba.CelebAError) as err:
        _prepared(broken)
    message = str(err.value)
    assert str(path) in message and "Smiling" in message and "Smilling" in message
    assert "kagglehub" not in message  # the data is at hand; the file is what to fix


def test_an_extra_attribute_column_is_ignored_with_a_note(reference, tmp_path, capsys):
    extra = _copy(reference[0], tmp_path / "extra")
    path = extra / "list_attr_celeba.csv"
    lines = path.read_text().splitlines()
    out = []
    for i, line in enumerate(lines):  # a column "Quality" after the file name, values 0..9
        name, rest = line.split(",", 1)
        out.append(f"{name},{'Quality' if i == 0 else i % 10},{rest}")
    path.write_text("\n".join(out) + "\n")
    attrs, _, _, folder = _prepared(extra)
    np.testing.assert_array_equal(attrs, _prepared(reference[0])[0])
    celeba.prepare_celeba(16, source=extra, progress=False, verbose=True, force=True)
    said = capsys.readouterr().err
    assert "Quality" in said and "ignored" in said


def test_a_label_file_error_in_a_notebook_gives_its_own_advice(reference, tmp_path):
    from vaecourse.kit import colab

    broken = _copy(reference[0], tmp_path / "broken")
    (broken / "list_attr_celeba.csv").write_text("image_id,Smiling\n000001.jpg,1\n")
    with pytest.raises(celeba.LabelFileError) as err:
        _prepared(broken)
    shown = colab.celeba_help(err.value)
    assert "list_attr_celeba.csv" in shown and "header" in shown
    assert "not at hand" not in shown and "Kaggle" not in shown  # the data is there
