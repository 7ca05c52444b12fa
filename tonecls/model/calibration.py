"""Post-processing fitted on validation data: temperature scaling and multi-label thresholds."""

from __future__ import annotations

import numpy as np

ECE_BINS = 15
"""Equal-width confidence bins of the expected calibration error (Guo et al. 2017), wherever
tonecls measures it (evaluation, model cards, the audits)."""


def negative_log_likelihood(logits: np.ndarray, targets: np.ndarray, multilabel: bool,
                            temperature: float = 1.0) -> float:
    """Mean NLL of ``targets`` (class ids, or a multi-hot matrix) under ``logits / temperature``,
    computed from the logits (scipy.special's log-softmax / log-sigmoid: no overflow, no clipping)."""
    from scipy.special import log_expit, log_softmax

    scaled = np.asarray(logits, dtype=np.float64) / temperature
    if multilabel:
        return float(-np.mean(targets * log_expit(scaled) + (1 - targets) * log_expit(-scaled)))
    return float(-np.mean(log_softmax(scaled, axis=1)[np.arange(len(targets)), targets]))


def fit_temperature(logits: np.ndarray, targets: np.ndarray, multilabel: bool) -> float:
    """The temperature T in [0.05, 20] minimising validation NLL of ``logits / T`` (Guo et al., 2017)."""
    from scipy.optimize import (
        minimize_scalar,  # imported on use: scoring imports this module
    )

    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, targets, multilabel, float(np.exp(log_t))),
        bounds=(np.log(0.05), np.log(20.0)), method="bounded",
    )
    return float(np.exp(result.x))


def tune_thresholds(proba: np.ndarray, targets: np.ndarray,
                    grid: np.ndarray | None = None) -> np.ndarray:
    """Per-class probability thresholds maximising each class's F1 on validation data.

    Classes with no positive example keep 0.5. Ties go to the threshold closest to 0.5.
    """
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2) if grid is None else np.asarray(grid)
    thresholds = np.full(proba.shape[1], 0.5)
    for j in range(proba.shape[1]):
        positive = targets[:, j] > 0.5
        if not positive.any():
            continue
        predicted = proba[:, j][None, :] >= grid[:, None]
        tp = (predicted & positive).sum(axis=1)
        f1 = 2 * tp / (predicted.sum(axis=1) + positive.sum())
        best = np.flatnonzero(f1 >= f1.max() - 1e-12)
        thresholds[j] = grid[best[np.argmin(np.abs(grid[best] - 0.5))]]
    return thresholds




def reliability_bins(proba: np.ndarray, targets: np.ndarray, multilabel: bool,
                     n_bins: int = ECE_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reliability-diagram bins: ``(mean confidence, observed accuracy, count)`` per equal-width
    confidence bin (NaN where a bin is empty).

    Single-label heads: the top label's probability against whether it is right.
    Multi-label heads: every (post, class) probability against whether the class is present.
    """
    proba = np.asarray(proba, dtype=np.float64)
    if multilabel:
        confidence, correct = proba.ravel(), np.asarray(targets, dtype=np.float64).ravel()
    else:
        confidence = proba.max(axis=1) if len(proba) else np.zeros(0)
        correct = (proba.argmax(axis=1) == np.asarray(targets)).astype(np.float64) if len(proba) else np.zeros(0)
    bins = np.clip((confidence * n_bins).astype(np.int64), 0, n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(bins, confidence, n_bins) / count
        observed = np.bincount(bins, correct, n_bins) / count
    return mean_confidence, observed, count


def expected_calibration_error(proba: np.ndarray, targets: np.ndarray, multilabel: bool,
                               n_bins: int = ECE_BINS) -> float:
    """Expected calibration error (Guo et al., 2017): the mean |accuracy - confidence| over
    equal-width confidence bins (:func:`reliability_bins`), weighted by the share of
    predictions in each bin."""
    mean_confidence, observed, count = reliability_bins(proba, targets, multilabel, n_bins)
    if count.sum() == 0:
        return float("nan")
    filled = count > 0
    return float((count[filled] * np.abs(observed[filled] - mean_confidence[filled])).sum() / count.sum())
