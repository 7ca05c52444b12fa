"""Statistics shared by evaluation (:mod:`tonecls.model.evaluate`) and the audits
(:mod:`tonecls.audit`): bootstrap resampling, intervals, tests and multiple-testing corrections.

Two bootstraps, each where it is the right tool:

- :func:`stratified_weights` is the engine of the group audit. A resample of ``n`` rows is a
  vector of row weights (how often each row was drawn), drawn within strata (the cells of the
  group columns) so that group sizes stay fixed. Every audit metric is a function of weighted
  sums of per-row features, so the metrics of all resamples of all groups come from one sparse
  product per stratum (:mod:`tonecls.audit.metrics`). ``scipy.stats.bootstrap`` cannot do this:
  it resamples one statistic at a time and materialises each resample's rows, which for tens of
  metrics x groups x thousands of resamples is orders of magnitude slower.
- :func:`paired_mean_interval` wraps ``scipy.stats.bootstrap`` for a mean of paired differences
  (the counterfactual probes: one difference per template), where nothing custom is needed.

Tests: :func:`bootstrap_pvalue` turns a bootstrap (or null) distribution into a two-sided
p-value with a normal approximation, so that p-values are not limited to multiples of
``1 / n_resamples`` (a report with hundreds of comparisons needs p-values far below 0.001 to
survive a correction). :func:`adjust_pvalues` corrects a family of p-values (Benjamini-Hochberg
or Benjamini-Yekutieli false discovery rate via ``scipy.stats.false_discovery_control``, or Holm's
family-wise error rate); NaN p-values (untested) are left out of the family and stay NaN.
(statsmodels' ``multipletests`` does the same, but statsmodels is not a dependency and scipy
already is.)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
from scipy import stats as _stats

from tonecls.errors import InputError

__all__ = [
    "CORRECTIONS",
    "adjust_pvalues",
    "bootstrap_pvalue",
    "check_seed",
    "level_percent",
    "null_variance",
    "paired_mean_interval",
    "percentile_interval",
    "stratified_weights",
]

CORRECTIONS = {
    "fdr_bh": "Benjamini-Hochberg (false discovery rate)",
    "fdr_by": "Benjamini-Yekutieli (false discovery rate under any dependence)",
    "holm": "Holm (family-wise error rate)",
}
"""Multiple-testing corrections by name (the names statsmodels' ``multipletests`` uses)."""


def check_seed(seed: object, *, optional: bool = False) -> None:
    """Refuse a seed numpy's generators cannot take (not a whole number, or negative; None
    only if ``optional``) with an :class:`InputError`, before any work."""
    if seed is None and optional:
        return
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a whole number >= 0, got {seed!r}")


def level_percent(level: float) -> str:
    """A confidence level as a percentage with the decimals it needs, rounded down, never up:
    0.95 -> ``"95%"``, 0.9999 -> ``"99.99%"`` (not ``"100%"``, which no finite interval is)."""
    percent = 100.0 * float(level)
    for decimals in range(7):
        shown = math.floor(percent * 10**decimals + 1e-9) / 10**decimals
        if percent - shown < 1e-9:
            break
    return f"{shown:.{decimals}f}%"


def stratified_weights(
    strata_sizes: list[int], n_resamples: int, seed: int | None, chunk_size: int = 100
) -> Iterator[list[np.ndarray]]:
    """Yield, chunk by chunk, per-stratum weight matrices of shape ``(chunk, n_s)``.

    Each row of a stratum's matrix is a multinomial draw of ``n_s`` rows out of its ``n_s``
    rows. Every stratum has its own random stream derived from ``seed``, so the resamples do
    not depend on ``chunk_size``.
    """
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(strata_sizes))]
    done = 0
    while done < n_resamples:
        size = min(chunk_size, n_resamples - done)
        yield [_resample_counts(rng, n_s, size) for rng, n_s in zip(streams, strata_sizes)]
        done += size


