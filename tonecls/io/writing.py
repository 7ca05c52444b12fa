"""Writing exports: DataFrame chunks appended to a file atomically, resumably, losslessly.

:class:`ExportWriter` appends chunks to ``<target>.partial`` (Parquet: one file per chunk in
``<target>.partial.parts/``, merged at the end) and renames it to the target when it is
closed without error; an interrupted job continues with ``resume=True``.

Values are written as they are:

- Parquet keeps every type: integers (nullable), decimals, timestamps, nested lists / structs
  / maps and binary pass through, with the types a Parquet input declared (``schema=``); a
  column's type may widen from chunk to chunk (a null column that later holds numbers, a
  decimal whose precision grows), and a column holding both text and other values is text;
- CSV/TSV/JSONL: integers as integers, floats in their shortest exact form (``repr``:
  ``float(text) == value``; float32 in float32's shortest form; infinities as the text
  ``inf`` / ``-inf``, since JSON has none; NaN is missing), text unchanged; nested
  values as JSON text, binary values as base64 text, decimals and dates as their text
  (JSONL: strings), missing values empty (CSV) or ``null`` (JSONL);
- columns first seen after the first chunk (late JSONL keys) are added: Parquet and CSV/TSV
  files get them for every row (empty before), JSONL records from where they appear.
"""

from __future__ import annotations

import base64
import csv
import datetime
import decimal
import gzip
import hashlib
import io
import json
import math
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tonecls.errors import InputError
from tonecls.io.files import atomic_write, partial_path, sha256_file
from tonecls.io.formats import check_format, is_gzipped, separator
from tonecls.io.manifest import ResumeRefused
from tonecls.io.reading import MARKER_COLUMNS

__all__ = [
    "ExportWriter",
    "conform_table",
    "merged_columns",
    "to_json_value",
    "to_text_value",
    "unify_schemas",
    "write_unified",
]


# --- values -----------------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _finite(value: float) -> Any:
    """A float as JSON holds it: itself, or ``"inf"`` / ``"-inf"`` as text (JSON has no
    infinities); NaN is missing."""
    if math.isnan(value):
        return None
    return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")


def to_json_value(value: Any) -> Any:
    """A value as plain JSON data, without loss: numpy scalars and arrays as Python numbers
    and lists, floats unchanged (``json`` writes their shortest exact form), bytes as base64
    text, decimals, dates and other scalars as their text; missing as None."""
    if _is_missing(value):
        return None
    if isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, np.floating):
        return _finite(float(str(value)) if value.dtype == np.float32 else float(value))
    if isinstance(value, np.generic):
        return to_json_value(value.item())
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        if isinstance(value, list) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {str(k): to_json_value(v) for k, v in value}  # an Arrow map: (key, value) pairs
        return [to_json_value(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return str(value)


def to_text_value(value: Any) -> str | None:
    """A value as the text of one CSV/TSV field: text unchanged, numbers exact, nested
    values as JSON text, binary as base64; missing as None (an empty field)."""
    if _is_missing(value):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple, np.ndarray)):
        return json.dumps(to_json_value(value), ensure_ascii=False, allow_nan=False)
    plain = to_json_value(value)
    return plain if isinstance(plain, str) else str(plain)


def _needs_text(column: pd.Series) -> bool:
    """Whether a column's values must be turned into text for CSV/TSV (pandas would write
    nested values, bytes and the like with Python's repr)."""
    return column.dtype == object or isinstance(column.dtype, pd.ArrowDtype)


def _json_values(column: pd.Series) -> list:
    """The values of a column as JSON data, vectorised for the common dtypes."""
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype) or dtype == object:
        if isinstance(dtype, pd.StringDtype):
            return [None if _is_missing(v) else v for v in column.tolist()]
        return [to_json_value(v) for v in column.tolist()]
    if pd.api.types.is_float_dtype(dtype) and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
        values = column.to_numpy()
        if values.dtype == np.float32:  # shortest float32 form, as float64 text
            return [_finite(float(str(v))) for v in values]
        return [v if math.isfinite(v) else _finite(v) for v in values.tolist()]
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return [None if _is_missing(v) else v for v in column.astype(object).tolist()]
    return [to_json_value(v) for v in column.astype(object).tolist()]


def _encode_jsonl(chunk: pd.DataFrame) -> bytes:
    columns = [_json_values(chunk[name]) for name in chunk.columns]
    names = list(chunk.columns)
    dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
    lines = [dumps(dict(zip(names, row))) for row in zip(*columns)]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def _encode_delimited(chunk: pd.DataFrame, sep: str, header: bool) -> bytes:
    converted = {
        name: chunk[name].map(to_text_value, na_action="ignore").astype(object)
        for name in chunk.columns if _needs_text(chunk[name])
    }
    if converted:
        chunk = chunk.assign(**converted)
    # csv quotes fields containing "\n" but (before Python 3.12) not a lone "\r", which
    # readers take as a line break: quote every field of a chunk that has one
    has_cr = any(
        chunk[column].astype("str").str.contains("\r", regex=False).any()
        for column in chunk.columns
        if chunk[column].dtype == object or pd.api.types.is_string_dtype(chunk[column].dtype)
    )
    quoting = csv.QUOTE_ALL if has_cr else csv.QUOTE_MINIMAL
    return chunk.to_csv(index=False, header=header, sep=sep, lineterminator="\n", quoting=quoting).encode("utf-8")


