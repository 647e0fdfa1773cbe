"""The time and memory budget of every chapter under ``full``, from the dress rehearsal.

    .venv/bin/python scripts/dry_run.py --json benchmarks/dry_run_full.json   # measure (CPU)
    .venv/bin/python scripts/full_budget.py benchmarks/dry_run_full.json      # -> book/_full_budget.md
    .venv/bin/python scripts/full_budget.py benchmarks/dry_run_full.json new.json \
        --record benchmarks/dry_run_full.json     # new rehearsals replace their chapters' results

The dress rehearsal (``VAECOURSE_DRY_RUN=1``) logs every ``fit`` a chapter makes under
``full``: the model, its forward FLOPs and layer outputs per image at the real shapes (counted
from its Conv2D, Conv2DTranspose and Dense layers), and the epochs the chapter asked for.  The
images each fit would see under ``full`` come from the chapter's own ``P.pick(..., full=...)``
values, read from the notebook (:data:`TRAINING_SETS` says which pick feeds which fit).  From
these:

* training FLOPs = images x epochs x (3 x forward: forward and backward; a GAN step:
  4 generator + 9 discriminator forwards) + validation images x epochs x forward;
* minutes = FLOPs / an effective throughput (:data:`GPUS`) + the chapter's other work, taken
  as its dress rehearsal's CPU seconds, else its wall time (measures and sampling at full
  counts, almost no training);
* host RAM = the rehearsal's measured peak (outside the fits where measured) + every training
  array and test-set-long array a chapter holds in memory, at its full size, + the measures'
  working copy of the largest set it measures (computed; memory-mapped data and tf.data
  pipelines cost page cache);
* GPU memory = weights, gradients and Adam's two moments (16 bytes per parameter) + the
  layer outputs of one batch kept for the backward pass, x 3 for normalisation and activation
  copies, in 2-byte mixed precision + 1 GB for the CUDA context (an estimate).

Models shared between chapters train once, in the first chapter that needs them, when the
chapters run in order with one cache (e.g. Google Drive); later chapters load them.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vaecourse.kit.profiles import _PROFILES, DRY_RUN  # noqa: E402  (the real full profile)

FULL = _PROFILES["full"]
# Effective training throughput (FLOP/s).  Calibration: the series trained its VAE (0.45 GFLOP
# per image and step at 96x96) at 170,000 images in about 2 minutes per epoch on a GTX 960,
# i.e. 0.64 TFLOP/s, 27 % of that card's 2.4 TFLOP/s float32 peak.  The same share of a T4's
# float32 peak (8.1) is 2.2 TFLOP/s; mixed_float16 is taken to double it.  An A100 under
# mixed_bfloat16 is taken at 25 TFLOP/s (8 % of its 312 TFLOP/s tensor peak: these small
# convolutions and the input pipeline keep it far from its peak).
GPUS = {"T4": 4.4e12, "A100": 25e12}
GOAL_MINUTES, GOAL_RAM_GB = 60, 10
DIGITS_VAL = 10_000  # MNIST's test set, the digit chapters' validation data


def picks(notebook: Path, P=FULL) -> dict:
    """``{NAME: full value}`` of every ``NAME = P.pick(..., full=...)`` in the notebook's code
    (tuples unpacked; a pick inside an expression gives its own full value); values that need
    the chapter's data (e.g. ``len(faces.train)``) are left out, as are ``None`` (= the
    profile's own number)."""
    found = {}
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "\n".join(
            line for line in "".join(cell["source"]).splitlines() if line.lstrip()[:1] not in "%!"
        )
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Assign):
                continue
            calls = [
                c
                for c in ast.walk(node.value)
                if isinstance(c, ast.Call)
                and isinstance(c.func, ast.Attribute)
                and c.func.attr == "pick"
            ]
            if len(calls) != 1:
                continue
            # a pick inside an expression (``min(P.pick(...), len(faces.train) // BATCH)``):
            # its full value, the most the expression gives under full
            full = next((k.value for k in calls[0].keywords if k.arg == "full"), None)
            try:
                value = eval(compile(ast.Expression(full), "pick", "eval"), {"P": P})
            except Exception:
                continue
            target = node.targets[0]
            if isinstance(target, ast.Name):
                found[target.id] = value
            elif isinstance(target, ast.Tuple) and isinstance(value, tuple):
                for t, v in zip(target.elts, value):
                    if isinstance(t, ast.Name):
                        found[t.id] = v
    return {k: v for k, v in found.items() if v is not None}


