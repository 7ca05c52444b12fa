"""Language identification: the language check with and without the fastText shortcut, side by side.

``identify`` asks langid.py only where fastText alone cannot settle whether a post is scored
(:func:`tonecls.language.settled_by_fasttext`). This script runs both variants, alternating in
rounds, on every TweetEval test post (all six tasks) and the posts of ``data/langid_posts.csv``,
and reports posts per CPU-second, the share of posts fastText settles, and how the outputs
differ: statuses (they must not) and the language column. ``--compare-source`` adds the
default identification of another source tree of tonecls and counts the posts whose language
differs from this checkout's.

    nice -n 10 .venv/bin/python -m benchmarks.bench_langid_cascade --rounds 3
    .venv/bin/python -m benchmarks.bench_langid_cascade --rounds 3 --compare-source /tmp/tonecls-before
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from benchmarks import harness
from benchmarks.workloads import LANGID_POSTS, tweeteval_texts
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

ALWAYS = "mean of both, always (ask langid.py for every post)"
DEFAULT = "fastText settles where it can (default)"


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare-source", metavar="SOURCE",
                        help="also time the default identification of this source tree of tonecls")
    args = parser.parse_args(argv)
    with harness.Report(args, "Language check: the fastText shortcut") as report:
        texts = tweeteval_texts(("test",)) + pd.read_csv(LANGID_POSTS, dtype=str, keep_default_na=False)["text"].tolist()
        tokens = tokenize(texts)
        identify(tokens[:50], distribution=default_distribution)  # load both models first
        variants = {ALWAYS: lambda: identify(tokens, distribution=default_distribution), DEFAULT: lambda: identify(tokens)}
        compared = None
        if args.compare_source:
            other = harness.module_from_source(args.compare_source, "tonecls/language.py", "language_compared")
            other.identify(tokens[:50], distribution=other.default_distribution)
            compared = f"default of {Path(args.compare_source).name}"
            variants[compared] = lambda: other.identify(tokens)
        rounds = 1 if args.smoke else args.rounds
        timings = harness.alternate(variants, rounds)
        full, cascade = timings[ALWAYS].result, timings[DEFAULT].result
        changes = Counter((a, b) for a, b in zip(full, cascade) if a != b)
        extra = {DEFAULT: {"statuses different from the first": sum(
                     is_other_language(a, ["en"]) != is_other_language(b, ["en"]) for a, b in zip(full, cascade)),
                           "`tonecls_language` different": f"{sum(changes.values()):,} posts: "
                           + ", ".join(f"{k:,} {a} -> {b}" for (a, b), k in changes.most_common())}}
        if compared:
            extra[compared] = {"languages different from this checkout's default":
                               sum(a != b for a, b in zip(timings[compared].result, cascade))}
        report.table(harness.rate_table(timings, len(tokens), extra=extra),
                     f"{len(tokens):,} posts (TweetEval test, data/langid_posts.csv), best of {rounds} alternating rounds:")
        settled = sum(settled_by_fasttext(fasttext_distribution(text), frozenset({"en"}), DEFAULT_RULE) is not None
                      for text in map(words_for_identification, tokens) if sum(ch.isalpha() for ch in text) >= 8)
        report.note(f"\nposts fastText settles alone: {settled:,} of {len(tokens):,}")


if __name__ == "__main__":
    main()
