"""The sample and prevalence file jobs (tonecls.jobs.prevalence) on synthetic scored exports and
their commands: reproducible samples in any export format, stratified weights carried through
the files, the JSON contract, labels joined by id, every bad labels file refused with a clear
message (exit status 2 and one line), sample -> label from gold -> prevalence end to end."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support import scored_posts

from tonecls.cli import main
from tonecls.errors import InputError
from tonecls.io import read_export
from tonecls.jobs.prevalence import prevalence_file, sample_file
from tonecls.prevalence import PrevalenceEstimator, draw_sample
from tonecls.prevalence.result import CONTRACT_COLUMNS
from tonecls.prevalence.sample import INCLUSION_COLUMN


@pytest.fixture(scope="module")
def posts() -> pd.DataFrame:
    return scored_posts(2000, seed=3)


@pytest.fixture
def scored_csv(posts, tmp_path):
    path = tmp_path / "scored.csv"
    posts.to_csv(path, index=False)
    return path


def read(path) -> pd.DataFrame:
    return pd.concat(read_export(path, text_col=None)).drop(columns=["_tonecls_read_status", "_tonecls_line"])


def fill_in(sample_path, posts: pd.DataFrame, path, rows: int | None = None) -> None:
    """The labeller's work: the gold label of each sampled post (of the first ``rows`` only)."""
    sample = read(sample_path)
    gold = sample["id"].map(posts.set_index("id")["gold"])
    sample["label"] = gold if rows is None else np.where(np.arange(len(sample)) < rows, gold, "")
    sample.to_csv(path, index=False)


def test_samples_are_reproducible_scored_rows_in_any_format(posts, scored_csv, tmp_path):
    summary = sample_file(scored_csv, tmp_path / "a.csv", n=150, seed=4)
    sample_file(scored_csv, tmp_path / "b.csv", n=150, seed=4)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    sample = read(tmp_path / "a.csv")
    assert list(sample.columns) == ["id", "text", "label", "stratum_size", INCLUSION_COLUMN]
    ok = set(posts.loc[posts["tonecls_status"] == "ok", "id"])
    assert set(sample["id"]) <= ok and sample["id"].is_unique and (sample["label"] == "").all()
    assert "150 of the 1,979 scored posts (seed 4)" in str(summary)
    for suffix in (".parquet", ".jsonl.gz"):
        sample_file(scored_csv, tmp_path / f"c{suffix}", n=150, seed=4)
        assert read(tmp_path / f"c{suffix}")["id"].tolist() == sample["id"].tolist()
    assert read(tmp_path / "a.csv")["id"].tolist() != read(sample_file(scored_csv, tmp_path / "d.csv", n=150,
                                                                       seed=5).path)["id"].tolist()


def test_an_existing_sample_is_kept_unless_overwrite(scored_csv, tmp_path):
    target = tmp_path / "to_label.csv"
    target.write_text("id,text,label\n1,a post,joy\n")
    with pytest.raises(InputError, match="exists .*--overwrite"):
        sample_file(scored_csv, target, n=10)
    assert target.read_text() == "id,text,label\n1,a post,joy\n"
    sample_file(scored_csv, target, n=10, overwrite=True)
    assert len(read(target)) == 10


@pytest.mark.parametrize("change,kwargs,message", [
    (None, {"stratify_col": "region"}, r"no column\(s\) \['region'\]"),
    (None, {"n": 5000}, "only 1979 rows were scored"),
    (None, {"output": "out.xlsx"}, "xlsx"),
    (None, {"output": "scored.csv"}, "is the input file"),
    ("repeat ids", {}, "repeats id"),
    ("no status", {}, "no tonecls_status column"),
])
def test_bad_samples_are_refused(posts, tmp_path, change, kwargs, message):
    frame = posts.copy()
    if change == "repeat ids":
        frame.loc[10, "id"] = frame.loc[11, "id"]
    elif change == "no status":
        frame = frame.drop(columns="tonecls_status")
    frame.to_csv(tmp_path / "scored.csv", index=False)
    output = tmp_path / kwargs.pop("output", "out.csv")
    with pytest.raises(InputError, match=message):
        sample_file(tmp_path / "scored.csv", output, **{"n": 100, **kwargs})
    assert not output.exists() or output.name == "scored.csv"


