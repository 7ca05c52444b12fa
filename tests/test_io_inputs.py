"""The hostile inputs of issue 20 that live in the readers and writers, one test each:
headers kept verbatim, encodings and shapes said plainly, values no format may change.

The properties behind them (every type, every format pair, any CSV / JSONL text) are in
``test_io_properties.py``.
"""

from __future__ import annotations

import codecs
import gzip
import json
import math
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tonecls.errors import InputError
from tonecls.io import MARKER_COLUMNS, READ_STATUS_COLUMN, ContentHash, ExportWriter, read_export
from tonecls.io.job import ChunkJob
from tonecls.io.runner import run_file
from tonecls.io.values import RawNumber
from tonecls.jobs import tokenize_file


def _read(path, **kwargs) -> pd.DataFrame:
    return pd.concat(list(read_export(path, text_col=None, **kwargs)))


def _tokenize(src: Path, out: Path, **kwargs):
    return tokenize_file(src, out, quiet=True, **kwargs)


def _header(path: Path) -> str:
    return path.read_text(encoding="utf-8").splitlines()[0]


# --- headers verbatim ----------------------------------------------------------------------


def test_repeated_and_blank_header_names_stay_as_they_are(tmp_path):
    src = tmp_path / "posts.csv"
    src.write_text(",x,x,x.1\n0,a,b,third one\n1,c,d,fourth\n", encoding="utf-8")
    chunk = next(read_export(src, text_col="x.1"))
    assert list(chunk.columns) == ["", "x", "x", "x.1", *MARKER_COLUMNS]
    out = tmp_path / "tokens.csv"
    _tokenize(src, out, text_col="x.1")  # the third column, not a renamed one
    assert _header(out) == ",x,x,x.1,tokens,tonecls_status"
    back = _read(out, format="csv")
    assert back["tokens"].tolist() == ["third one", "fourth"]
    assert back.iloc[:, 1].tolist() == ["a", "c"] and back.iloc[:, 2].tolist() == ["b", "d"]


