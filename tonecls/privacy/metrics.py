"""Membership-inference metrics of attack scores (higher score = "member"), with bootstrap intervals.

From the scores of members and non-members: the ROC curve, its AUC (Mann-Whitney, ties count
half), the TPR at a low FPR (the field's headline since Carlini et al. 2022), the attacker's
advantage ``max(TPR - FPR)`` (Yeom et al. 2018) and a lower bound on the epsilon of any
(epsilon, delta)-DP guarantee the training could have (Jagielski et al. 2020, Nasr et al.
2021): at a threshold with true- and false-positive rates ``TPR`` and ``FPR``, DP implies
``TPR <= e^eps FPR + delta`` and ``TNR <= e^eps FNR + delta``; Clopper-Pearson bounds on the
rates make the bound hold with 95% confidence, simultaneously over the thresholds tried
(Bonferroni).

Bootstrap: resamples are row weights from :func:`tonecls.stats.stratified_weights` with the
members and the non-members as strata (their counts stay fixed); every resample's ROC comes
from weighted counts per distinct score, so all resamples cost one matrix product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tonecls.stats import percentile_interval, stratified_weights

FPR_LEVELS = (0.01, 0.001)
EPSILON_THRESHOLDS = 50  # thresholds tried by the epsilon bound (quantiles of the scores)
EPSILON_CONFIDENCE = 0.95


@dataclass
class RocCounts:
    """Members and non-members per distinct score (ascending): ``members[..., k]`` is the
    (weighted) number of members whose score is the ``k``-th smallest distinct score."""

    thresholds: np.ndarray
    members: np.ndarray
    non_members: np.ndarray

    def rates(self) -> tuple[np.ndarray, np.ndarray]:
        """``(fpr, tpr)`` of "member if score >= threshold" for each threshold, from the
        highest threshold down, with the point (0, 0) first."""
        tp = np.cumsum(self.members[..., ::-1], axis=-1)
        fp = np.cumsum(self.non_members[..., ::-1], axis=-1)
        zero = np.zeros(tp.shape[:-1] + (1,))
        with np.errstate(invalid="ignore", divide="ignore"):
            tpr = np.concatenate([zero, tp], axis=-1) / tp[..., -1:]
            fpr = np.concatenate([zero, fp], axis=-1) / fp[..., -1:]
        return fpr, tpr

    def auc(self) -> np.ndarray:
        """Probability that a member scores above a non-member (ties count half)."""
        below = np.cumsum(self.non_members, axis=-1) - self.non_members
        pairs = (self.members * (below + 0.5 * self.non_members)).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return pairs / (self.members.sum(axis=-1) * self.non_members.sum(axis=-1))


def roc_counts(scores: np.ndarray, is_member: np.ndarray, weights: np.ndarray | None = None) -> RocCounts:
    """Counts per distinct score; ``weights`` (rows, or resamples x rows) weigh the rows."""
    scores = np.asarray(scores, dtype=np.float64)
    is_member = np.asarray(is_member, dtype=bool)
    from scipy.sparse import csr_matrix

    thresholds, bins = np.unique(scores, return_inverse=True)
    indicator = csr_matrix((np.ones(len(scores)), (np.arange(len(scores)), bins.reshape(-1))),
                           shape=(len(scores), len(thresholds)))
    weights = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=np.float64)
    members = np.asarray((indicator.T @ (weights * is_member).T).T)
    non_members = np.asarray((indicator.T @ (weights * ~is_member).T).T)
    return RocCounts(thresholds, members, non_members)


def tpr_at_fpr(fpr: np.ndarray, tpr: np.ndarray, level: float) -> np.ndarray:
    """The highest TPR of the ROC points whose FPR is at most ``level``."""
    return np.where(fpr <= level + 1e-12, tpr, 0.0).max(axis=-1)


def advantage(fpr: np.ndarray, tpr: np.ndarray) -> np.ndarray:
    """The attacker's advantage: the largest TPR - FPR over thresholds."""
    return (tpr - fpr).max(axis=-1)


