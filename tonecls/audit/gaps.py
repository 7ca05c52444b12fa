"""Gaps of a group audit, tested as one family: what counts as a finding.

A *gap* compares a group's metric with a reference: the whole audited population, or, for
calibration errors, a random group of the same size (a calibration error estimated on fewer
rows is larger by chance, so comparing a small group with the whole population would find
"gaps" that are only sample size). Every gap gets

- the difference and ratio to the reference with percentile intervals (stratified bootstrap;
  for calibration errors, the size-matched null distribution);
- a two-sided p-value (:func:`tonecls.stats.bootstrap_pvalue`);
- a p-value adjusted over *every* tested gap of the audit (one family per report) by the
  chosen correction (:data:`tonecls.stats.CORRECTIONS`);
- ``flagged``: the gap is a finding, i.e. its adjusted p-value is below ``alpha`` **and** it
  is at least the practical minimum of :class:`GapCriteria` (an absolute difference, and/or a
  ratio outside a tolerance such as Aequitas' 0.8-1.25).

Between-group gaps (the highest minus the lowest group) are descriptive: the pair is chosen on
the data, so they are shown with intervals but never tested or flagged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from tonecls.errors import InputError
from tonecls.stats import (
    CORRECTIONS,
    adjust_pvalues,
    bootstrap_pvalue,
    null_variance,
    percentile_interval,
)

__all__ = ["CALIBRATION_METRICS", "GAP_COLUMNS", "GAP_METRICS", "GapCriteria", "between_gaps",
           "group_gaps"]

OVERALL = ("overall", "all")

# metrics compared across groups (label_rate describes the data, not the model)
GAP_METRICS = ("accuracy", "macro_f1", "ece", "mean_confidence", "selection_rate", "precision",
               "recall", "f1", "fpr", "class_ece", "subgroup_auc", "bpsn_auc", "bnsp_auc")
CALIBRATION_METRICS = ("ece", "class_ece")
"""Compared with a random group of the same size, not with the whole population."""

NULL_KIND = {"accuracy": "proportion", "macro_f1": "proportion", "selection_rate": "proportion",
             "precision": "proportion", "recall": "proportion", "f1": "proportion",
             "fpr": "proportion", "subgroup_auc": "auc", "bpsn_auc": "auc", "bnsp_auc": "auc"}
"""How the variance floor of a gap's test is computed (see :func:`tonecls.stats.null_variance`)."""
NESTED = ("bpsn_auc", "bnsp_auc")  # compared with the overall AUC, not their own overall value

REFERENCE_OVERALL = "overall"
REFERENCE_RANDOM = "random group of the same size"

GAP_COLUMNS = [
    "grouping", "group", "n", "small", "support", "metric", "class", "value", "reference",
    "reference_kind", "difference", "difference_ci_low", "difference_ci_high", "ratio",
    "ratio_ci_low", "ratio_ci_high", "p_value", "p_adjusted", "significant",
    "exceeds_minimum", "flagged", "threshold", "reason",
]