# --- Parquet schemas --------------------------------------------------------------------------


def _arrow_column(column: pd.Series, declared):
    """An Arrow array of a pandas column: with the declared type if any, else inferred; a
    column mixing text with other values (or that Arrow cannot type) becomes text."""
    import pyarrow as pa

    if declared is not None:
        try:
            return pa.array(column, type=declared, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError):
            pass  # e.g. JSON text in a column declared as a list: fall through
    try:
        array = pa.array(column, from_pandas=True)
        if pa.types.is_large_string(array.type):  # pandas' str dtype: plain string, as read
            array = array.cast(pa.string())
        if column.dtype == object and not pa.types.is_string(array.type) and not pa.types.is_null(array.type):
            kinds = {type(v) for v in column.tolist() if not _is_missing(v)}
            if str in kinds and len(kinds) > 1:
                raise pa.ArrowInvalid("mixed text and other values")
        return array
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError, OverflowError):
        return pa.array(column.map(to_text_value, na_action="ignore").astype(object), type=pa.string(),
                        from_pandas=True)


def _unify_types(types: Sequence):
    """One Arrow type for a column whose parts have ``types``: equal types stay, nulls take
    the other type, numbers and decimals widen as Arrow promotes them; text otherwise."""
    import pyarrow as pa

    distinct = [t for i, t in enumerate(types) if t not in types[:i]]
    concrete = [t for t in distinct if not pa.types.is_null(t)]
    if not concrete:
        return pa.string()  # a column that is null everywhere
    if len(concrete) == 1:
        return concrete[0]
    try:
        schema = pa.unify_schemas([pa.schema([pa.field("c", t)]) for t in concrete], promote_options="permissive")
        unified = schema.field("c").type
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.string()
    return pa.string() if pa.types.is_dictionary(unified) else unified


def unify_schemas(schemas: Iterable, columns: Sequence[str]):
    """The one schema (in ``columns`` order) that every part's data fits (:func:`_unify_types`)."""
    import pyarrow as pa

    schemas = list(schemas)
    fields = []
    for name in columns:
        types = [s.field(name).type for s in schemas if name in s.names]
        fields.append(pa.field(name, _unify_types(types) if types else pa.string()))
    return pa.schema(fields)