def _is_digits(fit) -> bool:
    return len(fit["image_shape"]) == 3 and fit["image_shape"][-1] == 1


def _is_faces(fit) -> bool:
    return len(fit["image_shape"]) == 3 and fit["image_shape"][-1] == 3


def _pick(name, default):
    return lambda fit, p: p.get(name, default)


# Which pick sets the training images of a fit, per chapter (by the epochs it asks for, which
# tell the chapter's fits apart); every other fit trains on the profile's training set.
TRAINING_SETS = {
    "01": _pick("N_FACES", FULL.n_train),
    "02": _pick("N_FACES", FULL.n_train),
    "10": lambda fit, p: (
        p.get("SIDE_IMAGES", FULL.n_train)
        if fit["epochs_asked"] == p.get("SIDE_EPOCHS")
        else min(p.get("N_MORE", FULL.n_train), FULL.n_train)
        if fit["initial_epoch"]
        else FULL.n_train
    ),
    "11": lambda fit, p: (
        p.get("SWEEP_IMAGES", FULL.n_train)
        if fit["epochs_asked"] == p.get("SWEEP_EPOCHS")
        else FULL.n_train
    ),
    "12": lambda fit, p: (
        p.get("N_IMAGES", FULL.n_train) if fit["epochs_asked"] == p.get("EPOCHS") else FULL.n_train
    ),
    "16": lambda fit, p: (
        p.get("N_FAIL", FULL.n_train)
        if fit["model"] == "face_gan_strong_d"
        # the timing rounds: one untimed epoch and EPOCHS_TIMED timed ones on the bench
        else p.get("N_BENCH", FULL.n_train)
        if fit["epochs_asked"] == p.get("EPOCHS_TIMED", -1) + 1
        else FULL.n_train
    ),
    # the denoising and recolouring AEs train on N_TASK faces; the curse VAE on the training set
    "13": lambda fit, p: (
        p.get("N_TASK", FULL.n_train)
        if fit["epochs_asked"] == p.get("TASK_EPOCHS")
        else FULL.n_train
    ),
    "17": lambda fit, p: 1024 if fit["epochs_asked"] == 1 else FULL.n_train,
    # the short runs (normalisation on the latent layers, activation order) on N_SHORT faces
    "18": lambda fit, p: (
        p.get("N_SHORT", FULL.n_train)
        if fit["epochs_asked"] == p.get("SHORT_EPOCHS")
        else min(p.get("N_TRAIN", FULL.n_train), FULL.n_train)
    ),
    "20": lambda fit, p: p.get("STEPS", 1) * FULL.batch_size,  # STEPS global batches
}


# Float32 image arrays a chapter holds at the same time whose length follows a data split a
# rehearsal shrinks (DRY_RUN: "n_val" test or validation faces, "n_train" training faces):
# per chapter, (their length under full, how many are alive together, image side, split),
# read from the chapter's code (a pick such as N_TEST caps their length under full).
# The budget adds what the rehearsal did not hold of them.
# Temporaries are the measures' working copy below (a NumPy expression such as (a - b) ** 2 on
# such a set holds two float32 temporaries, 8 bytes per value, less than it).  A fit's own
# arrays are the fit's (fit_budget).
TEST = FULL.n_val  # load_celeba: the test split holds up to n_val faces (CelebA has 19,962)


