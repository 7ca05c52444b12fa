"""The streaming runner (tonecls.io.runner): every row once, in order, whatever the chunks;
flags, counts and resuming tested once for both engines; paths and options checked before
any work; progress; operating-system errors."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pandas as pd
import pytest

from support import ENGINES, StandInModel, engine_options, tokenize_quietly, write_csv

from tonecls.errors import InputError
from tonecls.io import ExportWriter
from tonecls.io.job import ChunkJob
from tonecls.io.lock import lock_path
from tonecls.io.manifest import manifest_path
from tonecls.io.runner import JobFailed, run_file
from tonecls.jobs import score_file, tokenize_file
from tonecls.schema import STATUS_COLUMN


def _crash_then_resume(src: Path, out: Path, **options) -> tuple:
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_file(src, out, model=StandInModel(crash_on="boom"), **options)
    assert not out.exists() and manifest_path(out).exists() and not lock_path(out).exists()
    return score_file(src, out, model=StandInModel(), resume=True, **options)


# --- both engines, one set of tests ----------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_every_row_once_with_flags_and_counts_on_either_engine(tmp_path, engine, request):
    src = write_csv(tmp_path / "posts.csv", n=200, bad_lines=True)
    out = tmp_path / "scored.parquet"
    summary = score_file(src, out, model=StandInModel(), id_col="id", **engine_options(engine, request))
    scored = pd.read_parquet(out)
    assert len(scored) == summary.rows == 202
    assert summary.statuses == scored[STATUS_COLUMN].value_counts().to_dict()
    assert summary.malformed_lines == [6, 11]
    reference = tmp_path / "reference.parquet"  # the same rows, values and types in one chunk
    score_file(src, reference, model=StandInModel(), chunksize=1000)
    pd.testing.assert_frame_equal(scored, pd.read_parquet(reference))


@pytest.mark.parametrize("engine", ENGINES)
def test_resume_after_a_crash_continues_exactly_on_either_engine(tmp_path, engine, request):
    src = write_csv(tmp_path / "posts.csv", n=300, boom_at=250, multiline=False)
    options = engine_options(engine, request)
    summary = _crash_then_resume(src, tmp_path / "scored.parquet", **options)
    reference = tmp_path / "reference.parquet"
    expected = score_file(src, reference, model=StandInModel(), chunksize=1000)
    assert 0 < summary.resumed_from_row < summary.rows == 300
    assert summary.statuses == expected.statuses
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "scored.parquet"), pd.read_parquet(reference))
    assert not manifest_path(tmp_path / "scored.parquet").exists()


# --- operating-system errors -----------------------------------------------------------------


def test_a_full_disk_is_a_clear_error_and_resume_continues_once_fixed(tmp_path, monkeypatch, capsys):
    from tonecls.cli import main
    from tonecls.io.writing import ExportWriter

    src = write_csv(tmp_path / "posts.csv", n=200)
    out = tmp_path / "tokens.csv"
    write = ExportWriter.write
    calls = []

    def full_after_two(self, chunk):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.partial))
        return write(self, chunk)

    monkeypatch.setattr(ExportWriter, "write", full_after_two)
    assert main(["preprocess", str(src), "-o", str(out), "--chunksize", "50", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "--resume" in err and "Traceback" not in err
    assert not out.exists() and manifest_path(out).exists()
    monkeypatch.setattr(ExportWriter, "write", write)
    summary = tokenize_file(src, out, chunksize=50, resume=True, quiet=True)
    reference = tmp_path / "reference.csv"
    tokenize_file(src, reference, chunksize=50, quiet=True)
    assert summary.resumed_from_row == 100 and out.read_bytes() == reference.read_bytes()


def test_an_os_error_keeps_the_completed_chunks(tmp_path, monkeypatch):
    from tonecls.io.writing import ExportWriter

    src = write_csv(tmp_path / "posts.csv", n=100)
    out = tmp_path / "tokens.csv"
    monkeypatch.setattr(ExportWriter, "write", lambda self, chunk: (_ for _ in ()).throw(
        PermissionError(errno.EACCES, "Permission denied", str(self.partial))))
    with pytest.raises(JobFailed, match="Permission denied"):
        tokenize_file(src, out, chunksize=50, quiet=True)
    assert not out.exists() and not lock_path(out).exists()


# --- chunks, flags, progress and resume (local engine) ---------------------------------------


@pytest.mark.parametrize("chunksize", [1, 7, 64, 10_000])
def test_chunk_boundaries_do_not_change_the_output(tmp_path, chunksize):
    src = write_csv(tmp_path / "posts.csv", n=100, bad_lines=True)
    out = tmp_path / "scored.parquet"
    score_file(src, out, model=StandInModel(), chunksize=chunksize)
    reference = tmp_path / "reference.parquet"
    score_file(src, reference, model=StandInModel(), chunksize=100_000)
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(reference))


def test_progress_bar_shows_rows_and_rate(tmp_path, capsys, monkeypatch):
    import tonecls.io.runner

    src = write_csv(tmp_path / "posts.csv", n=50)
    monkeypatch.setattr(tonecls.io.runner, "interactive", lambda: True)  # as on a terminal
    score_file(src, tmp_path / "scored.csv", model=StandInModel(), chunksize=10)
    err = capsys.readouterr().err
    assert "scoring: 100%" in err and "50.0/50.0" in err and "posts/s" in err
    score_file(src, tmp_path / "quiet.csv", model=StandInModel(), chunksize=10, quiet=True)
    assert capsys.readouterr().err == ""


def test_score_file_flags_malformed_lines_with_their_line_numbers(tmp_path):
    src = write_csv(tmp_path / "posts.csv", n=30, bad_lines=True)
    out = tmp_path / "scored.csv"
    summary = score_file(src, out, model=StandInModel(), chunksize=8)
    scored = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert summary.rows == len(scored) == 32
    assert summary.flagged["malformed_line"] == 2
    assert summary.malformed_lines == [6, 11]  # row 4 spans two lines
    bad = scored[scored[STATUS_COLUMN] == "malformed_line"]
    assert bad.index.tolist() == [4, 8]  # in place, between their neighbours
    assert bad["id"].tolist() == ["9999", "1234"]  # id and raw text kept, nothing scored
    assert bad["text"].tolist() == ["too,many", '"unterminated']
    assert (bad["sentiment_label"] == "").all()
    assert "malformed input lines (flagged): 6, 11" in str(summary)


@pytest.mark.parametrize("chunksize", [2, 1000])  # error in a later chunk / the first one
def test_score_file_on_bad_lines_error_stops_with_the_line(tmp_path, chunksize):
    src = write_csv(tmp_path / "posts.csv", n=30, bad_lines=True)
    with pytest.raises(InputError, match="line 6"):
        score_file(src, tmp_path / "scored.csv", model=StandInModel(), on_bad_lines="error",
                   chunksize=chunksize)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["posts.csv"]  # nothing left behind


@pytest.mark.parametrize("suffix", [".parquet", ".csv.gz"])
def test_resume_after_a_crash_gives_the_same_file(tmp_path, suffix):
    src = write_csv(tmp_path / "posts.csv", n=250, boom_at=100)  # crash in the 4th chunk
    reference = tmp_path / f"reference{suffix}"
    score_file(src, reference, model=StandInModel(), chunksize=32)

    out = tmp_path / f"scored{suffix}"
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_file(src, out, model=StandInModel(crash_on="boom"), chunksize=32)
    assert not out.exists() and manifest_path(out).exists()
    state = json.loads(manifest_path(out).read_text())
    assert len(state["units"]) == 3 and sum(u["rows"] for u in state["units"].values()) == 96

    model = StandInModel()
    summary = score_file(src, out, model=model, chunksize=32, resume=True)
    assert sorted(model.batches) == [26, 32, 32, 32, 32]  # only the 5 remaining chunks
    assert summary.resumed_from_row == 96 and summary.rows == 250
    assert summary.statuses == score_file(src, tmp_path / f"again{suffix}",
                                          model=StandInModel(), chunksize=32).statuses
    assert out.read_bytes() == reference.read_bytes()
    assert not manifest_path(out).exists()


def test_resume_without_a_partial_starts_from_the_beginning(tmp_path):
    src = write_csv(tmp_path / "posts.csv", n=20)
    summary = score_file(src, tmp_path / "scored.csv", model=StandInModel(), resume=True)
    assert summary.rows == 20 and summary.resumed_from_row == 0


def test_duplicate_ids_are_counted(tmp_path):
    src = tmp_path / "posts.csv"
    src.write_text("id,text\n1,a\n2,b\n1,c\n3,d\n2,e\n", encoding="utf-8")
    summary = score_file(src, tmp_path / "o.csv", model=StandInModel(), id_col="id", chunksize=2)
    assert summary.duplicate_ids == 2
    assert "2 rows repeat an id" in str(summary)


def test_ids_of_different_types_differ_and_missing_ids_are_not_duplicates(tmp_path):
    src = tmp_path / "posts.jsonl"
    ids = [1, "1", 1.0, None, None, "", "", [1], [1], 2**70, 2**70, "a", "a"]
    src.write_text("".join(json.dumps({"id": i, "text": "post"}) + "\n" for i in ids), encoding="utf-8")
    summary = score_file(src, tmp_path / "o.jsonl", model=StandInModel(), id_col="id", chunksize=3)
    assert summary.duplicate_ids == 3  # [1], 2**70 and "a" repeat; 1, "1" and 1.0 are three ids
    assert summary.missing_ids == 4
    assert "4 rows have no id" in str(summary)


# --- paths and options, before any work ------------------------------------------------------


def test_bad_worker_counts_are_refused(tmp_path):
    src = write_csv(tmp_path / "posts.csv", n=10)
    for workers in (0, -1, 1.5, True):
        with pytest.raises(InputError, match="workers must be a positive number"):
            score_file(src, tmp_path / "out.csv", model=StandInModel(), workers=workers)


def test_bad_paths_are_refused_before_anything_is_written(tmp_path):
    src = tmp_path / "posts.csv"
    src.write_text("id,text\n1,a\n", encoding="utf-8")
    with pytest.raises(InputError, match="is the input file"):
        tokenize_quietly(src, src)
    folder = tmp_path / "out.csv"
    folder.mkdir()
    with pytest.raises(InputError, match="existing directory"):
        tokenize_quietly(src, folder)
    file_as_dir = tmp_path / "plain.txt"
    file_as_dir.write_text("x")
    with pytest.raises(InputError, match="is a file, not a directory"):
        tokenize_quietly(src, file_as_dir / "out.csv")
    with pytest.raises(InputError, match="cannot create files"):  # read-only, even for root
        tokenize_quietly(src, Path("/proc/tonecls-out.csv"))
    with pytest.raises(InputError, match="does not exist"):
        tokenize_quietly(tmp_path / "missing.csv", tmp_path / "o.csv")
    with pytest.raises(InputError, match="holds no export files"):  # a folder of parts, empty
        tokenize_quietly(folder, tmp_path / "o.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "plain.txt", "posts.csv"]


def test_a_partial_file_tonecls_did_not_write_is_refused_and_kept(tmp_path):
    src = tmp_path / "posts.csv"
    src.write_text("id,text\n1,a\n", encoding="utf-8")
    mine = tmp_path / "out.csv.partial"
    mine.write_text("the user's own file")
    for resume in (False, True):
        with pytest.raises(InputError, match="not written by tonecls"):
            tokenize_quietly(src, tmp_path / "out.csv", resume=resume)
    assert mine.read_text() == "the user's own file"
    with pytest.raises(InputError, match="not written by tonecls"):
        ExportWriter(tmp_path / "out.csv")
    assert mine.read_text() == "the user's own file"


def test_bad_options_fail_before_reading(tmp_path):
    from tonecls.io.dask_engine import parse_blocksize

    src = tmp_path / "posts.csv"
    src.write_text("id,text\n1,a\n", encoding="utf-8")
    with pytest.raises(InputError, match="chunksize"):
        tokenize_quietly(src, tmp_path / "o.csv", chunksize=0)
    with pytest.raises(InputError, match="on_bad_lines"):
        tokenize_quietly(src, tmp_path / "o.csv", on_bad_lines="skip")
    with pytest.raises(InputError, match="'abc' is not a size"):
        parse_blocksize("abc")
    assert parse_blocksize("16MB") == 16_000_000 and parse_blocksize("none") is None
    assert parse_blocksize(2048) == 2048


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


def test_a_parquet_input_failing_mid_read_keeps_the_completed_chunks(tmp_path, monkeypatch):
    """An I/O error reading a Parquet input is ReadFailed (as for the text formats): the
    completed chunks stay, and --resume finishes the job once the file reads again."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tonecls.io.reading import ReadFailed

    src, out = tmp_path / "in.parquet", tmp_path / "out.csv"
    frame = pd.DataFrame({"id": range(60), "text": [f"post number {i}" for i in range(60)]})
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), src, row_group_size=10)
    real = pq.ParquetFile.iter_batches

    def failing(self, *args, **kwargs):
        for number, batch in enumerate(real(self, *args, **kwargs)):
            if number == 3:
                raise OSError(errno.EIO, "Input/output error")
            yield batch

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", failing)
    with pytest.raises(ReadFailed, match="--resume"):
        tokenize_quietly(src, out, chunksize=10)
    assert manifest_path(out).exists()
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", real)
    tokenize_quietly(src, out, chunksize=10, resume=True)
    assert pd.read_csv(out)["id"].tolist() == list(range(60))
