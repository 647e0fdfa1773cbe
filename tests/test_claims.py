"""Claims (vaecourse.kit.claims) and what the stored notebooks say with them.

Every stored notebook is read, not run:

* a claim stored under ``book``/``full`` must hold (the prose next to it draws its conclusion);
* every ``{glue:...}`` reference in the markdown names a key that a cell's stored outputs define
  (``glue``, ``chapter.quote`` or a claim and its numbers), in that notebook or in the one a
  ``path::key`` reference names;
* no result table is typed as literals (see :func:`literal_numbers`);
* in the chapters listed in ``GLUED_PROSE`` the same rule holds for all prose, not only tables.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

from vaecourse.kit import claims

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
# chapters whose whole prose is checked for typed measurements, and that state claims
GLUED_PROSE = {
    "00",
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "07",
    "08",
    "09",
    "10",
    "11",
    "12",
    "13",
    "14",
    "15",
    "16",
    "17",
    "18",
    "19",
    "20",
}
CLAIMED = GLUED_PROSE
# notebooks owned elsewhere that fail a check today: {check: {chapter number: reason}}
KNOWN = {"table": {}, "glue": {}}


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _profile(nb) -> str | None:
    """The profile a notebook was stored under, from the line ``chapter.start`` prints."""
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            m = re.search(r"profile=(\w+)", out.get("text", ""))
            if m:
                return m.group(1)
    return None


# ------------------------------------------------------------------------------- markdown parsing
GLUE_ROLE = re.compile(r"\{glue(?::(?:text|any|md|math|figure))?\}`([^`]+)`")
GLUE_DIRECTIVE = re.compile(r"^(?:```|:::)\{glue(?::(?:any|md|math|figure))?\}\s+(\S+)", re.M)


def glue_references(markdown: str) -> list[tuple[str | None, str]]:
    """``(document or None, key)`` of every glue role and directive in ``markdown``."""
    refs = []
    for m in GLUE_ROLE.finditer(markdown):
        text = m.group(1)
        if m.group(0).startswith(("{glue:text}", "{glue:md}")):  # key:format, as myst-nb reads it
            text = text.rsplit(":", 1)[0]
        doc, _, key = text.rpartition("::")
        refs.append((doc or None, key))
    for m in GLUE_DIRECTIVE.finditer(markdown):
        doc, _, key = m.group(1).rpartition("::")
        refs.append((doc or None, key))
    return refs


def prose(markdown: str) -> str:
    """``markdown`` without what may hold typed numbers legitimately: code blocks and inline
    code, math, glue references, link and image targets, HTML comments."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = GLUE_ROLE.sub(" ", text)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$[^$]*\$", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link and image targets (URLs, data URIs)
    return text


NUMBER = re.compile(r"(?<![\w.])(\d+(?:,\d{3})*)\.(\d+)(?![\w.])")


def literal_numbers(text: str) -> list[str]:
    """The measured-looking numbers typed in ``text`` (after :func:`prose` removed the rest).

    A number with a fractional part reads as measured (0.83, 17.3, 1.17), unless it is round:
    one significant digit (a threshold or setting such as 0.01, 0.5, 3.0) or a single decimal
    on a number below 10 (sigma = 1.5, r = 2.5).  Integers are counts, sizes and settings
    (64, 14,283, z 200) and version strings with two dots (3.11.7) are no numbers: neither is
    flagged.  What is measured must come through glue.
    """
    found = []
    for m in NUMBER.finditer(text):
        whole, frac = m.group(1).replace(",", ""), m.group(2)
        significant = (whole + frac).strip("0")
        round_ = len(significant) <= 1 or (len(frac) == 1 and int(whole) < 10)
        if not round_:
            found.append(m.group(0))
    return found


def result_tables(markdown: str) -> list[list[list[str]]]:
    """The markdown tables of ``markdown``: rows of cells, header row and separator dropped."""
    tables, rows = [], []
    for line in markdown.splitlines() + [""]:
        s = line.strip()
        if s.startswith("|"):
            rows.append([c.strip() for c in s.strip("|").split("|")])
            continue
        if len(rows) >= 3 and re.fullmatch(r"[\s:|-]+", "|".join(rows[1])):
            tables.append(rows[2:])
        rows = []
    return tables


