#!/usr/bin/env bash
# Build the HTML book from the outputs stored in the notebooks (nothing is executed).
# Warnings are errors (-W); --keep-going reports all of them at once.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup_env.sh
rm -rf _build/html _build/.doctrees
.venv/bin/jupyter-book build . --builder html -W --keep-going -n
echo
echo "The book is at: $root/_build/html/index.html"
