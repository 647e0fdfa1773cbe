"""The dress rehearsal: run chapters under ``full`` with ``VAECOURSE_DRY_RUN=1``.

    .venv/bin/python scripts/dry_run.py                # every chapter
    .venv/bin/python scripts/dry_run.py 10 11 16       # chapters by number (or notebook paths)

Each chapter runs top to bottom in a fresh kernel, with the real shapes of ``full`` (96x96,
z 256, batch 128, every model and measure) but a few hundred images and at most two epochs of
two batches per ``fit`` (``vaecourse/kit/profiles.py``).  Nothing is stored: the notebooks on disk
keep their outputs.  Prints per chapter the wall time and the peak resident memory of its
kernel (with its child processes), also outside its fits (a GPU holds a fit's activations,
this CPU the kernel); exits non-zero, naming the chapter and cell, on the first
failure.  Without ``$VAECOURSE_CELEBA`` the synthetic faces stand in for CelebA.  Trained
models and prepared data go to a fresh temporary cache unless ``--cache`` names one (models
from a dress rehearsal are keyed apart from real ones, see ``kit/model_cache.py``).
``--json FILE`` writes the measurements and every ``fit`` a chapter made -- its model, the
model's per-image cost at the real shapes, the images and epochs asked for -- which
``scripts/full_budget.py`` turns into the time and memory budget of each chapter.

Memory is the kernel's resident memory plus the *private* memory of its child processes (e.g.
chapter Scaling's two workers): the pages a child shares with the kernel, TensorFlow's
libraries above all (about 0.4 GB per process), are counted once.  ``--without-onednn`` runs
the kernel with TensorFlow's oneDNN operations off (``TF_ENABLE_ONEDNN_OPTS=0``): with them,
TensorFlow's CPU allocator keeps the memory of its largest computation for the rest of the
run (after two training steps of T2's model at batch 128 on a CPU: 3.6 GB resident, and
``malloc_trim`` returns none of it; without oneDNN 1.5 GB, 1.1 GB after ``malloc_trim``).  On a GPU those computations -- a
chapter's training, decoding and measuring -- hold GPU memory, not host memory, so for a
chapter whose work runs on the GPU the rehearsal without oneDNN is the truer measure of the
host memory a GPU run needs; a chapter that computes on the CPU on purpose (Scaling's two
logical CPU devices) keeps it on.  The results say which (``"onednn"``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vaecourse.kit.files import write_json_atomic  # noqa: E402  (no TensorFlow in this process)


def chapter_paths(names) -> list[Path]:
    """Notebook paths for chapter numbers ("10", "7") or paths; all chapters for none."""
    every = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    if not names:
        return every
    out = []
    for name in names:
        if name.endswith(".ipynb"):
            out.append(Path(name).resolve())
            continue
        hits = [p for p in every if p.name[:2] == f"{int(name):02d}"]
        if not hits:
            raise SystemExit(f"no chapter {name!r} in notebooks/ (numbers 00-{every[-1].name[:2]})")
        out += hits
    return out


class PeakMemory:
    """Polls the resident memory of a process and its children; ``peak`` in bytes, and every
    poll as ``(time.time(), bytes)`` in ``samples`` (and its CPU seconds so far in ``cpus``)."""

    def __init__(self, every: float = 0.25):
        self.every, self.peak, self.pid, self.cpu = every, 0, None, 0.0
        self.samples: list[tuple[float, int]] = []
        self.cpus: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        """The kernel's resident bytes plus its children's private ones (pages a child shares
        with the kernel, such as TensorFlow's libraries, are the kernel's already)."""
        try:
            proc = psutil.Process(self.pid)
            total = proc.memory_info().rss
            children = proc.children(recursive=True)
        except psutil.Error:
            return 0
        for p in children:
            try:
                total += p.memory_full_info().uss
            except psutil.Error:
                pass
        return total

    def _cpu(self) -> float:
        """CPU seconds of the process, its finished children and its running ones."""
        try:
            proc = psutil.Process(self.pid)
            t = proc.cpu_times()
            total = t.user + t.system + t.children_user + t.children_system
            for child in proc.children(recursive=True):
                c = child.cpu_times()
                total += c.user + c.system
            return total
        except psutil.Error:
            return 0.0

    def _run(self):
        while not self._stop.wait(self.every):
            if self.pid:
                rss = self._rss()
                self.samples.append((time.time(), rss))
                self.peak = max(self.peak, rss)
                self.cpu = max(self.cpu, self._cpu())
                self.cpus.append(self.cpu)

    def peak_outside(self, spans) -> int:
        """The peak of the polls outside the ``[start, end]`` spans (seconds since the epoch)."""
        return max(
            (rss for t, rss in self.samples if not any(a <= t <= b for a, b in spans)), default=0
        )

    def cpu_inside(self, spans) -> float:
        """CPU seconds spent within the spans (from the polls around each)."""
        total = 0.0
        for a, b in spans:
            inside = [c for (t, _), c in zip(self.samples, self.cpus) if a <= t <= b]
            before = [c for (t, _), c in zip(self.samples, self.cpus) if t < a][-1:]
            if inside:
                total += inside[-1] - (before or inside)[0]
        return total

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def rehearse(path: Path, timeout: int) -> dict:
    """Execute ``path`` in a fresh kernel under the dress rehearsal; nothing is written.
    The result lists every ``fit`` of the chapter (``VAECOURSE_DRY_RUN_LOG``)."""
    with tempfile.TemporaryDirectory(prefix="vaecourse-dry-run-log-") as folder:
        log = Path(folder) / "fits.jsonl"
        os.environ["VAECOURSE_DRY_RUN_LOG"] = str(log)  # the kernel inherits it
        result, mem = _rehearse(path, timeout)
        lines = log.read_text().splitlines() if log.exists() else []
    fits = [json.loads(line) for line in lines]
    # on a GPU a fit's activations and gradients live in GPU memory; on this CPU they are in
    # the kernel's: the peak outside the fits is the host memory a GPU run needs besides them
    spans = [f["span"] for f in fits if "span" in f]
    outside = mem.peak_outside(spans)
    return {
        **result,
        "peak_rss_outside_fits_gb": round(outside / 1e9, 2),
        # the rehearsal's training on this CPU, which the budget prices from the FLOPs instead
        "cpu_seconds_in_fits": round(mem.cpu_inside(spans), 1),
        "fits": fits,
    }


def _rehearse(path: Path, timeout: int) -> dict:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=False,
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    t0 = time.monotonic()
    cells = {}  # code cell index -> its peak memory (GB): which cell sets the chapter's peak
    with PeakMemory() as mem:
        with client.setup_kernel():
            mem.pid = client.km.provisioner.process.pid
            try:
                for index, cell in enumerate(nb.cells):
                    first = len(mem.samples)
                    client.execute_cell(cell, index)
                    if cell.cell_type == "code":
                        polled = [rss for _, rss in mem.samples[first:]] or [mem._rss()]
                        cells[index] = round(max(polled) / 1e9, 2)
            except (CellExecutionError, CellTimeoutError) as err:  # a failure, or --timeout
                error = str(err)[-3000:]
                return _record(path, t0, mem, cells, ok=False, cell=index, error=error), mem
    return _record(path, t0, mem, cells, ok=True), mem


def _record(path, t0, mem, cells, **result) -> dict:
    """One chapter's line of the report: its time and memory (also per code cell), and how
    it ended."""
    return {
        "chapter": path.name,
        **result,
        "seconds": round(time.monotonic() - t0, 1),
        "peak_rss_gb": round(mem.peak / 1e9, 2),
        "cpu_seconds": round(mem.cpu, 1),
        "cell_peak_rss_gb": cells,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("chapters", nargs="*", help="chapter numbers or notebook paths; default all")
    ap.add_argument("--profile", default="full", choices=["ci", "book", "full"])
    ap.add_argument("--cache", help="cache folder (default: a fresh temporary one)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    ap.add_argument("--keep-going", action="store_true", help="run the rest after a failure")
    ap.add_argument("--json", type=Path, help="write the measurements to this file")
    ap.add_argument(
        "--without-onednn",
        action="store_true",
        help="TensorFlow's oneDNN operations off: no CPU memory pool kept after a computation",
    )
    args = ap.parse_args(argv)
    paths = chapter_paths(args.chapters)
    os.environ.update(VAECOURSE_PROFILE=args.profile, VAECOURSE_DRY_RUN="1", PYTHONHASHSEED="0")
    if args.without_onednn:
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tmp = None
    if args.cache:
        os.environ["VAECOURSE_CACHE"] = str(Path(args.cache).resolve())
    else:
        tmp = tempfile.TemporaryDirectory(prefix="vaecourse-dry-run-")
        os.environ["VAECOURSE_CACHE"] = tmp.name
    data = "CelebA from $VAECOURSE_CELEBA" if os.environ.get("VAECOURSE_CELEBA") else "synthetic"
    print(
        f"[dry-run] profile {args.profile}, {data} faces, {len(paths)} chapter(s), "
        f"oneDNN {'on' if onednn else 'off'}",
        flush=True,
    )
    results, start = [], time.monotonic()
    try:
        for path in paths:
            r = rehearse(path, args.timeout)
            # models an earlier chapter of this run cached are loaded, not trained (with
            # --cache, also those of earlier runs)
            r["cache_after"] = [x["chapter"] for x in results]
            r["onednn"], r["children"] = onednn, "private"  # how it was measured (docstring)
            results.append(r)
            if args.json:  # after every chapter: a later one that crashes loses nothing
                write_json_atomic(args.json, {"profile": args.profile, "results": results})
            state = "ok" if r["ok"] else f"FAILED in cell {r['cell']}"
            print(
                f"[dry-run] {path.name:34s} {r['seconds']:7.0f} s ({r['cpu_seconds']:.0f} s CPU)  "
                f"peak RAM {r['peak_rss_gb']:5.2f} GB ({r['peak_rss_outside_fits_gb']:.2f} GB "
                f"outside fits)  {len(r['fits']):2d} fit(s)  {state}",
                flush=True,
            )
            top = sorted(r["cell_peak_rss_gb"].items(), key=lambda kv: -kv[1])[:3]
            print(f"[dry-run]   highest cells: {top}", flush=True)
            if not r["ok"]:
                print(r["error"], file=sys.stderr, flush=True)
                if not args.keep_going:
                    break
    finally:
        if tmp is not None:
            tmp.cleanup()
    total = time.monotonic() - start
    failed = [r["chapter"] for r in results if not r["ok"]]
    print(f"[dry-run] {len(results)} chapter(s) in {total:.0f} s; failed: {failed or 'none'}")
    if failed or len(results) < len(paths):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
