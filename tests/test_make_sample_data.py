"""The bundled sample export (data/sample_posts.csv) is what scripts/make_sample_data.py writes."""

from __future__ import annotations

import sys

from support import ROOT, read_all

from tonecls.io import READ_STATUS_COLUMN


def _sample_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_sample_data", ROOT / "scripts" / "make_sample_data.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


def test_sample_export_is_up_to_date_and_well_formed(tmp_path):
    script = _sample_script()
    regenerated = tmp_path / "sample_posts.csv"
    script.main(["--out", str(regenerated)])
    bundled = ROOT / "data" / "sample_posts.csv"
    assert regenerated.read_bytes() == bundled.read_bytes(), "run scripts/make_sample_data.py"

    sample = read_all(bundled, id_col="id")
    assert len(sample) == 400 and (sample[READ_STATUS_COLUMN] == "ok").all()
    assert sample.columns.tolist()[:7] == ["id", "text", "platform", "region", "age_band", "sentiment", "emotion"]
    assert sample["id"].is_unique and sample["id"].str.fullmatch(r"p\d{4}").all()
    assert set(sample["sentiment"]) == {"negative", "neutral", "positive", ""}
    assert set(sample["emotion"]) == {"anger", "joy", "optimism", "sadness", ""}
    # neutral posts have no emotion; every emotion agrees with the sentiment
    assert (sample.loc[sample["sentiment"] == "neutral", "emotion"] == "").all()
    positive = sample["emotion"].isin(["joy", "optimism"])
    assert (sample.loc[positive, "sentiment"] == "positive").all()
    # the rows that show per-row statuses and PII scrubbing are there
    assert (sample["text"].str.strip() == "").sum() == 3
    assert (sample["text"].str.len() > 2_000).sum() == 2
    assert sample["text"].str.contains(r"[\w.]+@example\.(?:com|net)").any()
    assert sample["text"].str.contains(r"\b(?:finna|ion|tryna)\b").sum() >= 10


def test_sample_is_deterministic_per_seed():
    script = _sample_script()
    assert script.make_sample(3).equals(script.make_sample(3))
    assert not script.make_sample(3).equals(script.make_sample(4))