def test_stratified_weights_survive_the_file_round_trip(posts, tmp_path):
    posts.to_parquet(tmp_path / "scored.parquet", index=False)
    sample_file(tmp_path / "scored.parquet", tmp_path / "to_label.csv", n=300, stratify_col="dialect",
                allocation="equal", seed=7)
    fill_in(tmp_path / "to_label.csv", posts, tmp_path / "labelled.csv")
    result, _ = prevalence_file(tmp_path / "scored.parquet", tmp_path / "report", head="emotion",
                                labels=tmp_path / "labelled.csv", group_cols=["dialect"])
    in_memory = draw_sample(posts, 300, stratify_col="dialect", allocation="equal", seed=7)
    in_memory["label"] = in_memory["id"].map(posts.set_index("id")["gold"])
    expected = PrevalenceEstimator("emotion").fit(posts, labels=in_memory, group_cols=["dialect"])
    assert result.settings["weighted"] and result.n_labelled == 300
    pd.testing.assert_frame_equal(result.estimates, expected.estimates, check_exact=False, atol=1e-12)
    unweighted = PrevalenceEstimator("emotion").fit(posts, labels=in_memory.drop(columns=INCLUSION_COLUMN))
    assert not np.allclose(unweighted.overall["estimate"], result.overall["estimate"], atol=1e-4)


def test_the_json_contract(posts, tmp_path):
    frame = posts.assign(hand=np.where(np.arange(len(posts)) % 5 == 0, posts["gold"], ""))
    frame.to_csv(tmp_path / "scored.csv", index=False)
    result, paths = prevalence_file(tmp_path / "scored.csv", tmp_path / "out" / "prevalence", head="emotion",
                                    label_col="hand", group_cols=["dialect", "gender"], time_col="created",
                                    confidence=0.8, command="tonecls prevalence ...")
    assert {"html", "md", "json"} <= set(paths) and all(paths[k].is_file() for k in ("html", "md", "json"))
    document = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert document["verdict"] == result.verdict and document["provenance"]["command"] == "tonecls prevalence ..."
    records = document["data"]["estimates"]
    groups = {"all", "dialect=aa", "dialect=white", "dialect=other", "gender=f", "gender=m",
              "created=2024-01", "created=2024-02", "created=2024-03"}
    assert {r["group"] for r in records} == groups and len(records) == len(groups) * 4
    for record in records:
        assert list(record)[:8] == CONTRACT_COLUMNS
        assert record["ci_low"] <= record["estimate"] <= record["ci_high"] and 0 <= record["naive"] <= 1
    overall = [r for r in records if r["group"] == "all"]
    labelled = int(((frame["hand"] != "") & (frame["tonecls_status"] == "ok")).sum())
    assert {r["n"] for r in overall} == {1979} and {r["n_labelled"] for r in overall} == {labelled}
    assert {r["class"] for r in overall} == {"anger", "joy", "optimism", "sadness"}
    assert sum(r["n"] for r in records if r["group"].startswith("gender=") and r["class"] == "joy") == 1979
    assert document["data"]["settings"]["confidence"] == 0.8


def test_without_labelled_rows_only_naive_shares_and_a_warning(posts, scored_csv, tmp_path):
    sample_file(scored_csv, tmp_path / "to_label.csv", n=50)
    result, paths = prevalence_file(scored_csv, tmp_path / "report", head="emotion", labels=tmp_path / "to_label.csv")
    records = json.loads(paths["json"].read_text(encoding="utf-8"))["data"]["estimates"]
    assert not result.labelled and all(r[k] is None for r in records for k in ("estimate", "ci_low", "ci_high"))
    assert abs(sum(r["naive"] for r in records) - 1) < 1e-9
    assert result.warnings[0].startswith("No labelled rows") and "17 points" in result.verdict


