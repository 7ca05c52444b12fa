"""Display names of the audit's metrics and groups, shared by the findings and the report, and
the group of a value (one rule for audits, prevalence groups and sample strata)."""

from __future__ import annotations

from typing import Any

__all__ = ["METRIC_NAMES", "MISSING_GROUP", "SHORT_NAMES", "describe_group", "group_labels", "metric_phrase"]

MISSING_GROUP = "(missing)"
"""The group of missing and empty values."""


def group_labels(values: Any) -> Any:
    """The group of each value of the Series ``values``, as a string Series of the same index:
    the value as text with surrounding spaces trimmed (``"twitter "`` is ``"twitter"``);
    missing and empty values form :data:`MISSING_GROUP`."""
    text = values.astype("string").str.strip()
    return text.mask(text.eq("").fillna(True), MISSING_GROUP).astype(str)

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
