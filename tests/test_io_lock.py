"""One writer per output (tonecls.io.lock): a held lock refuses a second run, a dead holder's
lock is taken over, another host's is refused with how to remove it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from support import StandInModel, write_csv

from tonecls.errors import InputError
from tonecls.io.lock import OutputLock, lock_path
from tonecls.io.manifest import manifest_path
from tonecls.jobs import score_file


def test_a_second_run_on_the_same_output_fails_at_once_naming_the_holder(tmp_path):
    src = write_csv(tmp_path / "posts.csv", n=20)
    out = tmp_path / "scored.csv"
    with OutputLock(out):
        with pytest.raises(InputError, match=rf"another run is writing .*process {os.getpid()} on host"):
            score_file(src, out, model=StandInModel())
    assert not out.exists() and not manifest_path(out).exists()
    score_file(src, out, model=StandInModel())  # the lock is gone with its holder
    assert out.exists() and not lock_path(out).exists()


@pytest.mark.slow
def test_two_runs_started_together_leave_one_complete_output(tmp_path):
    src = tmp_path / "posts.csv"
    pd.DataFrame({"id": range(10_000), "text": [f"post number {i} :)" for i in range(10_000)]}).to_csv(src, index=False)
    out = tmp_path / "tokens.csv"
    script = textwrap.dedent(f"""
        import time
        from tonecls.errors import InputError
        from tonecls.io import runner
        from tonecls.jobs import tokenize_file
        commit = runner._Run._commit
        def slow_commit(*args):  # the winner holds the lock for seconds, however late the other starts
            time.sleep(0.2)
            commit(*args)
        runner._Run._commit = slow_commit
        try:
            tokenize_file({str(src)!r}, {str(out)!r}, chunksize=1000, workers=1, quiet=True)
            print("wrote")
        except InputError as error:
            print("refused:", error)
    """)
    runs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    results = sorted(run.communicate(timeout=300)[0].strip() for run in runs)
    assert results[0].startswith("refused: another run is writing"), results
    assert results[1] == "wrote", results
    written = pd.read_csv(out, dtype=str)
    assert written["id"].tolist() == [str(i) for i in range(10_000)]


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


@pytest.mark.slow
def test_an_unreadable_lock_is_waited_for_then_taken_over_when_old(tmp_path):
    out = tmp_path / "out.csv"
    lock_path(out).write_text("", encoding="utf-8")  # a crash between creating and writing it
    with pytest.raises(InputError, match="other runs keep replacing it"):
        OutputLock(out).acquire()  # fresh: perhaps being written just now
    os.utime(lock_path(out), (0, 0))
    with OutputLock(out):
        assert json.loads(lock_path(out).read_text(encoding="utf-8"))["pid"] == os.getpid()
    assert not lock_path(out).exists() and list(tmp_path.iterdir()) == []  # no file of its own left


def test_the_held_message_offers_resume_only_to_jobs_that_can_resume(tmp_path):
    from tonecls.io.lock import OutputLock

    holder = {"pid": 1, "host": "elsewhere", "since": "2026-01-01T00:00:00"}
    streaming = OutputLock(tmp_path / "scored.csv", resumable=True)._held_message(holder)
    report = OutputLock(tmp_path / "audit")._held_message(holder)
    assert streaming.endswith("run again (with --resume to keep its completed chunks).")
    assert report.endswith("and run again.") and "--resume" not in report
