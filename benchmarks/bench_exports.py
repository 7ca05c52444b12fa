"""Throughput and memory of reading and writing post exports (tonecls.io).

Writes a synthetic export of ``--rows`` rows with three columns (``id``, ``text``, ``platform``;
about 60 characters of text a row) in each format, then

- reads it with ``read_export`` (default chunksize 50,000) and reports rows/s (wall clock, best
  of ``--repeat``) and the peak resident memory of a fresh process that only reads the file;
- reads the CSV with pandas' chunked C parser (``dtype=str``) as a baseline: it is faster but
  drops malformed lines or stops at them without their line numbers, which is why tonecls
  parses CSV with its own streaming reader;
- writes it with ``ExportWriter`` in chunks of 50,000 rows.

    nice -n 10 .venv/bin/python benchmarks/bench_exports.py --rows 1000000

With ``--baseline REF`` it compares this checkout with a copy of it whose I/O layer
(``tonecls/io``, ``tonecls/score``) is that of git revision ``REF``, side by side, in
alternating fresh child processes (best of ``--repeat``; rows/s, rows per CPU-second and the
CPU-seconds): reading each format with ``read_export`` (``--formats`` to choose), writing it
with ``ExportWriter``, copying an export through both as every file job does (CSV -> CSV,
Parquet -> Parquet, CSV <-> Parquet, JSONL -> JSONL; ``--copies-only`` for just these), and with ``--score-rows N`` end-to-end scoring of an N-row CSV with the
default model (``score_file(csv, parquet)``: read, preprocess, predict, write). Everything
else (model, preprocessing) is the same code on both sides.

    nice -n 10 .venv/bin/python benchmarks/bench_exports.py --rows 300000 --baseline 4320522 --score-rows 100000
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import subprocess
import tarfile
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tonecls.io import ExportWriter, read_export

FORMATS = ["csv", "csv.gz", "tsv", "jsonl", "parquet"]


def synthetic(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = np.array("so happy today the bus was late again love this new album can't wait "
                     "for the weekend #blessed @user http://t.co/x 😂 worst service ever".split())
    texts = [" ".join(rng.choice(words, 11)) for _ in range(min(rows, 10_000))]
    return pd.DataFrame({
        "id": [f"{i:09d}" for i in range(rows)],
        "text": [texts[i % len(texts)] for i in range(rows)],
        "platform": rng.choice(["twitter", "reddit", "forum"], rows),
    })


def write(frame: pd.DataFrame, path: Path, chunk: int = 50_000) -> float:
    start = time.perf_counter()
    with ExportWriter(path) as writer:
        for i in range(0, len(frame), chunk):
            writer.write(frame.iloc[i : i + chunk])
    return time.perf_counter() - start


def read_seconds(path: Path, repeat: int) -> tuple[float, float]:
    """Best wall-clock and CPU seconds of reading the whole file with ``read_export``."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        sum(len(chunk) for chunk in read_export(path))
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu


def pandas_seconds(path: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for _chunk in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=50_000):
            pass
        best = min(best, time.process_time() - start)
    return best


# Peak memory of a fresh interpreter, from /proc/self/status VmHWM (ru_maxrss would include
# the memory of this process, from which the child is forked).
_PEAK = "print(int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]))\n"


def peak_rss_mib(path: Path) -> float:
    """Peak RSS of a fresh interpreter that imports tonecls and reads the whole file."""
    code = (
        "import sys\n"
        "from tonecls.io import read_export\n"
        "n = sum(len(c) for c in read_export(sys.argv[1]))\n" + _PEAK
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True)
    return int(out.stdout.strip()) / 1024


def baseline_rss_mib() -> float:
    code = "import tonecls.io, pandas, pyarrow.parquet\n" + _PEAK
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(out.stdout.strip()) / 1024


ROOT = Path(__file__).resolve().parents[1]

