"""Temperature scaling, multi-label thresholds and reliability bins (tonecls.model.calibration)."""

from __future__ import annotations

import numpy as np
import pytest

from tonecls.model.calibration import fit_temperature, negative_log_likelihood, tune_thresholds


def test_temperature_scaling_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (4000, 4))
    true_t = 2.5
    p = np.exp(logits / true_t)
    p /= p.sum(axis=1, keepdims=True)
    targets = np.array([rng.choice(4, p=row) for row in p])
    fitted = fit_temperature(logits, targets, multilabel=False)
    assert fitted == pytest.approx(true_t, rel=0.1)
    assert negative_log_likelihood(logits, targets, False, fitted) <= negative_log_likelihood(logits, targets, False)


def test_thresholds_maximise_per_class_f1():
    proba = np.array([[0.9, 0.30], [0.8, 0.35], [0.2, 0.25], [0.1, 0.05]])
    targets = np.array([[1, 1], [1, 1], [0, 0], [0, 0]])
    thresholds = tune_thresholds(proba, targets)
    assert 0.2 < thresholds[0] <= 0.8
    assert 0.25 < thresholds[1] <= 0.30
    assert ((proba >= thresholds) == targets).all()


def test_reliability_bins_match_scikit_learn_and_give_the_ece():
    """The reliability diagram's bins equal scikit-learn's calibration_curve (uniform bins) and
    the ECE is their count-weighted mean gap, for single- and multi-label heads."""
    from sklearn.calibration import calibration_curve

    from tonecls.model.calibration import expected_calibration_error, reliability_bins

    rng = np.random.default_rng(3)
    logits = rng.normal(size=(2000, 4)) * 2
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    targets = rng.integers(0, 4, size=2000)
    multi_proba = rng.uniform(size=(500, 3))
    multi_targets = (rng.uniform(size=(500, 3)) < multi_proba).astype(float)
    for p, t, multilabel in ((proba, targets, False), (multi_proba, multi_targets, True)):
        confidence = p.ravel() if multilabel else p.max(axis=1)
        correct = t.ravel() if multilabel else (p.argmax(axis=1) == t).astype(float)
        observed_sk, predicted_sk = calibration_curve(correct, confidence, n_bins=15, strategy="uniform")
        mean_confidence, observed, count = reliability_bins(p, t, multilabel, n_bins=15)
        filled = count > 0
        np.testing.assert_allclose(observed[filled], observed_sk, atol=1e-12)
        np.testing.assert_allclose(mean_confidence[filled], predicted_sk, atol=1e-12)
        assert count.sum() == len(confidence)
        expected = (count[filled] * np.abs(observed[filled] - mean_confidence[filled])).sum() / count.sum()
        assert expected_calibration_error(p, t, multilabel, n_bins=15) == pytest.approx(expected, abs=1e-12)
    assert np.isnan(expected_calibration_error(np.zeros((0, 3)), np.zeros(0, dtype=int), False))
