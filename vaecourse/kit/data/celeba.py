"""The real CelebA: find it, read its labels, crop and shrink it once into a uint8 array.

Where the data comes from, in this order:

1. the ``source`` argument, or ``$VAECOURSE_CELEBA`` -- a folder or a zip file.  Accepted
   layouts: Kaggle's (``img_align_celeba/img_align_celeba/*.jpg`` and the csv files), the
   original release (``Img/img_align_celeba.zip`` or an unpacked ``img_align_celeba/``,
   ``Anno/list_attr_celeba.txt``, ``Eval/list_eval_partition.txt``), or a plain folder of
   ``*.jpg`` with the label files anywhere below it;
2. ``kagglehub.dataset_download("jessicali9530/celeba-dataset")`` (needs the package
   and Kaggle access).

Preparation crops the face region of each 178x218 aligned image -- the box
``CROP_BOX = (15, 40, 163, 188)`` (left, top, right, bottom; a 148x148 square from the
upper middle, with eyes, nose, mouth and chin inside and most of the background out) --
resizes it to the profile size and stores the result as ``images.npy``.  Decoding uses the
JPEG decoder's draft mode (it can decode at 1/2, 1/4 or 1/8 size directly) and a process
pool.  Images that cannot be used are counted by reason and listed in ``skipped.txt``;
the manifest keeps the counts, and a summary line is printed.

The label files are read as people save them (a byte-order mark is skipped, columns are
found by name and extra ones ignored) and checked before any image is decoded.  The manifest
also records the source's files, so a prepared set whose source gained or changed images or
label files since is prepared again (with a note), not reused.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import math
import os
import sys
import time
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..files import atomic_path, cache_dir
from ..profiles import ENV_CELEBA, CelebAError
from . import store
from .attributes import ATTR_NAMES, N_ATTRS

KAGGLE_HANDLE = "jessicali9530/celeba-dataset"
ALIGNED_SIZE = (178, 218)  # (width, height) of img_align_celeba
CROP_BOX = (15, 40, 163, 188)  # left, top, right, bottom in the aligned image
IMAGE_EXTS = (".jpg", ".jpeg", ".png")
_ASPECT_TOL = 0.03  # other sizes are accepted at CelebA's aspect ratio
BATCH = 256  # images per job sent to a worker

HOW_TO_GET = (
    "How to get CelebA (about 1.4 GB):\n"
    "  * with kagglehub: pip install kagglehub, create a Kaggle API token "
    "(https://www.kaggle.com/settings -> API), then run again -- the course calls\n"
    f"      kagglehub.dataset_download({KAGGLE_HANDLE!r});\n"
    "  * from a folder: download the Kaggle archive or the original 'Align&Cropped' "
    "images (https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html), unpack, and set\n"
    f"      {ENV_CELEBA}=/path/to/folder;\n"
    f"  * from a zip: set {ENV_CELEBA}=/path/to/archive.zip (no need to unpack).\n"
    "Without CelebA, set VAECOURSE_DATA=synthetic to use the course's synthetic faces."
)


# ----------------------------------------------------------------------------- label files
@dataclass
class Labels:
    """A parsed attribute or partition file plus what was wrong with it."""

    names: list  # column names
    rows: dict  # file name -> np.int8 row
    malformed: list = field(default_factory=list)  # (line number, text) of bad rows
    declared: int | None = None  # the count line of the .txt form
    duplicates: int = 0
    not_kept: int = 0  # rows left out because ``keep`` did not name them
    ignored_columns: list = field(default_factory=list)  # header names that are not CelebA's

    @property
    def problems(self) -> dict:
        out = {}
        if self.malformed:
            out["malformed_rows"] = len(self.malformed)
        if self.duplicates:
            out["duplicate_rows"] = self.duplicates
        found = len(self.rows) + len(self.malformed) + self.not_kept
        if self.declared is not None and self.declared != found:
            out["count_line"] = self.declared
            out["rows_found"] = found
        if self.ignored_columns:
            out["ignored_columns"] = list(self.ignored_columns)
        return out


class LabelFileError(CelebAError):
    """A label file that cannot be read as CelebA's: the message names the file and the fix.
    (CelebA is at hand; this file is what to fix.)"""

    data_at_hand = True  # no "get CelebA" advice for this one (kit.colab.celeba_help)


def _without_bom(text: str) -> str:
    """Text without a leading UTF-8 byte-order mark (Excel's "CSV UTF-8", Notepad)."""
    return text[1:] if text.startswith("\ufeff") else text


def _split(line: str, csv: bool) -> list:
    return [t.strip() for t in line.split(",")] if csv else line.split()


def _fast_rows(body: list, width: int, csv: bool, order):
    """Parse ``name v1 v2 ...`` rows in one C call: (names, int8 array of the columns
    ``order``) or None when any row is off (then the careful row-by-row parser finds and
    reports the bad ones).

    The official attribute file has 202,599 rows; a Python loop over 8 million values took
    13 s, which is why preparing CelebA was slower than decoding it.
    """
    names, rests = [], []
    for line in body:
        head, _, rest = line.strip().partition("," if csv else " ")
        names.append(head.strip())
        rests.append(rest)
    joined = " ".join(rests)
    if csv:
        joined = joined.replace(",", " ")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a bad token ends parsing with a warning
        try:
            values = np.fromstring(joined, dtype=np.int64, sep=" ")
        except (ValueError, DeprecationWarning):
            return None
    if values.size != width * len(body):
        return None
    values = values.reshape(len(body), width)[:, order]
    if not np.isin(values, (-1, 0, 1)).all():
        return None
    # a row with one value too few and the next with one too many would still add up:
    # check each row's own count cheaply by its number of separators
    counts = np.fromiter((len(r.replace(",", " ").split()) for r in rests), np.int64, len(rests))
    if (counts != width).any():
        return None
    return names, values.astype(np.int8)


def _kept(body: list, keep, csv: bool) -> tuple:
    """The rows of ``body`` whose file name is in ``keep`` (all when None), and how many
    were left out.  Parsing only the images at hand makes a subset's preparation fast."""
    if keep is None:
        return body, 0
    sep = "," if csv else None
    out = [ln for ln in body if ln.split(sep, 1)[0].strip() in keep]
    return out, len(body) - len(out)


def attribute_header(text: str, *, csv: bool | None = None, file: str = "the attribute file"):
    """Read the header of ``list_attr_celeba``: ``(csv, declared, order, ignored, lines)``.

    Columns are found by name: ``order[k]`` is the column of ``ATTR_NAMES[k]``; names that
    are not CelebA's are ``ignored``.  A missing CelebA name raises :class:`LabelFileError`
    naming ``file``.  Cheap: :func:`prepare_celeba` calls it before decoding any image.
    """
    lines = [ln for ln in _without_bom(text).splitlines() if ln.strip()]
    if not lines:
        raise LabelFileError(f"{file} is empty: replace it with CelebA's list_attr_celeba file")
    if csv is None:
        csv = "," in lines[0]
    declared = None
    if not csv and lines[0].strip().isdigit():
        declared = int(lines[0])
        lines = lines[1:]
    header = _split(lines[0], csv) if lines else []
    if header and header[0].lower() in ("image_id", "image", "file", "filename"):
        header = header[1:]
    missing = [name for name in ATTR_NAMES if name not in header]
    if missing:
        unknown = [h for h in header if h not in ATTR_NAMES]
        close = {
            u: m for u in unknown for m in difflib.get_close_matches(u, missing, n=1, cutoff=0.6)
        }
        hint = "; ".join(f"{u!r} looks like {m!r}" for u, m in close.items())
        raise LabelFileError(
            f"{file}: the header lacks {len(missing)} of CelebA's 40 attribute names "
            f"({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''})"
            + (f"; {hint}" if hint else "")
            + ". Fix the header line, or replace the file with CelebA's list_attr_celeba "
            "(csv: image_id,5_o_Clock_Shadow,...; txt: a count line, then the 40 names)."
        )
    order = [header.index(name) for name in ATTR_NAMES]  # columns in ATTR_NAMES order
    ignored = [h for h in header if h not in ATTR_NAMES]
    return csv, declared, order, ignored, lines


def parse_attributes(
    text: str, *, csv: bool | None = None, keep=None, file: str = "the attribute file"
) -> Labels:
    """Parse ``list_attr_celeba`` in its Kaggle csv or original txt form.

    csv: a header ``image_id,5_o_Clock_Shadow,...`` then ``000001.jpg,-1,1,...``.
    txt: a count line, a line of the 40 names, then ``000001.jpg -1  1 ...``.
    A leading byte-order mark is skipped; columns are taken by name and columns that are not
    CelebA's are ignored (listed in ``ignored_columns``).  Rows with the wrong number of
    values, or values other than -1/1 (0 is accepted as "unknown"), are collected in
    ``malformed`` and left out.  ``keep`` (a set of file names) parses only those rows; the
    others are counted in ``not_kept``.  ``file`` names the file in error messages.
    """
    csv, declared, order, ignored, lines = attribute_header(text, csv=csv, file=file)
    width = len(_split(lines[0], csv))
    if _split(lines[0], csv)[0].lower() in ("image_id", "image", "file", "filename"):
        width -= 1
    body, not_kept = _kept(lines[1:], keep, csv)
    fast = _fast_rows(body, width, csv, order)
    if fast is not None:
        names, values = fast
        rows = dict(zip(names, values))
        return Labels(
            list(ATTR_NAMES), rows, [], declared, len(names) - len(rows), not_kept, ignored
        )
    if keep is not None:  # line numbers are reported for the whole file
        body, not_kept = lines[1:], 0
    rows, malformed, dup = {}, [], 0
    for number, line in enumerate(body, start=3 if declared is not None else 2):
        parts = _split(line, csv)
        try:
            if len(parts) != width + 1:
                raise ValueError
            values = np.array([int(parts[1 + j]) for j in order], np.int8)
            if not np.isin(values, (-1, 0, 1)).all():
                raise ValueError
        except ValueError:
            malformed.append((number, line[:80]))
            continue
        if keep is not None and parts[0] not in keep:
            not_kept += 1
            continue
        if parts[0] in rows:
            dup += 1
        rows[parts[0]] = values
    return Labels(list(ATTR_NAMES), rows, malformed, declared, dup, not_kept, ignored)


def parse_partitions(text: str, *, keep=None) -> Labels:
    """Parse ``list_eval_partition`` (csv with header, or txt): 0 train, 1 val, 2 test.
    ``keep`` (a set of file names) keeps only those rows."""
    rows, malformed, not_kept = {}, [], 0
    for number, line in enumerate(_without_bom(text).splitlines(), start=1):
        if not line.strip():
            continue
        parts = _split(line, "," in line)
        if len(parts) == 2 and parts[1] in ("0", "1", "2"):
            if keep is not None and parts[0] not in keep:
                not_kept += 1
                continue
            rows[parts[0]] = int(parts[1])
        elif number == 1:  # the csv header
            continue
        else:
            malformed.append((number, line[:80]))
    return Labels(["partition"], rows, malformed, not_kept=not_kept)


# ----------------------------------------------------------------------------- sources
@dataclass
class Source:
    """Where the images and label files are: a folder, or members of a zip."""

    origin: str  # what the user gave, or "kagglehub"
    zip_path: Path | None  # images inside this zip, or None for files on disk
    images: list  # sorted (file name, path or zip member)
    attr_file: object = None  # Path, or ("zip", member)
    partition_file: object = None
    ignored: int = 0  # files in the image folder that are not images

    def read_text(self, ref) -> str:
        """A label file's text; a byte-order mark (Excel, Notepad) is dropped."""
        if isinstance(ref, tuple):
            with zipfile.ZipFile(self.zip_path) as zf:
                return zf.read(ref[1]).decode("utf-8-sig", "replace")
        return Path(ref).read_text(encoding="utf-8-sig", errors="replace")

    def describe(self, ref) -> str:
        """A label file's name for messages: its path, or ``zip:member``."""
        return f"{self.zip_path}:{ref[1]}" if isinstance(ref, tuple) else str(ref)


def _pick_label_file(candidates, stem: str):
    """Prefer the csv (Kaggle) over the txt (original) when both exist."""
    found = [c for c in candidates if Path(str(c)).name.lower().startswith(stem)]
    found.sort(key=lambda c: (not str(c).lower().endswith(".csv"), len(str(c))))
    return found[0] if found else None


def _source_from_zip(zpath: Path, origin: str, extra_label_dirs=()) -> Source:
    try:
        zf = zipfile.ZipFile(zpath)
    except (zipfile.BadZipFile, OSError) as e:
        raise CelebAError(f"{zpath} is not a readable zip file ({e}).\n{HOW_TO_GET}") from None
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
    names = [m.filename for m in members]
    images = [
        (Path(n).name, n)
        for n in names
        if n.lower().endswith(IMAGE_EXTS) and not Path(n).name.startswith(".")
    ]
    labels = [("zip", n) for n in names if Path(n).name.lower().startswith("list_")]
    attr = _pick_label_file([n for _, n in labels], "list_attr_celeba")
    part = _pick_label_file([n for _, n in labels], "list_eval_partition")
    attr = ("zip", attr) if attr else None
    part = ("zip", part) if part else None
    for d in extra_label_dirs:  # the original release keeps labels beside the zip
        # only the folder and its children (Anno/, Eval/): it may be a big Downloads folder
        files = [p for pat in ("list_*", "*/list_*") for p in Path(d).glob(pat) if p.is_file()]
        attr = attr or _pick_label_file(files, "list_attr_celeba")
        part = part or _pick_label_file(files, "list_eval_partition")
    ignored = len(names) - len(images) - len(labels)
    return Source(origin, zpath, sorted(images), attr, part, ignored)


def _source_from_folder(root: Path, origin: str) -> Source:
    counts = {}
    others = {}
    label_files = []
    zips = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for fn in filenames:
            low = fn.lower()
            if low.endswith(IMAGE_EXTS) and not fn.startswith("."):
                counts[dirpath] = counts.get(dirpath, 0) + 1
            elif low.startswith("list_"):
                label_files.append(Path(dirpath) / fn)
            elif low.endswith(".zip"):
                zips.append(Path(dirpath) / fn)
            else:
                others[dirpath] = others.get(dirpath, 0) + 1
    attr = _pick_label_file(label_files, "list_attr_celeba")
    part = _pick_label_file(label_files, "list_eval_partition")
    if counts:
        image_dir = max(counts, key=lambda d: (counts[d], -len(d)))
        images = sorted(
            (fn, Path(image_dir) / fn)
            for fn in os.listdir(image_dir)
            if fn.lower().endswith(IMAGE_EXTS) and not fn.startswith(".")
        )
        return Source(origin, None, images, attr, part, others.get(image_dir, 0))
    if zips:  # e.g. the original Img/img_align_celeba.zip
        best = max(zips, key=lambda z: ("align" in z.name.lower(), z.stat().st_size))
        src = _source_from_zip(best, origin, extra_label_dirs=[root])
        src.attr_file = src.attr_file or attr
        src.partition_file = src.partition_file or part
        return src
    raise CelebAError(
        f"no images (*.jpg, *.jpeg, *.png) or zip file found in {root}.\n{HOW_TO_GET}"
    )


def origin_of(source=None) -> str:
    """Where CelebA would come from, as a string, without touching it: the absolute path of
    ``source`` or ``$VAECOURSE_CELEBA``, else ``"kagglehub:<handle>"``."""
    given = source or os.environ.get(ENV_CELEBA, "").strip() or None
    if given:
        return str(Path(given).expanduser().absolute())
    return "kagglehub:" + KAGGLE_HANDLE


def find_source(source: str | os.PathLike | None = None, *, download: bool = True) -> Source:
    """Locate CelebA: ``source``, else ``$VAECOURSE_CELEBA``, else kagglehub."""
    given = source or os.environ.get(ENV_CELEBA, "").strip() or None
    if given:
        path = Path(origin_of(source))
        if not path.exists():
            raise CelebAError(
                f"CelebA source {path} does not exist (from "
                f"{'the source argument' if source else '$' + ENV_CELEBA}).\n"
                f"{HOW_TO_GET}"
            )
        src = (
            _source_from_folder(path, str(path))
            if path.is_dir()
            else _source_from_zip(path, str(path), extra_label_dirs=[path.parent])
        )
    elif download:
        src = _source_from_folder(Path(_kaggle_download()), "kagglehub:" + KAGGLE_HANDLE)
    else:
        raise CelebAError(f"no CelebA source given.\n{HOW_TO_GET}")
    if not src.images:
        raise CelebAError(f"no images found in {src.origin}.\n{HOW_TO_GET}")
    return src


def _kaggle_download() -> str:
    try:
        import kagglehub
    except ImportError:
        raise CelebAError(
            f"CelebA is not available locally and the package kagglehub "
            f"is not installed.\n{HOW_TO_GET}"
        ) from None  # the message says all; a chained traceback only buries the how-to
    try:
        return kagglehub.dataset_download(KAGGLE_HANDLE)
    except Exception as e:  # network, credentials, quota: all end the same way for us
        raise CelebAError(
            f"kagglehub could not download {KAGGLE_HANDLE}: {type(e).__name__}: {e}\n{HOW_TO_GET}"
        ) from None  # the cause is quoted in the message


# ----------------------------------------------------------------------------- decoding
def crop_box_for(width: int, height: int) -> tuple | None:
    """The crop box for an image of this size: CROP_BOX scaled for CelebA's aspect
    ratio, None (unusable) for any other shape."""
    aw, ah = ALIGNED_SIZE
    if (width, height) == ALIGNED_SIZE:
        return CROP_BOX
    if abs((width / height) / (aw / ah) - 1) > _ASPECT_TOL:
        return None
    sx, sy = width / aw, height / ah
    left, top, right, bottom = CROP_BOX
    return (left * sx, top * sy, right * sx, bottom * sy)


class SkipImage(Exception):
    """An image that cannot be used; ``reason`` is the count it goes to."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def decode_face(data, size: int) -> tuple:
    """Decode one aligned CelebA image (path, file object or bytes); crop and resize.

    Returns (uint8 array (size, size, 3), original mode).  Raises :class:`SkipImage` with
    reason ``not_an_image``, ``corrupt`` or ``wrong_size``.
    """
    from PIL import Image, UnidentifiedImageError

    if isinstance(data, (bytes, bytearray)):
        data = io.BytesIO(data)
    try:
        im = Image.open(data)
    except UnidentifiedImageError as e:
        raise SkipImage("not_an_image", str(e)) from e
    except OSError as e:
        raise SkipImage("corrupt", str(e)) from e
    with im:
        width, height = im.size
        box = crop_box_for(width, height)
        if box is None:
            raise SkipImage(
                "wrong_size",
                f"{width}x{height}, expected {ALIGNED_SIZE[0]}x"
                f"{ALIGNED_SIZE[1]} or the same aspect ratio",
            )
        mode = im.mode
        crop_w = box[2] - box[0]
        # let libjpeg decode at 1/2, 1/4, 1/8 scale while the crop stays >= size pixels
        need = math.ceil(width * size / crop_w)
        try:
            if im.format == "JPEG" and mode in ("RGB", "L", "YCbCr") and 2 * need <= width:
                im.draft("RGB" if mode != "L" else "L", (need, math.ceil(height * need / width)))
            im.load()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
            raise SkipImage("corrupt", str(e)) from e
        f = im.size[0] / width  # the draft's reduction
        box = tuple(c * f for c in box)
        if im.mode != "RGB":
            im = im.convert("RGB")  # grayscale, RGBA, CMYK, palette ...
        out = im.resize((size, size), Image.BILINEAR, box=box)
        return np.asarray(out, np.uint8), mode


_ZIPS = {}


def _read_member(zip_path, member) -> bytes:
    zf = _ZIPS.get(zip_path)
    if zf is None:  # one open zip per worker process
        zf = _ZIPS[zip_path] = zipfile.ZipFile(zip_path)
    return zf.read(member)


def _decode_job(args):
    """Worker: decode a batch; returns (images of the kept ones, kept positions,
    skipped [(position, reason, detail)], modes {mode: count})."""
    zip_path, refs, size = args
    out = np.empty((len(refs), size, size, 3), np.uint8)
    kept, skipped, modes = [], [], {}
    for i, ref in enumerate(refs):
        try:
            if zip_path is None:
                arr, mode = decode_face(ref, size)
            else:
                try:
                    data = _read_member(zip_path, ref)
                except (zipfile.BadZipFile, OSError, KeyError, EOFError) as e:
                    raise SkipImage("corrupt", str(e)) from e
                arr, mode = decode_face(data, size)
        except SkipImage as e:
            skipped.append((i, e.reason, str(e)[:200]))
            continue
        except FileNotFoundError as e:
            skipped.append((i, "vanished", str(e)[:200]))
            continue
        out[len(kept)] = arr
        kept.append(i)
        modes[mode] = modes.get(mode, 0) + 1
    return out[: len(kept)], kept, skipped, modes


# ----------------------------------------------------------------------------- preparing
def celeba_folder(size: int, n: int | None, source=None, names=None) -> Path:
    """Cache folder of a prepared CelebA: keyed by size, crop, how many images (or which
    named selection), and where they came from (so a made-up demo folder never stands in
    for the real data)."""
    crop = "-".join(str(c) for c in CROP_BOX)
    tag = hashlib.sha256(origin_of(source).encode()).hexdigest()[:8]
    which = "all" if n is None else n
    if names is not None:
        which = "sel" + hashlib.sha256("\n".join(names).encode()).hexdigest()[:8]
    return cache_dir("faces", f"celeba-{size}px-crop{crop}-n{which}-src{tag}")


def expected_manifest(size, n, source, names=None):
    """The manifest entries a prepared CelebA set of this size, count, origin and selection has."""
    out = {
        "source": "celeba",
        "size": int(size),
        "crop_box": list(CROP_BOX),
        "requested": None if n is None else int(n),
        "origin": origin_of(source),
    }
    if names is not None:
        out["selection"] = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
    return out


BOOK_SUBSET_FILE = Path(__file__).with_name("celeba_book_subset.txt")


def book_subset() -> list:
    """The file names of the real-CelebA subset the book was executed on (15,723 aligned
    images, all official partitions).  A reader with the full CelebA gets the same images
    under the ``book`` profile; see ``book/setup.md`` for how the subset is assembled."""
    return BOOK_SUBSET_FILE.read_text().split()


def _select(src: Source, names, n) -> tuple:
    """The image refs a preparation takes from ``src``: those in ``names`` (when given),
    the first ``n`` (when given); and how many named files were not found."""
    refs, not_found = src.images, 0
    if names is not None:
        wanted = set(names)
        refs = [r for r in refs if r[0] in wanted]
        not_found = len(wanted) - len(refs)
    if n is not None:
        refs = refs[: int(n)]
    return refs, not_found


def _stat(path) -> list | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _source_state(src: Source, refs) -> dict:
    """What a prepared set was made from, to notice later changes of its source cheaply.

    ``watched``: size and mtime of the source folder or zip, the image folder, the folders
    that hold label files, and the label files: a file added, removed or rewritten changes
    one of them.  ``contents``: which images were taken and which label files were read --
    compared only when something watched changed (then the source is listed again).
    """
    if src.origin.startswith("kagglehub:"):
        return {}  # a downloaded version never changes
    label_files = [
        Path(ref)
        for ref in (src.attr_file, src.partition_file)
        if ref and not isinstance(ref, tuple)
    ]
    paths = {Path(src.origin), *label_files, *(p.parent for p in label_files)}
    if src.zip_path is not None:
        paths.add(Path(src.zip_path))
    elif refs:
        paths.add(Path(refs[0][1]).parent)
    watched = {str(p): _stat(p) for p in sorted(paths)}
    return {"watched": watched, "contents": _contents(src, refs)}


def _contents(src: Source, refs) -> dict:
    labels = {}
    for kind, ref in (("attributes", src.attr_file), ("partition", src.partition_file)):
        if ref is None:
            labels[kind] = None
        elif isinstance(ref, tuple):
            labels[kind] = [src.describe(ref), _stat(src.zip_path)]
        else:
            labels[kind] = [str(ref), _stat(ref)]
    names = hashlib.sha256("\n".join(name for name, _ in refs).encode()).hexdigest()[:16]
    return {"images": len(refs), "names": names, **labels}


def _report_name(ref) -> str:
    """A label file as the manifest's report names it: its path, its zip member, or None."""
    return str(ref[1] if isinstance(ref, tuple) else ref)


def _usable(folder, expect, source, names, n, quiet: bool = False) -> bool:
    """True when ``folder`` holds an intact prepared set (:func:`store.validate`) made from
    the source as it is now.  A source that changed (images or label files added, removed or
    rewritten) makes it unusable, with a note; a source that is gone does not (the prepared
    set is all the course needs)."""
    manifest = store.validate(folder, expect)
    if not manifest:
        return False
    state = manifest.get("sources")
    if state == {} or (state and all(_stat(p) == v for p, v in state["watched"].items())):
        return True
    try:
        src = find_source(source, download=False)
    except CelebAError:
        return True  # the source is gone or elsewhere: keep what was prepared from it
    refs, _ = _select(src, names, n)
    now = _source_state(src, refs)
    if state is None:  # prepared before sources were recorded: compare what it says
        report = manifest.get("report", {})
        then = {
            "images": manifest.get("files_seen"),
            "attributes": report.get("attributes", {}).get("file"),
            "partition": report.get("partition_file"),
        }
        same = then == {
            "images": len(refs),
            "attributes": _report_name(src.attr_file),
            "partition": _report_name(src.partition_file),
        }
    else:
        same = state.get("contents") == now["contents"]
    if same:  # only looked changed (a touched folder): remember the new stamps
        try:
            store.write_json_atomic(folder / store.MANIFEST, {**manifest, "sources": now})
        except OSError:
            pass  # a read-only cache: compared again next time
        return True
    if not quiet:
        old = (state or {}).get("contents", {})
        what = [
            f"{k} {old.get(k)!s:.60} -> {now['contents'][k]!s:.60}"
            for k in ("images", "attributes", "partition")
            if old.get(k) != now["contents"][k]
        ]
        print(
            f"note: CelebA in {src.origin} changed since it was prepared "
            f"({'; '.join(what) or 'files changed'}): preparing it again",
            file=sys.stderr,
        )
    return False


def _label_texts(src):
    """The attribute and partition files' text and the attribute file's name (None where the
    source has no such file).  Read, and the attribute header checked, before any image is
    decoded: a broken file fails in a second, not after the whole decode."""
    attr_text = src.read_text(src.attr_file) if src.attr_file is not None else None
    part_text = src.read_text(src.partition_file) if src.partition_file is not None else None
    attr_name = src.describe(src.attr_file) if src.attr_file is not None else None
    if attr_text is not None:
        attribute_header(attr_text, file=attr_name)
    return attr_text, part_text, attr_name


def _decode_into(tmp, src, refs, size, workers, read_labels, progress, stop_after):
    """Decode ``refs`` in batches of :data:`BATCH` (in ``workers`` processes) into a uint8
    ``.npy`` memory map at ``tmp``, while ``read_labels`` runs in a thread.  Returns
    ``(count, names, skipped, modes, labels, parts)``: the images kept, their names in the
    order stored, the skipped files with reasons, the converted colour modes, and what
    ``read_labels`` returned.  ``stop_after`` (tests) raises ``KeyboardInterrupt`` after that
    many batches, as a Ctrl-C would."""
    from .parallel import process_pool

    total = len(refs)
    jobs = [
        (
            str(src.zip_path) if src.zip_path else None,
            [str(r) for _, r in refs[i : i + BATCH]],
            size,
        )
        for i in range(0, total, BATCH)
    ]
    names, skipped, modes = [], [], {}
    bar = _progress(total, progress)
    images = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(total, size, size, 3))
    count = 0

    def take(j, result):
        nonlocal count
        arr, kept, skip, mode_counts = result
        base = j * BATCH
        images[count : count + len(kept)] = arr  # noqa: F821 (the memmap above; ruff sees its later del)
        count += len(kept)
        names.extend(refs[base + k][0] for k in kept)
        skipped.extend((refs[base + k][0], reason, detail) for k, reason, detail in skip)
        for m, c in mode_counts.items():
            modes[m] = modes.get(m, 0) + c
        bar.update(len(kept) + len(skip))
        if stop_after is not None and j + 1 >= stop_after:
            raise KeyboardInterrupt("stopped by _stop_after (test)")

    try:
        with process_pool(workers) as pool, ThreadPoolExecutor(1) as side:
            pending = side.submit(read_labels)
            for j, result in enumerate(pool.imap(_decode_job, jobs)):
                take(j, result)
            labels, parts = pending.result()
    finally:
        bar.close()
    images.flush()
    del images
    return count, names, skipped, modes, labels, parts


