"""The prevalence result (tonecls.prevalence.result): its views and the JSON contract."""

from __future__ import annotations

import json

from support import labelled_sample

from tonecls.prevalence import PrevalenceEstimator
from tonecls.prevalence.result import CONTRACT_COLUMNS


def test_views_and_json_contract(sentiment_frame):
    sample = labelled_sample(sentiment_frame, 300, seed=1)
    result = PrevalenceEstimator("sentiment", confidence=0.8).fit(
        sentiment_frame, labels=sample, group_cols=["region"], time_col="created", freq="M")
    estimates = result.estimates
    assert list(estimates.columns[:8]) == CONTRACT_COLUMNS
    assert set(estimates["group"]) == {"all", "region=north", "region=south", "created=2024-03", "created=2024-04"}
    assert (estimates.groupby("group")["n"].first().loc[["region=north", "region=south"]].sum()
            == len(sentiment_frame))
    assert (estimates["ci_low"] <= estimates["estimate"]).all() and (estimates["estimate"] <= estimates["ci_high"]).all()
    assert set(result.differences["kind"]) == {"group", "period"} and len(result.differences) == 6
    assert result.verdict.startswith("'") and "labelled posts" in result.verdict
    assert any("random sample" in a for a in result.assumptions)
    document = json.loads(json.dumps(result.to_dict()))
    assert set(CONTRACT_COLUMNS) <= set(document["estimates"][0])
    assert document["verdict"] == result.verdict and document["settings"]["confidence"] == 0.8
