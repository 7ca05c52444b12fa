"""Red-team cases of the command line: messy exports, killed and resumed jobs, hand-edited
manifests and bundles, wrong options of every subcommand. Each case checks the README's
promises exactly: every row once, in order, with its id and values as they were; bad input is
exit status 2 with one ``tonecls COMMAND: error:`` paragraph and no traceback.

Commands run in-process (``tonecls.cli.main``) with the bundled default model, except the
kill and concurrency cases, which need real processes.
"""

from __future__ import annotations

import csv
import decimal
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from support import ROOT, assert_refused, cli, interrupt_after

SAMPLE = ROOT / "data" / "sample_posts.csv"


# --- helpers -----------------------------------------------------------------------------------


def csv_rows(path: Path, sep: str = ",") -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle, delimiter=sep))


def big_export(path: Path, copies: int = 3) -> Path:
    """The sample export ``copies`` times over, with unique ids (1,200 rows by default)."""
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    frame = pd.concat([frame] * copies, ignore_index=True)
    frame["id"] = [f"r{i:05d}" for i in range(len(frame))]
    frame.to_csv(path, index=False)
    return path


SCORE_OPTS = ["--chunksize", "200", "--workers", "1", "-q"]


@pytest.fixture
def export(tmp_path) -> Path:
    return big_export(tmp_path / "posts.csv")


@pytest.fixture
def reference(tmp_path, export, capsys) -> Path:
    """A clean, uninterrupted run of the export."""
    out = tmp_path / "reference.csv"
    assert cli(capsys, "score", export, "-o", out, *SCORE_OPTS)[0] == 0
    return out


@pytest.fixture
def interrupted(tmp_path, export, monkeypatch, capsys) -> Path:
    """The output path of a run interrupted (Ctrl-C) after 3 chunks of 200 rows."""
    out = tmp_path / "scored.csv"
    with monkeypatch.context() as patch:
        interrupt_after(patch, 3)
        code, _, err = cli(capsys, "score", export, "-o", out, *SCORE_OPTS)
    assert code == 130 and "--resume" in err and err.endswith("tonecls score: interrupted\n")
    assert not out.exists() and Path(f"{out}.partial.json").exists()
    return out


def resume(capsys, export: Path, out: Path, *extra):
    return cli(capsys, "score", export, "-o", out, *SCORE_OPTS, "--resume", *extra)


# --- CSV / TSV quoting and bytes ------------------------------------------------------------


