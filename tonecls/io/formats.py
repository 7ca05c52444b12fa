"""Export formats, told by file extension: CSV, TSV, JSON Lines and Parquet.

``.csv``, ``.tsv``, ``.jsonl`` / ``.ndjson`` and ``.parquet``; the three text formats may also
be gzip-compressed (``.csv.gz``, ...). Parquet has its own internal compression, so
``.parquet.gz`` is not supported.
"""

from __future__ import annotations

import os
from pathlib import Path

from tonecls.errors import InputError

__all__ = ["FORMATS", "TEXT_FORMATS", "check_format", "detect_format", "is_gzipped", "separator"]

FORMATS = ("csv", "tsv", "jsonl", "parquet")
TEXT_FORMATS = ("csv", "tsv", "jsonl")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
_SUPPORTED = ".csv, .tsv, .jsonl, .ndjson, .parquet, and .csv.gz, .tsv.gz, .jsonl.gz, .ndjson.gz"


def _suffixes(path: str | os.PathLike) -> tuple[str, bool]:
    name = Path(path).name.lower()
    gzipped = name.endswith(".gz")
    if gzipped:
        name = name[:-3]
    return Path(name).suffix, gzipped


def detect_format(path: str | os.PathLike) -> str:
    """The format of an export from its extension: ``"csv"``, ``"tsv"``, ``"jsonl"`` or ``"parquet"``.

    A ``.gz`` suffix is allowed on the text formats (see :func:`is_gzipped`).

    Raises
    ------
    InputError
        Unknown extension (the message lists the supported ones), or ``.parquet.gz``.
    """
    suffix, gzipped = _suffixes(path)
    fmt = _EXTENSIONS.get(suffix)
    if fmt is None:
        raise InputError(
            f"cannot tell the format of {os.fspath(path)!r} from its extension; supported: "
            f"{_SUPPORTED}. Rename the file to end in one of them."
        )
    if fmt == "parquet" and gzipped:
        raise InputError(
            f"{os.fspath(path)!r}: .parquet.gz is not supported (Parquet compresses internally); "
            "gunzip it first, or write Parquet with its own compression."
        )
    return fmt


def is_gzipped(path: str | os.PathLike) -> bool:
    """Whether the path ends in ``.gz``."""
    return _suffixes(path)[1]


def check_format(path, format: str | None) -> str:
    if format is None:
        return detect_format(path)
    if format not in FORMATS:
        raise InputError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    if format == "parquet" and is_gzipped(path):
        detect_format(path)  # raises the .parquet.gz message
    return format


def separator(fmt: str) -> str:
    """The field separator of a delimited format."""
    return "," if fmt == "csv" else "\t"
