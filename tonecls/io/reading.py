"""Reading exports chunk by chunk: every input row exactly once, in order, values as they are.

:func:`read_export` streams a file in chunks of ``chunksize`` rows, so memory stays flat
whatever the file size:

- every chunk's index is the 0-based position of its rows in the file (continuing across
  chunks), so ``chunk.index[0]`` says where a chunk starts;
- the columns are named exactly as in the file: a blank name stays ``""``, a repeated name
  stays repeated (``text_col`` / ``id_col`` must name a column that appears once);
- CSV/TSV values are kept as the strings in the file (ids like ``00123`` stay ``"00123"``, an
  empty field is ``""``; nothing is turned into numbers or NaN); JSONL keeps JSON values
  (see :mod:`tonecls.io.values`: integers of any size, a number no double holds and the
  constants ``NaN`` / ``Infinity`` as :class:`~tonecls.io.values.RawNumber`); Parquet keeps
  its column types (see :func:`read_export`);
- every chunk carries two marker columns (:data:`MARKER_COLUMNS`): :data:`READ_STATUS_COLUMN`
  (``"ok"``, ``"malformed_line"`` for a CSV/TSV record with the wrong number of fields or bad
  quoting or a JSONL line that is not a JSON object, ``"invalid_encoding"`` for a row whose
  text is not valid UTF-8 - undecodable bytes, a JSON ``"\\ud800"`` escape, invalid UTF-8 in a
  Parquet string - each bad piece replaced by U+FFFD) and :data:`LINE_COLUMN` (the physical
  1-based line where the record starts; null for Parquet). A malformed record comes out as a
  row in its place with every data column null.
  :class:`~tonecls.io.writing.ExportWriter` drops the marker columns, so they never reach an
  output file;
- a file that is not UTF-8 text as a whole (a UTF-16 or UTF-32 byte-order mark, UTF-16
  without one, a CSV/TSV header that does not decode) or not JSON Lines (a JSON array, a
  pretty-printed object) is refused with an :class:`InputError` that says how to convert it;
  so is a binary file under a text name (gzip, Parquet, a zip or Excel workbook, a gzip of a
  gzip, a ``.gz`` that is plain text), lone-CR line ends and an input column named like a
  marker column.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import math
import os
import re
import shlex
import sys
import zlib
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from tonecls.errors import InputError
from tonecls.io.files import check_input_file
from tonecls.io.formats import check_format, detect_format, is_gzipped, separator
from tonecls.io.options import ON_BAD_LINES, OnBadLines
from tonecls.io.values import decode_json_line
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
    parsed again. ``bytes_read`` counts the bytes read from the file so far; ``decode_error``
    is the first line's :class:`UnicodeDecodeError`, if any.
    """

    def __init__(self, raw: IO[bytes]):
        self._readline = raw.readline
        self._replay: deque[tuple[str, bool]] = deque()
        self.record: list[tuple[str, bool]] = []  # (line, decoded cleanly) of the current record
        self.record_start = 1  # physical line number of the first line of the current record
        self.clean = True  # every line of the current record was valid UTF-8
        self.bytes_read = 0
        self.decode_error: UnicodeDecodeError | None = None

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
            except UnicodeDecodeError as error:
                line, ok = data.decode("utf-8", errors="replace"), False
                self.decode_error = self.decode_error or error
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


# --- encodings ------------------------------------------------------------------------------

_BYTE_ORDER_MARKS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF32_LE, "UTF-32", "UTF-32 (little-endian, with a byte-order mark)"),
    (codecs.BOM_UTF32_BE, "UTF-32", "UTF-32 (big-endian, with a byte-order mark)"),
    (codecs.BOM_UTF16_LE, "UTF-16", "UTF-16 (little-endian, with a byte-order mark)"),
    (codecs.BOM_UTF16_BE, "UTF-16", "UTF-16 (big-endian, with a byte-order mark)"),
)


def _converted_name(path: Path, tag: str = "utf8", extension: str | None = None) -> Path:
    """``posts.csv.gz`` -> ``posts-utf8.csv.gz`` beside it (``extension``: instead of the file's)."""
    base, dot, rest = path.name.partition(".")
    return path.with_name(f"{base}-{tag}.{extension}" if extension else f"{base}-{tag}{dot}{rest}")


def _conversion_hint(path: Path, source_encoding: str) -> str:
    """How to convert ``path`` from ``source_encoding`` (an iconv name) to UTF-8."""
    source, target = shlex.quote(str(path)), shlex.quote(str(_converted_name(path)))
    if is_gzipped(path):
        return f"gunzip -c {source} | iconv -f {source_encoding} -t UTF-8 | gzip > {target}"
    return f"iconv -f {source_encoding} -t UTF-8 {source} > {target}"


