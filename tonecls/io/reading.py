"""Reading exports chunk by chunk: every input row exactly once, in order.

:func:`read_export` streams a file in chunks of ``chunksize`` rows, so memory stays flat
whatever the file size:

- every chunk's index is the 0-based position of its rows in the file (continuing across
  chunks), so ``chunk.index[0]`` says where a chunk starts;
- CSV/TSV values are kept as the strings in the file (ids like ``00123`` stay ``"00123"``, an
  empty field is ``""``; nothing is turned into numbers or NaN); JSONL keeps JSON types;
  Parquet keeps its column types;
- every chunk carries two marker columns (:data:`MARKER_COLUMNS`): :data:`READ_STATUS_COLUMN`
  (``"ok"``, ``"malformed_line"`` for a CSV/TSV record with the wrong number of fields or bad
  quoting or a JSONL line that is not a JSON object, ``"invalid_encoding"`` for a line that is
  not valid UTF-8, whose undecodable bytes were replaced by U+FFFD) and :data:`LINE_COLUMN`
  (the physical 1-based line where the record starts; null for Parquet). A malformed record
  comes out as a row in its place with every data column null.
  :class:`~tonecls.io.writing.ExportWriter` drops the marker columns, so they never reach an
  output file.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import json
import math
import os
import re
import sys
import zlib
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from tonecls.errors import InputError
from tonecls.io.formats import check_format, detect_format, is_gzipped, separator
from tonecls.io.options import ON_BAD_LINES, OnBadLines
from tonecls.schema import Status

__all__ = [
    "LINE_COLUMN",
    "MARKER_COLUMNS",
    "READ_STATUS_COLUMN",
    "ReadFailed",
    "count_rows",
    "parquet_schema",
    "read_export",
    "read_header",
]

READ_STATUS_COLUMN = "_tonecls_read_status"
LINE_COLUMN = "_tonecls_line"
MARKER_COLUMNS = (READ_STATUS_COLUMN, LINE_COLUMN)

# A quoted CSV field may span lines; one still open after this many lines is taken to be an
# unterminated quote: its first line is flagged and parsing resumes on the next line.
MAX_RECORD_LINES = 1000


class ReadFailed(InputError):
    """The input could not be read to its end (it vanished, or is truncated or corrupt); a job
    keeps its completed chunks, to resume once the input is restored."""


# --- reading -------------------------------------------------------------------------------

# Python's csv module refuses fields over 131,072 characters by default; a post is never cut.
if csv.field_size_limit() < sys.maxsize // 2:
    csv.field_size_limit(min(sys.maxsize, 2**62))


class _Lines:
    """Physical lines of a text export, decoded one by one, with line numbers.

    Used as the line iterator of :func:`csv.reader`; it remembers the lines of the record being
    parsed so that a malformed record can be flagged at its first line and the following lines
    parsed again. ``bytes_read`` counts the bytes read from the file so far.
    """

    def __init__(self, raw: IO[bytes]):
        self._readline = raw.readline
        self._replay: deque[tuple[str, bool]] = deque()
        self.record: list[tuple[str, bool]] = []  # (line, decoded cleanly) of the current record
        self.record_start = 1  # physical line number of the first line of the current record
        self.clean = True  # every line of the current record was valid UTF-8
        self.bytes_read = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self._replay:
            line, ok = self._replay.popleft()
        else:
            data = self._readline()
            if not data:
                raise StopIteration
            self.bytes_read += len(data)
            try:
                line, ok = data.decode("utf-8"), True
            except UnicodeDecodeError:
                line, ok = data.decode("utf-8", errors="replace"), False
        record = self.record
        record.append((line, ok))
        if not ok:
            self.clean = False
        if len(record) > MAX_RECORD_LINES:
            raise _RecordTooLong(f"a quoted field is still open after {MAX_RECORD_LINES} lines")
        return line

    def next_record(self) -> None:
        """Start a new record after the current one."""
        self.record_start += len(self.record)
        self.record = []
        self.clean = True

    def reject_first_line(self) -> tuple[str, bool]:
        """Drop the current record's first line (malformed) and re-read the others; returns
        that line and whether it decoded cleanly."""
        first = self.record[0]
        self._replay.extendleft(reversed(self.record[1:]))
        self.record_start += 1
        self.record = []
        self.clean = True
        return first


class _RecordTooLong(Exception):
    pass


def _open_binary(path: Path) -> IO[bytes]:
    if is_gzipped(path):
        return io.BufferedReader(gzip.open(path, "rb"), buffer_size=1 << 20)
    return open(path, "rb", buffering=1 << 20)


def _header_names(fields: list[str]) -> list[str]:
    """Column names as pandas makes them: a blank name becomes ``Unnamed: i``, a repeated
    name ``x.1``, ``x.2``..."""
    names: list[str] = []
    for i, field in enumerate(fields):
        base = field if field.strip() else f"Unnamed: {i}"
        name, k = base, 0
        while name in names:
            k += 1
            name = f"{base}.{k}"
        names.append(name)
    return names


def _bad_line(path: Path, line: int, what: str, on_bad_lines: str) -> None:
    if on_bad_lines == "error":
        raise InputError(
            f"{path}, line {line}: {what}. Fix the line, or read with on_bad_lines='flag' "
            "to keep it as a flagged row."
        )


def _strip_newline(line: str) -> str:
    if line.endswith("\r\n"):
        return line[:-2]
    return line.removesuffix("\n")


def _recover(fields: list[str], n_columns: int, text_index: int | None, sep: str) -> list[str | None]:
    """The values of a malformed record, as far as they can be told: columns before the text
    column from the left, columns after it from the right, everything between in the text."""
    if len(fields) == n_columns:
        return list(fields)
    if len(fields) < n_columns:
        return [*fields, *([None] * (n_columns - len(fields)))]
    middle = n_columns - 1 if text_index is None else text_index
    after = n_columns - middle - 1
    return [*fields[:middle], sep.join(fields[middle:len(fields) - after]), *fields[len(fields) - after:]]


def _iter_delimited(
    path: Path, sep: str, on_bad_lines: str, text_col: str | None
) -> tuple[list[str], _Lines, Iterator[tuple[list[str | None], str, int]]]:
    """Header, line source and an iterator of ``(fields, status, start line)`` per record.

    A record the csv module rejects, or with the wrong number of fields, is ``malformed_line``
    with the values recovered from it (:func:`_recover`). One exception: a single line that
    splits into exactly the header's number of fields and that quoting cannot explain (TSV,
    where quotes are ordinary characters to most writers, or a line without quotes holding a
    bare carriage return) is read literally, as ``ok``.
    """
    raw = _open_binary(path)
    first = raw.peek(3)[:3] if hasattr(raw, "peek") else b""
    if first == codecs.BOM_UTF8:
        raw.read(3)
    lines = _Lines(raw)
    reader = csv.reader(lines, delimiter=sep, strict=True)

    def next_fields():
        try:
            return next(reader)
        except StopIteration:
            return None
        except (csv.Error, _RecordTooLong) as error:
            if not lines.record:  # nothing read: the error is about the file itself
                raise InputError(f"cannot parse {path}: {error}") from None
            line = lines.record_start
            text, clean = lines.reject_first_line()
            return error, line, text, clean

    try:
        header = next_fields()
    except Exception:
        raw.close()
        raise
    if header is None or not header:
        raw.close()
        raise InputError(
            f"{path} has no header line; a {sep!r}-separated export must start with the "
            "column names."
        )
    if isinstance(header, tuple):
        raw.close()
        raise InputError(f"cannot parse the header line of {path} ({header[0]}); fix its quoting.")
    names = _header_names(header)
    n_columns = len(names)
    text_index = names.index(text_col) if text_col in names else None
    lines.next_record()

    def literal(text: str) -> list[str] | None:
        fields = _strip_newline(text).split(sep)
        if len(fields) == n_columns and (sep == "\t" or '"' not in text):
            return fields
        return None

    def records():
        with raw:
            while True:
                start = lines.record_start
                fields = next_fields()
                if fields is None:
                    return
                if isinstance(fields, tuple):
                    error, line, text, clean = fields
                    values = literal(text)
                    if values is not None:
                        yield values, Status.OK if clean else Status.INVALID_ENCODING, line
                        continue
                    _bad_line(path, line, f"cannot parse the record ({error})", on_bad_lines)
                    values = _recover(_strip_newline(text).split(sep), n_columns, text_index, sep)
                    yield values, Status.MALFORMED_LINE, line
                    continue
                if not fields:  # blank line: not a record
                    lines.next_record()
                    continue
                if len(fields) != n_columns:
                    if len(lines.record) > 1:  # maybe an unterminated quote: re-read after line 1
                        text, _ = lines.reject_first_line()
                        fields = _strip_newline(text).split(sep)
                    else:
                        lines.next_record()
                    _bad_line(
                        path, start, f"expected {n_columns} fields, found {len(fields)}", on_bad_lines
                    )
                    yield _recover(fields, n_columns, text_index, sep), Status.MALFORMED_LINE, start
                    continue
                status = Status.OK if lines.clean else Status.INVALID_ENCODING
                lines.next_record()
                yield fields, status, start

    return names, lines, records()


_JSON_PAIR = re.compile(
    r'"((?:[^"\\]|\\.)*)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null)')


def _json_fields(text: str) -> dict[str, Any]:
    """The ``"key": scalar`` pairs that can be read from a line that is not valid JSON."""
    found: dict[str, Any] = {}
    for match in _JSON_PAIR.finditer(text):
        try:
            key, value = json.loads(f'"{match.group(1)}"'), json.loads(match.group(2))
        except ValueError:
            continue
        found.setdefault(key, value)
    return found


_RAW_LINE = object()  # key of a malformed line's raw text in the records of _iter_jsonl
_decode = json.JSONDecoder().decode


def _iter_jsonl(path: Path, on_bad_lines: str, size: list[int]) -> Iterator[tuple[dict, str, int]]:
    """``(record, status, line)`` per non-blank line; a line that is not a JSON object is
    ``malformed_line``, its record ``{_RAW_LINE: text}``. ``size[0]`` counts the bytes read."""
    with _open_binary(path) as raw:
        for number, data in enumerate(raw, start=1):
            size[0] += len(data)
            if number == 1 and data.startswith(codecs.BOM_UTF8):
                data = data[3:]
            status = Status.OK
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text, status = data.decode("utf-8", errors="replace"), Status.INVALID_ENCODING
            if not text.strip():
                continue
            try:
                record = _decode(text)
                problem = None if isinstance(record, dict) else f"expected a JSON object, found {type(record).__name__}"
            except ValueError as error:
                problem = f"not valid JSON ({error})"
            if problem is not None:
                _bad_line(path, number, problem, on_bad_lines)
                record = {_RAW_LINE: _strip_newline(text)}
                yield record, Status.MALFORMED_LINE, number
                continue
            yield record, status, number


def _select(names: Sequence[str], wanted: Sequence[str] | None) -> list[str]:
    if wanted is None:
        return list(names)
    wanted = set(wanted)
    return [n for n in names if n in wanted]


def _with_markers(frame: pd.DataFrame, statuses: list, lines: list | None, start: int) -> pd.DataFrame:
    """``frame`` with the marker columns (``lines`` None: no line numbers, as for Parquet) and
    the index of its rows' positions in the file."""
    n = len(frame)
    if n and statuses.count(Status.OK) == n:  # the common case, without a per-row conversion
        frame[READ_STATUS_COLUMN] = pd.Series(str(Status.OK), index=frame.index, dtype="str")
    else:
        frame[READ_STATUS_COLUMN] = pd.array([str(s) for s in statuses], dtype="str")
    if lines is None:
        frame[LINE_COLUMN] = pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    else:
        frame[LINE_COLUMN] = pd.arrays.IntegerArray(np.asarray(lines, dtype=np.int64), np.zeros(n, dtype=bool))
    frame.index = pd.RangeIndex(start, start + n)
    return frame


