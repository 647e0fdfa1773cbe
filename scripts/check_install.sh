#!/usr/bin/env bash
# Colab, simulated: install the course as a chapter's first cell does, but from this clone
# (git+file://, i.e. its committed HEAD), into a fresh virtual environment with nothing of .venv,
# and run chapters under the `ci` profile from a folder outside the checkout, each in a fresh
# kernel (installed once).
#
#   bash scripts/check_install.sh [notebooks/01_basics.ipynb ...]
#
# The extras come from the chapter's own install cell, so a cell that forgets one fails here.
# pip's cache (~/.cache/pip) is used: after the first run nothing is downloaded again.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -gt 0 ] || set -- notebooks/01_basics.ipynb
notebooks=("$@")  # paths relative to the checkout; run as committed (HEAD), like the package
notebook="$root/${notebooks[0]}"  # its install cell names the extras (every chapter's does)
py="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
start=$(date +%s)

# "vaecourse[data,history] @ git+https://github.com/OWNER/NAME" -> the part before " @ "
requirement="$("$py" - "$notebook" <<'EOF'
import json, re, sys
cells = json.load(open(sys.argv[1]))["cells"]
source = next("".join(c["source"]) for c in cells if c["cell_type"] == "code")
m = re.search(r'%pip install -q "([^"@]+?) @ git\+https://github\.com/[^"]+"', source)
sys.exit(f"no install line in the first code cell of {sys.argv[1]}") if not m else print(m.group(1))
EOF
)"
echo "[install] $requirement @ git+file://$root into a fresh venv ($("$py" --version))"
"$py" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -qq --upgrade pip
# nbclient and ipykernel stand in for the Jupyter that Colab brings
"$work/venv/bin/python" -m pip install -qq --no-compile "$requirement @ git+file://$root" nbclient ipykernel
installed=$(( $(date +%s) - start ))

mkdir -p "$work/run" && cd "$work/run"
echo "[install] installed in ${installed} s; running ${#notebooks[@]} chapter(s) from $work/run (profile ci)"
for notebook in "${notebooks[@]/#/$root/}"; do
git -C "$root" show "HEAD:${notebook#"$root"/}" > chapter.ipynb
echo "[install] $(basename "$notebook")"
VAECOURSE_PROFILE=ci VAECOURSE_CACHE="$work/cache" "$work/venv/bin/python" - <<'EOF'
import importlib.metadata as md
import time

import nbclient
import nbformat
import vaecourse

versions = ", ".join(f"{p} {md.version(p)}" for p in ("tensorflow", "keras", "tf_keras", "pillow", "numpy"))
print(f"[install] {versions}; vaecourse from {vaecourse.__file__}")
assert "/run/" not in vaecourse.__file__ and "site-packages" in vaecourse.__file__
nb = nbformat.read("chapter.ipynb", as_version=4)
t0 = time.monotonic()
nbclient.NotebookClient(nb, timeout=900, kernel_name="python3").execute()
errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
          and "raises-exception" not in c.metadata.get("tags", [])]
assert not errors, errors
from vaecourse.kit.profiles import NATIVE_START_NOISE

noisy = [c.execution_count for c in nb.cells if c.cell_type == "code" for o in c.outputs
         if any(n in o.get("text", "") for n in NATIVE_START_NOISE)]
if noisy:
    print(f"[install] note: cells {sorted(set(noisy))} show TensorFlow's native start-up lines")
print(f"[install] the chapter ran in {time.monotonic() - t0:.0f} s, "
      f"{sum(c.cell_type == 'code' for c in nb.cells)} code cells, no error")
EOF
done
echo "[install] done in $(( $(date +%s) - start )) s"