def _utf16_without_bom(head: bytes) -> str | None:
    """``"UTF-16LE"`` / ``"UTF-16BE"`` if ``head`` looks like UTF-16 text without a
    byte-order mark (mostly ASCII: every other byte NUL), else None."""
    if len(head) < 8 or b"\0" not in head:
        return None
    even, odd = head[0::2], head[1::2]
    for zeros, others, name in ((odd, even, "UTF-16LE"), (even, odd, "UTF-16BE")):
        if zeros.count(0) >= 0.6 * len(zeros) and others.count(0) == 0:
            return name
    return None


_SIGNATURES = (  # what a binary file starts with, what it is, what to do
    (b"\x1f\x8b", "gzip-compressed", "compressed"),
    (b"PAR1", "a Parquet file", "rename it to end in .parquet"),
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook is one)",
     "unzip it, or save the sheet as \"CSV UTF-8\""),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel .xls workbook", "save the sheet as \"CSV UTF-8\""),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it (unxz), or recompress it with gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "decompress it (unzstd), or recompress it with gzip"),
)


def _check_not_binary(path: Path, head: bytes) -> None:
    """Refuse a text export whose (decompressed) bytes are a known binary format: read as
    text, its bytes would become rows of garbage."""
    for signature, what, todo in _SIGNATURES:
        if head.startswith(signature):
            if signature == b"\x1f\x8b":
                todo = ("it was compressed twice; decompress it once (gunzip)" if is_gzipped(path)
                        else "add .gz to its name")
                what = "gzip-compressed inside its gzip compression" if is_gzipped(path) else what
            raise InputError(f"{path} is {what}, not a text export (CSV, TSV or JSON Lines); {todo}, then "
                             "run the command again.")


def _peek_head(path: Path, raw: IO[bytes]) -> bytes:
    """The first 512 bytes of ``raw``; a ``.gz`` file that is not gzip-compressed is refused."""
    try:
        return raw.peek(512)[:512]
    except gzip.BadGzipFile:
        raw.close()
        with open(path, "rb") as plain:
            if plain.read(2) == b"\x1f\x8b":
                raise
        raise InputError(f"{path} is not gzip-compressed although its name ends in .gz; rename it "
                         "without .gz (or compress it with gzip), then run the command again.") from None
    except (OSError, EOFError, zlib.error):
        raw.close()
        raise


def _open_text(path: Path) -> IO[bytes]:
    """The bytes of a text export after its UTF-8 byte-order mark, if any; a file in UTF-16
    or UTF-32, or in a binary format (:func:`_check_not_binary`), is refused with what to do."""
    raw = _open_binary(path)
    head = _peek_head(path, raw)
    try:
        _check_not_binary(path, head)
    except InputError:
        raw.close()
        raise
    found = next(((name, what) for bom, name, what in _BYTE_ORDER_MARKS if head.startswith(bom)), None)
    if found is None and (guess := _utf16_without_bom(head)) is not None:
        found = (guess, f"UTF-16 without a byte-order mark ({guess[-2:]}: every other byte is 0)")
    if found is not None:
        raw.close()
        raise InputError(
            f"{path} is encoded as {found[1]}, not UTF-8, which tonecls reads. Convert it to "
            f"UTF-8 first, e.g.: {_conversion_hint(path, found[0])}"
        )
    if head.startswith(codecs.BOM_UTF8):
        raw.read(3)
    return raw


def _not_utf8_header(path: Path, error: UnicodeDecodeError | None) -> InputError:
    where = "" if error is None else f" (byte 0x{error.object[error.start]:02x} at position {error.start})"
    return InputError(
        f"the header line of {path} is not valid UTF-8{where}: the file is in another "
        "encoding, probably Latin-1 / Windows-1252. Convert it to UTF-8 first, e.g.: "
        f"{_conversion_hint(path, 'WINDOWS-1252')}"
    )


def _open_binary(path: Path) -> IO[bytes]:
    if is_gzipped(path):
        return io.BufferedReader(gzip.open(path, "rb"), buffer_size=1 << 20)
    return open(path, "rb", buffering=1 << 20)


# --- what was asked -------------------------------------------------------------------------


class _Limits:
    """When a chunk is full: ``rows`` rows, or ``bytes`` bytes of input (either may be None)."""

    def __init__(self, rows: int | None, size: int | None) -> None:
        self.rows, self.size = rows, size

    def full(self, rows: int, size: int) -> bool:
        return (self.rows is not None and rows >= self.rows) or (self.size is not None and size >= self.size)


