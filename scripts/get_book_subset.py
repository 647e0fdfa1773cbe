#!/usr/bin/env python3
"""Assemble the book's CelebA subset (15,723 aligned faces and CelebA's official label lists)
from six public GitHub repositories, each pinned to a commit, and verify it.

    python scripts/get_book_subset.py ~/data/celeba                 # clones from GitHub (~85 MB)
    python scripts/get_book_subset.py ~/data/celeba --repos FOLDER  # local clones in FOLDER
    python scripts/get_book_subset.py ~/data/celeba --repo PATH ... # one local clone per source
    python scripts/get_book_subset.py --check ~/data/celeba         # verify a folder, write nothing

then ``export VAECOURSE_CELEBA=~/data/celeba``.  DEST gets CelebA's flat layout: the JPEGs
under their original names (000001.jpg ...), ``list_attr_celeba.txt``,
``list_eval_partition.txt`` and ``.csv``, ``identity_CelebA.txt`` and ``SOURCES.txt`` (what came
from where).  The result is checked against the committed name lists
(``vaecourse/kit/data/celeba_book_subset.txt``; the images in
``vaecourse/kit/celeba_full_size_subset.txt`` at full size, 178x218, the others at half size,
89x109), the label lists against their published md5 sums and the images against one digest.
It is built in a hidden folder next to DEST and renamed at the end, so a folder named DEST is
always complete.  Only the Python standard library and ``git`` are needed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]


class Source(NamedTuple):
    repo: str  # owner/name on GitHub
    commit: str  # the pinned commit (40 hex digits)
    paths: tuple  # folders or files in that commit that are needed
    gives: str  # what it contributes, for the report


# Order matters: an image name given by a later source replaces the earlier copy, so the
# full-size originals overwrite the half-size copies of the same name.
SOURCES = (
    Source(
        "karthikSingireddy/cs389-hw4",
        "702f8f7bdf59386959872d52879faac800f20ab1",
        ("celebA",),
        "CelebA 000001-010000 at half size, 89x109",
    ),
    Source(
        "Nikhil4902/CelebA_Dataset",
        "22ed0908a96e6bf3fe626700a628d0ad26d8dd0b",
        ("Datasets",),
        "6,000 originals at 178x218, 200 people x 30",
    ),
    Source(
        "jhogsett/2019-computefest-vae",
        "ea5a488b1fbfe28d77aeab117dd15089df11b3e0",
        ("celeba/img_align_celeba",),
        "000001-000010 at 178x218",
    ),
    Source(
        "awol-rwal/Effects-of-Face-Alignment-on-Facial-Attribute-Classification",
        "d3109ea8977e0217b753bf71e616e318b8b1ea05",
        ("list_attr_celeba.zip", "list_eval_partition.txt"),
        "the official attribute and partition lists",
    ),
    Source(
        "Phillaustin/FAIR-projet",
        "c87ec54b5dddeff354aebfd27ebe8a56291c0a75",
        ("data/celeba/identity_CelebA.txt",),
        "the official identity list",
    ),
    Source(
        "priyakedia92/ImageRecognitionDataset",
        "ff1e9a70df785a432c58fabd665419a64611d28a",
        ("list_eval_partition.csv",),
        "the partition list in Kaggle's csv form",
    ),
)
# md5 of the label files as CelebA released them (CRLF line ends); the Kaggle csv as published
CHECKSUMS = {
    "list_attr_celeba.txt": "75e246fa4810816ffd6ee81facbd244c",
    "list_eval_partition.txt": "d32c9cbf5e040fd4025c592c306e6668",
    "identity_CelebA.txt": "32bd1bd63d3c78cd57e08160ec5ed1e2",
    "list_eval_partition.csv": "a267f23298ba414659534af2e4d088b9",
}
# sha256 over every image's name and sha256 (see images_digest); None skips the check
IMAGES_DIGEST = "65fb863f59fe495d0363c74c2278b376a9aca712586f8429aa646772e942be6f"
BOOK_LIST = ROOT / "vaecourse/kit/data/celeba_book_subset.txt"
FULL_SIZE_LIST = ROOT / "vaecourse/kit/celeba_full_size_subset.txt"
FULL_SIZE, HALF_SIZE = (178, 218), (89, 109)  # (width, height)
GITHUB = "https://github.com/{repo}"  # where a source is cloned from ({owner}, {name} work too)
TERMS = (
    "CelebA (Liu, Luo, Wang and Tang, ICCV 2015) may be used for non-commercial research and\n"
    "teaching only, under the agreement at mmlab.ie.cuhk.edu.hk/projects/CelebA.html; by using\n"
    "these files you accept it. Do not redistribute them or commit them to any repository."
)


class Failure(Exception):
    """Something the user can fix; main() prints it as one line."""


# ----------------------------------------------------------------------------- git
def git(args, *, git_dir=None, cwd=None, data=None, check=True, local=False):
    """Run git quietly; return its stdout bytes.  ``local``: never reach out to a promisor."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")  # a missing GitHub repo asks for a login
    if local:
        env["GIT_NO_LAZY_FETCH"] = "1"
    cmd = ["git"] + ([f"--git-dir={git_dir}"] if git_dir else []) + list(args)
    try:
        r = subprocess.run(cmd, cwd=cwd, input=data, capture_output=True, env=env)
    except FileNotFoundError:
        raise Failure("git is not installed; install git and run again") from None
    if check and r.returncode != 0:
        raise subprocess.CalledProcessError(r.returncode, cmd, r.stdout, r.stderr)
    return r