def _label_arrays(names, labels, parts):
    """``(attrs, partition, missing)`` for the stored images ``names``: +1/-1 attributes (0
    where the attribute file has no row, counted in ``missing``) and the partition (-1 where
    unknown)."""
    attrs = np.zeros((len(names), N_ATTRS), np.int8)
    missing = 0
    for i, name in enumerate(names):
        row = labels.rows.get(name) if labels else None
        if row is None:
            missing += 1  # unknown stays 0
        else:
            attrs[i] = row
    partition = np.full(len(names), -1, np.int8)
    if parts:
        for i, name in enumerate(names):
            partition[i] = parts.rows.get(name, -1)
    return attrs, partition, missing


def _write_labels(folder, attrs, partition, names, skipped) -> None:
    """The prepared set's label files, each written atomically."""
    with atomic_path(folder / "attrs.npy") as tmp:
        np.save(tmp, attrs)
    with atomic_path(folder / "partition.npy") as tmp:
        np.save(tmp, partition)
    with atomic_path(folder / "names.txt") as tmp:
        Path(tmp).write_text("\n".join(names) + "\n")
    with atomic_path(folder / "skipped.txt") as tmp:
        Path(tmp).write_text("".join(f"{n}\t{r}\t{d}\n" for n, r, d in skipped))


