"""The streaming runner: every file job, on either engine, read -> transform -> atomic, resumable write.

Every file job (``tokenize_file``, ``score_file``, ``dialect_file``) is a :class:`ChunkJob`
(what to check, how to transform a chunk, what to count) run by :func:`run_file`, which owns
everything else, once for both engines:

- checks the paths and options; takes the output's lock (:mod:`tonecls.io.lock`: one writer per
  output) before anything is written; reads the first chunk (or, when workers read the files,
  the files' headers: a missing text or id column in any file fails here), lets the job check the
  columns, and only then lets it do its slow setup (:meth:`ChunkJob.prepare`, e.g. a model);
- splits the input into units (:mod:`tonecls.io.sources`): chunks read here, one chunk ahead in
  a background thread, or whole files of a multi-file export read by workers;
- hands the units to an engine (:mod:`tonecls.io.engines`): this process or local worker
  processes, whose rows are appended to ``<output>.partial`` in input order
  (:class:`~tonecls.io.sinks.FileSink`), or Dask workers, which write Parquet parts
  (:class:`~tonecls.io.sinks.PartsSink`);
- records every completed unit in the resume manifest ``<output>.partial.json`` (its rows,
  input digest, status counts, tallies, malformed lines and what was written); with
  ``resume=True`` the completed units are read again and checked, the partial output is
  checked against what the manifest says was written, and the job continues after them, so
  the output is byte for byte that of an uninterrupted run;
- shows a progress bar and returns one :class:`RunSummary`.

Failures: bad input (:class:`~tonecls.errors.InputError`, e.g. a missing column or, with
``on_bad_lines="error"``, a malformed line) removes the partial output; a refused resume keeps
it as it is; anything else (an interrupt, a worker's crash, a full disk, an input that vanished
mid-run) keeps the completed units for ``resume=True``, and an operating-system error becomes
a :class:`JobFailed` that says what failed.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from tonecls.errors import InputError, ToneclsError
from tonecls.io.engines import Engine, LocalEngine, Outcome
from tonecls.io.files import check_output_path, check_partial_is_ours, partial_path
from tonecls.io.formats import detect_format
from tonecls.io.job import ChunkJob, RunSummary
from tonecls.io.lock import OutputLock
from tonecls.io.manifest import ResumeManifest, ResumeRefused, input_identity, manifest_path
from tonecls.io.options import ENGINES, ON_BAD_LINES
from tonecls.io.sinks import Sink
from tonecls.io.sources import ChunkSource, FileSource, check_output_outside, input_files
from tonecls.io.writing import check_output_columns, state_path

__all__ = ["ChunkJob", "JobFailed", "RunSummary", "check_run_options", "interactive", "make_engine",
           "resume_hint", "run_file"]

MAX_TRACKED_IDS = 10_000_000  # ids hashed for the duplicate check (8 bytes each: 80 MB)


class JobFailed(ToneclsError):
    """A job stopped on an operating-system error (a full disk, a permission, a file that
    vanished); its completed units are kept for ``resume=True``."""


# --- checks -----------------------------------------------------------------------------------


def check_run_options(chunksize: Any, on_bad_lines: Any, workers: Any = None) -> None:
    """Refuse bad chunk sizes, bad-line policies and worker counts with a message naming the option."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer))
                                or workers < 1):
        raise InputError(f"workers must be a positive number of processes, not {workers!r}")
    if isinstance(chunksize, bool) or not isinstance(chunksize, (int, np.integer)) or chunksize < 1:
        raise InputError(f"chunksize must be a positive number of rows, not {chunksize!r}")
    if on_bad_lines not in ON_BAD_LINES:
        raise InputError(f"on_bad_lines must be one of {ON_BAD_LINES}, not {on_bad_lines!r}")


def make_engine(engine: str | Any = "local", *, workers: int | None = None, scheduler: str | None = None,
                blocksize: int | str | None = None) -> Engine:
    """The engine called ``engine`` (``"local"`` or ``"dask"``), or ``engine`` itself."""
    if not isinstance(engine, str):
        return engine
    if engine not in ENGINES:
        raise InputError(f"engine must be one of {ENGINES}, not {engine!r}")
    if engine == "local":
        if scheduler:
            raise InputError("a scheduler address needs engine='dask' (CLI: --engine dask).")
        return LocalEngine(workers)
    from tonecls.io.dask_engine import DEFAULT_BLOCKSIZE, DaskEngine

    return DaskEngine(scheduler, workers, DEFAULT_BLOCKSIZE if blocksize is None else blocksize)


