#!/usr/bin/env bash
# The main job on a fresh machine: set up .venv, then score the bundled sample export with the
# bundled default model and write a bias audit report of the scores.
#   reports/sample_scored.csv                 every sample post with its tone predictions
#   reports/sample_audit.{html,md,json}       sentiment audit by platform and region
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
venv="${TONECLS_VENV:-.venv}"
tonecls="$venv/bin/tonecls"
mkdir -p reports
"$tonecls" score data/sample_posts.csv -o reports/sample_scored.csv --id-col id
"$tonecls" audit reports/sample_scored.csv -o reports/sample_audit --head sentiment \
  --label-col sentiment --group-col platform --group-col region
echo "Open reports/sample_audit.html in a browser to read the audit."
