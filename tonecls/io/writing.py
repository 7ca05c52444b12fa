"""Writing exports: DataFrame chunks appended to a file atomically, resumably, losslessly.

:class:`ExportWriter` appends chunks to ``<target>.partial`` (Parquet: one file per chunk in
``<target>.partial.parts/``, merged at the end) and renames it to the target when it is
closed without error; an interrupted job continues with ``resume=True``.

Values are written as they are (the rules are in :mod:`tonecls.io.values`):

- Parquet keeps every type (:mod:`tonecls.io.arrow`): integers (nullable), floats (NaN as NaN, missing as null),
  decimals, timestamps, nested lists / structs / maps and binary pass through, with the types
  a Parquet input declared (``schema=``); a column's type may widen from chunk to chunk (a
  null column that later holds numbers, a decimal whose precision grows); a column that is
  null everywhere stays null-typed; a column whose values no one Parquet type holds exactly
  (text beside other values, integers beyond a double beside floats) is text, each non-text
  value as its text; a value Parquet cannot hold at all (a JSON number such as ``1e400``, an
  integer beyond 64 bits) is refused with an :class:`~tonecls.errors.InputError`;
- CSV/TSV/JSONL: integers as integers, floats in their shortest exact form (float32 in
  float32's), a NaN value as ``NaN`` and infinities as ``Infinity`` / ``-Infinity`` (JSON
  numbers in JSONL, as Python's ``json`` writes them; the field's text in CSV/TSV), a JSON
  number kept as text (:class:`~tonecls.io.values.RawNumber`) as that text, text unchanged,
  nested values as JSON text (CSV/TSV) or JSON (JSONL: an empty map is ``{}``), binary as
  base64 text, decimals, dates and times as their text (JSONL: strings), missing values
  empty (CSV/TSV) or ``null`` (JSONL);
- column names are written exactly; CSV/TSV hold repeated names, JSONL and Parquet cannot
  (:func:`check_output_columns` refuses them before any work);
- columns first seen after the first chunk (late JSONL keys) are added: Parquet and CSV/TSV
  files get them for every row (empty before), JSONL records from where they appear.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from tonecls.errors import InputError
from tonecls.io.arrow import arrow_column, check_parquet_depth, write_unified
from tonecls.io.files import atomic_write, check_partial_is_ours, fsync_dir, fsync_file, partial_path, sha256_file
from tonecls.io.formats import check_format, is_gzipped, separator
from tonecls.io.manifest import ResumeRefused
from tonecls.io.reading import MARKER_COLUMNS
from tonecls.io.values import RawNumber, encode_json, float_text, is_missing, to_json_value, to_text_value

__all__ = [
    "ExportWriter",
    "check_output_columns",
    "merged_columns",
    "state_path",
    "to_json_value",
    "to_text_value",
]


# --- columns ----------------------------------------------------------------------------------


def repeated_names(columns: Sequence[str]) -> list[str]:
    """The names ``columns`` holds more than once, in order of first appearance."""
    counts = Counter(columns)
    return [name for name in dict.fromkeys(columns) if counts[name] > 1]


def check_output_columns(path: str | os.PathLike, columns: Sequence[Any], format: str | None = None) -> None:
    """Refuse, before any work, column names that the output format of ``path`` cannot hold:
    a repeated name in JSONL (an object's keys) or Parquet (a schema's fields) output."""
    path = Path(path)
    fmt = check_format(path, format)
    repeated = repeated_names([str(c) for c in columns])
    if repeated and fmt in ("jsonl", "parquet"):
        raise InputError(
            f"cannot write {path}: the input repeats the column name(s) {repeated}, and a "
            f"{'JSON Lines record' if fmt == 'jsonl' else 'Parquet schema'} holds each name once. "
            "Write a CSV or TSV output, which keeps the header as it is, or rename the repeated "
            "columns in the input."
        )


# --- values as JSON ---------------------------------------------------------------------------


def _masked_floats(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The data and missing mask of a nullable float column (a NaN there is a value)."""
    dtype = column.dtype.numpy_dtype
    return column.to_numpy(dtype=dtype, na_value=dtype.type(0)), column.isna().to_numpy()


