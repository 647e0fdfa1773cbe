"""How fast the data layer is: generation, preparation, and the three input pipelines.

Prints images per second for

* synthetic face generation at 32, 64 and 96 pixels (1 process and the pool),
* CelebA preparation (decode + crop + resize + store) on a made-up folder of 178x218
  JPEGs in CelebA's Kaggle layout,
* ``tf.data`` over a memory map vs the file-streaming Python generator vs the legacy
  ``ImageDataGenerator.flow``,

and the peak resident memory (this process and its worker processes).  Everything runs
in a temporary folder and cache.  ``--quick`` uses small sizes (about a minute on two
cores); the defaults take a few minutes.

    python benchmarks/data_throughput.py --quick [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def peak_rss_mb() -> dict:
    """Peak resident set size of this process and of its (finished) children, in MB."""
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 2**20  # KiB on Linux
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return {"self_mb": round(own, 1), "largest_child_mb": round(kids, 1)}


def anon_mb() -> float:
    """Anonymous (heap) resident memory in MB.  Pages of a memory-mapped file also count
    in RSS, but the kernel can drop them at any time; the heap is what a pipeline holds."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def cpu_seconds() -> float:
    """CPU time used so far by this process and its finished children (pool workers).
    Images per CPU-second do not depend on what else the machine is doing; wall-clock
    rates on a shared machine do."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def rate(n, seconds):
    return round(n / seconds, 1) if seconds > 0 else float("inf")


def bench_synthetic(sizes, n_per_size, workers_list):
    from vaecourse.kit.data.synthetic import render_faces

    out = {}
    for size in sizes:
        n = n_per_size[size]
        for w in workers_list:
            t0, c0 = time.perf_counter(), cpu_seconds()
            render_faces(n, size, seed=0, workers=w)
            dt, cpu = time.perf_counter() - t0, cpu_seconds() - c0
            # pool workers are children of the forkserver, not of this process, so their
            # CPU time is invisible here: per-CPU-second rates only for one process
            per_cpu = rate(n, cpu) if w == 1 else None
            out[f"{size}px_workers{w}"] = {
                "images": n,
                "seconds": round(dt, 2),
                "img_per_s": rate(n, dt),
                "img_per_cpu_s": per_cpu,
            }
            extra = f"  ({per_cpu:.0f} img per CPU-second)" if per_cpu else ""
            print(
                f"synthetic {size:3d}px  workers={w}  {n:6d} images  {dt:6.2f} s  "
                f"{rate(n, dt):8.0f} img/s{extra}",
                flush=True,
            )
    return out


def bench_prepare(folder, sizes, workers):
    from vaecourse.kit.data import celeba

    out = {}
    for size in sizes:
        t0 = time.perf_counter()
        prepared = celeba.prepare_celeba(
            size, source=folder, workers=workers, force=True, progress=False, verbose=False
        )
        dt = time.perf_counter() - t0
        m = json.loads((prepared / "manifest.json").read_text())
        n = m["count"]
        out[f"{size}px"] = {
            "images": n,
            "seconds_total": round(dt, 2),
            "img_per_s_total": rate(n, dt),
            "img_per_s_decode_loop": m["images_per_second"],
        }
        print(
            f"prepare CelebA {size:3d}px workers={workers}  {n:6d} images  {dt:6.2f} s  "
            f"{rate(n, dt):8.0f} img/s (decode loop {m['images_per_second']:.0f} img/s)",
            flush=True,
        )
    return out


def time_batches(iterable, max_images):
    """(images per second, images, heap growth in MB) over up to ``max_images``, measured
    after one warm-up batch (which pays for start-up: threads, buffers)."""
    from vaecourse.measure import throughput

    it = iter(iterable)
    next(it)  # warm-up outside the memory baseline too
    mem0 = anon_mb()
    r = throughput(it, max_images, warmup=0)
    return round(r.img_per_s, 1), r.images, round(anon_mb() - mem0, 1)


def bench_pipelines(images, small, paths, size, batch_size):
    from vaecourse.kit.data import pipelines

    out = {}
    mb = images.nbytes / 2**20
    for scale in ("01", "none"):
        ds = pipelines.make_dataset(images, batch_size, seed=0, scale=scale, target="x")
        r, n, grow = time_batches(ds, len(images))
        key = "tf_data_memmap" + ("" if scale == "01" else "_uint8")
        out[key] = {"img_per_s": r, "images": n, "heap_growth_mb": grow, "data_mb": round(mb)}
        print(
            f"tf.data over memmap ({'float32' if scale == '01' else 'uint8  '})  {r:8.0f} "
            f"img/s  (one epoch of {n} images = {mb:.0f} MB uint8; heap +{grow:.0f} MB)",
            flush=True,
        )
    gen = pipelines.stream_from_files(paths, batch_size, size=size, seed=0)
    r, n, grow = time_batches(gen, 4 * len(paths))
    out["python_file_generator"] = {"img_per_s": r, "images": n, "heap_growth_mb": grow}
    print(
        f"Python file generator        {r:8.0f} img/s  ({n} images; decode+crop+resize "
        f"in one thread; heap +{grow:.0f} MB)",
        flush=True,
    )
    try:
        mem0 = anon_mb()
        flow = pipelines.legacy_flow(np.asarray(small), batch_size, seed=0)
        copy = round(anon_mb() - mem0, 1)
        r, n, _ = time_batches(flow, 4 * len(small))
        out["image_data_generator_flow"] = {
            "img_per_s": r,
            "images": n,
            "float32_copy_mb": copy,
            "data_mb": round(small.nbytes / 2**20),
        }
        print(
            f"ImageDataGenerator.flow      {r:8.0f} img/s  ({n} images from "
            f"{len(small)} in RAM; creating it took heap +{copy:.0f} MB = a float32 copy "
            f"of {small.nbytes / 2**20:.0f} MB uint8)",
            flush=True,
        )
    except ImportError as e:
        print(f"ImageDataGenerator.flow      skipped ({e})")
    return out


def bench_shuffle_fill(n):
    """Seconds until the first batch when shuffling ``n`` indices (a full-size buffer)."""
    import tensorflow as tf

    ds = tf.data.Dataset.range(n).shuffle(n, seed=0).batch(128)
    t0 = time.perf_counter()
    next(iter(ds))
    dt = time.perf_counter() - t0
    print(f"tf.data shuffle buffer of {n:,} indices: first batch after {dt:.2f} s", flush=True)
    return round(dt, 3)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    ap.add_argument("--workers", type=int, default=None, help="pool size (default: cores)")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from vaecourse.kit.data.parallel import cpu_workers

    workers = args.workers or cpu_workers()
    q = args.quick
    n_synth = {32: 2000 if q else 10000, 64: 1000 if q else 9000, 96: 500 if q else 4000}
    n_fake = 1500 if q else 6000
    n_pipe = 2000 if q else 8000
    repeat_big = 10 if q else 20

    results = {
        "cpu_cores": os.cpu_count(),
        "workers": workers,
        "quick": q,
        "loadavg_start": round(os.getloadavg()[0], 2),
    }
    print(f"load average (1 min): {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="vaecourse-bench-") as tmp:
        tmp = Path(tmp)
        os.environ["VAECOURSE_CACHE"] = str(tmp / "cache")
        print(f"== synthetic faces (cores: {os.cpu_count()}, pool: {workers})")
        results["synthetic"] = bench_synthetic((32, 64, 96), n_synth, sorted({1, workers}))

        print(f"== CelebA preparation on {n_fake} made-up 178x218 JPEGs")
        from vaecourse.kit.data import celeba

        t0 = time.perf_counter()
        fake = celeba.write_fake_celeba(tmp / "celeba", n_fake, seed=0, workers=workers)
        print(f"(writing the made-up folder took {time.perf_counter() - t0:.1f} s)")
        results["prepare_celeba"] = bench_prepare(fake, (96, 64), workers)

        print("== input pipelines, 64px, batch 128")
        from vaecourse.kit.data.synthetic import render_faces

        small = render_faces(n_pipe, 64, seed=1, workers=workers).images
        # a bigger memmap (the small set repeated) shows that RAM does not grow with it
        big = np.lib.format.open_memmap(
            tmp / "pipe.npy", mode="w+", dtype=np.uint8, shape=(n_pipe * repeat_big, 64, 64, 3)
        )
        for k in range(repeat_big):
            big[k * n_pipe : (k + 1) * n_pipe] = small
        big.flush()
        del big
        images = np.load(tmp / "pipe.npy", mmap_mode="r")
        paths = sorted((fake / "img_align_celeba" / "img_align_celeba").glob("*.jpg"))
        results["pipelines_64px"] = bench_pipelines(images, small, paths, 64, 128)
        results["shuffle_fill_170k_s"] = bench_shuffle_fill(170_000)
    results["peak_rss"] = peak_rss_mb()
    print(
        f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores -- wall-clock rates shrink when the machine is shared"
    )
    results["loadavg_end"] = round(os.getloadavg()[0], 2)
    print(
        f"== peak RSS: this process {results['peak_rss']['self_mb']:.0f} MB, "
        f"largest worker {results['peak_rss']['largest_child_mb']:.0f} MB"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