def _resample_counts(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """``size`` resamples of ``n`` rows as counts: how often each row was drawn (a multinomial
    draw, via uniform row indices and one bincount, several times faster than ``multinomial``)."""
    if n == 0:
        return np.zeros((size, 0))
    drawn = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
    return np.bincount(drawn.ravel(), minlength=size * n).reshape(size, n).astype(np.float64)


def percentile_interval(
    replicates: np.ndarray, level: float = 0.95, min_defined: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Percentile interval over axis 0, ignoring undefined (NaN) replicates.

    Returns ``(low, high, defined_fraction)``; the interval is NaN where fewer than
    ``min_defined`` of the replicates are defined (too few examples for a stable interval).
    """
    replicates = np.asarray(replicates, dtype=np.float64)
    defined = np.mean(~np.isnan(replicates), axis=0) if len(replicates) else np.zeros(replicates.shape[1:])
    alpha = (1.0 - level) / 2.0
    low = np.full(replicates.shape[1:], np.nan)
    high = np.full(replicates.shape[1:], np.nan)
    ok = defined >= min_defined
    if len(replicates) and np.any(ok):
        quantiles = np.nanquantile(replicates[:, ok], [alpha, 1.0 - alpha], axis=0)
        low[ok], high[ok] = quantiles[0], quantiles[1]
    return low, high, defined


def bootstrap_pvalue(estimate: float, replicates: np.ndarray, null_value: float = 0.0,
                     min_defined: float = 0.5, min_variance: float = 0.0) -> float:
    """Two-sided p-value of ``estimate != null_value`` from its resampling distribution.

    ``z = (estimate - null_value) / sd(replicates)``, ``p = 2 * (1 - Phi(|z|))``: the bootstrap
    standard error with a normal reference, which resolves p-values far below
    ``1 / len(replicates)``. NaN when the estimate is undefined or fewer than ``min_defined``
    of the replicates are defined; 1 for a zero estimate with no spread and 0 for a non-zero
    estimate with no spread (a difference every resample reproduces exactly).

    ``min_variance`` floors the variance: a bootstrap cannot produce events the sample does
    not have (a rate of 0 or 1 in a small group has no bootstrap spread at all), so callers
    pass the variance the estimate would have under the null hypothesis (see
    :func:`null_variance`).
    """
    replicates = np.asarray(replicates, dtype=np.float64)
    defined = replicates[~np.isnan(replicates)]
    if not np.isfinite(estimate) or len(defined) < max(2, min_defined * len(replicates)):
        return float("nan")
    distance = abs(estimate - null_value)
    se = math.sqrt(max(float(np.var(defined, ddof=1)), float(min_variance)))
    if se <= 1e-12 * max(1.0, abs(estimate)):
        return 1.0 if distance <= 1e-12 else 0.0
    return float(2.0 * _stats.norm.sf(distance / se))


def null_variance(kind: str, value: float, count: float) -> float:
    """Sampling variance of an estimate under the null hypothesis that its true value is
    ``value``, estimated on ``count`` examples: ``value (1 - value) / count`` for a proportion
    (``kind="proportion"``), Hanley & McNeil's (1982) variance with ``count`` positives and
    negatives for an AUC (``kind="auc"``). 0 for an unknown kind or no examples."""
    if not (count > 0 and math.isfinite(value)):
        return 0.0
    value = min(max(value, 0.0), 1.0)
    if kind == "proportion":
        return value * (1.0 - value) / count
    if kind == "auc":
        q1, q2 = value / (2.0 - value), 2.0 * value**2 / (1.0 + value)
        return (value * (1 - value) + (count - 1) * (q1 - value**2) + (count - 1) * (q2 - value**2)) / count**2
    return 0.0


def _holm(p: np.ndarray) -> np.ndarray:
    order = np.argsort(p)
    m = len(p)
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def adjust_pvalues(p: Sequence[float] | np.ndarray, method: str = "fdr_bh") -> np.ndarray:
    """Adjusted p-values of one family (NaN = untested, left out and kept NaN).

    ``fdr_bh``: Benjamini-Hochberg; ``fdr_by``: Benjamini-Yekutieli (valid under any
    dependence between the tests); ``holm``: Holm's step-down family-wise correction. A test is
    rejected at level ``alpha`` when its adjusted p-value is below ``alpha``.
    """
    if method not in CORRECTIONS:
        raise InputError(f"unknown correction {method!r}; choose one of {', '.join(CORRECTIONS)}")
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    valid = ~np.isnan(p)
    if valid.any():
        if method == "holm":
            out[valid] = _holm(p[valid])
        else:
            out[valid] = _stats.false_discovery_control(p[valid], method=method[-2:])
    return out


def paired_mean_interval(differences: np.ndarray, level: float = 0.95, n_resamples: int = 2000,
                         seed: int | np.random.Generator | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of the mean of paired differences, per column.

    ``differences`` is ``(n_units, n_columns)`` (or 1-d): one row per pairing unit (e.g. a
    probe template), resampled with replacement (``scipy.stats.bootstrap``). NaN where there
    are fewer than two units.
    """
    differences = np.asarray(differences, dtype=np.float64)
    squeeze = differences.ndim == 1
    if squeeze:
        differences = differences[:, None]
    n, columns = differences.shape
    if n < 2 or n_resamples < 1:
        nan = np.full(columns, np.nan)
        return (nan[0], nan[0]) if squeeze else (nan, nan.copy())
    result = _stats.bootstrap((differences,), np.mean, axis=0, vectorized=True, paired=False,
                              n_resamples=n_resamples, confidence_level=level,
                              method="percentile", random_state=seed)
    low = np.asarray(result.confidence_interval.low, dtype=np.float64)
    high = np.asarray(result.confidence_interval.high, dtype=np.float64)
    # a column with the same difference in every unit has a degenerate (point) interval
    constant = np.all(differences == differences[:1], axis=0)
    low[constant] = high[constant] = differences[0, constant]
    return (float(low[0]), float(high[0])) if squeeze else (low, high)