def _float_list(values: np.ndarray) -> list[float]:
    """Numpy floats as Python floats, float32 in its own shortest form."""
    if values.dtype == np.float32:
        return [float(str(v)) for v in values]
    return values.astype(np.float64, copy=False).tolist()


def _is_masked_float(dtype: Any) -> bool:
    return isinstance(dtype, (pd.Float32Dtype, pd.Float64Dtype))


def _is_numpy_float(dtype: Any) -> bool:
    return isinstance(dtype, np.dtype) and dtype.kind == "f"


def _json_values(column: pd.Series) -> list:
    """The values of a column as JSON data (:func:`to_json_value`), vectorised for the common
    dtypes; a NaN of a numpy float column is missing, of a nullable float column a value."""
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype):
        values = column.tolist()
        for i in np.flatnonzero(column.isna().to_numpy()):
            values[i] = None
        return values
    if dtype == object:
        return [to_json_value(v) for v in column.tolist()]
    if _is_numpy_float(dtype):
        values = column.to_numpy()
        return [None if v != v else v for v in _float_list(values)]
    if _is_masked_float(dtype):
        data, missing = _masked_floats(column)
        return [None if m else v for v, m in zip(_float_list(data), missing.tolist())]
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return [None if is_missing(v) else v for v in column.astype(object).tolist()]
    return [to_json_value(v) for v in column.astype(object).tolist()]


_encode_object = json.JSONEncoder(ensure_ascii=False, allow_nan=True).encode


def _encode_jsonl(chunk: pd.DataFrame) -> bytes:
    names = list(chunk.columns)
    columns = [_json_values(chunk.iloc[:, i]) for i in range(len(names))]
    records = [dict(zip(names, row)) for row in zip(*columns)] if names else [{} for _ in range(len(chunk))]
    try:
        lines = [_encode_object(record) for record in records]
    except TypeError:  # a RawNumber: its own text
        lines = [encode_json(record) for record in records]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


# --- values as CSV/TSV fields -----------------------------------------------------------------


def _float_texts(values: np.ndarray) -> np.ndarray:
    """Field texts of numpy floats as pandas writes finite ones (float32: numpy's shortest
    form, ``1e+06``; float64: ``repr``), NaN as ``NaN``, infinities as ``Infinity``."""
    if values.dtype == np.float32:
        texts = [str(v) if np.isfinite(v) else float_text(float(v)) for v in values]
    else:
        texts = [float_text(v) for v in values.tolist()]
    return np.array(texts, dtype=object)


def _field_texts(column: pd.Series) -> pd.Series | np.ndarray | None:
    """A column's values as the texts of CSV/TSV fields (None: missing) where pandas would not
    write them exactly or alike in every chunk (nested values, bytes, a NaN value, infinities,
    datetimes); None where it would."""
    dtype = column.dtype
    if dtype == object or isinstance(dtype, pd.ArrowDtype) or dtype.kind in "mM":
        # (pandas writes a datetime column whose times are all midnight as dates: per chunk)
        return column.map(to_text_value, na_action="ignore").astype(object)
    if _is_masked_float(dtype):
        data, missing = _masked_floats(column)
        texts = _float_texts(data)
        texts[missing] = None
        return texts
    if _is_numpy_float(dtype):
        values = column.to_numpy()
        if np.isinf(values).any():
            texts = _float_texts(values)
            texts[np.isnan(values)] = None
            return texts
    return None


def _holds_carriage_return(chunk: pd.DataFrame, header: bool) -> bool:
    if header and any("\r" in str(name) for name in chunk.columns):
        return True
    for i in range(chunk.shape[1]):
        column = chunk.iloc[:, i]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            if column.astype("str").str.contains("\r", regex=False).any():
                return True
    return False


