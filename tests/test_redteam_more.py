"""Third red-team pass of the command line: files that are not what their name says, exports
round-tripped through other tools (pandas, Excel conventions, pyarrow), the score -> dialect ->
audit -> sample -> labels -> prevalence chain, resume at its edges and the statistics a user
relies on. Each case checks the README's promises exactly (every row once, in order, values
as they were; bad input is exit status 2 with one ``tonecls COMMAND: error:`` paragraph).
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from support import ROOT, assert_refused, cli, interrupt_after, write_fake_twitteraae
from tonecls.cli import main

SAMPLE = ROOT / "data" / "sample_posts.csv"
QUIET = ["-q", "--workers", "1"]


def small_export(path: Path, rows: int = 20) -> Path:
    """The first ``rows`` posts of the sample export, as CSV."""
    with open(SAMPLE, encoding="utf-8", newline="") as handle:
        lines = handle.read().splitlines(keepends=True)
    path.write_text("".join(lines[: rows + 1]), encoding="utf-8", newline="")
    return path


def csv_rows(path: Path, sep: str = ",") -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle, delimiter=sep))


# --- files that are not what their name says --------------------------------------------------


def _binaries(tmp_path: Path) -> dict[str, tuple[bytes, str]]:
    text = small_export(tmp_path / "small.csv").read_bytes()
    parquet = tmp_path / "p.parquet"
    pd.read_csv(tmp_path / "small.csv", dtype=str).to_parquet(parquet)
    jsonl = b'{"id": 1, "text": "hello there"}\n'
    return {
        "gz_named.csv": (gzip.compress(text), "is gzip-compressed, not a text export"),
        "gz_named.jsonl": (gzip.compress(jsonl), "add .gz to its name"),
        "parquet_named.jsonl": (parquet.read_bytes(), "is a Parquet file"),
        "parquet_named.csv": (parquet.read_bytes(), "rename it to end in .parquet"),
        "workbook.csv": (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml", "zip archive"),
        "twice.csv.gz": (gzip.compress(gzip.compress(text)), "compressed twice"),
        "plain.csv.gz": (text, "is not gzip-compressed although its name ends in .gz"),
    }


def test_a_binary_file_named_as_a_text_export_is_refused_not_scored_as_lines_of_garbage(tmp_path, capsys):
    # was: a Parquet file or a gzip named .jsonl scored with exit 0 as 116 / 1 malformed rows; the
    # others were refused with the wrong advice (convert from Windows-1252, fix its quoting)
    for name, (data, said) in _binaries(tmp_path).items():
        path = tmp_path / name
        path.write_bytes(data)
        out = tmp_path / f"out-{name}.csv"
        assert_refused(cli(capsys, "score", path, "-o", out, *QUIET), "score", said)
        assert not out.exists() and not Path(f"{out}.partial").exists()


def test_a_binary_file_is_refused_by_sample_and_audit_too(tmp_path, capsys):
    path = tmp_path / "scored.csv"
    path.write_bytes(gzip.compress(b"id,text,tonecls_status\n1,hi,ok\n"))
    assert_refused(cli(capsys, "sample", path, "-o", tmp_path / "s.csv", "-n", "1"), "sample", "gzip-compressed")
    assert_refused(cli(capsys, "audit", path, "-o", tmp_path / "a", "--head", "sentiment", "--group-col", "g"),
                   "audit", "gzip-compressed")


def test_old_mac_line_endings_are_refused_with_how_to_convert(tmp_path, capsys):
    path = tmp_path / "mac.csv"
    path.write_bytes(b"id,text\r1,hello there\r2,bye now\r")
    assert_refused(cli(capsys, "score", path, "-o", tmp_path / "o.csv", *QUIET), "score",
                   "lone carriage return", "tr '\\r' '\\n'")


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_an_input_column_named_like_a_reader_marker_is_refused_not_silently_dropped(tmp_path, capsys, fmt):
    # was: exit 0, the column `_tonecls_line` / `_tonecls_read_status` overwritten by the reader's
    # markers and dropped from the output: a column and its values lost without a word
    frame = pd.DataFrame({"id": ["1", "2"], "text": ["hello there", "bye now"], "_tonecls_line": ["mine", "x"]})
    path = tmp_path / f"in.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.rename(columns={"_tonecls_line": "_tonecls_read_status"}).to_parquet(path)
    out = tmp_path / "out.csv"
    assert_refused(cli(capsys, "score", path, "-o", out, *QUIET), "score", "uses internally", "rename")
    assert not out.exists()


def test_a_marker_named_key_on_a_late_jsonl_line_is_refused_too(tmp_path, capsys):
    path = tmp_path / "late.jsonl"
    lines = [json.dumps({"id": i, "text": "hello there"}) for i in range(10)]
    path.write_text("\n".join([*lines, json.dumps({"id": 10, "text": "x", "_tonecls_line": "late"})]) + "\n")
    out = tmp_path / "out.csv"
    assert_refused(cli(capsys, "score", path, "-o", out, "--chunksize", "3", *QUIET), "score", "'_tonecls_line'")
    assert not out.exists()


# --- the chain: score -> dialect -> audit -> sample -> labels by hand -> prevalence / calibrate --

TWITTERAAE = Path(os.environ.get("TONECLS_DATA_DIR") or ROOT.parent / "shared" / "data") / "twitteraae"


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """The sample export scored, then given dialect groups (threshold 0.6), as a user chains them."""
    if not (TWITTERAAE / "model").exists() and not any(TWITTERAAE.glob("*")):
        pytest.skip("no TwitterAAE model in the shared data")
    base = tmp_path_factory.mktemp("chain")
    scored, dialect = base / "scored.csv", base / "dialect.csv"
    assert main(["score", str(SAMPLE), "-o", str(scored), "--id-col", "id", *QUIET]) == 0
    assert main(["dialect", str(scored), "-o", str(dialect), "--threshold", "0.6", *QUIET]) == 0
    return base, scored, dialect


def test_dialect_of_a_scored_file_keeps_every_scored_row_and_value(chain, capsys):
    _, scored, dialect = chain
    before, after = csv_rows(scored), csv_rows(dialect)
    assert len(after) == len(before) == 401
    assert [row[: len(before[0])] for row in after] == before  # ids, order, values byte for byte
    assert after[0][len(before[0]):][-1] == "dialect_group"


def test_audit_by_dialect_group_of_the_chained_file_counts_every_row(chain, tmp_path, capsys):
    _, _, dialect = chain
    code, out, err = cli(capsys, "audit", dialect, "-o", tmp_path / "a", "--head", "sentiment", "--group-col",
                         "dialect_group", "--label-col", "sentiment", "--n-bootstrap", "30", "-q")
    assert code == 0, err
    report = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))["data"]
    groups = pd.read_csv(dialect, dtype=str, keep_default_na=False)
    ok = groups[groups["tonecls_status"] == "ok"]
    assert report["n_rows"] == 400 and report["n_audited"] == len(ok) and report["excluded"] == {"empty": 3}
    sizes = {g["group"]: g["n"] for g in report["group_sizes"] if g["grouping"] == "dialect_group"}
    assert sizes == ok["dialect_group"].value_counts().to_dict()


def _excel_labels(sample: pd.DataFrame, truth: pd.Series, path: Path, labelled: int) -> pd.DataFrame:
    """The sample filled in for its first ``labelled`` rows as a user would, re-saved by pandas
    with its index column, a UTF-8 BOM, CRLF line ends, blank lines and stray spaces; returns the
    clean labels it holds."""
    filled = sample.copy()
    filled["label"] = filled["id"].map(truth).where(filled.index < labelled, "")
    clean = filled.copy()
    filled["label"] = [f" {v}  " if n % 3 == 0 and v else v for n, v in enumerate(filled["label"])]
    text = filled.to_csv(index=True, lineterminator="\r\n")
    head, *rows = text.split("\r\n")
    path.write_bytes(("\ufeff" + head + "\r\n\r\n" + "\r\n".join(rows) + "\r\n\r\n").encode("utf-8"))
    return clean


def test_excel_edited_labels_of_a_stratified_sample_give_the_report_of_clean_labels(chain, tmp_path, capsys):
    _, scored, dialect = chain
    drawn = tmp_path / "to_label.csv"
    code, _, err = cli(capsys, "sample", dialect, "-o", drawn, "-n", "80", "--stratify-col", "region",
                       "--allocation", "equal", "--seed", "7")
    assert code == 0, err
    sample = pd.read_csv(drawn, dtype=str, keep_default_na=False)
    truth = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False).set_index("id")["sentiment"]
    clean = _excel_labels(sample, truth, tmp_path / "labels_excel.csv", labelled=60)
    clean.to_csv(tmp_path / "labels_clean.csv", index=False)
    reports = {}
    for name in ("clean", "excel"):
        code, _, err = cli(capsys, "prevalence", dialect, "-o", tmp_path / name, "--head", "sentiment", "--labels",
                           tmp_path / f"labels_{name}.csv", "--group-col", "region", "-q")
        assert code == 0 and "Traceback" not in err, err
        reports[name] = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))["data"]
    assert reports["excel"]["n_labelled"] == 60
    assert reports["excel"]["estimates"] == reports["clean"]["estimates"]
    assert reports["excel"]["settings"]["weighted"] is True  # the equal allocation is weighted back
    for row in reports["excel"]["estimates"]:
        if row["estimate"] is not None:
            assert row["ci_low"] <= row["estimate"] <= row["ci_high"]


def test_calibrate_on_the_excel_edited_sample_reads_only_its_labelled_rows(chain, tmp_path, capsys):
    _, _, dialect = chain
    drawn = tmp_path / "to_label.csv"
    assert cli(capsys, "sample", dialect, "-o", drawn, "-n", "70")[0] == 0
    sample = pd.read_csv(drawn, dtype=str, keep_default_na=False)
    truth = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False).set_index("id")["sentiment"]
    _excel_labels(sample, truth, tmp_path / "labels.csv", labelled=55)
    code, out, err = cli(capsys, "calibrate", tmp_path / "labels.csv", "-o", tmp_path / "cal", "--head",
                         "sentiment", "--label-col", "label", "-q")
    assert code == 0, err
    assert "on 55 labelled posts" in out + err
    assert (tmp_path / "cal" / "SHA256SUMS").is_file()


# --- chunk sizes and resume at its edges ------------------------------------------------------


def _messy_export(path: Path) -> Path:
    """40 posts with quoted line breaks, a row with too many fields and an empty post."""
    rows = ["id,text,extra"]
    for i in range(40):
        text = f'"line one {i}\r\nline two, ""quoted"""' if i % 7 == 0 else f"plain post number {i} here"
        rows.append(f"r{i:02d},{text},x{i}")
    rows[12] = "r11,too,many,fields"
    rows[20] = "r19,,empty"
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("utf-8"))
    return path