def _preparation_report(src, skipped, modes, labels, missing) -> dict:
    """What the manifest reports about a preparation: skipped files, converted colour modes,
    ignored files, and how the label files matched the images."""
    return {
        "skipped": _counts(skipped),
        "converted_modes": {m: c for m, c in modes.items() if m != "RGB"},
        "ignored_files": src.ignored,
        "attributes": {
            "file": _report_name(src.attr_file),
            "images_without_row": missing,
            "rows_without_image": labels.not_kept if labels else 0,
            **(labels.problems if labels else {}),
        },
        "partition_file": _report_name(src.partition_file),
    }


def prepare_celeba(
    size: int = 96,
    n: int | None = None,
    *,
    source: str | os.PathLike | None = None,
    names=None,
    workers: int | None = None,
    force: bool = False,
    progress: bool = True,
    verbose: bool = True,
    _stop_after: int | None = None,
) -> Path:
    """Crop, resize and store the first ``n`` CelebA images (all when None), or the images
    named in ``names`` (a list of file names, e.g. :func:`book_subset`); returns the
    folder with ``images.npy``, ``attrs.npy``, ``partition.npy``, ``names.txt``.

    A valid prepared folder is reused without touching the source.  An interrupted run
    leaves no manifest, so the next call starts over cleanly.  ``_stop_after`` (tests
    only) raises ``KeyboardInterrupt`` after that many batches, as a Ctrl-C would.
    """
    size = int(size)
    names = None if names is None else sorted(set(names))
    folder = celeba_folder(size, n, source, names)
    expect = expected_manifest(size, n, source, names)
    if not force and _usable(folder, expect, source, names, n):
        return folder
    src = find_source(source)
    refs, not_found = _select(src, names, n)
    if not refs and names is not None:
        raise CelebAError(
            f"none of the {len(names):,} selected CelebA files is in {src.origin}.\n{HOW_TO_GET}"
        )
    total = len(refs)
    attr_text, part_text, attr_name = _label_texts(src)

    def read_labels():
        # runs in a thread while the worker processes decode: the main process only waits
        # for their results, so parsing 2 x 202,599 label rows costs no wall time
        keep = {name for name, _ in refs}
        return (
            parse_attributes(attr_text, keep=keep, file=attr_name) if attr_text else None,
            parse_partitions(part_text, keep=keep) if part_text is not None else None,
        )

    from .parallel import cpu_workers

    workers = cpu_workers() if workers is None else max(1, int(workers))
    if total < 2 * BATCH:
        workers = 1  # a pool costs more than it saves

    with store.preparing(folder):
        if not force and _usable(folder, expect, source, names, n, quiet=True):
            return folder  # another process prepared it while this one waited
        store.start(folder)
        store.check_free_space(folder, total * size * size * 3 + total * (N_ATTRS + 1))
        t0 = time.perf_counter()
        with atomic_path(folder / "images.npy") as tmp:
            count, names, skipped, modes, labels, parts = _decode_into(
                tmp, src, refs, size, workers, read_labels, progress, _stop_after
            )
            if count == 0:
                raise CelebAError(
                    f"none of the {total} image files in {src.origin} could "
                    f"be used ({_summary(skipped)}).\n{HOW_TO_GET}"
                )
            if count < total:  # shrink: the header holds the shape
                _truncate_npy(tmp, count, (size, size, 3))
        seconds = time.perf_counter() - t0
        attrs, partition, missing = _label_arrays(names, labels, parts)
        _write_labels(folder, attrs, partition, names, skipped)
        manifest = store.finish(
            folder,
            ["images.npy", "attrs.npy", "partition.npy", "names.txt", "skipped.txt"],
            dict(
                expect,
                count=count,
                files_seen=total,
                selected_not_found=not_found,
                zip=str(src.zip_path) if src.zip_path else None,
                resample="bilinear",
                attr_names=list(ATTR_NAMES),
                report=_preparation_report(src, skipped, modes, labels, missing),
                seconds=round(seconds, 2),
                images_per_second=round(total / seconds, 1) if seconds > 0 else None,
                sources=_source_state(src, refs),
            ),
        )
    if verbose:
        print(_report_line(manifest, folder), file=sys.stderr)
    return folder


