"""The prevalence report (tonecls.report.prevalence)."""

from __future__ import annotations

import json

from support import labelled_sample

from tonecls.prevalence import PrevalenceEstimator
from tonecls.prevalence.result import CONTRACT_COLUMNS


def test_prevalence_report_writes_html_markdown_json(sentiment_frame, tmp_path):
    from tonecls.report import write_report
    from tonecls.report.prevalence import prevalence_report

    sample = labelled_sample(sentiment_frame, 300, seed=1)
    result = PrevalenceEstimator("sentiment").fit(sentiment_frame, labels=sample, group_cols=["region"],
                                                  time_col="created", freq="W")
    report = prevalence_report(result, provenance={"input": "scored.parquet"})
    assert report.verdict == result.verdict
    paths = write_report(report, tmp_path, "prevalence")
    document = json.loads(paths["json"].read_text())
    assert document["verdict"] == result.verdict
    assert document["data"]["estimates"][0].keys() >= set(CONTRACT_COLUMNS)
    assert len(list(paths["figures"].glob("*.png"))) == 2  # groups, and the time series
    assert "random sample" in paths["md"].read_text()