def _encode_delimited(chunk: pd.DataFrame, sep: str, header: bool) -> bytes:
    texts = {i: _field_texts(chunk.iloc[:, i]) for i in range(chunk.shape[1])}
    texts = {i: values for i, values in texts.items() if values is not None}
    if texts:
        chunk = chunk.copy(deep=False)
        for i, values in texts.items():
            chunk.isetitem(i, values)
    # csv quotes fields containing "\n" but (before Python 3.12) not a lone "\r", which
    # readers take as a line break: quote every field of a chunk that has one
    quoting = csv.QUOTE_ALL if _holds_carriage_return(chunk, header) else csv.QUOTE_MINIMAL
    return chunk.to_csv(index=False, header=header, sep=sep, lineterminator="\n", quoting=quoting).encode("utf-8")


def merged_columns(column_lists: Iterable[Sequence[str]]) -> list[str]:
    """The columns of several chunks in one order (each new one after its predecessor)."""
    merged: list[str] = []
    for columns in column_lists:
        merged = _merge_columns(merged, columns)
    return merged


def _merge_columns(known: list[str], new: Sequence[str]) -> list[str]:
    """``known`` with the names of ``new`` it lacks, each placed after its predecessor in ``new``."""
    merged = list(known)
    for i, name in enumerate(new):
        if name in merged:
            continue
        before = next((new[j] for j in range(i - 1, -1, -1) if new[j] in merged), None)
        merged.insert(0 if before is None else merged.index(before) + 1, name)
    return merged


# --- the writer -------------------------------------------------------------------------------


@contextlib.contextmanager
def _opened(path: Path, mode: str, gzipped: bool) -> Iterator[IO[bytes]]:
    """``path`` opened in binary ``mode``, through gzip if ``gzipped``; a gzip stream written
    holds no file name and no time (the same rows give the same bytes, as chunks' members do)."""
    with open(path, mode) as raw:
        if not gzipped:
            yield raw
            return
        with gzip.GzipFile(filename="", mode=mode, fileobj=raw, compresslevel=6, mtime=0) as stream:
            yield stream


def first_difference(path: Path, records: Sequence[dict[str, Any]]) -> int | None:
    """The number (from 1) of the first chunk of a text output whose bytes in ``path`` differ
    from its write record (``end`` offset, ``sha256``), or None if ``path`` holds them all."""
    start = 0
    with open(path, "rb") as handle:
        for number, record in enumerate(records, start=1):
            digest, left = hashlib.sha256(), record["end"] - start
            while left > 0:
                block = handle.read(min(left, 1 << 20))
                if not block:
                    break
                digest.update(block)
                left -= len(block)
            if left or digest.hexdigest() != record["sha256"]:
                return number
            start = record["end"]
    return None


def state_path(partial: Path) -> Path:
    """Where an :class:`ExportWriter` keeps the state of its partial output ``partial``."""
    return partial.with_name(partial.name + ".state.json")