class _Limits:
    """When a chunk is full: ``rows`` rows, or ``bytes`` bytes of input (either may be None)."""

    def __init__(self, rows: int | None, size: int | None) -> None:
        self.rows, self.size = rows, size

    def full(self, rows: int, size: int) -> bool:
        return (self.rows is not None and rows >= self.rows) or (self.size is not None and size >= self.size)


def _delimited_chunks(path, sep, limits, on_bad_lines, wanted, check, skip_rows, text_col):
    names, lines, records = _iter_delimited(path, sep, on_bad_lines, text_col)
    _check_columns(path, names, check)
    keep = _select(names, wanted)
    positions = [names.index(n) for n in keep]
    all_columns = positions == list(range(len(names)))
    position = 0
    rows, statuses, line_numbers = [], [], []
    start_bytes = lines.bytes_read
    max_rows, max_bytes = limits.rows or math.inf, limits.size or math.inf
    for fields, status, line in records:
        if position < skip_rows:
            position += 1
            start_bytes = lines.bytes_read
            continue
        rows.append(fields if all_columns else [fields[i] for i in positions])
        statuses.append(status)
        line_numbers.append(line)
        if len(rows) >= max_rows or lines.bytes_read - start_bytes >= max_bytes:
            yield _rows_frame(rows, keep, statuses, line_numbers, position)
            position += len(rows)
            rows, statuses, line_numbers = [], [], []
            start_bytes = lines.bytes_read
    if rows or position == skip_rows == 0:
        yield _rows_frame(rows, keep, statuses, line_numbers, position)


