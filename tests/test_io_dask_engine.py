"""The Dask engine (tonecls.io.dask_engine): the same output as the local engine row for row
and type for type, Parquet parts, resume of missing parts only, block sizes."""

from __future__ import annotations

import decimal
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from support import BIG_ID, StandInModel, write_csv

from tonecls.errors import InputError
from tonecls.io.manifest import manifest_path
from tonecls.jobs import score_file
from tonecls.schema import STATUS_COLUMN


# --- the stand-in model ----------------------------------------------------------------------


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


def test_dask_output_holds_only_the_recorded_parts(tmp_path, dask_scheduler):
    """A part file in the partial folder that no recorded unit wrote (a cancelled task's, or
    one dropped there by hand) must not become rows of the output."""
    src = write_csv(tmp_path / "posts.csv", n=1500, multiline=False)
    with open(src, "a", encoding="utf-8") as f:
        f.write("9999,boom,a\n")  # the last partition: the ones before it finish first
    out = tmp_path / "scored.parquet"
    options = dict(engine="dask", scheduler=dask_scheduler, blocksize=6_000)
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_file(src, out, model=StandInModel(crash_on="boom"), **options)
    partial = Path(f"{out}.partial")
    recorded = {u["output"]["part"] for u in json.loads(manifest_path(out).read_text())["units"].values()}
    stray = partial / "part-99999.parquet"
    pq.write_table(pa.table({"id": ["stray"]}), stray)
    (partial / "part-99998.parquet.unify").write_bytes(b"half-written")
    score_file(src, out, model=StandInModel(), resume=True, **options)
    assert recorded and stray.name not in recorded
    assert sorted(p.name for p in out.iterdir()) == sorted(f"part-{i:05d}.parquet" for i in range(len(list(
        out.iterdir()))))
    scored = pd.read_parquet(out)
    assert "stray" not in set(scored["id"]) and len(scored) == 1501


# --- a real (tiny) tone model ----------------------------------------------------------------


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


# --- the fixtures, as the local engine reads them --------------------------------------------


def _fixture_files(tmp_path: Path) -> list[Path]:
    jsonl = tmp_path / "ids.jsonl"
    rows = [json.dumps({"id": BIG_ID + i, "text": ["love it", None, "007", "hate it"][i % 4],
                        "score": i / 7}) for i in range(40)]
    rows[5] = '{"id": 1500000000000000999, "text": "truncated'
    rows[30] = json.dumps({"id": BIG_ID, "text": "late key", "lang": "en"})
    jsonl.write_text("\n".join(rows) + "\n", encoding="utf-8")
    csv = tmp_path / "odd.csv"
    csv.write_bytes(b"id,text\n1,before\rafter\n2,\"two\nlines\"\n3,too,many\n4," + b"x" * 140_000 + b"\n5,ok\n")
    tsv = tmp_path / "quotes.tsv"
    tsv.write_text("id\ttext\n" + "".join(f'{i}\t"quoted" she said {i}\n' for i in range(10)), encoding="utf-8")
    parquet = tmp_path / "nested.parquet"
    pq.write_table(pa.table({
        "id": pa.array([BIG_ID, None, BIG_ID + 2, 7], pa.int64()), "text": ["a", "b", None, "c"],
        "tags": pa.array([["x"], None, [], ["y", "z"]], pa.list_(pa.string())),
        "amount": pa.array([decimal.Decimal("1.5"), None, decimal.Decimal("2.25"), None], pa.decimal128(5, 2)),
    }), parquet, row_group_size=2)
    return [jsonl, csv, tsv, parquet]


def test_local_and_dask_engines_give_identical_outputs_on_the_fixtures(tmp_path, dask_scheduler):
    from support import StandInModel

    from tonecls.jobs import score_file

    for src in _fixture_files(tmp_path):
        local, distributed_out = tmp_path / f"{src.stem}_local.parquet", tmp_path / f"{src.stem}_dask.parquet"
        expected = score_file(src, local, model=StandInModel(), chunksize=3)
        got = score_file(src, distributed_out, model=StandInModel(), engine="dask",
                         scheduler=dask_scheduler, blocksize=64)  # a block every few rows
        assert len(list(distributed_out.iterdir())) > 1, src.name
        assert got.statuses == expected.statuses and got.malformed_lines == expected.malformed_lines
        assert pq.read_table(distributed_out).equals(pq.read_table(local)), src.name