@dataclass(frozen=True)
class GapCriteria:
    """When a gap is a finding: the error control and the practical minimum.

    alpha : level of the false discovery rate (or family-wise error rate for ``holm``).
    correction : ``fdr_bh`` (Benjamini-Hochberg, default), ``fdr_by`` (Benjamini-Yekutieli,
        valid under any dependence) or ``holm``; applied to all tested gaps of the audit.
    min_difference : smallest absolute difference that matters (metrics are on a 0-1 scale);
        None: no difference criterion.
    ratio_bounds : ``(low, high)``: a gap matters only if the ratio group / reference is
        outside ``[low, high]`` (e.g. ``(0.8, 1.25)``, the four-fifths rule); None: no ratio
        criterion. With both criteria, a finding must meet both.
    """

    alpha: float = 0.05
    correction: str = "fdr_bh"
    min_difference: float | None = 0.05
    ratio_bounds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise InputError(f"alpha must be in (0, 1), got {self.alpha!r}.")
        if self.correction not in CORRECTIONS:
            raise InputError(f"unknown correction {self.correction!r}; choose one of "
                             f"{', '.join(CORRECTIONS)}.")
        if self.min_difference is not None and not 0 <= self.min_difference < 1:
            raise InputError(f"min_difference must be in [0, 1) or None, got {self.min_difference!r}.")
        if self.ratio_bounds is not None:
            bounds = tuple(float(b) for b in self.ratio_bounds)
            if len(bounds) != 2 or not 0 < bounds[0] <= 1 <= bounds[1]:
                raise InputError(f"ratio_bounds must be (low, high) with 0 < low <= 1 <= high, "
                                 f"got {self.ratio_bounds!r} (e.g. (0.8, 1.25)).")
            object.__setattr__(self, "ratio_bounds", bounds)

    @property
    def correction_name(self) -> str:
        return CORRECTIONS[self.correction]

    def describe(self) -> str:
        """The practical minimum in words, e.g. ``|difference| >= 0.05``."""
        parts = []
        if self.min_difference is not None:
            parts.append(f"|difference| >= {self.min_difference:g}")
        if self.ratio_bounds is not None:
            parts.append(f"ratio outside [{self.ratio_bounds[0]:g}, {self.ratio_bounds[1]:g}]")
        return " and ".join(parts) or "any difference"

    def exceeds(self, difference: np.ndarray, ratio: np.ndarray) -> np.ndarray:
        """Whether each gap is at least the practical minimum (False where undefined)."""
        difference = np.asarray(difference, dtype=float)
        ratio = np.asarray(ratio, dtype=float)
        out = np.isfinite(difference)
        with np.errstate(invalid="ignore"):
            if self.min_difference is not None:
                out &= np.abs(difference) >= self.min_difference - 1e-12
            if self.ratio_bounds is not None:
                low, high = self.ratio_bounds
                out &= np.isfinite(ratio) & ((ratio < low) | (ratio > high))
        return out

    def to_dict(self) -> dict:
        return asdict(self)


Replicates = Callable[[tuple[str, str], str, str], "np.ndarray | None"]


def _interval(replicates: np.ndarray | None, level: float) -> tuple[float, float]:
    if replicates is None:
        return math.nan, math.nan
    low, high, _ = percentile_interval(np.asarray(replicates, dtype=float)[:, None], level)
    return float(low[0]), float(high[0])


