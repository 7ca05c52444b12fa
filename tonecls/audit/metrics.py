"""Group metrics from sufficient statistics, vectorised over bootstrap resamples.

Every metric of the group audit is a function of weighted sums of per-row features (counts of
labels, predictions and true positives per class, calibration-bin sums, score histograms). A
bootstrap resample is a vector of row weights, so the metrics of ``B`` resamples follow from one
sparse product ``weights (B x n) @ features (n x m)`` and a few array operations: no Python loop
over resamples. With unit weights the same formulas give the point estimates on the data, which
the tests check against fairlearn and scikit-learn.

Undefined values (a recall without positive examples, an AUC without both outcomes) are NaN
here; :mod:`tonecls.audit.groups` turns them into explicit "undefined: ..." reasons.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from tonecls.model.calibration import ECE_BINS

__all__ = [
    "CLASS_METRICS",
    "HEAD_METRICS",
    "N_AUC_BINS",
    "HeadArrays",
    "FeatureLayout",
    "build_features",
    "calibration_curve_from_sums",
    "metrics_from_sums",
    "calibration_errors",
    "calibration_features",
    "random_subset_sums",
    "weighted_sums",
]

N_AUC_BINS = 200
"""Quantile bins of the scores for bootstrapped AUCs. Point estimates use a layout with one bin
per distinct score (``build_features(head, auc_bins=None)``), where the same histogram formula
is the exact Mann-Whitney AUC (ties count one half, as in ``sklearn.metrics.roc_auc_score``)."""

HEAD_METRICS = ("accuracy", "macro_f1", "ece", "mean_confidence")
CLASS_METRICS = (
    "label_rate", "selection_rate", "precision", "recall", "f1", "fpr", "class_ece",
    "subgroup_auc", "bpsn_auc", "bnsp_auc",
)
AUC_METRICS = ("subgroup_auc", "bpsn_auc", "bnsp_auc")


@dataclass
class HeadArrays:
    """One head's labels and predictions as arrays over the audited rows.

    ``y_true`` / ``y_pred`` are boolean indicator matrices (n x K); ``proba`` the predicted
    probabilities (n x K); ``confidence`` the single-label confidence (``None`` for multi-label).
    """

    classes: list[str]
    multilabel: bool
    y_pred: np.ndarray
    proba: np.ndarray
    y_true: np.ndarray | None = None
    confidence: np.ndarray | None = None

    @property
    def labelled(self) -> bool:
        return self.y_true is not None

    @property
    def n_classes(self) -> int:
        return len(self.classes)


@dataclass
class FeatureLayout:
    """Column slices of the feature matrix, by statistic name."""

    slices: dict[str, slice] = field(default_factory=dict)
    width: int = 0
    auc_bins: int = 0  # score bins per class of the AUC histograms

    def add(self, name: str, size: int) -> slice:
        self.slices[name] = slice(self.width, self.width + size)
        self.width += size
        return self.slices[name]

    def __contains__(self, name: str) -> bool:
        return name in self.slices


def _bin_index(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bin of each probability in [0, 1] (1.0 falls in the last bin)."""
    return np.clip((values * n_bins).astype(np.int64), 0, n_bins - 1)


def _quantile_edges(scores: np.ndarray, n_bins: int) -> np.ndarray:
    edges = np.unique(np.quantile(scores, np.linspace(0, 1, n_bins + 1)[1:-1]))
    return edges


def _auc_bin_codes(scores: np.ndarray, auc_bins: int | None) -> tuple[np.ndarray, int]:
    """Bin of every score: quantile bins (``auc_bins``) or one bin per distinct score (None)."""
    if auc_bins is None:
        values, codes = np.unique(scores, return_inverse=True)
        return codes.reshape(-1), len(values)
    return np.searchsorted(_quantile_edges(scores, auc_bins), scores, side="right"), auc_bins


