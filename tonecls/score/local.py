"""The local engine: stream an export through the model chunk by chunk, resumably.

Reading, scoring and writing go chunk by chunk (``chunksize`` rows), so memory stays flat
whatever the file size. The next chunk is read in a background thread while the model scores
the current one (TensorFlow already spreads inference over the cores).
:class:`tonecls.io.ExportWriter` appends the scored chunks to
``<output>.partial`` and renames it to ``output`` at the end; beside it, the resume manifest
``<output>.partial.json`` (see :mod:`tonecls.io.manifest`) records the input's identity,
the options and the status counts of the completed chunks, so that ``resume=True`` continues
after the last completed chunk and produces the same file as an uninterrupted run.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tonecls.errors import InputError
from tonecls.schema import Status
from tonecls.io.manifest import ResumeManifest, input_fingerprint, manifest_path
from tonecls.score.core import (
    ScoreSummary,
    ScoringModel,
    model_identity,
    resolve_model,
    score_frame,
    status_counts,
)

MAX_REPORTED_LINES = 1000  # malformed line numbers kept in the summary / manifest
MAX_TRACKED_IDS = 10_000_000  # ids hashed for the duplicate check (8 bytes each: 80 MB)


def score_file_local(
    input: Path,
    output: Path,
    *,
    model: ScoringModel | str | None,
    text_col: str,
    id_col: str | None,
    chunksize: int,
    on_bad_lines: str,
    resume: bool,
    progress: bool,
) -> ScoreSummary:
    """Score ``input`` into ``output`` in this process; see :func:`tonecls.score.score_file`."""
    from tqdm.auto import tqdm

    from tonecls.io import LINE_COLUMN, READ_STATUS_COLUMN, ExportWriter, read_export

    started = time.perf_counter()
    options = {
        "engine": "local", "text_col": text_col, "id_col": id_col, "chunksize": chunksize,
        "on_bad_lines": on_bad_lines, "model": model_identity(model),
        "output_format": "".join(output.suffixes[-2:]),
    }
    fingerprint = input_fingerprint(input)
    scoring_model = resolve_model(model)
    manifest_file = manifest_path(output)
    previous = (ResumeManifest.load_compatible(manifest_file, fingerprint, options)
                if resume and manifest_file.exists() else None)
    writer = ExportWriter(output, resume=previous is not None)
    manifest = _reconcile(previous, writer.rows_written_, fingerprint, options)
    manifest.save(manifest_file)
    summary = ScoreSummary(
        output=output, rows=manifest.rows_done, statuses=dict(manifest.statuses),
        malformed_lines=list(manifest.malformed_lines), resumed_from_row=manifest.rows_done,
    )
    ids = _DuplicateIds(id_col)

    try:
        chunks = read_export(
            input, text_col=text_col, id_col=id_col, chunksize=chunksize,
            on_bad_lines=on_bad_lines, skip_rows=manifest.rows_done,
        )
    except InputError:
        _discard(writer, manifest_file)
        raise
    bar = tqdm(
        total=None, initial=manifest.rows_done, unit=" posts", unit_scale=True,
        disable=not progress, desc="scoring", smoothing=0.1,
    )
    counter = ThreadPoolExecutor(max_workers=1) if progress else None
    total: Future | None = counter.submit(_count_rows, input) if counter else None
    try:
        with writer, bar:
            for chunk in _prefetched(chunks):
                read_status = chunk.pop(READ_STATUS_COLUMN)
                lines = chunk.pop(LINE_COLUMN)
                scored = score_frame(chunk, scoring_model, text_col, read_status=read_status)
                counts = status_counts(scored)
                bad_lines = lines[read_status == Status.MALFORMED_LINE].dropna().astype(int)
                # two-phase commit: the manifest first records what the chunk will add, so
                # that a crash between the writer's state and the manifest is recoverable.
                manifest.pending = _progress(manifest, len(scored), counts, bad_lines.tolist())
                manifest.save(manifest_file)
                writer.write(scored)
                manifest.commit_pending()
                manifest.save(manifest_file)
                summary.add(counts)
                summary.malformed_lines = list(manifest.malformed_lines)
                if id_col is not None:
                    ids.add(scored[id_col])
                if total is not None and total.done() and bar.total is None:
                    bar.total = max(total.result() or 0, summary.rows)
                bar.update(len(scored))
            bar.total = bar.n  # the line count over-counts posts with line breaks
            bar.refresh()
        manifest_file.unlink(missing_ok=True)
    except InputError:  # bad input (e.g. a malformed line with on_bad_lines="error"):
        _discard(writer, manifest_file)  # resuming would meet it again, so keep nothing
        raise
    finally:
        if counter is not None:
            counter.shutdown(wait=False, cancel_futures=True)
    summary.duplicate_ids = ids.duplicates()
    summary.seconds = time.perf_counter() - started
    return summary


def _discard(writer, manifest_file: Path) -> None:
    writer.abort()
    manifest_file.unlink(missing_ok=True)


def _reconcile(
    previous: ResumeManifest | None, rows_written: int, fingerprint: dict, options: dict
) -> ResumeManifest:
    """The manifest to continue from, agreeing with the rows the writer kept."""
    if previous is None or rows_written == 0:
        return ResumeManifest(input=fingerprint, options=options)
    if previous.pending and previous.pending["rows_done"] == rows_written:
        previous.commit_pending()  # the crash came after the chunk was written
    previous.pending = None
    if previous.rows_done != rows_written:
        raise InputError(
            f"cannot resume: the partial output has {rows_written:,} rows but the resume "
            f"manifest records {previous.rows_done:,}. Run again without --resume to start over."
        )
    return previous


def _progress(manifest: ResumeManifest, rows: int, counts: dict, bad_lines: list[int]) -> dict:
    statuses = dict(manifest.statuses)
    for status, n in counts.items():
        statuses[status] = statuses.get(status, 0) + n
    room = MAX_REPORTED_LINES - len(manifest.malformed_lines)
    return {
        "chunks_done": manifest.chunks_done + 1,
        "rows_done": manifest.rows_done + rows,
        "statuses": statuses,
        "malformed_lines": manifest.malformed_lines + bad_lines[:max(room, 0)],
    }


def _count_rows(path: Path) -> int | None:
    from tonecls.io import count_rows

    try:
        return count_rows(path)
    except Exception:  # only the progress bar's total; never fail the job for it
        return None


_END = object()


def _prefetched(chunks: Iterator[pd.DataFrame], depth: int = 1) -> Iterator[pd.DataFrame]:
    """Iterate ``chunks`` with the next ``depth`` chunks read ahead in a background thread.

    Parsing (I/O, decoding) then overlaps with the model, which releases the GIL while
    TensorFlow computes. Exceptions of the reader are re-raised in the caller's thread.
    """
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return
            put(_END)
        except BaseException as error:  # handed to the consumer
            put(error)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="tonecls-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item = buffer.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


class _DuplicateIds:
    """Counts rows whose id repeats an earlier row's, from 64-bit hashes of the ids.

    Memory is 8 bytes per id; after :data:`MAX_TRACKED_IDS` ids the check stops (the count
    then covers the first ids only). A hash collision (probability about 3e-6 for 10M ids)
    could over-count by one.
    """

    def __init__(self, id_col: str | None) -> None:
        self.id_col = id_col
        self.hashes: list[np.ndarray] = []
        self.tracked = 0

    def add(self, ids: pd.Series) -> None:
        if self.tracked >= MAX_TRACKED_IDS:
            return
        ids = ids.iloc[: MAX_TRACKED_IDS - self.tracked]
        self.hashes.append(pd.util.hash_pandas_object(ids, index=False).to_numpy())
        self.tracked += len(ids)

    def duplicates(self) -> int:
        if not self.hashes:
            return 0
        hashes = np.concatenate(self.hashes)
        return int(len(hashes) - len(np.unique(hashes)))
