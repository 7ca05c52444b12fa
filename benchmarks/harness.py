"""The measuring kit every benchmark script shares.

- :func:`timed` / :class:`Sample`: wall-clock and CPU-seconds of this process (all threads) and
  of the child processes that ended meanwhile (``getrusage(RUSAGE_CHILDREN)``).
- :func:`alternate` / :class:`Timings`: variants measured side by side in one run, their
  repetitions interleaved (A B C A B C ...), so that the load of a shared machine falls on all of
  them alike; the best repetition counts (noise only ever adds time).
- :class:`RssSampler` and :func:`own_peak_rss_mb`: peak resident memory, per process kind
  (main, worker, helper) where a job spawns workers (psutil, if installed; else ``ru_maxrss``).
- :func:`run_child` / :func:`emit`: a measurement in a fresh interpreter, optionally importing
  tonecls from another source tree (``--variant ... SOURCE`` / ``--source``: e.g. an earlier
  commit exported with ``git archive``), and :func:`module_from_source` for one module of such a
  tree in this process.
- :class:`Table`, :func:`rate_table`, :func:`ratio`: Markdown tables with ratios to a baseline.
- :func:`parser` / :class:`Report`: the ``--smoke`` option, and the header every script prints
  (the exact command line and the machine) before its tables.
"""

from __future__ import annotations

import argparse
import atexit
import importlib.util
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter, where it is imported
WORK_DIR = ROOT / "benchmarks" / "_work"  # gitignored: exports and caches of full-size runs


# --- timing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One timed run: wall-clock seconds, CPU-seconds of this process (all its threads) and of
    the child processes that ended and were waited for during the run."""

    wall_s: float
    cpu_s: float
    child_cpu_s: float = 0.0

    @property
    def total_cpu_s(self) -> float:
        return self.cpu_s + self.child_cpu_s


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(function: Callable[[], Any]) -> tuple[Any, Sample]:
    """``function()``'s result and its :class:`Sample`."""
    children, cpu, wall = _children_cpu(), time.process_time(), time.perf_counter()
    result = function()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return result, Sample(wall, cpu, _children_cpu() - children)


@dataclass
class Timings:
    """The repetitions of one variant and the result of its last run."""

    label: str
    samples: list[Sample] = field(default_factory=list)
    result: Any = None

    @property
    def best_wall_s(self) -> float:
        return min(s.wall_s for s in self.samples)

    @property
    def best_cpu_s(self) -> float:
        """The least CPU of a repetition (this process and its children)."""
        return min(s.total_cpu_s for s in self.samples)

    @property
    def median_wall_s(self) -> float:
        return statistics.median(s.wall_s for s in self.samples)

    @property
    def median_sample(self) -> Sample:
        return sorted(self.samples, key=lambda s: s.wall_s)[len(self.samples) // 2]


def alternate(variants: Mapping[str, Callable[[], Any]], repeats: int, warmup: bool = False,
              keep_results: bool = True) -> dict[str, Timings]:
    """Run every variant ``repeats`` times, interleaved (A B A B ...); with ``warmup``, one
    untimed round first (imports, caches, compiled tables). Each :class:`Timings` keeps the
    result of its last run unless ``keep_results`` is false (large outputs)."""
    if warmup:
        for function in variants.values():
            function()
    timings = {label: Timings(label) for label in variants}
    for _ in range(max(1, repeats)):
        for label, function in variants.items():
            result, sample = timed(function)
            timings[label].samples.append(sample)
            timings[label].result = result if keep_results else None
            del result
    return timings


# --- memory --------------------------------------------------------------------------------


def own_peak_rss_mb() -> float:
    """Peak resident memory of this process (MB): ``VmHWM`` on Linux, else ``ru_maxrss``."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


class RssSampler:
    """Resident memory of this process and its children, sampled by a thread every
    ``interval`` seconds while the ``with`` block runs.

    ``peaks``: the peak of one process per kind (``main``; ``worker``: loky or Dask worker
    processes; ``helper``: resource trackers), MB. ``totals``: each sample's sum over the
    processes, MB (empty without psutil, where ``peaks`` holds ``main`` and the largest
    ``child`` that ended, from ``getrusage``).
    """

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.peaks: dict[str, float] = {}
        self.totals: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        try:
            import psutil  # noqa: F401  (installed with distributed, not a tonecls requirement)
        except ImportError:
            return self
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            return
        self.peaks["main"] = own_peak_rss_mb()
        child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if child:
            self.peaks["child"] = child

    @property
    def peak_total_mb(self) -> float:
        return max(self.totals, default=sum(self.peaks.values()))

    def halves_mb(self) -> tuple[float, float] | None:
        """The highest total in the first and in the second half of the samples (is memory flat?)."""
        if len(self.totals) < 2:
            return None
        middle = len(self.totals) // 2
        return max(self.totals[:middle]), max(self.totals[middle:])

    def _run(self) -> None:
        import psutil

        root = psutil.Process()
        while True:
            total = 0.0
            for process in [root, *root.children(recursive=True)]:
                try:
                    mb = process.memory_info().rss / 2**20
                    kind = "main" if process.pid == root.pid else _process_kind(process)
                except psutil.Error:  # exited meanwhile
                    continue
                total += mb
                self.peaks[kind] = max(self.peaks.get(kind, 0.0), mb)
            self.totals.append(total)
            if self._stop.wait(self.interval):
                return


def _process_kind(process: Any) -> str:
    command = " ".join(process.cmdline())
    return "helper" if "resource_tracker" in command else "worker"


# --- child processes -----------------------------------------------------------------------


@dataclass(frozen=True)
class ChildRun:
    """A child interpreter's run: its wall-clock and CPU seconds (with its own children, as
    seen from here), and what it reported with :func:`emit` (``None`` if nothing)."""

    wall_s: float
    cpu_s: float
    output: dict | None
    stdout: str

    @property
    def peak_rss_mb(self) -> float | None:
        return None if self.output is None else self.output.get("peak_rss_mb")


_SHIMS: dict[str, Path] = {}


def _child_place(source: str | Path | None) -> tuple[dict[str, str], Path]:
    """The environment and working directory of a child importing tonecls from ``source``
    (default: this checkout) and the ``benchmarks`` package from this checkout."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if source is None:
        return env, ROOT
    source = str(Path(source).resolve())
    if source not in _SHIMS:  # a folder holding only ``benchmarks``: the child's first path entry
        shim = Path(tempfile.mkdtemp(prefix="tonecls-bench-"))
        (shim / "benchmarks").symlink_to(ROOT / "benchmarks", target_is_directory=True)
        atexit.register(shutil.rmtree, shim, True)
        _SHIMS[source] = shim
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    return env, _SHIMS[source]


