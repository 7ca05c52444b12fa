"""Tests of tonecls.io: format detection, chunked reading, flagged bad lines, atomic and
resumable writing."""

from __future__ import annotations

import gzip
import string
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tonecls.errors import InputError
from tonecls.io import (
    LINE_COLUMN,
    MARKER_COLUMNS,
    READ_STATUS_COLUMN,
    ExportWriter,
    atomic_write,
    count_rows,
    detect_format,
    read_export,
)

FIXTURES = Path(__file__).parent / "fixtures"
TEXT_FORMATS = ["csv", "tsv", "jsonl", "ndjson", "csv.gz", "tsv.gz", "jsonl.gz"]
ALL_FORMATS = [*TEXT_FORMATS, "parquet"]

POSTS = pd.DataFrame(
    {
        "id": ["00123", "p2", "0007", "p4", "p5", "p6", "p7"],
        "text": [
            "plain post",
            'comma, "quotes" and a\nnew line',
            "tab\there",
            "emoji \U0001F602 and accents éà",
            "",
            "  spaces  ",
            "NA",  # must stay the string "NA", not become missing
        ],
        "platform": ["twitter", "reddit", "forum", "twitter", "forum", "reddit", "twitter"],
    }
)


def _values(series: pd.Series) -> list:
    """The values of a column with every kind of missing value as None."""
    return [None if pd.isna(v) else v for v in series]


def _read_all(path, **kwargs) -> pd.DataFrame:
    return pd.concat(list(read_export(path, **kwargs)))


def _write(path, frame: pd.DataFrame, chunk: int = 3) -> Path:
    with ExportWriter(path) as writer:
        for start in range(0, len(frame), chunk):
            writer.write(frame.iloc[start : start + chunk])
    return Path(path)


# --- formats -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [("a.csv", "csv"), ("a.TSV", "tsv"), ("a.jsonl", "jsonl"), ("a.ndjson.gz", "jsonl"),
     ("x/y.csv.gz", "csv"), ("a.parquet", "parquet")],
)
def test_detect_format(name, expected):
    assert detect_format(name) == expected


def test_detect_format_errors_list_supported_extensions():
    with pytest.raises(InputError, match=r"posts\.xlsx.*supported: \.csv, \.tsv, \.jsonl"):
        detect_format("posts.xlsx")
    with pytest.raises(InputError, match="parquet.gz is not supported"):
        detect_format("posts.parquet.gz")


# --- reading -------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ALL_FORMATS)
def test_round_trip_keeps_rows_order_ids_and_text(tmp_path, ext):
    path = _write(tmp_path / f"posts.{ext}", POSTS)
    chunks = list(read_export(path, chunksize=2, id_col="id"))
    assert [len(c) for c in chunks] == [2, 2, 2, 1]
    back = pd.concat(chunks)
    assert back.index.tolist() == list(range(len(POSTS)))  # 0-based row positions
    assert back.columns.tolist() == [*POSTS.columns, *MARKER_COLUMNS]
    assert (back[READ_STATUS_COLUMN] == "ok").all()
    for column in POSTS.columns:
        assert back[column].tolist() == POSTS[column].tolist(), column
    assert count_rows(path, exact=True) == len(POSTS)


