"""Exactness as a property of the I/O layer: random Arrow tables, random CSV and JSONL text,
random frames through the runner.

Every table is written to each input format that can hold its types (by pyarrow, json or
csv, not by tonecls), read with ``read_export`` in small chunks and written with
``ExportWriter`` to every output format; what comes out is read back without tonecls and
compared exactly with what that output format holds of each value (``tests/properties.py``).
The runner pass (``tokenize_file``, the cheapest job) keeps every value of random frames for
every input x output pair. The example counts follow the Hypothesis profile
(``HYPOTHESIS_PROFILE=ci`` for many more)."""

from __future__ import annotations

import gzip
import json
import math
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from properties import (
    FORMATS,
    arrow_tables,
    base,
    delimited_texts,
    examples,
    field_text,
    jsonl_texts,
    jsonl_value,
    open_text_out,
    python_columns,
    read_output,
    same,
    text_value,
    write_input,
)
from support import is_missing_value, read_all, read_verbatim, tokenize_quietly, write_export

from tonecls.errors import InputError
from tonecls.io import MARKER_COLUMNS, READ_STATUS_COLUMN, ExportWriter, parquet_schema, read_export
from tonecls.io.values import RawNumber
from tonecls.io.writing import repeated_names, to_text_value


def copy_export(src: Path, out: Path, chunksize: int) -> list[str]:
    """``read_export`` -> ``ExportWriter``, as the runner does; the read statuses."""
    declared = parquet_schema(src) if src.suffix == ".parquet" else None
    statuses: list[str] = []
    with ExportWriter(out, schema=declared) as writer:
        for chunk in read_export(src, text_col=None, chunksize=chunksize):
            statuses += chunk[READ_STATUS_COLUMN].tolist()
            writer.write(chunk)
    return statuses


def _filled(value, kind):
    """JSON data as a Parquet column of type ``kind`` holds it: a struct has every field
    (absent: null), a JSON constant is its double, an integer in a float column a float."""
    if value is None:
        return None
    if isinstance(value, RawNumber):
        return float(value)
    if pa.types.is_struct(kind):
        return {f.name: _filled(value.get(f.name), f.type) for f in kind}
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return [_filled(v, kind.value_type) for v in value]
    if pa.types.is_floating(kind) and isinstance(value, int):
        return float(value)
    return value


_JSON_KIND = {bool: pa.types.is_boolean, int: pa.types.is_integer, float: pa.types.is_floating,
              str: pa.types.is_string, list: pa.types.is_list,
              dict: lambda kind: pa.types.is_struct(kind) or pa.types.is_map(kind)}  # {} everywhere: a map


def _check_jsonl_to_parquet(values: list, kind, got: list, name: str) -> None:
    kinds = {float if isinstance(v, RawNumber) else type(v) for v in values if v is not None}
    if not kinds:
        assert pa.types.is_null(kind), (name, kind)
    elif len(kinds) == 1:
        assert _JSON_KIND[kinds.pop()](kind), (name, kind, values[:3])
    assert all(same(g, _filled(v, kind)) for g, v in zip(got, values)), (name, got, values)


def _expected(table: pa.Table, in_fmt: str, out_fmt: str) -> list[list]:
    """The values an output holds, column by column (Parquet -> Parquet: the table itself)."""
    columns = python_columns(table)
    kinds = [table.schema.field(i).type for i in range(table.num_columns)]
    if base(in_fmt) == "jsonl":  # JSON data: float32 values were written as doubles
        kinds = [None] * len(kinds)
    if base(in_fmt) in ("csv", "tsv"):
        columns = [["" if v is None else v for v in column] for column in columns]
    if out_fmt == "parquet":
        return columns
    if base(out_fmt) == "jsonl":
        return [[v if k is None else jsonl_value(v, k) for v in column] for column, k in zip(columns, kinds)]
    return [[field_text(v) if k is None else text_value(v, k) for v in column] for column, k in zip(columns, kinds)]


