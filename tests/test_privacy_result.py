"""The membership-inference result (tonecls.privacy.result): JSON contract, views and report."""

from __future__ import annotations

import json

import pytest


def test_result_json_contract_views_and_report(tiny_audit, tmp_path):
    from tonecls.privacy import audit_bundle, record_membership
    from tonecls.report import write_report
    from tonecls.report.privacy import privacy_report

    model, members, non_members, result = tiny_audit
    data = json.loads(json.dumps(result.to_dict()))
    entries = data["membership_inference"]
    assert [e["attack"] for e in entries] == ["loss", "trained"]
    for entry in entries:
        assert {"attack", "auc", "auc_ci_low", "auc_ci_high", "tpr_at_fpr_0.01", "tpr_at_fpr_0.001"} <= set(entry)
        assert entry["auc_ci_low"] <= entry["auc"] <= entry["auc_ci_high"]
    assert data["verdict"] == result.verdict and result.verdict
    assert set(result.by_class["class"]) == set(model.head("tone").classes)
    assert set(result.misclassified["subset"]) == {"misclassified", "correctly classified"}
    assert list(result.summary.index) == ["loss", "trained"]
    paths = write_report(privacy_report(result), tmp_path, "privacy")
    written = json.loads(paths["json"].read_text())
    assert written["verdict"] == result.verdict and written["data"]["membership_inference"][0]["attack"] == "loss"
    assert "ROC curves" in paths["md"].read_text()
    record_membership(model, result)
    saved = model.save(tmp_path / "audited")
    reloaded, _ = audit_bundle(saved, members, non_members, "tone", attacks=["loss"], n_resamples=50)
    assert reloaded.metadata_["privacy"]["membership_audit"]["membership_inference"][0]["auc"] == \
        pytest.approx(result.attack("loss").metrics["auc"], abs=1e-12)
    meta = json.loads((saved / "bundle.json").read_text())
    assert meta["privacy"]["membership_audit"]["membership_inference"][0]["auc"] == pytest.approx(entries[0]["auc"])
    card = (saved / "MODEL_CARD.md").read_text()
    assert "## Privacy" in card and result.verdict in card and "Trained without differential privacy" in card
