"""Dialect inference (TwitterAAE): throughput of each stage, and agreement with twokenize.

1. Throughput on the TweetEval sentiment train split (48,458 posts), one process, one thread:
   model loading (uncached), tokenisation (NLTK TweetTokenizer + twokenize-style merges), CVB0
   inference alone and end to end (``DialectEstimator.predict_proportions``), stages
   alternating, best of ``--repeat``, in posts per CPU-second and per wall-clock second.
2. With ``--twokenize``: how closely ``tokenize_for_dialect`` reproduces twokenize (the ARK
   tokenizer the TwitterAAE model was built with; the ``twokenize`` package from PyPI, not a
   tonecls dependency), on the TweetEval test posts of four tasks: identical token lists, and
   the dialect proportions of the same CVB0 inference on both token lists. Reference pipeline:
   ``normalizeTextForTagger`` as in twokenize ("&amp;" then HTML entities), ``tokenize``,
   @-mentions and URLs dropped, lowercased.

    nice -n 10 .venv/bin/python -m benchmarks.bench_dialect --repeat 3
    pip install --target /tmp/twokenize twokenize
    PYTHONPATH=/tmp/twokenize nice -n 10 .venv/bin/python -m benchmarks.bench_dialect --repeat 0 --twokenize
"""

from __future__ import annotations

import html
import re

import numpy as np

from benchmarks import harness
from benchmarks.workloads import tweeteval_texts
from tonecls.audit.dialect import (
    PROPORTION_COLUMNS,
    DialectEstimator,
    cvb0_proportions,
    load_twitteraae,
    tokenize_for_dialect,
)
from tonecls.audit.dialect.estimator import _load_cached


def throughput(texts: list[str], repeat: int) -> tuple[harness.Table, float]:
    """Stage timings (alternating, best of ``repeat``) and the uncached model load's seconds."""
    _load_cached.cache_clear()
    (vocabulary, likelihoods), load = harness.timed(load_twitteraae)
    ids = [[vocabulary[w] for w in tokenize_for_dialect(t) if w in vocabulary] for t in texts]
    ids = [doc for doc in ids if doc]
    flat = likelihoods[np.concatenate([np.asarray(d) for d in ids])] if ids else likelihoods[:0]
    lengths = [len(d) for d in ids]
    estimator = DialectEstimator().fit()
    stages = {
        "tokenisation (NLTK TweetTokenizer + twokenize-style re-joining)": lambda: [tokenize_for_dialect(t) for t in texts],
        "CVB0 inference, vectorised over the batch": lambda: cvb0_proportions(flat, lengths),
        "end to end (`DialectEstimator.predict_proportions`)": lambda: estimator.predict_proportions(texts),
    }
    timings = harness.alternate(stages, repeat, keep_results=False)
    table = harness.Table(["stage", "CPU s", "posts / CPU-s", "wall s", "posts / s (wall)"])
    for label, t in timings.items():
        table.add(label, harness.number(t.best_cpu_s, 2), harness.number(len(texts) / t.best_cpu_s),
                  harness.number(t.best_wall_s, 2), harness.number(len(texts) / t.best_wall_s))
    return table, load.wall_s


def reference_tokens(text: str, twokenize: object) -> list[str]:
    """twokenize's tokens of ``text`` as the TwitterAAE pipeline uses them."""
    mention, url = re.compile(r"[@＠][a-zA-Z0-9_]+$"), re.compile(twokenize.url)
    tokens = twokenize.tokenize(html.unescape(text.replace("&amp;", "&")))
    return [t.lower() for t in tokens if not mention.match(t) and not url.match(t)]


def agreement(texts: list[str]) -> harness.Table:
    """tonecls' dialect tokenisation and proportions against twokenize's, post by post."""
    from twokenize import twokenize

    estimator = DialectEstimator().fit()
    vocabulary, likelihoods = estimator.vocabulary_, estimator.likelihoods_
    same_tokens = same_in_vocabulary = 0
    rows, lengths, estimated = [], [], []
    for i, text in enumerate(texts):
        ours, reference = tokenize_for_dialect(text), reference_tokens(text, twokenize)
        same_tokens += ours == reference
        in_vocabulary = [w for w in reference if w in vocabulary]
        same_in_vocabulary += [w for w in ours if w in vocabulary] == in_vocabulary
        if in_vocabulary and len(in_vocabulary) >= 0.2 * len(reference):
            rows += [vocabulary[w] for w in in_vocabulary]
            lengths.append(len(in_vocabulary))
            estimated.append(i)
    reference_p = np.full((len(texts), 4), np.nan)
    reference_p[estimated] = cvb0_proportions(likelihoods[rows], lengths)
    ours_p = estimator.predict_proportions(texts)[PROPORTION_COLUMNS].to_numpy()
    both = ~np.isnan(reference_p[:, 0]) & ~np.isnan(ours_p[:, 0])
    delta = np.abs(ours_p[both] - reference_p[both])

    def group(p: np.ndarray) -> np.ndarray:
        return np.where(p[:, 0] >= 0.8, 1, np.where(p[:, 3] >= 0.8, 2, 0))

    table = harness.Table(["measure", "value"])
    table.add("identical token lists", f"{100 * same_tokens / len(texts):.1f}%")
    table.add("identical in-vocabulary tokens", f"{100 * same_in_vocabulary / len(texts):.1f}%")
    table.add("posts with an estimate in one pipeline only",
              int((np.isnan(reference_p[:, 0]) != np.isnan(ours_p[:, 0])).sum()))
    table.add("mean / 99th percentile / max of |Δ dialect_aa|",
              f"{delta[:, 0].mean():.4f} / {np.quantile(delta[:, 0], 0.99):.4f} / {delta[:, 0].max():.4f}"
              if len(delta) else "")
    table.add("same dialect group at threshold 0.8",
              f"{100 * np.mean(group(ours_p[both]) == group(reference_p[both])):.2f}%" if len(delta) else "")
    return table


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage (the best counts; 0: none)")
    parser.add_argument("--twokenize", action="store_true", help="also measure the agreement with twokenize")
    args = parser.parse_args(argv)
    with harness.Report(args, "Dialect inference (TwitterAAE)") as report:
        if args.repeat:
            texts = tweeteval_texts(("train",), ("sentiment",))
            table, load = throughput(texts, 1 if args.smoke else args.repeat)
            report.table(table, f"{len(texts):,} TweetEval sentiment train posts, one process, "
                                f"best of {1 if args.smoke else args.repeat} alternating runs; model load (uncached) {load:.2f} s:")
        if args.twokenize:
            texts = tweeteval_texts(("test",), ("sentiment", "emotion", "hate", "offensive"))
            report.table(agreement(texts), f"Agreement with twokenize, {len(texts):,} TweetEval test posts:")


if __name__ == "__main__":
    main()
