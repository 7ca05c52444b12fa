"""The language check with and without the fastText shortcut, side by side in one run.

``identify`` asks langid.py only where fastText alone cannot settle whether a post is scored
(:func:`tonecls.language.settled_by_fasttext`). This script runs both variants, alternating
in rounds, on every TweetEval test post (all six tasks) and the posts of
``data/langid_posts.csv``, and reports posts per CPU-second, the share of posts fastText
settles, and how the outputs differ: statuses (must not) and the language column.

    nice -n 10 .venv/bin/python benchmarks/bench_langid_cascade.py
    .venv/bin/python benchmarks/bench_langid_cascade.py --compare-source /tmp/tonecls-before

``--compare-source`` adds the default identification of another source tree of tonecls (e.g.
a git worktree of an earlier commit) and counts the posts whose language differs from this
checkout's.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def posts() -> list[str]:
    import pandas as pd

    from tonecls.datasets import TWEETEVAL_TASKS, load_tweeteval

    texts = [t for task in TWEETEVAL_TASKS for t in load_tweeteval(task, "test")["text"]]
    return texts + pd.read_csv(ROOT / "data" / "langid_posts.csv", dtype=str, keep_default_na=False)["text"].tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare-source", metavar="SOURCE",
                        help="also time the default identification of this source tree of tonecls")
    args = parser.parse_args()

    from tonecls.language import (
        DEFAULT_RULE,
        default_distribution,
        fasttext_distribution,
        identify,
        is_other_language,
        settled_by_fasttext,
        words_for_identification,
    )
    from tonecls.preprocess import tokenize

    tokens = tokenize(posts())
    identify(tokens[:50], distribution=default_distribution)  # load both models first
    variants = {"average of both (always ask langid.py)": lambda t: identify(t, distribution=default_distribution),
                "fastText shortcut (default)": identify}
    if args.compare_source:
        from compare_source import module_from_source

        other = module_from_source(args.compare_source, "tonecls/language.py", "language_compared")
        other.identify(tokens[:50], distribution=other.default_distribution)
        variants[f"default of {Path(args.compare_source).name}"] = other.identify
    cpu = {name: 0.0 for name in variants}
    wall = dict(cpu)
    out = {}
    for _ in range(args.rounds):
        for name, run in variants.items():
            w, c = time.perf_counter(), time.process_time()
            out[name] = run(tokens)
            cpu[name] += time.process_time() - c
            wall[name] += time.perf_counter() - w
    full, cascade = list(out.values())[:2]
    settled = sum(settled_by_fasttext(fasttext_distribution(text), frozenset({"en"}), DEFAULT_RULE) is not None
                  for text in map(words_for_identification, tokens) if sum(ch.isalpha() for ch in text) >= 8)
    n = len(tokens) * args.rounds
    result = {
        "posts": len(tokens), "rounds": args.rounds,
        "posts_per_cpu_s": {name: round(n / cpu[name]) for name in variants},
        "cpu_seconds": {name: round(cpu[name], 2) for name in variants},
        "wall_seconds": {name: round(wall[name], 2) for name in variants},
        "speed_ratio_cpu": round(cpu[next(iter(variants))] / cpu["fastText shortcut (default)"], 2),
        "settled_by_fasttext": settled,
        "statuses_differ": sum(is_other_language(a, ["en"]) != is_other_language(b, ["en"])
                               for a, b in zip(full, cascade)),
        "language_column_changes": {f"{a} -> {b}": k for (a, b), k in
                                    Counter((a, b) for a, b in zip(full, cascade) if a != b).items()},
    }
    if args.compare_source:
        compared = list(out.values())[2]
        result["languages_differing_from_compared_source"] = sum(a != b for a, b in zip(compared, cascade))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