def test_csv_quotes_nul_mid_file_bom_and_line_breaks_come_out_as_they_were(tmp_path, capsys):
    texts = ['a "quoted" one', 'he said "hi" there', "\ufeffbom mid-file", "nul\x00byte",
             "multi\nline", "crlf\r\ninside", "x" * 200_000]
    src = tmp_path / "q.csv"
    with open(src, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows([f"{i:03d}", t] for i, t in enumerate(texts))
    out = tmp_path / "q_out.csv"
    assert cli(capsys, "score", src, "-o", out, "-q", "--id-col", "id")[0] == 0
    rows = csv_rows(out)
    assert [r[:2] for r in rows[1:]] == [[f"{i:03d}", t] for i, t in enumerate(texts)]
    assert [r[2] for r in rows[1:]] == ["ok"] * len(texts)


def test_csv_field_opening_with_a_quote_is_flagged_in_place_not_mangled(tmp_path, capsys):
    src = tmp_path / "q.csv"
    src.write_text('id,text\n1,"quoted" start\n2,x "y" z\n3,"a""b"\n4,"unterminated\n5,fine\n', encoding="utf-8")
    out = tmp_path / "q_out.csv"
    code, printed, _ = cli(capsys, "score", src, "-o", out, "-q", "--id-col", "id")
    assert code == 0 and "malformed input lines (flagged): 2, 5" in printed
    rows = csv_rows(out)[1:]
    assert [r[:3] for r in rows] == [["1", '"quoted" start', "malformed_line"], ["2", 'x "y" z', "ok"],
                                     ["3", 'a"b', "ok"], ["4", '"unterminated', "malformed_line"],
                                     ["5", "fine", "ok"]]


def test_tsv_with_stray_quotes_keeps_every_row_and_id(tmp_path, capsys):
    src = tmp_path / "q.tsv"
    src.write_text('id\ttext\n1\t"quoted" start\n2\tsay "hi"\n3\t"open only\n4\tlast one\n', encoding="utf-8")
    out = tmp_path / "q_out.tsv"
    assert cli(capsys, "score", src, "-o", out, "-q", "--id-col", "id")[0] == 0
    rows = csv_rows(out, "\t")[1:]
    assert [r[0] for r in rows] == ["1", "2", "3", "4"]
    assert [r[1] for r in rows] == ['"quoted" start', 'say "hi"', '"open only', "last one"]


def test_bom_crlf_file_with_a_quoted_crlf_keeps_its_text(tmp_path, capsys):
    src = tmp_path / "crlf.csv"
    src.write_bytes(b'\xef\xbb\xbfid,text\r\n1,"a\r\nb"\r\n2,c\r\n')
    out = tmp_path / "crlf_out.csv"
    assert cli(capsys, "score", src, "-o", out, "-q", "--id-col", "id")[0] == 0
    rows = csv_rows(out)
    assert rows[0][:2] == ["id", "text"]  # the BOM is not part of the first name
    assert [r[:2] for r in rows[1:]] == [["1", "a\r\nb"], ["2", "c"]]


def test_header_only_file_gives_a_header_only_output(tmp_path, capsys):
    src = tmp_path / "empty_rows.csv"
    src.write_text("id,text\n", encoding="utf-8")
    for ext in ("csv", "parquet"):
        out = tmp_path / f"out.{ext}"
        assert cli(capsys, "score", src, "-o", out, "-q")[0] == 0
        frame = pd.read_csv(out) if ext == "csv" else pd.read_parquet(out)
        assert len(frame) == 0 and list(frame.columns[:3]) == ["id", "text", "tonecls_status"]


# --- column names ---------------------------------------------------------------------------


def test_repeated_blank_and_unicode_variant_names(tmp_path, capsys):
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    src = tmp_path / "h.csv"
    src.write_bytes(f"id,text,,{nfc},{nfd},id\n1,love it,a,b,c,9\n2,hate it,d,e,f,8\n".encode())
    assert_refused(cli(capsys, "score", src, "-o", tmp_path / "o.csv", "--id-col", "id"), "score", "ambiguous")
    for ext in ("jsonl", "parquet"):  # cannot hold a repeated name: refused before any work
        assert_refused(cli(capsys, "score", src, "-o", tmp_path / f"o.{ext}", "-q"), "score", "repeats")
        assert not list(tmp_path.glob(f"o.{ext}*"))
    out = tmp_path / "o.csv"
    assert cli(capsys, "score", src, "-o", out, "-q", "--text-col", nfc)[0] == 0  # NFC and NFD stay distinct
    rows = csv_rows(out)
    assert rows[0][:6] == ["id", "text", "", nfc, nfd, "id"]
    assert [r[:6] for r in rows[1:]] == [["1", "love it", "a", "b", "c", "9"], ["2", "hate it", "d", "e", "f", "8"]]


# --- JSONL and Parquet values ---------------------------------------------------------------


def test_jsonl_ids_equal_as_numbers_keep_their_own_type_and_text(tmp_path, capsys):
    ids = ['1', '"1"', '1.0', 'null', '12345678901234567890123', '-0.0', 'true', '"01"']
    src = tmp_path / "ids.jsonl"
    src.write_text("".join(f'{{"id": {i}, "text": "post {n}"}}\n' for n, i in enumerate(ids)), encoding="utf-8")
    out = tmp_path / "ids_out.jsonl"
    assert cli(capsys, "score", src, "-o", out, "-q", "--id-col", "id")[0] == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [line.split(", ")[0] for line in lines] == [f'{{"id": {i}' for i in ids]
    assert [json.loads(line)["text"] for line in lines] == [f"post {n}" for n in range(len(ids))]


def test_jsonl_object_with_a_repeated_name_is_flagged_not_silently_given_the_last_value(tmp_path, capsys):
    """{"id": 5, "id": 6} is not one record: a dict would keep id 6 and call the row ok."""
    src = tmp_path / "dup.jsonl"
    lines = ['{"id": 1, "text": "fine"}', '{"id": 5, "id": 6, "text": "dup key"}',
             '{"id": 7, "text": "nested", "user": {"name": "a", "name": "b"}}', '{"id": 8, "text": "fine too"}']
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "dup_out.jsonl"
    code, printed, _ = cli(capsys, "score", src, "-o", out, "-q", "--id-col", "id")
    assert code == 0 and "malformed input lines (flagged): 2, 3" in printed
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == [1, 5, 7, 8]  # a flagged line keeps its (first) id
    assert [r["tonecls_status"] for r in records] == ["ok", "malformed_line", "malformed_line", "ok"]
    assert records[1]["text"] == lines[1] and records[2]["text"] == lines[2]  # its raw text


def test_jsonl_lines_that_are_not_objects_keep_their_place(tmp_path, capsys):
    src = tmp_path / "kinds.jsonl"
    src.write_text('{"id": 1, "text": "a"}\n[1, 2]\n42\n"just a string"\n\n   \n{"id": 2, "text": 123}\n'
                   '{"id": 3, "text": ["list"]}\n{"id": 4, "text": "b", "v": NaN}\n', encoding="utf-8")
    out = tmp_path / "kinds_out.csv"
    code, printed, _ = cli(capsys, "score", src, "-o", out, "-q")
    assert code == 0 and "malformed input lines (flagged): 2, 3, 4" in printed
    rows = csv_rows(out)
    column = rows[0].index("tonecls_status")
    assert [(r[0], r[1], r[column]) for r in rows[1:]] == [
        ("1", "a", "ok"), ("", "[1, 2]", "malformed_line"), ("", "42", "malformed_line"),
        ("", '"just a string"', "malformed_line"), ("2", "123", "not_text"), ("3", '["list"]', "not_text"),
        ("4", "b", "ok")]
    assert rows[-1][rows[0].index("v")] == "NaN"


def test_rows_without_an_id_are_not_counted_as_repeated_ids(tmp_path, capsys):
    src = tmp_path / "no_ids.jsonl"
    src.write_text('{"id": null, "text": "a"}\n{"text": "b"}\n{"id": null, "text": "c"}\n{"id": 7, "text": "d"}\n'
                   '{"id": 7, "text": "e"}\n', encoding="utf-8")
    code, out, _ = cli(capsys, "score", src, "-o", tmp_path / "o.jsonl", "-q", "--id-col", "id")
    assert code == 0 and "1 rows repeat an id" in out.replace("1 row repeats", "1 rows repeat")


def test_jsonl_integer_beyond_64_bits_to_parquet_is_refused_and_nothing_written(tmp_path, capsys):
    src = tmp_path / "huge.jsonl"
    src.write_text('{"id": 1, "text": "a"}\n{"id": 123456789012345678901234567890, "text": "b"}\n', encoding="utf-8")
    assert_refused(cli(capsys, "score", src, "-o", tmp_path / "o.parquet", "-q"), "score",
                   "123456789012345678901234567890")
    assert not list(tmp_path.glob("o.parquet*"))


def test_parquet_dictionary_large_string_decimal_timestamp_tz_columns_keep_types_and_values(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 6
    table = pa.table({
        "id": pa.array([10**18 + i for i in range(n)], pa.int64()),
        "text": pa.array(["love", "hate", None, "", "ok fine", "great"]).dictionary_encode(),
        "ls": pa.array(["a", "b", None, "d", "e", "f"], pa.large_string()),
        "dec": pa.array([decimal.Decimal("1.10"), None, decimal.Decimal("-3.333"), decimal.Decimal("0"),
                         decimal.Decimal("99999.999"), decimal.Decimal("0.001")], pa.decimal128(10, 3)),
        "ts": pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)] * n, pa.timestamp("us", tz="Europe/Paris")),
        "u64": pa.array([2**64 - 1, 0, None, 1, 2, 3], pa.uint64()),
        "bin": pa.array([b"\x00\xff"] * n, pa.binary()),
        "lst": pa.array([[1, 2], [], None, [3], [None], [4]], pa.list_(pa.int64())),
    })
    src = tmp_path / "types.parquet"
    pq.write_table(table, src)
    out = tmp_path / "types_out.parquet"
    assert cli(capsys, "score", src, "-o", out, "-q", "--id-col", "id")[0] == 0
    scored = pq.read_table(out)
    for name in table.column_names:
        assert scored.schema.field(name).type == table.schema.field(name).type or name == "lst"
        assert scored.column(name).to_pylist() == table.column(name).to_pylist(), name
    assert scored.column("tonecls_status").to_pylist() == ["ok", "ok", "missing", "empty", "ok", "ok"]
    text_out = tmp_path / "types_out.csv"
    assert cli(capsys, "score", src, "-o", text_out, "-q")[0] == 0
    first = csv_rows(text_out)[1]
    assert first[:5] == ["1000000000000000000", "love", "a", "1.100", "2024-01-01T01:00:00+01:00"]