def test_csv_values_stay_strings(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("id,text,score\n00123,hi,1.50\nNA,null,\n", encoding="utf-8")
    back = _read_all(path)
    assert back["id"].tolist() == ["00123", "NA"]
    assert back["text"].tolist() == ["hi", "null"]
    assert back["score"].tolist() == ["1.50", ""]
    assert back[LINE_COLUMN].tolist() == [2, 3]


def test_malformed_csv_lines_are_flagged_in_place():
    back = _read_all(FIXTURES / "malformed_posts.csv", chunksize=4)
    assert back.index.tolist() == list(range(9))
    assert back[READ_STATUS_COLUMN].tolist() == [
        "ok", "ok", "ok", "malformed_line", "malformed_line", "ok", "malformed_line", "ok", "ok",
    ]
    assert back[LINE_COLUMN].tolist() == [2, 3, 4, 6, 7, 8, 10, 11, 12]
    assert back["id"].tolist()[:3] == ["00123", "p2", "p3"]
    assert back["text"].tolist()[1:3] == ['a post with a comma, and "quotes"', "a post over\ntwo lines"]
    # a malformed record keeps its id and raw text: surplus fields go to the text column
    flagged = back[back[READ_STATUS_COLUMN] == "malformed_line"]
    assert flagged["text"].tolist() == ["one,field,too many", '"unterminated quote', '"stray"quote']
    assert flagged["platform"].tolist() == ["twitter", "forum", "reddit"]
    # the lines after an unterminated quote are parsed again, not swallowed
    assert _values(back["id"]) == ["00123", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"]
    assert back["text"].iloc[7] == ""  # an empty field stays an empty string


def test_malformed_csv_line_with_on_bad_lines_error():
    with pytest.raises(InputError, match=r"malformed_posts.csv, line 6: expected 3 fields, found 5"):
        _read_all(FIXTURES / "malformed_posts.csv", on_bad_lines="error")


def test_unterminated_quote_at_end_of_file(tmp_path):
    path = tmp_path / "end.csv"
    path.write_text('id,text\np1,ok\np2,"never closed\np3,also here\n', encoding="utf-8")
    back = _read_all(path)
    assert back[READ_STATUS_COLUMN].tolist() == ["ok", "malformed_line", "ok"]
    assert _values(back["id"]) == ["p1", "p2", "p3"]
    assert back["text"].iloc[1] == '"never closed'


def test_invalid_utf8_line_is_flagged_and_decoded_with_replacement(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"id,text\np1,fine\np2,caf\xe9\np3,fine too\n")
    back = _read_all(path)
    assert back[READ_STATUS_COLUMN].tolist() == ["ok", "invalid_encoding", "ok"]
    assert back["text"].tolist() == ["fine", "caf\ufffd", "fine too"]


def test_malformed_jsonl_lines_are_flagged_in_place():
    back = _read_all(FIXTURES / "malformed_posts.jsonl", chunksize=2, id_col="id")
    assert back[READ_STATUS_COLUMN].tolist() == ["ok", "malformed_line", "malformed_line", "ok", "ok"]
    assert back[LINE_COLUMN].tolist() == [1, 2, 3, 5, 6]
    assert _values(back["id"]) == ["00123", "p2", None, "p3", "p4"]  # the id found in the line
    assert back["text"].tolist()[1:3] == ['{"id": "p2", "text": "second"', "[1, 2]"]  # raw text
    assert back["likes"].iloc[0] == 3  # JSON types are kept
    assert back["lang"].iloc[4] == "en"  # a key first seen later becomes a column
    with pytest.raises(InputError, match="line 2: not valid JSON"):
        _read_all(FIXTURES / "malformed_posts.jsonl", on_bad_lines="error")


@pytest.mark.parametrize("ext", ["csv", "jsonl", "parquet"])
def test_missing_text_column_lists_columns_and_suggests_option(tmp_path, ext):
    path = _write(tmp_path / f"posts.{ext}", POSTS)
    with pytest.raises(InputError, match=r"no column\(s\) \['body'\]; its columns are \['id', 'text', 'platform'\].*--text-col"):
        read_export(path, text_col="body")
    with pytest.raises(InputError, match=r"\['post_id'\]"):
        read_export(path, id_col="post_id")


def test_column_selection_keeps_file_order(tmp_path):
    path = _write(tmp_path / "posts.parquet", POSTS)
    back = _read_all(path, columns=["platform"], id_col="id")
    assert back.columns.tolist() == ["id", "text", "platform", *MARKER_COLUMNS]
    back = _read_all(_write(tmp_path / "posts.csv", POSTS), columns=["platform"], text_col=None)
    assert back.columns.tolist() == ["platform", *MARKER_COLUMNS]


def test_unreadable_files_give_clear_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_export(tmp_path / "missing.csv")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(InputError, match="cannot read .*bad.parquet as Parquet"):
        read_export(bad)
    truncated = tmp_path / "cut.csv.gz"
    data = gzip.compress(("id,text\n" + "p,some text\n" * 5000).encode())
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt"):
        _read_all(truncated)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="no header line"):
        read_export(empty)


def test_header_only_and_empty_parquet_yield_an_empty_chunk(tmp_path):
    header_only = tmp_path / "h.csv"
    header_only.write_text("id,text\n")
    chunks = list(read_export(header_only))
    assert len(chunks) == 1 and chunks[0].empty and chunks[0].columns[:2].tolist() == ["id", "text"]
    empty = tmp_path / "e.parquet"
    pq.write_table(pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())}), empty)
    chunks = list(read_export(empty))
    assert len(chunks) == 1 and chunks[0].empty


