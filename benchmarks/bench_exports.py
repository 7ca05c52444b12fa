"""Reading and writing exports (``tonecls.io``): rows/s, CPU and memory per format, side by side.

Writes a synthetic export of ``--rows`` rows with three columns (``id``, ``text`` of about 60
characters, ``platform``) in each format, then times, each in a fresh child process (formats
and jobs alternating, best of ``--repeat``): writing it with ``ExportWriter`` in chunks of
50,000 rows, reading it with ``read_export`` (default chunks of 50,000; with the peak resident
memory of the reading process), and reading the CSV with pandas' chunked C parser
(``dtype=str``) as a baseline: it is faster, but drops malformed lines or stops at them without
their line numbers, which is why tonecls parses CSV with its own streaming reader.

``--source SOURCE`` runs every job also with the tonecls of another source tree (e.g. an
earlier commit: ``git archive COMMIT tonecls | tar -x -C /tmp/tonecls-before``), alternating,
with ratios; ``--score-rows N`` adds ``score_file`` of an N-row CSV to Parquet with the default
model (read, preprocess, predict, write).

    nice -n 10 .venv/bin/python -m benchmarks.bench_exports --rows 300000 --repeat 2
    nice -n 10 .venv/bin/python -m benchmarks.bench_exports --rows 300000 --source /tmp/tonecls-before --score-rows 100000
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import harness

FORMATS = ["csv", "csv.gz", "tsv", "jsonl", "parquet"]
CHUNK = 50_000
PANDAS = "read csv with pandas (C parser, dtype=str)"


def synthetic(rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` posts of 11 words drawn from a small vocabulary (10,000 distinct texts at most)."""
    rng = np.random.default_rng(seed)
    words = np.array("so happy today the bus was late again love this new album can't wait "
                     "for the weekend #blessed @user http://t.co/x 😂 worst service ever".split())
    texts = [" ".join(rng.choice(words, 11)) for _ in range(min(rows, 10_000))]
    return pd.DataFrame({"id": [f"{i:09d}" for i in range(rows)], "text": [texts[i % len(texts)] for i in range(rows)],
                         "platform": rng.choice(["twitter", "reddit", "forum"], rows)})


def write(frame: pd.DataFrame, path: Path) -> None:
    from tonecls.io import ExportWriter

    with ExportWriter(path) as writer:
        for start in range(0, len(frame), CHUNK):
            writer.write(frame.iloc[start:start + CHUNK])


def child(args: argparse.Namespace) -> dict:
    """In the child: one job, timed after the imports."""
    from tonecls.io import read_export

    if args.child == "imports":
        import pyarrow.parquet  # noqa: F401  (what a reading process imports anyway)
        return {"rows": 0, "wall_s": 0.0, "cpu_s": 0.0}
    frame = pd.read_parquet(args.paths[0]) if args.child == "write" else None
    jobs = {
        "read": lambda: sum(len(chunk) for chunk in read_export(args.paths[0])),
        "pandas": lambda: sum(len(c) for c in pd.read_csv(args.paths[0], dtype=str, keep_default_na=False,
                                                          chunksize=CHUNK)),
        "write": lambda: (write(frame, Path(args.paths[1])), len(frame))[1],
        "score": lambda: _score(*args.paths),
    }
    rows, sample = harness.timed(jobs[args.child])
    return {"rows": rows, "wall_s": sample.wall_s, "cpu_s": sample.total_cpu_s}


def _score(source: str, destination: str) -> int:
    from benchmarks.workloads import score_file

    return score_file(source, destination).rows


def jobs(folder: Path, formats: list[str], score_rows: int) -> dict[str, list[str]]:
    """job label -> child arguments (``--child KIND PATHS``), files written first by this checkout."""
    found: dict[str, list[str]] = {}
    for fmt in formats:
        found[f"write {fmt}"] = ["write", str(folder / "posts.parquet"), str(folder / f"written.{fmt}")]
        found[f"read {fmt}"] = ["read", str(folder / f"posts.{fmt}")]
    if "csv" in formats:
        found[PANDAS] = ["pandas", str(folder / "posts.csv")]
    if score_rows:
        write(synthetic(score_rows, seed=1), folder / "score.csv")
        found[f"score csv -> parquet ({score_rows:,} rows)"] = ["score", str(folder / "score.csv"), str(folder / "scored.parquet")]
    return found


