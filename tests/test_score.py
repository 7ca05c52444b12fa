"""Tests of batch scoring (tonecls.score): lossless, ordered, resumable, local and Dask."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support import WORDS, StandInModel, write_csv

from tonecls.errors import InputError
from tonecls.io.job import ChunkJob
from tonecls.schema import LANGUAGE_COLUMN, N_TOKENS_COLUMN, STATUS_COLUMN
from tonecls.jobs import score_file
from tonecls.score import score_frame
from tonecls.io.manifest import manifest_path


POSTS = pd.DataFrame({
    "id": ["007", "2", "3", "4", "5", "6"],
    "text": ["I love this :)", "", None, "worst day ever @bob", 42, "   "],
    "group": ["a", "b", "a", "b", "a", "b"],
})


# --- score_frame ---------------------------------------------------------------------------


def test_score_frame_keeps_input_columns_and_adds_contract_columns():
    model = StandInModel()
    scored = score_frame(POSTS, model, text_col="text")
    assert list(scored.columns) == list(POSTS.columns) + model.output_columns()
    assert model.output_columns()[:7] == [STATUS_COLUMN, LANGUAGE_COLUMN, N_TOKENS_COLUMN, "sentiment_label",
                                          "sentiment_confidence", "sentiment_polarity", "sentiment_p_negative"]
    pd.testing.assert_frame_equal(scored[POSTS.columns], POSTS)
    assert scored[STATUS_COLUMN].tolist() == ["ok", "empty", "missing", "ok", "not_text", "empty"]
    ok = scored[STATUS_COLUMN] == "ok"
    assert scored.loc[ok, "sentiment_label"].notna().all()
    assert scored.loc[~ok, ["sentiment_label", "topics_labels"]].isna().all().all()
    assert scored.loc[~ok, "sentiment_p_positive"].isna().all()
    np.testing.assert_allclose(
        scored.loc[ok, ["sentiment_p_negative", "sentiment_p_neutral", "sentiment_p_positive"]]
        .sum(axis=1),
        1.0, rtol=1e-6,
    )


def test_score_frame_keeps_a_non_default_index():
    df = POSTS.set_index("id")
    scored = score_frame(df, StandInModel())
    assert scored.index.equals(df.index)


def test_score_frame_flags_unreadable_rows_without_scoring_them():
    read_status = ["malformed_line", "ok", "ok", "invalid_encoding", "ok", "ok"]
    scored = score_frame(POSTS, StandInModel(), read_status=read_status)
    assert scored[STATUS_COLUMN].tolist() == [
        "malformed_line", "empty", "missing", "invalid_encoding", "not_text", "empty"]
    assert scored["sentiment_label"].isna().all()


def test_score_frame_same_dtypes_when_nothing_can_be_scored():
    model = StandInModel()
    all_bad = score_frame(POSTS.iloc[[1, 2]], model)
    some_ok = score_frame(POSTS, model)
    assert all_bad.dtypes.equals(some_ok.dtypes)


def test_score_frame_rejects_missing_text_column_and_already_scored_input():
    model = StandInModel()
    with pytest.raises(InputError, match="text column 'body' not found"):
        score_frame(POSTS, model, text_col="body")
    scored = score_frame(POSTS, model)
    with pytest.raises(InputError, match="already scored"):
        score_frame(scored, model)
    with pytest.raises(InputError, match="DataFrame"):
        score_frame(POSTS["text"], model)


# --- score_file, local engine ---------------------------------------------------------------


def test_score_file_keeps_every_row_in_order_with_statuses(tmp_path):
    src = write_csv(tmp_path / "posts.csv")
    out = tmp_path / "scored.parquet"
    summary = score_file(src, out, model=StandInModel(), id_col="id", chunksize=64)
    scored = pd.read_parquet(out)
    expected = pd.read_csv(src, dtype=str, keep_default_na=False)
    assert len(scored) == summary.rows == 250
    assert scored["id"].tolist() == expected["id"].tolist()
    assert scored["text"].tolist() == expected["text"].tolist()
    assert summary.statuses == scored[STATUS_COLUMN].value_counts().to_dict()
    assert summary.ok == (scored[STATUS_COLUMN] == "ok").sum()
    assert summary.flagged == {"empty": 42}
    assert summary.duplicate_ids == 0
    assert not Path(f"{out}.partial").exists() and not manifest_path(out).exists()
    # same values as scoring the whole frame in memory
    in_memory = score_frame(expected, StandInModel())
    pd.testing.assert_frame_equal(scored, in_memory, check_dtype=False)


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


@pytest.mark.parametrize("suffix", [".csv", ".tsv.gz", ".jsonl", ".parquet"])
def test_score_file_output_formats_round_trip(tmp_path, suffix):
    src = write_csv(tmp_path / "posts.csv", n=40)
    out = tmp_path / f"scored{suffix}"
    score_file(src, out, model=StandInModel(), chunksize=16)
    from tonecls.io import read_export

    back = pd.concat(list(read_export(out, chunksize=1000)))
    assert back["id"].tolist() == [f"{i:04d}" for i in range(40)]
    assert list(back.columns[:4]) == ["id", "text", "group", STATUS_COLUMN]
    assert "sentiment_p_positive" in back.columns


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


def test_resume_refuses_changed_options_or_input(tmp_path):
    src = write_csv(tmp_path / "posts.csv", n=100, boom_at=40)
    out = tmp_path / "scored.csv"
    with pytest.raises(RuntimeError):
        score_file(src, out, model=StandInModel(crash_on="boom"), chunksize=32)
    with pytest.raises(InputError, match="options differ.*chunksize: 32 -> 16"):
        score_file(src, out, model=StandInModel(), chunksize=16, resume=True)
    # an edit inside the rows already written, same size and modification time: refused
    stat = src.stat()
    edited = src.read_bytes().replace(b"0002,so sad", b"0002,so mad", 1)
    assert len(edited) == stat.st_size and edited != src.read_bytes()
    src.write_bytes(edited)
    os.utime(src, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(InputError, match="input file changed"):
        score_file(src, out, model=StandInModel(), chunksize=32, resume=True)
    assert manifest_path(out).exists()  # refused, not discarded: the input may be restored
    # without --resume the job starts over
    assert score_file(src, out, model=StandInModel(), chunksize=32).rows == 100


def test_resume_continues_when_only_rows_not_yet_written_changed(tmp_path):
    src = write_csv(tmp_path / "posts.csv", n=100, boom_at=40)
    out = tmp_path / "scored.csv"
    with pytest.raises(RuntimeError):
        score_file(src, out, model=StandInModel(crash_on="boom"), chunksize=32)
    write_csv(src, n=101)  # row 40 fixed and a row appended, the first 32 rows unchanged
    summary = score_file(src, out, model=StandInModel(), chunksize=32, resume=True)
    assert summary.resumed_from_row == 32 and summary.rows == 101
    fresh = tmp_path / "fresh.csv"
    score_file(src, fresh, model=StandInModel(), chunksize=32)
    assert out.read_bytes() == fresh.read_bytes()


def test_resume_without_a_partial_starts_from_the_beginning(tmp_path):
    src = write_csv(tmp_path / "posts.csv", n=20)
    summary = score_file(src, tmp_path / "scored.csv", model=StandInModel(), resume=True)
    assert summary.rows == 20 and summary.resumed_from_row == 0


def test_bad_arguments_give_clear_errors(tmp_path):
    src = write_csv(tmp_path / "posts.csv", n=10)
    model = StandInModel()
    with pytest.raises(InputError, match="no column.*'post_id'"):
        score_file(src, tmp_path / "o.csv", model=model, id_col="post_id")
    assert not list(tmp_path.glob("o.csv*"))
    with pytest.raises(InputError, match="no column.*'body'"):
        score_file(src, tmp_path / "o.csv", model=model, text_col="body")
    with pytest.raises(InputError, match="does not exist"):
        score_file(tmp_path / "nope.csv", tmp_path / "o.csv", model=model)
    with pytest.raises(InputError, match="extension"):
        score_file(src, tmp_path / "o.xlsx", model=model)
    with pytest.raises(InputError, match="output path .* is the input file"):
        score_file(src, src, model=model)
    with pytest.raises(InputError, match="engine"):
        score_file(src, tmp_path / "o.csv", model=model, engine="spark")
    with pytest.raises(InputError, match="chunksize"):
        score_file(src, tmp_path / "o.csv", model=model, chunksize=0)
    with pytest.raises(InputError, match="needs engine='dask'"):
        score_file(src, tmp_path / "o.csv", model=model, scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(InputError, match="writes a directory of Parquet"):
        score_file(src, tmp_path / "o.csv", model=model, engine="dask", on_bad_lines="error")
    scored = tmp_path / "scored.csv"
    score_file(src, scored, model=model)
    with pytest.raises(InputError, match="already scored"):
        score_file(scored, tmp_path / "twice.csv", model=model)


def test_duplicate_ids_are_counted(tmp_path):
    src = tmp_path / "posts.csv"
    src.write_text("id,text\n1,a\n2,b\n1,c\n3,d\n2,e\n", encoding="utf-8")
    summary = score_file(src, tmp_path / "o.csv", model=StandInModel(), id_col="id", chunksize=2)
    assert summary.duplicate_ids == 2
    assert "2 rows repeat an id" in str(summary)


# --- dask engine ------------------------------------------------------------------------------


def test_dask_engine_output_equals_local_engine_row_for_row(tmp_path, dask_scheduler):
    src = write_csv(tmp_path / "posts.csv", n=3000, multiline=False)
    local = tmp_path / "local.parquet"
    score_file(src, local, model=StandInModel(), chunksize=500)
    distributed_out = tmp_path / "dask.parquet"
    summary = score_file(src, distributed_out, model=StandInModel(), engine="dask",
                         scheduler=dask_scheduler, blocksize=8_000, id_col="id")
    parts = sorted(p.name for p in distributed_out.iterdir())
    assert len(parts) > 3 and parts[0] == "part-00000.parquet"  # several partitions
    expected = pd.read_parquet(local)
    got = pd.read_parquet(distributed_out)
    pd.testing.assert_frame_equal(got, expected)
    assert summary.rows == 3000
    assert summary.statuses == expected[STATUS_COLUMN].value_counts().to_dict()


def test_dask_engine_keeps_json_types_like_the_local_engine(tmp_path, dask_scheduler):
    src = tmp_path / "posts.jsonl"
    records = [{"id": f"{i:03d}", "text": ["love it", None, "007", "", "hate it"][i % 5],
                "likes": i if i % 3 else None, "flag": [True, False][i % 2]} for i in range(200)]
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    local, distributed_out = tmp_path / "local.parquet", tmp_path / "dask.parquet"
    score_file(src, local, model=StandInModel(), chunksize=64)
    score_file(src, distributed_out, model=StandInModel(), engine="dask",
               scheduler=dask_scheduler, blocksize=2_000)
    got, expected = pd.read_parquet(distributed_out), pd.read_parquet(local)
    assert got["id"].iloc[7] == "007" and got["text"].iloc[2] == "007"
    assert got[STATUS_COLUMN].value_counts()["missing"] == 40
    pd.testing.assert_frame_equal(got, expected)


def test_dask_engine_flags_malformed_lines_and_reads_line_breaks_like_the_local_engine(
        tmp_path, dask_scheduler):
    src = write_csv(tmp_path / "posts.csv", n=600, bad_lines=True)  # quoted line breaks too
    local, out = tmp_path / "local.parquet", tmp_path / "scored.parquet"
    reference = score_file(src, local, model=StandInModel(), chunksize=100)
    summary = score_file(src, out, model=StandInModel(), engine="dask", scheduler=dask_scheduler,
                         blocksize=2_000)
    assert len(list(out.iterdir())) > 3  # several blocks, split wherever the reader was
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(local))
    assert summary.malformed_lines == reference.malformed_lines == [6, 11]
    assert summary.statuses == reference.statuses
    one = tmp_path / "one.parquet"
    assert score_file(src, one, blocksize=None, model=StandInModel(), engine="dask",
                      scheduler=dask_scheduler).rows == 602
    assert len(list(one.iterdir())) == 1


def test_dask_engine_refuses_an_output_folder_holding_the_input(tmp_path, dask_scheduler):
    folder = tmp_path / "scored.parquet"
    folder.mkdir()
    src = write_csv(folder / "posts.csv", n=10)
    with pytest.raises(InputError, match="inside the output directory"):
        score_file(src, folder, model=StandInModel(), engine="dask", scheduler=dask_scheduler)
    assert src.exists() and sorted(p.name for p in folder.iterdir()) == ["posts.csv"]
    other = tmp_path / "other.parquet"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="did not write"):
        score_file(src, other, model=StandInModel(), engine="dask", scheduler=dask_scheduler)
    assert (other / "notes.txt").read_text() == "mine"


def test_dask_engine_resumes_only_missing_parts(tmp_path, dask_scheduler):
    src = write_csv(tmp_path / "posts.csv", n=1500, multiline=False)
    with open(src, "a", encoding="utf-8") as f:
        f.write("9999,boom,a\n")  # the stand-in model crashes on this post (last partition)
    out = tmp_path / "scored.parquet"
    options = dict(engine="dask", scheduler=dask_scheduler, blocksize=6_000)
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_file(src, out, model=StandInModel(crash_on="boom"), **options)
    assert not out.exists()
    done = json.loads(manifest_path(out).read_text())["units"]
    assert done  # partitions finished before the crash are kept

    summary = score_file(src, out, model=StandInModel(), resume=True, **options)
    assert 0 < summary.resumed_from_row < summary.rows == 1501
    reference = tmp_path / "reference.parquet"
    score_file(src, reference, model=StandInModel(), chunksize=300)
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(reference))
    assert not manifest_path(out).exists() and not Path(f"{out}.partial").exists()


# --- with a real (tiny) tone model (the session's tiny_bundle, conftest.py) --------------------


def test_real_model_scores_the_malformed_fixture_losslessly(tmp_path, tiny_bundle):
    src = Path(__file__).parent / "fixtures" / "malformed_posts.csv"
    out = tmp_path / "scored.jsonl"
    summary = score_file(src, out, model=tiny_bundle, id_col="id", chunksize=3)
    from tonecls.io import read_export

    original = pd.concat(list(read_export(src, id_col="id")))
    scored = pd.concat(list(read_export(out)))
    assert len(scored) == len(original) == summary.rows
    assert scored["id"].tolist() == original["id"].tolist()
    expected_status = np.where(original["_tonecls_read_status"] != "ok",
                               original["_tonecls_read_status"], scored[STATUS_COLUMN])
    assert scored[STATUS_COLUMN].tolist() == expected_status.tolist()
    assert set(summary.flagged) >= {"malformed_line"}
    ok = scored[STATUS_COLUMN] == "ok"
    assert scored.loc[ok, "tone_label"].isin(list(WORDS)).all()
    assert scored.loc[~ok, "tone_label"].isna().all()


def test_real_model_on_a_local_process_cluster_matches_local_engine(tmp_path, tiny_bundle):
    """engine="dask" without a scheduler: a LocalCluster of 2 worker processes; a model
    object (already used, so not picklable) reaches the workers as a saved bundle."""
    from tonecls.model import load_model

    model = load_model(tiny_bundle)
    src = write_csv(tmp_path / "posts.csv", n=2000, multiline=False)
    local = tmp_path / "local.parquet"
    score_file(src, local, model=model, chunksize=700)
    out = tmp_path / "dask.parquet"
    summary = score_file(src, out, model=model, engine="dask", workers=2, blocksize=10_000)
    assert not Path(f"{out}.partial.model").exists()
    assert len(list(out.iterdir())) > 1
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(local))
    assert summary.rows == 2000


def test_cli_score_prints_a_summary_and_reports_bad_input_cleanly(tmp_path, tiny_bundle, capsys):
    from tonecls.cli import main

    src = write_csv(tmp_path / "posts.csv", n=50, bad_lines=True)
    out = tmp_path / "scored.csv.gz"
    code = main(["score", str(src), "-o", str(out), "--model", str(tiny_bundle), "--id-col", "id",
                 "--chunksize", "16", "--quiet"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "scored 52 rows" in printed.out and "2 malformed_line" in printed.out
    assert "malformed input lines (flagged): 6, 11" in printed.out
    with gzip.open(out, "rt", encoding="utf-8") as f:
        assert len(pd.read_csv(f, dtype=str, keep_default_na=False)) == 52

    code = main(["score", str(src), "-o", str(tmp_path / "x.csv"), "--model", str(tiny_bundle),
                 "--on-bad-lines", "error", "--quiet"])
    assert code == 2
    assert "line 6" in capsys.readouterr().err


# --- more local-engine cases -------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl.gz", ".tsv"])
def test_score_file_reads_every_input_format(tmp_path, suffix):
    posts = pd.DataFrame({"id": ["007", "8", "9"], "text": ["love it", "", "hate it"]})
    src = tmp_path / f"posts{suffix}"
    from tonecls.io import ExportWriter

    with ExportWriter(src) as writer:
        writer.write(posts)
    summary = score_file(src, tmp_path / "scored.csv", model=StandInModel())
    scored = pd.read_csv(tmp_path / "scored.csv", dtype=str, keep_default_na=False)
    assert scored["id"].tolist() == ["007", "8", "9"]
    assert summary.statuses == {"ok": 2, "empty": 1}


def test_an_export_without_rows_gives_an_output_with_the_columns(tmp_path):
    src = tmp_path / "posts.csv"
    src.write_text("id,text\n", encoding="utf-8")
    model = StandInModel()
    summary = score_file(src, tmp_path / "scored.csv", model=model)
    header = (tmp_path / "scored.csv").read_text().splitlines()
    assert summary.rows == 0
    assert header == [",".join(["id", "text", *model.output_columns()])]


def test_score_frame_with_the_default_model_in_a_notebook():
    from tonecls.model.bundle import DEFAULT_BUNDLE

    if not (DEFAULT_BUNDLE / "bundle.json").exists():
        pytest.skip("the default model bundle is not in tonecls/resources/default_model")
    posts = pd.DataFrame({"text": ["I love this so much!", "this is awful :(", None, "   "]})
    scored = score_frame(posts)
    assert scored[STATUS_COLUMN].tolist() == ["ok", "ok", "missing", "empty"]
    for head in ("sentiment", "emotion", "ekman"):
        assert any(c.startswith(f"{head}_p_") for c in scored.columns)
    assert scored.loc[0, "sentiment_label"] == "positive"
    assert scored.loc[1, "sentiment_label"] == "negative"


def test_resume_after_a_crash_between_writing_a_chunk_and_recording_it(tmp_path, monkeypatch):
    """A chunk is recorded in the manifest after the writer appends it: a crash right after the
    append must neither lose nor double-count that chunk (resume drops the unrecorded bytes)."""
    from tonecls.io.manifest import ResumeManifest

    src = write_csv(tmp_path / "posts.csv", n=100)
    reference = score_file(src, tmp_path / "reference.csv", model=StandInModel(), chunksize=32)
    record = ResumeManifest.record
    calls = []

    def crash_on_second_record(self, index, unit):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # chunk 2 is in the partial output, the manifest lags
        record(self, index, unit)

    out = tmp_path / "scored.csv"
    monkeypatch.setattr(ResumeManifest, "record", crash_on_second_record)
    with pytest.raises(KeyboardInterrupt):
        score_file(src, out, model=StandInModel(), chunksize=32)
    monkeypatch.setattr(ResumeManifest, "record", record)
    summary = score_file(src, out, model=StandInModel(), chunksize=32, resume=True)
    assert summary.resumed_from_row == 32  # the unrecorded second chunk is written again
    assert summary.statuses == reference.statuses and summary.rows == 100
    assert out.read_bytes() == (tmp_path / "reference.csv").read_bytes()


# --- worker processes (tonecls.io.parallel) ---------------------------------------------------


@pytest.fixture
def parallel_small(monkeypatch):
    """Let small test inputs use worker processes, in parts of 20 rows."""
    import tonecls.io.parallel as parallel

    monkeypatch.setattr(parallel, "MIN_PARALLEL_ROWS", 1)
    monkeypatch.setattr(parallel, "PART_ROWS", 20)
    return parallel


class PidJob(ChunkJob):
    """Adds the id of the process that transformed each row."""

    writes_status = False

    def transform(self, chunk, read_status):
        return chunk.assign(pid=os.getpid(), read_status=read_status)


@pytest.mark.slow
def test_workers_transform_in_other_processes_in_input_order(tmp_path, parallel_small):
    from tonecls.io.runner import run_file

    src = write_csv(tmp_path / "posts.csv", n=250, bad_lines=True)
    run_file(src, tmp_path / "out.csv", PidJob(), text_col="text", chunksize=64, workers=2)
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert os.getpid() not in out["pid"].astype(int).tolist()
    assert 1 <= out["pid"].nunique() <= 2  # which worker takes which part is up to the scheduler
    one = tmp_path / "one.csv"
    run_file(src, one, PidJob(), text_col="text", chunksize=64, workers=1)
    single = pd.read_csv(one, dtype=str, keep_default_na=False)
    assert single["pid"].astype(int).eq(os.getpid()).all()
    pd.testing.assert_frame_equal(out.drop(columns="pid"), single.drop(columns="pid"))


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_workers_write_the_same_file_as_one_process(tmp_path, parallel_small, suffix):
    src = write_csv(tmp_path / "posts.csv", n=250, bad_lines=True)
    one, two = tmp_path / f"one{suffix}", tmp_path / f"two{suffix}"
    score_file(src, one, model=StandInModel(), chunksize=64, workers=1)
    summary = score_file(src, two, model=StandInModel(), chunksize=64, workers=2)
    assert two.read_bytes() == one.read_bytes()
    assert summary.rows == 252 and set(summary.flagged) == {"empty", "malformed_line"}


@pytest.mark.slow
def test_a_crash_in_a_worker_keeps_the_completed_chunks_for_resume(tmp_path, parallel_small):
    src = write_csv(tmp_path / "posts.csv", n=250, boom_at=100)
    reference = tmp_path / "reference.parquet"
    score_file(src, reference, model=StandInModel(), chunksize=32, workers=1)
    out = tmp_path / "scored.parquet"
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_file(src, out, model=StandInModel(crash_on="boom"), chunksize=32, workers=2)
    assert not out.exists()
    units = json.loads(manifest_path(out).read_text())["units"]
    assert sum(u["rows"] for u in units.values()) == 96  # chunks before the crash
    summary = score_file(src, out, model=StandInModel(), chunksize=32, resume=True, workers=2)
    assert summary.resumed_from_row == 96
    assert out.read_bytes() == reference.read_bytes()


@pytest.mark.slow
def test_a_script_without_a_main_guard_can_use_workers(tmp_path):
    """Worker processes must not re-run the caller's script (multiprocessing's spawn would)."""
    import subprocess
    import sys

    src = write_csv(tmp_path / "posts.csv", n=120)
    script = tmp_path / "job.py"
    script.write_text(
        "import tonecls.io.parallel as parallel\n"
        "from tonecls.jobs import tokenize_file\n"
        "parallel.MIN_PARALLEL_ROWS, parallel.PART_ROWS = 1, 25\n"
        f"print(tokenize_file({str(src)!r}, {str(tmp_path / 'two.csv')!r}, workers=2, chunksize=50, quiet=True).rows)\n",
        encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["120"] and done.stderr == ""
    from tonecls.jobs import tokenize_file

    tokenize_file(src, tmp_path / "one.csv", workers=1, chunksize=50)
    assert (tmp_path / "two.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()


def test_small_inputs_and_unpicklable_jobs_stay_in_this_process():
    import threading

    from tonecls.io.parallel import MIN_PARALLEL_ROWS, InProcessTransformer, transformer_for

    job = PidJob()
    assert isinstance(transformer_for(job, 100, 10_000, workers=4), InProcessTransformer)
    assert isinstance(transformer_for(job, MIN_PARALLEL_ROWS, 0, workers=1), InProcessTransformer)
    job.lock = threading.Lock()  # cannot be pickled
    assert isinstance(transformer_for(job, MIN_PARALLEL_ROWS, 0, workers=4), InProcessTransformer)


def test_scoring_workers_run_without_pandas_scipy_or_tensorflow():
    """A worker process unpickles the scoring job's task (the model's compute_logits) and runs it
    importing none of the heavy libraries: that is what keeps each worker light."""
    import pickle
    import subprocess
    import sys

    from tonecls.io.parallel import job_for_workers
    from tonecls.jobs.score import ScoreJob

    job = ScoreJob(None, "text")
    job.prepare()
    payload, split = job_for_workers(job)
    assert split
    code = ("import pickle, sys; from tonecls.io import parallel; parallel._install_job(sys.stdin.buffer.read()); "
            "scores = parallel._run_task(['I love this!', None, 'die Bahn hat schon wieder Verspätung']); "
            "print([str(s) for s in scores.statuses], scores.languages); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'pyarrow', 'scipy', 'sklearn', "
            "'tensorflow', 'keras', 'h5py', 'nltk'}))")
    done = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, check=True)
    statuses, heavy = done.stdout.decode().splitlines()
    assert statuses == "['ok', 'missing', 'other_language'] ['en', None, 'de']"
    assert heavy == "[]"


def test_scoring_workers_check_every_chunk_for_clashing_columns():
    """Workers score only the texts; this process still refuses a chunk (a JSONL key seen
    late) holding a column scoring would write, as score_frame does."""
    from tonecls.jobs.score import ScoreJob

    job = ScoreJob(None, "text")
    job.prepare()
    chunk = pd.DataFrame({"text": ["hi", "yo"], "tonecls_status": ["ok", "ok"]})
    with pytest.raises(InputError, match="already has column"):
        job.worker_input(chunk, np.array(["ok", "ok"], dtype=object))
    with pytest.raises(InputError, match="already has column"):
        job.transform(chunk, np.array(["ok", "ok"], dtype=object))


@pytest.mark.slow
def test_workers_use_the_models_own_protocol_methods(tmp_path, parallel_small):
    """Scoring goes through the ScoringModel protocol, in workers as in this process: a model
    that builds its rows its own way gets its own rows either way."""
    class Marked(StandInModel):
        def predictions_from_logits(self, logits):
            rows = super().predictions_from_logits(logits)
            rows["sentiment_label"] = "marked"
            return rows

    src = write_csv(tmp_path / "posts.csv", n=120)
    for workers in (1, 2):
        out = tmp_path / f"scored{workers}.csv"
        score_file(src, out, model=Marked(), chunksize=40, workers=workers)
        labels = pd.read_csv(out, keep_default_na=False)["sentiment_label"]
        assert set(labels) <= {"marked", ""}


def test_bad_worker_counts_are_refused(tmp_path):
    src = write_csv(tmp_path / "posts.csv", n=10)
    for workers in (0, -1, 1.5, True):
        with pytest.raises(InputError, match="workers must be a positive number"):
            score_file(src, tmp_path / "out.csv", model=StandInModel(), workers=workers)


def test_real_model_in_workers_gives_the_same_labels_and_probabilities(tmp_path, tiny_bundle, parallel_small):
    src = write_csv(tmp_path / "posts.csv", n=300, bad_lines=True)
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    score_file(src, one, model=tiny_bundle, chunksize=100, workers=1)
    score_file(src, two, model=tiny_bundle, chunksize=100, workers=2)
    a, b = pd.read_parquet(one), pd.read_parquet(two)
    numbers = a.select_dtypes("number").columns
    pd.testing.assert_frame_equal(a.drop(columns=numbers), b.drop(columns=numbers))
    np.testing.assert_allclose(a[numbers].to_numpy(float), b[numbers].to_numpy(float), atol=1e-6, rtol=0)
