"""Prediction-powered inference (PPI++) for means, with normal-approximation intervals.

A share of posts with some tone is the mean of a 0/1 label. With ``n`` posts labelled by hand
(``labels``), the model's predictions on them (``predictions``) and on the posts that stand for
the population (``unlabelled_predictions``), PPI++ (Angelopoulos, Duchi & Zrnic 2023,
"PPI++: Efficient prediction-powered inference", arXiv:2311.01453) estimates the mean as::

    theta(lam) = lam * mean(unlabelled_predictions) + mean(labels - lam * predictions)

the model's mean corrected by its mean error on the labelled rows, with ``lam`` in [0, 1]
tuned to minimise the variance (power tuning; ``lam=0`` is the classical mean of the labels,
``lam=1`` plain PPI). The estimate is unbiased whatever the model's errors, provided the
labelled rows are a random sample of the rows they stand for, and the interval is the CLT
interval ``theta +- z * se`` with ``se**2 = var(labels - lam * predictions) / n +
lam**2 var(unlabelled_predictions) / N``.

Rows of a sample drawn with unequal inclusion probabilities (a stratified sample) carry
Horvitz-Thompson weights ``1 / inclusion_probability`` (``weights``), normalised to mean 1 as
in ``ppi_py``. Every figure here equals ``ppi_py.ppi_mean_ci`` / ``ppi_mean_pointestimate`` /
``classical_mean_ci`` (``ppi-python`` 0.2, the test oracle) to 1e-9; ``ppi-python`` itself is
not a dependency (it imports numba, statsmodels and scikit-learn for these few lines).

Columns are estimated side by side: ``labels`` and the predictions may be ``(n, d)`` (one
column per class). ``shared_lam=True`` tunes one ``lam`` for all columns (ppi_py's
``"overall"`` mode: the shares of a single-label head then still sum to 1), ``False`` one per
column (``"element"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _stats

from tonecls.errors import InputError

__all__ = [
    "Difference",
    "MeanEstimate",
    "classical_mean",
    "mean_difference",
    "power_tuned_lambda",
    "ppi_mean",
    "z_value",
]


@dataclass(frozen=True)
class MeanEstimate:
    """Means of ``d`` columns with their standard errors and intervals (arrays of shape ``(d,)``).

    ``lam`` is the weight given to the model's predictions (0: the labels alone). Entries are
    NaN where they are undefined (no labelled row; no interval from fewer than 2).
    """

    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    lam: np.ndarray
    n_labelled: int
    n_unlabelled: int
    confidence: float


@dataclass(frozen=True)
class Difference:
    """``first - second`` of two independent :class:`MeanEstimate` s, per column, with its
    interval at ``confidence`` and the two-sided p-value of "no difference"."""

    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_value: np.ndarray
    confidence: float


def z_value(confidence: float) -> float:
    """The two-sided normal quantile of ``confidence`` (1.645 for 0.9); ``InputError`` outside (0, 1)."""
    if not (isinstance(confidence, (int, float)) and 0.0 < confidence < 1.0):
        raise InputError(f"confidence must be a number strictly between 0 and 1 (e.g. 0.9), got {confidence!r}")
    return float(_stats.norm.ppf(0.5 + confidence / 2.0))


def _as_2d(values: np.ndarray | list, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise InputError(f"{what} must be a vector or an (n, d) matrix, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise InputError(f"{what} holds NaN or infinite values; pass only rows with a label and a prediction")
    return array


def _normalised(weights: np.ndarray | None, n: int) -> np.ndarray:
    """Row weights as a column of mean 1 (all ones without ``weights``), as ``ppi_py`` does."""
    if weights is None:
        return np.ones((n, 1))
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    if len(weights) != n or not np.isfinite(weights).all() or (weights <= 0).any():
        raise InputError(f"weights must be {n} finite positive numbers (1 / inclusion probability), one per row")
    return (weights / weights.sum() * n)[:, None]


def power_tuned_lambda(labels: np.ndarray, predictions: np.ndarray, unlabelled_predictions: np.ndarray,
                       weights: np.ndarray | None = None, unlabelled_weights: np.ndarray | None = None,
                       shared: bool = True) -> np.ndarray:
    """The variance-minimising ``lam`` of PPI++ per column, clipped to [0, 1].

    ``lam = cov(w Y, w Yhat) / ((1 + n / N) var(w Yhat over both samples))`` (ADZ23, eq. for
    the mean), with one ``lam`` for all columns (``shared``: the ratio of the summed
    covariances and variances) or one per column. Predictions with no variance get 0.
    """
    y, yhat, yhat_u = (_as_2d(a, name) for a, name in ((labels, "labels"), (predictions, "predictions"),
                                                       (unlabelled_predictions, "unlabelled_predictions")))
    n, big_n = len(y), len(yhat_u)
    w, w_u = _normalised(weights, n), _normalised(unlabelled_weights, big_n)
    centre = (w_u * yhat_u).mean(0) + (w * (y - yhat)).mean(0)  # the estimate at lam = 1
    grads, grads_hat = w * (y - centre), w * (yhat - centre)
    covariance = 2.0 / n * np.einsum("ij,ij->j", grads - grads.mean(0), grads_hat - grads_hat.mean(0))
    pooled = np.concatenate([grads_hat, w_u * (yhat_u - centre)])
    variance = 2.0 * (1.0 + n / big_n) * pooled.var(0, ddof=1)
    if shared:
        covariance, variance = np.full(y.shape[1], covariance.sum()), np.full(y.shape[1], variance.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        lam = np.where(variance > 0, covariance / np.where(variance > 0, variance, 1.0), 0.0)
    return np.clip(lam, 0.0, 1.0)


def ppi_mean(labels: np.ndarray, predictions: np.ndarray, unlabelled_predictions: np.ndarray, *,
             confidence: float = 0.9, lam: float | np.ndarray | None = None, shared_lam: bool = True,
             weights: np.ndarray | None = None, unlabelled_weights: np.ndarray | None = None,
             floor_label_variance: bool = False) -> MeanEstimate:
    """PPI++ estimate and CLT interval of the mean of each column of ``labels``.

    Parameters
    ----------
    labels : (n,) or (n, d) array
        The hand labels of the labelled rows (0/1 per class for a share).
    predictions : array like ``labels``
        The model's predictions for the same rows (probabilities or 0/1 predicted labels).
    unlabelled_predictions : (N,) or (N, d) array
        The model's predictions for the rows the estimate stands for.
    confidence : float
        Level of the two-sided interval, in (0, 1).
    lam : float or (d,) array, optional
        Fixed weight of the predictions; None (default) tunes it (:func:`power_tuned_lambda`).
    shared_lam : bool
        Tune one ``lam`` for every column (default) or one per column.
    weights, unlabelled_weights : (n,) / (N,) arrays, optional
        Row weights (Horvitz-Thompson: 1 / inclusion probability), normalised to mean 1.
    floor_label_variance : bool
        For 0/1 labels: use at least the Agresti-Coull variance ``p~ (1 - p~)`` with
        ``p~ = (k + z**2 / 2) / (n + z**2)`` for the labels' share of the rectifier's variance,
        so that a rare class with few or no labelled examples does not get a falsely narrow
        interval (off by default: the figures then equal ``ppi_py``'s).

    Returns
    -------
    MeanEstimate
    """
    z = z_value(confidence)
    y, yhat, yhat_u = (_as_2d(a, name) for a, name in ((labels, "labels"), (predictions, "predictions"),
                                                       (unlabelled_predictions, "unlabelled_predictions")))
    if yhat.shape != y.shape or yhat_u.shape[1:] != y.shape[1:]:
        raise InputError(f"labels {y.shape}, predictions {yhat.shape} and unlabelled predictions "
                         f"{yhat_u.shape} must have the same columns, and labels one prediction per row")
    n, big_n, d = len(y), len(yhat_u), y.shape[1]
    if n == 0 or big_n == 0:
        nan = np.full(d, np.nan)
        return MeanEstimate(nan, nan, nan, nan, nan, n, big_n, confidence)
    w, w_u = _normalised(weights, n), _normalised(unlabelled_weights, big_n)
    if lam is None:
        lam_values = power_tuned_lambda(y, yhat, yhat_u, weights, unlabelled_weights, shared_lam) \
            if n >= 2 else np.zeros(d)
    else:
        lam_values = np.broadcast_to(np.asarray(lam, dtype=np.float64), (d,)).copy()
    estimate = (w_u * lam_values * yhat_u).mean(0) + (w * (y - lam_values * yhat)).mean(0)
    rectifier_variance = (w * (y - lam_values * yhat)).var(0)
    if floor_label_variance:
        rectifier_variance = rectifier_variance + _label_variance_shortfall(w * y, z)
    se = np.sqrt((w_u * (lam_values * yhat_u)).var(0) / big_n + rectifier_variance / n)
    if n < 2:
        se = np.full(d, np.nan)
    return MeanEstimate(estimate, se, estimate - z * se, estimate + z * se, lam_values, n, big_n, confidence)


def _label_variance_shortfall(weighted_labels: np.ndarray, z: float) -> np.ndarray:
    """How much the labels' variance falls short of the Agresti-Coull variance of their share."""
    n = len(weighted_labels)
    adjusted = (weighted_labels.sum(0) + z**2 / 2.0) / (n + z**2)
    return np.maximum(adjusted * (1.0 - adjusted) - weighted_labels.var(0), 0.0)


def classical_mean(labels: np.ndarray, *, confidence: float = 0.9,
                   weights: np.ndarray | None = None) -> MeanEstimate:
    """The mean of ``labels`` alone with its CLT interval (``ppi_py.classical_mean_ci``); the
    comparison for :func:`ppi_mean` and what it reduces to with ``lam=0``."""
    z = z_value(confidence)
    y = _as_2d(labels, "labels")
    n, d = y.shape
    if n == 0:
        nan = np.full(d, np.nan)
        return MeanEstimate(nan, nan, nan, nan, np.zeros(d), 0, 0, confidence)
    weighted = _normalised(weights, n) * y
    estimate = weighted.mean(0)
    se = weighted.std(0) / math.sqrt(n) if n >= 2 else np.full(d, np.nan)
    return MeanEstimate(estimate, se, estimate - z * se, estimate + z * se, np.zeros(d), n, 0, confidence)


def mean_difference(first: MeanEstimate, second: MeanEstimate, confidence: float | None = None) -> Difference:
    """``first - second`` of two estimates from disjoint rows (two groups, two periods): the
    variances add; the interval is the CLT interval, the p-value two-sided (normal)."""
    confidence = first.confidence if confidence is None else confidence
    z = z_value(confidence)
    estimate = first.estimate - second.estimate
    se = np.sqrt(first.se**2 + second.se**2)
    with np.errstate(invalid="ignore", divide="ignore"):
        distance = np.abs(estimate) / se
    p_value = np.where(se > 0, 2.0 * _stats.norm.sf(distance), np.where(np.abs(estimate) > 0, 0.0, 1.0))
    p_value = np.where(np.isfinite(estimate) & np.isfinite(se), p_value, np.nan)
    return Difference(estimate, se, estimate - z * se, estimate + z * se, p_value, confidence)