def test_parquet_is_read_in_bounded_chunks_across_row_groups(tmp_path):
    n = 2_500
    frame = pd.DataFrame({"id": [f"p{i}" for i in range(n)], "text": ["x"] * n, "n": np.arange(n)})
    path = tmp_path / "big.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=700)
    chunks = list(read_export(path, chunksize=1_000))
    assert [len(c) for c in chunks] == [1_000, 1_000, 500]
    assert pd.concat(chunks)["n"].tolist() == list(range(n))
    assert count_rows(path) == n


@pytest.mark.parametrize("ext", ALL_FORMATS)
def test_skip_rows_continues_where_asked(tmp_path, ext):
    path = _write(tmp_path / f"posts.{ext}", POSTS)
    rest = _read_all(path, skip_rows=3, chunksize=2)
    assert rest.index.tolist() == [3, 4, 5, 6]
    assert rest["id"].tolist() == POSTS["id"].tolist()[3:]
    assert list(read_export(path, skip_rows=len(POSTS))) == []


def test_skip_rows_keeps_the_jsonl_columns_of_skipped_rows():
    rest = _read_all(FIXTURES / "malformed_posts.jsonl", skip_rows=3)
    assert rest.columns.tolist() == ["id", "text", "likes", "lang", *MARKER_COLUMNS]
    assert rest.index.tolist() == [3, 4]


def test_count_rows_estimate_for_text_formats(tmp_path):
    path = _write(tmp_path / "posts.csv", POSTS)
    # one post contains a line break: the cheap count is an upper bound, exact is exact
    assert count_rows(path) == len(POSTS) + 1
    assert count_rows(path, exact=True) == len(POSTS)
    assert count_rows(_write(tmp_path / "posts.jsonl", POSTS)) == len(POSTS)


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
    path = _write(tmp_path / f"prop.{ext}", frame, chunk=5)
    back = _read_all(path, chunksize=4)
    assert (back[READ_STATUS_COLUMN] == "ok").all()
    assert back["id"].tolist() == frame["id"].tolist()
    assert back["text"].tolist() == texts


# --- writing -------------------------------------------------------------------------------


def test_atomic_write(tmp_path):
    target = tmp_path / "out.txt"
    with atomic_write(target) as out:
        out.write("done")
        assert not target.exists() and len(list(tmp_path.glob("out.txt.*.partial"))) == 1
    assert target.read_text() == "done"
    users_own = tmp_path / "out.txt.partial"
    users_own.write_text("the user's file")
    with pytest.raises(RuntimeError), atomic_write(target) as out:
        out.write("half")
        raise RuntimeError("boom")
    assert target.read_text() == "done" and not list(tmp_path.glob("out.txt.*.partial"))
    assert users_own.read_text() == "the user's file"  # never touched


@pytest.mark.parametrize("ext", ALL_FORMATS)
def test_failed_write_leaves_no_target(tmp_path, ext):
    target = tmp_path / f"out.{ext}"
    with pytest.raises(RuntimeError), ExportWriter(target) as writer:
        writer.write(POSTS.iloc[:3])
        raise RuntimeError("scoring crashed")
    assert not target.exists()


@pytest.mark.parametrize("ext", ALL_FORMATS)
def test_resume_continues_after_the_last_complete_chunk(tmp_path, ext):
    target = tmp_path / f"out.{ext}"
    source = _write(tmp_path / f"in.{ext}", POSTS)
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
    back = _read_all(target)
    assert (back[READ_STATUS_COLUMN] == "ok").all()
    assert back["id"].tolist() == POSTS["id"].tolist()
    assert back["text"].tolist() == POSTS["text"].tolist()
    assert not list(tmp_path.glob("out.*.partial*"))


