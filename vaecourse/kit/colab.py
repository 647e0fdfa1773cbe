"""Colab plumbing the chapters rely on but do not teach: the install line, a cache in Google
Drive, and a short message instead of a traceback when CelebA is missing.

* :func:`install_spec` -- what the first cell of every chapter installs from
  :data:`vaecourse.kit.chapter.REPOSITORY`;
* :func:`use_cache` -- ``$VAECOURSE_CACHE=drive`` (the commented ``%env`` line of that cell, or
  ``chapter.start(..., cache="drive")``) becomes a folder in Google Drive, so trained models and
  prepared data outlive the runtime; :func:`vaecourse.kit.files.cache_dir` resolves it on first
  use;
* :func:`short_celeba_errors` -- installed when the kit is imported: inside IPython a
  :class:`~vaecourse.kit.profiles.CelebAError` shows :func:`celeba_help`'s message alone.
"""

from __future__ import annotations

import os
from pathlib import Path

from .chapter import INSTALL_EXTRAS, REPOSITORY, in_colab
from .profiles import ENV_CACHE, CelebAError

DRIVE_MOUNT = "/content/drive"  # where Colab mounts Google Drive
DRIVE_CACHE = "MyDrive/vaecourse-cache"  # the cache's folder inside it


def install_spec(repository: str | None = None) -> str:
    """What the first cell of a chapter gives ``%pip install`` on Colab."""
    extras = ",".join(INSTALL_EXTRAS)
    return f"vaecourse[{extras}] @ git+https://github.com/{repository or REPOSITORY}"


def use_cache(where: str | os.PathLike | None = None) -> Path | None:
    """Set where trained models and prepared data are kept (``$VAECOURSE_CACHE``).

    ``where`` (default: ``$VAECOURSE_CACHE`` as it is):

    * ``None`` or ``""`` -- leave it (the default is ``~/.cache/vaecourse``);
    * ``"drive"`` -- Google Drive, on Colab: mounts it (Colab asks for access once per
      runtime) and uses ``MyDrive/vaecourse-cache``, so the shared face model trains once per
      student, not once per chapter and runtime.  Elsewhere a note is printed and the default
      cache is used;
    * a path -- that folder.

    Returns the folder now in ``$VAECOURSE_CACHE``, or None for the default.
    """
    if where is None:
        where = os.environ.get(ENV_CACHE, "")
    where = str(where).strip()
    if not where:
        return None
    if where == "drive":
        if not in_colab():
            os.environ.pop(ENV_CACHE, None)  # never a folder named "drive" in the working dir
            print('cache="drive" needs Google Colab; using the default cache ~/.cache/vaecourse')
            return None
        path = mount_drive() / DRIVE_CACHE
        print(f"cache: Google Drive, {path}")
    else:
        path = Path(where).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    os.environ[ENV_CACHE] = str(path)
    return path


def mount_drive() -> Path:
    """Mount Google Drive at :data:`DRIVE_MOUNT` (on Colab; a no-op when already mounted)."""
    from google.colab import drive

    drive.mount(DRIVE_MOUNT)
    return Path(DRIVE_MOUNT)


# --------------------------------------------------------------------------------------
# CelebA missing: a short, notebook-shaped message instead of a chained traceback
# --------------------------------------------------------------------------------------
CELEBA_HELP = """\
CelebA is not at hand ({reason}).
Do one of these in a new cell, then run the chapter again from its chapter.start(...) cell:
  * sign in to Kaggle (free account; kaggle.com -> Settings -> API -> Create New Token):
        import kagglehub; kagglehub.login()
    (on Colab you can instead store KAGGLE_API_TOKEN in the Secrets panel, the key icon)
  * use a copy you have, a folder or the zip of Kaggle's or the original Align&Cropped release:
        import os; os.environ["VAECOURSE_CELEBA"] = "/content/drive/MyDrive/celeba.zip"
    (the same as %env VAECOURSE_CELEBA=/content/drive/MyDrive/celeba.zip)
  * go on without CelebA, with the course's own synthetic faces (no download):
        import os; os.environ["VAECOURSE_DATA"] = "synthetic"
    and, for minutes instead of hours on a GPU, the profile of the book:
        os.environ["VAECOURSE_PROFILE"] = "book"
About the data set and its terms: book/data.md (the page "The data" of the book)."""


def celeba_help(error: BaseException) -> str:
    """The message shown for a :class:`~vaecourse.kit.profiles.CelebAError` in a notebook: what went
    wrong in one line, and what to type in a cell."""
    if getattr(error, "data_at_hand", False):  # e.g. a label file to fix: its message says how
        return str(error)
    reason = str(error).split("\nHow to get CelebA")[0].strip().splitlines()
    reason = reason[0] if reason else type(error).__name__
    if len(reason) > 240:
        reason = reason[:237] + "..."
    return CELEBA_HELP.format(reason=reason)


def short_celeba_errors() -> bool:
    """Inside IPython, show a CelebAError as :func:`celeba_help`'s message alone, without the
    traceback through the package.  True if installed (False outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False

    def handler(shell, etype, value, tb, tb_offset=None):
        # IPython discards what a custom handler returns when the error comes from running a
        # cell; _showtraceback is how the shell (and ipykernel's, as an error output) shows one
        stb = [f"{etype.__name__}: " + celeba_help(value)]
        shell._showtraceback(etype, value, stb)
        return stb

    shell.set_custom_exc((CelebAError,), handler)
    return True
