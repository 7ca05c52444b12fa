"""End-to-end batch scoring throughput and peak memory, against VADER in the same run.

Builds CSV exports of 10k / 200k / 1M rows (``id,text,group``) from the TweetEval texts
(all tasks and splits, repeated to size) under ``benchmarks/_work/`` (gitignored), then, for
each size, runs ``tonecls.score.score_file(export.csv, scored.parquet)`` in a fresh child
process (read CSV -> preprocess -> model -> write Parquet) and reports posts/s and the
child's peak resident memory (``ru_maxrss``). VADER's ``polarity_scores`` (a lexicon scorer)
is timed on the same posts, on one core, as the reference rate.

    nice -n 10 .venv/bin/python benchmarks/bench_scoring.py                  # default model
    nice -n 10 .venv/bin/python benchmarks/bench_scoring.py --sizes 10000 --model PATH
    nice -n 10 .venv/bin/python benchmarks/bench_scoring.py --engine dask --workers 2
    .venv/bin/python benchmarks/bench_scoring.py --variant one-process default 1 \
        --variant two-workers default 2                      # side by side, alternating
    git worktree add /tmp/tonecls-before COMMIT            # the code before a change ...
    .venv/bin/python benchmarks/bench_scoring.py --variant before default 0 /tmp/tonecls-before \
        --variant after default 0                            # ... against the checkout
    nice -n 10 .venv/bin/python benchmarks/bench_scoring.py --untrained   # no default model yet
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

WORK_DIR = Path(__file__).resolve().parent / "_work"


def build_export(rows: int, work_dir: Path) -> Path:
    """A CSV export of ``rows`` TweetEval posts (id, text, group = source task), cached."""
    import pandas as pd

    from tonecls.datasets import TWEETEVAL_TASKS, load_tweeteval

    path = work_dir / f"posts_{rows}.csv"
    if path.exists():
        return path
    parts = []
    for task in TWEETEVAL_TASKS:
        for split in ("train", "val", "test"):
            parts.append(pd.DataFrame({"text": load_tweeteval(task, split)["text"], "group": task}))
    pool = pd.concat(parts, ignore_index=True)
    repeats = -(-rows // len(pool))
    export = pd.concat([pool] * repeats, ignore_index=True).iloc[:rows]
    export.insert(0, "id", [f"p{i:09d}" for i in range(rows)])
    work_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    export.to_csv(tmp, index=False)
    os.replace(tmp, path)
    return path


def untrained_default_model(work_dir: Path) -> Path:
    """A bundle with the default model's architecture and heads but untrained weights.

    Scoring speed does not depend on the weights, so this stands in for the default model
    where it is not available (its figures are labelled as such).
    """
    from tonecls.datasets import load_tweeteval
    from tonecls.model import ToneModel, TrainConfig
    from tonecls.model.data import resolve_head_spec
    from tonecls.model.network import build_network
    from tonecls.model.vocab import Vocabulary
    from tonecls.preprocess import Preprocessor

    path = work_dir / "untrained_default_model"
    if path.exists():
        return path
    config_file = Path(__file__).resolve().parents[1] / "configs" / "default_model.json"
    config = TrainConfig.from_file(config_file)
    heads = [resolve_head_spec(head) for head in config.heads if not head.auxiliary]
    tokens = Preprocessor(config.preprocess).tokenize(load_tweeteval("sentiment", "train")["text"])
    vocabulary = Vocabulary.fit(tokens, max_size=config.vocab_size, min_count=config.min_count)
    network = build_network(heads, len(vocabulary), config)
    model = ToneModel(network, vocabulary, heads, config.preprocess, max_length=config.max_length)
    return model.save(path)


def child_score(args: argparse.Namespace) -> dict:
    """Runs in the child process: score one export, return timing and peak memory."""
    started = time.perf_counter()
    from tonecls.score import score_file
    from tonecls.score.core import resolve_model

    resolve_model(args.model)  # load the model (numpy network; cached for score_file)
    startup = time.perf_counter() - started
    samples = _sample_rss()
    cpu_started = time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    summary = score_file(
        args.input, args.output, model=args.model, engine=args.engine, workers=args.workers,
        chunksize=args.chunksize, blocksize=args.blocksize,
        on_bad_lines="error" if args.engine == "dask" else "flag", progress=False,
    )
    if profiler is not None:
        profiler.disable()
    samples.append(None)  # stops the sampler
    rss = [mb for mb in samples if mb is not None]
    done = resource.getrusage(resource.RUSAGE_CHILDREN)  # worker processes, once they exited
    worker_cpu = done.ru_utime + done.ru_stime - children.ru_utime - children.ru_stime
    return {
        "rows": summary.rows, "ok": summary.ok, "startup_s": startup,
        "scoring_s": summary.seconds, "cpu_s": time.process_time() - cpu_started + worker_cpu,
        "worker_cpu_s": worker_cpu,
        "total_s": time.perf_counter() - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_tree_rss_mb": max(rss or [0]),
        # is memory flat? the highest RSS (with child processes) in each half of the job
        "rss_first_half_mb": max(rss[: len(rss) // 2] or [0]),
        "rss_second_half_mb": max(rss[len(rss) // 2:] or [0]),
        "profile": _time_by_module(profiler) if profiler is not None else None,
        "tensorflow_imported": "tensorflow" in sys.modules,
        "tonecls": str(Path(sys.modules["tonecls"].__file__).parent.parent),
        "peak_rss_by_process_kind_mb": dict(PEAK_BY_PROCESS),
    }


def _time_by_module(profiler) -> dict[str, float]:
    """Own time (tottime) of the profiled functions, summed by module; the time of built-in
    functions (regex matching, dict lookups, TensorFlow's C++ calls) goes to their callers."""
    import pstats

    def module_of(filename: str) -> str | None:
        if filename == "~":
            return None
        if "site-packages/" in filename:
            return filename.split("site-packages/")[1].split("/")[0]
        if "/tonecls/" in filename:
            module = filename.split("/tonecls/")[-1].removesuffix(".py")
            return "tonecls." + module.replace("/", ".")
        return "python stdlib"

    totals: dict[str, float] = {}
    for (filename, _, _), (_, _, tottime, _, callers) in pstats.Stats(profiler).stats.items():
        module = module_of(filename)
        if module is not None:
            totals[module] = totals.get(module, 0.0) + tottime
            continue
        for (caller_file, _, _), caller_stats in callers.items():
            caller = module_of(caller_file) or "built-in"
            totals[caller] = totals.get(caller, 0.0) + caller_stats[2]
    return dict(sorted(totals.items(), key=lambda kv: -kv[1])[:10])


PEAK_BY_PROCESS: dict[str, float] = {}  # peak RSS (MB) per process kind, filled by _sample_rss


def _process_kind(process, root) -> str:
    """"main", "worker" (loky / Dask worker processes) or "helper" (resource trackers...)."""
    if process.pid == root.pid:
        return "main"
    try:
        command = " ".join(process.cmdline())
    except Exception:  # exited meanwhile
        return "helper"
    return "helper" if "resource_tracker" in command else "worker"


def _sample_rss(interval: float = 0.25) -> list:
    """Resident memory (MB) of this process and its child processes (workers), sampled by a
    thread until None is appended; the peak of each process goes to PEAK_BY_PROCESS, per kind."""
    import threading

    import psutil  # installed with dask.distributed

    process, samples = psutil.Process(), []

    def tree_rss() -> float:
        total = 0
        for member in [process, *process.children(recursive=True)]:
            try:
                rss = member.memory_info().rss
            except psutil.Error:  # exited meanwhile
                continue
            total += rss
            kind = _process_kind(member, process)
            PEAK_BY_PROCESS[kind] = max(PEAK_BY_PROCESS.get(kind, 0.0), rss / 2**20)
        return total / 2**20

    def sample():
        while not samples or samples[-1] is not None:
            samples.append(tree_rss())
            time.sleep(interval)

    threading.Thread(target=sample, daemon=True).start()
    return samples


def child_vader(args: argparse.Namespace) -> dict:
    """Runs in the child process: VADER polarity scores of the export's first posts."""
    import pandas as pd
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    texts = pd.read_csv(args.input, nrows=args.vader_posts)["text"].astype(str).tolist()
    analyzer = SentimentIntensityAnalyzer()
    started = time.perf_counter()
    for text in texts:
        analyzer.polarity_scores(text)
    return {"posts": len(texts), "posts_per_s": len(texts) / (time.perf_counter() - started)}


def run_child(kind: str, extra: list[str], source: str | None = None) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if kind == "vader":  # one core, as the reference figure
        env.update(OMP_NUM_THREADS="1")
    if source:  # import tonecls from that tree (it comes before the installed checkout)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(source).resolve()), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, *extra],
        env=env, check=True, capture_output=True, text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 200_000, 1_000_000])
    parser.add_argument("--model", default=None, help="model bundle (default: the default model)")
    parser.add_argument("--untrained", action="store_true",
                        help="use an untrained model of the default architecture (same speed)")
    parser.add_argument("--engine", default="local", choices=["local", "dask"])
    parser.add_argument("--workers", type=int, default=None,
                        help="scoring processes (local engine; default: one per core) or dask LocalCluster workers")
    parser.add_argument("--variant", nargs="+", action="append", metavar="LABEL MODEL WORKERS [SOURCE]",
                        help="compare variants side by side, alternating per size: a label, a model "
                             "bundle ('default': the default model), a number of workers (0: the "
                             "default) and optionally a source tree of tonecls (e.g. a git worktree "
                             "of an earlier commit) to run instead of this checkout (repeat)")
    parser.add_argument("--chunksize", type=int, default=20_000)
    parser.add_argument("--blocksize", default="16MB", help="dask partition size in bytes")
    parser.add_argument("--profile", action="store_true",
                        help="profile the scoring: own time by module")
    parser.add_argument("--vader-posts", type=int, default=20_000)
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR)
    parser.add_argument("--child", choices=["score", "vader"], help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        result = (child_score if args.child == "score" else child_vader)(args)
        print(json.dumps(result))
        return

    if args.untrained:
        args.model = str(untrained_default_model(args.work_dir))
    common = ["--engine", args.engine, "--chunksize", str(args.chunksize)]
    common += ["--profile"] if args.profile else []
    common += ["--blocksize", args.blocksize]
    variants = []
    for values in args.variant or []:
        if len(values) not in (3, 4):
            parser.error(f"--variant takes LABEL MODEL WORKERS [SOURCE], got {values}")
        label, model, workers, source = (*values, None)[:4]
        variants.append((label, None if model == "default" else model, int(workers) or None, source))
    if not variants:
        variants = [("", args.model, args.workers, None)]

    def variant_args(model: str | None, workers: int | None) -> list[str]:
        return (["--model", model] if model else []) + (["--workers", str(workers)] if workers else [])

    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, engine={args.engine}, "
          f"chunksize={args.chunksize}, variants={variants}, "
          f"load average before: {os.getloadavg()[0]:.1f}")
    vader = None
    label_column = "| variant " if args.variant else ""
    print(f"{label_column}| rows | posts/s (scoring) | vs VADER | posts/s (end to end) | CPU s / 1k posts "
          "| peak RSS, all processes (MB) | max RSS 1st / 2nd half (MB) |")
    print("| --- " * bool(args.variant) + "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    r: dict = {}
    startups, sources, details = {}, {}, []
    for rows in args.sizes:
        export = build_export(rows, args.work_dir)
        if vader is None:
            vader = run_child("vader", ["--input", str(export), "--vader-posts",
                                        str(args.vader_posts)])
        for label, model, workers, source in variants:
            output = args.work_dir / f"scored_{rows}_{args.engine}.parquet"
            r = run_child("score", [*common, *variant_args(model, workers), "--input", str(export),
                                    "--output", str(output)], source)
            startups[label] = r["startup_s"]
            sources[label] = r["tonecls"]
            rate = r["rows"] / r["scoring_s"]
            print(f"{f'| {label} ' if args.variant else ''}| {r['rows']:,} | {rate:,.0f} | "
                  f"{rate / vader['posts_per_s']:.2f} | "
                  f"{r['rows'] / r['total_s']:,.0f} | {1000 * r['cpu_s'] / r['rows']:.2f} | "
                  f"{r['peak_tree_rss_mb']:,.0f} | {r['rss_first_half_mb']:,.0f} / "
                  f"{r['rss_second_half_mb']:,.0f} |", flush=True)
            main_cpu = 1000 * (r["cpu_s"] - r["worker_cpu_s"]) / r["rows"]
            peaks = ", ".join(f"{kind} {mb:,.0f}" for kind, mb in sorted(r["peak_rss_by_process_kind_mb"].items()))
            details.append(f"{label or 'model'}, {r['rows']:,} rows: main process CPU {main_cpu:.3f} s / 1k posts; "
                           f"peak RSS of one process by kind (MB): {peaks}")
            if r["profile"]:
                for module, seconds in r["profile"].items():
                    print(f"    {seconds:7.2f} s  {module}")
    print(f"VADER polarity_scores, one core: {vader['posts_per_s']:,.0f} posts/s "
          f"({vader['posts']:,} posts); start-up (imports, load model): "
          + ", ".join(f"{label or 'model'} {seconds:.1f} s" for label, seconds in startups.items())
          + f"; TensorFlow imported: {r['tensorflow_imported']}; "
          f"load average after: {os.getloadavg()[0]:.1f}")
    print("\n".join(details))
    if args.variant:
        print("tonecls imported from: " + "; ".join(f"{label}: {path}" for label, path in sources.items()))
    print("posts/s (scoring): score_file from start to renamed output, model already loaded; "
          "end to end: including start-up. CPU s: the scoring process and its worker processes; "
          "RSS: sampled every 0.25 s over the scoring process and its children (workers).")


if __name__ == "__main__":
    main()