def _truncate_npy(path, count, item_shape):
    """Rewrite a .npy so its header says ``count`` rows, copying the kept rows."""
    old = np.load(path, mmap_mode="r")
    tmp = Path(str(path) + ".shrink.npy")
    new = np.lib.format.open_memmap(
        tmp, mode="w+", dtype=np.uint8, shape=(count,) + tuple(item_shape)
    )
    step = 4096
    for i in range(0, count, step):
        j = min(i + step, count)
        new[i:j] = old[i:j]
    new.flush()
    del new, old
    os.replace(tmp, path)


def _counts(skipped) -> dict:
    out = {}
    for _, reason, _ in skipped:
        out[reason] = out.get(reason, 0) + 1
    return out


def _summary(skipped) -> str:
    c = _counts(skipped)
    return ", ".join(f"{k}: {v}" for k, v in sorted(c.items())) or "none skipped"


def _report_line(manifest: dict, folder: Path) -> str:
    rep = manifest["report"]
    skipped = rep["skipped"]
    att = rep["attributes"]
    bits = [
        f"prepared {manifest['count']:,} CelebA images {manifest['size']}px "
        f"from {manifest['origin']} in {manifest['seconds']} s "
        f"({manifest['images_per_second']} img/s)"
    ]
    if skipped:
        bits.append(
            "SKIPPED "
            + ", ".join(f"{k}: {v}" for k, v in sorted(skipped.items()))
            + f" (list: {folder / 'skipped.txt'})"
        )
    if rep["converted_modes"]:
        bits.append(
            "converted to RGB: "
            + ", ".join(f"{k}: {v}" for k, v in sorted(rep["converted_modes"].items()))
        )
    if rep["ignored_files"]:
        bits.append(f"ignored non-image files: {rep['ignored_files']}")
    for key in ("images_without_row", "rows_without_image", "malformed_rows", "duplicate_rows"):
        if att.get(key):
            bits.append(f"attributes {key.replace('_', ' ')}: {att[key]}")
    if att.get("ignored_columns"):
        bits.append(
            "attribute columns that are not CelebA's, ignored: " + ", ".join(att["ignored_columns"])
        )
    if att.get("file") == "None":
        bits.append("no attribute file found: attributes are 0 (unknown)")
    return "; ".join(bits)


