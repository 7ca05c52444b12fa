"""The streaming runner: read chunks (ahead, in a thread) -> transform -> atomic, resumable write.

Every file command (``tokenize_file``, ``score_file``, ``dialect_file``) is a
:class:`ChunkJob` (what to check, how to transform a chunk, what to count) run by
:func:`run_file`, which owns everything else:

- checks the paths and options, then reads the first chunk (a missing text or id column fails
  here), then lets the job check the columns, and only then lets it do its slow setup
  (:meth:`ChunkJob.prepare`, e.g. loading a model);
- reads the input with :func:`~tonecls.io.reading.read_export` one chunk ahead in a
  background thread, so parsing overlaps with the transform;
- transforms large inputs in worker processes, one per core (:mod:`tonecls.io.parallel`),
  while this process reads and writes, keeping the input order;
- appends each transformed chunk to ``<output>.partial`` with
  :class:`~tonecls.io.writing.ExportWriter` and records the progress in the resume manifest
  ``<output>.partial.json`` (:class:`~tonecls.io.manifest.ResumeManifest`, two-phase: the
  manifest says what a chunk will add before the writer appends it);
- ``resume=True`` reads the completed chunks again, checks their content hash against the
  manifest (an input edited in place is refused, whatever its size and modification time) and
  continues after them, so the output is byte for byte that of an uninterrupted run;
- shows a tqdm progress bar and returns one :class:`RunSummary`.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tonecls.errors import InputError
from tonecls.io.files import (
    ContentHash,
    check_input_file,
    check_output_path,
    partial_path,
)
from tonecls.io.formats import detect_format
from tonecls.io.job import ChunkJob, RunSummary
from tonecls.io.manifest import (
    ResumeManifest,
    ResumeRefused,
    input_identity,
    manifest_path,
)
from tonecls.io.parallel import transformer_for
from tonecls.io.reading import (
    LINE_COLUMN,
    READ_STATUS_COLUMN,
    count_rows,
    parquet_schema,
    read_export,
)
from tonecls.io.writing import ExportWriter, check_output_columns
from tonecls.schema import STATUS_COLUMN, Status

__all__ = ["ChunkJob", "RunSummary", "check_run_options", "interactive", "resume_hint", "run_file"]

ON_BAD_LINES = ("flag", "error")
MAX_REPORTED_LINES = 1000  # malformed line numbers kept in the summary / manifest
MAX_TRACKED_IDS = 10_000_000  # ids hashed for the duplicate check (8 bytes each: 80 MB)


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


def check_foreign_partial(output: Path) -> None:
    """Refuse to run when ``<output>.partial`` exists but no tonecls job wrote it."""
    partial = partial_path(output)
    ours = manifest_path(output).exists() or partial.with_name(partial.name + ".state.json").exists()
    if (partial.exists() or partial.is_symlink()) and not ours:
        raise InputError(
            f"{partial} exists and was not written by tonecls (no resume manifest beside it); "
            "tonecls writes its partial output there. Move or rename that file, then run again."
        )


def interactive() -> bool:
    """Whether a progress bar is wanted: stderr is a terminal, or we run in a Jupyter kernel."""
    if sys.stderr is not None and sys.stderr.isatty():
        return True
    shell = sys.modules.get("IPython")
    ipython = getattr(shell, "get_ipython", lambda: None)() if shell else None
    return type(ipython).__name__ == "ZMQInteractiveShell"


def resume_hint(output: str | os.PathLike) -> str | None:
    """What to tell a user whose job writing ``output`` failed, if completed chunks were kept."""
    if manifest_path(output).exists():
        return "the completed chunks are kept; run the same command with --resume to continue."
    return None


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
    progress: bool | None = None,
    workers: int | None = None,
) -> RunSummary:
    """Stream ``input`` through ``job`` into ``output`` (see the module docstring).

    ``workers``: processes transforming chunks (default: one per core, see
    :mod:`tonecls.io.parallel`; 1: this process only).

    Every input row comes out exactly once, in order. Raises :class:`InputError` for bad
    paths, options, columns or (with ``on_bad_lines="error"``) a malformed line; then
    nothing is kept. Any other failure keeps the completed chunks for ``resume=True``.
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    check_run_options(chunksize, on_bad_lines, workers)
    input = check_input_file(input)
    output = Path(output)
    in_format = detect_format(input)
    detect_format(output)
    check_output_path(input, output)
    check_foreign_partial(output)
    if progress is None:
        progress = interactive()
    options = {"chunksize": int(chunksize), "on_bad_lines": on_bad_lines, "text_col": text_col,
               "id_col": id_col, "output_format": "".join(output.suffixes[-2:]).lower(), **job.options()}
    identity = input_identity(input, in_format)
    manifest_file = manifest_path(output)
    previous = (ResumeManifest.load_compatible(manifest_file, identity, options)
                if resume and manifest_file.exists() else None)

    chunks = read_export(input, text_col=text_col, id_col=id_col, chunksize=chunksize,
                         on_bad_lines=on_bad_lines)  # reads the first chunk: columns checked
    first = next(chunks, None)
    columns = [] if first is None else [c for c in first.columns if c not in (READ_STATUS_COLUMN, LINE_COLUMN)]
    job.check_columns(columns)
    check_output_columns(output, columns)  # e.g. repeated names for a JSONL output: before any work
    job.prepare()

    declared = parquet_schema(input) if in_format == "parquet" else None
    writer = ExportWriter(output, resume=previous is not None, schema=declared)
    manifest = _reconcile(previous, writer.rows_written, identity, options)
    manifest.save(manifest_file)
    summary = RunSummary(output=output, verb=job.verb, rows=manifest.rows_done,
                         statuses=dict(manifest.statuses), tallies=dict(manifest.tallies),
                         malformed_lines=list(manifest.malformed_lines),
                         resumed_from_row=manifest.rows_done)
    content = ContentHash()
    ids = _DuplicateIds()
    bar = tqdm(total=None, initial=manifest.rows_done, unit=" posts", unit_scale=True,
               disable=not progress, desc=job.description, smoothing=0.1)
    counter = ThreadPoolExecutor(max_workers=1) if progress else None
    total: Future | None = counter.submit(_count_rows, input) if counter else None
    source = prefetched(chain_first(first, chunks))
    transformer = transformer_for(job, 0 if first is None else len(first), input.stat().st_size, workers)
    in_flight: deque[_Submitted] = deque()

    def finish(submitted: _Submitted) -> None:
        """Write one transformed chunk (in input order) and record it."""
        result = submitted.collect()
        if len(result) != submitted.rows:
            raise RuntimeError(f"{type(job).__name__}.transform returned {len(result)} "
                               f"rows for a chunk of {submitted.rows}")
        statuses = _status_counts(result) if job.writes_status else {}
        manifest.pending = _progress(manifest, len(result), statuses, job.tally(result),
                                     submitted.bad_lines, submitted.digest)
        manifest.save(manifest_file)
        writer.write(result)
        manifest.commit_pending()
        manifest.save(manifest_file)
        summary.add(statuses, rows=len(result))
        summary.tallies = dict(manifest.tallies)
        summary.malformed_lines = list(manifest.malformed_lines)
        if total is not None and total.done() and bar.total is None:
            bar.total = max(total.result() or 0, summary.rows)
        bar.update(len(result))

    try:
        with writer, bar:
            for chunk in source:
                content.update(chunk)
                if manifest.rows_done and content.rows <= manifest.rows_done:  # already written
                    if id_col is not None:
                        ids.add(chunk[id_col])
                    if content.rows == manifest.rows_done:
                        manifest.check_content(content.rows, content.hexdigest())
                    continue
                if content.rows - len(chunk) < manifest.rows_done:
                    manifest.check_content(content.rows - len(chunk), "")  # boundaries moved
                read_status = chunk.pop(READ_STATUS_COLUMN).to_numpy(dtype=object)
                lines = chunk.pop(LINE_COLUMN)
                bad = lines[read_status == Status.MALFORMED_LINE].dropna().astype(int).tolist()
                in_flight.append(_Submitted(transformer.submit(chunk, read_status), len(chunk), bad,
                                            content.hexdigest()))
                if id_col is not None:
                    ids.add(chunk[id_col])
                while len(in_flight) > transformer.depth:
                    finish(in_flight.popleft())
            while in_flight:
                finish(in_flight.popleft())
            if content.rows < manifest.rows_done:  # the input lost rows that were written
                manifest.check_content(content.rows, content.hexdigest())
            bar.total = bar.n  # the line count over-counts posts with line breaks
            bar.refresh()
        manifest_file.unlink(missing_ok=True)
    except ResumeRefused:  # the input changed: keep the partial output as it is
        raise
    except InputError:  # bad input: resuming would meet it again, so keep nothing
        writer.abort()
        manifest_file.unlink(missing_ok=True)
        raise
    finally:
        transformer.close()
        source.close()
        if counter is not None:
            counter.shutdown(wait=False, cancel_futures=True)
    summary.duplicate_ids = ids.duplicates()
    summary.notes = job.notes(summary)
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass
class _Submitted:
    """A chunk handed to the transformer, with what recording it needs once written."""

    collect: Callable[[], pd.DataFrame]
    rows: int
    bad_lines: list[int]
    digest: str  # content hash of the input up to and including this chunk


