"""The pipeline measurements: throughput counting and the three feeds, in and out of process."""

import numpy as np
import pytest

from vaecourse.kit import measure


def batches(n, size=8):
    for _ in range(n):
        yield np.zeros((size, 4, 4, 3), np.float32)


def test_throughput_times_the_batches_after_the_warmup(monkeypatch):
    clock = {"t": 0.0}
    monkeypatch.setattr(measure.time, "perf_counter", lambda: clock["t"])

    def slow(n, first=100.0, each=2.0):  # the warm-up batch is slow (tracing), the rest not
        for i in range(n):
            clock["t"] += first if i == 0 else each
            yield np.zeros((8, 4, 4, 3), np.float32)

    rate = measure.throughput(slow(10), n_images=40)
    # the clock starts after the warm-up batch; 5 batches of 8 images take 2 s each
    assert rate.images == 40 and rate.seconds == 10.0 and rate.img_per_s == 4.0


def test_throughput_stops_when_the_iterable_ends():
    assert measure.throughput(batches(3), n_images=10_000).images == 16
    assert measure.throughput(((x, x) for x in batches(3)), n_images=8).images == 8


def test_memory_readings_follow_an_allocation():
    before = measure.rss_mb()
    junk = np.ones(64 * 2**20 // 8)  # 64 MiB, touched by np.ones
    grown = measure.rss_mb() - before
    del junk
    assert 50 < grown < 80
    assert measure.peak_rss_mb() >= measure.rss_mb()  # the high-water mark is never below now


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    path = tmp_path_factory.mktemp("measure") / "x.npy"
    np.save(path, np.random.default_rng(0).integers(0, 255, (96, 16, 16, 3), dtype=np.uint8))
    return path


def test_bad_arguments_are_explained(images):
    with pytest.raises(ValueError, match="choose one of"):
        measure.feed_in_process("magic", images=images)
    with pytest.raises(ValueError, match="paths"):
        measure.feed_in_process("files")
    with pytest.raises(ValueError, match="images"):
        measure.feed_in_subprocess("tfdata")


def test_tfdata_in_process(images):
    res = measure.feed_in_process("tfdata", images=images, batch_size=16, n_images=64)
    assert res.kind == "tfdata" and res.images == 64 and res.img_per_s > 0
    assert res.data_mb == pytest.approx(96 * 16 * 16 * 3 / 2**20, abs=0.1)
    assert res.peak_rss_mb >= res.base_rss_mb and res.extra_mb >= 0
    assert res.label == measure.LABELS["tfdata"]


def test_flow_in_a_subprocess(images):
    pytest.importorskip("tf_keras")
    res = measure.feed("flow", isolated=True, images=images, batch_size=16, n_images=32)
    assert res.kind == "flow" and res.images >= 32 and res.peak_rss_mb > res.base_rss_mb > 0


def test_files_in_process(tmp_path):
    from PIL import Image

    paths = []
    for i in range(4):
        p = tmp_path / f"{i}.jpg"
        Image.fromarray(np.full((218, 178, 3), 40 * i, np.uint8)).save(p)
        paths.append(p)
    res = measure.feed_in_process("files", paths=paths, size=32, batch_size=2, n_images=4)
    assert res.images == 4 and res.data_mb == 0


def test_peak_rss_can_be_reset_on_linux():
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("the reset is Linux only")
    junk = np.ones(64 * 2**20 // 8)  # 64 MiB
    high = measure.peak_rss_mb()
    del junk
    assert measure.reset_peak_rss()
    assert measure.peak_rss_mb() < high
