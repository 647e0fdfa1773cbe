"""Tuning the face GAN of chapter XIII: short runs of named variants on the book's real faces.

Each variant trains a fresh DC-GAN (the book profile's sizes: 64x64, z 128, filters
32-64-128-256) for ``--steps`` batches and, every ``--every`` batches, measures 512 samples from
fixed latent points against the held-out real faces (``faces.test``):

* ``det``   Haar face-detection rate relative to real faces (measures.relative_detection_rate)
* ``div``   diversity relative to real faces (measures.diversity)
* ``sharp`` sharpness relative to real faces (measures.sharpness_ratio)
* ``grid``  checkerboard energy relative to real faces (measures.grid_artefact_ratio)
* ``fd``    Fréchet distance on the book attribute classifier's features (zoo.attribute_classifier,
            from the model cache; trained there first if it is absent)

and prints one JSON line per measurement (also appended to ``--out``) with the game's
numbers (d_loss, g_loss, D(x), D(G(z))) and the throughput.  Sample grids go to ``--png``.
``--record`` keeps each variant's last measurement in a dated record with its command (a run
with another ``--seed`` adds its rows): ``benchmarks/gan_tuning.json`` is the record chapter
XIII's tuning table reads.  Run it alone on the machine (its throughput is part of the row)::

    export VAECOURSE_CELEBA=/work/celeba/subset
    nice -n 5 python benchmarks/gan_tuning.py resize smooth \
        --steps 600 --every 300 --out /tmp/gan_tuning.jsonl --record benchmarks/gan_tuning.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from vaecourse import gan, latent, models  # noqa: E402
from vaecourse.kit import (  # noqa: E402
    fitting,
    measures,
    profiles,  # noqa: E402
    zoo,
)
from vaecourse.kit.data import load_faces, make_dataset  # noqa: E402

TANH = dict(output_activation="tanh")
#: Every variant the chapter's tuning table reports.  "smooth" is the configuration the issue
#: measured first; each later one changes one thing against its parent.
VARIANTS = {
    "book_before": dict(filters=(16, 32, 64, 128)),  # the failed book GAN: sigmoid, no remedy
    "plain": TANH,
    "smooth": dict(TANH, label_smoothing=0.1),
    "resize": dict(TANH, label_smoothing=0.1, upsample="resize"),
    "resize_unsmoothed": dict(TANH, upsample="resize"),
    "resize_noise": dict(TANH, upsample="resize", instance_noise=0.1),
    "resize_ttur": dict(
        TANH, label_smoothing=0.1, upsample="resize", d_learning_rate=4e-4, g_learning_rate=1e-4
    ),
    "resize_g2": dict(TANH, label_smoothing=0.1, upsample="resize", g_steps=2),
    "resize_sn": dict(TANH, label_smoothing=0.1, upsample="resize", spectral_norm=True),
    "strong_d": dict(
        TANH, label_smoothing=0.1, upsample="resize", d_learning_rate=2e-3, g_learning_rate=2e-5
    ),
}
#: What each variant changes, in words (the record's "change" column).
CHANGES = {
    "book_before": "old book GAN: sigmoid, 16-32-64-128, batch 64",
    "plain": "tanh on [-1, 1]",
    "smooth": "tanh on [-1, 1], label smoothing 0.1",
    "resize": "smooth + resize-convolutions",
    "resize_unsmoothed": "resize without label smoothing",
    "resize_noise": "resize: instance noise 0.1, no smoothing",
    "resize_ttur": "resize, lr D 4e-4 / G 1e-4",
    "resize_g2": "resize, 2 G steps per batch",
    "resize_sn": "resize + spectral norm in D",
    "strong_d": "resize, lr D 2e-3 / G 2e-5",
}
#: The record's columns: each variant's last measurement.
RECORD_FIELDS = (
    "name", "seed", "change", "step", "batch", "images_seen",
    "d_real", "d_fake", "det", "div", "sharp", "grid", "fd", "img_s",
)  # fmt: skip
N_EVAL = 512


def save_grid(x, path, ncols=8, rows=4):
    from PIL import Image

    x = (np.clip(x[: ncols * rows], 0, 1) * 255).astype(np.uint8)
    rows_ = [np.concatenate(list(x[r * ncols : (r + 1) * ncols]), 1) for r in range(rows)]
    Image.fromarray(np.concatenate(rows_, 0)).save(path)


def measure(x, faces, reference) -> dict:
    """The tuning table's columns for samples ``x``: ``reference`` holds the test faces'
    detection rate and classifier features (:class:`vaecourse.kit.measures.SampleMeasures`)."""
    m = reference(x)
    return {
        "det": m["detected"],
        "div": m["diversity"],
        "sharp": m["sharpness"],
        "grid": measures.grid_artefact_ratio(x, faces.test),
        "fd": m["frechet"],
    }


def write_record(path, rows, n_train):
    """Add ``rows`` (each variant's last measurement) to the dated record at ``path``, as one
    more run (date, command, machine) that the rows name; an older row of the same variant
    and seed is replaced."""
    path = Path(path)
    record = json.loads(path.read_text()) if path.exists() else {"runs": [], "rows": []}
    record["runs"].append(
        {
            "date": datetime.date.today().isoformat(),
            "command": shlex.join(["python", *sys.argv]),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        }
    )
    run = len(record["runs"]) - 1
    keys = {(r["name"], r["seed"]) for r in rows}
    record.update(benchmark="benchmarks/gan_tuning.py", profile="book", train_faces=n_train)
    record["rows"] = [r for r in record["rows"] if (r["name"], r["seed"]) not in keys] + [
        {"run": run, **{k: r[k] for k in RECORD_FIELDS}} for r in rows
    ]
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def run(name, overrides, args, P, faces, reference):
    keras.utils.set_random_seed(args.seed)
    overrides = dict(overrides)
    batch = overrides.pop("batch_size", args.batch)
    cfg = gan.config_from_profile(P, name=name, **overrides)
    print(cfg.describe(), flush=True)
    model = gan.build_gan(cfg, seed=args.seed)
    images = faces.train[: args.n] if args.n else faces.train
    ds = make_dataset(
        images,
        batch,
        shuffle=True,
        seed=args.seed,
        scale=cfg.scale,
        target="x",
        drop_remainder=True,
    ).repeat()
    z = latent.normal_points(N_EVAL, cfg.z_dim, seed=0)
    monitor = fitting.BalanceMonitor()

    class Probe(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.t0
            step = (epoch + 1) * args.every
            x = models.decode(model, z)
            row = {
                "name": name,
                "seed": args.seed,
                "change": CHANGES[name],
                "step": step,
                "batch": batch,
                "images_seen": step * batch,
                "img_s": round(args.every * batch / seconds, 1),
                **{k: round(float(v), 4) for k, v in logs.items()},
                "d_fake_below": round(monitor.below[-1], 4),  # share of batches < threshold
                **{k: round(float(v), 4) for k, v in measure(x, faces, reference).items()},
            }
            print(json.dumps(row), flush=True)
            if args.out:
                with open(args.out, "a") as f:
                    f.write(json.dumps(row) + "\n")
            if args.png:
                save_grid(x, Path(args.png) / f"{name}_{step}.png")
            self.last = row

    # "epochs" of --every batches: the monitor and the probe see each stretch
    probe = Probe()
    model.fit(
        ds,
        epochs=args.steps // args.every,
        steps_per_epoch=args.every,
        verbose=0,
        shuffle=False,
        callbacks=[monitor, probe],
    )
    return probe.last


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variants", nargs="+", choices=sorted(VARIANTS))
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--every", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--n", type=int, default=None, help="train on the first N faces only")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=None, help="append the JSON lines to this file")
    ap.add_argument("--png", default=None, help="folder for sample grids")
    ap.add_argument("--record", default=None, help="the dated record to add the last rows to")
    args = ap.parse_args()
    P = profiles.profile("book")
    faces = load_faces(P, verbose=False)
    # the classifier of the Fréchet distance: from the model cache (trained there if absent)
    reference = measures.SampleMeasures(faces.test, zoo.attribute_classifier(P).model)
    if args.png:
        Path(args.png).mkdir(parents=True, exist_ok=True)
    last = []
    for name in args.variants:
        overrides = dict(VARIANTS[name])
        if name == "book_before":
            overrides["batch_size"] = 64
        last.append(run(name, overrides, args, P, faces, reference))
    if args.record:
        write_record(args.record, last, len(faces.train[: args.n] if args.n else faces.train))


if __name__ == "__main__":
    main()