def test_resume_without_partial_starts_over_and_plain_open_discards_it(tmp_path):
    target = tmp_path / "out.csv"
    with ExportWriter(target, resume=True) as writer:
        assert writer.rows_written == 0
        writer.write(POSTS)
    with pytest.raises(RuntimeError), ExportWriter(target) as writer:
        writer.write(POSTS.iloc[:2])
        raise RuntimeError
    with ExportWriter(target) as writer:  # no resume: the old partial is discarded
        assert writer.rows_written == 0
        writer.write(POSTS.iloc[:1])
    assert _read_all(target)["id"].tolist() == ["00123"]


def test_resume_refuses_a_different_format(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), ExportWriter(target) as writer:
        writer.write(POSTS)
        raise RuntimeError
    with pytest.raises(InputError, match="cannot resume writing"):
        ExportWriter(target, format="tsv", resume=True)


@pytest.mark.parametrize("ext", ["jsonl", "csv", "tsv.gz", "parquet"])
def test_writer_drops_markers_and_columns_may_grow(tmp_path, ext):
    target = tmp_path / f"out.{ext}"
    with ExportWriter(target) as writer:
        writer.write(_read_all(_write(tmp_path / "in.csv", POSTS)).iloc[:2])
        writer.write(POSTS[["text", "id"]].iloc[2:4])  # reordered, one column missing
        writer.write(POSTS.iloc[4:].assign(lang="en"))  # a column first seen late (JSONL keys)
    back = _read_all(target)
    assert back.columns.tolist() == ["id", "text", "platform", "lang", *MARKER_COLUMNS]
    assert back["id"].tolist() == POSTS["id"].tolist()
    assert back["text"].tolist() == POSTS["text"].tolist()
    empty = "" if ext in ("csv", "tsv.gz") else None  # CSV cannot tell null from ""
    assert _values(back["platform"])[:4] == ["twitter", "reddit", empty, empty]
    assert _values(back["lang"]) == [empty] * 4 + ["en"] * 3


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
        writer.write(POSTS.iloc[:0])
    assert target.read_text() == "id,text,platform\n"


# --- the bundled sample export -------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]


def _sample_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_sample_data", REPO / "scripts" / "make_sample_data.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


def test_sample_export_is_up_to_date_and_well_formed(tmp_path):
    script = _sample_script()
    regenerated = tmp_path / "sample_posts.csv"
    script.main(["--out", str(regenerated)])
    bundled = REPO / "data" / "sample_posts.csv"
    assert regenerated.read_bytes() == bundled.read_bytes(), "run scripts/make_sample_data.py"

    sample = _read_all(bundled, id_col="id")
    assert len(sample) == 400 and (sample[READ_STATUS_COLUMN] == "ok").all()
    assert sample.columns.tolist()[:7] == ["id", "text", "platform", "region", "age_band", "sentiment", "emotion"]
    assert sample["id"].is_unique and sample["id"].str.fullmatch(r"p\d{4}").all()
    assert set(sample["sentiment"]) == {"negative", "neutral", "positive", ""}
    assert set(sample["emotion"]) == {"anger", "joy", "optimism", "sadness", ""}
    # neutral posts have no emotion; every emotion agrees with the sentiment
    assert (sample.loc[sample["sentiment"] == "neutral", "emotion"] == "").all()
    positive = sample["emotion"].isin(["joy", "optimism"])
    assert (sample.loc[positive, "sentiment"] == "positive").all()
    # the rows that show per-row statuses and PII scrubbing are there
    assert (sample["text"].str.strip() == "").sum() == 3
    assert (sample["text"].str.len() > 2_000).sum() == 2
    assert sample["text"].str.contains(r"[\w.]+@example\.(?:com|net)").any()
    assert sample["text"].str.contains(r"\b(?:finna|ion|tryna)\b").sum() >= 10


def test_sample_is_deterministic_per_seed():
    script = _sample_script()
    assert script.make_sample(3).equals(script.make_sample(3))
    assert not script.make_sample(3).equals(script.make_sample(4))


def test_atomic_writes_get_the_permissions_of_an_ordinary_file(tmp_path):
    import stat

    with atomic_write(tmp_path / "report.json") as out:
        out.write("{}")
    (tmp_path / "plain.json").write_text("{}")
    mode = stat.S_IMODE((tmp_path / "report.json").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain.json").stat().st_mode)