def chain_first(first: pd.DataFrame | None, rest: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    if first is not None:
        yield first
    yield from rest


def _status_counts(output: pd.DataFrame) -> dict[str, int]:
    counts = output[STATUS_COLUMN].value_counts(sort=False, dropna=False)
    return {str(status): int(n) for status, n in counts.items()}


def _reconcile(previous: ResumeManifest | None, rows_written: int, identity: dict,
               options: dict) -> ResumeManifest:
    """The manifest to continue from, agreeing with the rows the writer kept."""
    if previous is None or rows_written == 0:
        return ResumeManifest(input=identity, options=options)
    if previous.pending and previous.pending["rows_done"] == rows_written:
        previous.commit_pending()  # the crash came after the chunk was written
    previous.pending = None
    if previous.rows_done != rows_written:
        raise InputError(
            f"cannot resume: the partial output has {rows_written:,} rows but the resume "
            f"manifest records {previous.rows_done:,}. Run again without --resume to start over."
        )
    return previous


def _progress(manifest: ResumeManifest, rows: int, statuses: dict, tallies: dict,
              bad_lines: list[int], digest: str) -> dict:
    def added(before: dict, new: dict) -> dict:
        total = dict(before)
        for key, n in new.items():
            total[key] = total.get(key, 0) + int(n)
        return total

    room = MAX_REPORTED_LINES - len(manifest.malformed_lines)
    return {
        "chunks_done": manifest.chunks_done + 1,
        "rows_done": manifest.rows_done + rows,
        "statuses": added(manifest.statuses, statuses),
        "tallies": added(manifest.tallies, tallies),
        "malformed_lines": manifest.malformed_lines + bad_lines[:max(room, 0)],
        "input_hash": digest,
    }


def _count_rows(path: Path) -> int | None:
    try:
        return count_rows(path)
    except Exception:  # only the progress bar's total; never fail the job for it
        return None


_END = object()


class prefetched:
    """Iterate ``chunks`` with the next ``depth`` chunks read ahead in a background thread.

    Parsing (I/O, decoding) then overlaps with the transform (in worker processes, or in
    numpy, which releases the GIL).
    Exceptions of the reader are re-raised in the caller's thread; :meth:`close` stops it.
    """

    def __init__(self, chunks: Iterator[pd.DataFrame], depth: int = 1) -> None:
        self._chunks = chunks
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
            for chunk in self._chunks:
                if not self._put(chunk):
                    return
            self._put(_END)
        except BaseException as error:  # handed to the consumer
            self._put(error)
        finally:
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> prefetched:
        return self

    def __next__(self) -> pd.DataFrame:
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
    """Counts rows whose id repeats an earlier row's, from 64-bit hashes of the ids.

    Memory is 8 bytes per id; after :data:`MAX_TRACKED_IDS` ids the check stops (the count
    then covers the first ids only). A hash collision (probability about 3e-6 for 10M ids)
    could over-count by one.
    """

    def __init__(self) -> None:
        self.hashes: list[np.ndarray] = []
        self.tracked = 0

    def add(self, ids: pd.Series) -> None:
        if self.tracked >= MAX_TRACKED_IDS:
            return
        ids = ids.iloc[: MAX_TRACKED_IDS - self.tracked]
        try:
            hashed = pd.util.hash_pandas_object(ids, index=False).to_numpy()
        except TypeError:  # unhashable ids (nested values): compare their text
            hashed = pd.util.hash_pandas_object(ids.astype(str), index=False).to_numpy()
        self.hashes.append(hashed)
        self.tracked += len(ids)

    def duplicates(self) -> int:
        if not self.hashes:
            return 0
        hashes = np.concatenate(self.hashes)
        return int(len(hashes) - len(np.unique(hashes)))
