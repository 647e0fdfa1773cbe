"""Re-execute chapter notebooks and store their outputs (what the book shows).

    .venv/bin/python scripts/execute_notebooks.py                 # every chapter, profile "book"
    .venv/bin/python scripts/execute_notebooks.py notebooks/01_basics.ipynb --profile ci

Each notebook runs top to bottom in a fresh kernel with its folder as working directory.
Outputs and the ipywidgets state are stored; timing metadata is dropped so that re-running
an unchanged chapter gives an unchanged file.  A notebook is written only when it ran
through (atomically), so a failure never leaves a half-executed chapter behind.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from vaecourse.kit import claims

ROOT = Path(__file__).resolve().parents[1]
MACHINE_PATHS = [str(ROOT), str(Path.home())]
# Chapters stored from real CelebA under "book" (the book subset): those that show faces, and
# III-VIII, whose profile line names the data too.  New chapters add themselves.
FACE_CHAPTERS = {f"{n:02d}" for n in range(20)}


def is_face_chapter(path: Path) -> bool:
    return path.name[:2] in FACE_CHAPTERS


def check_profile_line(nb, path: Path, profile: str) -> None:
    """Refuse to store a face chapter's book outputs unless its profile line says CelebA."""
    if profile != "book" or not is_face_chapter(path):
        return
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            if "profile=" in text:
                if "data=celeba" not in text:
                    raise SystemExit(
                        f"{path.name} ran on synthetic faces under 'book'; its outputs "
                        f"are not stored. Set VAECOURSE_CELEBA (see book/setup.md)."
                    )
                return
    raise SystemExit(f"{path.name}: no profile line found in its outputs; not stored")


def check_claims(nb, path: Path, profile: str) -> None:
    """Refuse to store a notebook under an enforcing profile when a claim in its outputs does
    not hold (``vaecourse.kit.claims``): its prose would draw a conclusion its numbers refute."""
    if profile not in claims.ENFORCED:
        return
    false = [
        f"  cell {i}: {c['name']} {c.get('says') or ''} numbers {c['numbers']}".replace("  ", " ")
        for i, c in claims.stored_claims(nb)
        if not c["holds"]
    ]
    if false:
        raise SystemExit(
            f"{path.name}: claims do not hold under '{profile}'; outputs not stored. Fix the text "
            f"(and its claim) to say what the numbers show:\n" + "\n".join(false)
        )


def clean(nb) -> None:
    """Drop run-specific metadata and refuse outputs that leak this machine's paths."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            text = out.get("text", "") or "".join(
                str(v) for k, v in out.get("data", {}).items() if k.startswith("text/")
            )
            for path in MACHINE_PATHS:
                if path and path in text:
                    raise SystemExit(
                        f"a cell prints the machine path {path!r}; print a relative "
                        f"path instead:\n{cell.source[:300]}"
                    )


def execute(path: Path, profile: str, timeout: int) -> float:
    before = path.read_bytes()
    nb = nbformat.reads(before.decode("utf-8"), as_version=4)
    env_profile = os.environ.get("VAECOURSE_PROFILE")
    os.environ["VAECOURSE_PROFILE"] = profile
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # the one writer of the book's assets (the explorer's script): see browser_explorer.book_folder
    os.environ.setdefault("VAECOURSE_BOOK_ASSETS", str(ROOT / "book" / "_vendor"))
    t0 = time.time()
    try:
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            allow_errors=False,
            store_widget_state=True,
            record_timing=False,
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
    finally:
        if env_profile is None:
            os.environ.pop("VAECOURSE_PROFILE", None)
        else:
            os.environ["VAECOURSE_PROFILE"] = env_profile
    clean(nb)
    check_profile_line(nb, path, profile)
    check_claims(nb, path, profile)
    if path.read_bytes() != before:  # edited while it ran: storing would undo that edit
        raise SystemExit(
            f"{path.name} was changed on disk while it ran; outputs not stored. Run it again."
        )
    tmp = path.with_name(f".{path.name}.part")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)
    return time.time() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    ap.add_argument("--profile", default="book", choices=["ci", "book", "full"])
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = ap.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    faces = [p.name for p in paths if is_face_chapter(p)]
    if args.profile == "book" and faces and not os.environ.get("VAECOURSE_CELEBA"):
        ap.error(
            f"{', '.join(faces)} show faces: under 'book' they run on real CelebA. Set "
            f"VAECOURSE_CELEBA to the CelebA folder (the book subset, see book/setup.md)."
        )
    total = 0.0
    for p in paths:
        print(f"[execute] {p.name} (profile {args.profile}) ...", flush=True)
        dt = execute(p.resolve(), args.profile, args.timeout)
        total += dt
        print(f"[execute] {p.name}: {dt:.0f} s", flush=True)
    print(f"[execute] {len(paths)} notebook(s) in {total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
