"""A reproducible random sample of scored posts to label by hand.

:func:`draw_sample` draws ``n`` of the rows that were scored (status ``ok``), simple random or
stratified by a column, and returns them in random order with an empty label column to fill
in. Labelled in that order, any first ``k`` rows are still a random sample (of a stratified
sample: within each stratum), so a labeller who stops early leaves a usable sample.

Each row records its inclusion probability (``n_h / N_h`` in its stratum, ``n / N`` without
strata) and its stratum's size, so that :class:`~tonecls.prevalence.PrevalenceEstimator`
weights the rows of a stratified sample by ``1 / inclusion_probability`` (Horvitz-Thompson).
That weighting is unbiased only if every row can be drawn, so an allocation that gives a
stratum no draw (fewer draws than strata, or a tiny stratum's proportional share rounded to
zero) is refused rather than drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tonecls.audit.names import group_labels
from tonecls.errors import InputError
from tonecls.schema import STATUS_COLUMN, Status
from tonecls.stats import check_seed

__all__ = ["ALLOCATIONS", "INCLUSION_COLUMN", "STRATUM_SIZE_COLUMN", "allocate", "draw_sample"]

INCLUSION_COLUMN = "inclusion_probability"
STRATUM_SIZE_COLUMN = "stratum_size"
ALLOCATIONS = ("proportional", "equal")


def allocate(sizes: pd.Series, n: int, allocation: str = "proportional") -> pd.Series:
    """How many of ``n`` draws each stratum gets.

    ``proportional``: ``n * N_h / N`` rounded by largest remainder (the sample keeps the
    file's mix, every row has the same inclusion probability up to rounding), a stratum whose
    share rounds to nothing given one draw of the largest (when there are draws enough; the
    estimates weight each draw by its own probability); ``equal``: the same number per stratum (small
    strata oversampled; estimates weight them back), a stratum smaller than its share giving
    its spare draws to the others. Never more than ``N_h``.
    """
    if allocation not in ALLOCATIONS:
        raise InputError(f"allocation must be one of {ALLOCATIONS}, got {allocation!r}")
    sizes = sizes.astype(np.int64)
    counts = pd.Series(0, index=sizes.index, dtype=np.int64)
    remaining = n
    while remaining > 0 and (counts < sizes).any():
        open_ = counts < sizes
        base = sizes[open_] if allocation == "proportional" else pd.Series(1, index=sizes.index[open_])
        share = base / base.sum() * remaining
        extra = np.floor(share).astype(np.int64)
        order = (share - extra).sort_values(ascending=False, kind="stable").index
        extra[order[: remaining - int(extra.sum())]] += 1
        extra = np.minimum(extra, sizes[open_] - counts[open_])
        counts[open_] += extra
        remaining = n - int(counts.sum())
    return _one_draw_each(counts, sizes) if allocation == "proportional" else counts


def _one_draw_each(counts: pd.Series, sizes: pd.Series) -> pd.Series:
    """``counts`` with every non-empty stratum left without a draw given one, taken from the
    stratum with the most draws, when there are at least as many draws as such strata."""
    starved = counts.index[(counts == 0) & (sizes > 0)]
    if not len(starved) or counts.sum() < (sizes > 0).sum():
        return counts
    counts = counts.copy()
    for name in starved:  # some stratum has >= 2 draws while one has none (pigeonhole)
        counts[counts.idxmax()] -= 1
        counts[name] = 1
    return counts


def _check(scored: Any, n: Any, columns: list[str], seed: Any) -> None:
    if not isinstance(scored, pd.DataFrame):
        raise InputError(f"scored must be a DataFrame (the output of scoring), got {type(scored).__name__}")
    if STATUS_COLUMN not in scored.columns:
        raise InputError(f"the scored data has no {STATUS_COLUMN} column; sample the output of `tonecls score`.")
    missing = [c for c in columns if c not in scored.columns]
    if missing:
        raise InputError(f"the scored data has no column(s) {missing}; its columns are {list(scored.columns)}.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be a whole number of posts >= 1, got {n!r}")
    check_seed(seed)


def _check_every_stratum_drawn(counts: pd.Series, stratify_col: str | None, allocation: str) -> None:
    """Refuse an allocation that gives a stratum no draw: its posts could never be in the sample,
    yet the estimates would stand for them (no weight can bring back what is never drawn)."""
    empty = counts.index[counts.eq(0)].tolist()
    if not empty:
        return
    shown = ", ".join(map(repr, empty[:5])) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
    raise InputError(f"a sample of {int(counts.sum())} posts stratified by {stratify_col!r} ({allocation} "
                     f"allocation) gives no draw to {len(empty)} of its {len(counts)} strata ({shown}): their "
                     f"posts could never be drawn, yet the estimates would stand for them. Draw at least "
                     f"{len(counts)} posts (one per stratum), or stratify by a column with fewer, larger strata.")


def draw_sample(scored: pd.DataFrame, n: int, *, stratify_col: str | None = None, seed: int = 0,
                id_col: str = "id", text_col: str = "text", label_col: str = "label",
                allocation: str = "proportional") -> pd.DataFrame:
    """A random sample of ``n`` scored (``ok``) rows to label, in random order.

    Parameters
    ----------
    scored : DataFrame
        Scored posts (``tonecls_status`` and the input's columns).
    n : int
        Sample size; at most the number of ``ok`` rows.
    stratify_col : str, optional
        Draw within the strata of this column (missing values are one stratum). Every stratum
        must get at least one draw (else :class:`InputError`): a stratum that can never be
        drawn would be left out of the estimates that claim to stand for it.
    seed : int
        The same data, ``n``, strata and seed give the same sample.
    id_col, text_col, label_col : str
        The id and text columns to copy, and the name of the empty label column.
    allocation : {"proportional", "equal"}
        Draws per stratum (see :func:`allocate`).

    Returns
    -------
    DataFrame
        ``id_col``, ``text_col``, ``label_col`` (empty), the stratum column when stratified,
        ``stratum_size`` (``N_h``) and ``inclusion_probability`` (``n_h / N_h``). ``attrs``
        holds the design: ``stratify_col``, ``stratum_sizes``, ``sample_sizes``, ``seed``.
    """
    _check(scored, n, [id_col, text_col] + ([stratify_col] if stratify_col else []), seed)
    written = [id_col, text_col, *([stratify_col] if stratify_col else [])]
    if label_col in written or label_col in (STRATUM_SIZE_COLUMN, INCLUSION_COLUMN):
        raise InputError(f"label_col {label_col!r} is a column the sample also holds ({written} and "
                         f"{STRATUM_SIZE_COLUMN}, {INCLUSION_COLUMN}); name the empty label column otherwise.")
    ok = scored[scored[STATUS_COLUMN].astype("string").eq(Status.OK.value).fillna(False).to_numpy(bool)]
    if n > len(ok):
        raise InputError(f"cannot draw {n} posts: only {len(ok)} rows were scored (status ok).")
    strata = (group_labels(ok[stratify_col])
              if stratify_col else pd.Series("all", index=ok.index))
    sizes = strata.value_counts(sort=False)
    counts = allocate(sizes, n, allocation)
    _check_every_stratum_drawn(counts, stratify_col, allocation)
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(strata.to_numpy() == name), size=int(k), replace=False)
              for name, k in counts.items() if k > 0]
    positions = rng.permutation(np.concatenate(chosen))
    sample = pd.DataFrame({id_col: ok[id_col].to_numpy()[positions], text_col: ok[text_col].to_numpy()[positions],
                           label_col: ""})
    stratum = strata.to_numpy()[positions]
    if stratify_col:
        sample[stratify_col] = ok[stratify_col].to_numpy()[positions]
    sample[STRATUM_SIZE_COLUMN] = sizes.reindex(stratum).to_numpy()
    sample[INCLUSION_COLUMN] = (counts / sizes).reindex(stratum).to_numpy()
    sample.attrs.update(stratify_col=stratify_col, seed=int(seed), population=len(ok), allocation=allocation,
                        stratum_sizes={str(k): int(v) for k, v in sizes.items()},
                        sample_sizes={str(k): int(v) for k, v in counts.items()})
    return sample
