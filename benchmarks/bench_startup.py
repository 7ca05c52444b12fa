"""Start-up: wall-clock and CPU of short commands in a fresh process, warm file cache.

Each command runs ``--repeats`` times in a fresh process, commands alternating, after one
untimed warm-up round; the median and the minimum wall-clock are reported, with the CPU time
(user + system) of the median run. ``import tensorflow`` alone is timed for reference (what
every scoring command paid before inference ran without TensorFlow), and which heavy packages
scoring imports is checked.

    nice -n 10 .venv/bin/python -m benchmarks.bench_startup
    nice -n 10 .venv/bin/python -m benchmarks.bench_startup --repeats 7
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks import harness

HEAVY = ("tensorflow", "keras", "nltk", "dask", "sklearn")

HEAVY_CHECK = f"""
import json, sys
import tonecls
from benchmarks import workloads
tonecls.load_model().predict(['x']); tonecls.tokenize(['x'])
workloads.score_file(sys.argv[1], sys.argv[2])
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))
"""


def commands(work: Path, smoke: bool) -> dict[str, Callable[[], object]]:
    """label -> a run of the command in a fresh process."""
    posts = work / "posts.csv"
    posts.write_text("id,text\n" + "".join(f"{i},post number {i} is great 😀\n" for i in range(10)),
                     encoding="utf-8")
    cli = ["-m", "tonecls.cli"]
    found = {
        "`tonecls --help`": (cli + ["--help"], None),
        "`echo ... | tonecls preprocess -` (one line)": (cli + ["preprocess", "-"], "@maria SOOOO happy!!! 😍\n"),
        "`tonecls score` of a 10-row CSV": (cli + ["score", str(posts), "-o", str(work / "out.csv")], None),
        "`python -c 'import tonecls; tonecls.load_model().predict([...])'`":
            (["-c", "import tonecls; tonecls.load_model().predict(['so happy'])"], None),
    }
    if smoke:  # the two cheapest (the heavy-imports check below scores a file anyway)
        found = dict(list(found.items())[:2])
    elif importlib.util.find_spec("tensorflow") is not None:
        found["reference: `python -c 'import tensorflow'`"] = (["-c", "import tensorflow"], None)

    def run(arguments: list[str], stdin: str | None) -> None:
        (work / "out.csv").unlink(missing_ok=True)  # the score command refuses to overwrite
        harness.run_child(arguments, stdin=stdin)

    return {label: (lambda a=arguments, s=stdin: run(a, s)) for label, (arguments, stdin) in found.items()}


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with harness.Report(args, "Start-up of short commands") as report, \
            tempfile.TemporaryDirectory(prefix="tonecls-startup-") as tmp:
        work = Path(tmp)
        timings = harness.alternate(commands(work, args.smoke), 1 if args.smoke else args.repeats,
                                    warmup=not args.smoke, keep_results=False)
        table = harness.Table(["command", "median wall (s)", "min wall (s)", "CPU of median run (s)"])
        for label, t in timings.items():
            table.add(label, harness.number(t.median_wall_s, 2), harness.number(t.best_wall_s, 2),
                      harness.number(t.median_sample.total_cpu_s, 2))
        runs = len(next(iter(timings.values())).samples)
        report.table(table, f"{runs} run(s) each, commands alternating"
                            + ("" if args.smoke else ", after an untimed warm-up round") + ":")
        heavy = harness.run_child(["-c", HEAVY_CHECK, str(work / "posts.csv"), str(work / "scored.csv")])
        report.note(f"\nheavy packages ({', '.join(HEAVY)}) imported by load_model().predict, tokenize and "
                    f"score_file: {', '.join(json.loads(heavy.stdout.strip().splitlines()[-1])) or 'none'}")


if __name__ == "__main__":
    main()
