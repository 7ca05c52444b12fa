#!/usr/bin/env bash
# Regenerate the example reports in reports/ from the bundled default model:
#   reports/tweeteval_sentiment_dialect_audit.*   sentiment head on the TweetEval sentiment test
#                                                 set, broken down by inferred dialect group
#   reports/tweeteval_emotion_dialect_audit.*     emotion head on the TweetEval emotion test set
#   reports/probes.*                              counterfactual identity probes
# Needs TweetEval and the TwitterAAE model (`tonecls fetch tweeteval twitteraae` when online,
# or ../shared/data beside the checkout). Takes a few minutes on 2 cores.
#
# Dialect threshold: at Blodgett et al.'s 0.8, only 1 of the 12,284 sentiment test posts is
# AA-aligned, too few to audit; these examples use 0.51 (most of a post's words drawn
# from the AA-aligned topic), which gives a small but auditable group. The dialect group is a
# proxy about the language of a post, not about its author.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${TONECLS_VENV:-.venv}"
python="$venv/bin/python"
tonecls="$venv/bin/tonecls"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p reports

for task in sentiment emotion; do
  "$python" - "$task" "$work/${task}_test.csv" <<'PY'
import sys
from tonecls.datasets import load_tweeteval
task, path = sys.argv[1:]
frame = load_tweeteval(task, "test")
frame.insert(0, "id", [f"{task}-test-{i:05d}" for i in range(len(frame))])
frame.rename(columns={"label": f"gold_{task}"})[["id", "text", f"gold_{task}"]].to_csv(path, index=False)
PY
  "$tonecls" dialect "$work/${task}_test.csv" -o "$work/${task}_dialect.csv" --threshold 0.51 --quiet
  "$tonecls" score "$work/${task}_dialect.csv" -o "$work/${task}_scored.parquet" --id-col id --quiet
  "$tonecls" audit "$work/${task}_scored.parquet" -o "reports/tweeteval_${task}_dialect_audit" \
    --head "$task" --label-col "gold_$task" --group-col dialect_group --quiet
done

"$tonecls" probe -o reports/probes
