"""Authoring aid: turn a percent-format script into a chapter notebook (without outputs).

    .venv/bin/python scripts/py2nb.py /tmp/draft.py notebooks/05_kl_encoder_layer.ipynb

Cells start with ``# %%`` (code) or ``# %% [markdown]`` (markdown; the text lines start with
``# ``).  Tags: ``# %% tags=["nbval-ignore-output", "raises-exception"]``.  The notebook is the
source of truth afterwards: keep no .py copy in the repository.  Then run
scripts/execute_notebooks.py on it to store the outputs.
"""

import json
import re
import sys

import nbformat

HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?:\s+tags=(?P<tags>\[.*\]))?\s*$")


def convert(text: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    cells, kind, tags, lines = [], None, [], []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "md":
            body = "\n".join(
                line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.split("\n")
            )
            cell = nbformat.v4.new_markdown_cell(body)
        else:
            cell = nbformat.v4.new_code_cell(body)
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)

    for line in text.split("\n"):
        m = HEADER.match(line)
        if m:
            flush()
            kind = "md" if m.group("md") else "code"
            tags = json.loads(m.group("tags")) if m.group("tags") else []
            lines = []
        else:
            lines.append(line)
    flush()
    for i, c in enumerate(cells):  # stable ids keep diffs small
        c["id"] = f"c{i:03d}"
    nb.cells = cells
    return nb


if __name__ == "__main__":
    src, dest = sys.argv[1], sys.argv[2]
    nbformat.write(convert(open(src).read()), dest)
    print(f"wrote {dest}")