def _ratio_replicates(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def group_gaps(metrics: pd.DataFrame, replicates: Replicates, null: Replicates,
               criteria: GapCriteria, level: float, tested: bool) -> pd.DataFrame:
    """Every group's gap to its reference, tested and corrected as one family.

    ``metrics``: the tidy metric table of the audit (``value``, ``reason``, ``small``,
    ``support`` per grouping, group, metric and class). ``replicates(key, metric, cls)``: the
    bootstrap replicates of a metric (None without bootstrap); ``null(key, metric, cls)``: draws
    of a calibration metric for random groups of the size of ``key``'s group. ``tested``:
    whether resampling was run at all.
    """
    indexed = {(r.grouping, r.group, r.metric, r["class"]): r for _, r in metrics.iterrows()}
    overall_metric = {"bpsn_auc": "subgroup_auc", "bnsp_auc": "subgroup_auc"}
    rows = []
    for (grouping, group, metric, cls), row in indexed.items():
        if grouping == OVERALL[0] or metric not in GAP_METRICS:
            continue
        key = (grouping, group)
        calibration = metric in CALIBRATION_METRICS
        reason = row.reason
        if calibration:
            draws = None if reason or row.small or not tested else null(key, metric, cls)
            reference = float(np.nanmean(draws)) if draws is not None else math.nan
            kind = REFERENCE_RANDOM
        else:
            base = indexed.get((*OVERALL, overall_metric.get(metric, metric), cls))
            if base is None:
                continue
            reason = reason or base.reason
            reference = base.value
            kind = REFERENCE_OVERALL
        defined = not reason and math.isfinite(row.value) and math.isfinite(reference)
        difference = row.value - reference if defined else math.nan
        ratio = row.value / reference if defined and reference else math.nan
        d_lo = d_hi = r_lo = r_hi = p = math.nan
        if defined and tested and not row.small:
            if calibration:
                # the group against random groups of its size: value minus each null draw
                diff_reps = row.value - draws
                ratio_reps = _ratio_replicates(np.full_like(draws, row.value), draws)
                p = bootstrap_pvalue(difference, draws)
            else:
                g = replicates(key, metric, cls)
                o = replicates(OVERALL, overall_metric.get(metric, metric), cls)
                diff_reps = g - o
                ratio_reps = _ratio_replicates(g, o)
                # variance of group - overall if the group's true value were the overall's
                null_kind = NULL_KIND.get(metric, "")
                floor = null_variance(null_kind, reference, row.support)
                if metric not in NESTED:
                    floor -= null_variance(null_kind, reference, base.support)
                p = bootstrap_pvalue(difference, diff_reps, min_variance=max(floor, 0.0))
            d_lo, d_hi = _interval(diff_reps, level)
            r_lo, r_hi = _interval(ratio_reps, level)
        if not reason:
            if row.small:
                reason = f"group smaller than the minimum size ({row.n} rows)"
            elif not tested:
                reason = "not tested: no bootstrap (n_bootstrap=0)"
            elif math.isnan(p):
                reason = "not tested: too few resamples define the metric"
        rows.append({
            "grouping": grouping, "group": group, "n": row.n, "small": row.small,
            "support": row.support, "metric": metric, "class": cls, "value": row.value,
            "reference": reference, "reference_kind": kind, "difference": difference,
            "difference_ci_low": d_lo, "difference_ci_high": d_hi, "ratio": ratio,
            "ratio_ci_low": r_lo, "ratio_ci_high": r_hi, "p_value": p, "reason": reason,
        })
    gaps = pd.DataFrame.from_records(rows, columns=[c for c in GAP_COLUMNS if c not in (
        "p_adjusted", "significant", "exceeds_minimum", "flagged", "threshold")])
    return _correct(gaps, criteria)


def _correct(gaps: pd.DataFrame, criteria: GapCriteria) -> pd.DataFrame:
    """Adjusted p-values over the whole family, significance, practical size, ``flagged``."""
    p_adjusted = adjust_pvalues(gaps["p_value"].to_numpy(dtype=float), criteria.correction)
    tested = ~np.isnan(p_adjusted)
    significant = tested & (np.nan_to_num(p_adjusted, nan=1.0) < criteria.alpha)
    exceeds = criteria.exceeds(gaps["difference"].to_numpy(dtype=float), gaps["ratio"].to_numpy(dtype=float))
    gaps = gaps.assign(
        p_adjusted=p_adjusted,
        significant=pd.array(np.where(tested, significant, pd.NA), dtype="boolean"),
        exceeds_minimum=exceeds,
        flagged=significant & exceeds,
        threshold=criteria.describe(),
    )
    return gaps[GAP_COLUMNS]


def between_gaps(metrics: pd.DataFrame, replicates: Replicates, level: float,
                 criteria: GapCriteria) -> pd.DataFrame:
    """Per grouping, metric and class: the highest minus the lowest eligible group.

    Descriptive only: the pair is chosen on the data, so its interval overstates the gap
    slightly and it carries no test (``flagged`` is always False). Calibration errors are left
    out (their group values differ by sample size alone).
    """
    columns = ["grouping", "metric", "class", "group_high", "value_high", "n_high", "group_low",
               "value_low", "n_low", "difference", "difference_ci_low", "difference_ci_high",
               "ratio", "ratio_ci_low", "ratio_ci_high", "p_value", "p_adjusted", "flagged",
               "threshold", "reason"]
    eligible = metrics[(metrics.grouping != OVERALL[0]) & (metrics.reason == "") & ~metrics.small
                       & metrics.metric.isin(GAP_METRICS) & ~metrics.metric.isin(CALIBRATION_METRICS)]
    rows = []
    for (grouping, metric, cls), block in eligible.groupby(["grouping", "metric", "class"], sort=False):
        if len(block) < 2:
            continue
        high, low = block.loc[block.value.idxmax()], block.loc[block.value.idxmin()]
        d_lo = d_hi = r_lo = r_hi = math.nan
        h = replicates((grouping, high.group), metric, cls)
        if h is not None:
            lo = replicates((grouping, low.group), metric, cls)
            d_lo, d_hi = _interval(h - lo, level)
            r_lo, r_hi = _interval(_ratio_replicates(lo, h), level)
        rows.append({
            "grouping": grouping, "metric": metric, "class": cls,
            "group_high": high.group, "value_high": high.value, "n_high": high.n,
            "group_low": low.group, "value_low": low.value, "n_low": low.n,
            "difference": high.value - low.value, "difference_ci_low": d_lo,
            "difference_ci_high": d_hi, "ratio": low.value / high.value if high.value else math.nan,
            "ratio_ci_low": r_lo, "ratio_ci_high": r_hi, "p_value": math.nan,
            "p_adjusted": math.nan, "flagged": False, "threshold": criteria.describe(),
            "reason": "descriptive: the pair is chosen on the data, so it is not tested",
        })
    return pd.DataFrame.from_records(rows, columns=columns)