def test_chunksize_1_gives_the_rows_labels_and_probabilities_of_one_big_chunk(tmp_path, capsys):
    src = _messy_export(tmp_path / "messy.csv")
    outs = {}
    for size in ("1", "1000000000"):
        outs[size] = tmp_path / f"out{size}.csv"
        assert cli(capsys, "score", src, "-o", outs[size], "--chunksize", size, *QUIET)[0] == 0
    one, big = (pd.read_csv(outs[s], dtype=str, keep_default_na=False) for s in ("1", "1000000000"))
    source = csv_rows(src)
    assert [list(r) for r in one[source[0]].itertuples(index=False)][:11] == source[1:12]
    assert one["tonecls_status"].tolist() == big["tonecls_status"].tolist()
    assert one["tonecls_status"].value_counts().to_dict() == {"ok": 38, "malformed_line": 1, "empty": 1}
    text_cols = [c for c in one.columns if not c.startswith(("sentiment_", "emotion_", "ekman_p_"))
                 or c.endswith("_label") or c == "ekman_labels"]
    assert one[text_cols].equals(big[text_cols])
    probs = [c for c in one.columns if c not in text_cols]
    diff = (one[probs].replace("", "nan").astype(float) - big[probs].replace("", "nan").astype(float)).abs()
    assert float(diff.max().max()) < 1e-6  # float32 batch effects only (finding: not byte-identical)


