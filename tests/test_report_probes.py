"""The probes' report (tonecls.report.probes)."""

from __future__ import annotations

import json


def test_report_renders(biased_probe_result, tmp_path):
    from tonecls.report import probe_report, write_report

    paths = write_report(probe_report(biased_probe_result), tmp_path, "probes")
    document = json.loads(paths["json"].read_text())
    assert document["findings"] == biased_probe_result.findings
    assert "Benjamini-Hochberg" in paths["md"].read_text()
    assert paths["html"].stat().st_size > 1000
    tests = biased_probe_result.tests
    assert (tests["finding"] == (tests["significant"] & (tests["mean_diff"].abs() >= 0.05))).all()
    assert document["verdict"].startswith(f"{int(tests['finding'].sum())} of {len(tests)} comparisons are findings")
    html = paths["html"].read_text()
    assert "difference (A − B)" in html and "p adjusted" in html and "mean_diff" not in html.split("Method")[-1]