def _progress(total, enabled):
    try:
        from tqdm import tqdm
    except ImportError:
        enabled = False
    if not enabled:

        class _Null:
            def update(self, n):
                pass

            def close(self):
                pass

        return _Null()
    return tqdm(total=total, unit="img", desc="preparing CelebA", mininterval=1.0, file=sys.stderr)


MIN_TRAIN = 64  # fewer training images than this is no experiment
MIN_VAL = 8  # a validation set is never empty


def _take(images, idx):
    """Rows ``idx`` of a memory map: a slice (no copy) when they are contiguous, as CelebA's
    official partitions are in file-name order; a copy otherwise (the book subset)."""
    if len(idx) and idx[-1] - idx[0] + 1 == len(idx):
        return images[idx[0] : idx[-1] + 1]
    return np.asarray(images[idx])


def load_celeba(
    size: int, n_train: int, n_val: int, *, source=None, names=None, verbose: bool = True, **kw
):
    """The prepared CelebA as a :class:`~vaecourse.kit.data.store.FaceSet`, split by CelebA's
    official partition: the first ``n_train`` images of *train*, the first ``n_val`` of
    *val*, and up to ``n_val`` of *test* (the "real" reference of the measures).  The
    official split is identity-disjoint: no person of val or test appears in train.

    ``names`` restricts the set to those files (the book subset).  Without a partition file
    the images are split in file-name order (80/10/10).  Fewer images than asked for are
    used with a note; fewer than :data:`MIN_TRAIN` training or :data:`MIN_VAL` validation
    images raise :class:`CelebAError`.
    """
    from .store import FaceSet

    # every partition is needed, so the whole set (or the whole selection) is prepared
    folder = prepare_celeba(size, None, source=source, names=names, verbose=verbose, **kw)
    manifest = store.validate(folder) or {}
    images = store.open_images(folder)
    attrs = np.load(folder / "attrs.npy", mmap_mode="r")
    partition = np.load(folder / "partition.npy")
    if (partition < 0).all():
        count = len(images)
        partition = np.where(
            np.arange(count) < 0.8 * count, 0, np.where(np.arange(count) < 0.9 * count, 1, 2)
        ).astype(np.int8)
        if verbose:
            print("note: no partition file: split in file-name order 80/10/10", file=sys.stderr)
    idx = {k: np.flatnonzero(partition == p) for k, p in (("train", 0), ("val", 1), ("test", 2))}
    want = {"train": n_train, "val": n_val, "test": n_val}
    idx = {k: v[: want[k]] for k, v in idx.items()}
    if len(idx["train"]) < MIN_TRAIN or len(idx["val"]) < MIN_VAL:
        raise CelebAError(
            f"CelebA in {manifest.get('origin', folder)} has {len(idx['train']):,} training and "
            f"{len(idx['val']):,} validation images (official partition); at least "
            f"{MIN_TRAIN} and {MIN_VAL} are needed.\n{HOW_TO_GET}"
        )
    short = [
        f"{k} {len(idx[k]):,} of {want[k]:,}" for k in ("train", "val") if len(idx[k]) < want[k]
    ]
    if short and verbose:
        print(f"note: CelebA has fewer images than asked for: {', '.join(short)}", file=sys.stderr)
    return FaceSet(
        _take(images, idx["train"]),
        _take(images, idx["val"]),
        _take(attrs, idx["train"]),
        _take(attrs, idx["val"]),
        "celeba",
        size,
        folder,
        manifest,
        partition=partition,
        names=(folder / "names.txt").read_text().split(),
        test=_take(images, idx["test"]),
        attrs_test=_take(attrs, idx["test"]),
    )


