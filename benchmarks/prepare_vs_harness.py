"""CelebA preparation, end to end, against a plain PIL harness doing only the decode.

    VAECOURSE_CELEBA=/path/to/celeba python benchmarks/prepare_vs_harness.py [--size 96]

Both sides turn the same full-size (178x218) aligned JPEGs into a uint8 array of crops:

* the harness: PIL with draft mode, crop box, resize, in a pool of ``--workers`` processes,
  nothing else -- the speed of the decode itself;
* the course: ``prepare_celeba`` from scratch (``force=True``), which also finds the files,
  parses the official label lists (202,599 rows each in the real CelebA), writes the memory
  map, the attributes, the partition and the manifest atomically.

They run alternately, ``--repeats`` times each, in one process, so that a shared machine
slows both alike; the ratio of the medians is the figure (goal: course >= 0.9x harness).
Without full CelebA the folder may be the book subset (its 6,009 full-size images are used).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ALIGNED = (178, 218)
BOX = (15, 40, 163, 188)


def _harness_decode(args):
    paths, size = args
    from PIL import Image

    out = np.empty((len(paths), size, size, 3), np.uint8)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            need = math.ceil(ALIGNED[0] * size / (BOX[2] - BOX[0]))
            im.draft("RGB", (need, math.ceil(ALIGNED[1] * need / ALIGNED[0])))
            f = im.size[0] / ALIGNED[0]
            box = tuple(c * f for c in BOX)
            out[i] = np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR, box=box))
    return out


def harness(paths, size, workers, batch=256):
    jobs = [(paths[i : i + batch], size) for i in range(0, len(paths), batch)]
    with get_context("fork").Pool(workers) as pool:
        return np.concatenate(pool.map(_harness_decode, jobs))


def full_size_images(folder: Path) -> list:
    from PIL import Image

    names = []
    for p in sorted(folder.rglob("*.jpg")):
        with Image.open(p) as im:
            if im.size == ALIGNED:
                names.append(p)
    return names


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    source = os.environ.get("VAECOURSE_CELEBA")
    if not source:
        print("set VAECOURSE_CELEBA to a CelebA folder (full CelebA or the book subset)")
        return 2
    paths = full_size_images(Path(source))
    names = [p.name for p in paths]
    print(
        f"{len(paths):,} full-size images from {Path(source).name}/, size {args.size}, "
        f"workers {args.workers}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    from vaecourse.kit.data import celeba

    t_h, t_c = [], []
    with tempfile.TemporaryDirectory(prefix="vaecourse-bench-") as tmp:
        os.environ["VAECOURSE_CACHE"] = tmp
        for r in range(args.repeats):
            t0 = time.perf_counter()
            arr = harness([str(p) for p in paths], args.size, args.workers)
            t_h.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            folder = celeba.prepare_celeba(
                args.size,
                source=source,
                names=names,
                force=True,
                workers=args.workers,
                progress=False,
                verbose=False,
            )
            t_c.append(time.perf_counter() - t0)
            print(
                f"run {r + 1}: harness {len(arr) / t_h[-1]:7.0f} img/s   course end to end "
                f"{len(names) / t_c[-1]:7.0f} img/s",
                flush=True,
            )
        t0 = time.perf_counter()
        src = celeba.find_source(source)
        labels = celeba.parse_attributes(src.read_text(src.attr_file))
        parts = celeba.parse_partitions(src.read_text(src.partition_file))
        t_labels = time.perf_counter() - t0
        same = np.array_equal(np.load(folder / "images.npy"), arr)
    h, c = statistics.median(t_h), statistics.median(t_c)
    print(
        f"labels: {len(labels.rows):,} attribute rows + {len(parts.rows):,} partition rows "
        f"found and parsed in {t_labels:.2f} s"
    )
    print(
        f"median: harness {len(names) / h:.0f} img/s, course {len(names) / c:.0f} img/s, "
        f"ratio course/harness = {h / c:.2f} (goal >= 0.9); identical pixels: {same}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
