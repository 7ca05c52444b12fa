"""Writing exports (tonecls.io.writing): chunks appended atomically and resumably, markers
dropped, columns that grow or change type across chunks, what a format cannot hold refused."""

from __future__ import annotations

import decimal
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from support import (
    EXPORT_FORMATS,
    EXPORT_POSTS,
    header_line,
    is_missing_value,
    read_all,
    read_verbatim,
    tokenize_quietly,
    values_of,
    write_export,
)

from tonecls.errors import InputError
from tonecls.io import MARKER_COLUMNS, READ_STATUS_COLUMN, ExportWriter, read_export


# --- atomic, resumable writing ---------------------------------------------------------------


@pytest.mark.parametrize("ext", EXPORT_FORMATS)
def test_failed_write_leaves_no_target(tmp_path, ext):
    target = tmp_path / f"out.{ext}"
    with pytest.raises(RuntimeError), ExportWriter(target) as writer:
        writer.write(EXPORT_POSTS.iloc[:3])
        raise RuntimeError("scoring crashed")
    assert not target.exists()


@pytest.mark.parametrize("ext", EXPORT_FORMATS)
def test_resume_continues_after_the_last_complete_chunk(tmp_path, ext):
    target = tmp_path / f"out.{ext}"
    source = write_export(tmp_path / f"in.{ext}", EXPORT_POSTS)
    with pytest.raises(RuntimeError), ExportWriter(target) as writer:
        for chunk in read_export(source, chunksize=2):
            writer.write(chunk)
            if writer.rows_written >= 4:
                raise RuntimeError("interrupted")
    if ext != "parquet":  # a half-written chunk after the last complete one is dropped
        with open(f"{target}.partial", "ab") as partial:
            partial.write(b"half-written garbage")
    with ExportWriter(target, resume=True) as writer:
        assert writer.rows_written == 4
        for chunk in read_export(source, chunksize=2, skip_rows=writer.rows_written):
            writer.write(chunk)
    back = read_all(target)
    assert (back[READ_STATUS_COLUMN] == "ok").all()
    assert back["id"].tolist() == EXPORT_POSTS["id"].tolist()
    assert back["text"].tolist() == EXPORT_POSTS["text"].tolist()
    assert not list(tmp_path.glob("out.*.partial*"))


def test_resume_without_partial_starts_over_and_plain_open_discards_it(tmp_path):
    target = tmp_path / "out.csv"
    with ExportWriter(target, resume=True) as writer:
        assert writer.rows_written == 0
        writer.write(EXPORT_POSTS)
    with pytest.raises(RuntimeError), ExportWriter(target) as writer:
        writer.write(EXPORT_POSTS.iloc[:2])
        raise RuntimeError
    with ExportWriter(target) as writer:  # no resume: the old partial is discarded
        assert writer.rows_written == 0
        writer.write(EXPORT_POSTS.iloc[:1])
    assert read_all(target)["id"].tolist() == ["00123"]


def test_resume_refuses_a_different_format(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), ExportWriter(target) as writer:
        writer.write(EXPORT_POSTS)
        raise RuntimeError
    with pytest.raises(InputError, match="cannot resume writing"):
        ExportWriter(target, format="tsv", resume=True)


@pytest.mark.parametrize("ext", ["jsonl", "csv", "tsv.gz", "parquet"])
def test_writer_drops_markers_and_columns_may_grow(tmp_path, ext):
    target = tmp_path / f"out.{ext}"
    with ExportWriter(target) as writer:
        writer.write(read_all(write_export(tmp_path / "in.csv", EXPORT_POSTS)).iloc[:2])
        writer.write(EXPORT_POSTS[["text", "id"]].iloc[2:4])  # reordered, one column missing
        writer.write(EXPORT_POSTS.iloc[4:].assign(lang="en"))  # a column first seen late (JSONL keys)
    back = read_all(target)
    assert back.columns.tolist() == ["id", "text", "platform", "lang", *MARKER_COLUMNS]
    assert back["id"].tolist() == EXPORT_POSTS["id"].tolist()
    assert back["text"].tolist() == EXPORT_POSTS["text"].tolist()
    empty = "" if ext in ("csv", "tsv.gz") else None  # CSV cannot tell null from ""
    assert values_of(back["platform"])[:4] == ["twitter", "reddit", empty, empty]
    assert values_of(back["lang"]) == [empty] * 4 + ["en"] * 3


def test_parquet_schema_handles_all_null_columns(tmp_path):
    target = tmp_path / "out.parquet"
    with ExportWriter(target) as writer:
        writer.write(pd.DataFrame({"id": ["a"], "label": [None], "score": [0.5]}))  # all null first
        writer.write(pd.DataFrame({"id": ["b"], "label": ["joy"], "score": [None]}))  # all null later
    table = pq.read_table(target)
    assert table.schema.field("label").type == pa.string()
    assert table.column("label").to_pylist() == [None, "joy"]
    assert table.column("score").to_pylist() == [0.5, None]
    assert pq.ParquetFile(target).metadata.num_row_groups == 2


