"""Throughput of TwitterAAE dialect inference (tonecls.audit.dialect) on TweetEval posts.

Usage: python benchmarks/bench_dialect.py [--repeat N]

Measures, on the TweetEval sentiment train split (~48k tweets): model loading, tokenisation
(NLTK TweetTokenizer + twokenize-style merges), CVB0 inference alone, and end to end
(``DialectEstimator.predict_proportions``), in posts per second of wall-clock time and of CPU
time of this (single-threaded) process; on a busy shared machine the CPU-time figure is the
one to compare.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tonecls.audit.dialect import (
    DialectEstimator,
    _load_cached,
    cvb0_proportions,
    load_twitteraae,
    tokenize_for_dialect,
)
from tonecls.datasets import load_tweeteval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    texts = load_tweeteval("sentiment", "train")["text"].tolist()
    print(f"posts: {len(texts)}")

    _load_cached.cache_clear()
    start = time.perf_counter()
    vocabulary, likelihoods = load_twitteraae()
    print(f"model load (uncached): {time.perf_counter() - start:.2f} s, vocabulary {len(vocabulary)}")

    best = {stage: [np.inf, np.inf] for stage in ("tokenize", "cvb0", "end_to_end")}

    def record(stage, wall_start, cpu_start):
        wall, cpu = time.perf_counter() - wall_start, time.process_time() - cpu_start
        best[stage] = [min(best[stage][0], wall), min(best[stage][1], cpu)]

    for _ in range(args.repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        tokens = [tokenize_for_dialect(t) for t in texts]
        record("tokenize", wall, cpu)
        ids = [[vocabulary[w] for w in doc if w in vocabulary] for doc in tokens]
        ids = [doc for doc in ids if doc]
        flat = likelihoods[np.concatenate([np.asarray(d) for d in ids])]
        lengths = [len(d) for d in ids]
        wall, cpu = time.perf_counter(), time.process_time()
        cvb0_proportions(flat, lengths)
        record("cvb0", wall, cpu)
        estimator = DialectEstimator().fit()
        wall, cpu = time.perf_counter(), time.process_time()
        estimator.predict_proportions(texts)
        record("end_to_end", wall, cpu)
    for stage, (wall, cpu) in best.items():
        print(f"{stage:>11}: wall {wall:.2f} s = {len(texts) / wall:,.0f} posts/s; "
              f"CPU {cpu:.2f} s = {len(texts) / cpu:,.0f} posts/s (best of {args.repeat})")


if __name__ == "__main__":
    main()
