"""Lossless pass-through (issue 10): each failure a user met has a fixture file written here,
and a property test round-trips random frames through every input x output format pair.

The runner pass is ``tokenize_file`` (the streaming runner with the cheapest job): what holds
for it holds for ``score_file`` and ``dialect_file``, which run the same reader, writer and
runner.
"""

from __future__ import annotations

import base64
import decimal
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tonecls.errors import InputError
from tonecls.io import MARKER_COLUMNS, READ_STATUS_COLUMN, ExportWriter, read_export
from tonecls.io.writing import to_text_value
from tonecls.jobs import tokenize_file

BIG = 1_500_000_000_000_000_001  # a tweet-like snowflake id: not exactly representable as a float


def _read(path, **kwargs) -> pd.DataFrame:
    return pd.concat(list(read_export(path, text_col=None, **kwargs)))


def _tokenize(src: Path, out: Path, **kwargs):
    return tokenize_file(src, out, quiet=True, **kwargs)


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


# --- the cases users met ----------------------------------------------------------------------


@pytest.mark.parametrize("out_ext", ["parquet", "jsonl", "csv"])
def test_64_bit_ids_stay_integers_beside_nulls_and_malformed_lines(tmp_path, out_ext):
    src = tmp_path / "posts.jsonl"
    lines = [json.dumps({"id": BIG + i, "text": f"post {i}"}) for i in range(5)]
    lines[2] = json.dumps({"id": None, "text": "no id"})
    lines.insert(3, '{"id": 1500000000000000999, "text": "truncated')
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / f"tokens.{out_ext}"
    _tokenize(src, out, chunksize=2)
    back = _read(out)
    expected = [BIG, BIG + 1, None, 1500000000000000999, BIG + 3, BIG + 4]
    if out_ext == "csv":
        assert back["id"].tolist() == ["" if v is None else str(v) for v in expected]
    else:
        assert [None if _missing(v) else int(v) for v in back["id"]] == expected
    if out_ext == "parquet":
        assert pa.types.is_integer(pq.read_schema(out).field("id").type)
    assert back["tonecls_status"].tolist()[3] == "malformed_line"
    assert back["text"].tolist()[3] == '{"id": 1500000000000000999, "text": "truncated'


def test_parquet_nullable_integer_ids_keep_their_type(tmp_path):
    src = tmp_path / "posts.parquet"
    table = pa.table({"id": pa.array([BIG, None, BIG + 2], pa.int64()), "text": ["a", "b", None]})
    pq.write_table(table, src)
    for ext in ("parquet", "jsonl", "csv"):
        out = tmp_path / f"tokens.{ext}"
        _tokenize(src, out, chunksize=1)  # a chunk of only the null
        back = _read(out)
        if ext == "parquet":
            assert pq.read_schema(out).field("id").type == pa.int64()
            assert back["id"].tolist()[0] == BIG and back["id"].tolist()[2] == BIG + 2
        elif ext == "jsonl":
            assert back["id"].tolist() == [BIG, None, BIG + 2]
        else:
            assert back["id"].tolist() == [str(BIG), "", str(BIG + 2)]


@pytest.mark.parametrize("ext", ["csv", "tsv", "csv.gz"])
def test_posts_over_the_csv_module_limit_are_read_whole(tmp_path, ext):
    long_post = "word " * 40_000 + "end"  # 200,003 characters, over csv's 131,072 default
    frame = pd.DataFrame({"id": ["1", "2"], "text": [long_post, "short"]})
    src = tmp_path / f"posts.{ext}"
    with ExportWriter(src) as writer:
        writer.write(frame)
    back = _read(src)
    assert back[READ_STATUS_COLUMN].tolist() == ["ok", "ok"]
    assert back["text"].tolist() == [long_post, "short"]


def test_tsv_text_starting_with_a_quote_is_read_literally(tmp_path):
    src = tmp_path / "posts.tsv"
    src.write_text('id\ttext\tplatform\n1\t"quoted" she said\tx\n2\t"unclosed\ty\n', encoding="utf-8")
    back = _read(src)
    assert back[READ_STATUS_COLUMN].tolist() == ["ok", "ok"]
    assert back["text"].tolist() == ['"quoted" she said', '"unclosed']
    assert back["id"].tolist() == ["1", "2"]


def test_a_bare_carriage_return_inside_a_field_keeps_id_and_text(tmp_path):
    src = tmp_path / "posts.csv"
    src.write_bytes(b"id,text\n1,before\rafter\n2,fine\n")
    back = _read(src)
    assert back["id"].tolist() == ["1", "2"]
    assert back["text"].tolist() == ["before\rafter", "fine"]
    assert back[READ_STATUS_COLUMN].tolist() == ["ok", "ok"]
    out = tmp_path / "out.csv"
    _tokenize(src, out)
    assert _read(out)["text"].tolist() == ["before\rafter", "fine"]  # written quoted, read back


