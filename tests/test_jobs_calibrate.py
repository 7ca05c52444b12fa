"""The calibrate file job (tonecls.jobs.calibrate) and the `tonecls calibrate` command: bad
input refused before a model is loaded; a sealed bundle whose predictions differ from the
base only through calibration (the bundled model on data/sample_posts.csv, about a second)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from support import ROOT

from tonecls.cli import main


SAMPLE_POSTS = ROOT / "data" / "sample_posts.csv"


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
    expected = {"base bundle": "is the bundle it derives from", "not a bundle": "is not a tonecls model bundle",
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
