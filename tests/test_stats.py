"""Tests of tonecls.stats: corrections against their definitions, bootstrap p-values and intervals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tonecls.errors import InputError
from tonecls.stats import (
    adjust_pvalues,
    bootstrap_pvalue,
    paired_mean_interval,
    percentile_interval,
    stratified_weights,
)


def _bh_by_definition(p, dependence_factor=1.0):
    """Step-up adjusted p-values written out from Benjamini & Hochberg (1995) / Yekutieli (2001)."""
    m = len(p)
    order = np.argsort(p)
    ranked = p[order] * m * dependence_factor / np.arange(1, m + 1)
    adjusted = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    out = np.empty(m)
    out[order] = adjusted
    return out


def test_adjust_pvalues_match_their_definitions_and_keep_nan():
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(size=40) ** 3, [np.nan, np.nan]])
    valid = p[:40]
    np.testing.assert_allclose(adjust_pvalues(p, "fdr_bh")[:40], _bh_by_definition(valid), rtol=1e-12)
    harmonic = np.sum(1.0 / np.arange(1, 41))
    np.testing.assert_allclose(adjust_pvalues(p, "fdr_by")[:40], _bh_by_definition(valid, harmonic),
                               rtol=1e-12)
    holm = adjust_pvalues(p, "holm")[:40]
    order = np.argsort(valid)
    expected = np.minimum(1, np.maximum.accumulate(valid[order] * (40 - np.arange(40))))
    np.testing.assert_allclose(holm[order], expected, rtol=1e-12)
    for method in ("fdr_bh", "fdr_by", "holm"):
        assert np.isnan(adjust_pvalues(p, method)[40:]).all()
    with pytest.raises(InputError, match="unknown correction"):
        adjust_pvalues(p, "bonferroni-ish")


def test_bootstrap_pvalue_is_the_normal_test_with_the_bootstrap_standard_error():
    replicates = np.random.default_rng(1).normal(0.4, 0.1, size=1000)
    expected = 2 * stats.norm.sf(0.4 / np.std(replicates, ddof=1))
    assert bootstrap_pvalue(0.4, replicates) == pytest.approx(expected)
    assert bootstrap_pvalue(0.4, replicates) < 1e-4  # far below the 2 / 1000 of counting
    assert bootstrap_pvalue(0.0, np.zeros(100)) == 1.0
    assert bootstrap_pvalue(0.2, np.full(100, 0.2)) == 0.0
    assert np.isnan(bootstrap_pvalue(np.nan, replicates))
    mostly_undefined = np.where(np.arange(100) < 70, np.nan, 0.1)
    assert np.isnan(bootstrap_pvalue(0.1, mostly_undefined))


def test_bootstrap_pvalues_are_uniform_under_the_null():
    """Means of samples with true mean 0: the p-values are (close to) uniform."""
    rng = np.random.default_rng(2)
    p = []
    for _ in range(300):
        sample = rng.exponential(size=200) - 1.0  # skewed, mean 0
        (weights,) = next(stratified_weights([200], 400, seed=int(rng.integers(1 << 30)), chunk_size=400))
        replicates = weights @ sample / 200
        p.append(bootstrap_pvalue(sample.mean(), replicates))
    p = np.asarray(p)
    assert 0.02 <= np.mean(p < 0.05) <= 0.10
    assert stats.kstest(p, "uniform").pvalue > 0.001


def test_paired_mean_interval_uses_scipy_bootstrap_and_handles_degenerate_columns():
    rng = np.random.default_rng(3)
    diffs = np.column_stack([rng.normal(0.5, 1.0, 60), np.full(60, 0.25)])
    low, high = paired_mean_interval(diffs, n_resamples=3000, seed=0)
    reference = stats.bootstrap((diffs[:, 0],), np.mean, n_resamples=3000, method="percentile",
                                random_state=0).confidence_interval
    assert low[0] == pytest.approx(reference.low, abs=0.03)
    assert high[0] == pytest.approx(reference.high, abs=0.03)
    assert low[0] < diffs[:, 0].mean() < high[0]
    assert low[1] == high[1] == 0.25
    assert all(np.isnan(v) for v in paired_mean_interval(np.array([0.1]), n_resamples=100))


def test_percentile_interval_ignores_undefined_replicates():
    replicates = np.column_stack([np.linspace(0, 1, 101), np.where(np.arange(101) < 60, np.nan, 1.0)])
    low, high, defined = percentile_interval(replicates, 0.9)
    assert low[0] == pytest.approx(0.05) and high[0] == pytest.approx(0.95)
    assert np.isnan(low[1]) and defined[1] == pytest.approx(41 / 101)