@dataclass
class _Request:
    """One call of :func:`read_export`, as every format's reader needs it."""

    path: Path
    wanted: list[str] | None  # the columns to read; None: all
    required: list[str]  # text_col and id_col: must exist, once
    limits: _Limits
    on_bad_lines: str
    skip_rows: int
    text_col: str | None
    id_col: str | None

    def bad_line(self, line: int, what: str) -> None:
        """Raise for a malformed line, unless such lines are flagged."""
        if self.on_bad_lines == "error":
            raise InputError(
                f"{self.path}, line {line}: {what}. Fix the line, or read with on_bad_lines='flag' "
                "to keep it as a flagged row."
            )

    def check_columns(self, names: Sequence[str]) -> None:
        """Refuse a missing column, or a text / id column whose name the header repeats."""
        missing = [c for c in (self.wanted or self.required) if c not in names]
        if missing:
            options = [f"the {what} column with --{what}-col ({what}_col=...)"
                       for what, column in (("text", self.text_col), ("id", self.id_col)) if column in missing]
            hint = (f"Name {' and '.join(options)}." if options else
                    "Pass the right name with the command's option for that column (e.g. --label-col).")
            raise InputError(f"{self.path} has no column(s) {missing}; its columns are {list(names)}. {hint}")
        for column in self.required:
            at = [i + 1 for i, name in enumerate(names) if name == column]
            if len(at) > 1:
                raise InputError(
                    f"{self.path} has {len(at)} columns named {column!r} (columns {at} of "
                    f"{list(names)}), so --text-col / --id-col {column!r} is ambiguous. Rename the "
                    "repeated columns in the file's header, or name another column."
                )

    def positions(self, names: Sequence[str]) -> list[int]:
        """The positions of the columns to read, in file order (a repeated name: each)."""
        if self.wanted is None:
            return list(range(len(names)))
        wanted = set(self.wanted)
        return [i for i, name in enumerate(names) if name in wanted]


# --- CSV / TSV ------------------------------------------------------------------------------


_ID_SHAPE = re.compile(r"[\w\-.:/@#]{1,64}")  # what an id looks like: one token, no spaces


def _strip_newline(line: str) -> str:
    if line.endswith("\r\n"):
        return line[:-2]
    return line.removesuffix("\n")