def check_table(tmp_path: Path, table: pa.Table, in_fmt: str, out_fmt: str, chunksize: int) -> None:
    src, out = tmp_path / f"in.{in_fmt}", tmp_path / f"out.{out_fmt}"
    for path in (src, out):
        path.unlink(missing_ok=True)
    write_input(table, src, in_fmt)
    statuses = copy_export(src, out, chunksize)
    assert statuses == ["ok"] * table.num_rows
    names, rows = read_output(out, out_fmt)
    expected = _expected(table, in_fmt, out_fmt)
    got = [[row[i] for row in rows] for i in range(len(names))]
    if table.num_rows == 0 and "jsonl" in (base(in_fmt), base(out_fmt)):
        assert rows == []  # JSON Lines hold column names only in records
        return
    assert names == table.column_names
    assert len(rows) == table.num_rows
    out_schema = pq.read_schema(out) if out_fmt == "parquet" else None
    for i, name in enumerate(names):
        if out_schema is not None and in_fmt == "parquet":
            assert out_schema.field(i).type == table.schema.field(i).type, name
        if out_schema is not None and base(in_fmt) == "jsonl":
            _check_jsonl_to_parquet(expected[i], out_schema.field(i).type, got[i], name)
            continue
        assert same(got[i], expected[i]), (name, got[i], expected[i])


_PAIRS = [(i, o) for i in FORMATS for o in FORMATS]


@pytest.mark.parametrize(("in_fmt", "out_fmt"), _PAIRS, ids=[f"{i}-{o}" for i, o in _PAIRS])
def test_every_value_and_type_survives_every_format_pair(tmp_path, in_fmt, out_fmt):
    @settings(max_examples=examples(2))
    @given(data=st.data(), chunksize=st.integers(1, 4))
    def check(data, chunksize):
        check_table(tmp_path, data.draw(arrow_tables(in_fmt)), in_fmt, out_fmt, chunksize)

    check()


def _read_all(path: Path, chunksize: int) -> tuple[list[str], list[list], list[str]]:
    """Column names (in order of first appearance), rows (a column a chunk lacks: None) and
    read statuses of a file read in chunks."""
    import pandas as pd

    chunks = list(read_export(path, text_col=None, chunksize=chunksize))
    names = list(dict.fromkeys(c for chunk in chunks for c in chunk.columns if c not in MARKER_COLUMNS))
    rows, statuses = [], []
    for chunk in chunks:
        data = chunk.drop(columns=list(MARKER_COLUMNS))
        for i in range(data.shape[1]):  # pandas' str dtype: missing is NaN
            if isinstance(data.dtypes.iloc[i], pd.StringDtype):
                data.isetitem(i, data.iloc[:, i].astype(object).where(data.iloc[:, i].notna(), None))
        positions = [list(data.columns).index(n) if n in data.columns else None for n in names]
        for values in data.values.tolist():
            rows.append([None if p is None else values[p] for p in positions])
        statuses += chunk[READ_STATUS_COLUMN].tolist()
    return names, rows, statuses


@pytest.mark.parametrize("in_fmt", ["csv", "tsv", "csv.gz", "tsv.gz"])
def test_any_csv_text_is_read_verbatim_and_written_verbatim(tmp_path, in_fmt):
    @settings(max_examples=examples(6))
    @given(data=st.data(), chunksize=st.integers(1, 4), out_fmt=st.sampled_from(FORMATS))
    def check(data, chunksize, out_fmt):
        sep = "," if base(in_fmt) == "csv" else "\t"
        content, header, rows, statuses = data.draw(delimited_texts(sep))
        src, out = tmp_path / f"in.{in_fmt}", tmp_path / f"out.{out_fmt}"
        out.unlink(missing_ok=True)
        src.write_bytes(gzip.compress(content) if in_fmt.endswith(".gz") else content)
        chunks = list(read_export(src, text_col=None, chunksize=chunksize))
        assert all(list(c.columns) == [*header, *MARKER_COLUMNS] for c in chunks)  # verbatim, repeats too
        assert [v for c in chunks for v in c.iloc[:, :len(header)].values.tolist()] == rows
        assert [v for c in chunks for v in c[READ_STATUS_COLUMN]] == statuses
        if repeated_names(header) and base(out_fmt) in ("jsonl", "parquet"):
            return  # refused before any work: tested below
        copy_export(src, out, chunksize)
        names, got = read_output(out, out_fmt)
        if base(out_fmt) == "jsonl" and not rows:
            return
        assert names == header and [[v for v in row] for row in got] == rows

    check()


def _json_out(value):
    """What an output's JSON text holds, numbers as their text (``("float", text)``)."""
    return json.loads(value, parse_constant=RawNumber, parse_float=lambda t: ("float", t))


