"""The score file job (tonecls.jobs.score): an export scored into a new file with the stand-in
and a real tiny model, in this process and in workers that import no heavy library; the
`tonecls score` command."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support import FIXTURES, OTHER_LANGUAGE_POSTS, ROOT, WORDS, StandInModel, write_csv

from tonecls.errors import InputError
from tonecls.io.manifest import manifest_path
from tonecls.jobs import score_file
from tonecls.schema import STATUS_COLUMN
from tonecls.score import score_frame


# --- the stand-in model ----------------------------------------------------------------------


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


# --- a real (tiny) tone model ----------------------------------------------------------------


def test_real_model_scores_the_malformed_fixture_losslessly(tmp_path, tiny_bundle):
    src = FIXTURES / "malformed_posts.csv"
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


# --- worker processes ------------------------------------------------------------------------


@pytest.mark.slow
def test_scoring_workers_run_without_pandas_scipy_or_tensorflow():
    """A worker process unpickles the scoring job's task (the model's compute_logits) and runs it
    importing none of the heavy libraries: that is what keeps each worker light."""
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


def test_real_model_in_workers_gives_the_same_labels_and_probabilities(tmp_path, tiny_bundle, parallel_small):
    src = write_csv(tmp_path / "posts.csv", n=300, bad_lines=True)
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    score_file(src, one, model=tiny_bundle, chunksize=100, workers=1)
    score_file(src, two, model=tiny_bundle, chunksize=100, workers=2)
    a, b = pd.read_parquet(one), pd.read_parquet(two)
    numbers = a.select_dtypes("number").columns
    pd.testing.assert_frame_equal(a.drop(columns=numbers), b.drop(columns=numbers))
    np.testing.assert_allclose(a[numbers].to_numpy(float), b[numbers].to_numpy(float), atol=1e-6, rtol=0)


# --- other languages -------------------------------------------------------------------------


def test_score_frame_and_score_file_flag_other_languages_unless_asked(english_model, tmp_path):
    from tonecls.jobs import score_file
    from tonecls.score import score_frame

    posts = pd.DataFrame({"id": ["a", "b", "c"], "text": ["love it so much", list(OTHER_LANGUAGE_POSTS)[1], "hate this"]})
    scored = score_frame(posts, english_model)
    assert scored["tonecls_status"].tolist() == ["ok", "other_language", "ok"]
    assert scored["tonecls_language"].tolist()[1] == "de"
    assert score_frame(posts, english_model, all_languages=True)["tonecls_status"].eq("ok").all()
    posts.to_csv(tmp_path / "posts.csv", index=False)
    summary = score_file(tmp_path / "posts.csv", tmp_path / "out.csv", model=english_model)
    assert summary.flagged == {"other_language": 1}
    written = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert written["tonecls_status"].tolist() == ["ok", "other_language", "ok"]
    assert written["tonecls_language"].tolist()[1] == "de"
    everything = score_file(tmp_path / "posts.csv", tmp_path / "all.csv", model=english_model, all_languages=True)
    assert everything.flagged == {}


@pytest.mark.slow
def test_cli_score_flags_other_languages_unless_all_languages(tmp_path, capsys):
    from tonecls.cli import main

    posts = pd.DataFrame({"id": ["1", "2", "3"], "text": [
        "I hate this company, worst experience of my life", "c'est vraiment nul, j'ai attendu deux heures pour rien",
        "lol"]})
    posts.to_csv(tmp_path / "posts.csv", index=False)
    assert main(["score", str(tmp_path / "posts.csv"), "-o", str(tmp_path / "out.csv"), "--quiet"]) == 0
    assert "1 other_language" in capsys.readouterr().out
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert out["tonecls_status"].tolist() == ["ok", "other_language", "ok"]
    assert out["tonecls_language"].tolist() == ["en", "fr", "und"]
    assert out["sentiment_label"].tolist()[:2] == ["negative", ""]
    assert main(["score", str(tmp_path / "posts.csv"), "-o", str(tmp_path / "all.csv"), "--quiet",
                 "--all-languages"]) == 0
    everything = pd.read_csv(tmp_path / "all.csv", dtype=str, keep_default_na=False)
    assert everything["tonecls_status"].tolist() == ["ok"] * 3
    assert everything["tonecls_language"].tolist() == ["en", "fr", "und"]
    assert everything["sentiment_label"].iloc[1] != ""


HEAVY_MODULES = ("tensorflow", "keras", "dask", "distributed")  # dask: the optional [dask] extra


def run_python(code: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


# --- no TensorFlow on the scoring paths ------------------------------------------------------


@pytest.mark.slow
def test_scoring_paths_do_not_import_tensorflow(tmp_path):
    """load_model().predict, score_file, `tonecls score`, tokenising and unpickling a model import
    no TensorFlow / Keras, nor Dask (an optional extra)."""
    (tmp_path / "posts.csv").write_text("id,text\n1,I love this\n2,worst day ever\n3,\n", encoding="utf-8")
    result = run_python(f"""
        import pickle, sys
        import tonecls
        from tonecls.jobs import score_file
        model = tonecls.load_model()
        frame = model.predict(["so happy today", None])
        assert frame["tonecls_status"].tolist() == ["ok", "missing"], frame
        tonecls.tokenize(["hello @you"])
        score_file({str(tmp_path / 'posts.csv')!r}, {str(tmp_path / 'out.csv')!r})
        copy = pickle.loads(pickle.dumps(model))
        copy.predict(["again"])
        from tonecls.cli import main
        assert main(["score", {str(tmp_path / 'posts.csv')!r}, "-o", {str(tmp_path / 'cli.csv')!r}]) in (0, None)
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY_MODULES!r})
        print("HEAVY", heavy)
    """)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout, result.stdout
    assert (tmp_path / "out.csv").is_file()
