"""Writing exports: DataFrame chunks appended to a file atomically, resumably.

:class:`ExportWriter` appends chunks to ``<target>.partial`` (Parquet: one file per chunk in
``<target>.partial.parts/``) and renames it to the target when it is closed without error; an
interrupted job continues with ``resume=True`` (see the class docstring).
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import shutil
from pathlib import Path

import pandas as pd

from tonecls.errors import InputError
from tonecls.io.files import atomic_write, partial_path
from tonecls.io.formats import check_format, is_gzipped
from tonecls.io.reading import MARKER_COLUMNS

__all__ = ["ExportWriter"]


def _state_path(partial: Path) -> Path:
    return partial.with_name(partial.name + ".state.json")


def _one_type_per_column(chunk: pd.DataFrame, schema) -> pd.DataFrame:
    """``chunk`` with mixed text/non-text columns, and columns the schema holds as text, as text.

    Non-null values become ``str(value)``; nulls stay null. Other columns are left alone.
    """
    import pyarrow as pa

    converted = {}
    for name in chunk.columns:
        column = chunk[name]
        text_in_schema = schema is not None and name in schema.names and pa.types.is_string(schema.field(name).type)
        if isinstance(column.dtype, pd.StringDtype) or (column.dtype != object and not text_in_schema):
            continue  # text only, or a typed column that Parquet stores as it is
        values = column.dropna()
        is_text = values.map(type).eq(str) if column.dtype == object else pd.Series(False, index=values.index)
        if values.empty or bool(is_text.all()):
            continue
        if text_in_schema or bool(is_text.any()):
            converted[name] = column.where(column.isna(), column.astype(str))
    return chunk.assign(**converted) if converted else chunk


class ExportWriter:
    """Append DataFrame chunks to an export, atomically.

    Chunks go to ``<path>.partial`` (Parquet: one file per chunk in ``<path>.partial.parts/``)
    and the target appears only when the writer is closed without error, as one complete file.
    The marker columns of :func:`read_export` are dropped. The columns are fixed by the first
    chunk: later chunks are reordered to them, a missing column is written as null, and an
    unknown column raises :class:`InputError`. Parquet holds one type per column, so a column
    mixing text with numbers (common in JSONL exports) is written as text, and a column that
    was text in the first chunk stays text.

    Parameters
    ----------
    path : path
        The target file; its extension gives the format (``.gz`` compresses CSV/TSV/JSONL).
    format : str, optional
        Override the format detected from the extension.
    resume : bool
        Continue an interrupted writer: keep what a previous writer of the same ``path``
        completed (``rows_written_`` rows, whole chunks only) and append after it. Without a
        previous partial this starts from scratch. Without ``resume`` any partial is discarded.

    Attributes
    ----------
    rows_written_ : int
        Rows written so far, including those kept by ``resume``; feed it to
        ``read_export(..., skip_rows=writer.rows_written_)`` to continue the input.
    columns_ : list of str or None
        The output columns, fixed by the first chunk.

    On an exception inside the ``with`` block the target is not created, and the partial and
    its small state file (``<path>.partial.state.json``) stay for ``resume``; :meth:`abort`
    deletes them.

    >>> with ExportWriter("scored.parquet") as writer:              # doctest: +SKIP
    ...     for chunk in read_export("posts.csv"):
    ...         writer.write(score(chunk))
    """

    def __init__(self, path: str | os.PathLike, format: str | None = None, *, resume: bool = False):
        self.path = Path(path)
        self.format = check_format(self.path, format)
        self.gzip = is_gzipped(self.path)
        self.partial = partial_path(self.path)
        self.parts_dir = self.partial.with_name(self.partial.name + ".parts")
        self.state_file = _state_path(self.partial)
        self.rows_written_ = 0
        self.columns_: list[str] | None = None
        self._schema = None
        self._parts = 0
        self._closed = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume and self.state_file.exists():
            self._restore()
        else:
            self._discard()
            if self.format == "parquet":
                self.parts_dir.mkdir()
            else:
                self.partial.write_bytes(b"")
            self._save_state(0)

    # state -------------------------------------------------------------------------------

    def _save_state(self, size: int) -> None:
        state = {
            "format": self.format,
            "gzip": self.gzip,
            "rows": self.rows_written_,
            "columns": self.columns_,
            "bytes": size,
            "parts": self._parts,
        }
        if self._schema is not None:
            state["schema"] = self._schema.serialize().to_pybytes().hex()
        with atomic_write(self.state_file) as out:
            json.dump(state, out)

    def _restore(self) -> None:
        try:
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
            if state["format"] != self.format or state["gzip"] != self.gzip:
                raise ValueError(f"it was written as {state['format']}")
            self.rows_written_ = int(state["rows"])
            self.columns_ = state["columns"]
            self._parts = int(state["parts"])
            if self.format == "parquet":
                import pyarrow as pa

                if state.get("schema"):
                    self._schema = pa.ipc.read_schema(pa.py_buffer(bytes.fromhex(state["schema"])))
                self.parts_dir.mkdir(exist_ok=True)
                for stray in self.parts_dir.glob("part-*.parquet"):
                    if int(stray.stem.split("-")[1]) >= self._parts:
                        stray.unlink()
            else:
                with open(self.partial, "r+b") as handle:  # drop a half-written chunk
                    handle.truncate(int(state["bytes"]))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise InputError(
                f"cannot resume writing {self.path}: the partial output is unusable ({error}). "
                "Run again without resume to start over."
            ) from None

    def _discard(self) -> None:
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
        if self.columns_ is None:
            self.columns_ = columns
            return chunk
        extra = [c for c in columns if c not in self.columns_]
        if extra:
            raise InputError(
                f"cannot write {self.path}: column(s) {extra} appear after the first chunk, "
                f"whose columns were {self.columns_}. Select a fixed set of columns."
            )
        return chunk.reindex(columns=self.columns_)

    def write(self, chunk: pd.DataFrame) -> None:
        """Append one chunk (its index is not written)."""
        if self._closed:
            raise ValueError("write to a closed ExportWriter")
        chunk = self._conform(chunk)
        if self.format == "parquet":
            self._write_parquet_part(chunk)
            size = 0
        else:
            data = self._encode(chunk, header=self.rows_written_ == 0 and self._empty_partial())
            if self.gzip:
                data = gzip.compress(data, compresslevel=6, mtime=0)  # one gzip member per chunk
            with open(self.partial, "ab") as handle:
                handle.write(data)
                size = handle.tell()
        self.rows_written_ += len(chunk)
        self._save_state(size)

    def _empty_partial(self) -> bool:
        return self.partial.stat().st_size == 0

    def _encode(self, chunk: pd.DataFrame, header: bool) -> bytes:
        if self.format == "jsonl":
            if chunk.empty:
                return b""
            text = chunk.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
            return (text if text.endswith("\n") else text + "\n").encode("utf-8")
        sep = "," if self.format == "csv" else "\t"
        # csv quotes fields containing "\n" but (before Python 3.12) not a lone "\r", which
        # readers take as a line break: quote every field of a chunk that has one
        has_cr = any(
            chunk[column].astype("str").str.contains("\r", regex=False).any()
            for column in chunk.columns
            if chunk[column].dtype == object or pd.api.types.is_string_dtype(chunk[column].dtype)
        )
        quoting = csv.QUOTE_ALL if has_cr else csv.QUOTE_MINIMAL
        return chunk.to_csv(
            index=False, header=header, sep=sep, lineterminator="\n", quoting=quoting
        ).encode("utf-8")

    def _write_parquet_part(self, chunk: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        chunk = _one_type_per_column(chunk, self._schema)
        try:
            if self._schema is None:
                table = pa.Table.from_pandas(chunk, preserve_index=False)
                # a column that is all null in the first chunk gets a string type, not "null"
                fields = [
                    pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema
                ]
                self._schema = pa.schema(fields).remove_metadata()
            table = pa.Table.from_pandas(chunk, schema=self._schema, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise InputError(
                f"cannot write {self.path}: a chunk does not fit the Parquet schema of the first "
                f"chunk ({error}). Make the column types consistent."
            ) from None
        part = self.parts_dir / f"part-{self._parts:06d}.parquet"
        pq.write_table(table, part.with_name(part.name + ".partial"))
        os.replace(part.with_name(part.name + ".partial"), part)
        self._parts += 1

    def close(self) -> Path:
        """Finish the file and move it to the target path; returns the path."""
        if self._closed:
            return self.path
        if self.format == "parquet":
            self._merge_parts()
        elif self.rows_written_ == 0 and self._empty_partial() and self.columns_ is not None:
            self._write_header_only()
        os.replace(self.partial, self.path)
        self.state_file.unlink(missing_ok=True)
        if self.parts_dir.exists():
            shutil.rmtree(self.parts_dir)
        self._closed = True
        return self.path

    def _write_header_only(self) -> None:
        data = self._encode(pd.DataFrame(columns=self.columns_), header=True)
        if self.gzip:
            data = gzip.compress(data, mtime=0)
        self.partial.write_bytes(data)

    def _merge_parts(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = self._schema if self._schema is not None else pa.schema([])
        parts = [self.parts_dir / f"part-{i:06d}.parquet" for i in range(self._parts)]
        with pq.ParquetWriter(self.partial, schema) as writer:
            for part in parts:
                writer.write_table(pq.read_table(part, schema=schema))

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