def _same_json(written, expected) -> bool:
    """``written`` (parsed by :func:`_json_out`) holds ``expected``: a float as its double, a
    RawNumber verbatim, everything else exactly."""
    if isinstance(written, tuple):
        if isinstance(expected, RawNumber):
            return written[1] == expected.text
        return isinstance(expected, float) and same(float(written[1]), expected)
    if isinstance(expected, dict):
        return isinstance(written, dict) and list(written) == list(expected) and \
            all(_same_json(written[k], expected[k]) for k in expected)
    if isinstance(expected, list):
        return isinstance(written, list) and len(written) == len(expected) and \
            all(_same_json(w, e) for w, e in zip(written, expected))
    return same(written, expected)


def _same_field(text: str, expected) -> bool:
    if expected is None or isinstance(expected, str):
        return text == ("" if expected is None else expected)
    if isinstance(expected, RawNumber):
        return text == expected.text
    if isinstance(expected, bool):
        return text == str(expected)
    if isinstance(expected, int):
        return text == str(expected)
    return _same_json(_json_out(text), expected)


def _check_jsonl_output(out: Path, out_fmt: str, names: list[str], expected: list[list]) -> None:
    if base(out_fmt) == "jsonl":
        with open_text_out(out) as text:
            lines = [line for line in text.read().split("\n") if line]
        got = [_json_out(line) for line in lines]
        assert len(got) == len(expected)
        for record, row in zip(got, expected):
            assert all(_same_json(record.get(n), v) for n, v in zip(names, row)), (record, row)
        return
    header, rows = read_output(out, out_fmt)
    assert header == names and len(rows) == len(expected)
    for row, values in zip(rows, expected):
        assert all(_same_field(t, v) for t, v in zip(row, values)), (row, values)


def test_any_jsonl_text_is_read_exactly_and_written_exactly(tmp_path):
    @settings(max_examples=examples(20))
    @given(data=st.data(), chunksize=st.integers(1, 4), out_fmt=st.sampled_from(FORMATS))
    def check(data, chunksize, out_fmt):
        content, records, statuses = data.draw(jsonl_texts())
        src, out = tmp_path / "in.jsonl", tmp_path / f"out.{out_fmt}"
        out.unlink(missing_ok=True)
        src.write_bytes(content)
        read_names, rows, read_statuses = _read_all(src, chunksize)
        names = list(dict.fromkeys(k for r in records for k in r))
        expected = [[r.get(n) for n in names] for r in records]
        assert read_names == names and same(rows, expected) and read_statuses == statuses
        if not records:
            return
        try:
            copy_export(src, out, chunksize)
        except InputError as error:  # what the output cannot hold is refused, said plainly
            if "have no column at all" in str(error):  # rows of {} before any key
                assert base(out_fmt) != "jsonl" and not any(records[:chunksize]), error
            else:
                assert out_fmt == "parquet" and "no Parquet number type holds" in str(error), error
            return
        if out_fmt == "parquet":
            schema = pq.read_schema(out)
            _, rows = read_output(out, out_fmt)
            for i, name in enumerate(names):
                if not pa.types.is_string(schema.field(i).type):
                    _check_jsonl_to_parquet([row[i] for row in expected], schema.field(i).type,
                                            [row[i] for row in rows], name)
            return
        _check_jsonl_output(out, out_fmt, names, expected)

    check()


def test_a_nan_beside_an_empty_object_in_a_nested_jsonl_value_reaches_parquet(tmp_path):
    """Found by the property above: the empty object's type was rebuilt from the values as
    read, with their NaN still unconverted."""
    src, out = tmp_path / "in.jsonl", tmp_path / "out.parquet"
    src.write_bytes(b'{"a": 0}\n{"a": 1, "b": {"c": {}, "d": NaN}}\n')
    copy_export(src, out, 1)
    nested = pq.read_table(out).column("b").to_pylist()
    assert nested[0] is None and nested[1]["c"] == [] and math.isnan(nested[1]["d"])


# --- random text through reading and writing -------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(
        st.text(alphabet=st.sampled_from(list(string.ascii_letters + ' ,"\t\n\r;\'\\') + ["é", "\U0001F600"]), max_size=30),
        min_size=1, max_size=12,
    ),
    ext=st.sampled_from(["csv", "tsv", "jsonl"]),
)
def test_any_text_round_trips(tmp_path, texts, ext):
    frame = pd.DataFrame({"id": [f"{i:04d}" for i in range(len(texts))], "text": texts})
    path = write_export(tmp_path / f"prop.{ext}", frame, chunk=5)
    back = read_all(path, chunksize=4)
    assert (back[READ_STATUS_COLUMN] == "ok").all()
    assert back["id"].tolist() == frame["id"].tolist()
    assert back["text"].tolist() == texts


