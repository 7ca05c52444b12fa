#!/usr/bin/env bash
# A plain install (no extras) into a fresh virtual environment scores the sample export and
# writes an audit, with neither TensorFlow nor Keras installed.
#   bash scripts/check_plain_install.sh [VENV_DIR]      (default: a new temporary folder)
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
venv="${1:-$work/venv}"
python="${PYTHON:-python3}"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check .
"$venv/bin/python" -c '
import importlib.util, sys
present = [name for name in ("tensorflow", "keras") if importlib.util.find_spec(name)]
sys.exit(f"a plain install brought {present}" if present else 0)'
"$venv/bin/tonecls" score data/sample_posts.csv -o "$work/scored.csv" --id-col id --quiet
"$venv/bin/tonecls" audit "$work/scored.csv" -o "$work/audit" --head sentiment --label-col sentiment \
  --group-col platform --n-bootstrap 100 --quiet
test -s "$work/audit.html" && test -s "$work/audit.json"
echo "plain install: scored the sample export and wrote $work/audit.html without TensorFlow or Keras"