def test_a_pandas_index_in_parquet_is_a_column(tmp_path):
    src = tmp_path / "posts.parquet"
    frame = pd.DataFrame({"text": ["a", "b"]}, index=pd.Index(["x1", "x2"], name="post_id"))
    frame.to_parquet(src)  # pandas stores the index as a column plus metadata
    back = _read(src, id_col="post_id")
    assert back["post_id"].tolist() == ["x1", "x2"]
    out = tmp_path / "tokens.csv"
    _tokenize(src, out)
    assert _read(out)["post_id"].tolist() == ["x1", "x2"]


def test_jsonl_floats_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.random(1500) * 1e-6, rng.standard_normal(1500) * 1e12])
    src = tmp_path / "posts.jsonl"
    src.write_text("".join(json.dumps({"text": "x", "v": float(v)}) + "\n" for v in values), encoding="utf-8")
    for ext in ("jsonl", "csv", "parquet"):
        out = tmp_path / f"tokens.{ext}"
        _tokenize(src, out, chunksize=700)
        back = [float(v) for v in _read(out)["v"]]
        assert back == values.tolist(), ext  # every bit


def test_a_jsonl_key_first_seen_late_does_not_fail(tmp_path):
    src = tmp_path / "posts.jsonl"
    rows = [{"id": i, "text": "x"} for i in range(2_500)]  # (the reported case: after row 20,000)
    rows[2_100]["lang"] = "en"  # in the second chunk
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    for ext in ("csv", "parquet", "jsonl"):
        out = tmp_path / f"tokens.{ext}"
        _tokenize(src, out, chunksize=2_000)
        back = _read(out)
        assert len(back) == 2_500 and back["id"].tolist()[-1] in (2_499, "2499")
        lang = back["lang"].tolist()
        assert lang[2_100] == "en" and all(v in (None, "") or _missing(v) for v in lang[:2_100])


def test_a_parquet_decimal_whose_precision_grows_after_the_first_chunk(tmp_path):
    first = pa.table({"text": ["a", "b"], "amount": pa.array([decimal.Decimal("1.25"), None], pa.decimal128(3, 2))})
    second = pa.table({"text": ["c"], "amount": pa.array([decimal.Decimal("12345.67")], pa.decimal128(7, 2))})
    parts = tmp_path / "in.parquet"
    with ExportWriter(parts) as writer:  # two chunks whose declared types differ
        writer.write(first.to_pandas())
        writer.write(second.to_pandas())
    back = pq.read_table(parts)
    assert back.column("amount").to_pylist() == [decimal.Decimal("1.25"), None, decimal.Decimal("12345.67")]
    out = tmp_path / "tokens.parquet"
    _tokenize(parts, out, chunksize=1)
    assert pq.read_table(out).column("amount").to_pylist() == back.column("amount").to_pylist()


def test_nested_and_binary_columns_pass_through(tmp_path):
    src = tmp_path / "posts.parquet"
    table = pa.table({
        "text": ["a", "b"],
        "tags": pa.array([["x", "y"], None], pa.list_(pa.string())),
        "user": pa.array([{"name": "ann", "n": 1}, {"name": None, "n": 2}],
                         pa.struct([("name", pa.string()), ("n", pa.int64())])),
        "raw": pa.array([b"\x00\xff", None], pa.binary()),
        "when": pa.array([0, 86_400_000_000], pa.timestamp("us")),
    })
    pq.write_table(table, src)
    out = tmp_path / "tokens.parquet"
    _tokenize(src, out)
    got = pq.read_table(out)
    for name in ("tags", "user", "raw", "when"):
        assert got.schema.field(name).type == table.schema.field(name).type, name
        assert got.column(name).to_pylist() == table.column(name).to_pylist(), name
    for ext in ("jsonl", "csv"):
        text_out = tmp_path / f"tokens.{ext}"
        _tokenize(src, text_out)
        back = _read(text_out)
        tags, user, raw = ([None if _missing(v) else v for v in back[c]] for c in ("tags", "user", "raw"))
        if ext == "csv":  # JSON text in the fields
            tags, user = [json.loads(v) if v else None for v in tags], [json.loads(v) for v in user]
            raw = [v or None for v in raw]
        assert tags == [["x", "y"], None]
        assert user == [{"name": "ann", "n": 1}, {"name": None, "n": 2}]
        assert raw == [base64.b64encode(b"\x00\xff").decode(), None]


# --- the Dask engine reads the fixtures as the local engine does ------------------------------


