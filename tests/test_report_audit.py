"""The group audit's report (tonecls.report.audit): the test contract in the JSON, the same
numbers in the HTML, user values literal in Markdown."""

from __future__ import annotations

import html
import json

from support import metric_row, scored_frame

from tonecls.audit.groups import audit_groups
from tonecls.report import audit_report, write_report


def test_gap_records_carry_the_test_contract(injected_audit, tmp_path):
    _, result = injected_audit
    data = json.loads(write_report(audit_report(result), tmp_path)["json"].read_text(encoding="utf-8"))
    assert data["verdict"] == result.verdict and data["data"]["verdict"] == result.verdict
    records = data["data"]["gaps"]
    for record in records:
        for key in ("flagged", "p_value", "p_adjusted", "threshold", "significant", "exceeds_minimum"):
            assert key in record
        assert record["flagged"] == bool(record["significant"] and record["exceeds_minimum"])
        assert record["p_adjusted"] is None or record["p_adjusted"] >= record["p_value"] - 1e-15
    assert data["data"]["settings"]["correction"] == "fdr_bh"
    assert data["data"]["settings"]["min_difference"] == 0.05
    assert all(r["flagged"] is False for r in data["data"]["between"])
    html_page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert html_page.index('class="verdict"') < html_page.index('id="findings"')
    accuracy = metric_row(result, "dialect", "aa", "accuracy").value
    assert f"{accuracy:.3f}" in html_page  # the tables shown carry the same numbers
    assert "<details" in html_page
    fragment = result._repr_html_()
    assert html.escape(result.verdict) in fragment and "<table" in fragment


def test_markdown_reports_keep_user_values_literal(tmp_path):
    frame = scored_frame(600, seed=25)
    frame["dialect"] = frame["dialect"].map({"aa": "**aa** [x](http://evil)", "white": "<b>white</b>",
                                            "other": "- other | # x"}).fillna("other")
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect"], n_bootstrap=0, quiet=True)
    markdown = write_report(audit_report(result), tmp_path, "r")["md"].read_text(encoding="utf-8")
    assert "**aa**" not in markdown and "\\*\\*aa\\*\\*" in markdown
    assert "[x](http" not in markdown and "<b>white" not in markdown
