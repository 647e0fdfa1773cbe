#!/usr/bin/env bash
# Open every page of the built book in headless Chromium over file:// (scripts/check_book.py),
# after a self-test that breaks copies of pages and must see each break.  Installs what it needs:
# Debian's chromium and chromium-driver (skipped when both are there) and the [browser] extra.
# Extra arguments go to check_book.py (e.g. --http, --pages 'notebooks/15*').
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "[browser] installing chromium and chromium-driver (apt)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver >/dev/null
fi
# the [browser] extra of pyproject.toml, without reinstalling the package itself
if ! .venv/bin/python -c "import selenium" 2>/dev/null; then
  extra="$(.venv/bin/python -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["browser"]))')"
  echo "[browser] pip install $extra"
  # shellcheck disable=SC2086
  .venv/bin/python -m pip install -q $extra
fi
echo "[browser] $(chromium --version 2>/dev/null | head -1), selenium $(.venv/bin/python -c 'import selenium; print(selenium.__version__)')"
exec .venv/bin/python scripts/check_book.py --self-test "$@"