def _rows_frame(rows, names, statuses, line_numbers, start) -> pd.DataFrame:
    columns = list(zip(*rows)) if rows else [()] * len(names)
    frame = pd.DataFrame({name: pd.array(values, dtype="str") for name, values in zip(names, columns)})
    if not names:
        frame = pd.DataFrame(index=pd.RangeIndex(len(rows)))
    return _with_markers(frame, statuses, line_numbers, start)


def _object_column(values: list) -> np.ndarray:
    """JSON values as they are (no per-chunk guessing: 64-bit ints stay ints beside nulls)."""
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def _jsonl_chunks(path, limits, on_bad_lines, wanted, check, skip_rows, text_col, id_col):
    known: dict[str, None] = {}  # column names in order of first appearance
    position = 0
    records, statuses, line_numbers = [], [], []
    size = [0]  # bytes read; the chunk started at `start`
    start = 0
    checked = False

    def flush():
        nonlocal checked
        if not checked:
            _check_columns(path, list(known), check)
            checked = True
        names = _select(list(known), wanted)
        frame = pd.DataFrame(
            {name: _object_column([r.get(name) for r in records]) for name in names},
            index=pd.RangeIndex(len(records)),
        )
        return _with_markers(frame, statuses, line_numbers, position)

    max_rows, max_bytes = limits.rows or math.inf, limits.size or math.inf
    for record, status, line in _iter_jsonl(path, on_bad_lines, size):
        if status is Status.MALFORMED_LINE:  # the raw text, and the known keys found in it
            raw = record[_RAW_LINE]
            record = {k: v for k, v in _json_fields(raw).items() if k in known or k == id_col}
            if text_col is not None:
                record[text_col] = raw
        known.update(dict.fromkeys(record))  # skipped rows contribute their keys too
        if position < skip_rows:
            position += 1
            start = size[0]
            continue
        records.append(record)
        statuses.append(status)
        line_numbers.append(line)
        if len(records) >= max_rows or size[0] - start >= max_bytes:
            yield flush()
            position += len(records)
            records, statuses, line_numbers = [], [], []
            start = size[0]
    if records or position == skip_rows == 0:
        yield flush()


