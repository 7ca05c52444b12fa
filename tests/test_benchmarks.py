"""Every benchmark script runs end to end with ``--smoke`` (tiny generated input, no shared data)
and prints its header and at least one Markdown table. The scripts are found by listing
``benchmarks/``: a new script without a working ``--smoke`` fails here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
HELPERS = {"__init__", "harness", "workloads"}  # importable modules that are not scripts
SCRIPTS = sorted(path.stem for path in BENCHMARKS.glob("*.py") if path.stem not in HELPERS)
TABLE = re.compile(r"^\| .+ \|\n\|( ---:? \|)+$", re.MULTILINE)


def test_every_script_is_named_for_its_capability() -> None:
    assert SCRIPTS and all(name.startswith("bench_") for name in SCRIPTS), SCRIPTS


def test_no_script_edits_sys_path() -> None:
    """Scripts import tonecls as installed and helpers as ``benchmarks.*`` (tests/support.py by path)."""
    edits = re.compile(r"sys\.path\.(insert|append|extend)|sys\.path\s*[+]?=")
    assert not [p.name for p in BENCHMARKS.glob("*.py") if edits.search(p.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("name", SCRIPTS)
def test_smoke(name: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TONECLS_DATA_DIR"}  # --smoke brings its own
    done = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", "--smoke"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    assert re.search(rf"^command: .*python -m benchmarks\.{name} --smoke$", done.stdout, re.MULTILINE)
    assert "\nmachine: " in done.stdout and " cores (" in done.stdout
    assert TABLE.search(done.stdout), done.stdout[-4000:]
