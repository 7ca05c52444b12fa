"""`tonecls sample`, `tonecls prevalence` and `tonecls calibrate` end to end: sample -> label from
gold -> prevalence, the JSON contract, every bad labels file exit status 2 with one line, no
labelled rows -> naive shares with a warning; calibrate refuses bad input before loading a model,
and writes a sealed bundle whose predictions differ from the base only through calibration (the
bundled model on data/sample_posts.csv: about a second, in the fast loop like test_recalibration)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support import scored_posts
from tonecls.cli import main
from tonecls.prevalence import PrevalenceEstimator
from tonecls.prevalence.result import CONTRACT_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_POSTS = ROOT / "data" / "sample_posts.csv"


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


@pytest.fixture
def no_model(monkeypatch):
    """Loading a model fails the test: these errors must come before any slow work."""
    import tonecls.model

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the input was checked")

    monkeypatch.setattr(tonecls.model, "load_model", refuse)


@pytest.mark.parametrize("case", ["base bundle", "not a bundle", "no label column", "no labels", "missing file"])
def test_calibrate_refuses_bad_input_before_loading_the_model(tmp_path, capsys, no_model, case):
    from tonecls.model.bundle import DEFAULT_BUNDLE

    labelled = tmp_path / "labelled.csv"
    labelled.write_text("id,text,label\n1,love it,positive\n" if case != "no labels" else "id,text,label\n1,a,\n")
    output = {"base bundle": DEFAULT_BUNDLE, "not a bundle": tmp_path}.get(case, tmp_path / "new_model")
    label_col = "sentiment" if case == "no label column" else "label"
    source = tmp_path / "missing.csv" if case == "missing file" else labelled
    assert main(["calibrate", str(source), "-o", str(output), "--head", "sentiment", "--label-col", label_col]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tonecls calibrate: error: ") and err.count("\n") == 1, err
    expected = {"base bundle": "is the base bundle", "not a bundle": "is not a tonecls model bundle",
                "no label column": "no column(s) ['sentiment']", "no labels": "has no labels",
                "missing file": "does not exist"}[case]
    assert expected in err


def test_calibrate_writes_a_sealed_bundle_that_records_its_calibration(tmp_path, capsys):
    from tonecls import load_model
    from tonecls.io import sha256_file
    from tonecls.model import bundle_digest

    base = load_model()
    digest = bundle_digest()
    output = tmp_path / "recalibrated"
    assert main(["calibrate", str(SAMPLE_POSTS), "-o", str(output), "--head", "sentiment",
                 "--label-col", "sentiment", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {output}: head 'sentiment' recalibrated on ") and "held-out folds" in out
    new = load_model(output)  # the seal is checked on load
    record = json.loads((output / "bundle.json").read_text(encoding="utf-8"))["recalibration"]["sentiment"]
    assert record["file"] == "sample_posts.csv" and record["file_sha256"] == sha256_file(SAMPLE_POSTS)
    assert record["file_rows"] == 400 and record["n_rows"] >= 50 and record["date"].startswith("20")
    assert 0 <= record["ece_after"] <= 1 and 0 <= record["ece_before"] <= 1 and record["base_digest"] == digest
    card = (output / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "**Recalibrated**" in card and record["file_sha256"][:16] in card and "held-out folds" in card
    assert bundle_digest() == digest  # the base bundle is unchanged
    # predictions differ from the base only through the sentiment head's calibration
    texts = pd.read_csv(SAMPLE_POSTS, dtype=str, keep_default_na=False)["text"].tolist()
    old_logits, new_logits = base.compute_logits(texts), new.compute_logits(texts)
    for head in ("sentiment", "emotion", "ekman"):
        np.testing.assert_array_equal(old_logits.logits[head], new_logits.logits[head])
    z = new_logits.logits["sentiment"].astype(np.float64) / record["temperature"] + np.asarray(record["bias"])
    expected = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(new.head_proba("sentiment", new_logits.logits["sentiment"]),
                               expected / expected.sum(1, keepdims=True), atol=1e-9)
    old, now = base.predictions_from_logits(old_logits), new.predictions_from_logits(new_logits)
    unchanged = [c for c in old.columns if not c.startswith("sentiment_")]
    pd.testing.assert_frame_equal(old[unchanged], now[unchanged])


def test_help_imports_no_tensorflow():
    code = ("import sys; from tonecls.cli import main; "
            "status = [main([command, '--help']) for command in ('sample', 'prevalence', 'calibrate')]; "
            "print(status, [m for m in ('tensorflow', 'keras') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[0, 0, 0] []"
