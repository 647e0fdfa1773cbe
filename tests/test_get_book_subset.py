"""scripts/get_book_subset.py on small git repositories made here: three sources (half-size
copies, full-size originals that replace two of them, the label lists) pinned to their first
commits, with a later commit in each that the script must not use."""

import hashlib
import importlib.util
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts/get_book_subset.py"
NAMES = [f"00000{i}.jpg" for i in range(1, 6)]
FULL = ["000002.jpg", "000005.jpg"]
LABELS = {  # CRLF line ends, as CelebA released them
    "list_attr_celeba.txt": b"5\r\nSmiling Male\r\n"
    + b"".join(f"{n} 1 -1\r\n".encode() for n in NAMES),
    "list_eval_partition.txt": b"".join(f"{n} {i % 3}\r\n".encode() for i, n in enumerate(NAMES)),
    "identity_CelebA.txt": b"".join(f"{n} {i}\r\n".encode() for i, n in enumerate(NAMES)),
    "list_eval_partition.csv": b"image_id,partition\n"
    + b"".join(f"{n},{i % 3}\n".encode() for i, n in enumerate(NAMES)),
}


def jpeg(size, shade) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (shade, 100, 200 - shade)).save(buf, "JPEG")
    return buf.getvalue()


def run_git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def commit(repo: Path, files: dict, message: str) -> str:
    for rel, data in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_bytes(data)
    run_git("add", "-A", cwd=repo)
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
    run_git(*ident, "commit", "-q", "-m", message, cwd=repo)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def make_repo(folder: Path, first: dict, later: dict) -> str:
    """A repository with ``first`` committed (returned: the commit to pin), then ``later``."""
    folder.mkdir(parents=True)
    run_git("-c", "init.defaultBranch=main", "init", "-q", cwd=folder)
    # served over file:// like GitHub: partial clones and fetching a commit by its id
    run_git("config", "uploadpack.allowFilter", "true", cwd=folder)
    run_git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=folder)
    pinned = commit(folder, first, "first")
    commit(folder, later, "later")
    return pinned


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The three source repositories, the expected images, and tables for the script."""
    base = tmp_path_factory.mktemp("sources")
    repos = base / "repos"
    half = {n: jpeg((89, 109), 10 * i) for i, n in enumerate(NAMES)}
    full = {n: jpeg((178, 218), 20 + 10 * i) for i, n in enumerate(FULL)}
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("list_attr_celeba.txt", LABELS["list_attr_celeba.txt"])
    pins = {
        "t/halves": make_repo(
            repos / "t+halves",
            {f"imgs/{n}": b for n, b in half.items()} | {"notes.md": b"not needed\n"},
            {"imgs/000006.jpg": jpeg((89, 109), 99)},  # after the pin: must not appear
        ),
        "t/fulls": make_repo(
            repos / "t+fulls",
            {
                "Data/train/a/000002.jpg": full["000002.jpg"],
                "Data/test/b/000005.jpg": full["000005.jpg"],
            }
            | {"Data/.DS_Store": b"\0\1"},
            {"Data/train/a/000002.jpg": jpeg((178, 218), 250)},  # a changed image after the pin
        ),
        "t/labels": make_repo(
            repos / "t+labels",
            {
                "attr.zip": zipped.getvalue(),
                "list_eval_partition.txt": LABELS["list_eval_partition.txt"],
                "meta/identity_CelebA.txt": LABELS["identity_CelebA.txt"],
                "list_eval_partition.csv": LABELS["list_eval_partition.csv"],
            },
            {"list_eval_partition.txt": b"changed\r\n"},
        ),
    }
    lists = base / "lists"
    lists.mkdir()
    (lists / "book.txt").write_text("\n".join(NAMES) + "\n")
    (lists / "full.txt").write_text("\n".join(FULL) + "\n")
    images = half | full
    return {"repos": repos, "pins": pins, "lists": lists, "images": images}


@pytest.fixture
def gbs(world, monkeypatch):
    """The script as a module, pointed at the test's sources and name lists."""
    spec = importlib.util.spec_from_file_location("get_book_subset", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    pins = world["pins"]
    sources = (
        mod.Source("t/halves", pins["t/halves"], ("imgs",), "half-size copies"),
        mod.Source("t/fulls", pins["t/fulls"], ("Data",), "full-size originals"),
        mod.Source(
            "t/labels",
            pins["t/labels"],
            (
                "attr.zip",
                "list_eval_partition.txt",
                "meta/identity_CelebA.txt",
                "list_eval_partition.csv",
            ),
            "label lists",
        ),
    )
    monkeypatch.setattr(mod, "SOURCES", sources)
    monkeypatch.setattr(
        mod, "CHECKSUMS", {n: hashlib.md5(b).hexdigest() for n, b in LABELS.items()}
    )
    monkeypatch.setattr(mod, "IMAGES_DIGEST", mod.images_digest(world["images"].items()))
    monkeypatch.setattr(mod, "BOOK_LIST", world["lists"] / "book.txt")
    monkeypatch.setattr(mod, "FULL_SIZE_LIST", world["lists"] / "full.txt")
    monkeypatch.setattr(mod, "GITHUB", f"file://{world['repos']}/{{owner}}+{{name}}")
    return mod


def assert_is_the_subset(dest: Path, world):
    files = sorted(p.name for p in dest.iterdir())
    assert files == sorted(NAMES + list(LABELS) + ["SOURCES.txt"])
    for n, data in world["images"].items():  # the full-size originals replaced the copies
        assert (dest / n).read_bytes() == data, n
    for n, data in LABELS.items():  # byte for byte, CRLF kept
        assert (dest / n).read_bytes() == data, n
    sources = (dest / "SOURCES.txt").read_text()
    for repo, pin in world["pins"].items():
        assert f"{repo} @ {pin}" in sources
    assert "non-commercial" in sources


def leftovers(parent: Path) -> list:
    return [p.name for p in parent.iterdir() if p.name.startswith(".")]


def test_builds_from_a_folder_of_local_copies(gbs, world, tmp_path, capsys):
    dest = tmp_path / "out" / "celeba"
    assert gbs.main([str(dest), "--repos", str(world["repos"])]) == 0
    assert_is_the_subset(dest, world)
    out = capsys.readouterr().out
    assert "non-commercial research" in out  # the terms of use
    assert "t/fulls @ " + world["pins"]["t/fulls"][:12] + ": 2 images" in out
    assert "5 images (2 at full size, 3 at half size)" in out
    assert leftovers(dest.parent) == []
    assert gbs.main(["--check", str(dest)]) == 0


def test_builds_from_one_repo_argument_per_source(gbs, world, tmp_path):
    dest = tmp_path / "celeba"
    dest.mkdir()  # an empty folder is fine
    args = [
        a for r in ("t+labels", "t+halves", "t+fulls") for a in ("--repo", str(world["repos"] / r))
    ]
    assert gbs.main([str(dest), *args]) == 0
    assert_is_the_subset(dest, world)


def test_clones_the_pinned_commits(gbs, world, tmp_path, capsys):
    dest = tmp_path / "celeba"
    assert gbs.main([str(dest)]) == 0
    assert_is_the_subset(dest, world)
    assert "fetching t/halves @ " in capsys.readouterr().out
    assert leftovers(tmp_path) == []  # the clones went with the temporary folder


def test_check_finds_a_changed_folder(gbs, world, tmp_path, capsys):
    dest = tmp_path / "celeba"
    assert gbs.main([str(dest), "--repos", str(world["repos"])]) == 0
    (dest / "000003.jpg").write_bytes(world["images"]["000005.jpg"])  # a full-size image
    assert gbs.main(["--check", str(dest)]) == 1
    assert "wrong size, e.g. 000003.jpg" in capsys.readouterr().err
    (dest / "000003.jpg").write_bytes(jpeg((89, 109), 77))  # right size, other content
    assert gbs.main(["--check", str(dest)]) == 1
    assert "the images differ" in capsys.readouterr().err
    (dest / "000003.jpg").unlink()
    assert gbs.main(["--check", str(dest)]) == 1
    assert "1 images of book.txt missing, e.g. 000003.jpg" in capsys.readouterr().err


def error_of(gbs, capsys, *args) -> str:
    assert gbs.main([str(a) for a in args]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("get_book_subset: error: ") and "\n" not in err, err
    return err


def test_a_missing_repository(gbs, world, tmp_path, capsys):
    dest = tmp_path / "celeba"
    err = error_of(gbs, capsys, dest, "--repo", world["repos"] / "t+halves")
    assert "missing repository t/fulls" in err
    assert not dest.exists() and leftovers(tmp_path) == []


def test_a_wrong_repository(gbs, world, tmp_path, capsys):
    other = tmp_path / "other"
    make_repo(other, {"a.txt": b"a\n"}, {"a.txt": b"b\n"})
    err = error_of(gbs, capsys, tmp_path / "celeba", "--repo", other)
    assert "holds none of the pinned commits" in err
    err = error_of(gbs, capsys, tmp_path / "celeba", "--repo", tmp_path / "nothing")
    assert "not a git repository" in err


def test_a_commit_not_found(gbs, world, tmp_path, capsys, monkeypatch):
    s = gbs.SOURCES[0]
    monkeypatch.setattr(gbs, "SOURCES", (s._replace(commit="0" * 40), *gbs.SOURCES[1:]))
    err = error_of(gbs, capsys, tmp_path / "a", "--repos", world["repos"])
    assert f"commit {'0' * 40} of t/halves not found in " in err
    err = error_of(gbs, capsys, tmp_path / "b")  # cloning
    assert f"commit {'0' * 40} not found in t/halves" in err
    assert leftovers(tmp_path) == []


def test_a_repository_that_cannot_be_reached(gbs, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(gbs, "GITHUB", f"file://{tmp_path}/gone/{{owner}}+{{name}}")
    err = error_of(gbs, capsys, tmp_path / "celeba")
    assert "cannot reach repository t/halves" in err
    assert not (tmp_path / "celeba").exists()


def test_a_checksum_mismatch_leaves_nothing(gbs, world, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(gbs.CHECKSUMS, "identity_CelebA.txt", "0" * 32)
    err = error_of(gbs, capsys, tmp_path / "celeba", "--repos", world["repos"])
    assert "checksum mismatch: identity_CelebA.txt has md5" in err
    assert not (tmp_path / "celeba").exists() and leftovers(tmp_path) == []


def test_the_name_lists_are_checked(gbs, world, tmp_path, capsys, monkeypatch):
    book = tmp_path / "book.txt"
    book.write_text("\n".join(NAMES + ["000007.jpg"]))
    monkeypatch.setattr(gbs, "BOOK_LIST", book)
    err = error_of(gbs, capsys, tmp_path / "a", "--repos", world["repos"])
    assert "1 images of book.txt missing, e.g. 000007.jpg" in err
    full = tmp_path / "full.txt"
    full.write_text("000002.jpg\n")  # 000005.jpg is at full size but not listed as such
    monkeypatch.setattr(gbs, "BOOK_LIST", world["lists"] / "book.txt")
    monkeypatch.setattr(gbs, "FULL_SIZE_LIST", full)
    err = error_of(gbs, capsys, tmp_path / "b", "--repos", world["repos"])
    assert "wrong size, e.g. 000005.jpg is (178, 218)" in err


def test_an_unwritable_or_taken_destination(gbs, world, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    err = error_of(gbs, capsys, blocker / "celeba", "--repos", world["repos"])
    assert f"cannot write to {blocker}" in err
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    err = error_of(gbs, capsys, taken, "--repos", world["repos"])
    assert "already exists and is not empty" in err
    assert [p.name for p in taken.iterdir()] == ["keep.txt"]


def test_refuses_a_destination_inside_the_repository():
    r = subprocess.run(
        [sys.executable, str(SCRIPT), str(ROOT / "data" / "celeba")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1
    assert "inside the course repository" in r.stderr
    assert not (ROOT / "data" / "celeba").exists()
