"""tonecls' benchmark scripts (see BENCHMARKS.md for their figures).

Every script is a module of this package, run from the checkout's root::

    nice -n 10 .venv/bin/python -m benchmarks.bench_scoring --sizes 200000
    .venv/bin/python -m benchmarks.bench_scoring --smoke     # tiny input, seconds, no shared data

- ``harness``: timing (wall-clock, CPU of this process and of child processes), peak RSS,
  variants side by side in alternating repetitions, ratios, Markdown tables with the command
  line and the machine, ``--smoke``.
- ``workloads``: the inputs the scripts share (TweetEval texts, CSV exports, the scored test
  sets, a tiny data directory for ``--smoke``) and the few tonecls calls that API renames touch.

Scripts import tonecls as installed (``scripts/setup.sh`` installs this checkout in editable
mode) and never edit ``sys.path``; builders they share with the tests come from
``tests/support.py`` (loaded by ``benchmarks.workloads.test_support()``).
"""
