"""Membership-inference metrics (tonecls.privacy.metrics) on synthetic scores with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

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


@pytest.mark.slow
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