# --- random frames through the runner --------------------------------------------------------


HUGE = "x" * 140_000


TEXT = st.one_of(st.none(), st.text(max_size=30), st.sampled_from([HUGE, "NA", "007", " ", '"q"', "a,b\tc\nd\re"]))


INT = st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1))


FLOAT = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False))


LIST = st.one_of(st.none(), st.lists(st.integers(-1000, 1000), max_size=3))


IN_FORMATS = ["csv", "tsv.gz", "jsonl", "parquet"]


OUT_FORMATS = ["csv", "tsv", "jsonl.gz", "parquet"]


@st.composite
def frames(draw):
    n = draw(st.integers(min_value=1, max_value=6))
    return pd.DataFrame({
        "id": pd.array(draw(st.lists(INT, min_size=n, max_size=n)), dtype="Int64"),
        "text": pd.array(draw(st.lists(TEXT, min_size=n, max_size=n)), dtype=object),
        "score": np.array([np.nan if v is None else v for v in draw(st.lists(FLOAT, min_size=n, max_size=n))]),
        "tags": pd.array(draw(st.lists(LIST, min_size=n, max_size=n)), dtype=object),
    })


def _normal(value):
    if is_missing_value(value):
        return None
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


def _round_trip(tmp_path: Path, frame: pd.DataFrame, in_ext: str, out_ext: str) -> None:
    src, out = tmp_path / f"in.{in_ext}", tmp_path / f"out.{out_ext}"
    src.unlink(missing_ok=True)
    with ExportWriter(src) as writer:
        writer.write(frame)
    read_in = read_verbatim(src)
    tokenize_quietly(src, out, chunksize=2)
    read_out = read_verbatim(out)
    assert read_in[READ_STATUS_COLUMN].eq("ok").all() and len(read_out) == len(frame)
    assert list(read_out.columns) == [*frame.columns, "tokens", "tonecls_status", *MARKER_COLUMNS]
    in_text, out_text = (ext.split(".")[0] in ("csv", "tsv") for ext in (in_ext, out_ext))
    for name in frame.columns:
        expected = [_normal(v) for v in read_in[name]]
        got = [_normal(v) for v in read_out[name]]
        if out_text:  # CSV/TSV hold text: the value's exact text, missing as an empty field
            expected = ["" if v is None else v if in_text else to_text_value(v) for v in expected]
            got = ["" if v is None else v for v in got]
        assert got == expected, (name, in_ext, out_ext)


def _property(max_examples: int):
    @settings(max_examples=max_examples, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large])
    @given(frame=frames())
    def check(tmp_path, in_ext, out_ext, frame):
        _round_trip(tmp_path, frame, in_ext, out_ext)

    return check


_fast = _property(6)


THOROUGH_EXAMPLES = examples(3)  # 60 under the ci profile (CI), 150 under explore
_thorough = _property(THOROUGH_EXAMPLES)


@pytest.mark.parametrize("out_ext", OUT_FORMATS)
@pytest.mark.parametrize("in_ext", IN_FORMATS)
def test_round_trip_keeps_every_value(tmp_path, in_ext, out_ext):
    _fast(tmp_path, in_ext, out_ext)


@pytest.mark.slow
@pytest.mark.parametrize("out_ext", OUT_FORMATS)
@pytest.mark.parametrize("in_ext", IN_FORMATS)
def test_round_trip_keeps_every_value_thoroughly(tmp_path, in_ext, out_ext):
    if THOROUGH_EXAMPLES <= 6:  # the fast profile: the test above already draws these examples
        pytest.skip("runs with HYPOTHESIS_PROFILE=ci (as CI does) or explore")
    _thorough(tmp_path, in_ext, out_ext)


def test_a_struct_whose_list_field_is_null_in_one_chunk_reaches_parquet(tmp_path):
    """Found by the property above: pyarrow's cast of a struct holding a list of nulls to
    the unified struct built an invalid array; the cast is now validated (else value by value)."""
    src, out = tmp_path / "in.jsonl", tmp_path / "out.parquet"
    src.write_text('{"a": {"": null, "0": -128}}\n{"a": {"": [null, null], "0": null}}\n', encoding="utf-8")
    copy_export(src, out, 1)
    assert pq.read_table(out).column("a").to_pylist() == [{"": None, "0": -128}, {"": [None, None], "0": None}]
