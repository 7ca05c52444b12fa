"""Values between files and frames (tonecls.io.values): integers, floats, NaN and null,
nested and binary values written exactly in every output format."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from support import BIG_ID, is_missing_value, read_verbatim, tokenize_quietly

from tonecls.errors import InputError
from tonecls.io.values import RawNumber


# --- integers, floats, nested and binary values ----------------------------------------------


@pytest.mark.parametrize("out_ext", ["parquet", "jsonl", "csv"])
def test_64_bit_ids_stay_integers_beside_nulls_and_malformed_lines(tmp_path, out_ext):
    src = tmp_path / "posts.jsonl"
    lines = [json.dumps({"id": BIG_ID + i, "text": f"post {i}"}) for i in range(5)]
    lines[2] = json.dumps({"id": None, "text": "no id"})
    lines.insert(3, '{"id": 1500000000000000999, "text": "truncated')
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / f"tokens.{out_ext}"
    tokenize_quietly(src, out, chunksize=2)
    back = read_verbatim(out)
    expected = [BIG_ID, BIG_ID + 1, None, 1500000000000000999, BIG_ID + 3, BIG_ID + 4]
    if out_ext == "csv":
        assert back["id"].tolist() == ["" if v is None else str(v) for v in expected]
    else:
        assert [None if is_missing_value(v) else int(v) for v in back["id"]] == expected
    if out_ext == "parquet":
        assert pa.types.is_integer(pq.read_schema(out).field("id").type)
    assert back["tonecls_status"].tolist()[3] == "malformed_line"
    assert back["text"].tolist()[3] == '{"id": 1500000000000000999, "text": "truncated'


def test_parquet_nullable_integer_ids_keep_their_type(tmp_path):
    src = tmp_path / "posts.parquet"
    table = pa.table({"id": pa.array([BIG_ID, None, BIG_ID + 2], pa.int64()), "text": ["a", "b", None]})
    pq.write_table(table, src)
    for ext in ("parquet", "jsonl", "csv"):
        out = tmp_path / f"tokens.{ext}"
        tokenize_quietly(src, out, chunksize=1)  # a chunk of only the null
        back = read_verbatim(out)
        if ext == "parquet":
            assert pq.read_schema(out).field("id").type == pa.int64()
            assert back["id"].tolist()[0] == BIG_ID and back["id"].tolist()[2] == BIG_ID + 2
        elif ext == "jsonl":
            assert back["id"].tolist() == [BIG_ID, None, BIG_ID + 2]
        else:
            assert back["id"].tolist() == [str(BIG_ID), "", str(BIG_ID + 2)]


def test_jsonl_floats_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.random(1500) * 1e-6, rng.standard_normal(1500) * 1e12])
    src = tmp_path / "posts.jsonl"
    src.write_text("".join(json.dumps({"text": "x", "v": float(v)}) + "\n" for v in values), encoding="utf-8")
    for ext in ("jsonl", "csv", "parquet"):
        out = tmp_path / f"tokens.{ext}"
        tokenize_quietly(src, out, chunksize=700)
        back = [float(v) for v in read_verbatim(out)["v"]]
        assert back == values.tolist(), ext  # every bit


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
    tokenize_quietly(src, out)
    got = pq.read_table(out)
    for name in ("tags", "user", "raw", "when"):
        assert got.schema.field(name).type == table.schema.field(name).type, name
        assert got.column(name).to_pylist() == table.column(name).to_pylist(), name
    for ext in ("jsonl", "csv"):
        text_out = tmp_path / f"tokens.{ext}"
        tokenize_quietly(src, text_out)
        back = read_verbatim(text_out)
        tags, user, raw = ([None if is_missing_value(v) else v for v in back[c]] for c in ("tags", "user", "raw"))
        if ext == "csv":  # JSON text in the fields
            tags, user = [json.loads(v) if v else None for v in tags], [json.loads(v) for v in user]
            raw = [v or None for v in raw]
        assert tags == [["x", "y"], None]
        assert user == [{"name": "ann", "n": 1}, {"name": None, "n": 2}]
        assert raw == [base64.b64encode(b"\x00\xff").decode(), None]


# --- NaN, null and numbers no format holds ---------------------------------------------------


def test_jsonl_infinity_nan_and_out_of_range_numbers_keep_their_text(tmp_path):
    src = tmp_path / "posts.jsonl"
    src.write_text('{"text": "a", "v": Infinity, "w": [NaN, -Infinity], "x": 1e400}\n'
                   '{"text": "b", "v": 1.5, "w": [1e-400], "x": 123456789012345678901234567890.5}\n',
                   encoding="utf-8")
    back = read_verbatim(src)
    assert back["v"].tolist() == [RawNumber("Infinity"), 1.5]
    assert back["x"].tolist() == [RawNumber("1e400"), RawNumber("123456789012345678901234567890.5")]
    out = tmp_path / "out.jsonl"
    tokenize_quietly(src, out)
    first, second = out.read_text(encoding="utf-8").splitlines()
    assert '"v": Infinity, "w": [NaN, -Infinity], "x": 1e400' in first
    assert '"w": [1e-400], "x": 123456789012345678901234567890.5' in second
    csv_out = tmp_path / "out.csv"
    tokenize_quietly(src, csv_out)
    assert csv_out.read_text(encoding="utf-8").splitlines()[1] == "a,Infinity,\"[NaN, -Infinity]\",1e400,a,ok"
    with pytest.raises(InputError, match="column 'w' holds the number 1e-400, which no Parquet number type"):
        tokenize_quietly(src, tmp_path / "out.parquet")
    src.write_text('{"text": "a", "v": Infinity, "w": [NaN]}\n', encoding="utf-8")
    tokenize_quietly(src, tmp_path / "ok.parquet")  # the constants are doubles: kept as such
    table = pq.read_table(tmp_path / "ok.parquet")
    assert table.column("v").to_pylist() == [math.inf] and math.isnan(table.column("w").to_pylist()[0][0])


def test_parquet_nan_stays_nan_and_null_stays_null_in_every_output(tmp_path):
    src = tmp_path / "posts.parquet"
    pq.write_table(pa.table({"text": ["a", "b", "c"], "f": pa.array([1.5, math.nan, None]),
                             "g": pa.array([math.inf, None, -0.0], pa.float32())}), src)
    for ext in ("parquet", "jsonl", "csv"):
        tokenize_quietly(src, tmp_path / f"out.{ext}", chunksize=2)
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
    tokenize_quietly(src, tmp_path / "out.parquet")
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column("ids").to_pylist() == [[big, None], None]
    assert table.column("counts").to_pylist() == [[("k", big), ("m", None)], []]
    assert table.schema.field("nothing").type == pa.null()
    tokenize_quietly(src, tmp_path / "out.jsonl")
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert f'"ids": [{big}, null]' in lines[0] and f'"counts": {{"k": {big}, "m": null}}' in lines[0]
    assert '"counts": {}' in lines[1]  # an empty map is a map


def test_integers_beyond_64_bits_are_refused_for_parquet_and_kept_in_text(tmp_path):
    src = tmp_path / "posts.jsonl"
    src.write_text(f'{{"text": "a", "n": {2**70}}}\n', encoding="utf-8")
    with pytest.raises(InputError, match=f"holds the number {2**70}"):
        tokenize_quietly(src, tmp_path / "out.parquet")
    tokenize_quietly(src, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text().splitlines()[1].startswith(f"a,{2**70},")


def test_a_map_with_repeated_keys_passes_through_parquet_and_is_pairs_in_json(tmp_path):
    src = tmp_path / "posts.parquet"
    pq.write_table(pa.table({"text": ["a"], "m": pa.array([[("k", 1), ("k", 2)]], pa.map_(pa.string(), pa.int64()))}),
                   src)
    tokenize_quietly(src, tmp_path / "out.parquet")
    assert pq.read_table(tmp_path / "out.parquet").column("m").to_pylist() == [[("k", 1), ("k", 2)]]
    tokenize_quietly(src, tmp_path / "out.jsonl")
    assert json.loads((tmp_path / "out.jsonl").read_text())["m"] == [["k", 1], ["k", 2]]


@pytest.mark.parametrize("line", ['{"id": 1, "text": "a", "text": "b"}', '{"id": 1, "text": "a", "u": {"k": 1, "k": 2}}'])
def test_a_json_line_that_repeats_a_key_is_flagged_not_silently_resolved(tmp_path, line):
    from tonecls.io import READ_STATUS_COLUMN, read_export
    from tonecls.io.values import decode_json_line

    src = tmp_path / "posts.jsonl"
    src.write_text('{"id": 0, "text": "fine"}\n' + line + "\n", encoding="utf-8")
    chunk = next(iter(read_export(src, text_col="text", id_col="id")))
    assert chunk[READ_STATUS_COLUMN].tolist() == ["ok", "malformed_line"]
    assert chunk["text"].iloc[1] == line and chunk["id"].iloc[1] == 1  # the raw line kept, its id recovered
    with pytest.raises(ValueError, match="appears twice"):
        decode_json_line(line)