@pytest.mark.parametrize("labels,message", [
    ("id,label\npost-00001,joy\nnot-a-post,anger\nelsewhere,joy\n", "2 of its 3 id.* not in the scored file: 'not-a-post'"),
    ("id,label\npost-00001,joy\npost-00001,anger\n", "repeats id.* 'post-00001'"),
    ("id,label\npost-00001,joy\n,anger\n", r"1 row\(s\) have no 'id' \(line or row 3\)"),
    ("post,label\npost-00001,joy\n", r"no column\(s\) \['id'\]"),
    ("id,emotion\npost-00001,joy\n", r"no column\(s\) \['label'\]"),
    ("id,label\npost-00001,joy\npost-00002,furious\npost-00003,\n", "1 label.* not classes of head 'emotion': 'furious'"),
    ("id,label\npost-00001,joy,extra\n", "line 2"),
])
def test_bad_labels_files_are_refused(scored_csv, tmp_path, labels, message):
    (tmp_path / "labels.csv").write_text(labels, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        prevalence_file(scored_csv, tmp_path / "report", head="emotion", labels=tmp_path / "labels.csv")
    assert not (tmp_path / "report.json").exists()


def test_bad_labels_in_the_scored_file_and_a_missing_labels_file_are_refused(posts, tmp_path):
    posts.assign(hand=["joy", "happy"] * (len(posts) // 2)).to_csv(tmp_path / "scored.csv", index=False)
    with pytest.raises(InputError, match="column 'hand', holds 1 label.* 'happy'"):
        prevalence_file(tmp_path / "scored.csv", tmp_path / "report", head="emotion", label_col="hand")
    with pytest.raises(InputError, match="labels file .*missing.csv does not exist"):
        prevalence_file(tmp_path / "scored.csv", tmp_path / "report", head="emotion", labels=tmp_path / "missing.csv")


def test_lines_that_could_not_be_read_are_left_out_of_the_join(posts, tmp_path):
    path = tmp_path / "scored.jsonl"
    posts.to_json(path, orient="records", lines=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n[1, 2]\n")  # two malformed lines: no id, status malformed_line
    sample_file(path, tmp_path / "to_label.csv", n=200, seed=1)
    fill_in(tmp_path / "to_label.csv", posts, tmp_path / "labelled.csv")
    result, _ = prevalence_file(path, tmp_path / "report", head="emotion", labels=tmp_path / "labelled.csv")
    assert result.n_labelled == 200 and result.excluded == {"empty": 21, "malformed_line": 2}


@pytest.fixture
def scored(tmp_path) -> Path:
    path = tmp_path / "scored.csv"
    scored_posts(1500, seed=5).to_csv(path, index=False)
    return path


def label_from_gold(sample: Path, scored: Path, target: Path) -> pd.DataFrame:
    rows = pd.read_csv(sample, dtype=str, keep_default_na=False)
    gold = pd.read_csv(scored, dtype=str, keep_default_na=False).set_index("id")["gold"]
    rows["label"] = rows["id"].map(gold)
    rows.to_csv(target, index=False)
    return rows


def test_sample_label_prevalence(scored, tmp_path, capsys):
    assert main(["sample", str(scored), "-o", str(tmp_path / "to_label.csv"), "-n", "300",
                 "--stratify-col", "dialect", "--allocation", "equal", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {tmp_path / 'to_label.csv'}: 300 of the 1,484 scored posts (seed 2)")
    assert "stratified by dialect" in out and "aa 100 of " in out
    labelled = label_from_gold(tmp_path / "to_label.csv", scored, tmp_path / "labelled.csv")
    argv = ["prevalence", str(scored), "-o", str(tmp_path / "reports" / "prevalence"), "--head", "emotion",
            "--labels", str(tmp_path / "labelled.csv"), "--group-col", "dialect", "--time-col", "created",
            "--freq", "M", "--confidence", "0.8"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    verdict, wrote = out.strip().splitlines()
    assert verdict.startswith("'") and "from 300 labelled posts" in verdict and wrote.startswith("wrote ")
    assert "Traceback" not in err
    document = json.loads((tmp_path / "reports" / "prevalence.json").read_text(encoding="utf-8"))
    assert document["provenance"]["command"] == shlex.join(["tonecls", *argv])
    assert document["provenance"]["labels file"].startswith(str((tmp_path / "labelled.csv").resolve()))
    records = document["data"]["estimates"]
    assert all(list(r)[:8] == CONTRACT_COLUMNS for r in records)
    assert {r["group"] for r in records} >= {"all", "dialect=aa", "created=2024-02"}
    # the stratified sample's inclusion probabilities weighted the estimates through the files
    frame = pd.read_csv(scored, keep_default_na=False, dtype={"id": str})
    expected = PrevalenceEstimator("emotion", confidence=0.8).fit(
        frame, labels=labelled, group_cols=["dialect"], time_col="created", freq="M")
    assert document["data"]["settings"]["weighted"] is True
    np.testing.assert_allclose([r["estimate"] for r in records], expected.estimates["estimate"], atol=1e-12)


def _bad_labels(tmp_path: Path) -> dict[str, tuple[str, str]]:
    return {
        "unknown id": ("id,label\npost-00001,joy\nnowhere,joy\n", "not in the scored file: 'nowhere'"),
        "repeated id": ("id,label\npost-00001,joy\npost-00001,anger\n", "repeats id(s) 'post-00001'"),
        "empty id": ("id,label\npost-00001,joy\n,anger\n", "have no 'id'"),
        "no id column": ("post,label\npost-00001,joy\n", "no column(s) ['id']"),
        "not a class": ("id,label\npost-00001,joyful\n", "not classes of head 'emotion': 'joyful'"),
        "malformed line": ('id,label\npost-00001,joy,"x\n', "line 2"),
        "empty file": ("", "has no header line"),
    }


@pytest.mark.parametrize("case", list(_bad_labels(Path())))
def test_every_bad_labels_file_is_exit_2_and_one_line(scored, tmp_path, capsys, case):
    content, message = _bad_labels(tmp_path)[case]
    (tmp_path / "labels.csv").write_text(content, encoding="utf-8")
    assert main(["prevalence", str(scored), "-o", str(tmp_path / "report"), "--head", "emotion",
                 "--labels", str(tmp_path / "labels.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tonecls prevalence: error: ") and err.count("\n") == 1, err
    assert message in err and "Traceback" not in err
    assert not list(tmp_path.glob("report*"))


def test_no_labelled_rows_gives_naive_shares_a_warning_and_no_interval(scored, tmp_path, capsys):
    assert main(["sample", str(scored), "-o", str(tmp_path / "to_label.csv"), "-n", "40"]) == 0
    assert main(["prevalence", str(scored), "-o", str(tmp_path / "report"), "--head", "emotion",
                 "--labels", str(tmp_path / "to_label.csv")]) == 0
    out, err = capsys.readouterr()
    assert "No labelled posts" in out and "17 points" in out
    assert "tonecls prevalence: warning: No labelled rows" in err
    records = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["data"]["estimates"]
    assert all(r["estimate"] is None and r["ci_low"] is None and r["naive"] is not None for r in records)


def test_an_existing_sample_is_not_overwritten(scored, tmp_path, capsys):
    (tmp_path / "to_label.csv").write_text("id,text,label\n")
    assert main(["sample", str(scored), "-o", str(tmp_path / "to_label.csv")]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["sample", str(scored), "-o", str(tmp_path / "to_label.csv"), "--overwrite", "-n", "5"]) == 0