# ------------------------------------------------------------------------------- notebook checks
def _ids(paths):
    return [p.name[:2] for p in paths]


def _known(check: str, path: Path):
    reason = KNOWN[check].get(path.name[:2])
    if reason:
        pytest.xfail(reason)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_stored_claims_hold(path):
    nb = _read(path)
    stored = claims.stored_claims(nb)
    if path.name[:2] in CLAIMED:
        assert stored, f"{path.name} draws conclusions but stores no claim"
    if _profile(nb) not in claims.ENFORCED:
        return
    false = [f"cell {i}: {p['name']} {p['numbers']}" for i, p in stored if not p["holds"]]
    assert not false, f"{path.name} stored under book with false claims:\n" + "\n".join(false)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_glue_references_are_computed(path):
    _known("glue", path)
    nb = _read(path)
    keys = {None: claims.glue_keys(nb)}
    missing = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for doc, key in glue_references(cell.source):
            if doc not in keys:
                keys[doc] = claims.glue_keys(_read((path.parent / doc).resolve()))
            if key not in keys[doc]:
                missing.append(f"cell {i}: {doc + '::' if doc else ''}{key}")
    assert not missing, f"{path.name} quotes glue keys no cell computes:\n" + "\n".join(missing)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_result_table_typed_as_literals(path):
    _known("table", path)
    typed = []
    for i, cell in enumerate(_read(path).cells):
        if cell.cell_type != "markdown":
            continue
        for table in result_tables(cell.source):
            for row in table:
                for value in row:
                    typed += [
                        f"cell {i}: {n!r} in {value!r}" for n in literal_numbers(prose(value))
                    ]
    assert not typed, f"{path.name} types measured numbers into a table:\n" + "\n".join(typed)


GLUED = [p for p in NOTEBOOKS if p.name[:2] in GLUED_PROSE]


@pytest.mark.parametrize("path", GLUED, ids=_ids(GLUED))
def test_prose_numbers_are_glued(path):
    typed = []
    for i, cell in enumerate(_read(path).cells):
        if cell.cell_type == "markdown":
            typed += [f"cell {i}: {n!r}" for n in literal_numbers(prose(cell.source))]
    assert not typed, f"{path.name} types measured numbers into its prose:\n" + "\n".join(typed)


# ------------------------------------------------------------------------------- the heuristics
def test_literal_numbers_tells_measurements_from_settings():
    assert literal_numbers("8.5 times, 0.83, 1.17, 17.3 % and 14,283.25") == [
        "0.83",
        "1.17",
        "17.3",
        "14,283.25",
    ]
    settings = "sigma 0.5, r = 2.5, Var > 0.01, 3.0, z 200, 14,283 faces, 96/64, Python 3.11.7"
    assert literal_numbers(settings) == []


def test_prose_drops_glue_code_math_and_links():
    md = "a {glue:text}`x:.2f` b `c = 0.25` $\\sigma = 0.75$ [l](http://h/1.25) 4.75"
    assert literal_numbers(prose(md)) == ["4.75"]
    assert glue_references(md) == [(None, "x")]


def test_glue_references_parse_formats_documents_and_claims():
    md = (
        "{glue:text}`people_train` {glue:text}`det_real:.0%` {glue:text}`mech.t3:.1f` "
        "{glue:text}`10_vae_faces.ipynb::kl:,.0f` {glue}`w`\n```{glue:figure} fig\n```"
    )
    assert glue_references(md) == [
        (None, "people_train"),
        (None, "det_real"),
        (None, "mech.t3"),
        ("10_vae_faces.ipynb", "kl"),
        (None, "w"),
        (None, "fig"),
    ]


def test_result_tables_skip_header_and_separator():
    md = "text\n| a | b |\n|---|---|\n| x | 0.42 |\n| y | 3 |\n\n| not a table |"
    assert result_tables(md) == [[["x", "0.42"], ["y", "3"]]]
    assert literal_numbers(prose("0.42")) == ["0.42"]


