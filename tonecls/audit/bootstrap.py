"""Stratified bootstrap: resample rows within strata, as weight matrices, and percentile CIs.

A resample of ``n`` rows drawn with replacement is a vector of row weights (how often each row
was drawn). Resampling within strata (the cells of the group columns) keeps every group's size
fixed, so group-level intervals reflect sampling noise of the metric, not of group sizes.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["stratified_weights", "percentile_interval"]


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
        yield [
            rng.multinomial(n_s, np.full(n_s, 1.0 / n_s), size=size).astype(np.float64)
            for rng, n_s in zip(streams, strata_sizes)
        ]
        done += size


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