def last_line(err: subprocess.CalledProcessError) -> str:
    lines = (err.stderr or b"").decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"git exited with {err.returncode}"


def url_of(source: Source) -> str:
    owner, name = source.repo.split("/")
    return GITHUB.format(repo=source.repo, owner=owner, name=name)


def git_dir_of(path: Path) -> Path | None:
    """The git directory of a clone (its .git) or of a bare copy; None if ``path`` is neither."""
    for d in (path / ".git", path):
        if (d / "HEAD").is_file() and (d / "objects").is_dir():
            return d
    return None


def commits_in(git_dir: Path, commits) -> set:
    """Which of ``commits`` the repository holds."""
    out = git(
        ["cat-file", "--batch-check"],
        git_dir=git_dir,
        data="".join(c + "\n" for c in commits).encode(),
        local=True,
    ).stdout.decode()
    return {line.split()[0] for line in out.splitlines() if line.split()[1:2] == ["commit"]}


def blobs(git_dir: Path, source: Source, *, local: bool):
    """Yield (path, bytes) for every file under ``source.paths`` at the pinned commit."""
    try:
        listing = git(
            ["ls-tree", "-r", "-z", "--full-tree", source.commit, "--", *source.paths],
            git_dir=git_dir,
            local=local,
        ).stdout.decode()
    except subprocess.CalledProcessError as e:
        raise Failure(f"cannot list {source.repo} @ {source.commit[:12]}: {last_line(e)}") from None
    entries = []  # (oid, path)
    for item in filter(None, listing.split("\0")):
        meta, path = item.split("\t", 1)
        _, kind, oid = meta.split()
        if kind == "blob":
            entries.append((oid, path))
    for p in source.paths:
        if not any(path == p or path.startswith(p + "/") for _, path in entries):
            raise Failure(
                f"{source.repo} @ {source.commit[:12]} has no {p}: not the expected source"
            )
    proc = subprocess.Popen(
        ["git", f"--git-dir={git_dir}", "cat-file", "--batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, GIT_NO_LAZY_FETCH="1") if local else None,
    )

    def feed():  # in a thread: git's output pipe fills while we are still writing names
        try:
            proc.stdin.write("".join(oid + "\n" for oid, _ in entries).encode())
        finally:
            proc.stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        for _, path in entries:
            header = proc.stdout.readline().split()
            if len(header) != 3:  # "<oid> missing": a partial copy without this file's content
                raise Failure(
                    f"{git_dir} (a copy of {source.repo}) lacks the content of {path} at "
                    f"{source.commit[:12]}; use a complete clone"
                )
            data = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)  # the newline after each object
            yield path, data
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()
        writer.join()


def clone(source: Source, into: Path) -> Path:
    """Fetch only the pinned commit of ``source`` and only the blobs under its paths (a shallow,
    partial, sparse clone); return its git directory."""
    url = url_of(source)
    try:
        git(["ls-remote", "--heads", url])
    except subprocess.CalledProcessError as e:
        raise Failure(f"cannot reach repository {source.repo} at {url}: {last_line(e)}") from None
    git(["-c", "init.defaultBranch=main", "init", "-q", str(into)])
    git(["remote", "add", "origin", url], cwd=into)
    try:
        git(
            ["fetch", "-q", "--depth", "1", "--filter=blob:none", "origin", source.commit], cwd=into
        )
    except subprocess.CalledProcessError as e:
        raise Failure(
            f"commit {source.commit} not found in {source.repo}: {last_line(e)}"
        ) from None
    # a sparse checkout brings the blobs of the needed paths in one batch
    git(["config", "core.sparseCheckout", "true"], cwd=into)
    (into / ".git/info").mkdir(exist_ok=True)
    (into / ".git/info/sparse-checkout").write_text("".join(f"/{p}\n" for p in source.paths))
    try:
        git(["checkout", "-q", "--detach", source.commit], cwd=into)
    except subprocess.CalledProcessError as e:
        raise Failure(
            f"cannot check out {source.repo} @ {source.commit[:12]}: {last_line(e)}"
        ) from None
    return into / ".git"