def _first(name=None, whole=TEST):
    return lambda p: min(p.get(name, whole), whole)


SPLIT_ARRAYS = {
    "01": [(_first("N_TEST"), 3, 96, "n_val")],  # x_test, as many decoded samples, a reconstruction
    "02": [(_first("N_TEST"), 2, 96, "n_val")],  # the test faces, a model's reconstructions of them
    "10": [(_first("N_TEST"), 3, 96, "n_val")],  # x_test, its clipped copy, as many decoded samples
    "11": [(_first("N_REAL"), 5, 96, "n_val")],  # x_test, 2 models' reconstructions, 2 more
    "12": [(_first("N_TEST"), 2, 96, "n_val")],  # x_test, a variant's reconstructions
    "13": [
        (_first("N_TEST"), 2, 96, "n_val"),  # x_test, a model's reconstructions
        (_first("N_CODES", FULL.n_train), 1, 96, "n_train"),  # x_codes
    ],
    "16": [(_first("N_TEST"), 6, 96, "n_val")],  # test, val; VAE, GAN, 2 variants' samples
    # x_val, 2 reconstructions, 4 noisy decodings, the LOSS_FACTOR sweep's reconstructions,
    # the masked faces and their 3 fillings, and the next share's 4 while those live (the
    # decoded N_EVAL random codes are as many in the rehearsal: measured)
    "17": [(_first("N_EVAL"), 16, 128, "n_val")],
    "18": [
        (_first("N_EVAL"), 6, 96, "n_val"),  # x_val, x_val01, 3 models' reconstructions, 1 more
        (_first("n_blur"), 33, 96, "n_val"),  # 16 decoded draws, stacked for their mean, x_b
    ],
    "19": [
        (_first("N_TEST"), 9, 96, "n_val"),  # x_test, 4 models' samples and reconstructions
        # the N_ENC training faces it encodes, 2,048 at a time: a float copy, divided by 255
        (lambda p: min(p.get("N_ENC", FULL.n_train), 2048), 2, 96, "n_train"),
    ],
    "20": [
        # val and Keras' copy of it for evaluate: whole batches of the N_VAL first
        (lambda p: _first("N_VAL")(p) // FULL.batch_size * FULL.batch_size, 2, 96, "n_val"),
        # the STEPS global batches it trains on (the fit's own array is the fit's): the dataset
        # made of them, and in each of the two worker processes the loaded array and its dataset
        (lambda p: p.get("STEPS", 1) * FULL.batch_size, 5, 96, "n_train"),
    ],
}
# The measures' working copy: the sharpness (Laplacian variance) of a set of float32 images
# holds a float32 and a float64 copy of it, 12 bytes per value at its peak (measured), and
# diversity a float32 copy of the reference set; a chapter measures one set at a time.  For
# the chapters that measure images, the first set of SPLIT_ARRAYS is the largest one measured.
MEASURE_BYTES = 12
MEASURES = {"01", "02", "10", "11", "12", "13", "16", "17", "18", "19"}


def measure_copy(number: str, p: dict) -> float:
    """Bytes of the measures' working copy of the chapter's largest measured set beyond the
    rehearsal's (:data:`MEASURE_BYTES` per value of the images)."""
    if number not in MEASURES or not SPLIT_ARRAYS.get(number):
        return 0.0
    length, _, side, split = SPLIT_ARRAYS[number][0]
    n = length(p)
    return MEASURE_BYTES * max(n - DRY_RUN[split], 0) * side * side * 3


def split_arrays(number: str, p: dict) -> float:
    """Bytes of the chapter's split-long arrays (:data:`SPLIT_ARRAYS`) beyond the rehearsal's."""
    total = 0.0
    for length, copies, side, split in SPLIT_ARRAYS.get(number, []):
        n = length(p)
        total += copies * max(n - min(n, DRY_RUN[split]), 0) * side * side * 3 * 4
    return total


def fit_budget(chapter: str, fit: dict, p: dict) -> dict:
    """Images, epochs, FLOPs, in-memory bytes and GPU bytes of one fit under ``full``."""
    if _is_digits(fit):
        images, n_val = FULL.digits_n, DIGITS_VAL
    elif _is_faces(fit):
        images = TRAINING_SETS.get(chapter, lambda f, q: FULL.n_train)(fit, p)
        n_val = min(p.get("N_VAL", FULL.n_val), FULL.n_val)  # a chapter's pick of them
    else:  # not images of a data set (e.g. a toy model on a few vectors): as in the rehearsal
        images, n_val = fit["images_seen"], 0
    epochs = max(1, int(fit["epochs_asked"]) - int(fit["initial_epoch"]))
    cost = fit["cost"]
    if "generator" in cost:  # a GAN: D on real and fake, G twice (its own step and D's)
        g, d = cost["generator"], cost["discriminator"]
        step = 4 * g["flops"] + 9 * d["flops"]
        params, outputs, forward = g["params"] + d["params"], g["outputs"] + 2 * d["outputs"], 0
    elif "flops" in cost:
        step, forward = 3 * cost["flops"], cost["flops"]
        params, outputs = cost["params"], cost["outputs"]
    else:  # the log could not count it (e.g. a model with two inputs): FLOPs left out
        print(f"chapter {chapter}: {fit['model']}'s cost not counted", file=sys.stderr)
        step = forward = params = outputs = 0
    validation = fit.get("validation") is not None
    flops = epochs * (images * step + (n_val * forward if validation else 0))
    in_memory = fit["x"].startswith("array")  # a NumPy array, not a memory map or a dataset
    ram = images * fit["bytes_per_image"] * in_memory
    if validation and in_memory:
        ram += n_val * fit["bytes_per_image"]
    batch = fit.get("batch_size") or FULL.batch_size
    gpu = 16 * params + 3 * 2 * 2 * outputs * batch + 1e9
    return {
        "model": fit["model"],
        "images": images,
        "epochs": epochs,
        "flops": flops,
        "ram": ram,
        "gpu": gpu,
    }


def signature(fit: dict) -> str:
    """What makes two fits of face models the same training (the model cache's view, roughly:
    the model, its cost at these shapes, the epochs asked for and the batch size)."""
    keys = ("model", "class", "image_shape", "epochs_asked", "initial_epoch", "batch_size")
    return json.dumps([fit.get(k) for k in keys] + [fit["cost"]], sort_keys=True)


def shared_first(results: list) -> list:
    """The results with every face-model fit that an earlier chapter already made removed: in
    order, with one cache, a later chapter loads that model (the dress rehearsal may have run
    chapters in separate caches and trained it again)."""
    seen, out = set(), []
    for r in sorted(results, key=lambda r: r["chapter"]):
        fits = r.get("fits", [])
        mine = {signature(f) for f in fits if _is_faces(f)}
        out.append({**r, "fits": [f for f in fits if not _is_faces(f) or signature(f) not in seen]})
        seen |= mine
    return out


def chapter_budget(result: dict) -> dict:
    name = result["chapter"]
    number = name[:2]
    p = picks(ROOT / "notebooks" / name)
    fits = [fit_budget(number, f, p) for f in result.get("fits", [])]
    flops = sum(f["flops"] for f in fits)
    # the chapter's other work: the rehearsal's CPU seconds (one core) where recorded, less
    # those in its fits (their training is priced from the FLOPs), else its wall time (an
    # upper bound on a loaded machine)
    rest = result.get("cpu_seconds", result["seconds"]) - result.get("cpu_seconds_in_fits", 0)
    rest_min = rest / 60
    # host memory: the rehearsal's peak outside its fits where recorded (a GPU holds a fit's
    # activations), plus the training arrays and split-long arrays at their full size
    base = result.get("peak_rss_outside_fits_gb", result["peak_rss_gb"])
    arrays = (split_arrays(number, p) + measure_copy(number, p)) / 1e9
    row = {
        "chapter": name.removesuffix(".ipynb"),
        "ok": result["ok"],
        "dry_seconds": result["seconds"],
        "dry_peak_gb": result["peak_rss_gb"],
        "dry_outside_gb": result.get("peak_rss_outside_fits_gb"),
        "onednn": result.get("onednn"),
        "cpu_seconds": result.get("cpu_seconds"),
        "cpu_in_fits": result.get("cpu_seconds_in_fits"),
        "cache_after": [c[:2] for c in result.get("cache_after", [])],
        "models": len(fits),
        "image_epochs": sum(f["images"] * f["epochs"] for f in fits),
        "flops": flops,
        "arrays_gb": arrays + max([f["ram"] for f in fits], default=0) / 1e9,
        "ram_gb": base + arrays + max([f["ram"] for f in fits], default=0) / 1e9,
        "gpu_gb": max([f["gpu"] for f in fits], default=0) / 1e9,
        "fits": fits,
    }
    for gpu, rate in GPUS.items():
        row[f"min_{gpu}"] = flops / rate / 60 + rest_min
    return row


def _eng(x: float) -> str:
    if x == 0:
        return "0"
    exp = int(math.floor(math.log10(abs(x)) / 3) * 3)
    return f"{x / 10**exp:.3g}" + {0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}[exp]


def markdown(rows: list, source: str) -> str:
    over = [
        r["chapter"]
        for r in rows
        if r["min_T4"] > GOAL_MINUTES or r["ram_gb"] > GOAL_RAM_GB or not r["ok"]
    ]
    lines = [
        "<!-- written by scripts/full_budget.py from the dress rehearsal; do not edit -->",
        "",
        "| chapter | rehearsal | models trained | images x epochs | training FLOPs "
        "| full-size arrays (GB) | host RAM (GB) | GPU memory (GB) | T4 (min) | A100 (min) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        cpu = f" ({r['cpu_seconds']:.0f} s CPU)" if r.get("cpu_seconds") else ""
        if r.get("cpu_in_fits"):
            cpu = f" ({r['cpu_seconds']:.0f} s CPU, {r['cpu_in_fits']:.0f} s in fits)"
        outside = r.get("dry_outside_gb")
        after = f", cache after {', '.join(r['cache_after'])}" if r.get("cache_after") else ""
        onednn = ", oneDNN off" if r.get("onednn") is False else ""
        state = (
            f"{r['dry_seconds']:.0f} s{cpu}{after}{onednn}, {r['dry_peak_gb']:.1f} GB"
            + (f" ({outside:.1f} GB outside fits)" if outside is not None else "")
            + ("" if r["ok"] else ", **failed**")
        )
        mark = lambda v, goal: f"**{v:.1f}**" if v > goal else f"{v:.1f}"  # noqa: E731
        lines.append(
            f"| {r['chapter']} | {state} | {r['models']} | {_eng(r['image_epochs'])} "
            f"| {_eng(r['flops'])} | {r['arrays_gb']:.1f} | {mark(r['ram_gb'], GOAL_RAM_GB)} "
            f"| {r['gpu_gb']:.1f} | {mark(r['min_T4'], GOAL_MINUTES)} | {r['min_A100']:.1f} |"
        )
    done = {r["chapter"] for r in rows}
    missing = [
        p.stem for p in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")) if p.stem not in done
    ]
    lines += [f"| {name} | not rehearsed yet | | | | | | | | |" for name in missing]
    total = {k: sum(r[k] for r in rows) for k in ("models", "image_epochs", "flops", "min_T4")}
    total["min_A100"] = sum(r["min_A100"] for r in rows)
    lines.append(
        f"| **all** | | {total['models']} | {_eng(total['image_epochs'])} "
        f"| {_eng(total['flops'])} | | | | {total['min_T4']:.0f} | {total['min_A100']:.0f} |"
    )
    lines += [
        "",
        f"*Rehearsal*: wall time and peak memory of the chapter's kernel (resident, plus "
        f"the private memory of its child processes) under "
        f"`VAECOURSE_DRY_RUN=1` on {source} (in a fresh model cache, or in the cache of the "
        f"chapters it names: their models are loaded, as in a run of the chapters in order), "
        f"and its peak outside the `fit` calls (on a GPU "
        f"a fit's activations and gradients are in GPU memory; on the CPU of a rehearsal they "
        f"are in the kernel's). *oneDNN off*: rehearsed with TensorFlow's oneDNN operations "
        f"off, whose CPU memory pool otherwise keeps the memory of the largest computation "
        f"for the rest of the run (two training steps of T2's model at batch 128: 3.6 GB "
        f"resident with oneDNN, 1.5 GB without), memory that a GPU run holds in GPU memory; "
        f"the other rows keep that pool (an upper bound where the chapter computes on the "
        f"GPU). *Full-size arrays*: computed, the "
        f"arrays a rehearsal holds "
        f"smaller than `full` does: the training arrays a chapter keeps in memory, the "
        f"float32 copies of test or validation faces and of images as many as those (the "
        f"rehearsal has {DRY_RUN['n_val']} of each), counted from the chapter's code, at their "
        f"full size (memory-mapped faces and tf.data pipelines cost no host memory of their "
        f"own), and the working copy of the largest set a chapter measures ("
        f"{MEASURE_BYTES} bytes per pixel value: the float64 copy of the sharpness measure, "
        f"measured). *Host RAM*: the peak outside fits where measured, else the whole peak, "
        f"plus the full-size arrays. *GPU memory* and the "
        f"minutes are "
        f"estimates, not measurements: FLOPs counted from the models' layers, at an effective "
        f"{GPUS['T4'] / 1e12:.1f} TFLOP/s on a T4 (mixed_float16) and "
        f"{GPUS['A100'] / 1e12:.0f} TFLOP/s on an A100 (mixed_bfloat16), plus the "
        f"rehearsal's time for everything else (its CPU seconds where shown, less those in "
        f"its fits where shown, else its wall time on the loaded machine; an upper bound: "
        f"decoding and measuring run on the CPU there). Bold: over the goal of "
        f"{GOAL_MINUTES} minutes on a T4 or {GOAL_RAM_GB} GB of host RAM"
        + (f" ({', '.join(over)})." if over else "; no chapter is over it."),
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("rehearsal", type=Path, nargs="+", help="the JSON of scripts/dry_run.py --json")
    ap.add_argument("--out", type=Path, default=ROOT / "book" / "_full_budget.md")
    ap.add_argument("--source", default="a shared 2-core CPU")
    ap.add_argument("--details", action="store_true", help="print every fit's budget")
    ap.add_argument(
        "--record", type=Path, help="also write the latest result of each chapter to this JSON"
    )
    args = ap.parse_args(argv)
    latest = {}  # several rehearsals: the latest result of each chapter (the last file's)
    for path in args.rehearsal:
        latest.update({r["chapter"]: r for r in json.loads(path.read_text())["results"]})
    results = sorted(latest.values(), key=lambda r: r["chapter"])
    if args.record:
        args.record.write_text(json.dumps({"profile": "full", "results": results}, indent=1))
    rows = [chapter_budget(r) for r in shared_first(results)]
    if args.details:
        for r in rows:
            for f in r["fits"]:
                print(
                    f"{r['chapter']:28s} {f['model']:24s} {f['images']:>8,} x {f['epochs']:>2} "
                    f"{_eng(f['flops']):>7}FLOP  RAM {f['ram'] / 1e9:5.1f} GB  "
                    f"GPU {f['gpu'] / 1e9:4.1f} GB"
                )
    args.out.write_text(markdown(rows, args.source))
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