def build_features(head: HeadArrays, auc_bins: int | None = N_AUC_BINS) -> tuple[sp.csr_matrix, FeatureLayout]:
    """The sparse per-row feature matrix whose weighted column sums give every metric.

    ``auc_bins``: quantile bins of the AUC score histograms (for bootstrap resamples, whose
    cost grows with the number of bins); None gives one bin per distinct score, for exact AUCs.
    All other columns do not depend on it.
    """
    n, k = head.y_pred.shape
    layout = FeatureLayout()
    blocks: list[sp.spmatrix] = []
    ones = np.ones(n)
    rows = np.arange(n)

    def dense(name: str, values: np.ndarray) -> None:
        values = values.reshape(n, -1).astype(np.float64)
        layout.add(name, values.shape[1])
        blocks.append(sp.csr_matrix(values))

    def one_hot(name: str, columns: np.ndarray, values: np.ndarray, width: int) -> None:
        layout.add(name, width)
        blocks.append(sp.csr_matrix((values, (rows, columns)), shape=(n, width)))

    dense("n", ones)
    dense("pred", head.y_pred)
    if head.confidence is not None:
        dense("confidence", head.confidence)
    if head.labelled:
        yt = head.y_true
        dense("pos", yt)
        dense("tp", yt & head.y_pred)
        dense("correct", np.all(yt == head.y_pred, axis=1))
        nb = ECE_BINS
        if head.confidence is not None:
            bins = _bin_index(head.confidence, nb)
            correct = np.all(yt == head.y_pred, axis=1).astype(float)
            one_hot("cal_n", bins, ones, nb)
            one_hot("cal_correct", bins, correct, nb)
            one_hot("cal_conf", bins, head.confidence, nb)
        # class-wise calibration: for class c, bins of p_c; sums of rows, of y_c and of p_c
        class_bins = _bin_index(head.proba, nb) + nb * np.arange(k)  # n x K, unique per class
        for name, values in (("ccal_n", np.ones((n, k))), ("ccal_pos", yt.astype(float)),
                             ("ccal_p", head.proba)):
            layout.add(name, nb * k)
            blocks.append(sp.csr_matrix(
                (values.ravel(), (np.repeat(rows, k), class_bins.ravel())), shape=(n, nb * k)))
        # score histograms of positives and negatives for AUCs, per class
        codes = [_auc_bin_codes(head.proba[:, c], auc_bins) for c in range(k)]
        nq = max(width for _, width in codes)
        layout.auc_bins = nq
        bin_of = np.column_stack([code for code, _ in codes]) + nq * np.arange(k)
        for name, values in (("auc_pos", yt), ("auc_neg", ~yt)):
            layout.add(name, nq * k)
            blocks.append(sp.csr_matrix(
                (values.ravel().astype(float), (np.repeat(rows, k), bin_of.ravel())),
                shape=(n, nq * k)))
    features = sp.hstack(blocks, format="csr")
    return features, layout


def weighted_sums(features: sp.csr_matrix, weights: np.ndarray) -> np.ndarray:
    """``weights (B x n) @ features (n x m)`` as a dense ``B x m`` array."""
    return np.asarray((features.T @ weights.T).T)


