"""Membership inference (tonecls.privacy): metrics on synthetic scores with known answers, the
attacks, the result's JSON contract and report, and the loss attack against a real bundle."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import norm

from tonecls.privacy.attacks import lira_offline_scores, loss_scores, trained_scores
from tonecls.privacy.features import example_features
from tonecls.privacy.metrics import attack_metrics, bootstrap_replicates, epsilon_lower_bound, roc_counts


def test_auc_tpr_and_advantage_match_scikit_learn_with_ties():
    from sklearn.metrics import roc_auc_score, roc_curve

    rng = np.random.default_rng(0)
    scores = np.round(np.r_[rng.normal(0.7, 1, 500), rng.normal(0, 1, 700)], 1)  # many ties
    member = np.r_[np.ones(500, bool), np.zeros(700, bool)]
    metrics = attack_metrics(scores, member, delta=1e-5, n_resamples=50)
    fpr, tpr, _ = roc_curve(member, scores)
    assert metrics["auc"] == pytest.approx(roc_auc_score(member, scores), abs=1e-12)
    assert metrics["tpr_at_fpr_0.01"] == pytest.approx(tpr[fpr <= 0.01].max())
    assert metrics["advantage"] == pytest.approx((tpr - fpr).max())


def test_known_separation_gives_the_known_auc():
    """Member scores N(d, 1), non-members N(0, 1): AUC = Phi(d / sqrt(2))."""
    rng = np.random.default_rng(1)
    d = 1.0
    scores = np.r_[rng.normal(d, 1, 4000), rng.normal(0, 1, 4000)]
    member = np.r_[np.ones(4000, bool), np.zeros(4000, bool)]
    metrics = attack_metrics(scores, member, delta=1e-5, n_resamples=300)
    assert metrics["auc_ci_low"] < norm.cdf(d / np.sqrt(2)) < metrics["auc_ci_high"]
    assert metrics["auc_ci_high"] - metrics["auc_ci_low"] < 0.04


def test_identical_distributions_give_chance_and_intervals_cover_it_at_the_nominal_rate():
    """300 audits of members and non-members from one distribution: the AUC is about 0.5 and
    the 95% bootstrap interval covers 0.5 in about 95% of them (binomial tolerance)."""
    rng = np.random.default_rng(2)
    member = np.r_[np.ones(150, bool), np.zeros(200, bool)]
    covered, aucs = 0, []
    for trial in range(300):
        scores = rng.normal(size=len(member))
        replicates = bootstrap_replicates(scores, member, 400, seed=trial)[:, 0]
        low, high = np.quantile(replicates, [0.025, 0.975])
        covered += low <= 0.5 <= high
        aucs.append(roc_counts(scores, member).auc())
    assert abs(np.mean(aucs) - 0.5) < 0.01
    assert 0.91 <= covered / 300 <= 0.985, covered


def test_epsilon_lower_bound_is_sound_and_detects_a_leaky_mechanism():
    """Randomised response with epsilon 1 (members answer 1 with probability e/(1+e)): the
    bound never exceeds the true epsilon in 40 trials, is clearly positive with 4,000
    examples, and is 0 for scores that carry no membership signal."""
    rng = np.random.default_rng(3)
    p = np.e / (1 + np.e)
    member = np.r_[np.ones(2000, bool), np.zeros(2000, bool)]
    bounds = [epsilon_lower_bound(np.where(member, rng.random(4000) < p, rng.random(4000) < 1 - p).astype(float),
                                  member, delta=0.0) for _ in range(40)]
    assert max(bounds) <= 1.0 and min(bounds) > 0.7
    assert epsilon_lower_bound(rng.normal(size=4000), member, delta=1e-5) < 0.2


def test_lira_calibrates_per_post_difficulty_and_beats_the_loss_attack():
    """Posts differ in difficulty (reference models agree on it); members gain a little
    confidence: LiRA, which subtracts each post's reference mean, sees it far better than
    the raw confidence or loss."""
    rng = np.random.default_rng(4)
    n = 2000
    difficulty = rng.normal(0, 3, n)
    member = rng.random(n) < 0.5
    confidence = difficulty + 0.5 * member + rng.normal(0, 0.3, n)
    references = difficulty[None, :] + rng.normal(0, 0.3, (4, n))
    lira = attack_metrics(lira_offline_scores(confidence, references), member, delta=1e-5, n_resamples=100)
    raw = attack_metrics(confidence, member, delta=1e-5, n_resamples=100)
    assert lira["auc"] > 0.8 > raw["auc"] + 0.1


def test_trained_attack_learns_a_class_specific_signal():
    """Members have a low loss in class 0 and a high loss in class 1: no single threshold on
    the loss separates them, the cross-fitted attack model does."""
    rng = np.random.default_rng(5)
    n = 800
    label = rng.integers(0, 2, n)
    member = rng.random(n) < 0.5
    true_p = np.clip(0.6 + np.where(member, 0.25, 0.0) * np.where(label == 0, 1, -1) + rng.normal(0, 0.05, n),
                     0.01, 0.99)
    proba = np.column_stack([np.where(label == 0, true_p, 1 - true_p), np.where(label == 1, true_p, 1 - true_p)])
    features = example_features(proba, label, multilabel=False)
    loss = attack_metrics(loss_scores(features), member, delta=1e-5, n_resamples=50)
    trained = attack_metrics(trained_scores(features, member, seed=0), member, delta=1e-5, n_resamples=50)
    assert abs(loss["auc"] - 0.5) < 0.05 and trained["auc"] > 0.85


def test_features_of_single_and_multi_label_probabilities():
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    f = example_features(proba, np.array([0, 1]), multilabel=False)
    np.testing.assert_allclose(f.loss, -np.log([0.7, 0.1]))
    np.testing.assert_allclose(f.margin, [0.5, -0.7])
    np.testing.assert_allclose(f.confidence, np.log([0.7 / 0.3, 0.1 / 0.9]))
    np.testing.assert_array_equal(f.correct, [True, False])
    m = example_features(np.array([[0.9, 0.2]]), np.array([[1.0, 0.0]]), multilabel=True)
    np.testing.assert_allclose(m.loss, -np.log(0.9) - np.log(0.8))
    assert m.correct.tolist() == [True] and m.margin[0] == pytest.approx(0.6)


@pytest.fixture(scope="module")
def tiny_audit(tiny_bundle):
    from support import synthetic_posts, tiny_data

    from tonecls.model import LabelledSplit, load_model
    from tonecls.privacy import audit_membership

    model = load_model(tiny_bundle)
    members = tiny_data()["tone"]["train"]
    posts, labels = synthetic_posts(150, seed=9)
    non_members = LabelledSplit(posts, labels)
    result = audit_membership(model, members, non_members, "tone", attacks=["loss", "trained"], n_resamples=200)
    return model, members, non_members, result


def test_loss_attack_auc_equals_an_independent_computation_from_the_bundle_scores(tiny_audit):
    from sklearn.metrics import roc_auc_score

    model, members, non_members, result = tiny_audit
    classes = model.head("tone").classes
    losses = []
    for split in (members, non_members):
        scored = model.predict(split.texts, all_languages=True)  # the bundle's own scored probabilities
        p_true = scored[[f"tone_p_{c}" for c in classes]].to_numpy()[np.arange(len(split)), split.targets]
        losses.append(-np.log(p_true))
    is_member = np.r_[np.ones(len(members)), np.zeros(len(non_members))]
    independent = roc_auc_score(is_member, -np.concatenate(losses))
    assert abs(result.attack("loss").metrics["auc"] - independent) < 1e-9


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


def test_every_card_has_a_privacy_section(tiny_bundle):
    card = (tiny_bundle / "MODEL_CARD.md").read_text()
    assert "## Privacy" in card and "Membership inference: not measured" in card
    assert "What this means for sharing the bundle" in card