def interactive() -> bool:
    """Whether a progress bar is wanted: stderr is a terminal, or we run in a Jupyter kernel."""
    if sys.stderr is not None and sys.stderr.isatty():
        return True
    shell = sys.modules.get("IPython")
    ipython = getattr(shell, "get_ipython", lambda: None)() if shell else None
    return type(ipython).__name__ == "ZMQInteractiveShell"


def resume_hint(output: str | os.PathLike) -> str | None:
    """What to tell a user whose job writing ``output`` failed, if completed chunks were kept."""
    try:
        kept = manifest_path(output).exists()
    except OSError:  # e.g. a name too long: then nothing was written either
        kept = False
    return "the completed chunks are kept; run the same command with --resume to continue." if kept else None


def _check_output(input_paths: list[Path], output: Path, engine: Engine) -> None:
    out_format = detect_format(output)
    if engine.writes_parts and out_format != "parquet":
        raise InputError(
            f"the {engine.name} engine writes a directory of Parquet part files; name the output "
            f"*.parquet (got {output}), or use the local engine for {out_format} output.")
    for path in input_paths:
        check_output_path(path, output, directory=engine.writes_parts)


# --- the runner -------------------------------------------------------------------------------


def run_file(
    input: str | os.PathLike,
    output: str | os.PathLike,
    job: ChunkJob,
    *,
    text_col: str | None,
    id_col: str | None = None,
    chunksize: int = 50_000,
    on_bad_lines: str = "flag",
    resume: bool = False,
    quiet: bool = False,
    engine: str | Any = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    blocksize: int | str | None = None,
) -> RunSummary:
    """Stream ``input`` through ``job`` into ``output`` (see the module docstring).

    ``input``: an export file, a directory of part files or a glob pattern. ``engine``:
    ``"local"`` (``workers``: processes transforming chunks, default one per core, 1: this
    process only) or ``"dask"`` (``scheduler``: a running scheduler's address, else a
    LocalCluster of ``workers``; ``blocksize``: bytes per unit of a single input file; the
    output is a directory of Parquet parts). ``quiet``: no progress bar (otherwise shown on a
    terminal or in Jupyter).

    Every input row comes out exactly once, in order. Raises :class:`InputError` for bad
    paths, options, columns or (with ``on_bad_lines="error"``) a malformed line; then
    nothing is kept. Any other failure keeps the completed units for ``resume=True``.
    """
    started = time.perf_counter()
    check_run_options(chunksize, on_bad_lines, workers)
    engine = make_engine(engine, workers=workers, scheduler=scheduler, blocksize=blocksize)
    files, in_format = input_files(input)
    check_output_outside(input, output)
    output = Path(output)
    _check_output(files, output, engine)
    options = {"chunksize": int(chunksize), "on_bad_lines": on_bad_lines, "text_col": text_col,
               "id_col": id_col, "output_format": "".join(output.suffixes[-2:]).lower(),
               **engine.options(), **job.options()}
    identity = input_identity(files, in_format)
    output.parent.mkdir(parents=True, exist_ok=True)
    with OutputLock(output, resumable=True):  # checked under the lock: another run's partial is not yet complete
        partial = partial_path(output)
        check_partial_is_ours(partial, manifest_path(output), *([] if engine.writes_parts else [state_path(partial)]))
        manifest_file = manifest_path(output)
        manifest = ResumeManifest(input=identity, options=options)
        nothing_to_resume = resume and not manifest_file.exists()
        if resume and manifest_file.exists():
            manifest = ResumeManifest.load(manifest_file)
            manifest.check_compatible(identity, options)
        run = _Run(job, engine, manifest, manifest_file, output, quiet)
        summary = run.execute(files, in_format, text_col=text_col, id_col=id_col, chunksize=int(chunksize),
                              on_bad_lines=on_bad_lines)
    if nothing_to_resume:
        summary.notes.insert(0, f"note: nothing to resume (no interrupted run writing {output} was found); "
                                "the job ran from the start")
    summary.seconds = time.perf_counter() - started
    return summary