def _posts(path: Path, copies: int = 2) -> Path:
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    frame = pd.concat([frame] * copies, ignore_index=True)
    frame["id"] = [f"r{i:05d}" for i in range(len(frame))]
    path.write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8"))
    return path


OPTS = ["--chunksize", "200", *QUIET]


@pytest.mark.slow
def test_resume_from_another_folder_through_a_symlink_after_rows_were_appended(tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    src = _posts(work / "posts.csv")
    monkeypatch.chdir(work)
    with monkeypatch.context() as patch:
        interrupt_after(patch, 2)
        assert cli(capsys, "score", "posts.csv", "-o", "scored.csv", *OPTS)[0] == 130
    with open(src, "ab") as handle:  # the export grew after the interrupt (completed chunks unchanged)
        handle.write(b"z1,appended later and scored,a,b,c,d,e\r\nz2,one more,a,b,c,d,e\r\n")
    (tmp_path / "link").symlink_to(work)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = cli(capsys, "score", "../link/posts.csv", "-o", "../link/scored.csv", *OPTS, "--resume")
    assert code == 0 and "resumed at row 400" in out + err, err
    assert cli(capsys, "score", src, "-o", tmp_path / "clean.csv", *OPTS)[0] == 0
    assert (work / "scored.csv").read_bytes() == (tmp_path / "clean.csv").read_bytes()
    assert csv_rows(work / "scored.csv")[-1][:2] == ["z2", "one more"]