class _LossyCast(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


def conform_table(table, schema):
    """``table`` with the columns and types of ``schema`` (a missing column is null; a value
    that cannot be cast to text is written as JSON text). Raises :class:`_LossyCast` naming a
    column whose values the target type cannot hold exactly (e.g. an integer above 2**53 as
    a float)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays = []
    for field in schema:
        if field.name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, type=field.type))
            continue
        column = table.column(field.name)
        if column.type == field.type:
            arrays.append(column)
            continue
        if not pa.types.is_string(field.type):
            try:
                arrays.append(pc.cast(column, field.type, safe=True))
                continue
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                raise _LossyCast(field.name) from None
        try:
            if pa.types.is_floating(column.type):
                raise pa.ArrowNotImplementedError("floats as their shortest text")
            arrays.append(pc.cast(column, field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            values = [to_text_value(v) for v in column.to_pylist()]
            arrays.append(pa.array(values, type=pa.string()) if pa.types.is_string(field.type)
                          else pa.array(values).cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def write_unified(parts: Sequence[Path], columns: Sequence[str], target: Path | None = None) -> None:
    """Give Parquet ``parts`` one schema (:func:`unify_schemas`): merged into ``target``, or,
    without a target, each part that differs rewritten in place (a directory of parts)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas = [pq.read_schema(p) for p in parts]
    schema = unify_schemas(schemas, columns)
    if not parts:
        schema = pa.schema([pa.field(c, pa.string()) for c in columns])
    while True:
        try:
            if target is not None:
                with pq.ParquetWriter(target, schema) as writer:
                    for part in parts:
                        writer.write_table(conform_table(pq.read_table(part), schema))
                    if not parts:
                        writer.write_table(schema.empty_table())
            else:
                for part, own in zip(parts, schemas):
                    if own.remove_metadata() != schema:
                        temporary = part.with_name(part.name + ".unify")
                        pq.write_table(conform_table(pq.read_table(part), schema), temporary)
                        os.replace(temporary, part)
            return
        except _LossyCast as lossy:  # e.g. integers too large for a float: text
            schema = schema.set(schema.get_field_index(lossy.name), pa.field(lossy.name, pa.string()))
            schemas = [pq.read_schema(p) for p in parts]


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


def _state_path(partial: Path) -> Path:
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
        self.state_file = _state_path(self.partial)
        self.declared = schema
        self.rows_written = 0
        self.columns: list[str] | None = None
        self._header_columns: list[str] | None = None  # CSV/TSV: the columns of the header line
        self._segments: list[list] = []  # CSV/TSV: [first row, columns] each time the columns grow
        self._parts = 0
        self._bytes = 0
        self._closed = False
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
        not recorded) is dropped; a partial output holding less than ``state`` is refused."""
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
            for stray in self.parts_dir.glob("part-*.parquet*"):
                if stray not in self._part_files():
                    stray.unlink()
        else:
            size = self.partial.stat().st_size if self.partial.is_file() else -1
            if size < self._bytes:
                raise ResumeRefused(
                    f"cannot resume: the partial output {self.partial} holds {max(size, 0):,} bytes, less than "
                    f"the {self._bytes:,} recorded as written (it was truncated or replaced). Run again "
                    "without --resume to start over.")
            with open(self.partial, "r+b") as handle:  # drop a chunk whose completion was not recorded
                handle.truncate(self._bytes)
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
            return
        start = 0
        with open(self.partial, "rb") as handle:
            for number, record in enumerate(records, start=1):
                digest, left = hashlib.sha256(), record["end"] - start
                while left > 0:
                    block = handle.read(min(left, 1 << 20))
                    if not block:
                        break
                    digest.update(block)
                    left -= len(block)
                if left or digest.hexdigest() != record["sha256"]:
                    raise ResumeRefused(
                        f"cannot resume: the partial output {self.partial} differs from what was written "
                        f"(chunk {number}, bytes {start:,} to {record['end']:,}, has another SHA-256: it was "
                        "damaged or edited). Run again without --resume to start over.")
                start = record["end"]

    def _discard(self) -> None:
        if (self.partial.exists() or self.partial.is_symlink()) and not self.state_file.exists():
            raise InputError(
                f"{self.partial} exists and was not written by tonecls; tonecls writes its "
                "partial output there. Move or rename that file, then run again."
            )
        self.partial.unlink(missing_ok=True)
        self.state_file.unlink(missing_ok=True)
        if self.parts_dir.exists():
            shutil.rmtree(self.parts_dir)

    # writing -----------------------------------------------------------------------------

    def _conform(self, chunk: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(chunk, pd.DataFrame):
            raise TypeError(f"ExportWriter.write takes a DataFrame, not {type(chunk).__name__}")
        chunk = chunk.drop(columns=[c for c in MARKER_COLUMNS if c in chunk.columns])
        columns = [str(c) for c in chunk.columns]
        if len(set(columns)) != len(columns):
            raise InputError(f"cannot write {self.path}: duplicate column names in {columns}")
        chunk.columns = columns
        self.columns = columns if self.columns is None else _merge_columns(self.columns, columns)
        return chunk.reindex(columns=self.columns)

    def write(self, chunk: pd.DataFrame) -> dict[str, Any]:
        """Append one chunk (its index is not written). Returns what was written: the end offset
        and SHA-256 of its bytes (text formats) or its part file and that file's SHA-256
        (Parquet), with the writer's :attr:`state` after it."""
        if self._closed:
            raise ValueError("write to a closed ExportWriter")
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
            _arrow_column(chunk[name], declared.field(name).type
                          if declared is not None and name in declared.names else None)
            for name in chunk.columns
        ]
        table = pa.Table.from_arrays(arrays, names=list(chunk.columns))
        part = self.parts_dir / f"part-{self._parts:06d}.parquet"
        pq.write_table(table, part.with_name(part.name + ".partial"))
        os.replace(part.with_name(part.name + ".partial"), part)
        self._parts += 1
        return part

    def close(self) -> Path:
        """Finish the file and move it to the target path; returns the path."""
        if self._closed:
            return self.path
        if self.format == "parquet":
            self._merge_parts()
        elif self.format != "jsonl":
            if self._header_columns is None and self.columns is not None:
                self._header_columns = []
                self._write_header_only()
            elif self.columns is not None and self._header_columns != self.columns:
                self._rewrite_with_all_columns()
        os.replace(self.partial, self.path)
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
        opener = gzip.open if self.gzip else open
        rewritten = self.partial.with_name(self.partial.name + ".rewrite")
        with opener(self.partial, "rb") as source, opener(rewritten, "wb") as target:
            text_in = io.TextIOWrapper(source, encoding="utf-8", newline="")
            text_out = io.TextIOWrapper(target, encoding="utf-8", newline="")
            reader = csv.reader(text_in, delimiter=sep, strict=True)
            minimal = csv.writer(text_out, delimiter=sep, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
            quote_all = csv.writer(text_out, delimiter=sep, lineterminator="\n", quoting=csv.QUOTE_ALL)
            next(reader)  # the old header
            minimal.writerow(self.columns)
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
