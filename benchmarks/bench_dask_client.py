"""The Dask engine's client: how much of the work it does itself, one input file against many.

One export of ``--rows`` posts (TweetEval texts, repeated to size), written once as a single CSV
file and once as ``--parts`` CSV part files, is scored by the Dask engine with the default model
on one LocalCluster of ``--workers`` single-threaded worker processes. With one input file the
client reads it and sends each block to a worker; with many files each worker reads its own
file, and the client only submits tasks and records what comes back. Measured per variant
(alternating, best of ``--repeat``): wall-clock, CPU-seconds of the client process (which also
runs the LocalCluster's scheduler) and of the worker processes, and the client's share of all
CPU.

    nice -n 10 .venv/bin/python -m benchmarks.bench_dask_client --rows 200000 --parts 8 --workers 2 --repeat 2
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pandas as pd

from benchmarks import harness
from benchmarks.workloads import build_export, load_scoring_model, score_file


def split_export(source: Path, parts: int, target: Path) -> Path:
    """``source`` (a CSV export) as ``parts`` CSV files of consecutive rows in ``target``."""
    if target.exists():
        return target
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    bounds = [round(i * len(frame) / parts) for i in range(parts + 1)]
    for i, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
        frame.iloc[start:stop].to_csv(partial / f"part-{i:03d}.csv", index=False)
    partial.rename(target)
    return target


def _worker_cpu(client) -> float:
    """CPU-seconds the cluster's worker processes have used so far."""
    import psutil

    pids = client.run(lambda: __import__("os").getpid()).values()
    return sum(sum(psutil.Process(pid).cpu_times()[:2]) for pid in pids)


def measure(client, source: Path | str, output: Path, address: str) -> dict[str, float]:
    """Score ``source`` on the cluster at ``address``; wall, client CPU and worker CPU."""
    shutil.rmtree(output, ignore_errors=True)
    workers_before, client_before, wall = _worker_cpu(client), time.process_time(), time.perf_counter()
    summary = score_file(source, output, engine="dask", scheduler=address)
    wall = time.perf_counter() - wall
    client_cpu = time.process_time() - client_before
    return {"rows": summary.rows, "wall_s": wall, "client_cpu_s": client_cpu,
            "worker_cpu_s": _worker_cpu(client) - workers_before}


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--parts", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    if args.smoke:
        args.rows, args.parts, args.workers, args.repeat = 2_000, 4, 1, 1
    from distributed import Client, LocalCluster

    from tonecls.io.parallel import ONE_THREAD

    with harness.Report(args, "Dask engine: the client's share, one input file or many") as report:
        single = build_export(args.rows, report.work_dir)
        parts = split_export(single, args.parts, report.work_dir / f"posts_{args.rows}_parts{args.parts}")
        load_scoring_model(None)  # the client loads the model once, as every run does
        # --smoke: worker threads (a process start costs seconds; the figures mean nothing anyway)
        processes = {"processes": False} if args.smoke else {"processes": True, "env": ONE_THREAD}
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=":0",
                          **processes) as cluster, Client(cluster) as client:
            variants = {"one file (the client reads it)": single,
                        f"{args.parts} files (each worker reads its own)": parts}
            runs: dict[str, list[dict[str, float]]] = {label: [] for label in variants}
            for _ in range(args.repeat):
                for label, source in variants.items():
                    runs[label].append(measure(client, source, report.work_dir / "scored.parquet",
                                               cluster.scheduler_address))
        table = harness.Table(["input", "rows", "posts/s", "wall s", "client CPU s", "worker CPU s",
                               "client share of CPU"])
        for label, results in runs.items():
            best = min(results, key=lambda r: r["client_cpu_s"])
            total = best["client_cpu_s"] + best["worker_cpu_s"]
            table.add(label, f"{best['rows']:,}", harness.number(best["rows"] / best["wall_s"]),
                      harness.number(best["wall_s"], 1), harness.number(best["client_cpu_s"], 2),
                      harness.number(best["worker_cpu_s"], 1), f"{100 * best['client_cpu_s'] / total:.1f}%")
        report.table(table, caption=f"{args.workers} worker processes, best of {args.repeat} by client CPU")


if __name__ == "__main__":
    main()
