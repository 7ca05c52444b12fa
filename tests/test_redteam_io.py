"""Fifth red-team pass, of the I/O layer only: values at the edges of what each format holds
(deep nesting, odd number spellings, line separators inside text, very wide rows), faults at
the exact moments between the steps of a write (a full disk mid-chunk, a crash after the final
rename, manifests and partials swapped between runs, an input truncated between runs) and
locks in odd places (a reused pid, no hard links, no room for the lock). Each case checks the
README's promises ("What tonecls promises") exactly: every row once, in order, with its id and
values as they were; bad input is exit status 2 with one paragraph or a flagged row; resume
continues only from a verified partial, else refuses and keeps it.
"""

from __future__ import annotations

import csv
import errno
import gzip
import io
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from support import StandInModel, write_csv
from tonecls.cli import main
from tonecls.errors import InputError
from tonecls.io.manifest import ResumeRefused, manifest_path
from tonecls.jobs import score_file

TEXT_FORMATS = ["csv", "tsv", "jsonl", "csv.gz", "jsonl.gz"]


# --- helpers -----------------------------------------------------------------------------------


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def assert_one_paragraph(result: tuple[int, str, str], command: str, code: int = 2) -> str:
    got, out, err = result
    assert got == code, f"exit {got}\n{out}\n{err}"
    assert err.startswith(f"tonecls {command}: error: "), err
    assert "Traceback" not in out + err, err
    return err


def score(src: Path, out: Path, **kwargs):
    options = dict(model=StandInModel(), quiet=True, text_col="text", chunksize=32)
    return score_file(src, out, **{**options, **kwargs})


def read_text(path: Path) -> str:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8")


def input_columns(path: Path, names: list[str]) -> list[dict]:
    """The rows of a scored output (any format), only the columns ``names``, as Python values
    (text outputs: CSV/TSV fields as text, JSONL values as JSON)."""
    if path.suffix == ".parquet":
        return pq.read_table(path).select(names).to_pylist()
    text = read_text(path)
    if ".jsonl" in path.name:
        return [{n: json.loads(line)[n] for n in names} for line in text.splitlines()]
    sep = "\t" if ".tsv" in path.name else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    header = rows[0]
    return [{n: row[header.index(n)] for n in names} for row in rows[1:]]


def statuses_of(path: Path) -> list[str]:
    return [r["tonecls_status"] for r in input_columns(path, ["tonecls_status"])]


def nested(depth: int, leaf=1):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


# --- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", TEXT_FORMATS + ["parquet"])
def test_a_jsonl_line_nested_too_deep_is_a_flagged_row_not_a_crash(tmp_path, fmt):
    """Depth 1000 overflowed the JSON decoder (RecursionError: exit 1, "a bug in tonecls"), and
    depth 400 decoded but then overflowed the writers. Such a line is flagged in place; the
    deepest line that is read keeps its value exactly."""
    deep_ok = 48 if fmt == "parquet" else 127  # the line's object is one more level
    lines = [json.dumps({"id": 1, "text": "good game", "v": nested(deep_ok)}),
             json.dumps({"id": 2, "text": "bad game", "v": nested(400)}),
             '{"id": 3, "text": "so sad", "v": ' + "[" * 5000 + "]" * 5000 + "}",
             json.dumps({"id": 4, "text": "fine", "v": nested(deep_ok, 2)})]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / f"out.{fmt}"
    summary = score(src, out, chunksize=2)
    assert summary.rows == 4 and summary.malformed_lines == [2, 3]
    assert statuses_of(out) == ["ok", "malformed_line", "malformed_line", "ok"]
    values = input_columns(out, ["v"])
    if fmt in ("csv", "tsv", "csv.gz"):
        values = [{"v": json.loads(r["v"]) if r["v"] else None} for r in values]
    assert [r["v"] for r in values] == [nested(deep_ok), None, None, nested(deep_ok, 2)]


def test_a_deep_jsonl_line_via_the_cli_is_flagged_with_exit_0(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "text": "hi there"}\n{"id": 2, "text": "yo", "v": '
                   + "[" * 1000 + "]" * 1000 + "}\n", encoding="utf-8")
    code, out, err = cli(capsys, "preprocess", src, "-o", tmp_path / "out.csv", "-q")
    assert code == 0 and "Traceback" not in out + err, err
    rows = input_columns(tmp_path / "out.csv", ["id", "tonecls_status"])
    assert [r["tonecls_status"] for r in rows] == ["ok", "malformed_line"]


def test_parquet_output_of_values_nested_deeper_than_parquet_reads_is_refused(tmp_path):
    """pyarrow writes a Parquet file nested 50 lists deep that it cannot open again; the job
    ended in a JobFailed 'free disk space ... --resume' after all the work. Now: refused with
    what to do, and nothing is written."""
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": 1, "text": "hi", "v": nested(60)}) + "\n", encoding="utf-8")
    out = tmp_path / "out.parquet"
    with pytest.raises(InputError, match=r"column 'v' holds values nested 121 levels deep.*CSV, TSV or JSONL"):
        score(src, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]
