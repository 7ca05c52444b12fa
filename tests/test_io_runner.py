"""The streaming runner (tonecls.io.runner): one writer per output, verified resume, operating-
system errors, multi-file inputs, and flagging / counting / resuming tested once for both engines."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from support import StandInModel, write_csv

from tonecls.errors import InputError
from tonecls.io.lock import OutputLock, lock_path
from tonecls.io.manifest import ResumeRefused, manifest_path
from tonecls.io.runner import JobFailed
from tonecls.jobs import score_file, tokenize_file
from tonecls.schema import STATUS_COLUMN

ENGINES = ["local", pytest.param("dask", marks=pytest.mark.slow)]


def _options(engine: str, request) -> dict:
    if engine == "local":
        return {"chunksize": 32}
    return {"engine": "dask", "scheduler": request.getfixturevalue("dask_scheduler"), "blocksize": 1_500}


def _read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str, keep_default_na=False)


def _crash_then_resume(src: Path, out: Path, **options) -> tuple:
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_file(src, out, model=StandInModel(crash_on="boom"), **options)
    assert not out.exists() and manifest_path(out).exists() and not lock_path(out).exists()
    return score_file(src, out, model=StandInModel(), resume=True, **options)


# --- both engines, one set of tests ------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_every_row_once_with_flags_and_counts_on_either_engine(tmp_path, engine, request):
    src = write_csv(tmp_path / "posts.csv", n=200, bad_lines=True)
    out = tmp_path / "scored.parquet"
    summary = score_file(src, out, model=StandInModel(), id_col="id", **_options(engine, request))
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
    options = _options(engine, request)
    summary = _crash_then_resume(src, tmp_path / "scored.parquet", **options)
    reference = tmp_path / "reference.parquet"
    expected = score_file(src, reference, model=StandInModel(), chunksize=1000)
    assert 0 < summary.resumed_from_row < summary.rows == 300
    assert summary.statuses == expected.statuses
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "scored.parquet"), pd.read_parquet(reference))
    assert not manifest_path(tmp_path / "scored.parquet").exists()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("pattern", ["folder", "glob"])
def test_a_multi_file_export_is_scored_as_one_table_in_file_order(tmp_path, engine, pattern, request):
    parts = tmp_path / "export"
    parts.mkdir()
    frames = []
    for i in range(3):
        src = write_csv(parts / f"part-{i}.csv", n=40 + i, multiline=False)
        frames.append(pd.read_csv(src, dtype=str, keep_default_na=False))
    (parts / "_SUCCESS").write_text("")  # written by Spark; not a part
    out = tmp_path / "scored.parquet"
    source = parts if pattern == "folder" else str(parts / "part-*.csv")
    summary = score_file(source, out, model=StandInModel(), **_options(engine, request))
    scored = pd.read_parquet(out)
    expected = pd.concat(frames, ignore_index=True)
    assert summary.rows == len(scored) == len(expected) == 123
    pd.testing.assert_frame_equal(scored[expected.columns], expected)


def test_parts_of_different_formats_are_refused(tmp_path):
    parts = tmp_path / "export"
    parts.mkdir()
    write_csv(parts / "a.csv", n=5)
    (parts / "b.jsonl").write_text('{"text": "hi"}\n')
    with pytest.raises(InputError, match="mixes formats"):
        score_file(parts, tmp_path / "out.csv", model=StandInModel())


# --- one writer per output --------------------------------------------------------------------


def test_a_second_run_on_the_same_output_fails_at_once_naming_the_holder(tmp_path):
    src = write_csv(tmp_path / "posts.csv", n=20)
    out = tmp_path / "scored.csv"
    with OutputLock(out):
        with pytest.raises(InputError, match=rf"another run is writing .*process {os.getpid()} on host"):
            score_file(src, out, model=StandInModel())
    assert not out.exists() and not manifest_path(out).exists()
    score_file(src, out, model=StandInModel())  # the lock is gone with its holder
    assert out.exists() and not lock_path(out).exists()


def test_two_runs_started_together_leave_one_complete_output(tmp_path):
    src = tmp_path / "posts.csv"
    pd.DataFrame({"id": range(30_000), "text": [f"post number {i} :)" for i in range(30_000)]}).to_csv(src, index=False)
    out = tmp_path / "tokens.csv"
    script = textwrap.dedent(f"""
        from tonecls.errors import InputError
        from tonecls.jobs import tokenize_file
        try:
            tokenize_file({str(src)!r}, {str(out)!r}, chunksize=2000, workers=1, quiet=True)
            print("wrote")
        except InputError as error:
            print("refused:", error)
    """)
    runs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    results = sorted(run.communicate(timeout=300)[0].strip() for run in runs)
    assert results[0].startswith("refused: another run is writing"), results
    assert results[1] == "wrote", results
    written = pd.read_csv(out, dtype=str)
    assert written["id"].tolist() == [str(i) for i in range(30_000)]


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    src = write_csv(tmp_path / "posts.csv", n=20)
    out = tmp_path / "scored.csv"
    lock_path(out).write_text(json.dumps({"pid": _dead_pid(), "host": socket.gethostname()}))
    summary = score_file(src, out, model=StandInModel())
    assert summary.rows == 20 and not lock_path(out).exists()


def test_a_lock_held_on_another_host_is_refused_with_how_to_remove_it(tmp_path):
    src = write_csv(tmp_path / "posts.csv", n=20)
    out = tmp_path / "scored.csv"
    lock_path(out).write_text(json.dumps({"pid": 1, "host": "elsewhere", "since": "2026-01-01T00:00:00"}))
    with pytest.raises(InputError, match="host elsewhere.*delete .*scored.csv.lock"):
        score_file(src, out, model=StandInModel())
    assert lock_path(out).exists()


# --- resume checks the partial output itself ------------------------------------------------------


@pytest.mark.parametrize("damage", ["shorter", "byte_changed", "longer"])
def test_resume_refuses_a_partial_output_that_differs_from_what_was_written(tmp_path, damage):
    src = write_csv(tmp_path / "posts.csv", n=250, boom_at=200)
    out = tmp_path / "scored.csv"
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_file(src, out, model=StandInModel(crash_on="boom"), chunksize=32)
    partial = Path(f"{out}.partial")
    data = partial.read_bytes()
    if damage == "shorter":
        partial.write_bytes(data[:-7])
    elif damage == "byte_changed":
        partial.write_bytes(data[:100] + bytes([data[100] ^ 0x20]) + data[101:])
    if damage == "longer":  # a chunk written but not recorded: dropped, then written again
        partial.write_bytes(data + b"0999,extra,a,ok\n")
        score_file(src, out, model=StandInModel(), chunksize=32, resume=True)
        reference = tmp_path / "reference.csv"
        score_file(src, reference, model=StandInModel(), chunksize=32)
        assert out.read_bytes() == reference.read_bytes()
        return
    with pytest.raises(ResumeRefused, match="cannot resume: the partial output"):
        score_file(src, out, model=StandInModel(), chunksize=32, resume=True)
    assert partial.exists() and manifest_path(out).exists()  # kept as they were, for inspection


def test_resume_refuses_a_changed_parquet_part(tmp_path):
    src = write_csv(tmp_path / "posts.csv", n=250, boom_at=200)
    out = tmp_path / "scored.parquet"
    with pytest.raises(RuntimeError):
        score_file(src, out, model=StandInModel(crash_on="boom"), chunksize=32)
    part = sorted(Path(f"{out}.partial.parts").glob("part-*.parquet"))[1]
    pd.read_parquet(part).head(3).to_parquet(part)
    with pytest.raises(ResumeRefused, match="differs from what was written"):
        score_file(src, out, model=StandInModel(), chunksize=32, resume=True)


# --- operating-system errors ------------------------------------------------------------------------


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
