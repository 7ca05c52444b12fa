"""What the I/O guarantees cost: the output lock, the write records that resume verifies, and
the bundle seal, against scoring time.

The same end-to-end scoring job (``tonecls.jobs.score_file``, the default model loaded from its
bundle in every run, one process so that nothing hides the cost, ``--rows`` posts of TweetEval
text) runs alternately with every check, and with the checks switched off in this process: the
lock taken and released as a no-op, no SHA-256 of what each chunk wrote, no fsync of the output
before its rename, no seal check when the bundle is loaded. Then a resume of a job interrupted after half its chunks, whose check reads
back the partial output, against the same resume with the check off. Best of ``--repeat``.
Last, the checks' own CPU-seconds, timed inside one run of each job (the side-by-side runs
differ also by the noise of a shared machine; this does not).

    nice -n 10 .venv/bin/python -m benchmarks.bench_io_checks --rows 200000 --repeat 3
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks import harness
from benchmarks.workloads import build_export, score_file


class _NoDigest:
    """A stand-in for hashlib.sha256 that hashes nothing (the checks switched off)."""

    def __init__(self, data: bytes = b"") -> None:
        pass

    def update(self, data: bytes) -> None:
        pass

    def hexdigest(self) -> str:
        return "0" * 64


class _TimedDigest:
    """hashlib.sha256 whose work is added to ``spent`` (CPU-seconds)."""

    spent = [0.0]

    def __init__(self, data: bytes = b"") -> None:
        started = time.process_time()
        self._digest = hashlib.sha256(data)
        self.spent[0] += time.process_time() - started

    def update(self, data: bytes) -> None:
        started = time.process_time()
        self._digest.update(data)
        self.spent[0] += time.process_time() - started

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def _timed(function: Any, spent: list[float]) -> Any:
    def run(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[0] += time.process_time() - started
    return run


@contextlib.contextmanager
def checks_timed() -> Iterator[list[float]]:
    """Every check as it is, its CPU-seconds added up in the yielded one-element list."""
    import tonecls.io.writing as writing
    import tonecls.model.bundle as bundle
    from tonecls.io.lock import OutputLock

    spent = _TimedDigest.spent
    spent[0] = 0.0
    saved = (OutputLock.acquire, OutputLock.release, writing.hashlib, writing.sha256_file,
             writing.ExportWriter.verify, bundle.check_seal, writing.fsync_file, writing.fsync_dir)
    OutputLock.acquire, OutputLock.release = _timed(saved[0], spent), _timed(saved[1], spent)
    writing.hashlib = type("TimedHashlib", (), {"sha256": _TimedDigest})
    writing.sha256_file = _timed(saved[3], spent)
    writing.ExportWriter.verify = _timed(saved[4], spent)
    bundle.check_seal = _timed(saved[5], spent)
    writing.fsync_file, writing.fsync_dir = _timed(saved[6], spent), _timed(saved[7], spent)
    try:
        yield spent
    finally:
        (OutputLock.acquire, OutputLock.release, writing.hashlib, writing.sha256_file,
         writing.ExportWriter.verify, bundle.check_seal, writing.fsync_file, writing.fsync_dir) = saved


@contextlib.contextmanager
def checks_off() -> Iterator[None]:
    """The lock, the write records' SHA-256 and the bundle seal check as no-ops."""
    import tonecls.io.writing as writing
    import tonecls.model.bundle as bundle
    from tonecls.io.lock import OutputLock

    saved = (OutputLock.acquire, OutputLock.release, writing.hashlib, writing.sha256_file,
             writing.ExportWriter.verify, bundle.check_seal, writing.fsync_file, writing.fsync_dir)
    OutputLock.acquire = OutputLock.release = lambda self: None
    writing.hashlib = type("NoHashlib", (), {"sha256": _NoDigest})
    writing.sha256_file = lambda path: "0" * 64
    writing.ExportWriter.verify = lambda self, records: None
    bundle.check_seal = lambda path: None
    writing.fsync_file = writing.fsync_dir = lambda path: None
    try:
        yield
    finally:
        (OutputLock.acquire, OutputLock.release, writing.hashlib, writing.sha256_file,
         writing.ExportWriter.verify, bundle.check_seal, writing.fsync_file, writing.fsync_dir) = saved


def _fresh_model_score(source: Path, output: Path, rows: int, **options: Any) -> Any:
    """Score ``source`` in ten chunks in this process, loading (and checking) the bundle anew."""
    from tonecls.score.core import _load_model_cached

    _load_model_cached.cache_clear()
    return score_file(source, output, workers=1, chunksize=max(rows // 10, 1), **options)


def _interrupted(source: Path, output: Path, rows: int) -> None:
    """A partial output of half the chunks and its manifest, as an interrupted job leaves them."""
    from tonecls.io.writing import ExportWriter

    write, calls = ExportWriter.write, []

    def stop_halfway(self, chunk):
        calls.append(1)
        if len(calls) > 5:
            raise KeyboardInterrupt
        return write(self, chunk)

    ExportWriter.write = stop_halfway
    try:
        with contextlib.suppress(KeyboardInterrupt):
            _fresh_model_score(source, output, rows)
    finally:
        ExportWriter.write = write


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if args.smoke:
        args.rows, args.repeat = 400, 1
    with harness.Report(args, "I/O checks: lock, write records, seal") as report:
        source = build_export(args.rows, report.work_dir)
        out = report.work_dir / "checked.csv"

        def checked() -> Any:
            return _fresh_model_score(source, out, args.rows)

        def unchecked() -> Any:
            with checks_off():
                return _fresh_model_score(source, out, args.rows)

        def resume(check: bool) -> Any:
            shutil.copy(f"{out}.keep", f"{out}.partial")
            shutil.copy(f"{out}.keep.json", f"{out}.partial.json")
            with contextlib.nullcontext() if check else checks_off():
                return _fresh_model_score(source, out, args.rows, resume=True)

        timings = harness.alternate({"every check": checked, "checks off": unchecked}, args.repeat,
                                    warmup=not args.smoke, keep_results=False)
        report.table(harness.rate_table(timings, args.rows, baseline="checks off"),
                     caption=f"scoring {args.rows:,} posts end to end, one process")
        _interrupted(source, out, args.rows)
        shutil.copy(f"{out}.partial", f"{out}.keep")
        shutil.copy(f"{out}.partial.json", f"{out}.keep.json")
        resumed = harness.alternate({"resume, partial output checked": lambda: resume(True),
                                     "resume, check off": lambda: resume(False)}, args.repeat, keep_results=False)
        report.table(harness.rate_table(resumed, args.rows, baseline="resume, check off"),
                     caption="resuming after half the chunks (rates over all rows of the job)")
        with checks_timed() as spent:
            _, job = harness.timed(checked)
        with checks_timed() as resume_spent:
            _, resumed_job = harness.timed(lambda: resume(True))
        table = harness.Table(["run", "CPU s of the job", "CPU s in the checks", "share"])
        table.add("scoring, every check", harness.number(job.cpu_s, 2), harness.number(spent[0], 3),
                  f"{100 * spent[0] / job.cpu_s:.2f}%")
        table.add("resume, partial output checked", harness.number(resumed_job.cpu_s, 2),
                  harness.number(resume_spent[0], 3), f"{100 * resume_spent[0] / resumed_job.cpu_s:.2f}%")
        report.table(table, caption="the checks' own CPU, timed inside one run of each job (no noise of a "
                     "second run)")
        for leftover in (f"{out}.keep", f"{out}.keep.json"):
            Path(leftover).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