_READ_CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from tonecls.io import read_export
wall, cpu = time.perf_counter(), time.process_time()
rows = sum(len(chunk) for chunk in read_export(sys.argv[2]))
print(json.dumps({"rows": rows, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
"""

_WRITE_CHILD = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
import pandas as pd
from tonecls.io import ExportWriter
frame = pd.read_parquet(sys.argv[2])
wall, cpu = time.perf_counter(), time.process_time()
with ExportWriter(sys.argv[3]) as writer:
    for start in range(0, len(frame), 50_000):
        writer.write(frame.iloc[start:start + 50_000])
print(json.dumps({"rows": len(frame), "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
os.remove(sys.argv[3])
"""

_COPY_CHILD = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from tonecls.io import ExportWriter, parquet_schema, read_export
source, target = sys.argv[2], sys.argv[3]
wall, cpu = time.perf_counter(), time.process_time()
declared = parquet_schema(source) if source.endswith(".parquet") else None
rows = 0
with ExportWriter(target, schema=declared) as writer:
    for chunk in read_export(source, text_col=None):
        rows += len(chunk)
        writer.write(chunk)
print(json.dumps({"rows": rows, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
os.remove(target)
"""

# read_export -> ExportWriter, as every file job does: (input format, output format)
COPIES = [("csv", "csv"), ("parquet", "parquet"), ("csv", "parquet"), ("parquet", "csv"), ("jsonl", "jsonl")]

_SCORE_CHILD = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from tonecls.score import score_file
wall, cpu = time.perf_counter(), time.process_time()
summary = score_file(sys.argv[2], sys.argv[3], progress=False)
print(json.dumps({"rows": summary.rows, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
os.remove(sys.argv[3])
"""


# The I/O layer: what --baseline replaces, so that only its change is measured (the model,
# the preprocessing and everything else are this checkout's on both sides).
IO_LAYER = ("tonecls/io", "tonecls/score")
KEEP = ("tonecls/io/job.py",)  # new modules that this checkout's other modules import


def checkout(ref: str, into: Path) -> Path:
    """This checkout's ``tonecls`` with the I/O layer of git revision ``ref``, under ``into``."""
    shutil.copytree(ROOT / "tonecls", into / "tonecls", ignore=shutil.ignore_patterns("__pycache__"))
    for layer in IO_LAYER:
        for path in (into / layer).glob("*.py"):
            if str(path.relative_to(into)) not in KEEP:
                path.unlink()
    data = subprocess.run(["git", "-C", str(ROOT), "archive", ref, *IO_LAYER], check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(into, filter="data")
    return into


def child(code: str, root: Path, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", code, str(root), *args], check=True,
                         capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(label: str, code: str, roots: dict[str, Path], args: list[str], repeat: int) -> None:
    """Best wall-clock and CPU seconds of each tree, runs alternating; prints rows/s and ratios."""
    best = {name: {"wall": float("inf"), "cpu": float("inf")} for name in roots}
    rows = 0
    for _ in range(repeat):
        for name, root in roots.items():
            result = child(code, root, *args)
            rows = result["rows"]
            for key in ("wall", "cpu"):
                best[name][key] = min(best[name][key], result[key])
    base, new = best["baseline"], best["this"]
    print(f"{label:<30}{rows / base['wall']:>14,.0f}{rows / new['wall']:>14,.0f}"
          f"{base['wall'] / new['wall']:>8.2f}{rows / base['cpu']:>16,.0f}{rows / new['cpu']:>16,.0f}"
          f"{base['cpu'] / new['cpu']:>8.2f}{base['cpu']:>11.2f}{new['cpu']:>11.2f}")


def main_compare(args) -> None:
    print(f"python {platform.python_version()}, pandas {pd.__version__}; baseline {args.baseline} vs this "
          f"checkout; best of {args.repeat}, alternating fresh processes; rows/s (higher is better), "
          "ratio = this / baseline")
    print(f"{'':<30}{'base rows/s':>14}{'this rows/s':>14}{'ratio':>8}{'base rows/CPU-s':>16}"
          f"{'this rows/CPU-s':>16}{'ratio':>8}{'base CPU-s':>11}{'this CPU-s':>11}")
    formats = args.formats.split(",") if args.formats else FORMATS
    with tempfile.TemporaryDirectory() as tmp:
        roots = {"baseline": checkout(args.baseline, Path(tmp) / "baseline"), "this": ROOT}
        frame = synthetic(args.rows)
        for fmt in sorted(set(formats) | {f for pair in COPIES for f in pair} | {"parquet"}):
            write(frame, Path(tmp) / f"posts.{fmt}")
        if not args.copies_only:
            for fmt in formats:
                compare(f"read {fmt} ({args.rows:,})", _READ_CHILD, roots, [str(Path(tmp) / f"posts.{fmt}")],
                        args.repeat)
            source = Path(tmp) / "posts.parquet"
            for fmt in formats:
                compare(f"write {fmt} ({args.rows:,})", _WRITE_CHILD, roots,
                        [str(source), str(Path(tmp) / f"written.{fmt}")], args.repeat)
        for source_format, target_format in COPIES:
            compare(f"copy {source_format} -> {target_format}", _COPY_CHILD, roots,
                    [str(Path(tmp) / f"posts.{source_format}"), str(Path(tmp) / f"copied.{target_format}")],
                    args.repeat)
        if args.score_rows:
            path = Path(tmp) / "score.csv"
            write(synthetic(args.score_rows, seed=1), path)
            compare(f"score csv ({args.score_rows:,})", _SCORE_CHILD, roots,
                    [str(path), str(Path(tmp) / "scored.parquet")], args.repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--baseline", help="git revision to compare with, side by side")
    parser.add_argument("--score-rows", type=int, default=0, help="with --baseline: also score this many rows")
    parser.add_argument("--formats", help="with --baseline: the formats to read and write (default: all), e.g. csv,parquet")
    parser.add_argument("--copies-only", action="store_true",
                        help="with --baseline: only read_export -> ExportWriter copies (csv, parquet, jsonl)")
    args = parser.parse_args()
    if args.baseline:
        return main_compare(args)
    print(f"python {platform.python_version()}, pandas {pd.__version__}, {args.rows:,} rows")
    frame = synthetic(args.rows)
    print(f"baseline RSS (interpreter + imports): {baseline_rss_mib():.0f} MiB")
    print(f"{'format':<10}{'size MiB':>10}{'write rows/s':>14}{'read rows/s':>13}"
          f"{'read rows/CPU-s':>17}{'peak RSS MiB':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in FORMATS:
            path = Path(tmp) / f"posts.{fmt}"
            written = write(frame, path)
            wall, cpu = read_seconds(path, args.repeat)
            size = path.stat().st_size / 2**20
            print(f"{fmt:<10}{size:>10.1f}{args.rows / written:>14,.0f}{args.rows / wall:>13,.0f}"
                  f"{args.rows / cpu:>17,.0f}{peak_rss_mib(path):>14.0f}")
        csv_path = Path(tmp) / "posts.csv"
        print(f"pandas read_csv(dtype=str, chunksize=50k) on the CSV: "
              f"{args.rows / pandas_seconds(csv_path, args.repeat):,.0f} rows/CPU-s")


if __name__ == "__main__":
    main()