def _parquet_file(path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as error:
        raise InputError(f"cannot read {path} as Parquet ({error}); is it a complete Parquet file?") from None


def parquet_schema(path: str | os.PathLike):
    """The Arrow schema a Parquet export declares (every stored column, pandas index columns
    included, as ordinary columns), without its pandas metadata."""
    return _parquet_file(Path(path)).schema_arrow.remove_metadata()


def _pandas_type(arrow_type):
    """The pandas dtype a Parquet column is read as: nullable integers and booleans (a null
    never turns an id into a float), the default for everything else."""
    import pyarrow as pa

    if pa.types.is_integer(arrow_type):
        return _NULLABLE_INTS.get(str(arrow_type))
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    return None


_NULLABLE_INTS = {
    "int8": pd.Int8Dtype(), "int16": pd.Int16Dtype(), "int32": pd.Int32Dtype(), "int64": pd.Int64Dtype(),
    "uint8": pd.UInt8Dtype(), "uint16": pd.UInt16Dtype(), "uint32": pd.UInt32Dtype(), "uint64": pd.UInt64Dtype(),
}


def _parquet_chunks(path, limits, wanted, check, skip_rows):
    import pyarrow as pa

    parquet = _parquet_file(path)
    names = parquet.schema_arrow.names
    _check_columns(path, names, check)
    keep = _select(names, wanted)
    metadata = parquet.metadata
    # skip whole row groups from the metadata, then the remaining rows batch by batch
    position, first_group = 0, 0
    while (
        first_group < metadata.num_row_groups
        and position + metadata.row_group(first_group).num_rows <= skip_rows
    ):
        position += metadata.row_group(first_group).num_rows
        first_group += 1
    groups = list(range(first_group, metadata.num_row_groups))
    batch_size = limits.rows or 65_536
    buffer, buffered, buffered_bytes, yielded = [], 0, 0, False
    try:
        batches = parquet.iter_batches(batch_size=batch_size, row_groups=groups, columns=keep) if groups else []
        for batch in batches:
            if position < skip_rows:
                drop = min(skip_rows - position, batch.num_rows)
                batch, position = batch.slice(drop), position + drop
            if batch.num_rows:
                buffer.append(batch)
                buffered += batch.num_rows
                buffered_bytes += batch.nbytes
            while buffered and limits.full(buffered, buffered_bytes):
                table = pa.Table.from_batches(buffer)
                if limits.rows is not None and buffered >= limits.rows:
                    take = limits.rows
                else:  # the rows that hold about limits.size bytes
                    take = max(1, min(buffered, buffered * limits.size // max(buffered_bytes, 1)))
                yield _arrow_frame(table.slice(0, take), position)
                position, yielded = position + take, True
                rest = table.slice(take)
                buffer, buffered = rest.to_batches(), rest.num_rows
                buffered_bytes = rest.nbytes
        if buffered:
            yield _arrow_frame(pa.Table.from_batches(buffer), position)
            yielded = True
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as error:
        raise InputError(f"cannot read {path}: the Parquet data is corrupt ({error}).") from None
    if not yielded and skip_rows == 0:
        yield _arrow_frame(parquet.schema_arrow.empty_table().select(keep), 0)


def _arrow_frame(table, start: int) -> pd.DataFrame:
    frame = table.to_pandas(ignore_metadata=True, types_mapper=_pandas_type)
    return _with_markers(frame, [Status.OK] * len(frame), None, start)


def _check_columns(path, names: Sequence[str], wanted: Sequence[str] | None) -> None:
    missing = [c for c in (wanted or []) if c not in names]
    if missing:
        raise InputError(
            f"{path} has no column(s) {missing}; its columns are {list(names)}. Name the text "
            "column with --text-col (text_col=...) and the id column with --id-col (id_col=...)."
        )


def read_export(
    path: str | os.PathLike,
    *,
    text_col: str | None = "text",
    id_col: str | None = None,
    columns: Sequence[str] | None = None,
    chunksize: int | None = 50_000,
    chunk_bytes: int | None = None,
    on_bad_lines: OnBadLines = "flag",
    skip_rows: int = 0,
    format: str | None = None,
) -> Iterator[pd.DataFrame]:
    """Read an export chunk by chunk.

    Parameters
    ----------
    path : path
        A ``.csv``, ``.tsv``, ``.jsonl``/``.ndjson`` (each optionally ``.gz``) or ``.parquet`` file.
    text_col, id_col : str, optional
        Columns that must exist (an :class:`InputError` lists the available ones otherwise).
        ``text_col=None`` skips the check (for exports without text). The values of a
        malformed line are recovered into them as far as possible.
    columns : list of str, optional
        Read only these columns (plus ``text_col`` and ``id_col``), in file order. Default: all.
    chunksize : int or None
        Rows per chunk (the last may be shorter). Memory use is proportional to it.
    chunk_bytes : int, optional
        Also end a chunk once it holds this many bytes of input (text formats: bytes of the
        decompressed file; Parquet: of the decoded Arrow data). With ``chunksize=None`` this
        alone sizes the chunks (the Dask engine's partitions); with neither, one chunk.
    on_bad_lines : {"flag", "error"}
        What to do with a malformed CSV/TSV record or JSONL line: ``"flag"`` yields it as a row
        in its place with :data:`READ_STATUS_COLUMN` ``"malformed_line"`` and the values that
        can be recovered from it (CSV/TSV: its fields, the surplus joined into the text column;
        JSONL: the raw line as the text and the id if it can be found); ``"error"`` raises
        :class:`InputError` naming the line.
    skip_rows : int
        Skip the first ``skip_rows`` rows (as counted by this reader, malformed rows included).
        Parquet skips whole row groups from the metadata.
    format : str, optional
        Override the format detected from the extension.

    Yields
    ------
    DataFrame
        Chunks whose index is the 0-based row position in the file, with the file's columns
        followed by the :data:`MARKER_COLUMNS`. At least one (possibly empty) chunk is yielded
        for a file without rows, unless ``skip_rows`` > 0.

    Notes
    -----
    Types are never guessed from a chunk's values. CSV/TSV values are the strings in the
    file: a streaming reader built on :mod:`csv` (RFC 4180 quoting, for TSV too; quoted
    fields may span lines and have no length limit; a UTF-8 byte-order mark is skipped).
    Blank lines are not records. A record with more *or fewer* fields than the header (pandas
    pads short rows; here they are flagged, since a short row usually means a line break that
    split a post), bad quoting, or a quote still open after :data:`MAX_RECORD_LINES` lines is
    malformed; parsing resumes at its next line. JSONL values are the JSON values (object
    columns: an integer stays an integer beside nulls, a float is the float written); the
    columns are the keys in order of first appearance, a key first seen in a later chunk adds
    a column from that chunk on. Parquet columns keep their declared types, integers and
    booleans as pandas' nullable dtypes, and every stored column is read (a pandas index
    written into the file is an ordinary column).
    """
    path = Path(path)
    fmt = check_format(path, format)
    if on_bad_lines not in ON_BAD_LINES:
        raise InputError(f"on_bad_lines must be 'flag' or 'error', not {on_bad_lines!r}")
    for name, value in (("chunksize", chunksize), ("chunk_bytes", chunk_bytes)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise InputError(f"{name} must be a positive integer, not {value!r}")
    if not isinstance(skip_rows, (int, np.integer)) or skip_rows < 0:
        raise InputError(f"skip_rows must be a non-negative integer, not {skip_rows!r}")
    if not path.is_file():
        raise InputError(f"input file {path} does not exist (or is not a file); check the path.")
    required = [c for c in (text_col, id_col) if c is not None]
    wanted = None if columns is None else list(dict.fromkeys([*columns, *required]))
    limits = _Limits(None if chunksize is None else int(chunksize), None if chunk_bytes is None else int(chunk_bytes))
    chunks = _read(path, fmt, wanted or required, wanted, limits, on_bad_lines, int(skip_rows), text_col, id_col)
    # read the first chunk now, so that a missing column or an unreadable file fails here
    try:
        first = next(chunks)
    except StopIteration:
        return iter(())
    return itertools.chain([first], chunks)


def read_header(path: str | os.PathLike, *, format: str | None = None) -> list[str]:
    """The columns of an export, without the marker columns, from its first row (of a JSONL
    file: the keys of its first line; later lines may add more)."""
    first = next(iter(read_export(path, text_col=None, chunksize=1, format=format)))
    return [str(c) for c in first.columns if c not in MARKER_COLUMNS]


def _read(path, fmt, check, wanted, limits, on_bad_lines, skip_rows, text_col, id_col):
    if fmt == "parquet":
        chunks = _parquet_chunks(path, limits, wanted, check, skip_rows)
    elif fmt == "jsonl":
        chunks = _jsonl_chunks(path, limits, on_bad_lines, wanted, check, skip_rows, text_col, id_col)
    else:
        chunks = _delimited_chunks(path, separator(fmt), limits, on_bad_lines, wanted, check, skip_rows, text_col)
    try:
        yield from chunks
    except FileNotFoundError:
        raise ReadFailed(f"cannot read {path}: it vanished while being read. Put it back, then run the same "
                         "command with --resume to continue.") from None
    except (OSError, EOFError, zlib.error) as error:  # truncated or corrupt gzip, I/O errors
        raise ReadFailed(
            f"cannot read {path}: {error}. Is the file truncated or corrupt? Re-export it."
        ) from None


def count_rows(path: str | os.PathLike, *, exact: bool = False, format: str | None = None) -> int:
    """Number of rows of an export, e.g. as the total of a progress bar.

    Parquet: exact, from the file metadata. CSV/TSV/JSONL: by default the number of non-blank
    lines (minus the header), which over-counts CSV records with quoted line breaks; with
    ``exact=True`` the file is parsed (as slow as reading it).
    """
    path = Path(path)
    fmt = check_format(path, format)
    if not path.is_file():
        raise InputError(f"input file {path} does not exist (or is not a file); check the path.")
    if fmt == "parquet":
        return int(_parquet_file(path).metadata.num_rows)
    if exact:
        return sum(len(chunk) for chunk in read_export(path, text_col=None, format=fmt, chunksize=200_000))
    lines = 0
    with _open_binary(path) as raw:
        for data in raw:
            if data.strip():
                lines += 1
    return max(lines - (fmt != "jsonl"), 0)