class _Run:
    """One run of :func:`run_file`: the units, the engine, the sink and the manifest."""

    def __init__(self, job: ChunkJob, engine: Engine, manifest: ResumeManifest, manifest_file: Path,
                 output: Path, quiet: bool) -> None:
        self.job, self.engine, self.manifest, self.manifest_file = job, engine, manifest, manifest_file
        self.output, self.quiet = output, quiet
        self.summary = RunSummary(output=output, verb=job.verb, rows=manifest.rows_done,
                                  statuses=manifest.statuses, tallies=manifest.tallies,
                                  malformed_lines=manifest.malformed_lines,
                                  resumed_from_row=manifest.rows_done)
        self.ids = _DuplicateIds()

    def execute(self, files: list[Path], in_format: str, *, text_col: str | None, id_col: str | None,
                chunksize: int, on_bad_lines: str) -> RunSummary:
        from tonecls.io.sinks import FileSink, PartsSink

        read_options = {"text_col": text_col, "id_col": id_col, "chunksize": chunksize,
                        "on_bad_lines": on_bad_lines}
        if self.engine.writes_parts:  # one unit per file of a multi-file input, else blocks of bytes
            read_options.update(chunksize=None, chunk_bytes=self.engine.blocksize)
        many = len(files) > 1 and self.engine.writes_parts
        source = (FileSource if many else ChunkSource)(files, **read_options)
        columns = source.columns()
        self.job.check_columns(columns)
        check_output_columns(self.output, columns)  # e.g. repeated names for JSONL / Parquet: before any work
        self.job.prepare()
        declared = sink_schema(in_format, files)
        records = self.manifest.outputs()
        if not records:  # the sink starts afresh: an old run's manifest no longer describes it
            self.manifest_file.unlink(missing_ok=True)
        sink = (PartsSink(self.output, resumed=bool(records)) if self.engine.writes_parts
                else FileSink(self.output, records, schema=declared))
        try:
            self.engine.start(self.job, source.first_rows, sum(f.stat().st_size for f in files), parts=sink,
                              declared=declared, read_options={**read_options, "chunksize": chunksize,
                                                               "chunk_bytes": None})
            sink.verify(records, self.engine.hash_files)
            self._verify_done_files(source, files)
            self._loop(source, sink, id_col, files)
            sink.close(self.manifest.outputs())
            self.manifest_file.unlink(missing_ok=True)
        except ResumeRefused:
            raise
        except BaseException as error:
            self._fail(error, sink)
            raise
        finally:
            self.engine.close()
        self.summary.duplicate_ids, self.summary.missing_ids = self.ids.duplicates(), self.ids.missing
        self.summary.notes = self.job.notes(self.summary)
        if self.ids.unseen:
            self.summary.notes.append("note: ids were not checked for repeats or gaps: the workers read the files "
                                      "(score with --engine local to count them, or check the output's ids).")
        return self.summary

    def _verify_done_files(self, source: Any, files: list[Path]) -> None:
        """Workers read the files: the completed ones are hashed (by the workers) and checked."""
        if source.reads_here or not self.manifest.units:
            return
        done = [i for i in self.manifest.indices if i < len(files)]
        for index, digest in zip(done, self.engine.hash_files([files[i] for i in done])):
            self.manifest.check_input(index, self.manifest.done(index)["rows"], digest)
        self.manifest.check_all_seen(len(files))

    def _loop(self, source: ChunkSource | FileSource, sink: Sink, id_col: str | None, files: list[Path]) -> None:
        from tqdm.auto import tqdm

        bar = tqdm(total=None, initial=self.manifest.rows_done, unit=" posts", unit_scale=True,
                   disable=self.quiet or not interactive(), desc=self.job.description, smoothing=0.1)
        counter = ThreadPoolExecutor(max_workers=1) if not bar.disable else None
        total = counter.submit(_count_rows, files) if counter else None
        units = prefetched(source.units()) if source.reads_here else source.units()
        pending: deque = deque()
        seen = 0
        try:
            with bar:
                for unit in units:
                    seen += 1
                    if id_col is not None and unit.frame is not None:
                        self.ids.add(unit.frame[id_col])
                    elif id_col is not None:
                        self.ids.unseen = True
                    if self.manifest.done(unit.index) is not None:
                        if unit.frame is not None:
                            self.manifest.check_input(unit.index, len(unit.frame), unit.digest)
                        continue
                    pending.append(self.engine.submit(unit))
                    while len(pending) > self.engine.depth:
                        self._commit(self.engine.next_outcome(pending), sink, bar, total)
                while pending:
                    self._commit(self.engine.next_outcome(pending), sink, bar, total)
                self.manifest.check_all_seen(seen)
                bar.total = bar.n  # the line count over-counts posts with line breaks
                bar.refresh()
        except BaseException:
            self.engine.cancel(pending)
            raise
        finally:
            if hasattr(units, "close"):
                units.close()
            if counter is not None:
                counter.shutdown(wait=False, cancel_futures=True)

    def _commit(self, outcome: Outcome, sink: Sink, bar: Any, total: Any) -> None:
        """Write (or take) one unit's output and record it in the manifest."""
        record = sink.write(outcome.frame) if outcome.frame is not None else outcome.part
        self.manifest.record(outcome.index, {"rows": outcome.rows, "input": outcome.digest,
                                             "statuses": outcome.statuses, "tallies": outcome.tallies,
                                             "malformed_lines": outcome.bad_lines, "output": record})
        self.manifest.save(self.manifest_file)
        self.summary.add(outcome.statuses, rows=outcome.rows)
        self.summary.tallies = self.manifest.tallies
        self.summary.malformed_lines = self.manifest.malformed_lines
        if total is not None and total.done() and bar.total is None:
            bar.total = max(total.result() or 0, self.summary.rows)
        bar.update(outcome.rows)

    def _fail(self, error: BaseException, sink: Sink) -> None:
        """Bad input: nothing is kept. Anything else: the completed units stay for resume, and
        an operating-system error becomes a :class:`JobFailed` naming what failed."""
        from tonecls.io.reading import ReadFailed

        if isinstance(error, InputError) and not isinstance(error, ReadFailed):
            sink.abort()
            self.manifest_file.unlink(missing_ok=True)
        elif isinstance(error, OSError):
            where = f" ({error.filename})" if getattr(error, "filename", None) else ""
            raise JobFailed(f"stopped writing {self.output}: {error.strerror or error}{where}. Fix the cause "
                            "(free disk space, permissions, a missing file), then run the same command with "
                            "--resume to continue.") from None


