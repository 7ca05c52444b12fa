#!/usr/bin/env bash
# Set up .venv if needed, then run the whole test suite (notebooks included) on both cores
# (pytest-xdist; TONECLS_TEST_WORKERS=0 runs it in one process).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k preprocess`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
venv="${TONECLS_VENV:-.venv}"
# Bytecode caches (__pycache__, git-ignored) on, even where the shell turns them off: each xdist
# worker otherwise recompiles and re-rewrites every module it imports (3 s of each start-up).
unset PYTHONDONTWRITEBYTECODE
exec "$venv/bin/python" -m pytest -n "${TONECLS_TEST_WORKERS:-2}" --dist worksteal "$@"