def find_local(sources, repo_paths, folders) -> dict:
    """Match each source to a local copy that holds its pinned commit: {repo: git dir}."""
    given, scanned = [], []
    for p in map(Path, repo_paths):
        d = git_dir_of(p)
        if d is None:
            raise Failure(f"--repo {p}: not a git repository (a clone, or a bare .git folder)")
        given.append((p, d))
    for f in map(Path, folders):
        if not f.is_dir():
            raise Failure(f"--repos {f}: no such folder")
        for p in sorted([f, *f.glob("*"), *f.glob("*/*")]):
            d = git_dir_of(p) if p.is_dir() and p.name != ".git" else None
            if d is not None and d not in [x for _, x in scanned]:
                scanned.append((p, d))
    pinned = [s.commit for s in sources]
    holds = {d: commits_in(d, pinned) for _, d in given + scanned}
    for p, d in given:
        if not holds[d]:
            named = [s for s in sources if _named(p, s)]
            if named:
                s = named[0]
                raise Failure(
                    f"commit {s.commit} of {s.repo} not found in {p}; "
                    f"run: git -C {p} fetch origin {s.commit}"
                )
            raise Failure(
                f"--repo {p} holds none of the pinned commits: it is not one of the sources "
                f"({', '.join(s.repo for s in sources)})"
            )
    found = {}
    for s in sources:
        match = [d for _, d in given + scanned if s.commit in holds[d]]
        if match:
            found[s.repo] = match[0]
            continue
        named = [p for p, _ in given + scanned if _named(p, s)]
        if named:
            raise Failure(f"commit {s.commit} of {s.repo} not found in {named[0]}")
        raise Failure(
            f"missing repository {s.repo} (commit {s.commit[:12]}) among the local copies; "
            f"clone {url_of(s)} and pass it with --repo"
        )
    return found


def _named(path: Path, source: Source) -> bool:
    """Whether a folder's name suggests it is a copy of ``source`` (for the error message)."""
    text = str(path.resolve()).lower()
    owner, name = source.repo.lower().split("/")
    return f"{owner}+{name}" in text or f"{owner}/{name}" in text or f"/{name}" in text


# ----------------------------------------------------------------------------- assembly
def add_files(folder: Path, pairs, into: dict) -> dict:
    """Write the images and label lists among ``pairs`` (path, bytes) flat into ``folder``;
    return counts by kind.  ``into`` maps each written name to its source (a later one wins)."""
    counts = {}
    for path, data in pairs:
        name = path.rsplit("/", 1)[-1]
        if name.lower().endswith(".jpg"):
            kind = "images"
        elif name.lower().endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for member in zf.infolist():
                    inner = member.filename.rsplit("/", 1)[-1]
                    if inner in CHECKSUMS:
                        (folder / inner).write_bytes(zf.read(member))
                        into[inner] = path
                        counts[inner] = 1
            continue
        elif name in CHECKSUMS:
            kind = name
        else:
            continue  # e.g. .DS_Store beside the images
        (folder / name).write_bytes(data)
        into[name] = path
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def jpeg_size(data: bytes):
    """(width, height) from a JPEG's frame header, or None if it has none."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD9)):  # markers without a length
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def images_digest(items) -> str:
    """One sha256 for a set of images: over their sorted names and each one's sha256."""
    h = hashlib.sha256()
    for name, data in sorted(items):
        h.update(f"{name} {hashlib.sha256(data).hexdigest()}\n".encode())
    return h.hexdigest()


def problems(folder: Path) -> list:
    """What is wrong with ``folder`` as the book subset (empty when it is right)."""
    found = []
    for name, md5 in CHECKSUMS.items():
        p = folder / name
        if not p.is_file():
            found.append(f"{name} is missing")
        elif (got := hashlib.md5(p.read_bytes()).hexdigest()) != md5:
            found.append(f"checksum mismatch: {name} has md5 {got}, expected {md5}")
    want = set(BOOK_LIST.read_text().split())
    full = set(FULL_SIZE_LIST.read_text().split())
    have = {p.name: p for p in folder.glob("*.jpg")}
    if missing := sorted(want - set(have)):
        found.append(f"{len(missing):,} images of {BOOK_LIST.name} missing, e.g. {missing[0]}")
    if extra := sorted(set(have) - want):
        found.append(f"{len(extra):,} images not in {BOOK_LIST.name}, e.g. {extra[0]}")
    data = {n: have[n].read_bytes() for n in sorted(want & set(have))}
    wrong = [n for n, b in data.items() if jpeg_size(b) != (FULL_SIZE if n in full else HALF_SIZE)]
    if wrong:
        n = wrong[0]
        found.append(
            f"{len(wrong):,} images at the wrong size, e.g. {n} is {jpeg_size(data[n])}, "
            f"expected {FULL_SIZE if n in full else HALF_SIZE} ({FULL_SIZE_LIST.name})"
        )
    if IMAGES_DIGEST and not found and images_digest(data.items()) != IMAGES_DIGEST:
        found.append("checksum mismatch: the images differ from the book's (their digest)")
    return found


