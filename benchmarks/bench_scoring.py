"""Scoring end to end: throughput, CPU and peak memory of ``score_file``, against VADER in the same run.

Builds CSV exports of 10k / 200k / 1M rows (``id,text,group``) from the TweetEval texts (all
tasks and splits, repeated to size) under ``benchmarks/_work/`` (gitignored), then, for each
size, runs ``score_file(export.csv, scored.parquet)`` (read CSV -> preprocess -> language check
-> network -> write Parquet) in a fresh child process per variant, variants alternating, and
reports posts/s, CPU-seconds per 1,000 posts (the scoring process and its workers) and peak
resident memory (sampled every 0.25 s over the process and its children; the peak of one
process of each kind below). VADER's ``polarity_scores`` (a lexicon scorer) is timed on the
same posts, on one core, as the reference rate.

    nice -n 10 .venv/bin/python -m benchmarks.bench_scoring                  # default model
    nice -n 10 .venv/bin/python -m benchmarks.bench_scoring --sizes 10000 --model PATH
    nice -n 10 .venv/bin/python -m benchmarks.bench_scoring --sizes 200000 --engine local dask --workers 2
    .venv/bin/python -m benchmarks.bench_scoring --variant one-process default 1 \\
        --variant two-workers default 2                                   # side by side, alternating
    git archive COMMIT tonecls | tar -x -C /tmp/tonecls-before          # the code before a change ...
    .venv/bin/python -m benchmarks.bench_scoring --variant before default 0 /tmp/tonecls-before \\
        --variant after default 0                                         # ... against this checkout
    nice -n 10 .venv/bin/python -m benchmarks.bench_scoring --untrained     # no default model yet
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import harness, workloads


@dataclass(frozen=True)
class Variant:
    label: str
    model: str | None  # bundle path; None: the default model
    workers: int | None  # None: the engine's default
    source: str | None  # another source tree of tonecls to import
    engine: str


def untrained_default_model(work_dir: Path) -> Path:
    """A bundle with the default model's architecture and heads but untrained weights (scoring
    speed does not depend on the weights; its figures are labelled as such)."""
    from tonecls.model import ToneModel, TrainConfig
    from tonecls.model.data import resolve_head_spec
    from tonecls.model.network import build_network
    from tonecls.model.vocab import Vocabulary
    from tonecls.preprocess import Preprocessor

    path = work_dir / "untrained_default_model"
    if path.exists():
        return path
    config = TrainConfig.from_file(harness.ROOT / "configs" / "default_model.json")
    heads = [resolve_head_spec(head) for head in config.heads if not head.auxiliary]
    tokens = Preprocessor(config.preprocess).tokenize(workloads.tweeteval_texts(("train",), ("sentiment",)))
    vocabulary = Vocabulary.fit(tokens, max_size=config.vocab_size, min_count=config.min_count)
    network = build_network(heads, len(vocabulary), config)
    return ToneModel(network, vocabulary, heads, config.preprocess, max_length=config.max_length).save(path)


def child_score(args: argparse.Namespace) -> dict:
    """In the child: load the model, score one export, report timing and memory."""
    started, engine = time.perf_counter(), args.engine[0]
    workloads.load_scoring_model(args.model)  # numpy network, cached for score_file
    startup = time.perf_counter() - started
    with harness.RssSampler() as memory:
        summary, sample = harness.timed(lambda: workloads.score_file(
            args.input, args.output, model=args.model, engine=engine, workers=args.workers,
            chunksize=args.chunksize, blocksize=args.blocksize, on_bad_lines="error" if engine == "dask" else "flag"))
    halves = memory.halves_mb() or (None, None)
    return {"rows": summary.rows, "startup_s": startup, "scoring_s": summary.seconds,
            "total_s": time.perf_counter() - started, "cpu_s": sample.total_cpu_s, "main_cpu_s": sample.cpu_s,
            "peak_total_mb": memory.peak_total_mb, "first_half_mb": halves[0], "second_half_mb": halves[1],
            "peaks_mb": memory.peaks, "tensorflow_imported": "tensorflow" in sys.modules,
            "tonecls": str(Path(sys.modules["tonecls"].__file__).parent.parent)}


def child_vader(args: argparse.Namespace) -> dict:
    """In the child: VADER polarity scores of the export's first posts, one core."""
    import pandas as pd
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    texts = pd.read_csv(args.input, nrows=args.vader_posts)["text"].astype(str).tolist()
    analyzer = SentimentIntensityAnalyzer()
    _, sample = harness.timed(lambda: [analyzer.polarity_scores(text) for text in texts])
    return {"posts": len(texts), "posts_per_s": len(texts) / sample.wall_s}


