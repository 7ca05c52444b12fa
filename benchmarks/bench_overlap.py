"""Does tokenising part k+1 in a second process while the network scores part k help?

Scores the same posts (TweetEval training texts of every task, repeated to size) with
``ToneModel.predict`` in chunks of ``--chunk`` posts (as ``score_file`` does), with
``model.tokenize_in_background`` off (one process: tokenise a part, then score it) and on (a
worker process tokenises the next part meanwhile, :mod:`tonecls.model.background`), side by
side in one run, in interleaved rounds. Reports posts/s (wall) and the CPU-seconds of both
processes. On 2 cores the overlap can at best hide the tokeniser's share of the time.

    nice -n 10 .venv/bin/python benchmarks/bench_overlap.py --posts 60000 --chunk 20000
"""

from __future__ import annotations

import argparse
import os
import time


def cpu() -> float:
    """CPU seconds of this process and its live child processes (the workers)."""
    import psutil

    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        total += sum(child.cpu_times()[:2])
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=60_000)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()

    from tonecls.datasets import TWEETEVAL_TASKS, load_tweeteval
    import pickle

    import numpy as np
    import pandas as pd

    from tonecls.io.parallel import ProcessTransformer
    from tonecls.model import load_model
    from tonecls.score.local import ScoreJob

    pool_texts = [t for task in TWEETEVAL_TASKS for t in load_tweeteval(task, "train")["text"].tolist()]
    texts = (pool_texts * (args.posts // len(pool_texts) + 1))[: args.posts]
    chunks = [texts[i:i + args.chunk] for i in range(0, len(texts), args.chunk)]
    model = load_model(args.model)
    model.predict(chunks[0][:10_000])  # warm up: tables, caches, the worker process
    job = ScoreJob(model, "text")
    job.prepare()
    workers = ProcessTransformer(job, pickle.dumps(job), workers=2)
    frames = [pd.DataFrame({"text": chunk}) for chunk in chunks]
    workers.submit(frames[0].iloc[:4_000], np.full(4_000, "ok", dtype=object))()  # start them
    time.sleep(5)

    def in_workers() -> None:
        for collect in [workers.submit(frame, np.full(len(frame), "ok", dtype=object)) for frame in frames]:
            collect()

    results: dict[str, list] = {"one process": [], "tokeniser in a second process": [],
                                "chunks in 2 worker processes (score_file's default)": []}
    for _ in range(args.rounds):
        for name, runs in results.items():
            model.tokenize_in_background = name == "tokeniser in a second process"
            wall, used = time.perf_counter(), cpu()
            if name.startswith("chunks"):
                in_workers()
            else:
                for chunk in chunks:
                    model.predict(chunk)
            runs.append((time.perf_counter() - wall, cpu() - used))
    workers.close()
    print(f"{args.posts:,} posts in chunks of {args.chunk:,}; load average {os.getloadavg()[0]:.1f} "
          f"(2 cores, shared); best of {args.rounds} rounds by wall-clock")
    print("| variant | posts/s (wall) | CPU-s (both processes) | vs one process (wall) |")
    print("| --- | ---: | ---: | ---: |")
    base = min(results["one process"])[0]
    for name, runs in results.items():
        wall, used = min(runs)
        print(f"| {name} | {args.posts / wall:,.0f} | {used:.1f} | {base / wall:.2f}x |")


if __name__ == "__main__":
    main()
