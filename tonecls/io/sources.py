"""What a file job reads, as units of work: chunks read here, or whole files read by workers.

An input is one export file, a directory of part files (as Spark, Dask or a database export
writes them; names starting with ``_`` or ``.`` are skipped) or a glob pattern; the parts must
share one format. :class:`ChunkSource` reads the files in this process chunk by chunk (one
position numbering across the files); :class:`FileSource` only lists them, each file being one
unit that a worker reads (:mod:`tonecls.io.dask_engine`), so that the client reads nothing but
each file's header (:func:`check_every_header`: a missing text or id column fails before any work).
"""

from __future__ import annotations

import glob
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tonecls.errors import InputError
from tonecls.io.files import ContentHash, check_input_file
from tonecls.io.formats import detect_format

__all__ = ["ChunkSource", "FileSource", "Unit", "check_every_header", "check_output_outside", "input_files",
           "input_header", "read_input"]

#: what a job writes beside its output while it runs (partial, manifest, writer state, lock)
WORKING_SUFFIXES = ("", ".partial", ".partial.json", ".partial.state.json", ".lock")


def _is_part(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(("_", "."))


def input_files(input: str | os.PathLike) -> tuple[list[Path], str]:
    """The files of an input (a file, a directory of parts, or a glob) in order, and their format."""
    text = os.fspath(input)
    path = Path(text)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if _is_part(p))
        where = f"directory {path}"
    elif glob.has_magic(text) and not path.exists():
        files = sorted(Path(p) for p in glob.glob(text) if _is_part(Path(p)))
        where = f"pattern {text!r}"
    else:
        return [check_input_file(path)], detect_format(path)
    if not files:
        raise InputError(f"the {where} holds no export files; pass a file, a folder of part files or a "
                         "pattern such as 'exports/*.parquet'.")
    formats = {detect_format(f) for f in files}
    if len(formats) > 1:
        raise InputError(f"the {where} mixes formats ({', '.join(sorted(formats))}); give one format's parts "
                         "at a time, e.g. with a pattern such as 'exports/*.csv'.")
    for file in files:
        check_input_file(file)
    return files, formats.pop()


def read_input(input: str | os.PathLike, **read_options: Any) -> Iterator[Any]:
    """The chunks of an input (a file, a directory of parts such as a Dask output, or a glob)
    as :func:`~tonecls.io.reading.read_export` yields them, positions numbered across its files."""
    files, _ = input_files(input)
    return ChunkSource(files, **read_options).chunks()


def input_header(input: str | os.PathLike) -> list[str]:
    """The columns of an input (of its first file; see :func:`read_input`)."""
    from tonecls.io.reading import read_header

    return read_header(input_files(input)[0][0])


def check_every_header(files: list[Path], required: list[str]) -> None:
    """Refuse a multi-file input one of whose files lacks a ``required`` column, before any
    work (each file's header only: a Parquet footer, a CSV/TSV header line, a first JSONL line)."""
    from tonecls.io.reading import parquet_schema, read_header

    for file in files[1:]:
        columns = parquet_schema(file).names if detect_format(file) == "parquet" else read_header(file)
        missing = [c for c in required if c not in columns]
        if missing:
            raise InputError(f"{file} (a file of the input) has no column(s) {missing}; its columns are "
                             f"{columns[:20]}. Every file of the input needs them.")


def _required(read_options: dict[str, Any]) -> list[str]:
    return [c for c in (read_options.get("text_col"), read_options.get("id_col")) if c is not None]

def check_output_outside(input: str | os.PathLike, output: str | os.PathLike) -> None:
    """Refuse an output inside a directory input, or one a pattern input matches: a later
    run, or ``--resume`` after an interrupt, would take it (or the partial output, manifest
    and lock beside it) for a part of the input."""
    text, target = os.fspath(input), Path(output).resolve()
    path = Path(text)
    if path.is_dir():
        inside = path.resolve() in target.parents
    elif glob.has_magic(text) and not path.exists():
        pattern = os.path.abspath(text)
        inside = any(Path(f"{target}{suffix}").match(pattern) for suffix in WORKING_SUFFIXES)
    else:
        return
    if inside:
        raise InputError(f"the output {output} is inside the input {text}: a later run (or --resume) would read "
                         "it, or the partial output and lock written beside it, as a part of the input. Choose an "
                         "output outside the input's folder.")


