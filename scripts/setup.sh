#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install tonecls into it.
#   bash scripts/setup.sh          runtime, every extra and the test tools (requirements-dev.txt)
# Set TONECLS_VENV to use another location, or TONECLS_SKIP_SETUP=1 to use an environment you
# prepared yourself (TONECLS_VENV then names it). Needs Python >= 3.10 and network access to PyPI.
set -euo pipefail
if [ "${TONECLS_SKIP_SETUP:-}" = 1 ]; then
  exit 0
fi
cd "$(dirname "$0")/.."
venv="${TONECLS_VENV:-.venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  echo "==> creating virtual environment $venv"
  "$python" -m venv "$venv"
fi
stamp="$venv/.tonecls-installed"
stale=0
for file in requirements*.txt pyproject.toml; do
  [ "$file" -nt "$stamp" ] && stale=1
done
if [ ! -f "$stamp" ] || [ "$stale" = 1 ]; then
  echo "==> installing tonecls and its requirements into $venv (first time: a few minutes)"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -r requirements-dev.txt
  "$venv/bin/python" -m pip install --quiet --no-deps -e .
  touch "$stamp"
fi