def run_child(arguments: Sequence[str], *, source: str | Path | None = None,
              env: Mapping[str, str] | None = None, stdin: str | None = None,
              check: bool = True) -> ChildRun:
    """``python ARGUMENTS`` (e.g. ``["-m", "benchmarks.bench_x", "--child", ...]`` or
    ``["-c", code]``) in a fresh interpreter; the last stdout line is parsed as JSON if it is."""
    child_env, cwd = _child_place(source)
    child_env.update(env or {})

    def run() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *arguments], cwd=cwd, env=child_env, input=stdin,
                              capture_output=True, text=True, check=False)

    done, sample = timed(run)
    if check and done.returncode != 0:
        raise RuntimeError(f"child {shlex.join(arguments)[:200]} failed ({done.returncode}):\n"
                           f"{done.stderr[-3000:]}")
    lines = done.stdout.strip().splitlines()
    try:
        output = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        output = None
    return ChildRun(sample.wall_s, sample.child_cpu_s, output if isinstance(output, dict) else None,
                    done.stdout)


def emit(result: Mapping[str, Any]) -> None:
    """In a child: print ``result`` with this process's peak RSS and CPU as the last line."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({**result, "peak_rss_mb": own_peak_rss_mb(),
                      "process_cpu_s": usage.ru_utime + usage.ru_stime}), flush=True)


def module_from_source(source: str | Path, relative_path: str, name: str) -> ModuleType:
    """``SOURCE/relative_path`` (e.g. ``tonecls/preprocess.py`` of an earlier commit) imported
    as the module ``name`` beside this checkout's; its imports of other tonecls modules resolve
    to this checkout's."""
    spec = importlib.util.spec_from_file_location(name, Path(source) / relative_path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(Path(source) / relative_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# --- tables --------------------------------------------------------------------------------


def number(value: float | None, digits: int = 0) -> str:
    """``12,345`` / ``0.12``; empty for a missing value."""
    if value is None or value != value:  # None or NaN
        return ""
    return f"{value:,.{digits}f}"


def ratio(value: float, baseline: float, digits: int = 2) -> str:
    """``value / baseline`` as ``1.23x`` (empty if either is missing or the baseline is 0)."""
    if not baseline or value is None or value != value:
        return ""
    return f"{value / baseline:.{digits}f}x"


class Table:
    """A Markdown table: text columns left-aligned (the first ``text_columns``, or the columns
    named in it), the others right-aligned."""

    def __init__(self, columns: Sequence[str], text_columns: int | Sequence[str] = 1) -> None:
        self.columns = list(columns)
        self.text = (set(self.columns[:text_columns]) if isinstance(text_columns, int)
                     else set(text_columns))
        self.rows: list[list[str]] = []

    def add(self, *cells: object) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(["" if c is None else str(c).replace("|", "\\|") for c in cells])

    @classmethod
    def from_frame(cls, frame: Any, digits: int = 4) -> Table:
        """A pandas DataFrame's columns and rows (floats with ``digits`` decimals; columns
        holding no number are text columns)."""
        import numbers

        text = [str(c) for c in frame.columns
                if not all(isinstance(v, numbers.Number) for v in frame[c] if v == v and v is not None)]
        table = cls([str(c) for c in frame.columns], text)
        for row in frame.itertuples(index=False):
            table.add(*(("" if v != v else f"{v:.{digits}f}") if isinstance(v, float) else v for v in row))
        return table

    def markdown(self) -> str:
        align = ["---" if c in self.text else "---:" for c in self.columns]
        lines = [self.columns, align, *self.rows]
        return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def rate_table(timings: Mapping[str, Timings], items: int | Mapping[str, int], unit: str = "posts",
               baseline: str | None = None,
               extra: Mapping[str, Mapping[str, object]] | None = None) -> Table:
    """Variants side by side: ``unit`` per CPU-second and per wall-clock second of the best
    repetition, its seconds, and both rates as ratios to ``baseline``'s (default: the first
    variant; its row reads 1.00x); ``extra`` adds columns (variant -> column -> cell)."""
    counts = {label: items if isinstance(items, int) else items[label] for label in timings}
    base = timings[baseline or next(iter(timings))]
    base_n = counts[base.label]
    extra_columns = list(dict.fromkeys(c for cells in (extra or {}).values() for c in cells))
    table = Table(["variant", f"{unit} / CPU-s", f"{unit} / s (wall)", "CPU s", "wall s",
                   "CPU vs baseline", "wall vs baseline", *extra_columns])
    for label, t in timings.items():
        n = counts[label]
        table.add(label, number(n / t.best_cpu_s), number(n / t.best_wall_s), number(t.best_cpu_s, 2),
                  number(t.best_wall_s, 2),
                  ratio(n / t.best_cpu_s, base_n / base.best_cpu_s),
                  ratio(n / t.best_wall_s, base_n / base.best_wall_s),
                  *((extra or {}).get(label, {}).get(c, "") for c in extra_columns))
    return table


# --- the run: options, header, smoke mode --------------------------------------------------


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser described by the script's docstring, with ``--smoke``."""
    text = (doc or "").strip()
    result = argparse.ArgumentParser(description=text.splitlines()[0] if text else None,
                                     epilog="\n".join(text.splitlines()[1:]) or None,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    result.add_argument("--smoke", action="store_true",
                        help="tiny input (a generated data directory, no shared data), end to end "
                             "in seconds: checks that the script runs, its figures mean nothing")
    return result


def machine() -> str:
    """Cores, RAM, CPU model, OS, Python and numpy versions, date and load average."""
    import numpy

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{os.cpu_count()} cores ({model}), {ram:.0f} GiB RAM, {platform.system()}; "
            f"Python {platform.python_version()}, numpy {numpy.__version__}; {now}; "
            f"load average {os.getloadavg()[0]:.1f}")


def command_line() -> str:
    """How this script was run: ``python -m benchmarks.NAME ARGS`` (environment variables that
    change a measurement, if set, in front)."""
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    module = spec.name if spec is not None else Path(sys.argv[0]).stem
    env = [f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "TONECLS_DATA_DIR", "PYTHONPATH")
           if k in os.environ]
    return " ".join([*env, "python", "-m", module, *map(shlex.quote, sys.argv[1:])])


class Report:
    """The run of one script: prints its title, command line and machine on entry and the load
    average on exit; ``--smoke`` runs it on a tiny generated data directory (``TONECLS_DATA_DIR``)
    with a temporary ``work_dir``, both removed afterwards."""

    def __init__(self, args: argparse.Namespace, title: str) -> None:
        self.smoke = bool(getattr(args, "smoke", False))
        self.title = title
        self.work_dir = WORK_DIR
        self._stack = ExitStack()

    def __enter__(self) -> Report:
        print(f"## {self.title}\n\ncommand: {command_line()}\nmachine: {machine()}", flush=True)
        if self.smoke:
            from benchmarks import workloads

            self.work_dir = self._stack.enter_context(_temporary_dir("tonecls-smoke-work-"))
            self._stack.enter_context(workloads.tiny_data(self.work_dir / "data"))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        print(f"\nload average after: {os.getloadavg()[0]:.1f}", flush=True)

    def table(self, table: Table, caption: str | None = None) -> None:
        """Print ``table`` (after its caption, if any)."""
        print(("\n" + caption + "\n" if caption else "\n") + "\n" + table.markdown(), flush=True)

    def note(self, text: str) -> None:
        print(text, flush=True)


@contextmanager
def _temporary_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
