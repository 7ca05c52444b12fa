"""Engines: where a file job's units of work are transformed.

The runner (:mod:`tonecls.io.runner`) hands an engine each :class:`~tonecls.io.sources.Unit`
and collects an :class:`Outcome` per unit. Two engines share that interface:

- :class:`LocalEngine`: chunks transformed in this process or in local worker processes
  (:mod:`tonecls.io.parallel`), outcomes in input order; the runner writes their rows into one
  output file;
- :class:`~tonecls.io.dask_engine.DaskEngine`: each unit transformed by a dask.distributed
  worker, which also writes it as a Parquet part; outcomes in completion order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tonecls.io.files import sha256_file
from tonecls.io.job import ChunkJob, status_counts
from tonecls.io.sources import Unit

__all__ = ["Engine", "LocalEngine", "Outcome", "transform_unit"]


@dataclass
class Outcome:
    """What came of one unit: its rows, status counts, tallies and malformed lines, the digest
    of its input, and either its output ``frame`` (to be written here) or the ``part`` a
    worker wrote (its write record)."""

    index: int
    rows: int
    statuses: dict[str, int]
    tallies: dict[str, int]
    bad_lines: list
    digest: Any
    frame: Any = None
    part: dict[str, Any] | None = None


class Engine(Protocol):
    """What the runner needs of an engine."""

    name: str  # "local" or "dask", recorded in the resume manifest
    writes_parts: bool  # the workers write each unit as a Parquet part (the runner writes nothing)
    depth: int  # units kept in flight beyond the one being collected

    def options(self) -> dict[str, Any]:
        """What of the engine changes the output (recorded, compared on resume)."""

    def start(self, job: ChunkJob, first_rows: int, input_bytes: int, **context: Any) -> None:
        """Get ready to transform ``job``'s units (worker processes, a cluster)."""

    def submit(self, unit: Unit) -> Any:
        """Start transforming ``unit``; returns what :meth:`next_outcome` waits for."""

    def next_outcome(self, pending: deque) -> Outcome:
        """Take a finished unit out of ``pending`` and return its outcome."""

    def hash_files(self, paths: list[Path]) -> list[str]:
        """SHA-256 of ``paths``, where the engine reads its files."""

    def cancel(self, pending: deque) -> None:
        """Give up on the ``pending`` units (the run failed)."""

    def close(self) -> None:
        """Release workers and clients."""


def split_markers(chunk: Any) -> tuple[Any, Any]:
    """``chunk`` without the reader's marker columns, and its per-row read status."""
    from tonecls.io.reading import LINE_COLUMN, READ_STATUS_COLUMN

    read_status = chunk[READ_STATUS_COLUMN].to_numpy(dtype=object)
    return chunk.drop(columns=[READ_STATUS_COLUMN, LINE_COLUMN]), read_status


def transform_unit(job: ChunkJob, index: int, frame: Any, output: Any, bad_lines: list, digest: Any) -> Outcome:
    """The outcome of a transformed chunk: ``output`` checked to have its rows, counted."""
    if len(output) != len(frame):
        raise RuntimeError(f"{type(job).__name__}.transform returned {len(output)} rows for a chunk of {len(frame)}")
    statuses = status_counts(output) if job.writes_status else {}
    return Outcome(index, len(output), statuses, job.tally(output), bad_lines, digest, frame=output)


@dataclass
class _Pending:
    unit: Unit
    frame: Any
    collect: Callable[[], Any]


class LocalEngine:
    """Chunks transformed here or in local worker processes, outcomes in input order."""

    name = "local"
    writes_parts = False

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers
        self.depth = 0
        self._job: ChunkJob | None = None
        self._transformer: Any = None

    def options(self) -> dict[str, Any]:
        return {"engine": self.name}

    def start(self, job: ChunkJob, first_rows: int, input_bytes: int, **_: Any) -> None:
        from tonecls.io.parallel import transformer_for

        self._job = job
        self._transformer = transformer_for(job, first_rows, input_bytes, self.workers)
        self.depth = self._transformer.depth

    def submit(self, unit: Unit) -> _Pending:
        frame, read_status = split_markers(unit.frame)
        return _Pending(unit, frame, self._transformer.submit(frame, read_status))

    def next_outcome(self, pending: deque) -> Outcome:
        """The outcome of the first pending unit (waiting for it)."""
        item = pending.popleft()
        return transform_unit(self._job, item.unit.index, item.frame, item.collect(), item.unit.bad_lines,
                              item.unit.digest)

    def hash_files(self, paths: list[Path]) -> list[str]:
        return [sha256_file(path) for path in paths]

    def cancel(self, pending: deque) -> None:
        """Nothing to cancel: pending chunks finish in the transformer, whose :meth:`close` ends it."""

    def close(self) -> None:
        if self._transformer is not None:
            self._transformer.close()
