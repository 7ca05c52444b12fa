"""Where one process's scoring CPU goes: tokeniser, language check, network, the rest.

Scores 40,000 posts of the 200k-row benchmark export (``bench_scoring.py`` builds it) with the
default model, timing each stage of ``ToneModel.predict`` on its own in CPU-seconds per 1,000
posts, then ``predict`` and ``score_frame`` whole (after a warm-up on 2,000 other posts).

    .venv/bin/python benchmarks/bench_score_parts.py
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

WORK_DIR = Path(__file__).resolve().parent / "_work"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model bundle (default: the default model)")
    parser.add_argument("--posts", type=int, default=40_000)
    args = parser.parse_args()

    import pandas as pd
    from bench_scoring import build_export

    from tonecls.language import identify
    from tonecls.score import score_frame
    from tonecls.score.core import resolve_model

    frame = pd.read_csv(build_export(200_000, WORK_DIR), nrows=args.posts + 2_000, dtype=str,
                        keep_default_na=False)
    model = resolve_model(args.model)
    score_frame(frame.iloc[:2_000], model)  # load the language models, fill the network's tables
    frame = frame.iloc[2_000:]
    texts = frame["text"].tolist()

    def per_1k(function):
        started = time.process_time()
        result = function()
        return result, 1000 * (time.process_time() - started) / len(texts)

    (tokens, statuses), tokenise = per_1k(lambda: model.tokenize_with_status(texts))
    ok = [t for t, s in zip(tokens, statuses) if s == "ok"]
    _, language = per_1k(lambda: identify(ok))
    _, network = per_1k(lambda: model.logits_from_tokens(ok))
    _, predict = per_1k(lambda: model.predict(texts))
    _, frame_total = per_1k(lambda: score_frame(frame, model))
    print(f"{len(texts):,} posts; CPU-s per 1,000 posts")
    print("| tokeniser | language check | network | `predict` (all, with output columns) | `score_frame` |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    print(f"| {tokenise:.3f} | {language:.3f} | {network:.3f} | {predict:.3f} | {frame_total:.3f} |")


if __name__ == "__main__":
    main()