def test_a_repeated_text_column_name_is_ambiguous(tmp_path):
    src = tmp_path / "posts.csv"
    src.write_text("x,x,x.1\na,b,c\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"2 columns named 'x' \(columns \[1, 2\]"):
        read_export(src, text_col="x")
    with pytest.raises(InputError, match="ambiguous"):
        _tokenize(src, tmp_path / "out.csv", text_col="x")
    with pytest.raises(InputError, match="ambiguous"):
        read_export(src, text_col="x.1", id_col="x")


@pytest.mark.parametrize("ext", ["jsonl", "parquet"])
def test_repeated_names_are_refused_for_jsonl_and_parquet_before_any_work(tmp_path, ext):
    src = tmp_path / "posts.csv"
    src.write_text("x,text,x\n1,hello,2\n", encoding="utf-8")
    out = tmp_path / f"tokens.{ext}"
    prepared = []

    class Job(ChunkJob):
        def prepare(self):
            prepared.append(True)

        def transform(self, chunk, read_status):
            return chunk

    with pytest.raises(InputError, match=r"repeats the column name\(s\) \['x'\]"):
        run_file(src, out, Job(), text_col="text", quiet=True)
    assert not prepared  # before the slow setup
    assert sorted(p.name for p in tmp_path.iterdir()) == ["posts.csv"]


def test_repeated_parquet_field_names_pass_through_to_csv_and_are_refused_for_parquet(tmp_path):
    src = tmp_path / "posts.parquet"
    table = pa.Table.from_arrays([pa.array([1, 2]), pa.array(["good day", "bad day"]), pa.array([3, None])],
                                 names=["x", "text", "x"])
    pq.write_table(table, src)
    assert list(_read(src).columns[:3]) == ["x", "text", "x"]
    assert list(_read(src, columns=["x"]).columns[:2]) == ["x", "x"]  # file order, both
    out = tmp_path / "tokens.csv"
    _tokenize(src, out)
    assert _header(out) == "x,text,x,tokens,tonecls_status"
    assert out.read_text(encoding="utf-8").splitlines()[2] == "2,bad day,,bad day,ok"
    with pytest.raises(InputError, match="repeats the column name"):
        _tokenize(src, tmp_path / "tokens.parquet")


def test_a_struct_with_repeated_field_names_is_refused_plainly(tmp_path):
    src = tmp_path / "posts.parquet"
    meta = pa.StructArray.from_arrays([pa.array([1]), pa.array(["b"])], names=["a", "a"])
    pq.write_table(pa.table({"text": ["x"], "meta": meta}), src)
    with pytest.raises(InputError, match=r"'meta' holds a struct that repeats the field name\(s\) \['a'\]"):
        read_export(src)


def test_score_frame_refuses_a_repeated_text_column():
    from support import StandInModel

    from tonecls.score import score_frame

    frame = pd.DataFrame([["a", "b"]], columns=["text", "text"])
    with pytest.raises(InputError, match="2 columns named 'text'"):
        score_frame(frame, StandInModel())


def test_content_hash_tells_types_apart_and_takes_columns_by_position():
    def digest(*columns):
        frame = pd.DataFrame({i: pd.Series(c + [None], dtype=object)[:1] for i, c in enumerate(columns)})
        frame.columns = ["x"] * len(columns)
        content = ContentHash()
        content.update(frame)
        return content.hexdigest()

    values = [[1], ["1"], [1.0], [True], [RawNumber("1")], [[1]], [{"a": 1}], [None], [2**70]]
    assert len({digest(v) for v in values}) == len(values)
    assert digest([1], [2]) != digest([2], [1])


# --- encodings and shapes ------------------------------------------------------------------


@pytest.mark.parametrize(("codec", "bom", "named"), [
    ("utf-16-le", codecs.BOM_UTF16_LE, "UTF-16 (little-endian"),
    ("utf-16-be", codecs.BOM_UTF16_BE, "UTF-16 (big-endian"),
    ("utf-32-le", codecs.BOM_UTF32_LE, "UTF-32 (little-endian"),
    ("utf-32-be", codecs.BOM_UTF32_BE, "UTF-32 (big-endian"),
    ("utf-16-le", b"", "UTF-16 without a byte-order mark"),
])
@pytest.mark.parametrize("ext", ["csv", "jsonl", "tsv.gz"])
def test_utf16_and_utf32_files_are_named_with_how_to_convert(tmp_path, codec, bom, named, ext):
    text = '{"id": 1, "text": "hé"}\n' if ext == "jsonl" else "id,text\n1,hé\n".replace(",", "\t" if "tsv" in ext else ",")
    data = bom + text.encode(codec)
    src = tmp_path / f"posts.{ext}"
    src.write_bytes(gzip.compress(data) if ext.endswith(".gz") else data)
    with pytest.raises(InputError) as error:
        read_export(src)
    message = str(error.value)
    assert named in message and "not UTF-8" in message and "iconv -f UTF-" in message
    assert ("gunzip -c" in message) == ext.endswith(".gz")
    assert "no column" not in message


def test_a_latin1_header_is_said_to_be_not_utf8(tmp_path):
    src = tmp_path / "posts.csv"
    src.write_bytes("id,café\n1,crème\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"header line of .* is not valid UTF-8 \(byte 0xe9.*iconv -f WINDOWS-1252"):
        read_export(src, text_col="café")
    src.write_bytes("id,text\n1,crème brûlée\n2,fine\n".encode("latin-1"))  # a UTF-8 header: rows flagged
    back = _read(src)
    assert back[READ_STATUS_COLUMN].tolist() == ["invalid_encoding", "ok"]
    assert back["text"].tolist()[0] == "cr\ufffdme br\ufffdl\ufffde"


@pytest.mark.parametrize(("content", "said"), [
    ('[{"id": 1, "text": "a"},\n {"id": 2, "text": "b"}]\n', r"holds a JSON array .* jq -c '\.\[\]'"),
    ('[{"id": 1, "text": "a"}, {"id": 2, "text": "b"}]\n', "holds a JSON array"),
    ('{\n  "id": 1,\n  "text": "a"\n}\n', r"spread over several lines .* jq -c '\.'"),
])
def test_a_json_document_given_as_jsonl_is_refused_with_how_to_convert(tmp_path, content, said):
    src = tmp_path / "posts.jsonl"
    src.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=said):
        _tokenize(src, tmp_path / "out.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["posts.jsonl"]


class _FailOnce(ChunkJob):
    """Passes chunks through; the first run fails at its third chunk."""

    failed = False

    def transform(self, chunk, read_status):
        if chunk.index[0] >= 4 and not _FailOnce.failed:
            _FailOnce.failed = True
            raise RuntimeError("interrupted")
        chunk["tonecls_status"] = pd.array([str(s) for s in read_status], dtype="str")
        return chunk


def test_a_lone_surrogate_is_a_flagged_row_and_resuming_over_it_works(tmp_path):
    src = tmp_path / "posts.jsonl"
    lines = [json.dumps({"id": i, "text": f"post {i}"}) for i in range(8)]
    lines[1] = '{"id": 1, "text": "bad \\ud800 text", "\\udfff": 2}'
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    with pytest.raises(RuntimeError, match="interrupted"):
        run_file(src, out, _FailOnce(), text_col="text", chunksize=2, quiet=True)
    summary = run_file(src, out, _FailOnce(), text_col="text", chunksize=2, quiet=True, resume=True)
    assert summary.resumed_from_row == 4 and summary.rows == 8
    back = _read(out)
    assert back["tonecls_status"].tolist() == ["ok", "invalid_encoding"] + ["ok"] * 6
    assert back["text"].tolist()[1] == "bad \ufffd text" and back["\ufffd"].tolist()[1] == "2"
    tokens = tmp_path / "tokens.jsonl"
    _tokenize(src, tokens)
    assert [json.loads(line)["tonecls_status"] for line in tokens.read_text().splitlines()][:2] == \
        ["ok", "invalid_encoding"]


def test_invalid_utf8_in_a_parquet_string_is_a_flagged_row(tmp_path):
    src = tmp_path / "posts.parquet"
    text = pa.array([b"fine", b"caf\xe9", None], pa.binary()).view(pa.string())
    pq.write_table(pa.table({"id": [1, 2, 3], "text": text}), src)
    back = _read(src)
    assert back[READ_STATUS_COLUMN].tolist() == ["ok", "invalid_encoding", "ok"]
    assert back["text"].tolist()[:2] == ["fine", "caf\ufffd"]


# --- values --------------------------------------------------------------------------------


def test_jsonl_infinity_nan_and_out_of_range_numbers_keep_their_text(tmp_path):
    src = tmp_path / "posts.jsonl"
    src.write_text('{"text": "a", "v": Infinity, "w": [NaN, -Infinity], "x": 1e400}\n'
                   '{"text": "b", "v": 1.5, "w": [1e-400], "x": 123456789012345678901234567890.5}\n',
                   encoding="utf-8")
    back = _read(src)
    assert back["v"].tolist() == [RawNumber("Infinity"), 1.5]
    assert back["x"].tolist() == [RawNumber("1e400"), RawNumber("123456789012345678901234567890.5")]
    out = tmp_path / "out.jsonl"
    _tokenize(src, out)
    first, second = out.read_text(encoding="utf-8").splitlines()
    assert '"v": Infinity, "w": [NaN, -Infinity], "x": 1e400' in first
    assert '"w": [1e-400], "x": 123456789012345678901234567890.5' in second
    csv_out = tmp_path / "out.csv"
    _tokenize(src, csv_out)
    assert csv_out.read_text(encoding="utf-8").splitlines()[1] == "a,Infinity,\"[NaN, -Infinity]\",1e400,a,ok"
    with pytest.raises(InputError, match="column 'w' holds the number 1e-400, which no Parquet number type"):
        _tokenize(src, tmp_path / "out.parquet")
    src.write_text('{"text": "a", "v": Infinity, "w": [NaN]}\n', encoding="utf-8")
    _tokenize(src, tmp_path / "ok.parquet")  # the constants are doubles: kept as such
    table = pq.read_table(tmp_path / "ok.parquet")
    assert table.column("v").to_pylist() == [math.inf] and math.isnan(table.column("w").to_pylist()[0][0])


def test_parquet_nan_stays_nan_and_null_stays_null_in_every_output(tmp_path):
    src = tmp_path / "posts.parquet"
    pq.write_table(pa.table({"text": ["a", "b", "c"], "f": pa.array([1.5, math.nan, None]),
                             "g": pa.array([math.inf, None, -0.0], pa.float32())}), src)
    for ext in ("parquet", "jsonl", "csv"):
        _tokenize(src, tmp_path / f"out.{ext}", chunksize=2)
    table = pq.read_table(tmp_path / "out.parquet")
    f = table.column("f").to_pylist()
    assert f[0] == 1.5 and math.isnan(f[1]) and f[2] is None
    assert table.column("g").to_pylist()[1] is None and table.schema.field("g").type == pa.float32()
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert math.isnan(records[1]["f"]) and records[2]["f"] is None and records[0]["g"] == math.inf
    assert "NaN" in (tmp_path / "out.jsonl").read_text()
    rows = (tmp_path / "out.csv").read_text().splitlines()
    assert rows[1:] == ["a,1.5,Infinity,a,ok", "b,NaN,,b,ok", "c,,-0.0,c,ok"]


def test_nested_64_bit_integers_beside_nulls_are_not_rounded(tmp_path):
    big = 2**60 + 1
    src = tmp_path / "posts.parquet"
    pq.write_table(pa.table({
        "text": ["a", "b"],
        "ids": pa.array([[big, None], None], pa.list_(pa.int64())),
        "user": pa.array([{"id": big, "n": None}, None], pa.struct([("id", pa.int64()), ("n", pa.int64())])),
        "counts": pa.array([[("k", big), ("m", None)], []], pa.map_(pa.string(), pa.int64())),
        "nothing": pa.nulls(2),
    }), src)
    _tokenize(src, tmp_path / "out.parquet")
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column("ids").to_pylist() == [[big, None], None]
    assert table.column("counts").to_pylist() == [[("k", big), ("m", None)], []]
    assert table.schema.field("nothing").type == pa.null()
    _tokenize(src, tmp_path / "out.jsonl")
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert f'"ids": [{big}, null]' in lines[0] and f'"counts": {{"k": {big}, "m": null}}' in lines[0]
    assert '"counts": {}' in lines[1]  # an empty map is a map


def test_jsonl_objects_with_other_keys_in_later_chunks_widen_the_parquet_struct(tmp_path):
    src = tmp_path / "posts.jsonl"
    rows = [{"text": "a", "user": {}}, {"text": "b", "user": {"id": 1}},
            {"text": "c", "user": {"name": "x", "id": 2**63 + 5}}, {"text": "d", "user": None}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out.parquet"
    _tokenize(src, out, chunksize=1)
    table = pq.read_table(out)
    assert table.schema.field("user").type == pa.struct([("id", pa.uint64()), ("name", pa.string())])
    assert table.column("user").to_pylist() == [{"id": None, "name": None}, {"id": 1, "name": None},
                                                {"id": 2**63 + 5, "name": "x"}, None]


def test_integers_beyond_64_bits_are_refused_for_parquet_and_kept_in_text(tmp_path):
    src = tmp_path / "posts.jsonl"
    src.write_text(f'{{"text": "a", "n": {2**70}}}\n', encoding="utf-8")
    with pytest.raises(InputError, match=f"holds the number {2**70}"):
        _tokenize(src, tmp_path / "out.parquet")
    _tokenize(src, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text().splitlines()[1].startswith(f"a,{2**70},")


def test_a_map_with_repeated_keys_passes_through_parquet_and_is_pairs_in_json(tmp_path):
    src = tmp_path / "posts.parquet"
    pq.write_table(pa.table({"text": ["a"], "m": pa.array([[("k", 1), ("k", 2)]], pa.map_(pa.string(), pa.int64()))}),
                   src)
    _tokenize(src, tmp_path / "out.parquet")
    assert pq.read_table(tmp_path / "out.parquet").column("m").to_pylist() == [[("k", 1), ("k", 2)]]
    _tokenize(src, tmp_path / "out.jsonl")
    assert json.loads((tmp_path / "out.jsonl").read_text())["m"] == [["k", 1], ["k", 2]]


def test_rows_without_columns_are_kept_in_jsonl_and_refused_elsewhere(tmp_path):
    with ExportWriter(tmp_path / "out.jsonl") as writer:
        writer.write(pd.DataFrame(index=range(2)))
    assert (tmp_path / "out.jsonl").read_text() == "{}\n{}\n"
    with pytest.raises(InputError, match="2 rows have no column at all"):
        with ExportWriter(tmp_path / "out.csv") as writer:
            writer.write(pd.DataFrame(index=range(2)))