@dataclass
class Unit:
    """One unit of work: a chunk read here (``frame``, its ``digest`` and the malformed lines
    in it), or a whole input file a worker reads (``file``)."""

    index: int
    frame: Any = None
    digest: str | None = None
    bad_lines: list = field(default_factory=list)
    file: Path | None = None


class ChunkSource:
    """The chunks of ``files`` read in this process (positions numbered across the files)."""

    reads_here = True

    def __init__(self, files: list[Path], **read_options: Any) -> None:
        self.files = files
        self.read_options = read_options
        self._first: Any = None
        self._chunks: Iterator | None = None

    def columns(self) -> list[str]:
        """The input's columns, from its first chunk (read now: a missing column fails here)."""
        from tonecls.io.reading import MARKER_COLUMNS

        if len(self.files) > 1:
            check_every_header(self.files, _required(self.read_options))
        self._chunks = self.chunks()
        self._first = next(self._chunks, None)
        return [] if self._first is None else [c for c in self._first.columns if c not in MARKER_COLUMNS]

    def chunks(self) -> Iterator:
        """The chunks of every file in turn (without the digests of :meth:`units`)."""
        from tonecls.io.reading import read_export

        start = 0
        for file in self.files:
            last = None
            for chunk in read_export(file, **self.read_options):
                if start:
                    chunk.index = chunk.index + start
                if len(self.files) > 1:
                    chunk.attrs["file"] = file.name
                last = chunk
                yield chunk
            if last is not None and len(last):
                start = int(last.index[-1]) + 1

    @property
    def first_rows(self) -> int:
        """Rows of the first chunk (0 before :meth:`columns` or for an empty input)."""
        return 0 if self._first is None else len(self._first)

    def units(self) -> Iterator[Unit]:
        """Every chunk as a :class:`Unit`, with its content digest and malformed lines."""
        from tonecls.io.reading import LINE_COLUMN, READ_STATUS_COLUMN
        from tonecls.schema import Status

        if self._chunks is None:
            self.columns()
        chunks = itertools.chain([] if self._first is None else [self._first], self._chunks)
        for index, chunk in enumerate(chunks):
            digest = ContentHash()
            digest.update(chunk)
            status = chunk[READ_STATUS_COLUMN].to_numpy(dtype=object)
            lines = chunk[LINE_COLUMN][status == Status.MALFORMED_LINE].dropna().astype(int).tolist()
            yield Unit(index, frame=chunk, digest=digest.hexdigest(), bad_lines=self._name_lines(chunk, lines))

    def _name_lines(self, chunk: Any, lines: list[int]) -> list:
        """Line numbers of malformed records; with several files, as ``file:line``."""
        if len(self.files) == 1 or not lines:
            return lines
        return [f"{self._file_of(chunk)}:{line}" for line in lines]

    def _file_of(self, chunk: Any) -> str:
        return getattr(chunk, "attrs", {}).get("file", "?")


class FileSource:
    """Each of ``files`` as one unit, to be read by a worker; this process reads only the
    files' headers (to check the columns before any work)."""

    reads_here = False
    first_rows = 0

    def __init__(self, files: list[Path], **read_options: Any) -> None:
        self.files = files
        self.read_options = read_options

    def columns(self) -> list[str]:
        from tonecls.io.reading import MARKER_COLUMNS, read_export

        header = next(iter(read_export(self.files[0], **{**self.read_options, "chunksize": 1})), None)
        check_every_header(self.files, _required(self.read_options))
        return [] if header is None else [c for c in header.columns if c not in MARKER_COLUMNS]

    def units(self) -> Iterator[Unit]:
        for index, file in enumerate(self.files):
            yield Unit(index, file=file)