# ----------------------------------------------------------------------------- a made-up CelebA
def write_fake_celeba(
    folder: str | os.PathLike,
    n: int,
    *,
    seed: int = 0,
    layout: str = "kaggle",
    quality: int = 90,
    workers: int | None = None,
) -> Path:
    """Write ``n`` synthetic 178x218 faces in a CelebA layout, with label files.

    ``layout``: ``"kaggle"`` (nested ``img_align_celeba/img_align_celeba``, csv labels),
    ``"original"`` (``img_align_celeba/``, txt labels with count line), or ``"zip"``
    (the Kaggle layout inside ``celeba.zip``; returns the zip's path).  For tests, the
    benchmark, and chapters that show the CelebA path without the download.
    """
    from PIL import Image

    from .synthetic import render_faces

    folder = Path(folder)
    w, h = ALIGNED_SIZE
    left, top, right, _ = CROP_BOX
    faces = render_faces(
        n, height=h, width=w, seed=seed, frame=(left, top, right - left), workers=workers
    )
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    nested = layout in ("kaggle", "zip")
    img_dir = folder / "img_align_celeba" / ("img_align_celeba" if nested else "")
    img_dir.mkdir(parents=True, exist_ok=True)
    for name, arr in zip(names, faces.images):
        Image.fromarray(arr).save(img_dir / name, quality=quality)
    split = np.where(np.arange(n) < 0.8 * n, 0, np.where(np.arange(n) < 0.9 * n, 1, 2))
    if nested:
        (folder / "list_attr_celeba.csv").write_text(
            "image_id,"
            + ",".join(ATTR_NAMES)
            + "\n"
            + "".join(
                nm + "," + ",".join(str(v) for v in row) + "\n"
                for nm, row in zip(names, faces.attrs)
            )
        )
        (folder / "list_eval_partition.csv").write_text(
            "image_id,partition\n" + "".join(f"{nm},{s}\n" for nm, s in zip(names, split))
        )
    else:
        (folder / "list_attr_celeba.txt").write_text(
            f"{n}\n"
            + " ".join(ATTR_NAMES)
            + "\n"
            + "".join(
                nm + " " + " ".join(f"{v:2d}" for v in row) + "\n"
                for nm, row in zip(names, faces.attrs)
            )
        )
        (folder / "list_eval_partition.txt").write_text(
            "".join(f"{nm} {s}\n" for nm, s in zip(names, split))
        )
    if layout == "zip":
        zpath = folder.with_suffix(".zip")
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_STORED) as zf:
            for p in sorted(folder.rglob("*")):
                if p.is_file():
                    zf.write(p, p.relative_to(folder).as_posix())
        return zpath
    return folder