def variants(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[Variant]:
    """The ``--variant`` options (or one variant of ``--model``/``--workers``) x ``--engine``."""
    given = []
    for values in args.variant or []:
        if len(values) not in (3, 4):
            parser.error(f"--variant takes LABEL MODEL WORKERS [SOURCE], got {values}")
        label, model, workers, source = (*values, None)[:4]
        given.append((label, None if model == "default" else model, int(workers) or None, source))
    given = given or [("model", args.model, args.workers, None)]
    return [Variant(f"{label}, {engine}" if len(args.engine) > 1 else label, model, workers, source, engine)
            for label, model, workers, source in given for engine in args.engine]


def score_in_child(variant: Variant, export: Path, args: argparse.Namespace, work_dir: Path) -> dict:
    options = ["--engine", variant.engine, "--chunksize", str(args.chunksize), "--blocksize", args.blocksize,
               "--input", str(export), "--output", str(work_dir / f"scored_{export.stem}_{variant.engine}.parquet")]
    options += ["--model", variant.model] if variant.model else []
    options += ["--workers", str(variant.workers)] if variant.workers else []
    run = harness.run_child(["-m", "benchmarks.bench_scoring", "--child", "score", *options], source=variant.source)
    return run.output


def tables(results: list[tuple[Variant, dict]], vader: dict) -> tuple[harness.Table, harness.Table]:
    """The throughput table and the per-process table of the best run of each variant and size."""
    main = harness.Table(["variant", "rows", "posts/s (scoring)", "vs VADER", "posts/s (end to end)",
                          "end to end vs first", "CPU s / 1k posts", "peak RSS, all processes (MB)",
                          "max RSS 1st / 2nd half (MB)"])
    kinds = harness.Table(["variant", "rows", "start-up s", "main process CPU s / 1k posts",
                           "peak RSS of one process by kind (MB)", "TensorFlow imported"])
    best: dict[tuple[str, int], dict] = {}
    for variant, r in results:
        key = (variant.label, r["rows"])
        if key not in best or r["total_s"] < best[key]["total_s"]:
            best[key] = r
    first: dict[int, float] = {}
    for (label, rows), r in best.items():
        rate, end_to_end = rows / r["scoring_s"], rows / r["total_s"]
        first.setdefault(rows, end_to_end)
        halves = f"{harness.number(r['first_half_mb'])} / {harness.number(r['second_half_mb'])}"
        main.add(label, f"{rows:,}", harness.number(rate), harness.ratio(rate, vader["posts_per_s"]),
                 harness.number(end_to_end), harness.ratio(end_to_end, first[rows]),
                 harness.number(1000 * r["cpu_s"] / rows, 3), harness.number(r["peak_total_mb"]), halves)
        peaks = ", ".join(f"{kind} {mb:,.0f}" for kind, mb in sorted(r["peaks_mb"].items()))
        kinds.add(label, f"{rows:,}", harness.number(r["startup_s"], 2), harness.number(1000 * r["main_cpu_s"] / rows, 3),
                  peaks, "yes" if r["tensorflow_imported"] else "no")
    return main, kinds


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 200_000, 1_000_000])
    parser.add_argument("--model", default=None, help="model bundle (default: the default model)")
    parser.add_argument("--untrained", action="store_true",
                        help="use an untrained model of the default architecture (same speed)")
    parser.add_argument("--engine", nargs="+", default=["local"], choices=["local", "dask"],
                        help="one or more engines (each variant runs on each, alternating)")
    parser.add_argument("--workers", type=int, default=None,
                        help="scoring processes (local engine; default: one per core) or Dask LocalCluster workers")
    parser.add_argument("--variant", nargs="+", action="append", metavar="LABEL MODEL WORKERS [SOURCE]",
                        help="a variant to compare side by side: a label, a model bundle ('default': the "
                             "default model), a number of workers (0: the default) and optionally a source "
                             "tree of tonecls to run instead of this checkout (repeat)")
    parser.add_argument("--repeats", type=int, default=1, help="alternating runs per variant and size (best counts)")
    parser.add_argument("--chunksize", type=int, default=20_000)
    parser.add_argument("--blocksize", default="16MB", help="Dask partition size in bytes")
    parser.add_argument("--vader-posts", type=int, default=20_000)
    parser.add_argument("--child", choices=["score", "vader"], help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        harness.emit((child_score if args.child == "score" else child_vader)(args))
        return
    if args.smoke:
        args.sizes, args.vader_posts = [1_000], 200
    with harness.Report(args, "Scoring end to end") as report:
        if args.untrained:
            args.model = str(untrained_default_model(report.work_dir))
        chosen, results, vader = variants(args, parser), [], None
        for rows in args.sizes:
            export = workloads.build_export(rows, report.work_dir)
            if vader is None:
                vader = harness.run_child(["-m", "benchmarks.bench_scoring", "--child", "vader", "--input",
                                           str(export), "--vader-posts", str(args.vader_posts)],
                                          env={"OMP_NUM_THREADS": "1"}).output
            for _ in range(args.repeats):
                results += [(v, score_in_child(v, export, args, report.work_dir)) for v in chosen]
        main_table, kinds = tables(results, vader)
        report.table(main_table, f"score_file of a CSV export to Parquet, chunks of {args.chunksize:,} rows, "
                                 f"best of {args.repeats} alternating run(s):")
        report.table(kinds, "Start-up (imports, model load), the main process's CPU, each process kind's peak:")
        report.note(f"\nVADER polarity_scores, one core, same run: {vader['posts_per_s']:,.0f} posts/s "
                    f"({vader['posts']:,} posts). posts/s (scoring): score_file from start to renamed output, "
                    "model loaded; end to end: with start-up. tonecls imported from: "
                    + "; ".join(sorted({f"{v.label}: {r['tonecls']}" for v, r in results})))


if __name__ == "__main__":
    main()