def clopper_pearson(successes: np.ndarray, trials: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """One-sided Clopper-Pearson bounds ``(lower, upper)`` of a binomial proportion, each
    holding with probability ``1 - alpha``."""
    from scipy.stats import beta

    successes = np.asarray(successes, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        lower = np.where(successes > 0, beta.ppf(alpha, successes, trials - successes + 1), 0.0)
        upper = np.where(successes < trials, beta.ppf(1 - alpha, successes + 1, trials - successes), 1.0)
    return np.nan_to_num(lower, nan=0.0), np.nan_to_num(upper, nan=1.0)


def epsilon_lower_bound(scores: np.ndarray, is_member: np.ndarray, delta: float,
                        n_thresholds: int = EPSILON_THRESHOLDS,
                        confidence: float = EPSILON_CONFIDENCE) -> float:
    """The largest epsilon that the attack proves at ``confidence`` (0 when it proves none).

    For each of ``n_thresholds`` thresholds (quantiles of the scores), the Clopper-Pearson
    lower bound of the TPR and upper bound of the FPR, each at ``1 - (1 - confidence) / (2
    n_thresholds)`` (Bonferroni: the bound holds for all thresholds at once), give
    ``max(log((TPR - delta) / FPR), log((TNR - delta) / FNR))``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    is_member = np.asarray(is_member, dtype=bool)
    n_members, n_non = int(is_member.sum()), int((~is_member).sum())
    if n_members == 0 or n_non == 0:
        return float("nan")
    thresholds = np.unique(np.quantile(scores, np.linspace(0, 1, n_thresholds + 2)[1:-1]))
    alpha = (1.0 - confidence) / (2 * len(thresholds))
    tp = (scores[is_member][None, :] >= thresholds[:, None]).sum(axis=1)
    fp = (scores[~is_member][None, :] >= thresholds[:, None]).sum(axis=1)
    tpr_low, _ = clopper_pearson(tp, n_members, alpha)
    _, fpr_high = clopper_pearson(fp, n_non, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        positive = np.log(np.maximum(tpr_low - delta, 0.0) / fpr_high)
        negative = np.log(np.maximum(1.0 - fpr_high - delta, 0.0) / (1.0 - tpr_low))
    return float(max(np.nanmax(np.concatenate([positive, negative])), 0.0))


def attack_metrics(scores: np.ndarray, is_member: np.ndarray, *, delta: float, n_resamples: int = 1000,
                   level: float = 0.95, seed: int | None = 0) -> dict[str, float]:
    """AUC with its bootstrap interval, TPR at 1% and 0.1% FPR (with intervals), advantage and
    the epsilon lower bound of one attack's ``scores``."""
    scores = np.asarray(scores, dtype=np.float64)
    is_member = np.asarray(is_member, dtype=bool)
    counts = roc_counts(scores, is_member)
    fpr, tpr = counts.rates()
    out: dict[str, float] = {"n_members": int(is_member.sum()), "n_non_members": int((~is_member).sum()),
                             "auc": float(counts.auc())}
    for fpr_level in FPR_LEVELS:
        out[f"tpr_at_fpr_{fpr_level:g}"] = float(tpr_at_fpr(fpr, tpr, fpr_level))
    out["advantage"] = float(advantage(fpr, tpr))
    out["epsilon_lower_bound"] = epsilon_lower_bound(scores, is_member, delta)
    replicates = bootstrap_replicates(scores, is_member, n_resamples, seed)
    low, high, _ = percentile_interval(replicates, level)
    for i, name in enumerate(["auc", *(f"tpr_at_fpr_{f:g}" for f in FPR_LEVELS)]):
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = float(low[i]), float(high[i])
    return out


def bootstrap_replicates(scores: np.ndarray, is_member: np.ndarray, n_resamples: int,
                         seed: int | None) -> np.ndarray:
    """``(n_resamples, 3)``: the AUC and the TPRs at :data:`FPR_LEVELS` of each bootstrap
    resample (members and non-members resampled separately)."""
    order = np.argsort(is_member, kind="stable")  # non-members first, then members: the two strata
    scores, is_member = scores[order], is_member[order]
    sizes = [int((~is_member).sum()), int(is_member.sum())]
    rows = []
    for chunk in stratified_weights(sizes, n_resamples, seed):
        counts = roc_counts(scores, is_member, np.concatenate(chunk, axis=1))
        fpr, tpr = counts.rates()
        rows.append(np.column_stack([counts.auc(), *(tpr_at_fpr(fpr, tpr, f) for f in FPR_LEVELS)]))
    return np.concatenate(rows) if rows else np.zeros((0, 3))