# --- multi-file inputs ------------------------------------------------------------------------


def test_folder_of_parts_with_different_columns_is_one_table_in_order(tmp_path, capsys):
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "a.csv").write_text("id,text\n1,love it\n2,hate it\n", encoding="utf-8")
    (parts / "b.csv").write_text("id,body,text\n3,x,great\n4,y,awful\n", encoding="utf-8")
    (parts / "_SUCCESS").write_text("")
    (parts / ".a.csv.crc").write_text("")
    out = tmp_path / "out.parquet"
    assert cli(capsys, "score", parts, "-o", out, "-q", "--id-col", "id")[0] == 0
    frame = pd.read_parquet(out)
    assert frame["id"].tolist() == ["1", "2", "3", "4"]
    assert frame["text"].tolist() == ["love it", "hate it", "great", "awful"]
    assert frame["body"].isna().tolist() == [True, True, False, False]


def test_folder_with_an_empty_part_or_a_stray_file_is_refused_by_name(tmp_path, capsys):
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "a.csv").write_text("id,text\n1,love it\n", encoding="utf-8")
    (parts / "b.csv").write_text("")
    assert_refused(cli(capsys, "score", parts, "-o", tmp_path / "o.csv", "-q"), "score", "b.csv")
    (parts / "b.csv").unlink()
    (parts / "README.txt").write_text("exported on monday")
    assert_refused(cli(capsys, "score", parts, "-o", tmp_path / "o.csv", "-q"), "score", "README.txt")
    assert_refused(cli(capsys, "score", str(tmp_path / "none" / "*.csv"), "-o", tmp_path / "o.csv"), "score",
                   "holds no export files")
    assert not (tmp_path / "o.csv").exists()