class ExportWriter:
    """Append DataFrame chunks to an export, atomically (see the module docstring).

    Chunks go to ``<path>.partial`` (Parquet: one file per chunk in ``<path>.partial.parts/``)
    and the target appears only when the writer is closed without error, as one complete file.
    The marker columns of :func:`~tonecls.io.reading.read_export` are dropped; the index is
    not written.

    Parameters
    ----------
    path : path
        The target file; its extension gives the format (``.gz`` compresses CSV/TSV/JSONL).
    format : str, optional
        Override the format detected from the extension.
    resume : bool or dict
        Continue an interrupted writer: keep what a previous writer of the same ``path``
        completed (``rows_written`` rows, whole chunks only) and append after it: from its
        state file (True), or from a :attr:`state` the caller recorded (a dict: anything
        written after that state is dropped). With True and no previous partial this starts
        from scratch. Without ``resume`` a partial left by an earlier writer is discarded; a
        ``<path>.partial`` that no writer left is refused.
    schema : pyarrow.Schema, optional
        Declared types of (some) columns for Parquet output, e.g. the schema of a Parquet
        input (:func:`~tonecls.io.reading.parquet_schema`), so that its columns keep their types.

    Attributes
    ----------
    rows_written : int
        Rows written so far, including those kept by ``resume``.
    columns : list of str or None
        The output columns so far.

    On an exception inside the ``with`` block the target is not created, and the partial and
    its small state file (``<path>.partial.state.json``) stay for ``resume``; :meth:`abort`
    deletes them.

    >>> with ExportWriter("scored.parquet") as writer:              # doctest: +SKIP
    ...     for chunk in read_export("posts.csv"):
    ...         writer.write(score(chunk))
    """

    def __init__(self, path: str | os.PathLike, format: str | None = None, *,
                 resume: bool | dict[str, Any] = False, schema=None):
        self.path = Path(path)
        self.format = check_format(self.path, format)
        self.gzip = is_gzipped(self.path)
        self.partial = partial_path(self.path)
        self.parts_dir = self.partial.with_name(self.partial.name + ".parts")
        self.state_file = state_path(self.partial)
        self.declared = schema
        self.rows_written = 0
        self.columns: list[str] | None = None
        self._header_columns: list[str] | None = None  # CSV/TSV: the columns of the header line
        self._segments: list[list] = []  # CSV/TSV: [first row, columns] each time the columns grow
        self._parts = 0
        self._bytes = 0
        self._closed = False
        self._unrecorded = False  # restored: bytes or parts past the state are still to be dropped
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(resume, dict):
            self._restore(resume)
        elif resume and self.state_file.exists():
            self._restore(self._read_state())
        else:
            self._discard()
            if self.format == "parquet":
                self.parts_dir.mkdir()
            else:
                self.partial.write_bytes(b"")
            self._save_state()

    # state -------------------------------------------------------------------------------

    @property
    def state(self) -> dict[str, Any]:
        """What the writer has written so far, as plain data: with it, a later writer of the
        same path continues exactly here (``ExportWriter(path, resume=state)``)."""
        return {"format": self.format, "gzip": self.gzip, "rows": self.rows_written,
                "columns": self.columns, "header_columns": self._header_columns,
                "segments": self._segments, "bytes": self._bytes, "parts": self._parts}

    def _save_state(self) -> None:
        with atomic_write(self.state_file) as out:
            json.dump(self.state, out)

    def _read_state(self) -> dict[str, Any]:
        try:
            return json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise InputError(f"cannot resume writing {self.path}: its state file is unreadable ({error}). "
                             "Run again without resume to start over.") from None

    def _restore(self, state: dict[str, Any]) -> None:
        """Continue after ``state``: anything written after it (a chunk whose completion was
        not recorded) is dropped once the partial is verified, or at the first write or close
        (a refused resume leaves the partial as it was); a partial output holding less than
        ``state`` is refused."""
        try:
            if state["format"] != self.format or state["gzip"] != self.gzip:
                raise ValueError(f"it was written as {state['format']}")
            self.rows_written = int(state["rows"])
            self.columns = state["columns"]
            self._header_columns = state.get("header_columns")
            self._segments = state.get("segments") or []
            self._parts = int(state["parts"])
            self._bytes = int(state["bytes"])
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(f"cannot resume writing {self.path}: the partial output is unusable ({error}). "
                             "Run again without resume to start over.") from None
        if self.format == "parquet":
            missing = [p.name for p in self._part_files() if not p.is_file()]
            if missing or not self.parts_dir.is_dir():
                raise ResumeRefused(f"cannot resume: part files {missing[:3]} of the partial output "
                                    f"{self.parts_dir} are missing. Run again without --resume to start over.")
        else:
            size = self.partial.stat().st_size if self.partial.is_file() else -1
            if size < self._bytes:
                raise ResumeRefused(
                    f"cannot resume: the partial output {self.partial} holds {max(size, 0):,} bytes, less than "
                    f"the {self._bytes:,} recorded as written (it was truncated or replaced). Run again "
                    "without --resume to start over.")
        self._unrecorded = True  # dropped once verified (or at the first write): a refusal keeps the partial

    def _drop_unrecorded(self) -> None:
        """Drop what was written after the restored state (a chunk whose completion was not
        recorded): the bytes past it, or its stray part files."""
        if not self._unrecorded:
            return
        if self.format == "parquet":
            for stray in self.parts_dir.glob("part-*.parquet*"):
                if stray not in self._part_files():
                    stray.unlink()
        else:
            with open(self.partial, "r+b") as handle:
                handle.truncate(self._bytes)
        self._unrecorded = False
        self._save_state()

    def _part_files(self) -> list[Path]:
        return [self.parts_dir / f"part-{i:06d}.parquet" for i in range(self._parts)]

    def verify(self, records: Sequence[dict[str, Any]]) -> None:
        """Check that the partial output holds exactly what ``records`` (the write records of
        :meth:`write`, in order) say was written; :class:`ResumeRefused` naming the first
        difference, the partial kept as it is."""
        if self.format == "parquet":
            for record in records:
                if sha256_file(self.parts_dir / record["part"]) != record["sha256"]:
                    raise ResumeRefused(f"cannot resume: {self.parts_dir / record['part']} differs from what was "
                                        "written (its SHA-256 changed). Run again without --resume to start over.")
            self._drop_unrecorded()
            return
        number = first_difference(self.partial, records)
        if number is not None:
            start, end = (records[number - 2]["end"] if number > 1 else 0), records[number - 1]["end"]
            raise ResumeRefused(
                f"cannot resume: the partial output {self.partial} differs from what was written "
                f"(chunk {number}, bytes {start:,} to {end:,}, has another SHA-256: it was "
                "damaged or edited). Run again without --resume to start over.")
        self._drop_unrecorded()

    def _discard(self) -> None:
        check_partial_is_ours(self.partial, self.state_file)
        self.partial.unlink(missing_ok=True)
        self.state_file.unlink(missing_ok=True)
        if self.parts_dir.exists():
            shutil.rmtree(self.parts_dir)

    # writing -----------------------------------------------------------------------------

    def _conform(self, chunk: pd.DataFrame) -> pd.DataFrame:
        """``chunk`` without the marker columns, with every column written so far in order
        (a column it lacks: missing values)."""
        if not isinstance(chunk, pd.DataFrame):
            raise TypeError(f"ExportWriter.write takes a DataFrame, not {type(chunk).__name__}")
        chunk = chunk.drop(columns=[c for c in MARKER_COLUMNS if c in chunk.columns])
        columns = [str(c) for c in chunk.columns]
        chunk.columns = columns
        check_output_columns(self.path, columns, self.format)
        if not columns and len(chunk) and self.format != "jsonl":
            raise InputError(
                f"cannot write {self.path}: {len(chunk)} rows have no column at all (e.g. JSON "
                "Lines records {}), which a CSV, TSV or Parquet file cannot hold. Write a JSONL "
                "output, or add a column."
            )
        if self.columns is None or columns == self.columns:
            self.columns = columns
            return chunk
        if repeated_names(columns) or repeated_names(self.columns):
            raise InputError(
                f"cannot write {self.path}: a chunk's columns {columns} differ from the earlier "
                f"chunks' {self.columns}, and repeated names cannot be matched up. Write chunks "
                "with the same columns."
            )
        self.columns = _merge_columns(self.columns, columns)
        lacking = np.full(len(chunk), None, dtype=object)
        return pd.DataFrame({name: chunk[name] if name in chunk.columns else lacking for name in self.columns},
                            index=chunk.index)

    def write(self, chunk: pd.DataFrame) -> dict[str, Any]:
        """Append one chunk (its index is not written). Returns what was written: the end offset
        and SHA-256 of its bytes (text formats) or its part file and that file's SHA-256
        (Parquet), with the writer's :attr:`state` after it."""
        if self._closed:
            raise ValueError("write to a closed ExportWriter")
        self._drop_unrecorded()
        chunk = self._conform(chunk)
        if self.format == "parquet":
            part = self._write_parquet_part(chunk)
            record = {"part": part.name, "sha256": sha256_file(part)}
        else:
            if self.format == "jsonl":
                data = _encode_jsonl(chunk)
            else:
                header = self._header_columns is None
                if header:
                    self._header_columns = list(chunk.columns)
                if not self._segments or self._segments[-1][1] != list(chunk.columns):
                    self._segments.append([self.rows_written, list(chunk.columns)])
                data = _encode_delimited(chunk, separator(self.format), header=header)
            if self.gzip:
                data = gzip.compress(data, compresslevel=6, mtime=0)  # one gzip member per chunk
            with open(self.partial, "ab") as handle:
                handle.write(data)
                self._bytes = handle.tell()
            record = {"end": self._bytes, "sha256": hashlib.sha256(data).hexdigest()}
        self.rows_written += len(chunk)
        self._save_state()
        return {**record, "writer": self.state}

    def _write_parquet_part(self, chunk: pd.DataFrame) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        declared = self.declared
        arrays = [
            arrow_column(chunk[name], declared.field(name).type
                          if declared is not None and name in declared.names else None)
            for name in chunk.columns
        ]
        table = pa.Table.from_arrays(arrays, names=list(chunk.columns))
        check_parquet_depth(table.schema, self.path)
        part = self.parts_dir / f"part-{self._parts:06d}.parquet"
        pq.write_table(table, part.with_name(part.name + ".partial"))
        os.replace(part.with_name(part.name + ".partial"), part)
        self._parts += 1
        return part

    def close(self) -> Path:
        """Finish the file and move it to the target path; returns the path."""
        if self._closed:
            return self.path
        self._drop_unrecorded()
        if self.format == "parquet":
            self._merge_parts()
        elif self.format != "jsonl":
            if self._header_columns is None and self.columns is not None:
                self._header_columns = []
                self._write_header_only()
            elif self.columns is not None and self._header_columns != self.columns:
                self._rewrite_with_all_columns()
        fsync_file(self.partial)  # the rows on disk before the rename makes them the output
        os.replace(self.partial, self.path)
        fsync_dir(self.path.parent)
        self.state_file.unlink(missing_ok=True)
        if self.parts_dir.exists():
            shutil.rmtree(self.parts_dir)
        self._closed = True
        return self.path

    def _write_header_only(self) -> None:
        data = _encode_delimited(pd.DataFrame(columns=self.columns), separator(self.format), header=True)
        if self.gzip:
            data = gzip.compress(data, mtime=0)
        self.partial.write_bytes(data)

    def _rewrite_with_all_columns(self) -> None:
        """CSV/TSV whose columns grew after the header was written: rewrite it with every
        column, the new ones empty in the rows written before they appeared."""
        sep = separator(self.format)
        rewritten = self.partial.with_name(self.partial.name + ".rewrite")
        with _opened(self.partial, "rb", self.gzip) as source, _opened(rewritten, "wb", self.gzip) as target:
            text_in = io.TextIOWrapper(source, encoding="utf-8", newline="")
            text_out = io.TextIOWrapper(target, encoding="utf-8", newline="")
            reader = csv.reader(text_in, delimiter=sep, strict=True)
            minimal = csv.writer(text_out, delimiter=sep, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
            quote_all = csv.writer(text_out, delimiter=sep, lineterminator="\n", quoting=csv.QUOTE_ALL)
            next(reader)  # the old header
            (quote_all if any("\r" in name for name in self.columns) else minimal).writerow(self.columns)
            segments = [(start, {name: i for i, name in enumerate(columns)}) for start, columns in self._segments]
            segment, index = -1, []
            for number, row in enumerate(reader):
                while segment + 1 < len(segments) and number >= segments[segment + 1][0]:
                    segment += 1
                    positions = segments[segment][1]
                    index = [positions.get(name) for name in self.columns]
                values = ["" if i is None else row[i] for i in index]
                (quote_all if any("\r" in v for v in values) else minimal).writerow(values)
            text_out.flush()
            text_out.detach()
            text_in.detach()
        os.replace(rewritten, self.partial)

    def _merge_parts(self) -> None:
        parts = [self.parts_dir / f"part-{i:06d}.parquet" for i in range(self._parts)]
        write_unified(parts, self.columns or [], target=self.partial)

    def abort(self) -> None:
        """Delete the partial output (no resume possible)."""
        self._closed = True
        self._discard()

    def __enter__(self) -> ExportWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._closed = True  # keep the partial and its state for resume