class _DelimitedRecords:
    """The header of a CSV/TSV export, then ``(fields, status, start line)`` per record.

    A record the csv module rejects, or with the wrong number of fields, is ``malformed_line``
    with the values recovered from it (:meth:`_recover`). One exception: a single line that
    splits into exactly the header's number of fields and that quoting cannot explain (TSV,
    where quotes are ordinary characters to most writers, or a line without quotes holding a
    bare carriage return) is read literally, as ``ok``. Blank lines are not records.

    A quote that opens a field but was meant literally (``1,"so true,a``) makes the csv module
    read on to the next quote, taking whole rows into one field. A quoted field that spans
    lines is therefore checked (:meth:`_absorbs_rows`): when every one of its lines is a
    complete row on its own, each with an id shaped like the record's, the record is
    ``malformed_line`` (which reading is right cannot be told; neither is given as ``ok``).
    """

    def __init__(self, request: _Request, sep: str) -> None:
        self.request, self.sep = request, sep
        self.raw = _open_text(request.path)
        self.lines = _Lines(self.raw)
        self._reader = csv.reader(self.lines, delimiter=sep, strict=True)
        try:
            self.names: list[str] = self._header()
        except BaseException:
            self.raw.close()
            raise
        self.n_columns = len(self.names)
        text_col = request.text_col
        self.text_index = self.names.index(text_col) if self.names.count(text_col) == 1 else None
        id_col = request.id_col
        self.key_index = (self.names.index(id_col) if id_col is not None and self.names.count(id_col) == 1
                          else 0 if self.text_index not in (None, 0) else None)  # ids usually come first

    def _next(self) -> list[str] | tuple | None:
        """The next record's fields; None at the end; ``(error, line, text, clean)`` for a
        record the csv module rejects (its first line is dropped, the others read again)."""
        try:
            return next(self._reader)
        except StopIteration:
            return None
        except (csv.Error, _RecordTooLong) as error:
            lines = self.lines
            if not lines.record:  # nothing read: the error is about the file itself
                raise InputError(f"cannot parse {self.request.path}: {error}") from None
            line = lines.record_start
            text, clean = lines.reject_first_line()
            return error, line, text, clean

    def _header(self) -> list[str]:
        path = self.request.path
        header = self._next()
        while header == []:  # blank lines before the header
            self.lines.next_record()
            header = self._next()
        if header is None:
            raise InputError(
                f"{path} has no header line; a {self.sep!r}-separated export must start with the "
                "column names."
            )
        if not self.lines.clean or (isinstance(header, tuple) and not header[3]):
            raise _not_utf8_header(path, self.lines.decode_error)
        if isinstance(header, tuple):
            if "new-line character seen in unquoted field" in str(header[0]):
                raise InputError(f"the lines of {path} end in a lone carriage return (\\r, as old Mac "
                                 "exports do), which tonecls does not read; convert them to \\n first, e.g.: "
                                 f"tr '\\r' '\\n' < {shlex.quote(str(path))} > "
                                 f"{shlex.quote(str(_converted_name(path, 'lf')))}")
            raise InputError(f"cannot parse the header line of {path} ({header[0]}); fix its quoting.")
        self.lines.next_record()
        return header

    def __iter__(self) -> Iterator[tuple[list[str | None], str, int]]:
        lines = self.lines
        with self.raw:
            while True:
                start = lines.record_start
                fields = self._next()
                if fields is None:
                    return
                if isinstance(fields, tuple):
                    yield self._rejected(*fields)
                elif not fields:  # blank line: not a record
                    lines.next_record()
                elif len(fields) != self.n_columns:
                    yield self._miscounted(fields, start)
                elif len(lines.record) > 1 and self._absorbs_rows(fields):
                    last = start + len(lines.record) - 1
                    self.request.bad_line(start, f"the quoted field of lines {start} to {last} holds lines that are each "
                                                 "a row of their own: a quote meant literally may have joined rows")
                    lines.next_record()
                    yield fields, Status.MALFORMED_LINE, start
                else:
                    status = Status.OK if lines.clean else Status.INVALID_ENCODING
                    lines.next_record()
                    yield fields, status, start

    def _absorbs_rows(self, fields: list[str]) -> bool:
        """Whether a record that spans lines is rather several rows joined by a stray quote:
        every line splits (quotes read literally) into the header's number of fields and
        starts a row with an id shaped like the record's own."""
        if self.key_index is None:
            return False
        reference = fields[self.key_index]
        if not _ID_SHAPE.fullmatch(reference):
            return False
        for line, _ in self.lines.record:
            parts = _strip_newline(line).split(self.sep)
            if len(parts) != self.n_columns:
                return False
            key = parts[self.key_index].strip('"')
            if (not _ID_SHAPE.fullmatch(key) or (reference.isdigit() and not key.isdigit())
                    or abs(len(key) - len(reference)) > max(1, len(reference) // 4)):
                return False
        return True

    def _rejected(self, error: Exception, line: int, text: str, clean: bool) -> tuple[list, str, int]:
        fields = _strip_newline(text).split(self.sep)
        if len(fields) == self.n_columns and (self.sep == "\t" or '"' not in text):  # literally
            return fields, Status.OK if clean else Status.INVALID_ENCODING, line
        self.request.bad_line(line, f"cannot parse the record ({error})")
        return self._recover(fields), Status.MALFORMED_LINE, line

    def _miscounted(self, fields: list[str], start: int) -> tuple[list, str, int]:
        lines = self.lines
        if len(lines.record) > 1:  # maybe an unterminated quote: re-read after line 1
            text, _ = lines.reject_first_line()
            fields = _strip_newline(text).split(self.sep)
        else:
            lines.next_record()
        self.request.bad_line(start, f"expected {self.n_columns} fields, found {len(fields)}")
        return self._recover(fields), Status.MALFORMED_LINE, start

    def _recover(self, fields: list[str]) -> list[str | None]:
        """The values of a malformed record, as far as they can be told: columns before the
        text column from the left, columns after it from the right, everything between in
        the text."""
        n_columns = self.n_columns
        if len(fields) == n_columns:
            return list(fields)
        if len(fields) < n_columns:
            return [*fields, *([None] * (n_columns - len(fields)))]
        middle = n_columns - 1 if self.text_index is None else self.text_index
        after = n_columns - middle - 1
        return [*fields[:middle], self.sep.join(fields[middle:len(fields) - after]), *fields[len(fields) - after:]]


def _delimited_chunks(request: _Request, sep: str) -> Iterator[pd.DataFrame]:
    records = _DelimitedRecords(request, sep)
    names, lines = records.names, records.lines
    try:
        request.check_columns(names)
    except InputError:
        records.raw.close()
        raise
    positions = request.positions(names)
    keep = [names[i] for i in positions]
    all_columns = len(positions) == len(names)
    position, skip_rows = 0, request.skip_rows
    rows, statuses, line_numbers = [], [], []
    start_bytes = lines.bytes_read
    max_rows, max_bytes = request.limits.rows or math.inf, request.limits.size or math.inf
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


def _frame(columns: list, names: Sequence[str], n_rows: int) -> pd.DataFrame:
    """A DataFrame of ``columns`` (arrays or Series) named ``names`` exactly (repeats too)."""
    frame = pd.DataFrame(dict(enumerate(columns)), index=pd.RangeIndex(n_rows), copy=False)
    frame.columns = list(names)
    return frame


def _rows_frame(rows, names, statuses, line_numbers, start) -> pd.DataFrame:
    columns = list(zip(*rows)) if rows else [()] * len(names)
    frame = _frame([pd.array(values, dtype="str") for values in columns], names, len(rows))
    return _with_markers(frame, statuses, line_numbers, start)


def _with_markers(frame: pd.DataFrame, statuses: list, lines: list | None, start: int) -> pd.DataFrame:
    """``frame`` with the marker columns (``lines`` None: no line numbers, as for Parquet) and
    the index of its rows' positions in the file. An input column of a marker's name is
    refused: the marker would overwrite it and the writer drop it."""
    clash = [name for name in MARKER_COLUMNS if name in frame.columns]
    if clash:
        raise InputError(f"the input has column(s) {', '.join(map(repr, clash))}, a name tonecls uses "
                         "internally while reading (its values would be lost); rename the column(s) first.")
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


# --- JSON Lines -----------------------------------------------------------------------------

_JSON_PAIR = re.compile(
    r'"((?:[^"\\]|\\.)*)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null)')


def _json_fields(text: str) -> dict[str, Any]:
    """The top-level ``"key": scalar`` pairs that can be read from a line that is not valid
    JSON (not those of a nested object: ``{"user": {"id": 9}, "id": 5, ...`` has id 5)."""
    found: dict[str, Any] = {}
    depth, position, in_string = 0, 0, False
    for match in _JSON_PAIR.finditer(text):
        depth, in_string = _nesting(text[position:match.start()], depth, in_string)
        position = match.end()
        if depth != 1 or in_string:
            continue
        try:
            key, value = decode_json_line(f'"{match.group(1)}"')[0], decode_json_line(match.group(2))[0]
        except ValueError:
            continue
        found.setdefault(key, value)
    return found


def _nesting(text: str, depth: int, in_string: bool) -> tuple[int, bool]:
    """The object/array depth and whether inside a string after ``text``, from ``depth``."""
    escaped = False
    for char in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
    return depth, in_string


_RAW_LINE = object()  # key of a malformed line's raw text in the records of _iter_jsonl
_JSON_KINDS = {list: "an array", str: "a string", bool: "true or false", type(None): "null"}


def _jq_hint(path: Path, program: str) -> str:
    source, target = shlex.quote(str(path)), shlex.quote(str(_converted_name(path, "lines", "jsonl")))
    if is_gzipped(path):
        return f"gunzip -c {source} | jq -c '{program}' > {target}"
    return f"jq -c '{program}' {source} > {target}"


def _refuse_json_document(path: Path, first_line: str) -> None:
    """Refuse a JSON document given as JSON Lines (told by its first non-blank line)."""
    stripped = first_line.strip()
    if stripped.startswith("["):
        raise InputError(
            f"{path} holds a JSON array (its first line starts with '['), not JSON Lines (one JSON "
            f"object per line). Convert it first, e.g.: {_jq_hint(path, '.[]')}"
        )
    if stripped == "{":
        raise InputError(
            f"{path} holds JSON objects spread over several lines (its first line is a lone '{{'), "
            f"not JSON Lines (one JSON object per line). Convert it first, e.g.: {_jq_hint(path, '.')}"
        )


def _iter_jsonl(request: _Request, size: list[int]) -> Iterator[tuple[dict, str, int]]:
    """``(record, status, line)`` per non-blank line; a line that is not a JSON object is
    ``malformed_line``, its record ``{_RAW_LINE: text}``. ``size[0]`` counts the bytes read."""
    first = True
    with _open_text(request.path) as raw:
        for number, data in enumerate(raw, start=1):
            size[0] += len(data)
            status = Status.OK
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text, status = data.decode("utf-8", errors="replace"), Status.INVALID_ENCODING
            if not text.strip():
                continue
            try:
                record, replaced = decode_json_line(text)
                problem = None if isinstance(record, dict) else \
                    f"expected a JSON object, found {_JSON_KINDS.get(type(record), 'a number')}"
            except ValueError as error:
                problem = f"not valid JSON ({error})"
            if problem is not None:
                if first:
                    _refuse_json_document(request.path, text)
                request.bad_line(number, problem)
                yield {_RAW_LINE: _strip_newline(text)}, Status.MALFORMED_LINE, number
            else:
                yield record, Status.INVALID_ENCODING if replaced else status, number
            first = False


def _object_column(values: list) -> np.ndarray:
    """Python values as they are (no per-chunk guessing: 64-bit ints stay ints beside nulls)."""
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def _jsonl_chunks(request: _Request) -> Iterator[pd.DataFrame]:
    known: dict[str, None] = {}  # column names in order of first appearance
    position, skip_rows = 0, request.skip_rows
    records, statuses, line_numbers = [], [], []
    size = [0]  # bytes read; the chunk started at `start`
    start = 0
    checked = False

    def flush():
        nonlocal checked
        if not checked:
            request.check_columns(list(known))
            checked = True
        names = list(known)
        names = [names[i] for i in request.positions(names)]
        frame = _frame([_object_column([r.get(name) for r in records]) for name in names], names, len(records))
        return _with_markers(frame, statuses, line_numbers, position)

    max_rows, max_bytes = request.limits.rows or math.inf, request.limits.size or math.inf
    for record, status, line in _iter_jsonl(request, size):
        if status is Status.MALFORMED_LINE:  # the raw text, and the known keys found in it
            raw = record[_RAW_LINE]
            record = {k: v for k, v in _json_fields(raw).items() if k in known or k == request.id_col}
            if request.text_col is not None:
                record[request.text_col] = raw
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


# --- Parquet --------------------------------------------------------------------------------


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


def _repeated_struct_fields(arrow_type) -> list[str]:
    """Field names a struct anywhere inside ``arrow_type`` repeats."""
    import pyarrow as pa

    if pa.types.is_struct(arrow_type):
        names = [arrow_type.field(i).name for i in range(arrow_type.num_fields)]
        repeated = sorted({n for n in names if names.count(n) > 1})
        return repeated + [r for i in range(arrow_type.num_fields) for r in _repeated_struct_fields(arrow_type.field(i).type)]
    if pa.types.is_map(arrow_type):
        return _repeated_struct_fields(arrow_type.key_type) + _repeated_struct_fields(arrow_type.item_type)
    if hasattr(arrow_type, "value_type"):  # lists of every kind, dictionaries
        return _repeated_struct_fields(arrow_type.value_type)
    return []


def _check_nested_names(path: Path, schema) -> None:
    for field in schema:
        repeated = _repeated_struct_fields(field.type)
        if repeated:
            raise InputError(
                f"{path}: column {field.name!r} holds a struct that repeats the field name(s) "
                f"{repeated}; tonecls keeps a struct as a Python dict, which cannot hold both. "
                "Rename the fields in the export and read it again."
            )


def _python_values(column, name: str, path: Path) -> np.ndarray:
    """A nested column (lists, structs, maps) as Python lists and dicts, exactly (integers
    stay integers beside nulls, NaN stays NaN, a map is a dict, an empty map ``{}``)."""
    try:
        try:
            values = column.to_pylist(maps_as_pydicts="strict")
        except KeyError:  # a map with a repeated key: (key, value) pairs, in order
            values = column.to_pylist()
    except ValueError as error:  # e.g. invalid UTF-8 inside a nested value
        raise InputError(f"cannot read column {name!r} of {path}: {error}. Re-export the file.") from None
    if _holds_float32(column.type):
        values = _float32_shortest(values, column.type)
    return _object_column(values)


def _holds_float32(arrow_type) -> bool:
    import pyarrow as pa

    if pa.types.is_float32(arrow_type) or pa.types.is_float16(arrow_type):
        return True
    return any(_holds_float32(arrow_type.field(i).type) for i in range(getattr(arrow_type, "num_fields", 0)))


def _float32_shortest(values: list, arrow_type) -> list:
    """Nested values with each float32 as the double of its shortest decimal form (as a
    float32 column is written; a float32 output type gives the same float32 back)."""
    import pyarrow as pa

    if not _holds_float32(arrow_type):
        return values
    if pa.types.is_float32(arrow_type) or pa.types.is_float16(arrow_type):
        return [None if v is None else float(str(np.float32(v))) for v in values]
    if pa.types.is_struct(arrow_type):
        fields = [arrow_type.field(i) for i in range(arrow_type.num_fields)]
        columns = {f.name: _float32_shortest([None if v is None else v[f.name] for v in values], f.type)
                   for f in fields}
        return [None if v is None else {n: columns[n][row] for n in columns} for row, v in enumerate(values)]
    if pa.types.is_map(arrow_type):
        return [None if v is None else _map_float32_shortest(v, arrow_type) for v in values]
    return [None if v is None else _float32_shortest(v, arrow_type.value_type) for v in values]


def _map_float32_shortest(value: dict | list, arrow_type) -> dict | list:
    pairs = list(value.items()) if isinstance(value, dict) else value
    keys = _float32_shortest([k for k, _ in pairs], arrow_type.key_type)
    items = _float32_shortest([v for _, v in pairs], arrow_type.item_type)
    return dict(zip(keys, items)) if isinstance(value, dict) else list(zip(keys, items))


def _float_values(column):
    """A float column as numpy floats (a null is NaN, pandas' missing value) or, if it holds
    NaN values, as pandas' nullable floats (a null is <NA>, a NaN stays NaN)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pc.any(pc.is_nan(column)).as_py():
        return column.to_pandas()
    if column.type == pa.float16():
        column = column.cast(pa.float32())  # exact; a declared float16 output type casts back
    data = column.fill_null(0).to_numpy()
    return pd.arrays.FloatingArray(data, column.is_null().to_numpy())


def _repaired_text(column) -> tuple[Any, np.ndarray]:
    """A text column holding invalid UTF-8: each bad sequence replaced by U+FFFD, and which
    rows had one."""
    import pyarrow as pa

    raw = column.cast(pa.large_binary() if pa.types.is_large_string(column.type) else pa.binary())
    values, bad = raw.to_pylist(), np.zeros(len(column), dtype=bool)
    for i, value in enumerate(values):
        if value is not None:
            try:
                values[i] = value.decode("utf-8")
            except UnicodeDecodeError:
                values[i], bad[i] = value.decode("utf-8", errors="replace"), True
    return pd.array(values, dtype="str"), bad


def _pandas_column(column, name: str, path: Path) -> tuple[Any, np.ndarray | None]:
    """A Parquet column as exact pandas values, and which rows' text was not UTF-8 (or None)."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_nested(kind):
        return _python_values(column, name, path), None
    if pa.types.is_floating(kind):
        return _float_values(column), None
    if not _valid_text(column):
        return _repaired_text(column)
    return pa.table([column], names=["c"]).to_pandas(types_mapper=_pandas_type)["c"], None


def _is_plain(arrow_type) -> bool:
    """Whether pandas' own conversion of a column of this type is exact (not nested, not float)."""
    import pyarrow as pa

    return not (pa.types.is_nested(arrow_type) or pa.types.is_floating(arrow_type))


def _valid_text(column) -> bool:
    """False for a text column holding invalid UTF-8 (pyarrow would hand it to pandas as it
    is, and the first use of such a value would fail); True for other columns."""
    import pyarrow as pa

    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return True
    try:
        column.validate(full=True)
        return True
    except pa.ArrowInvalid:
        return False


def _arrow_frame(table, start: int, path: Path) -> pd.DataFrame:
    """A chunk of a Parquet export as a DataFrame: the plain columns converted by pyarrow in
    one go (zero-copy text), nested and float columns and invalid text by :func:`_pandas_column`."""
    statuses = [Status.OK] * table.num_rows
    plain = [i for i, field in enumerate(table.schema) if _is_plain(field.type) and _valid_text(table.column(i))]
    columns: list[Any] = [None] * table.num_columns
    converted = table.select(plain).to_pandas(ignore_metadata=True, types_mapper=_pandas_type)
    for position, i in enumerate(plain):
        columns[i] = converted.iloc[:, position]
    for i, name in enumerate(table.column_names):
        if columns[i] is None:
            values, bad = _pandas_column(table.column(i), name, path)
            columns[i] = values
            for row in np.flatnonzero(bad) if bad is not None else ():
                statuses[row] = Status.INVALID_ENCODING
    return _with_markers(_frame(columns, table.column_names, table.num_rows), statuses, None, start)


def _parquet_chunks(request: _Request) -> Iterator[pd.DataFrame]:
    import pyarrow as pa

    path = request.path
    parquet = _parquet_file(path)
    names = parquet.schema_arrow.names
    request.check_columns(names)
    _check_nested_names(path, parquet.schema_arrow)
    positions = request.positions(names)
    # pyarrow selects columns by name (a repeated name: every such column, reordered): with
    # repeated names read every column and pick by position
    repeated = len(set(names)) < len(names)
    select = (lambda table: table.select(positions)) if repeated else (lambda table: table)
    metadata = parquet.metadata
    # skip whole row groups from the metadata, then the remaining rows batch by batch
    position, first_group, skip_rows = 0, 0, request.skip_rows
    while (
        first_group < metadata.num_row_groups
        and position + metadata.row_group(first_group).num_rows <= skip_rows
    ):
        position += metadata.row_group(first_group).num_rows
        first_group += 1
    groups = list(range(first_group, metadata.num_row_groups))
    limits = request.limits
    batch_size = limits.rows or 65_536
    buffer, buffered, buffered_bytes, yielded = [], 0, 0, False
    try:
        columns = None if repeated else [names[i] for i in positions]
        batches = parquet.iter_batches(batch_size=batch_size, row_groups=groups, columns=columns) if groups else []
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
                yield _arrow_frame(select(table.slice(0, take)), position, path)
                position, yielded = position + take, True
                rest = table.slice(take)
                buffer, buffered = rest.to_batches(), rest.num_rows
                buffered_bytes = rest.nbytes
        if buffered:
            yield _arrow_frame(select(pa.Table.from_batches(buffer)), position, path)
            yielded = True
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as error:  # the completed chunks are kept
        raise ReadFailed(f"cannot read {path}: the Parquet data is corrupt or could not be read ({error}). "
                         "Restore or re-export the file, then run the same command with --resume.") from None
    if not yielded and skip_rows == 0:
        yield _arrow_frame(select(parquet.schema_arrow.empty_table()), 0, path)


# --- the entry point ------------------------------------------------------------------------


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
        Columns that must exist, once (an :class:`InputError` lists the available ones
        otherwise, or says that the header repeats the name). ``text_col=None`` skips the
        check (for exports without text). The values of a malformed line are recovered into
        them as far as possible.
    columns : list of str, optional
        Read only these columns (plus ``text_col`` and ``id_col``), in file order (a repeated
        name: every column of that name). Default: all.
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
        (named exactly as in the file) followed by the :data:`MARKER_COLUMNS`. At least one
        (possibly empty) chunk is yielded for a file without rows, unless ``skip_rows`` > 0.

    Notes
    -----
    Types are never guessed from a chunk's values. CSV/TSV values are the strings in the
    file: a streaming reader built on :mod:`csv` (RFC 4180 quoting, for TSV too; quoted
    fields may span lines and have no length limit; a UTF-8 byte-order mark is skipped).
    Blank lines are not records. A record with more *or fewer* fields than the header (pandas
    pads short rows; here they are flagged, since a short row usually means a line break that
    split a post), bad quoting, or a quote still open after :data:`MAX_RECORD_LINES` lines is
    malformed; parsing resumes at its next line. JSONL values are the JSON values in object
    columns (an integer stays an integer beside nulls, a float is the double written; see
    :mod:`tonecls.io.values` for numbers no double holds); the columns are the keys in order
    of first appearance, a key first seen in a later chunk adds a column from that chunk on.
    Parquet columns keep their declared types: integers and booleans as pandas' nullable
    dtypes, floats as numpy floats (a null is NaN) or, in a chunk that holds NaN values, as
    pandas' nullable floats (a null is <NA>, a NaN stays NaN), nested lists / structs / maps
    as Python lists and dicts (exact integers, NaN kept, a map as a dict); every stored column
    is read (a pandas index written into the file is an ordinary column).
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
    check_input_file(path)
    required = list(dict.fromkeys(c for c in (text_col, id_col) if c is not None))
    request = _Request(
        path=path,
        wanted=None if columns is None else list(dict.fromkeys([*columns, *required])),
        required=required,
        limits=_Limits(None if chunksize is None else int(chunksize), None if chunk_bytes is None else int(chunk_bytes)),
        on_bad_lines=on_bad_lines, skip_rows=int(skip_rows), text_col=text_col, id_col=id_col,
    )
    chunks = _read(request, fmt)
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


def _read(request: _Request, fmt: str) -> Iterator[pd.DataFrame]:
    if fmt == "parquet":
        chunks = _parquet_chunks(request)
    elif fmt == "jsonl":
        chunks = _jsonl_chunks(request)
    else:
        chunks = _delimited_chunks(request, separator(fmt))
    try:
        yield from chunks
    except FileNotFoundError:
        raise ReadFailed(f"cannot read {request.path}: it vanished while being read. Put it back, then run the same "
                         "command with --resume to continue.") from None
    except (OSError, EOFError, zlib.error) as error:  # truncated or corrupt gzip, I/O errors
        raise ReadFailed(
            f"cannot read {request.path}: {error}. Is the file truncated or corrupt? Re-export it."
        ) from None


def count_rows(path: str | os.PathLike, *, exact: bool = False, format: str | None = None) -> int:
    """Number of rows of an export, e.g. as the total of a progress bar.

    Parquet: exact, from the file metadata. CSV/TSV/JSONL: by default the number of non-blank
    lines (minus the header), which over-counts CSV records with quoted line breaks; with
    ``exact=True`` the file is parsed (as slow as reading it).
    """
    path = Path(path)
    fmt = check_format(path, format)
    check_input_file(path)
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
