"""Input pipelines: tf.data over a memory map, the file-streaming generator, the legacy flow."""

import numpy as np
import pytest
from PIL import Image

from vaecourse.kit.data import pipelines

tf = pytest.importorskip("tensorflow")


@pytest.fixture
def images(tmp_path):
    """40 distinct 8x8 uint8 images in a memory-mapped .npy, as prepared sets are stored."""
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (40, 8, 8, 3), dtype=np.uint8)
    arr[:, 0, 0, 0] = np.arange(40)  # an id in every image
    np.save(tmp_path / "x.npy", arr)
    return np.load(tmp_path / "x.npy", mmap_mode="r")


def _ids(batches):
    return np.concatenate([np.rint(np.asarray(b)[:, 0, 0, 0] * 255).astype(int) for b in batches])


def test_each_epoch_sees_every_image_once_in_a_new_order(images):
    ds = pipelines.make_dataset(images, 16, seed=1, target="x")
    first = _ids(ds)
    second = _ids(ds)
    assert sorted(first) == sorted(second) == list(range(40))
    assert list(first) != list(second)  # reshuffled every epoch
    again = _ids(pipelines.make_dataset(images, 16, seed=1, target="x"))
    assert list(again) == list(first)  # reproducible with a seed
    plain = _ids(pipelines.make_dataset(images, 16, shuffle=False, target="x"))
    assert list(plain) == list(range(40))


def test_scaling_targets_and_shapes(images):
    x, y = next(iter(pipelines.make_dataset(images, 8, shuffle=False)))
    assert x.dtype == tf.float32 and x.shape == (8, 8, 8, 3)
    np.testing.assert_allclose(x.numpy(), images[:8] / 255.0, atol=1e-6)
    np.testing.assert_array_equal(x.numpy(), y.numpy())
    x = next(iter(pipelines.make_dataset(images, 8, shuffle=False, scale="pm1", target="x")))
    np.testing.assert_allclose(x.numpy(), images[:8] / 127.5 - 1, atol=1e-6)
    assert x.numpy().min() >= -1 and x.numpy().max() <= 1
    attrs = np.where(np.arange(40)[:, None] % 2 == 0, 1, -1).astype(np.int8)
    x, a = next(iter(pipelines.make_dataset(images, 8, seed=3, target="attrs", attrs=attrs)))
    ids = np.rint(x.numpy()[:, 0, 0, 0] * 255).astype(int)
    np.testing.assert_array_equal(a.numpy()[:, 0], np.where(ids % 2 == 0, 1.0, -1.0))
    last = list(pipelines.make_dataset(images, 16, shuffle=False, drop_remainder=True))
    assert len(last) == 2


def test_bad_arguments(images):
    with pytest.raises(ValueError, match="scale"):
        pipelines.make_dataset(images, 8, scale="0-255")
    with pytest.raises(ValueError, match="attrs"):
        pipelines.make_dataset(images, 8, target="attrs")
    with pytest.raises(ValueError, match="0 images"):
        pipelines.make_dataset(images[:0], 8)


def test_file_stream_reads_batches_and_counts_bad_files(tmp_path, capsys):
    paths = []
    for i in range(6):
        p = tmp_path / f"{i:06d}.jpg"
        Image.new("RGB", (178, 218), (40 * i, 100, 200)).save(p)
        paths.append(p)
    (tmp_path / "000006.jpg").write_text("broken")
    paths.append(tmp_path / "000006.jpg")
    stats = {}
    gen = pipelines.stream_from_files(
        paths, 4, size=16, seed=0, replace=False, forever=False, stats=stats
    )
    batches = list(gen)
    xs = np.concatenate([b[0] for b in batches])
    assert xs.shape == (6, 16, 16, 3) and xs.dtype == np.float32
    assert xs.min() >= -1 and xs.max() <= 1  # the tutorial's [-1, 1]
    assert stats["skipped"] == {"not_an_image": 1} and stats["images"] == 6
    assert "skipped" in capsys.readouterr().err
    # the tutorial's way: random files with replacement, forever
    gen = pipelines.stream_from_files(paths[:6], 5, seed=0)
    for _ in range(3):
        x, y = next(gen)
        assert x.shape == (5, 218, 178, 3) and x is y
    ds = pipelines.files_dataset(paths[:6], 3, size=16, scale="01", target="x", replace=False)
    got = np.concatenate([b.numpy() for b in ds])
    assert got.shape == (6, 16, 16, 3) and got.min() >= 0


def test_legacy_image_data_generator_flow(images):
    pytest.importorskip("tf_keras")
    flow = pipelines.legacy_flow(images, 8, shuffle=False)
    x = next(flow)
    np.testing.assert_allclose(x, images[:8] / 255.0, atol=1e-6)
    x, y = next(pipelines.as_generator(flow, target="xx"))
    assert x.shape == (8, 8, 8, 3) and x is y
    with pytest.raises(MemoryError, match="make_dataset"):
        pipelines.legacy_flow(images, 8, ram_fraction=1e-12)
