"""Does tokenising chunk k+1 in a second process while the network scores chunk k help?

Scores the same posts (TweetEval texts, repeated) in chunks two ways, side by side in one run,
in interleaved rounds:

- ``sequential``: tokenise a chunk, then run the network on it (what ``score_frame`` does);
- ``overlapped``: a one-process pool tokenises chunk k+1 (tokens come back pickled) while this
  process runs the network on chunk k.

Reports posts/s (wall) and the CPU-seconds of both processes. On a 2-core machine the overlap
can at best hide the tokeniser's share of the time.

    nice -n 10 .venv/bin/python benchmarks/bench_overlap.py --posts 60000 --chunk 10000
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

_MODEL = None


def _tokenize(texts: list[str]) -> tuple[list, list]:
    global _MODEL
    if _MODEL is None:
        from tonecls.model import load_model

        _MODEL = load_model(_BUNDLE)
    return _MODEL.tokenize_with_status(texts)


_BUNDLE = None


def _init(bundle):
    global _BUNDLE
    _BUNDLE = bundle


def network(model, tokens, statuses):
    ok = [t for t, s in zip(tokens, statuses) if s == "ok"]
    return model.logits_from_tokens(ok)


def sequential(model, chunks):
    for chunk in chunks:
        network(model, *model.tokenize_with_status(chunk))


def overlapped(model, chunks, pool):
    pending = pool.submit(_tokenize, chunks[0])
    for k in range(len(chunks)):
        tokens, statuses = pending.result()
        if k + 1 < len(chunks):
            pending = pool.submit(_tokenize, chunks[k + 1])
        network(model, tokens, statuses)


def cpu() -> float:
    """CPU seconds of this process and its live child processes (the tokenising worker)."""
    import psutil

    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        total += sum(child.cpu_times()[:2])
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=60_000)
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    import os

    from tonecls.datasets import TWEETEVAL_TASKS, load_tweeteval
    from tonecls.model import load_model

    pool_texts = [t for task in TWEETEVAL_TASKS for t in load_tweeteval(task, "train")["text"].tolist()]
    texts = (pool_texts * (args.posts // len(pool_texts) + 1))[: args.posts]
    chunks = [texts[i:i + args.chunk] for i in range(0, len(texts), args.chunk)]
    model = load_model(args.model)
    model.logits_from_tokens([["warm", "up"]])
    results: dict[str, list] = {"sequential": [], "overlapped": []}
    with ProcessPoolExecutor(max_workers=1, initializer=_init, initargs=(args.model,)) as pool:
        pool.submit(_tokenize, ["warm up"]).result()  # the worker loads its preprocessor once
        for _ in range(args.rounds):
            for name in results:
                wall, used = time.perf_counter(), cpu()
                sequential(model, chunks) if name == "sequential" else overlapped(model, chunks, pool)
                results[name].append((time.perf_counter() - wall, cpu() - used))
    print(f"{args.posts:,} posts in chunks of {args.chunk:,}; load average {os.getloadavg()[0]:.1f} "
          f"(2 cores, shared); best of {args.rounds} rounds by wall-clock")
    print("| variant | posts/s (wall) | CPU-s (both processes) | vs sequential (wall) |")
    print("| --- | ---: | ---: | ---: |")
    base = min(results["sequential"])[0]
    for name, runs in results.items():
        wall, used = min(runs)
        print(f"| {name} | {args.posts / wall:,.0f} | {used:.1f} | {base / wall:.2f}x |")


if __name__ == "__main__":
    main()