def random_subset_sums(features: sp.csr_matrix, size: int, n_draws: int, seed,
                       chunk_size: int = 50):
    """Yield, chunk by chunk, the column sums of ``n_draws`` random subsets of ``size`` rows
    (drawn without replacement): the distribution of a metric for a random group of that size.
    Each subset is a 0/1 row-weight vector, summed like a bootstrap resample."""
    n = features.shape[0]
    rng = np.random.default_rng(seed)
    done = 0
    while done < n_draws:
        chunk = min(chunk_size, n_draws - done)
        weights = np.zeros((chunk, n))
        for row in range(chunk):
            weights[row, rng.choice(n, size, replace=False)] = 1.0
        yield weighted_sums(features, weights)
        done += chunk


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def _auc_from_histograms(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC from score histograms (..., bins); ties in a bin count one half."""
    below = np.cumsum(neg, axis=-1) - neg
    concordant = np.sum(pos * (below + 0.5 * neg), axis=-1)
    return _ratio(concordant, pos.sum(axis=-1) * neg.sum(axis=-1))


def _per_class(sums: np.ndarray, layout: FeatureLayout, name: str, k: int, width: int) -> np.ndarray:
    return sums[:, layout.slices[name]].reshape(len(sums), k, width)


def metrics_from_sums(
    sums: np.ndarray, layout: FeatureLayout, n_classes: int, population_sums: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Every metric from weighted sums ``sums`` (B x m) of one group.

    ``population_sums`` (the sums over all rows) is needed for the BPSN / BNSP AUCs, whose
    background is the rest of the population. Head metrics come back with shape ``(B,)``,
    class metrics with shape ``(B, K)``; undefined values are NaN.
    """
    k = n_classes
    s = layout.slices
    n = sums[:, s["n"]][:, 0]
    pred = sums[:, s["pred"]]
    out: dict[str, np.ndarray] = {"n": n, "selection_rate": _ratio(pred, n[:, None])}
    if "confidence" in layout:
        out["mean_confidence"] = _ratio(sums[:, s["confidence"]][:, 0], n)
    if "pos" not in layout:
        return out
    pos, tp = sums[:, s["pos"]], sums[:, s["tp"]]
    neg = n[:, None] - pos
    out["n_pos"], out["n_neg"], out["n_pred"] = pos, neg, pred
    out["label_rate"] = _ratio(pos, n[:, None])
    out["precision"] = _ratio(tp, pred)
    out["recall"] = _ratio(tp, pos)
    out["fpr"] = _ratio(pred - tp, neg)
    f1 = _ratio(2 * tp, pos + pred)
    out["f1"] = f1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: macro-F1 undefined
        out["macro_f1"] = np.nanmean(f1, axis=1)
    out["accuracy"] = _ratio(sums[:, s["correct"]][:, 0], n)
    out.update(calibration_errors(sums, layout, k))
    nq = layout.auc_bins
    hist_pos = _per_class(sums, layout, "auc_pos", k, nq)
    hist_neg = _per_class(sums, layout, "auc_neg", k, nq)
    out["subgroup_auc"] = _auc_from_histograms(hist_pos, hist_neg)
    if population_sums is not None:
        all_pos = _per_class(population_sums, layout, "auc_pos", k, nq)
        all_neg = _per_class(population_sums, layout, "auc_neg", k, nq)
        out["bpsn_auc"] = _auc_from_histograms(all_pos - hist_pos, hist_neg)
        out["bnsp_auc"] = _auc_from_histograms(hist_pos, all_neg - hist_neg)
    return out


CALIBRATION_COLUMNS = ("n", "cal_n", "cal_correct", "cal_conf", "ccal_n", "ccal_pos", "ccal_p")


def calibration_errors(sums: np.ndarray, layout: FeatureLayout, n_classes: int) -> dict[str, np.ndarray]:
    """``ece`` (top-label, single-label heads) and ``class_ece`` (per class) from weighted sums.

    Needs only the columns of :data:`CALIBRATION_COLUMNS` (see :func:`calibration_features`).
    """
    s = layout.slices
    n = sums[:, s["n"]][:, 0]
    out = {}
    if "cal_n" in layout:
        gap = np.abs(sums[:, s["cal_correct"]] - sums[:, s["cal_conf"]]).sum(axis=1)
        out["ece"] = _ratio(gap, n)
    nb = ECE_BINS
    class_gap = np.abs(_per_class(sums, layout, "ccal_pos", n_classes, nb)
                       - _per_class(sums, layout, "ccal_p", n_classes, nb))
    out["class_ece"] = _ratio(class_gap.sum(axis=2), n[:, None])
    return out


def calibration_features(features: sp.csr_matrix, layout: FeatureLayout) -> tuple[sp.csr_matrix, FeatureLayout]:
    """The columns of ``features`` that :func:`calibration_errors` needs, with their layout."""
    sub = FeatureLayout()
    columns = []
    for name in CALIBRATION_COLUMNS:
        if name in layout:
            piece = layout.slices[name]
            sub.add(name, piece.stop - piece.start)
            columns.append(np.arange(piece.start, piece.stop))
    return features[:, np.concatenate(columns)].tocsr(), sub


def calibration_curve_from_sums(sums: np.ndarray, layout: FeatureLayout, n_classes: int):
    """Reliability-diagram points ``(mean predicted, observed frequency, count)`` per bin.

    Single-label heads: top-label confidence vs accuracy. Multi-label heads: every (post, label)
    probability pooled. ``sums`` must be a single row (unit weights).
    """
    s = layout.slices
    nb = ECE_BINS
    if "cal_n" in layout:
        count = sums[0, s["cal_n"]]
        return _ratio(sums[0, s["cal_conf"]], count), _ratio(sums[0, s["cal_correct"]], count), count
    count = _per_class(sums, layout, "ccal_n", n_classes, nb)[0].sum(axis=0)
    predicted = _per_class(sums, layout, "ccal_p", n_classes, nb)[0].sum(axis=0)
    observed = _per_class(sums, layout, "ccal_pos", n_classes, nb)[0].sum(axis=0)
    return _ratio(predicted, count), _ratio(observed, count), count
