#!/usr/bin/env bash
# Create .venv (if missing) and install the course's requirements and the vaecourse package.
# Idempotent: a second run only checks that everything is installed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($py --version)"
  "$py" -m venv .venv
fi
stamp=.venv/.vaecourse-installed
want="$(cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing requirements into .venv (first run: a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.txt
  .venv/bin/python -m pip install -q --no-deps -e .
  echo "$want" > "$stamp"
fi
.venv/bin/python -c "import tensorflow, keras, vaecourse; print(f'[setup] ok: tensorflow {tensorflow.__version__}, keras {keras.__version__}, vaecourse {vaecourse.__version__}')"