# ------------------------------------------------------------------------------- claims.py itself
@pytest.fixture
def ci(monkeypatch):
    monkeypatch.setenv("VAECOURSE_PROFILE", "ci")
    monkeypatch.delenv("VAECOURSE_DATA", raising=False)


@pytest.fixture
def book(monkeypatch):
    monkeypatch.setenv("VAECOURSE_PROFILE", "book")
    monkeypatch.setenv("VAECOURSE_DATA", "celeba")


def test_a_claim_that_holds_prints_its_numbers(ci, capsys):
    import numpy as np

    c = claims.claim("faster", 2.0 > 1.0, t_eager=np.float32(2.0), t_graph=1.0, n=np.int64(3))
    assert c.holds and c.numbers == {"t_eager": 2.0, "t_graph": 1.0, "n": 3}
    assert type(c.numbers["n"]) is int
    assert capsys.readouterr().out.strip() == "claim faster: holds | t_eager=2 t_graph=1 n=3"


def test_a_false_claim_raises_under_book_on_real_data(book, capsys):
    with pytest.raises(claims.ClaimError, match=r"claim slowest: DOES NOT HOLD \| t3=1 t0=2"):
        claims.claim("slowest", 1.0 > 2.0, t3=1.0, t0=2.0)


def test_a_false_claim_is_shown_not_enforced_under_ci_or_synthetic(ci, monkeypatch, capsys):
    assert not claims.claim("slowest", False, t3=1.0).holds
    monkeypatch.setenv("VAECOURSE_PROFILE", "book")
    monkeypatch.setenv("VAECOURSE_DATA", "synthetic")
    assert not claims.enforced()
    assert not claims.claim("slowest", False, t3=1.0).holds
    assert capsys.readouterr().out.count("DOES NOT HOLD") == 2


def test_claim_names_and_numbers_are_checked(ci):
    with pytest.raises(ValueError, match="glue key"):
        claims.claim("two words", True)
    with pytest.raises(ValueError, match="number names"):
        claims.claim("ok", True, **{"a-b": 1.0})
    with pytest.raises(TypeError, match="int, a float or a word"):
        claims.claim("ok", True, x=[1, 2])
    assert claims.claim("ok", True, x=float("nan"), who="MSE").numbers == {"x": "nan", "who": "MSE"}


def _run_cells(*sources, env):
    """Execute a notebook of ``sources`` in a fresh kernel with ``env``; the notebook."""
    import os

    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return nb


def test_a_claim_in_a_notebook_is_stored_and_glued():
    nb = _run_cells(
        "from vaecourse.kit import claims\n"
        "claims.claim('slowest', 3.0 > 2.0, says='mechanism 3 is the slowest', t3=3.0, t0=2.0)",
        env={"VAECOURSE_PROFILE": "ci"},
    )
    assert claims.stored_claims(nb) == [
        (0, {"name": "slowest", "holds": True, "numbers": {"t3": 3.0, "t0": 2.0},
             "says": "mechanism 3 is the slowest"})
    ]  # fmt: skip
    assert claims.glue_keys(nb) == {"slowest", "slowest.t3", "slowest.t0"}
    text = [o["data"].get("text/plain") for o in nb.cells[0].outputs]
    assert text[0].startswith("claim slowest (mechanism 3 is the slowest): holds | t3=3 t0=2")
    md = "{glue:text}`slowest.t3:.1f` and {glue:text}`slowest`"
    assert {k for _, k in glue_references(md)} <= claims.glue_keys(nb)


def test_execute_notebooks_refuses_false_claims_under_book(capsys):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import execute_notebooks
    finally:
        sys.path.pop(0)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])
    nb.cells[0].outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={claims.MIME: {"name": "falls", "holds": False, "numbers": {"a": 1.0}}},
        )
    ]
    execute_notebooks.check_claims(nb, Path("99_x.ipynb"), "ci")  # shown, not enforced
    with pytest.raises(SystemExit, match=r"(?s)99_x.ipynb.*cell 0: falls .*'a': 1.0"):
        execute_notebooks.check_claims(nb, Path("99_x.ipynb"), "book")
    nb.cells[0].outputs[0]["data"][claims.MIME]["holds"] = True
    execute_notebooks.check_claims(nb, Path("99_x.ipynb"), "book")