def test_parquet_writes_columns_mixing_text_and_numbers_as_text(tmp_path):
    target = tmp_path / "out.parquet"
    with ExportWriter(target) as writer:
        writer.write(pd.DataFrame({"id": [1, "x2"], "text": ["hi", 12345], "likes": [3, None]}))
        writer.write(pd.DataFrame({"id": [3], "text": [None], "likes": [4]}))  # int id, text in schema
    table = pq.read_table(target)
    assert table.column("id").to_pylist() == ["1", "x2", "3"]
    assert table.column("text").to_pylist() == ["hi", "12345", None]
    assert table.column("likes").to_pylist() == [3, None, 4]  # numeric columns stay numeric
    with ExportWriter(tmp_path / "grown.parquet") as writer:
        writer.write(pd.DataFrame({"id": [1, 2], "n": [1, None]}))
        writer.write(pd.DataFrame({"id": ["x3"], "n": [2**60 + 1]}))  # text after numbers; a huge int
    table = pq.read_table(tmp_path / "grown.parquet")
    assert table.column("id").to_pylist() == ["1", "2", "x3"]  # one type per column: text
    assert table.column("n").to_pylist() == ["1.0", None, str(2**60 + 1)]  # never rounded


def test_empty_output_still_has_a_header(tmp_path):
    target = tmp_path / "out.csv"
    with ExportWriter(target) as writer:
        writer.write(EXPORT_POSTS.iloc[:0])
    assert target.read_text() == "id,text,platform\n"


# --- columns that change across chunks -------------------------------------------------------


def test_a_jsonl_key_first_seen_late_does_not_fail(tmp_path):
    src = tmp_path / "posts.jsonl"
    rows = [{"id": i, "text": "x"} for i in range(2_500)]  # (the reported case: after row 20,000)
    rows[2_100]["lang"] = "en"  # in the second chunk
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    for ext in ("csv", "parquet", "jsonl"):
        out = tmp_path / f"tokens.{ext}"
        tokenize_quietly(src, out, chunksize=2_000)
        back = read_verbatim(out)
        assert len(back) == 2_500 and back["id"].tolist()[-1] in (2_499, "2499")
        lang = back["lang"].tolist()
        assert lang[2_100] == "en" and all(v in (None, "") or is_missing_value(v) for v in lang[:2_100])


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
    tokenize_quietly(parts, out, chunksize=1)
    assert pq.read_table(out).column("amount").to_pylist() == back.column("amount").to_pylist()


def test_repeated_parquet_field_names_pass_through_to_csv_and_are_refused_for_parquet(tmp_path):
    src = tmp_path / "posts.parquet"
    table = pa.Table.from_arrays([pa.array([1, 2]), pa.array(["good day", "bad day"]), pa.array([3, None])],
                                 names=["x", "text", "x"])
    pq.write_table(table, src)
    assert list(read_verbatim(src).columns[:3]) == ["x", "text", "x"]
    assert list(read_verbatim(src, columns=["x"]).columns[:2]) == ["x", "x"]  # file order, both
    out = tmp_path / "tokens.csv"
    tokenize_quietly(src, out)
    assert header_line(out) == "x,text,x,tokens,tonecls_status"
    assert out.read_text(encoding="utf-8").splitlines()[2] == "2,bad day,,bad day,ok"
    with pytest.raises(InputError, match="repeats the column name"):
        tokenize_quietly(src, tmp_path / "tokens.parquet")


def test_jsonl_objects_with_other_keys_in_later_chunks_widen_the_parquet_struct(tmp_path):
    src = tmp_path / "posts.jsonl"
    rows = [{"text": "a", "user": {}}, {"text": "b", "user": {"id": 1}},
            {"text": "c", "user": {"name": "x", "id": 2**63 + 5}}, {"text": "d", "user": None}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out.parquet"
    tokenize_quietly(src, out, chunksize=1)
    table = pq.read_table(out)
    assert table.schema.field("user").type == pa.struct([("id", pa.uint64()), ("name", pa.string())])
    assert table.column("user").to_pylist() == [{"id": None, "name": None}, {"id": 1, "name": None},
                                                {"id": 2**63 + 5, "name": "x"}, None]


def test_rows_without_columns_are_kept_in_jsonl_and_refused_elsewhere(tmp_path):
    with ExportWriter(tmp_path / "out.jsonl") as writer:
        writer.write(pd.DataFrame(index=range(2)))
    assert (tmp_path / "out.jsonl").read_text() == "{}\n{}\n"
    with pytest.raises(InputError, match="2 rows have no column at all"):
        with ExportWriter(tmp_path / "out.csv") as writer:
            writer.write(pd.DataFrame(index=range(2)))