def run_jobs(found: dict[str, list[str]], trees: dict[str, str | None], repeat: int) -> dict[tuple[str, str], dict]:
    """(tree, job) -> the best (by CPU) child output, jobs and trees alternating."""
    best: dict[tuple[str, str], dict] = {}
    for _ in range(repeat):
        for label, arguments in found.items():
            for tree, source in trees.items():
                if arguments[0] == "write" or arguments[0] == "score":
                    Path(arguments[-1]).unlink(missing_ok=True)
                out = harness.run_child(["-m", "benchmarks.bench_exports", "--child", *arguments], source=source).output
                if (tree, label) not in best or out["cpu_s"] < best[(tree, label)]["cpu_s"]:
                    best[(tree, label)] = out
    return best


def table(found: dict[str, list[str]], trees: list[str], best: dict[tuple[str, str], dict]) -> harness.Table:
    """One row per job: per tree rows/s (wall), rows per CPU-second, the reading process's peak
    RSS; with two trees, the ratios this checkout / the other."""
    columns = ["job", "file MiB"]
    for tree in trees:
        suffix = f" ({tree})" if len(trees) > 1 else ""
        columns += [f"rows/s{suffix}", f"rows / CPU-s{suffix}", f"peak RSS MiB{suffix}"]
    columns += ["ratio, wall", "ratio, CPU"] if len(trees) > 1 else []
    result = harness.Table(columns)
    for label, arguments in found.items():
        path = Path(arguments[1])
        cells = [label, harness.number(path.stat().st_size / 2**20, 1) if arguments[0] in ("read", "pandas") else ""]
        rates = []
        for tree in trees:
            out = best[(tree, label)]
            rates.append((out["rows"] / out["wall_s"], out["rows"] / out["cpu_s"]))
            rss = harness.number(out["peak_rss_mb"]) if arguments[0] in ("read", "pandas") else ""
            cells += [harness.number(rates[-1][0]), harness.number(rates[-1][1]), rss]
        if len(trees) > 1:
            cells += [harness.ratio(rates[0][0], rates[1][0]), harness.ratio(rates[0][1], rates[1][1])]
        result.add(*cells)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--formats", nargs="+", default=FORMATS, choices=FORMATS)
    parser.add_argument("--source", help="also run every job with the tonecls of this source tree")
    parser.add_argument("--score-rows", type=int, default=0, help="also score a CSV of this many rows")
    parser.add_argument("--child", choices=["read", "pandas", "write", "score", "imports"], help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        harness.emit(child(args))
        return
    if args.smoke:
        args.rows, args.repeat, args.formats = 2_000, 1, ["csv"]
    with harness.Report(args, "Reading and writing exports") as report, \
            tempfile.TemporaryDirectory(prefix="tonecls-exports-") as tmp:
        folder = Path(tmp)
        frame = synthetic(args.rows)
        for fmt in {*args.formats, "parquet"}:
            write(frame, folder / f"posts.{fmt}")
        trees = {"this checkout": None} | ({Path(args.source).name: args.source} if args.source else {})
        found = jobs(folder, args.formats, args.score_rows)
        best = run_jobs(found, trees, args.repeat)
        report.table(table(found, list(trees), best),
                     f"{args.rows:,} rows x 3 columns, chunks of {CHUNK:,}, each job in a fresh process, best of "
                     f"{args.repeat} alternating runs" + (" (ratio: this checkout / the other)" if args.source else "")
                     + "; peak RSS: the reading process's:")
        imports = harness.run_child(["-m", "benchmarks.bench_exports", "--child", "imports"]).peak_rss_mb
        report.note(f"\npeak RSS of an interpreter with tonecls.io, pandas and pyarrow imported: {imports:,.0f} MiB")


if __name__ == "__main__":
    main()