def sink_schema(in_format: str, files: list[Path]) -> Any:
    """The Arrow schema a Parquet input declares (its columns keep their types), else None."""
    if in_format != "parquet":
        return None
    from tonecls.io.reading import parquet_schema

    return parquet_schema(files[0])


def _count_rows(files: list[Path]) -> int | None:
    from tonecls.io.reading import count_rows

    try:
        return sum(count_rows(f) for f in files)
    except Exception:  # only the progress bar's total; never fail the job for it
        return None


_END = object()


class prefetched:
    """Iterate ``items`` with the next ``depth`` read ahead in a background thread.

    Parsing (I/O, decoding) then overlaps with the transform (in worker processes, or in
    numpy, which releases the GIL). Exceptions of the reader are re-raised in the caller's
    thread; :meth:`close` stops it.
    """

    def __init__(self, items: Iterator[Any], depth: int = 1) -> None:
        self._items = items
        self._buffer: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="tonecls-read-ahead", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        try:
            for item in self._items:
                if not self._put(item):
                    return
            self._put(_END)
        except BaseException as error:  # handed to the consumer
            self._put(error)
        finally:
            close = getattr(self._items, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> prefetched:
        return self

    def __next__(self) -> Any:
        item = self._buffer.get()
        if item is _END:
            self._buffer.put(_END)
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class _DuplicateIds:
    """Counts rows whose id repeats an earlier row's (ids of different types, ``1`` and
    ``"1"``, differ) and rows with no id, from 64-bit hashes of the ids.

    Memory is 8 bytes per id; after :data:`MAX_TRACKED_IDS` ids the check stops (the count
    then covers the first ids only). A hash collision (probability about 3e-6 for 10M ids)
    could over-count by one.
    """

    def __init__(self) -> None:
        self.hashes: list[np.ndarray] = []
        self.tracked = 0
        self.missing = 0
        self.unseen = False  # rows read elsewhere (by Dask workers), not counted

    def add(self, ids: Any) -> None:
        import pandas as pd

        from tonecls.io.files import value_hashes

        if self.tracked >= MAX_TRACKED_IDS:
            return
        ids = ids.iloc[: MAX_TRACKED_IDS - self.tracked]
        missing = ids.isna().to_numpy(dtype=bool, copy=True)
        if ids.dtype == object or pd.api.types.is_string_dtype(ids.dtype):
            missing |= (ids.astype(object) == "").to_numpy(dtype=bool)
        present = ids[~missing]
        self.missing += len(ids) - len(present)
        self.hashes.append(value_hashes(present))
        self.tracked += len(ids)

    def duplicates(self) -> int:
        if not self.hashes:
            return 0
        hashes = np.concatenate(self.hashes)
        return int(len(hashes) - len(np.unique(hashes)))
