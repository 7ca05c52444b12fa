"""The dialect file job (tonecls.jobs.dialect) and the `tonecls dialect` command."""

from __future__ import annotations

import pandas as pd
import pytest

from tonecls.audit.dialect import GROUP_AA, add_dialect_columns


def test_cli_dialect_streams_every_row_in_order(tmp_path, capsys, monkeypatch, fake_twitteraae):
    from tonecls.cli import main

    monkeypatch.setenv("TONECLS_DATA_DIR", str(fake_twitteraae.parent))
    source = tmp_path / "posts.csv"
    frame = pd.DataFrame({"id": [f"{i:03d}" for i in range(7)],
                          "text": ["he be trippin lol finna go", "", "hello there", "qqzxv",
                                   "I am going to the store now.", "af af af", "lol"]})
    frame.to_csv(source, index=False)
    out = tmp_path / "posts_dialect.jsonl"
    assert main(["dialect", str(source), "-o", str(out), "--chunksize", "3", "--quiet"]) == 0
    written = pd.read_json(out, lines=True, dtype={"id": str})
    assert written["id"].tolist() == frame["id"].tolist()
    assert written["text"].fillna("").tolist() == frame["text"].tolist()
    assert written["dialect_group"].iloc[5] == GROUP_AA
    assert written["dialect_aa"].isna().tolist() == [False, True, False, True, False, False, False]
    printed = capsys.readouterr().out
    assert "7 rows" in printed and "not about its author" in printed
    assert "warning: dialect group aa_aligned has 1 of 7 posts at threshold 0.8" in printed
    assert main(["dialect", str(source), "-o", str(tmp_path / "bad.csv"), "--text-col", "body"]) == 2
    assert "'body'" in capsys.readouterr().err  # the error names the missing column
    assert not list(tmp_path.glob("bad.csv*"))  # nothing written for a bad column


def test_dialect_file_resumes_after_interruption(tmp_path, dialect_estimator, monkeypatch):
    import tonecls.jobs.dialect as dialect
    from tonecls.jobs import dialect_file

    source = tmp_path / "posts.csv"
    texts = ["he be trippin lol finna go", "hello there", "af af af", "", "lol ok", "What a day."]
    pd.DataFrame({"id": [str(i) for i in range(6)], "text": texts}).to_csv(source, index=False)
    complete = tmp_path / "complete.csv"
    complete_summary = dialect_file(source, complete, estimator=dialect_estimator, chunksize=2, quiet=True)

    resumed = tmp_path / "resumed.csv"
    calls = []

    def interrupt_on_second_chunk(frame, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # the column check, the first chunk, then the interruption
            raise KeyboardInterrupt
        return add_dialect_columns(frame, *args, **kwargs)

    monkeypatch.setattr(dialect, "add_dialect_columns", interrupt_on_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        dialect_file(source, resumed, estimator=dialect_estimator, chunksize=2, quiet=True)
    monkeypatch.undo()
    assert not resumed.exists()
    summary = dialect_file(source, resumed, estimator=dialect_estimator, chunksize=2, resume=True, quiet=True)
    assert summary.resumed_from_row == 2 and summary.rows == 6
    assert summary.tallies == complete_summary.tallies
    assert resumed.read_text() == complete.read_text()


def test_the_resume_identity_covers_the_twitteraae_model_files(fake_twitteraae, tmp_path):
    """A resume with another TwitterAAE model (another data directory, an edited count table)
    must be refused: the job's options hold the model files' SHA-256."""
    import shutil

    from tonecls.audit.dialect import DialectEstimator
    from tonecls.jobs.dialect import DialectJob

    copy = tmp_path / "twitteraae"
    shutil.copytree(fake_twitteraae, copy)
    same = DialectJob(DialectEstimator(model_dir=copy), "text", 0.8).options()
    assert same["twitteraae"] == DialectJob(DialectEstimator(model_dir=fake_twitteraae), "text", 0.8).options()[
        "twitteraae"]
    with open(copy / "model_count_table.txt", "a", encoding="utf-8") as table:
        table.write("\n")
    assert DialectJob(DialectEstimator(model_dir=copy), "text", 0.8).options()["twitteraae"] != same["twitteraae"]
