"""Membership-inference attacks (tonecls.privacy.attacks): LiRA and the trained attack."""

from __future__ import annotations

import numpy as np

from tonecls.privacy.attacks import lira_offline_scores, loss_scores, trained_scores
from tonecls.privacy.features import example_features
from tonecls.privacy.metrics import attack_metrics


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
