"""Conclusions as code: a chapter states what it concludes from its measurements as a *claim*.

    claims.claim("mech3_slowest", t3 > max(t0, t1, t2), t0=t0, t1=t1, t2=t2, t3=t3)

computes the conclusion from the numbers it rests on, in the cell that measures them, and
displays one line (``claim mech3_slowest: holds | t0=0.0169 ...``) with a machine-readable copy
under the MIME type :data:`MIME`, which ``tests/test_claims.py`` and
``scripts/execute_notebooks.py`` read from the stored outputs.  The prose quotes the claim's
numbers through myst-nb's glue: ``{glue:text}`mech3_slowest.t3:.1f``` (and ``mech3_slowest``
itself pastes the line).  The sentence that draws the conclusion is fixed text next to it.

Under the profiles in :data:`ENFORCED` on real data, a claim that does not hold raises
:class:`ClaimError`: the text around it would be wrong.  Under ``ci`` (tiny models), on the
synthetic faces and in a dress rehearsal, claims are computed and shown, not enforced.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

MIME = "application/vnd.vaecourse.claim+json"
GLUE_PREFIX = "application/papermill.record/"  # myst-nb's glue(display=False) records
ENFORCED = ("book", "full")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


class ClaimError(AssertionError):
    """A chapter's conclusion does not hold for the numbers just measured."""


@dataclass(frozen=True)
class Claim:
    name: str
    holds: bool
    numbers: dict = field(default_factory=dict)
    says: str = ""

    def line(self) -> str:
        """The text a reader sees: name, verdict, the numbers."""
        nums = " ".join(f"{k}={_fmt(v)}" for k, v in self.numbers.items())
        says = f" ({self.says})" if self.says else ""
        return f"claim {self.name}{says}: {'holds' if self.holds else 'DOES NOT HOLD'} | {nums}"

    def payload(self) -> dict:
        return {"name": self.name, "holds": self.holds, "numbers": self.numbers, "says": self.says}


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _plain(key: str, value):
    """A JSON-safe number (or word) for the record; non-finite floats become words."""
    if isinstance(value, str):
        return value
    if hasattr(value, "item"):  # numpy scalars and 0-d arrays
        value = value.item()
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    raise TypeError(f"claim number {key}={value!r}: give an int, a float or a word")


def enforced() -> bool:
    """True when a false claim must stop the chapter: the profile is ``book`` or ``full``, the
    data is real and it is no dress rehearsal (read through :func:`vaecourse.kit.profiles.profile`)."""
    from vaecourse.kit.profiles import profile

    p = profile()
    return p.name in ENFORCED and p.dataset != "synthetic" and not getattr(p, "dry_run", False)


def claim(name: str, holds, says: str = "", **numbers) -> Claim:
    """State the conclusion ``name`` (``holds``: computed from ``numbers``), display and glue it;
    raise :class:`ClaimError` if it does not hold where claims are enforced."""
    if not _NAME.match(name):
        raise ValueError(f"claim name {name!r}: use letters, digits and _ (a glue key)")
    bad = [k for k in numbers if not _NAME.match(k)]
    if bad:
        raise ValueError(f"claim {name}: number names {bad} must be letters, digits and _")
    c = Claim(name, bool(holds), {k: _plain(k, v) for k, v in numbers.items()}, says)
    _show(c)
    if not c.holds and enforced():
        raise ClaimError(f"{c.line()}\nThe text that draws this conclusion is wrong: fix the text.")
    return c


def _show(c: Claim) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python: the line is the record
        print(c.line())
        return
    if get_ipython() is None:
        print(c.line())
        return
    # one visible output that is also a glue record (key = the claim's name) ...
    meta = {"scrapbook": {"name": c.name, "mime_prefix": ""}}
    display({MIME: c.payload(), "text/plain": c.line()}, raw=True, metadata=meta)
    # ... and a hidden glue record per number, quoted as {glue:text}`name.key:fmt`
    for key, value in c.numbers.items():
        meta = {"scrapbook": {"name": f"{c.name}.{key}", "mime_prefix": GLUE_PREFIX}}
        display({GLUE_PREFIX + "text/plain": repr(value)}, raw=True, metadata=meta)


def stored_claims(nb) -> list[tuple[int, dict]]:
    """``(cell index, payload)`` of every claim stored in a notebook's outputs."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            payload = out.get("data", {}).get(MIME)
            if payload is not None:
                found.append((i, dict(payload)))
    return found


def glue_keys(nb) -> set[str]:
    """Every glue key a notebook's stored outputs define (``glue``, ``chapter.quote``, claims)."""
    return {
        out["metadata"]["scrapbook"]["name"]
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "scrapbook" in out.get("metadata", {})
    }