def _fixture_files(tmp_path: Path) -> list[Path]:
    jsonl = tmp_path / "ids.jsonl"
    rows = [json.dumps({"id": BIG + i, "text": ["love it", None, "007", "hate it"][i % 4],
                        "score": i / 7}) for i in range(40)]
    rows[5] = '{"id": 1500000000000000999, "text": "truncated'
    rows[30] = json.dumps({"id": BIG, "text": "late key", "lang": "en"})
    jsonl.write_text("\n".join(rows) + "\n", encoding="utf-8")
    csv = tmp_path / "odd.csv"
    csv.write_bytes(b"id,text\n1,before\rafter\n2,\"two\nlines\"\n3,too,many\n4," + b"x" * 140_000 + b"\n5,ok\n")
    tsv = tmp_path / "quotes.tsv"
    tsv.write_text("id\ttext\n" + "".join(f'{i}\t"quoted" she said {i}\n' for i in range(10)), encoding="utf-8")
    parquet = tmp_path / "nested.parquet"
    pq.write_table(pa.table({
        "id": pa.array([BIG, None, BIG + 2, 7], pa.int64()), "text": ["a", "b", None, "c"],
        "tags": pa.array([["x"], None, [], ["y", "z"]], pa.list_(pa.string())),
        "amount": pa.array([decimal.Decimal("1.5"), None, decimal.Decimal("2.25"), None], pa.decimal128(5, 2)),
    }), parquet, row_group_size=2)
    return [jsonl, csv, tsv, parquet]


def test_local_and_dask_engines_give_identical_outputs_on_the_fixtures(tmp_path, dask_scheduler):
    from support import StandInModel

    from tonecls.jobs import score_file

    for src in _fixture_files(tmp_path):
        local, distributed_out = tmp_path / f"{src.stem}_local.parquet", tmp_path / f"{src.stem}_dask.parquet"
        expected = score_file(src, local, model=StandInModel(), chunksize=3)
        got = score_file(src, distributed_out, model=StandInModel(), engine="dask",
                         scheduler=dask_scheduler, blocksize=64)  # a block every few rows
        assert len(list(distributed_out.iterdir())) > 1, src.name
        assert got.statuses == expected.statuses and got.malformed_lines == expected.malformed_lines
        assert pq.read_table(distributed_out).equals(pq.read_table(local)), src.name


# --- paths and options, before any work ------------------------------------------------------


def test_bad_paths_are_refused_before_anything_is_written(tmp_path):
    src = tmp_path / "posts.csv"
    src.write_text("id,text\n1,a\n", encoding="utf-8")
    with pytest.raises(InputError, match="is the input file"):
        _tokenize(src, src)
    folder = tmp_path / "out.csv"
    folder.mkdir()
    with pytest.raises(InputError, match="existing directory"):
        _tokenize(src, folder)
    file_as_dir = tmp_path / "plain.txt"
    file_as_dir.write_text("x")
    with pytest.raises(InputError, match="is a file, not a directory"):
        _tokenize(src, file_as_dir / "out.csv")
    with pytest.raises(InputError, match="cannot create files"):  # read-only, even for root
        _tokenize(src, Path("/proc/tonecls-out.csv"))
    with pytest.raises(InputError, match="does not exist"):
        _tokenize(tmp_path / "missing.csv", tmp_path / "o.csv")
    with pytest.raises(InputError, match="holds no export files"):  # a folder of parts, empty
        _tokenize(folder, tmp_path / "o.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "plain.txt", "posts.csv"]


def test_a_partial_file_tonecls_did_not_write_is_refused_and_kept(tmp_path):
    src = tmp_path / "posts.csv"
    src.write_text("id,text\n1,a\n", encoding="utf-8")
    mine = tmp_path / "out.csv.partial"
    mine.write_text("the user's own file")
    for resume in (False, True):
        with pytest.raises(InputError, match="not written by tonecls"):
            _tokenize(src, tmp_path / "out.csv", resume=resume)
    assert mine.read_text() == "the user's own file"
    with pytest.raises(InputError, match="not written by tonecls"):
        ExportWriter(tmp_path / "out.csv")
    assert mine.read_text() == "the user's own file"


def test_bad_options_fail_before_reading(tmp_path):
    from tonecls.io.dask_engine import parse_blocksize

    src = tmp_path / "posts.csv"
    src.write_text("id,text\n1,a\n", encoding="utf-8")
    with pytest.raises(InputError, match="chunksize"):
        _tokenize(src, tmp_path / "o.csv", chunksize=0)
    with pytest.raises(InputError, match="on_bad_lines"):
        _tokenize(src, tmp_path / "o.csv", on_bad_lines="skip")
    with pytest.raises(InputError, match="'abc' is not a size"):
        parse_blocksize("abc")
    assert parse_blocksize("16MB") == 16_000_000 and parse_blocksize("none") is None
    assert parse_blocksize(2048) == 2048


# --- the property: every input x output pair keeps every value --------------------------------

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
    if _missing(value):
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
    read_in = _read(src)
    _tokenize(src, out, chunksize=2)
    read_out = _read(out)
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
_thorough = _property(60)


@pytest.mark.parametrize("out_ext", OUT_FORMATS)
@pytest.mark.parametrize("in_ext", IN_FORMATS)
def test_round_trip_keeps_every_value(tmp_path, in_ext, out_ext):
    _fast(tmp_path, in_ext, out_ext)


@pytest.mark.slow
@pytest.mark.parametrize("out_ext", OUT_FORMATS)
@pytest.mark.parametrize("in_ext", IN_FORMATS)
def test_round_trip_keeps_every_value_thoroughly(tmp_path, in_ext, out_ext):
    _thorough(tmp_path, in_ext, out_ext)
