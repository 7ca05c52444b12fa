"""Resume state (tonecls.io.manifest): a resume continues exactly where the recorded units end,
and is refused when the options, the input or the partial output changed."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from support import StandInModel, write_csv

from tonecls.errors import InputError
from tonecls.io.manifest import ResumeRefused, manifest_path
from tonecls.jobs import score_file


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


def test_a_fresh_run_forgets_the_manifest_of_an_earlier_run(tmp_path):
    """Run without --resume after a crash, and fail before any chunk is done: the old manifest
    must not survive to promise a resume of a partial output that no longer holds its chunks."""
    from tonecls.io.runner import resume_hint

    src = write_csv(tmp_path / "posts.csv", n=250, boom_at=200)
    out = tmp_path / "scored.csv"
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_file(src, out, model=StandInModel(crash_on="boom"), chunksize=32)
    assert resume_hint(out) is not None
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_file(src, out, model=StandInModel(crash_on="so sad :("), chunksize=32)  # fails on its first chunk
    assert resume_hint(out) is None and not manifest_path(out).exists()


@pytest.mark.slow
def test_the_manifest_keeps_one_writer_state_so_it_grows_linearly(tmp_path):
    import json

    src = write_csv(tmp_path / "posts.csv", n=400, boom_at=390)
    out = tmp_path / "scored.csv"
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_file(src, out, model=StandInModel(crash_on="boom"), chunksize=10)
    units = json.loads(manifest_path(out).read_text())["units"]
    with_state = [k for k, u in units.items() if "writer" in u["output"]]
    assert len(units) == 39 and with_state == [str(max(map(int, units)))]
    score_file(src, out, model=StandInModel(), chunksize=10, resume=True)
    reference = tmp_path / "reference.csv"
    score_file(src, reference, model=StandInModel(), chunksize=10)
    assert out.read_bytes() == reference.read_bytes()


@pytest.mark.parametrize("edit", ["rows_negative", "rows_text", "statuses_do_not_add_up", "output_missing",
                                  "unit_key_not_a_number", "units_a_list"])
def test_a_hand_edited_manifest_is_refused_with_a_clear_message(tmp_path, edit):
    import json

    src = write_csv(tmp_path / "posts.csv", n=250, boom_at=200)
    out = tmp_path / "scored.csv"
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_file(src, out, model=StandInModel(crash_on="boom"), chunksize=32)
    data = json.loads(manifest_path(out).read_text())
    first = data["units"]["0"]
    if edit == "rows_negative":
        first["rows"] = -1
    elif edit == "rows_text":
        first["rows"] = "32"
    elif edit == "statuses_do_not_add_up":
        first["statuses"] = {"ok": 31}
    elif edit == "output_missing":
        del first["output"]
    elif edit == "unit_key_not_a_number":
        data["units"]["first"] = data["units"].pop("0")
    else:
        data["units"] = list(data["units"].values())
    manifest_path(out).write_text(json.dumps(data))
    with pytest.raises(InputError, match="resume manifest .* is unreadable"):
        score_file(src, out, model=StandInModel(), chunksize=32, resume=True)
    assert Path(f"{out}.partial").exists()  # kept for inspection
