"""Where a file job's output goes: one file written here, or a directory of Parquet parts.

A sink records what each unit wrote (its write record, kept in the resume manifest), checks on
resume that the partial output still holds exactly that, and on success puts the output in
place in one rename; on failure the partial output stays for resume (or :meth:`abort` removes it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from tonecls.io.files import replace_dir, sha256_file
from tonecls.io.manifest import ResumeRefused

__all__ = ["FileSink", "PART_NAME", "PartsSink", "Sink"]

UNIFIED_DIR = ".unified"  # inside the partial directory: the parts given one schema, before the final move
PART_NAME = "part-{:05d}.parquet"  # numbered in input order: readers take the directory in that order


class Sink(Protocol):
    """What the runner needs of where an output goes."""

    def verify(self, records: Sequence[dict[str, Any]],
               hash_files: Callable[[list[Path]], list[str]] | None = None) -> None:
        """Refuse to resume (:class:`ResumeRefused`) unless the partial output holds what ``records`` say."""

    def write(self, frame: Any) -> dict[str, Any]:
        """Write one unit's rows; returns its write record."""

    def close(self, records: Sequence[dict[str, Any]] = ()) -> Path:
        """Put the complete output in place (``records``: every unit's write record)."""

    def abort(self) -> None:
        """Delete the partial output (no resume possible)."""


class FileSink:
    """One output file, written here in unit order by :class:`~tonecls.io.writing.ExportWriter`."""

    def __init__(self, output: Path, records: Sequence[dict[str, Any]], schema: Any = None) -> None:
        from tonecls.io.writing import ExportWriter

        # resumed: continue after the last recorded unit (anything written after it is dropped)
        if records:
            _take_back_finished(output, records)
        state = records[-1].get("writer") if records else None
        if records and not isinstance(state, dict):
            raise ResumeRefused(f"cannot resume: the resume manifest of {output} records no writer state for its "
                                "last chunk (it was edited). Run again without --resume to start over.")
        self.writer = ExportWriter(output, resume=dict(state) if records else False, schema=schema)

    def verify(self, records: Sequence[dict[str, Any]], hash_files: Any = None) -> None:
        """Refuse to resume unless the partial output holds exactly what ``records`` say."""
        if records:
            self.writer.verify(records)

    def write(self, frame: Any) -> dict[str, Any]:
        """Append the rows of one unit; returns the write record."""
        return self.writer.write(frame)

    def close(self, records: Sequence[dict[str, Any]] = ()) -> Path:
        return self.writer.close()

    def abort(self) -> None:
        self.writer.abort()


def _take_back_finished(output: Path, records: Sequence[dict[str, Any]]) -> None:
    """A run stopped between its output's final rename and the removal of its manifest: the
    output, if it holds exactly the recorded chunks, becomes the partial again (the resume then
    finishes it as it was); else the resume is refused, naming what happened."""
    from tonecls.io.files import partial_path
    from tonecls.io.manifest import manifest_path
    from tonecls.io.writing import first_difference

    partial = partial_path(output)
    if partial.exists() or not output.is_file():
        return
    if "end" in records[-1] and output.stat().st_size == records[-1]["end"] \
            and first_difference(output, records) is None:
        os.replace(output, partial)
        return
    raise ResumeRefused(
        f"cannot resume: {output} exists and its partial output {partial} does not: the interrupted run "
        f"had finished, and stopped before removing its resume manifest {manifest_path(output)}. Check "
        f"{output}, then delete the manifest; or run again without --resume to start over.")


def _linked_copy(source: Path, target: Path) -> Path:
    """``target`` as a hard link to ``source`` (a copy where there are no hard links)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
    return target


class PartsSink:
    """A directory of Parquet parts written by workers into ``<output>.partial/``; on success
    the parts get one schema and the directory replaces ``output``."""

    def __init__(self, output: Path, resumed: bool = False) -> None:
        self.output = output
        self.partial = Path(f"{output}.partial")
        if not resumed:
            if self.partial.exists():
                shutil.rmtree(self.partial)
            self.partial.mkdir(parents=True)

    def verify(self, records: Sequence[dict[str, Any]],
               hash_files: Callable[[list[Path]], list[str]] | None = None) -> None:
        """Refuse to resume unless every part ``records`` name is there with its SHA-256
        (``hash_files`` computes them, e.g. on the workers; default: here)."""
        if not records:
            return
        hash_files = hash_files or (lambda paths: [sha256_file(p) for p in paths])
        paths = [self.partial / r["part"] for r in records]
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            raise ResumeRefused(f"cannot resume: part files {missing[:5]} recorded as done are missing from "
                                f"{self.partial}. Run again without --resume to start over.")
        for path, record, digest in zip(paths, records, hash_files(paths)):
            if digest != record["sha256"]:
                raise ResumeRefused(f"cannot resume: {path} differs from what was written (its SHA-256 "
                                    "changed). Run again without --resume to start over.")

    def part_path(self, index: int) -> Path:
        return self.partial / PART_NAME.format(index)

    def write(self, frame: Any) -> dict[str, Any]:
        raise RuntimeError("a directory of parts is written by its workers, not row by row")

    def close(self, records: Sequence[dict[str, Any]] = ()) -> Path:
        """Give the parts that ``records`` name one schema (late JSONL keys, widening types) in
        a copy of the directory (a failure on the way leaves the recorded parts as they were,
        for resume), then move the copy into place. Anything else in the directory (a part a
        cancelled task wrote after the run gave up on it) is removed first: the output holds
        exactly the recorded units."""
        import pyarrow.parquet as pq

        from tonecls.io.arrow import write_unified
        from tonecls.io.writing import merged_columns

        parts = [self.partial / r["part"] for r in records]
        for stray in set(self.partial.iterdir()) - set(parts):
            shutil.rmtree(stray) if stray.is_dir() and not stray.is_symlink() else stray.unlink()
        unified = self.partial / UNIFIED_DIR
        unified.mkdir()
        copies = [_linked_copy(part, unified / part.name) for part in parts]
        write_unified(copies, merged_columns(pq.read_schema(p).names for p in copies))  # replaces, never edits
        replace_dir(unified, self.output)
        shutil.rmtree(self.partial)
        return self.output

    def abort(self) -> None:
        shutil.rmtree(self.partial, ignore_errors=True)
