"""Start-up times of the command line: wall-clock and CPU of short commands, warm file cache.

Each command runs ``--repeats`` times in a fresh process (after one warm-up run); the median
and the minimum are reported, with the CPU time (user + system) of the median run. Also
times ``import tensorflow`` alone, for reference (what every scoring command paid before
inference ran without TensorFlow), and which heavy modules each Python entry point imports.

    nice -n 10 .venv/bin/python benchmarks/bench_startup.py
    nice -n 10 .venv/bin/python benchmarks/bench_startup.py --repeats 7
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str], stdin: str | None = None) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, input=stdin, text=True, capture_output=True, check=True,
                   env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    python = sys.executable
    tonecls = [python, "-m", "tonecls.cli"]
    work = Path(tempfile.mkdtemp(prefix="tonecls-startup-"))
    posts = work / "posts.csv"
    posts.write_text("id,text\n" + "".join(f"{i},post number {i} is great 😀\n" for i in range(10)), encoding="utf-8")
    commands = {
        "`tonecls --help`": (tonecls + ["--help"], None),
        "`echo ... | tonecls preprocess -` (one line)": (tonecls + ["preprocess", "-"], "@maria SOOOO happy!!! 😍\n"),
        "`tonecls score` of a 10-row CSV": (tonecls + ["score", str(posts), "-o", str(work / "out.csv")], None),
        "`python -c 'import tonecls; tonecls.load_model().predict([...])'`":
            ([python, "-c", "import tonecls; tonecls.load_model().predict(['so happy'])"], None),
        "reference: `python -c 'import tensorflow'`": ([python, "-c", "import tensorflow"], None),
    }
    print(f"load average before: {os.getloadavg()[0]:.1f} (2 cores, shared machine); {args.repeats} runs each")
    print("| command | median wall (s) | min wall (s) | CPU of median run (s) |")
    print("| --- | ---: | ---: | ---: |")
    for name, (command, stdin) in commands.items():
        runs = []
        for i in range(args.repeats + 1):
            if "score" in command and (work / "out.csv").exists():
                (work / "out.csv").unlink()
            result = timed(command, stdin)
            if i:  # the first run warms the file cache
                runs.append(result)
        runs.sort()
        median = runs[len(runs) // 2]
        print(f"| {name} | {median[0]:.2f} | {runs[0][0]:.2f} | {median[1]:.2f} |", flush=True)
    heavy = subprocess.run(
        [python, "-c", ("import sys, tonecls; from tonecls.score import score_file; "
                        "tonecls.load_model().predict(['x']); tonecls.tokenize(['x']); "
                        "print(sorted({m.split('.')[0] for m in sys.modules} "
                        "& {'tensorflow', 'keras', 'nltk', 'dask', 'sklearn'}))")],
        capture_output=True, text=True, check=True).stdout.strip()
    print(f"heavy packages imported by load_model().predict + tokenize + score_file: {heavy}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
