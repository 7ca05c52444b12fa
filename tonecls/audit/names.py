"""Display names of the audit's metrics and groups, shared by the findings and the report."""

from __future__ import annotations

__all__ = ["METRIC_NAMES", "SHORT_NAMES", "describe_group", "metric_phrase"]

METRIC_NAMES = {
    "accuracy": "accuracy", "macro_f1": "macro-F1",
    "ece": "calibration error (ECE) of the confidence", "mean_confidence": "mean confidence",
    "label_rate": "share labelled", "selection_rate": "selection rate",
    "precision": "precision", "recall": "recall (true-positive rate)", "f1": "F1",
    "fpr": "false-positive rate", "class_ece": "calibration error (ECE)",
    "subgroup_auc": "subgroup AUC", "bpsn_auc": "BPSN AUC", "bnsp_auc": "BNSP AUC",
}
"""Names used in sentences."""

SHORT_NAMES = {
    "accuracy": "accuracy", "macro_f1": "macro-F1", "ece": "ECE", "mean_confidence": "mean conf.",
    "label_rate": "labelled", "selection_rate": "selection rate", "precision": "precision",
    "recall": "recall (TPR)", "f1": "F1", "fpr": "FPR", "class_ece": "ECE",
    "subgroup_auc": "subgroup AUC", "bpsn_auc": "BPSN AUC", "bnsp_auc": "BNSP AUC",
}
"""Names used in table cells."""


def metric_phrase(metric: str, cls: str) -> str:
    """``recall (true-positive rate) of 'anger'`` (or the head-level name without a class)."""
    name = METRIC_NAMES.get(metric, metric)
    return f"{name} of '{cls}'" if cls else name


def describe_group(grouping: str, group: str) -> str:
    """``dialect=aa`` or, for an intersection, ``dialect=aa, gender=f``."""
    cols, values = grouping.split(" × "), group.split(" × ")
    if len(cols) != len(values):
        return f"{grouping}={group}"
    return ", ".join(f"{c}={v}" for c, v in zip(cols, values))
