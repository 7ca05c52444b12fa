"""The TweetEval emotion and sentiment test sets scored by the bundled default model, cached.

Scoring takes a few minutes on 2 cores, so the scored file is written once to
``benchmarks/_work/tweeteval_<task>_test_scored.parquet`` (gitignored) and reused; it is
rescored when the default model changes (the cache records the bundle's ``bundle.json`` hash).

    nice -n 10 .venv/bin/python benchmarks/scored_tweeteval.py            # both tasks
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

WORK = Path(__file__).resolve().parent / "_work"
TASKS = ("emotion", "sentiment")


def _model_fingerprint() -> str:
    from tonecls.io import sha256_file
    from tonecls.model.bundle import DEFAULT_BUNDLE

    meta = Path(DEFAULT_BUNDLE) / "bundle.json"
    return sha256_file(meta)[:16]


def scored_test_set(task: str) -> pd.DataFrame:
    """TweetEval ``task`` test posts with ``gold`` labels and the default model's outputs."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}")
    WORK.mkdir(exist_ok=True)
    path = WORK / f"tweeteval_{task}_test_scored.parquet"
    stamp = WORK / f"tweeteval_{task}_test_scored.json"
    fingerprint = _model_fingerprint()
    if path.exists() and stamp.exists() and json.loads(stamp.read_text())["model"] == fingerprint:
        return pd.read_parquet(path)
    from tonecls.datasets import load_tweeteval
    from tonecls.model import load_model
    from tonecls.score import score_frame

    frame = load_tweeteval(task, "test")
    frame = pd.DataFrame({"id": [f"{task}-test-{i:05d}" for i in range(len(frame))],
                          "text": frame["text"], "gold": frame["label"]})
    scored = score_frame(frame, load_model(), text_col="text")
    keep = ["id", "gold", *[c for c in scored.columns if c.startswith(("tonecls_", f"{task}_"))]]
    scored = scored[keep]
    scored.to_parquet(path, index=False)
    stamp.write_text(json.dumps({"model": fingerprint, "rows": len(scored)}))
    return scored


if __name__ == "__main__":
    for name in sys.argv[1:] or TASKS:
        print(name, scored_test_set(name).shape)