def test_output_inside_the_input_folder_is_refused_before_any_work(tmp_path, capsys):
    """Else a kill leaves the partial, manifest and lock in the folder, and --resume (or any
    later run) reads them as parts: the completed work could not be resumed."""
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "a.csv").write_text("id,text\n1,love it\n", encoding="utf-8")
    (parts / "b.csv").write_text("id,text\n2,hate it\n", encoding="utf-8")
    assert_refused(cli(capsys, "score", parts, "-o", parts / "scored.csv", "-q"), "score", "inside the input")
    assert_refused(cli(capsys, "score", str(parts / "*"), "-o", parts / "scored.parquet", "-q"), "score",
                   "inside the input")
    assert_refused(cli(capsys, "preprocess", parts, "-o", parts / "sub" / "tokens.csv", "-q"), "preprocess",
                   "inside the input")
    assert sorted(p.name for p in parts.iterdir()) == ["a.csv", "b.csv"]
    # a pattern the output does not match is fine
    assert cli(capsys, "score", str(parts / "*.csv"), "-o", parts / "scored.parquet", "-q")[0] == 0
    assert pd.read_parquet(parts / "scored.parquet")["id"].tolist() == ["1", "2"]


def test_output_that_is_a_symlink_to_the_input_is_refused(tmp_path, capsys):
    src = tmp_path / "posts.csv"
    src.write_text("id,text\n1,love it\n", encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(src)
    assert_refused(cli(capsys, "score", src, "-o", tmp_path / "link.csv", "-q"), "score", "is the input file")
    assert src.read_text(encoding="utf-8") == "id,text\n1,love it\n"


# --- interrupted runs, resume, tampering ---------------------------------------------------------


def test_interrupt_then_resume_gives_the_same_bytes_as_a_clean_run(tmp_path, export, reference, interrupted,
                                                                   capsys):
    code, out, _ = resume(capsys, export, interrupted)
    assert code == 0 and "resumed at row 600" in out
    assert interrupted.read_bytes() == reference.read_bytes()
    assert not list(tmp_path.glob("scored.csv.*"))  # partial, manifest, state and lock are gone


def test_interrupt_then_resume_of_a_gzip_output_is_one_valid_stream(tmp_path, export, reference, monkeypatch,
                                                                    capsys):
    import gzip

    out = tmp_path / "scored.csv.gz"
    with monkeypatch.context() as patch:
        interrupt_after(patch, 2)
        assert cli(capsys, "score", export, "-o", out, *SCORE_OPTS)[0] == 130
    assert resume(capsys, export, out)[0] == 0
    assert gzip.decompress(out.read_bytes()) == reference.read_bytes()


@pytest.mark.parametrize(("changed", "said"), [
    (["--chunksize", "100"], "chunksize: 200 -> 100"),
    (["--all-languages"], "all_languages: False -> True"),
    (["--id-col", "id"], "id_col: None -> 'id'"),
    (["--text-col", "platform"], "text_col: 'text' -> 'platform'"),
])
def test_resume_with_other_options_is_refused_and_keeps_the_partial(export, interrupted, capsys, changed, said):
    manifest = Path(f"{interrupted}.partial.json")
    before = manifest.read_bytes(), Path(f"{interrupted}.partial").read_bytes()
    argv = ["score", export, "-o", interrupted, *SCORE_OPTS, "--resume", *changed]
    if changed[0] == "--chunksize":
        argv = ["score", export, "-o", interrupted, "--workers", "1", "-q", "--resume", *changed]
    assert_refused(cli(capsys, *argv), "score", "cannot resume", said)
    assert (manifest.read_bytes(), Path(f"{interrupted}.partial").read_bytes()) == before


def test_resume_with_another_model_is_refused(export, interrupted, bundle_copy, capsys):
    card = bundle_copy / "MODEL_CARD.md"
    card.write_text(card.read_text(encoding="utf-8") + "\nedited by hand\n", encoding="utf-8")
    assert cli(capsys, "seal", bundle_copy)[0] == 0
    assert_refused(resume(capsys, export, interrupted, "--model", bundle_copy), "score", "cannot resume",
                   "model")
    assert Path(f"{interrupted}.partial").exists()


def test_resume_after_the_input_was_edited_in_a_completed_chunk_is_refused(export, interrupted, capsys):
    text = export.read_text(encoding="utf-8")
    export.write_text(text.replace("r00010,", "r00010x,", 1), encoding="utf-8")
    assert_refused(resume(capsys, export, interrupted), "score", "input file changed", "part 1")
    export.write_text(text, encoding="utf-8")  # restored: the resume goes through
    assert resume(capsys, export, interrupted)[0] == 0


def test_resume_of_a_truncated_or_edited_partial_is_refused(export, interrupted, capsys):
    partial = Path(f"{interrupted}.partial")
    data = partial.read_bytes()
    partial.write_bytes(data.replace(b"ok,", b"OK,", 1))
    assert_refused(resume(capsys, export, interrupted), "score", "damaged or edited")
    partial.write_bytes(data[: len(data) // 3])
    assert_refused(resume(capsys, export, interrupted), "score", "cannot resume")
    assert partial.read_bytes() == data[: len(data) // 3]  # kept as it was


def _edit(unit):
    return lambda manifest: unit(manifest["units"])


MANIFEST_EDITS = {
    "options null": lambda m: m.update(options=None),
    "input a list": lambda m: m.update(input=["posts.csv"]),
    "unit without output": _edit(lambda u: u["0"].pop("output")),
    "output not a record": _edit(lambda u: u["0"].update(output="done")),
    "end as text": _edit(lambda u: u["0"]["output"].update(end="12")),
    "negative rows": _edit(lambda u: u["0"].update(rows=-5)),
    "statuses a list": _edit(lambda u: u["0"].update(statuses=[1])),
    "index not a number": _edit(lambda u: u.update(x=u["1"])),
    "malformed lines as text": _edit(lambda u: u["0"].update(malformed_lines="abc")),
    "last writer state removed": _edit(lambda u: u[max(u, key=int)]["output"].pop("writer")),
    "part outside the folder": _edit(lambda u: u["0"]["output"].update(part="../../etc/passwd", end=None)),
}


@pytest.mark.parametrize("edit", list(MANIFEST_EDITS))
def test_hand_edited_manifest_is_refused_with_exit_2_and_the_partial_kept(export, interrupted, capsys, edit):
    manifest_file = Path(f"{interrupted}.partial.json")
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    MANIFEST_EDITS[edit](manifest)
    manifest_file.write_text(json.dumps(manifest), encoding="utf-8")
    partial = Path(f"{interrupted}.partial").read_bytes()
    assert_refused(resume(capsys, export, interrupted), "score", "cannot resume")
    assert Path(f"{interrupted}.partial").read_bytes() == partial and manifest_file.exists()


def test_a_lock_held_by_a_live_process_stops_a_second_run_and_a_dead_ones_is_taken_over(tmp_path, export,
                                                                                         capsys):
    from tonecls.io.lock import _start_time

    out = tmp_path / "scored.csv"
    lock = Path(f"{out}.lock")
    import socket

    owner = {"pid": os.getpid(), "host": socket.gethostname(), "started_ticks": _start_time(os.getpid()),
             "since": "2024-01-01T00:00:00+00:00", "command": "tonecls score (the other analyst)"}
    lock.write_text(json.dumps(owner), encoding="utf-8")
    assert_refused(cli(capsys, "score", export, "-o", out, *SCORE_OPTS), "score", "another run is writing",
                   f"process {os.getpid()}", "the other analyst")
    assert not out.exists() and lock.exists()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock.write_text(json.dumps({**owner, "pid": int(dead.stdout), "started_ticks": "1"}), encoding="utf-8")
    assert cli(capsys, "score", export, "-o", out, *SCORE_OPTS)[0] == 0
    assert not lock.exists() and len(pd.read_csv(out)) == 1200


# --- real processes: SIGKILL, SIGINT, two runs at once ---------------------------------------------


def _command(export: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tonecls", "score", str(export), "-o", str(out), *SCORE_OPTS, *extra]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def _wait_for_units(manifest: Path, process: subprocess.Popen, units: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if len(json.loads(manifest.read_text(encoding="utf-8"))["units"]) >= units:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"the run did not record {units} units (exit {process.poll()})")


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_equals_a_clean_run(tmp_path, capsys):
    export = big_export(tmp_path / "posts.csv", copies=8)
    out = tmp_path / "killed.csv"
    process = subprocess.Popen(_command(export, out), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for_units(Path(f"{out}.partial.json"), process, 2)
    process.kill()
    process.wait()
    assert not out.exists() and Path(f"{out}.lock").exists()  # the dead run's lock is left behind
    code, printed, _ = cli(capsys, "score", export, "-o", out, *SCORE_OPTS, "--resume")
    assert code == 0 and "resumed at row" in printed
    clean = tmp_path / "clean.csv"
    assert cli(capsys, "score", export, "-o", clean, *SCORE_OPTS)[0] == 0
    assert out.read_bytes() == clean.read_bytes()


@pytest.mark.slow
def test_sigint_mid_run_exits_130_with_the_resume_hint(tmp_path, capsys):
    export = big_export(tmp_path / "posts.csv", copies=8)
    out = tmp_path / "stopped.csv"
    process = subprocess.Popen(_command(export, out), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    _wait_for_units(Path(f"{out}.partial.json"), process, 1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err
    assert "--resume" in err and err.endswith("tonecls score: interrupted\n")
    assert cli(capsys, "score", export, "-o", out, *SCORE_OPTS, "--resume")[0] == 0
    assert pd.read_csv(out, dtype=str)["id"].tolist() == [f"r{i:05d}" for i in range(3200)]


@pytest.mark.slow
def test_two_runs_on_one_output_the_second_stops_at_once(tmp_path):
    export = big_export(tmp_path / "posts.csv", copies=8)
    out = tmp_path / "shared.csv"
    first = subprocess.Popen(_command(export, out), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for_units(Path(f"{out}.partial.json"), first, 1)
    second = subprocess.run(_command(export, out), env=_env(), capture_output=True, text=True, timeout=60)
    assert second.returncode == 2 and "another run is writing" in second.stderr
    assert str(first.pid) in second.stderr and "Traceback" not in second.stderr
    assert first.wait(timeout=120) == 0
    assert pd.read_csv(out, dtype=str)["id"].tolist() == [f"r{i:05d}" for i in range(3200)]


# --- bundles ---------------------------------------------------------------------------------------


def test_a_file_added_to_a_bundle_after_it_was_loaded_is_refused(tmp_path, bundle_copy, capsys):
    """The model cache of a long-lived process (a notebook, repeated CLI calls) must not skip
    the seal: a bundle edited after a first load is refused like on a fresh load."""
    src = tmp_path / "posts.csv"
    src.write_text("id,text\n1,love it\n", encoding="utf-8")
    assert cli(capsys, "score", src, "-o", tmp_path / "a.csv", "-q", "--model", bundle_copy)[0] == 0
    (bundle_copy / "notes.txt").write_text("mine")
    assert_refused(cli(capsys, "score", src, "-o", tmp_path / "b.csv", "-q", "--model", bundle_copy), "score",
                   "notes.txt", "not in the bundle's seal")
    (bundle_copy / "notes.txt").unlink()
    vocab = bundle_copy / "vocab.json"
    vocab.write_bytes(vocab.read_bytes().replace(b'"the"', b'"teh"', 1))
    assert_refused(cli(capsys, "score", src, "-o", tmp_path / "c.csv", "-q", "--model", bundle_copy), "score",
                   "vocab.json", "was changed")
    assert not (tmp_path / "b.csv").exists() and not (tmp_path / "c.csv").exists()


def test_seal_refuses_what_is_not_a_bundle(tmp_path, capsys):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.csv").write_text("id,text\n")
    for target in (tmp_path / "missing", tmp_path / "folder", tmp_path / "file.csv"):
        assert_refused(cli(capsys, "seal", target), "seal", str(target))


# --- other subcommands ---------------------------------------------------------------------------


@pytest.fixture
def scored(tmp_path, capsys) -> Path:
    out = tmp_path / "scored.csv"
    assert cli(capsys, "score", SAMPLE, "-o", out, "-q", "--id-col", "id")[0] == 0
    return out


def test_negative_seed_is_exit_2_in_every_command_that_takes_one(tmp_path, scored, capsys):
    cases = {
        "sample": ["sample", scored, "-o", tmp_path / "s.csv", "--seed", "-1"],
        "audit": ["audit", scored, "-o", tmp_path / "rep" / "a", "--head", "sentiment", "--group-col", "region",
                  "--seed", "-1"],
        "calibrate": ["calibrate", scored, "-o", tmp_path / "cal", "--head", "sentiment", "--label-col",
                      "sentiment", "--seed", "-1"],
        "probe": ["probe", "-o", tmp_path / "rep" / "p", "--seed", "-1"],
        "privacy-audit": ["privacy-audit", "--members", scored, "--non-members", scored, "--head", "sentiment",
                          "-o", tmp_path / "rep" / "pa", "--label-col", "sentiment", "--attack", "loss",
                          "--seed", "-1"],
    }
    for command, argv in cases.items():
        assert_refused(cli(capsys, *argv), command, "seed must be a whole number >= 0, got -1")
    assert not (tmp_path / "s.csv").exists() and not (tmp_path / "cal").exists()
    assert not (tmp_path / "rep").exists() or not list((tmp_path / "rep").iterdir())


@pytest.mark.slow
def test_a_folder_of_parquet_parts_is_read_by_audit_sample_and_prevalence(tmp_path, scored, capsys):
    parts = tmp_path / "scored.parquet"  # as `tonecls score --engine dask` writes it
    parts.mkdir()
    frame = pd.read_csv(scored, dtype=str, keep_default_na=False)
    frame.iloc[:200].to_parquet(parts / "part-00000.parquet")
    frame.iloc[200:].to_parquet(parts / "part-00001.parquet")
    code, out, err = cli(capsys, "audit", parts, "-o", tmp_path / "r", "--head", "sentiment", "--group-col",
                         "region", "--n-bootstrap", "20", "--quiet")
    assert code == 0 and f"of {len(frame):,} rows" in out, err
    code, out, err = cli(capsys, "sample", parts, "-o", tmp_path / "s.csv", "-n", "5")
    assert code == 0 and len(pd.read_csv(tmp_path / "s.csv")) == 5, err
    code, out, err = cli(capsys, "prevalence", parts, "-o", tmp_path / "p", "--head", "sentiment")
    assert code == 0 and (tmp_path / "p.html").is_file(), err
    assert_refused(cli(capsys, "calibrate", parts, "-o", tmp_path / "c", "--head", "sentiment", "--label-col",
                       "sentiment"), "calibrate", "is a directory")


def test_sample_wrong_sizes_columns_and_paths(tmp_path, scored, capsys):
    out = tmp_path / "to_label.csv"
    assert_refused(cli(capsys, "sample", scored, "-o", out, "-n", "0"), "sample", "n must be")
    assert_refused(cli(capsys, "sample", scored, "-o", out, "-n", "100000"), "sample", "only 397 rows were scored")
    assert_refused(cli(capsys, "sample", scored, "-o", out, "--stratify-col", "nope"), "sample", "'nope'")
    assert_refused(cli(capsys, "sample", scored, "-o", scored), "sample", "is the input file")
    assert_refused(cli(capsys, "sample", SAMPLE, "-o", out), "sample", "tonecls_status")
    assert not out.exists()
    assert cli(capsys, "sample", scored, "-o", out, "-n", "5")[0] == 0
    assert_refused(cli(capsys, "sample", scored, "-o", out, "-n", "5"), "sample", "--overwrite")


def test_prevalence_labels_that_do_not_match_are_refused(tmp_path, scored, capsys):
    cases = {
        "id,label\np0001,Positive\n": "not classes of head 'sentiment': 'Positive'",
        "id,label\n1,positive\n": "not in the scored file: '1'",
        "id,label\np0001,positive\np0001,negative\n": "repeats id(s) 'p0001'",
        "id,label\n,positive\n": "have no 'id'",
        "post,label\np0001,positive\n": "no column(s) ['id']",
    }
    for n, (text, said) in enumerate(cases.items()):
        labels = tmp_path / f"labels{n}.csv"
        labels.write_text(text, encoding="utf-8")
        assert_refused(cli(capsys, "prevalence", scored, "-o", tmp_path / "rep" / f"p{n}", "--head", "sentiment",
                           "--labels", labels), "prevalence", said)
    assert not (tmp_path / "rep").exists() or not list((tmp_path / "rep").iterdir())


def test_prevalence_labels_with_stray_spaces_are_read_as_their_class(tmp_path, scored, capsys):
    sample = pd.read_csv(scored, dtype=str, keep_default_na=False).query("tonecls_status == 'ok'").head(40)
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"id": sample["id"].map(lambda i: f" {i}"),
                  "label": sample["sentiment"].map(lambda v: f"{v} ")}).to_csv(labels, index=False)
    code, _, err = cli(capsys, "prevalence", scored, "-o", tmp_path / "rep" / "p", "--head", "sentiment",
                       "--labels", labels)
    assert code == 0 and "Traceback" not in err
    report = json.loads((tmp_path / "rep" / "p.json").read_text(encoding="utf-8"))
    assert report["data"]["n_labelled"] == 40  # every label joined to its post and read as its class


def test_audit_and_calibrate_wrong_labels_heads_and_options(tmp_path, scored, capsys):
    rep = tmp_path / "rep"
    audit = ["audit", scored, "-o", rep / "a", "--n-bootstrap", "20"]
    assert_refused(cli(capsys, *audit, "--head", "sentiment", "--group-col", "region", "--label-col", "emotion"),
                   "audit", "not classes of the head")
    assert_refused(cli(capsys, *audit, "--head", "sentiment", "--group-col", "region", "--group-col", "region"),
                   "audit", "repeat")
    assert_refused(cli(capsys, *audit, "--head", "sentiment", "--group-col", "tonecls_status"), "audit",
                   "single group")
    assert_refused(cli(capsys, *audit, "--head", "sentiment", "--group-col", "region", "--ratio-bounds", "2", "1"),
                   "audit", "ratio_bounds")
    calibrate = ["calibrate", scored, "-o", tmp_path / "cal", "--head", "sentiment"]
    assert_refused(cli(capsys, *calibrate, "--label-col", "emotion"), "calibrate", "not classes of the head")
    assert_refused(cli(capsys, *calibrate, "--label-col", "sentiment", "--folds", "1"), "calibrate", "folds")
    assert_refused(cli(capsys, *calibrate[:3], scored, "--head", "sentiment", "--label-col", "sentiment"),
                   "calibrate", "not a tonecls model bundle")
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("id,text,label\n1,love it,positive\n2,hate it,negative\n", encoding="utf-8")
    assert_refused(cli(capsys, "calibrate", tiny, "-o", tmp_path / "cal", "--head", "sentiment", "--label-col",
                       "label"), "calibrate", "at least 50")
    assert not rep.exists() and not (tmp_path / "cal").exists()


def test_scoring_a_scored_file_and_clashing_token_column_are_refused(tmp_path, scored, capsys):
    assert_refused(cli(capsys, "score", scored, "-o", tmp_path / "again.csv"), "score", "already scored")
    assert_refused(cli(capsys, "preprocess", scored, "-o", tmp_path / "t.csv", "--tokens-col", "text"),
                   "preprocess", "already has a column 'text'")
    assert_refused(cli(capsys, "preprocess", scored, "-o", tmp_path / "t.csv", "--config", scored), "preprocess",
                   "cannot read the preprocessing config")
    assert not list(tmp_path.glob("again.csv*")) and not list(tmp_path.glob("t.csv*"))


def test_csv_rows_with_too_few_or_too_many_fields_are_flagged_in_place(tmp_path, capsys):
    src = tmp_path / "fields.csv"
    src.write_text("id,text,group\n1,love it\n2,hate it,b\n3\n4,a,b,c\n", encoding="utf-8")
    out = tmp_path / "fields_out.csv"
    code, printed, _ = cli(capsys, "score", src, "-o", out, "-q", "--id-col", "id")
    assert code == 0 and "malformed input lines (flagged): 2, 4, 5" in printed
    rows = csv_rows(out)[1:]
    assert [(r[0], r[3]) for r in rows] == [("1", "malformed_line"), ("2", "ok"), ("3", "malformed_line"),
                                          ("4", "malformed_line")]


def test_gzip_of_several_members_is_read_whole_and_trailing_garbage_is_refused(tmp_path, capsys):
    import gzip

    data = gzip.compress(b"id,text\n1,love it\n") + gzip.compress(b"2,hate it\n")
    (tmp_path / "multi.csv.gz").write_bytes(data)
    out = tmp_path / "multi_out.csv"
    assert cli(capsys, "score", tmp_path / "multi.csv.gz", "-o", out, "-q")[0] == 0
    assert [r[:2] for r in csv_rows(out)[1:]] == [["1", "love it"], ["2", "hate it"]]
    (tmp_path / "trail.csv.gz").write_bytes(data + b"garbage!!")
    assert_refused(cli(capsys, "score", tmp_path / "trail.csv.gz", "-o", tmp_path / "t.csv", "-q"), "score",
                   "truncated or corrupt")
    assert not list(tmp_path.glob("t.csv*"))


def test_a_latin1_byte_is_flagged_invalid_encoding_and_the_next_row_is_ok(tmp_path, capsys):
    src = tmp_path / "latin1.csv"
    src.write_bytes(b"id,text\n1,caf\xe9 latin1\n2,ok then\n")
    out = tmp_path / "latin1_out.csv"
    assert cli(capsys, "score", src, "-o", out, "-q")[0] == 0
    rows = csv_rows(out)[1:]
    assert [(r[0], r[2]) for r in rows] == [("1", "invalid_encoding"), ("2", "ok")]
    assert rows[0][3:] == [""] * (len(rows[0]) - 3)  # no language, no predictions
