"""Reading exports chunk by chunk (tonecls.io.reading): every row once, in order, values as
they are; malformed lines and bad encodings flagged in place; headers verbatim; unreadable
files and JSON documents refused with what to do."""

from __future__ import annotations

import codecs
import gzip
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from support import (
    EXPORT_FORMATS,
    EXPORT_POSTS,
    FIXTURES,
    header_line,
    read_all,
    read_verbatim,
    tokenize_quietly,
    values_of,
    write_export,
)

from tonecls.errors import InputError
from tonecls.io import LINE_COLUMN, MARKER_COLUMNS, READ_STATUS_COLUMN, ExportWriter, count_rows, read_export
from tonecls.io.job import ChunkJob
from tonecls.io.runner import run_file


# --- formats, chunks and flagged lines -------------------------------------------------------


@pytest.mark.parametrize("ext", EXPORT_FORMATS)
def test_round_trip_keeps_rows_order_ids_and_text(tmp_path, ext):
    path = write_export(tmp_path / f"posts.{ext}", EXPORT_POSTS)
    chunks = list(read_export(path, chunksize=2, id_col="id"))
    assert [len(c) for c in chunks] == [2, 2, 2, 1]
    back = pd.concat(chunks)
    assert back.index.tolist() == list(range(len(EXPORT_POSTS)))  # 0-based row positions
    assert back.columns.tolist() == [*EXPORT_POSTS.columns, *MARKER_COLUMNS]
    assert (back[READ_STATUS_COLUMN] == "ok").all()
    for column in EXPORT_POSTS.columns:
        assert back[column].tolist() == EXPORT_POSTS[column].tolist(), column
    assert count_rows(path, exact=True) == len(EXPORT_POSTS)


