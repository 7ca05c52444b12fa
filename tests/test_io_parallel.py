"""Worker processes (tonecls.io.parallel): chunks transformed elsewhere, written in input order,
the same bytes as one process; crashes keep completed chunks; small or unpicklable jobs
stay in this process."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from support import ROOT, StandInModel, write_csv

from tonecls.io.job import ChunkJob
from tonecls.io.manifest import manifest_path
from tonecls.jobs import score_file


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
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
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