def summary(folder: Path) -> str:
    names = [p.name for p in folder.glob("*.jpg")]
    full = set(FULL_SIZE_LIST.read_text().split())
    n_full = sum(n in full for n in names)
    return f"{len(names):,} images ({n_full:,} at full size, {len(names) - n_full:,} at half size)"


def sources_text(rows) -> str:
    lines = ["The book's CelebA subset, assembled by scripts/get_book_subset.py from:"]
    for s, origin, counts in rows:
        what = ", ".join(f"{v:,} {k}" if k == "images" else k for k, v in counts.items())
        lines.append(f"  {s.repo} @ {s.commit}")
        lines.append(f"      {', '.join(s.paths)}: {what} ({s.gives}); read from {origin}")
    return "\n".join(lines + ["", TERMS, ""])


# ----------------------------------------------------------------------------- main
def destination(dest: Path) -> Path:
    dest = Path(os.path.abspath(os.path.expanduser(dest)))
    real = dest.resolve()
    if real == ROOT or ROOT in real.parents:
        raise Failure(
            f"{dest} is inside the course repository {ROOT}; CelebA must never be committed, "
            "pick a folder outside it (e.g. ~/data/celeba)"
        )
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise Failure(
            f"{dest} already exists and is not empty; remove it or pick another folder "
            "(--check verifies an existing one)"
        )
    return dest


def build(dest: Path, repo_paths=(), folders=()) -> None:
    start = time.time()
    dest = destination(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = Path(tempfile.mkdtemp(prefix=f".{dest.name}.part-", dir=dest.parent))
    except OSError as e:
        raise Failure(f"cannot write to {dest.parent}: {e.strerror or e}") from None
    print(TERMS + "\n", flush=True)
    try:
        local = bool(repo_paths or folders)
        if local:
            dirs = find_local(SOURCES, repo_paths, folders)
        rows, origins = [], {}
        for s in SOURCES:
            if local:
                d = dirs[s.repo]
                origin = str(d)
            else:
                print(f"fetching {s.repo} @ {s.commit[:12]} ({', '.join(s.paths)}) ...", flush=True)
                d = clone(s, part / ".sources" / s.repo.replace("/", "+"))
                origin = url_of(s)
            counts = add_files(part, blobs(d, s, local=local), origins)
            what = ", ".join(f"{v:,} {k}" if k == "images" else k for k, v in counts.items())
            print(f"  {s.repo} @ {s.commit[:12]}: {what} ({s.gives})", flush=True)
            rows.append((s, origin, counts))
        shutil.rmtree(part / ".sources", ignore_errors=True)
        (part / "SOURCES.txt").write_text(sources_text(rows))
        if found := problems(part):
            raise Failure(f"verification failed: {found[0]}" + _more(found))
        if dest.exists():
            dest.rmdir()  # an empty folder the user made
        part.rename(dest)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    print(
        f"\n{dest}: {summary(dest)} and the label lists, verified against "
        f"{BOOK_LIST.relative_to(ROOT) if ROOT in BOOK_LIST.parents else BOOK_LIST} "
        f"({time.time() - start:.0f} s). Use it with\n    export VAECOURSE_CELEBA={dest}"
    )


def _more(found) -> str:
    return f" (and {len(found) - 1} more problem{'s' * (len(found) > 2)})" if len(found) > 1 else ""


def check(folder: Path) -> None:
    if not folder.is_dir():
        raise Failure(f"{folder}: no such folder")
    if found := problems(folder):
        raise Failure(f"{folder} is not the book subset: {found[0]}" + _more(found))
    print(f"{folder}: the book subset, {summary(folder)}, label lists verified")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="get_book_subset.py",
        description="Assemble and verify the book's CelebA subset (15,723 faces) from six public "
        "repositories pinned to commits.",
    )
    ap.add_argument("dest", type=Path, help="the folder to create (outside this repository)")
    ap.add_argument(
        "--repo", action="append", default=[], metavar="PATH", help="a local clone of a source"
    )
    ap.add_argument(
        "--repos",
        action="append",
        default=[],
        metavar="FOLDER",
        help="a folder holding local clones of the sources (searched two levels deep)",
    )
    ap.add_argument("--check", action="store_true", help="only verify DEST; write nothing")
    args = ap.parse_args(argv)
    try:
        if args.check:
            check(args.dest)
        else:
            build(args.dest, args.repo, args.repos)
    except Failure as e:
        print(f"get_book_subset: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "get_book_subset: interrupted; nothing was written to the destination", file=sys.stderr
        )
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