def test_csv_values_stay_strings(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("id,text,score\n00123,hi,1.50\nNA,null,\n", encoding="utf-8")
    back = read_all(path)
    assert back["id"].tolist() == ["00123", "NA"]
    assert back["text"].tolist() == ["hi", "null"]
    assert back["score"].tolist() == ["1.50", ""]
    assert back[LINE_COLUMN].tolist() == [2, 3]


def test_malformed_csv_lines_are_flagged_in_place():
    back = read_all(FIXTURES / "malformed_posts.csv", chunksize=4)
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
    assert values_of(back["id"]) == ["00123", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"]
    assert back["text"].iloc[7] == ""  # an empty field stays an empty string


def test_malformed_csv_line_with_on_bad_lines_error():
    with pytest.raises(InputError, match=r"malformed_posts.csv, line 6: expected 3 fields, found 5"):
        read_all(FIXTURES / "malformed_posts.csv", on_bad_lines="error")


def test_unterminated_quote_at_end_of_file(tmp_path):
    path = tmp_path / "end.csv"
    path.write_text('id,text\np1,ok\np2,"never closed\np3,also here\n', encoding="utf-8")
    back = read_all(path)
    assert back[READ_STATUS_COLUMN].tolist() == ["ok", "malformed_line", "ok"]
    assert values_of(back["id"]) == ["p1", "p2", "p3"]
    assert back["text"].iloc[1] == '"never closed'


def test_invalid_utf8_line_is_flagged_and_decoded_with_replacement(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"id,text\np1,fine\np2,caf\xe9\np3,fine too\n")
    back = read_all(path)
    assert back[READ_STATUS_COLUMN].tolist() == ["ok", "invalid_encoding", "ok"]
    assert back["text"].tolist() == ["fine", "caf\ufffd", "fine too"]


def test_malformed_jsonl_lines_are_flagged_in_place():
    back = read_all(FIXTURES / "malformed_posts.jsonl", chunksize=2, id_col="id")
    assert back[READ_STATUS_COLUMN].tolist() == ["ok", "malformed_line", "malformed_line", "ok", "ok"]
    assert back[LINE_COLUMN].tolist() == [1, 2, 3, 5, 6]
    assert values_of(back["id"]) == ["00123", "p2", None, "p3", "p4"]  # the id found in the line
    assert back["text"].tolist()[1:3] == ['{"id": "p2", "text": "second"', "[1, 2]"]  # raw text
    assert back["likes"].iloc[0] == 3  # JSON types are kept
    assert back["lang"].iloc[4] == "en"  # a key first seen later becomes a column
    with pytest.raises(InputError, match="line 2: not valid JSON"):
        read_all(FIXTURES / "malformed_posts.jsonl", on_bad_lines="error")


@pytest.mark.parametrize("ext", ["csv", "jsonl", "parquet"])
def test_missing_text_column_lists_columns_and_suggests_option(tmp_path, ext):
    path = write_export(tmp_path / f"posts.{ext}", EXPORT_POSTS)
    with pytest.raises(InputError, match=r"no column\(s\) \['body'\]; its columns are \['id', 'text', 'platform'\].*--text-col"):
        read_export(path, text_col="body")
    with pytest.raises(InputError, match=r"\['post_id'\]"):
        read_export(path, id_col="post_id")


def test_column_selection_keeps_file_order(tmp_path):
    path = write_export(tmp_path / "posts.parquet", EXPORT_POSTS)
    back = read_all(path, columns=["platform"], id_col="id")
    assert back.columns.tolist() == ["id", "text", "platform", *MARKER_COLUMNS]
    back = read_all(write_export(tmp_path / "posts.csv", EXPORT_POSTS), columns=["platform"], text_col=None)
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
        read_all(truncated)
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


@pytest.mark.parametrize("ext", EXPORT_FORMATS)
def test_skip_rows_continues_where_asked(tmp_path, ext):
    path = write_export(tmp_path / f"posts.{ext}", EXPORT_POSTS)
    rest = read_all(path, skip_rows=3, chunksize=2)
    assert rest.index.tolist() == [3, 4, 5, 6]
    assert rest["id"].tolist() == EXPORT_POSTS["id"].tolist()[3:]
    assert list(read_export(path, skip_rows=len(EXPORT_POSTS))) == []


def test_skip_rows_keeps_the_jsonl_columns_of_skipped_rows():
    rest = read_all(FIXTURES / "malformed_posts.jsonl", skip_rows=3)
    assert rest.columns.tolist() == ["id", "text", "likes", "lang", *MARKER_COLUMNS]
    assert rest.index.tolist() == [3, 4]


def test_count_rows_estimate_for_text_formats(tmp_path):
    path = write_export(tmp_path / "posts.csv", EXPORT_POSTS)
    # one post contains a line break: the cheap count is an upper bound, exact is exact
    assert count_rows(path) == len(EXPORT_POSTS) + 1
    assert count_rows(path, exact=True) == len(EXPORT_POSTS)
    assert count_rows(write_export(tmp_path / "posts.jsonl", EXPORT_POSTS)) == len(EXPORT_POSTS)


# --- long, quoted and odd fields -------------------------------------------------------------


@pytest.mark.parametrize("ext", ["csv", "tsv", "csv.gz"])
def test_posts_over_the_csv_module_limit_are_read_whole(tmp_path, ext):
    long_post = "word " * 40_000 + "end"  # 200,003 characters, over csv's 131,072 default
    frame = pd.DataFrame({"id": ["1", "2"], "text": [long_post, "short"]})
    src = tmp_path / f"posts.{ext}"
    with ExportWriter(src) as writer:
        writer.write(frame)
    back = read_verbatim(src)
    assert back[READ_STATUS_COLUMN].tolist() == ["ok", "ok"]
    assert back["text"].tolist() == [long_post, "short"]


def test_tsv_text_starting_with_a_quote_is_read_literally(tmp_path):
    src = tmp_path / "posts.tsv"
    src.write_text('id\ttext\tplatform\n1\t"quoted" she said\tx\n2\t"unclosed\ty\n', encoding="utf-8")
    back = read_verbatim(src)
    assert back[READ_STATUS_COLUMN].tolist() == ["ok", "ok"]
    assert back["text"].tolist() == ['"quoted" she said', '"unclosed']
    assert back["id"].tolist() == ["1", "2"]


def test_a_bare_carriage_return_inside_a_field_keeps_id_and_text(tmp_path):
    src = tmp_path / "posts.csv"
    src.write_bytes(b"id,text\n1,before\rafter\n2,fine\n")
    back = read_verbatim(src)
    assert back["id"].tolist() == ["1", "2"]
    assert back["text"].tolist() == ["before\rafter", "fine"]
    assert back[READ_STATUS_COLUMN].tolist() == ["ok", "ok"]
    out = tmp_path / "out.csv"
    tokenize_quietly(src, out)
    assert read_verbatim(out)["text"].tolist() == ["before\rafter", "fine"]  # written quoted, read back


def test_a_pandas_index_in_parquet_is_a_column(tmp_path):
    src = tmp_path / "posts.parquet"
    frame = pd.DataFrame({"text": ["a", "b"]}, index=pd.Index(["x1", "x2"], name="post_id"))
    frame.to_parquet(src)  # pandas stores the index as a column plus metadata
    back = read_verbatim(src, id_col="post_id")
    assert back["post_id"].tolist() == ["x1", "x2"]
    out = tmp_path / "tokens.csv"
    tokenize_quietly(src, out)
    assert read_verbatim(out)["post_id"].tolist() == ["x1", "x2"]


# --- headers verbatim ------------------------------------------------------------------------


def test_repeated_and_blank_header_names_stay_as_they_are(tmp_path):
    src = tmp_path / "posts.csv"
    src.write_text(",x,x,x.1\n0,a,b,third one\n1,c,d,fourth\n", encoding="utf-8")
    chunk = next(read_export(src, text_col="x.1"))
    assert list(chunk.columns) == ["", "x", "x", "x.1", *MARKER_COLUMNS]
    out = tmp_path / "tokens.csv"
    tokenize_quietly(src, out, text_col="x.1")  # the third column, not a renamed one
    assert header_line(out) == ",x,x,x.1,tokens,tonecls_status"
    back = read_verbatim(out, format="csv")
    assert back["tokens"].tolist() == ["third one", "fourth"]
    assert back.iloc[:, 1].tolist() == ["a", "c"] and back.iloc[:, 2].tolist() == ["b", "d"]


def test_a_repeated_text_column_name_is_ambiguous(tmp_path):
    src = tmp_path / "posts.csv"
    src.write_text("x,x,x.1\na,b,c\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"2 columns named 'x' \(columns \[1, 2\]"):
        read_export(src, text_col="x")
    with pytest.raises(InputError, match="ambiguous"):
        tokenize_quietly(src, tmp_path / "out.csv", text_col="x")
    with pytest.raises(InputError, match="ambiguous"):
        read_export(src, text_col="x.1", id_col="x")


def test_a_struct_with_repeated_field_names_is_refused_plainly(tmp_path):
    src = tmp_path / "posts.parquet"
    meta = pa.StructArray.from_arrays([pa.array([1]), pa.array(["b"])], names=["a", "a"])
    pq.write_table(pa.table({"text": ["x"], "meta": meta}), src)
    with pytest.raises(InputError, match=r"'meta' holds a struct that repeats the field name\(s\) \['a'\]"):
        read_export(src)


# --- encodings and shapes --------------------------------------------------------------------


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
    back = read_verbatim(src)
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
        tokenize_quietly(src, tmp_path / "out.csv")
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
    back = read_verbatim(out)
    assert back["tonecls_status"].tolist() == ["ok", "invalid_encoding"] + ["ok"] * 6
    assert back["text"].tolist()[1] == "bad \ufffd text" and back["\ufffd"].tolist()[1] == "2"
    tokens = tmp_path / "tokens.jsonl"
    tokenize_quietly(src, tokens)
    assert [json.loads(line)["tonecls_status"] for line in tokens.read_text().splitlines()][:2] == \
        ["ok", "invalid_encoding"]


def test_invalid_utf8_in_a_parquet_string_is_a_flagged_row(tmp_path):
    src = tmp_path / "posts.parquet"
    text = pa.array([b"fine", b"caf\xe9", None], pa.binary()).view(pa.string())
    pq.write_table(pa.table({"id": [1, 2, 3], "text": text}), src)
    back = read_verbatim(src)
    assert back[READ_STATUS_COLUMN].tolist() == ["ok", "invalid_encoding", "ok"]
    assert back["text"].tolist()[:2] == ["fine", "caf\ufffd"]


def test_a_malformed_jsonl_line_keeps_its_top_level_id_not_a_nested_one(tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text('{"id": 1, "text": "fine"}\n{"user": {"id": 99}, "id": 5, "text": "broken "quote"}\n',
                    encoding="utf-8")
    frame = read_all(path, id_col="id")
    assert frame["id"].tolist() == [1, 5]
    assert frame[READ_STATUS_COLUMN].tolist() == ["ok", "malformed_line"]


@pytest.mark.parametrize("sep", [",", "\t"])
def test_a_stray_quote_that_joins_rows_is_flagged_not_one_ok_row(tmp_path, sep):
    """``1,"so true,a`` then ``2,fine",b``: the csv module reads one record holding two rows.
    Which reading is right cannot be told, so neither becomes an ``ok`` row."""
    rows = ["id,text,group", '1,"so true,a', "2,fine\",b", "3,third,a",
            '4,"a post, with a comma\nand a second line, too",b',  # a real multi-line post: ok
            '5,"numbers\n2,000 people came",a',  # a line that looks like a row, but its id is not like 5's
            "6,last,b"]
    path = tmp_path / ("posts.csv" if sep == "," else "posts.tsv")
    path.write_text("\n".join(row.replace(",", sep) if sep != "," else row for row in rows) + "\n", encoding="utf-8")
    from tonecls.io import LINE_COLUMN, READ_STATUS_COLUMN, read_export

    chunk = pd.concat(read_export(path, text_col="text", id_col="id"))
    assert chunk["id"].tolist() == ["1", "3", "4", "5", "6"]
    assert chunk[READ_STATUS_COLUMN].tolist() == ["malformed_line", "ok", "ok", "ok", "ok"]
    assert chunk[LINE_COLUMN].tolist()[:2] == [2, 4]
    assert chunk["text"].iloc[2] == "a post, with a comma\nand a second line, too".replace(",", sep)
