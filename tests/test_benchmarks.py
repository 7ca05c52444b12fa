"""Every benchmark script runs end to end with ``--smoke`` (tiny generated input, no shared data)
and prints its header and at least one Markdown table. The scripts are found by listing
``benchmarks/``: a new script without a working ``--smoke`` fails here. They run in the test
process (as ``python -m benchmarks.NAME --smoke`` would), so that each does not pay for
importing numpy, pandas and tonecls again."""

from __future__ import annotations

import re
import runpy
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


# scripts with a second mode worth a smoke run of its own
OTHER_MODES = {"bench_privacy": ["--default-model"]}  # the audit of the shipped bundle (numpy only)


def _runs() -> list:
    runs = [pytest.param(name, [], id=name) for name in SCRIPTS]
    return runs + [pytest.param(name, extra, id=f"{name}-{extra[0].lstrip('-')}") for name, extra in OTHER_MODES.items()]


# smoke runs take seconds each (the DP-SGD one traces TensorFlow graphs, about 15 s): the whole
# suite runs them, the fast loop leaves them out
@pytest.mark.slow
@pytest.mark.parametrize(("name", "extra"), _runs())
def test_smoke(name: str, extra: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.delenv("TONECLS_DATA_DIR", raising=False)  # --smoke brings its own
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "argv", [str(BENCHMARKS / f"{name}.py"), "--smoke", *extra])
    runpy.run_module(f"benchmarks.{name}", run_name="__main__", alter_sys=True)
    out = capsys.readouterr().out
    assert re.search(rf"^command: .*python -m benchmarks\.{name} --smoke{''.join(' ' + a for a in extra)}$", out,
                     re.MULTILINE)
    assert "\nmachine: " in out and " cores (" in out
    assert TABLE.search(out), out[-4000:]
