#!/usr/bin/env bash
# Run the unit tests and execute every chapter notebook with nbval (profile "ci"), comparing
# the stored outputs of the cells not tagged nbval-ignore-output.  Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup_env.sh
export VAECOURSE_PROFILE=ci
exec .venv/bin/python -m pytest tests notebooks --nbval "$@"
