"""Bias audit group breakdowns of a scored export, with stratified bootstrap intervals.

:func:`audit_groups` takes a scored frame (the output columns of ``ToneModel.predict`` /
``score_file``, see ARCHITECTURE.md), one head, an optional label column and one or more group
columns, and returns an :class:`AuditResult`: one object, many views, in the spirit of
fairlearn's ``MetricFrame``::

    result = audit_groups(scored, head="emotion", label_col="gold", group_cols=["dialect"])
    result.by_group        # wide: (grouping, group) x (metric, class) point estimates
    result.overall         # the same metrics on the whole audited population
    result.metrics         # tidy: one row per group, metric and class, with 95% CI and reason
    result.gaps            # each group against the overall population: difference and ratio,
                           # bootstrap CIs, significance flags
    result.between         # the largest between-group gap per metric and class
    result.findings        # plain-language sentences on the significant gaps
    result.to_report()     # a tonecls.report.Report (HTML / Markdown / JSON via write_report)

Point estimates of the count metrics (selection rate, recall = true-positive rate, false-
positive rate, precision, F1, accuracy, macro-F1) come from ``fairlearn.metrics.MetricFrame``;
AUCs from ``sklearn.metrics.roc_auc_score``. Confidence intervals come from a stratified
bootstrap (rows resampled within the cells of the group columns), vectorised over resamples
by :mod:`tonecls.audit.metrics`. Metrics a group cannot define (recall of a class the group has
no examples of) are reported as undefined with the reason, never as 0.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tonecls.audit.metrics import (
    AUC_METRICS,
    CLASS_METRICS,
    HEAD_METRICS,
    HeadArrays,
    build_features,
    metrics_from_sums,
    weighted_sums,
)
from tonecls.errors import InputError
from tonecls.schema import STATUS_COLUMN, OutputSchema, Status, split_labels
from tonecls.stats import percentile_interval, stratified_weights

__all__ = ["AuditResult", "audit_groups", "head_arrays", "load_scored", "model_provenance"]

MISSING_GROUP = "(missing)"
OVERALL = ("overall", "all")

# metrics compared across groups (label_rate describes the data, not the model)
GAP_METRICS = ("accuracy", "macro_f1", "ece", "mean_confidence", "selection_rate", "precision",
               "recall", "f1", "fpr", "class_ece", "subgroup_auc", "bpsn_auc", "bnsp_auc")


# --- input -------------------------------------------------------------------------------


def load_scored(path: str | os.PathLike, head: str | None = None,
                columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a scored export (CSV/TSV/JSONL/Parquet, optionally .gz) into one DataFrame.

    With ``head``, only what the audit of that head needs is read (``tonecls_status``, the
    head's output columns and ``columns``, e.g. the label and group columns), which keeps the
    post texts and other heads out of memory. Lines the reader could not parse are kept, with
    their read status (e.g. ``malformed_line``) as ``tonecls_status``.
    """
    from tonecls.io import MARKER_COLUMNS, READ_STATUS_COLUMN, read_export

    path = Path(path)
    if not path.exists():
        raise InputError(f"scored file {path} does not exist; pass the output of `tonecls score`.")
    wanted = None
    if head is not None:
        header = list(next(iter(read_export(path, text_col=None, chunksize=1))).columns)
        missing = [c for c in columns if c not in header]
        if missing:
            raise InputError(f"{path} has no column(s) {missing}; its columns are "
                             f"{[c for c in header if c not in MARKER_COLUMNS]}.")
        _head_columns(pd.DataFrame(columns=header), head)  # fails early, naming the heads found
        wanted = [c for c in header if c == STATUS_COLUMN or c in columns
                  or (str(c).startswith(f"{head}_") and c not in MARKER_COLUMNS)]
    frames = list(read_export(path, text_col=None, columns=wanted, chunksize=200_000))
    frame = pd.concat(frames) if frames else pd.DataFrame()
    if READ_STATUS_COLUMN in frame.columns:
        # a line the reader could not parse is excluded under its read status
        unreadable = frame[READ_STATUS_COLUMN].ne("ok")
        if unreadable.any():
            if STATUS_COLUMN not in frame.columns:
                frame[STATUS_COLUMN] = pd.NA
            frame[STATUS_COLUMN] = frame[STATUS_COLUMN].astype(object)
            frame.loc[unreadable, STATUS_COLUMN] = frame.loc[unreadable, READ_STATUS_COLUMN]
        frame = frame.drop(columns=[c for c in MARKER_COLUMNS if c in frame.columns])
    return frame


def model_provenance(bundle: str | os.PathLike) -> dict[str, Any]:
    """What a model bundle records about itself (read from ``bundle.json``, without loading
    the network): name, versions, heads, metrics, training command."""
    from tonecls.model.bundle import read_metadata

    path = Path(bundle)
    meta = read_metadata(path)
    info: dict[str, Any] = {"model bundle": str(path), "model name": meta.get("name", path.name)}
    for key in ("version", "created", "trained_at", "tonecls_version", "keras_version", "command"):
        if key in meta:
            info[f"model {key.replace('_', ' ')}"] = meta[key]
    if "heads" in meta:
        info["model heads"] = [h.get("name") if isinstance(h, dict) else h for h in meta["heads"]]
    if "metrics" in meta:
        info["model metrics"] = meta["metrics"]
    return info


def _head_columns(frame: pd.DataFrame, head: str) -> tuple[list[str], bool]:
    found = OutputSchema.from_columns(frame.columns)
    try:
        columns = found.head(head)
    except KeyError:
        raise InputError(
            f"the scored data has no columns for head {head!r} (expected {head}_label or "
            f"{head}_labels, and {head}_p_<class>); heads found: {found.head_names or 'none'}. "
            "Pass --head with one of them, or score the file with `tonecls score` first.") from None
    return list(columns.classes), columns.multilabel


def _split_labels(values: pd.Series) -> list[list[str]]:
    return [split_labels(v) for v in values]


def _indicator(label_sets: list[list[str]], classes: list[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    out = np.zeros((len(label_sets), len(classes)), dtype=bool)
    for row, labels in enumerate(label_sets):
        for label in labels:
            out[row, index[label]] = True
    return out


def _check_known(values: Any, classes: list[str], what: str) -> None:
    unknown = sorted({str(v) for v in values} - set(classes))
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise InputError(
            f"{what} holds {len(unknown)} value(s) that are not classes of the head: {shown}. "
            f"Classes: {classes}. Map the labels to these class names (';'-joined for multi-label "
            "heads) or choose the matching --head.")


def head_arrays(
    frame: pd.DataFrame, head: str, label_col: str | None = None
) -> tuple[HeadArrays, np.ndarray, dict[str, int]]:
    """The head's predictions (and labels) as arrays over the auditable rows.

    Returns ``(arrays, row_mask, excluded)``: ``row_mask`` selects the rows of ``frame`` that
    are audited; ``excluded`` counts the others by reason (their ``tonecls_status``,
    ``"no_prediction"`` or ``"no_label"``).
    """
    classes, multilabel = _head_columns(frame, head)
    head_columns = OutputSchema.from_columns(frame.columns).head(head)
    proba_cols = head_columns.proba_columns
    excluded: dict[str, int] = {}
    if STATUS_COLUMN in frame.columns:
        status = frame[STATUS_COLUMN].astype("string").fillna("missing_status")
        keep = (status == Status.OK).to_numpy(dtype=bool, copy=True)
        for reason, count in status[~keep].value_counts().items():
            excluded[str(reason)] = int(count)
    else:
        keep = np.ones(len(frame), dtype=bool)
    proba = frame[proba_cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    pred_col = head_columns.label_column
    predicted = frame[pred_col]
    has_prediction = np.isfinite(proba).all(axis=1)
    if not multilabel:  # an empty H_labels is a valid "no label predicted"
        has_prediction &= predicted.notna().to_numpy(dtype=bool)
    no_prediction = keep & ~has_prediction
    if no_prediction.any():
        excluded["no_prediction"] = int(no_prediction.sum())
    keep &= has_prediction
    if label_col is not None:
        if label_col not in frame.columns:
            raise InputError(f"label column {label_col!r} not found; columns: {list(frame.columns)}.")
        labels = frame[label_col]
        missing_label = labels.isna().to_numpy(dtype=bool, copy=True)
        if not multilabel:  # an empty label of a single-label head is a missing label
            missing_label |= (labels.astype("string").str.strip() == "").fillna(True).to_numpy(dtype=bool)
        unlabelled = keep & missing_label
        if unlabelled.any():
            excluded["no_label"] = int(unlabelled.sum())
        keep &= ~missing_label
    if not keep.any():
        raise InputError(
            f"no row can be audited for head {head!r}: excluded rows by reason: {excluded}. "
            "Check the tonecls_status column and the label column.")

    rows = frame.loc[keep]
    if multilabel:
        pred_sets = _split_labels(rows[pred_col].fillna(""))
        _check_known({label for s in pred_sets for label in s}, classes, f"column {pred_col!r}")
        y_pred = _indicator(pred_sets, classes)
        confidence = None
    else:
        pred_names = rows[pred_col].astype(str).str.strip()
        _check_known(pred_names.unique(), classes, f"column {pred_col!r}")
        y_pred = np.asarray(pred_names.to_numpy()[:, None] == np.array(classes)[None, :])
        conf_col = f"{head}_confidence"
        confidence = (pd.to_numeric(rows[conf_col], errors="coerce").to_numpy(dtype=np.float64)
                      if conf_col in rows.columns else proba[keep].max(axis=1))
    y_true = None
    if label_col is not None:
        if multilabel:
            true_sets = _split_labels(rows[label_col])
            _check_known({label for s in true_sets for label in s}, classes, f"label column {label_col!r}")
            y_true = _indicator(true_sets, classes)
        else:
            true_names = rows[label_col].astype(str).str.strip()
            _check_known(true_names.unique(), classes, f"label column {label_col!r}")
            y_true = np.asarray(true_names.to_numpy()[:, None] == np.array(classes)[None, :])
    arrays = HeadArrays(classes=classes, multilabel=multilabel, y_pred=y_pred,
                        proba=np.clip(proba[keep], 0.0, 1.0), y_true=y_true, confidence=confidence)
    return arrays, keep, excluded


# --- result ------------------------------------------------------------------------------


@dataclass
class AuditResult:
    """Group breakdowns of one head; see the module docstring for the views."""

    head: str
    classes: list[str]
    multilabel: bool
    labelled: bool
    group_cols: list[str]
    groupings: list[str]
    metrics: pd.DataFrame
    gaps: pd.DataFrame
    between: pd.DataFrame
    group_sizes: pd.DataFrame
    confusion: dict[str, dict[str, list[list[int]]]]
    calibration: dict[str, dict[str, dict[str, list[float]]]]
    excluded: dict[str, int]
    n_rows: int
    n_audited: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def by_group(self) -> pd.DataFrame:
        """Point estimates, one row per (grouping, group), columns (metric, class)."""
        groups = self.metrics[self.metrics["grouping"] != OVERALL[0]]
        wide = groups.pivot(index=["grouping", "group"], columns=["metric", "class"], values="value")
        return wide.reindex(  # in audit order, not sorted
            index=pd.MultiIndex.from_frame(groups[["grouping", "group"]].drop_duplicates()),
            columns=pd.MultiIndex.from_frame(groups[["metric", "class"]].drop_duplicates()))

    @property
    def overall(self) -> pd.Series:
        """Point estimates on the whole audited population, indexed by (metric, class)."""
        rows = self.metrics[self.metrics["grouping"] == OVERALL[0]]
        return rows.set_index(["metric", "class"])["value"]

    @property
    def undefined(self) -> pd.DataFrame:
        """The metrics that are undefined for a group, and why."""
        rows = self.metrics[self.metrics["reason"] != ""]
        return rows[["grouping", "group", "metric", "class", "reason"]].reset_index(drop=True)

    @property
    def findings(self) -> list[str]:
        """Plain-language statements: data coverage, then the significant gaps, largest first."""
        from tonecls.audit.summary import findings

        return findings(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: every figure the report prints, undefined values as null."""
        from tonecls.report import to_jsonable

        return to_jsonable({
            "head": self.head, "classes": self.classes, "multilabel": self.multilabel,
            "labelled": self.labelled, "group_cols": self.group_cols, "groupings": self.groupings,
            "n_rows": self.n_rows, "n_audited": self.n_audited, "excluded": self.excluded,
            "settings": self.settings, "group_sizes": self.group_sizes, "metrics": self.metrics,
            "gaps": self.gaps, "between": self.between, "confusion_matrices": self.confusion,
            "calibration_curves": self.calibration,
        })

    def to_report(self, provenance: dict[str, Any] | None = None, title: str | None = None):
        """This audit as a :class:`tonecls.report.Report`."""
        from tonecls.audit.summary import build_report

        return build_report(self, provenance=provenance or {}, title=title)


# --- computation -------------------------------------------------------------------------


def _group_labels(groups: pd.DataFrame, cols: Sequence[str]) -> np.ndarray:
    labels = groups[cols[0]].to_numpy(dtype=object)
    for col in cols[1:]:
        labels = labels + " × " + groups[col].to_numpy(dtype=object)
    return labels


def _fairlearn_point_estimates(arrays: HeadArrays, groups: pd.Series) -> dict[str, Any]:
    """Count metrics by group and overall with fairlearn's MetricFrame.

    The rows are first collapsed into their distinct (group, label, prediction) cells with
    counts passed as ``sample_weight``: the metrics are identical, and MetricFrame's cost no
    longer grows with the number of rows. Returns ``{"by_group": {metric: {class: Series}},
    "overall": {metric: {class: float}}}`` (class ``""`` for head-level metrics).
    """
    from fairlearn.metrics import (
        MetricFrame,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, f1_score, precision_score

    codes, names = pd.factorize(groups, sort=True)
    by_group: dict[str, dict[str, pd.Series]] = {}
    overall: dict[str, dict[str, float]] = {}

    def metric_frame(metrics: dict, column: str, *blocks: np.ndarray) -> None:
        cells, counts = np.unique(np.column_stack([codes, *blocks]), axis=0, return_counts=True)
        width = (cells.shape[1] - 1) // 2
        y_true, y_pred = cells[:, 1:1 + width], cells[:, 1 + width:]
        if width == 1:
            y_true, y_pred = y_true[:, 0], y_pred[:, 0]
        frame = MetricFrame(
            metrics=metrics, y_true=y_true, y_pred=y_pred,
            sensitive_features=pd.Series(np.asarray(names)[cells[:, 0]], name=groups.name),
            sample_params={m: {"sample_weight": counts} for m in metrics})
        for metric in metrics:
            by_group.setdefault(metric, {})[column] = frame.by_group[metric]
            overall.setdefault(metric, {})[column] = float(frame.overall[metric])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-division warnings: handled as undefined later
        for c, name in enumerate(arrays.classes):
            y_pred = arrays.y_pred[:, c].astype(int)
            if arrays.labelled:
                metrics = {
                    "selection_rate": functools.partial(selection_rate, pos_label=1),
                    "recall": functools.partial(true_positive_rate, pos_label=1),
                    "fpr": functools.partial(false_positive_rate, pos_label=1),
                    "precision": functools.partial(precision_score, zero_division=np.nan),
                    "f1": functools.partial(f1_score, zero_division=np.nan),
                }
                metric_frame(metrics, name, arrays.y_true[:, c].astype(int), y_pred)
            else:  # selection rate looks at predictions only
                metric_frame({"selection_rate": functools.partial(selection_rate, pos_label=1)},
                             name, y_pred, y_pred)
        if arrays.labelled:
            if arrays.multilabel:
                y_true, y_pred = arrays.y_true.astype(int), arrays.y_pred.astype(int)
            else:
                y_true, y_pred = arrays.y_true.argmax(axis=1), arrays.y_pred.argmax(axis=1)
            metric_frame({"accuracy": accuracy_score,
                          "macro_f1": functools.partial(f1_score, average="macro", zero_division=np.nan)},
                         "", y_true, y_pred)
    return {"by_group": by_group, "overall": overall}


def _exact_auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if y.all() or not y.any():
        return math.nan
    return float(roc_auc_score(y, score))


def _reasons(metric: str, cls: str, key: tuple[str, str], point: dict[str, np.ndarray], c: int,
             population: dict[str, np.ndarray] | None) -> str:
    """Why ``metric`` of class index ``c`` is undefined in group ``key`` ("" if it is defined)."""
    from tonecls.audit.summary import describe_group

    group = "overall" if key == OVERALL else f"group {describe_group(*key)}"
    n = point["n"][0]
    if metric in HEAD_METRICS:
        if metric == "macro_f1" and np.all(np.isnan(point["f1"][0])):
            return f"undefined: no class is labelled or predicted {'' if key == OVERALL else 'in '}{group}"
        return ""
    pos = point["label_rate"][0, c] * n if "label_rate" in point else math.nan
    pred = point["selection_rate"][0, c] * n
    neg = n - pos
    where = "overall" if key == OVERALL else f"in {group}"
    if metric == "recall" and pos == 0:
        return f"undefined: no posts labelled '{cls}' {where}"
    if metric == "precision" and pred == 0:
        return f"undefined: the model predicted '{cls}' for no post {where}"
    if metric == "f1" and pos + pred == 0:
        return f"undefined: no posts labelled or predicted '{cls}' {where}"
    if metric == "fpr" and neg == 0:
        return f"undefined: every post {where} is labelled '{cls}' (no negatives)"
    if metric == "subgroup_auc" and (pos == 0 or neg == 0):
        kind = "positive" if pos == 0 else "negative"
        return f"undefined: no {kind} examples of '{cls}' {where}"
    if metric in ("bpsn_auc", "bnsp_auc") and population is not None:
        all_n = population["n"][0]
        all_pos = population["label_rate"][0, c] * all_n
        bg_pos, bg_neg = all_pos - pos, (all_n - n) - (all_pos - pos)
        if metric == "bpsn_auc" and (neg == 0 or bg_pos == 0):
            return (f"undefined: no negative examples of '{cls}' {where}" if neg == 0 else
                    f"undefined: no positive examples of '{cls}' outside {group}")
        if metric == "bnsp_auc" and (pos == 0 or bg_neg == 0):
            return (f"undefined: no positive examples of '{cls}' {where}" if pos == 0 else
                    f"undefined: no negative examples of '{cls}' outside {group}")
    return ""


@dataclass
class _Strata:
    """Rows split into the cells of all group columns (the bootstrap strata); every audited
    group is a union of strata, so group sums are sums of stratum sums."""

    features: list[Any]  # per stratum: its rows of the feature matrix
    sizes: list[int]
    members: dict[tuple[str, str], list[int]]  # (grouping, group) -> strata
    keys: list[tuple[str, str]]  # OVERALL first, then groups in grouping order
    labels: dict[str, np.ndarray]  # grouping -> group label of every row

    @classmethod
    def build(cls, groups: pd.DataFrame, group_cols: list[str], groupings: list[tuple[str, ...]],
              names: list[str], features: Any) -> _Strata:
        codes, cells = pd.factorize(_group_labels(groups, group_cols), sort=True)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(cells) + 1))
        features = features[order]
        first_row = order[bounds[:-1]]
        members: dict[tuple[str, str], list[int]] = {}
        labels = {}
        for cols, name in zip(groupings, names):
            labels[name] = _group_labels(groups, cols)
            for stratum, label in enumerate(labels[name][first_row]):
                members.setdefault((name, str(label)), []).append(stratum)
        keys = [OVERALL, *sorted(members, key=lambda key: (names.index(key[0]), key[1]))]
        members[OVERALL] = list(range(len(cells)))
        return cls(
            features=[features[bounds[s]:bounds[s + 1]] for s in range(len(cells))],
            sizes=[int(bounds[s + 1] - bounds[s]) for s in range(len(cells))],
            members=members, keys=keys, labels=labels)


def audit_groups(
    scored: pd.DataFrame | str | os.PathLike,
    *,
    head: str,
    group_cols: Sequence[str],
    label_col: str | None = None,
    min_group_size: int = 30,
    n_bootstrap: int = 1000,
    seed: int | None = 0,
    intersections: bool = False,
    confidence_level: float = 0.95,
    quiet: bool = False,
) -> AuditResult:
    """Audit one head of a scored frame (or file) across groups.

    Parameters
    ----------
    scored : DataFrame or path
        Scored rows: ``tonecls_status``, the head's output columns, the group columns and,
        optionally, a label column (class names; ``;``-joined for multi-label heads). Rows not
        ``ok`` (or without a prediction or label) are excluded and counted.
    head : name of the model head (e.g. ``"emotion"``).
    group_cols : columns whose values define groups; each is audited on its own.
    label_col : gold labels; without it only prediction-based metrics are audited.
    min_group_size : groups with fewer audited rows are shown but marked, and never flagged.
    n_bootstrap : stratified bootstrap resamples for the confidence intervals (0: none).
    seed : seed of the bootstrap.
    intersections : also audit the intersection of all group columns.
    confidence_level : of the percentile intervals.
    quiet : no progress bar.

    Notes
    -----
    The audited rows are held in memory with a sparse matrix of per-row statistics (about
    40 non-zeros per row for 4 classes), and each resample draws one weight per row: the cost
    grows with rows x resamples. For exports of many millions of rows, audit a uniform random
    sample: the intervals then account for the sampling.
    """
    if isinstance(scored, (str, os.PathLike)):
        scored = load_scored(scored)
    if not isinstance(scored, pd.DataFrame):
        raise InputError(f"scored must be a DataFrame or a file path, got {type(scored).__name__}")
    group_cols = [group_cols] if isinstance(group_cols, str) else list(group_cols)
    if not group_cols:
        raise InputError("give at least one group column (--group-col COL).")
    missing = [c for c in group_cols if c not in scored.columns]
    if missing:
        raise InputError(f"group column(s) {missing} not found; columns: {list(scored.columns)}.")
    if len(set(group_cols)) != len(group_cols):
        raise InputError(f"group columns repeat: {group_cols}.")
    if min_group_size < 1 or n_bootstrap < 0 or not 0 < confidence_level < 1:
        raise InputError("min_group_size must be >= 1, n_bootstrap >= 0 and confidence_level in (0, 1).")

    arrays, keep, excluded = head_arrays(scored, head, label_col)
    groups = scored.loc[keep, group_cols].astype("string")
    groups = groups.apply(lambda col: col.str.strip()).replace("", pd.NA).fillna(MISSING_GROUP).astype(str)
    groups = groups.reset_index(drop=True)
    groupings = [(c,) for c in group_cols]
    if intersections and len(group_cols) > 1:
        groupings.append(tuple(group_cols))
    grouping_names = [" × ".join(g) for g in groupings]

    features, layout = build_features(arrays)
    strata = _Strata.build(groups, group_cols, groupings, grouping_names, features)
    keys, members = strata.keys, strata.members
    labels_by_grouping = strata.labels

    def group_metrics(strata_sums: list[np.ndarray]) -> dict[tuple[str, str], dict[str, np.ndarray]]:
        population = sum(strata_sums)
        return {key: metrics_from_sums(sum(strata_sums[s] for s in members[key]), layout,
                                       arrays.n_classes,
                                       population_sums=None if key == OVERALL else population)
                for key in keys}

    # point estimates: engine on the data (unit weights); fairlearn / sklearn where they apply
    point_sums = [np.asarray(f.sum(axis=0)) for f in strata.features]
    engine_point = group_metrics(point_sums)
    replicates: dict[tuple[str, str], dict[str, list[np.ndarray]]] = {key: {} for key in keys}
    if n_bootstrap:
        from tqdm.auto import tqdm

        with tqdm(total=n_bootstrap, desc=f"bootstrap ({head})", unit="resample",
                  disable=quiet or None) as progress:
            for chunk in stratified_weights(strata.sizes, n_bootstrap, seed):
                sums = [weighted_sums(f, w) for f, w in zip(strata.features, chunk)]
                for key, values in group_metrics(sums).items():
                    for metric, array in values.items():
                        replicates[key].setdefault(metric, []).append(array)
                progress.update(len(chunk[0]))
    boot = {key: {m: np.concatenate(v) for m, v in values.items()} for key, values in replicates.items()}

    sensitive_by_grouping = {name: pd.Series(labels_by_grouping[name], name=name)
                             for name in grouping_names}
    fair = {name: _fairlearn_point_estimates(arrays, sensitive_by_grouping[name])
            for name in grouping_names}

    metric_names = [m for m in HEAD_METRICS if m in engine_point[OVERALL]]
    class_metric_names = [m for m in CLASS_METRICS if m in engine_point[OVERALL] or m in AUC_METRICS]
    if not arrays.labelled:
        class_metric_names = ["selection_rate"]

    records = []
    for key in keys:
        grouping, group = key
        point = engine_point[key]
        n = int(round(point["n"][0]))
        small = key != OVERALL and n < min_group_size
        in_group = (np.ones(len(groups), dtype=bool) if key == OVERALL
                    else labels_by_grouping[grouping] == group)
        entries = [(m, "", None) for m in metric_names] + [
            (m, cls, c) for m in class_metric_names for c, cls in enumerate(arrays.classes)]
        for metric, cls, c in entries:
            if key == OVERALL and metric in ("bpsn_auc", "bnsp_auc"):
                continue
            value, shift = _point_value(metric, c, cls, key, point, fair, arrays, in_group)
            reason = _reasons(metric, cls, key, point, c if c is not None else 0,
                              None if key == OVERALL else engine_point[OVERALL])
            if reason:
                value = math.nan
            elif not math.isfinite(value):
                reason = "undefined"
            low = high = math.nan
            if n_bootstrap and not reason:
                series = _replicates(boot[key], metric, c) + shift
                lo, hi, _ = percentile_interval(series[:, None], confidence_level)
                low, high = float(lo[0]), float(hi[0])
            records.append({"grouping": grouping, "group": group, "n": n, "small": small,
                            "metric": metric, "class": cls, "value": value,
                            "ci_low": low, "ci_high": high, "reason": reason, "_shift": shift})
    metrics = pd.DataFrame.from_records(records)

    gaps, between = _gap_tables(metrics, boot, arrays, confidence_level, n_bootstrap, keys)
    metrics = metrics.drop(columns="_shift")
    sizes = pd.DataFrame([{"grouping": g, "group": grp, "n": int(round(engine_point[(g, grp)]["n"][0])),
                           "small": int(round(engine_point[(g, grp)]["n"][0])) < min_group_size}
                          for g, grp in keys if (g, grp) != OVERALL])

    confusion, calibration = _curves(arrays, keys, labels_by_grouping, engine_point, point_sums,
                                     members, layout)
    settings = {"head": head, "label_col": label_col, "group_cols": group_cols,
                "min_group_size": min_group_size, "n_bootstrap": n_bootstrap, "seed": seed,
                "intersections": intersections, "confidence_level": confidence_level,
                "stratified_by": group_cols}
    return AuditResult(
        head=head, classes=arrays.classes, multilabel=arrays.multilabel,
        labelled=arrays.labelled, group_cols=group_cols, groupings=grouping_names,
        metrics=metrics, gaps=gaps, between=between, group_sizes=sizes,
        confusion=confusion, calibration=calibration, excluded=excluded,
        n_rows=len(scored), n_audited=int(keep.sum()), settings=settings)


def _replicates(values: dict[str, np.ndarray], metric: str, c: int | None) -> np.ndarray:
    array = values[metric]
    return array if c is None else array[:, c]


def _point_value(metric, c, cls, key, point, fair, arrays, in_group) -> tuple[float, float]:
    """The reported point estimate and, for AUCs, the shift from binned to exact scores."""
    source = next(iter(fair.values())) if key == OVERALL else fair[key[0]]
    if metric in source["by_group"]:
        if key == OVERALL:
            return float(source["overall"][metric][cls]), 0.0
        return float(source["by_group"][metric][cls].loc[key[1]]), 0.0
    engine_value = float(_replicates(point, metric, c)[0]) if metric in point else math.nan
    if metric in AUC_METRICS:
        y = arrays.y_true[:, c]
        score = arrays.proba[:, c]
        if metric == "subgroup_auc":
            subset = in_group
        elif metric == "bpsn_auc":
            subset = (in_group & ~y) | (~in_group & y)
        else:
            subset = (in_group & y) | (~in_group & ~y)
        exact = _exact_auc(y[subset], score[subset])
        shift = exact - engine_value if math.isfinite(exact) and math.isfinite(engine_value) else 0.0
        return exact, shift
    return engine_value, 0.0


def _gap_tables(metrics: pd.DataFrame, boot, arrays: HeadArrays, level: float, n_bootstrap: int,
                keys) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each group against overall, and the largest gap between eligible groups."""
    indexed = {(r.grouping, r.group, r.metric, r["class"]): r for _, r in metrics.iterrows()}
    class_index = {c: i for i, c in enumerate(arrays.classes)}
    overall_metric = {"bpsn_auc": "subgroup_auc", "bnsp_auc": "subgroup_auc"}

    def series(key, metric, cls, shift):
        if not n_bootstrap:
            return None
        return _replicates(boot[key], metric, class_index[cls] if cls else None) + shift

    def interval(replicates):
        if replicates is None:
            return math.nan, math.nan
        lo, hi, _ = percentile_interval(replicates[:, None], level)
        return float(lo[0]), float(hi[0])

    gap_rows = []
    for (grouping, group, metric, cls), row in indexed.items():
        if grouping == OVERALL[0] or metric not in GAP_METRICS:
            continue
        base = indexed.get((*OVERALL, overall_metric.get(metric, metric), cls))
        if base is None:
            continue
        defined = not row.reason and not base.reason
        diff = row.value - base.value if defined else math.nan
        ratio = row.value / base.value if defined and base.value else math.nan
        d_lo = d_hi = r_lo = r_hi = math.nan
        if defined and n_bootstrap:
            g = series((grouping, group), metric, cls, row._shift)
            o = series(OVERALL, overall_metric.get(metric, metric), cls, base._shift)
            d_lo, d_hi = interval(g - o)
            with np.errstate(divide="ignore", invalid="ignore"):
                r_lo, r_hi = interval(np.where(o > 0, g / np.where(o > 0, o, 1), np.nan))
        eligible = defined and not row.small
        gap_rows.append({
            "grouping": grouping, "group": group, "n": row.n, "small": row.small,
            "metric": metric, "class": cls, "value": row.value, "overall": base.value,
            "difference": diff, "difference_ci_low": d_lo, "difference_ci_high": d_hi,
            "difference_significant": _excludes(d_lo, d_hi, 0.0) if eligible else None,
            "ratio": ratio, "ratio_ci_low": r_lo, "ratio_ci_high": r_hi,
            "ratio_significant": _excludes(r_lo, r_hi, 1.0) if eligible else None,
            "reason": row.reason or base.reason or ("" if not row.small else
                                                    f"group smaller than the minimum size ({row.n})"),
        })
    gaps = pd.DataFrame.from_records(gap_rows)

    between_rows = []
    groups_only = metrics[(metrics.grouping != OVERALL[0]) & (metrics.reason == "")
                          & ~metrics.small & metrics.metric.isin(GAP_METRICS)]
    for (grouping, metric, cls), block in groups_only.groupby(["grouping", "metric", "class"], sort=False):
        if len(block) < 2:
            continue
        high, low = block.loc[block.value.idxmax()], block.loc[block.value.idxmin()]
        diff = high.value - low.value
        ratio = low.value / high.value if high.value else math.nan
        d_lo = d_hi = r_lo = r_hi = math.nan
        if n_bootstrap:
            h = series((grouping, high.group), metric, cls, high._shift)
            lo_ = series((grouping, low.group), metric, cls, low._shift)
            d_lo, d_hi = interval(h - lo_)
            with np.errstate(divide="ignore", invalid="ignore"):
                r_lo, r_hi = interval(np.where(h > 0, lo_ / np.where(h > 0, h, 1), np.nan))
        between_rows.append({
            "grouping": grouping, "metric": metric, "class": cls,
            "group_high": high.group, "value_high": high.value, "n_high": high.n,
            "group_low": low.group, "value_low": low.value, "n_low": low.n,
            "difference": diff, "difference_ci_low": d_lo, "difference_ci_high": d_hi,
            "difference_significant": _excludes(d_lo, d_hi, 0.0),
            "ratio": ratio, "ratio_ci_low": r_lo, "ratio_ci_high": r_hi,
            "ratio_significant": _excludes(r_lo, r_hi, 1.0),
        })
    between = pd.DataFrame.from_records(between_rows, columns=[
        "grouping", "metric", "class", "group_high", "value_high", "n_high", "group_low",
        "value_low", "n_low", "difference", "difference_ci_low", "difference_ci_high",
        "difference_significant", "ratio", "ratio_ci_low", "ratio_ci_high", "ratio_significant"])
    return gaps, between


def _excludes(low: float, high: float, value: float) -> bool | None:
    """Whether the interval excludes ``value``; ``None`` when there is no interval."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return bool(low > value or high < value)


def _curves(arrays, keys, labels_by_grouping, engine_point, point_sums, members, layout):
    """Confusion matrices (single-label, labelled) and calibration curves per group."""
    from sklearn.metrics import confusion_matrix

    from tonecls.audit.metrics import calibration_curve_from_sums

    confusion: dict[str, dict[str, list[list[int]]]] = {}
    calibration: dict[str, dict[str, dict[str, list[float]]]] = {}
    if not arrays.labelled:
        return confusion, calibration
    codes = None if arrays.multilabel else (arrays.y_true.argmax(axis=1), arrays.y_pred.argmax(axis=1))
    for grouping, group in keys:
        in_group = (slice(None) if (grouping, group) == OVERALL
                    else labels_by_grouping[grouping] == group)
        if codes is not None:
            matrix = confusion_matrix(codes[0][in_group], codes[1][in_group],
                                      labels=list(range(arrays.n_classes)))
            confusion.setdefault(grouping, {})[group] = matrix.tolist()
        sums = sum(point_sums[s] for s in members[(grouping, group)])
        predicted, observed, count = calibration_curve_from_sums(sums, layout, arrays.n_classes)
        calibration.setdefault(grouping, {})[group] = {
            "mean_predicted": predicted.tolist(), "observed": observed.tolist(),
            "count": count.astype(int).tolist()}
    return confusion, calibration


def audit_provenance(scored: str | os.PathLike, *, model: str | os.PathLike | None = None,
                     command: str | None = None) -> dict[str, Any]:
    """The provenance block of an audit report of the file ``scored``: the input file, the
    command, the date and what the model bundle that scored it records (:func:`model_provenance`)."""
    import datetime as dt

    return {
        "input file": str(Path(scored).resolve()),
        "command": command or "tonecls.audit.audit_file(...)",
        "date": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        **(model_provenance(model) if model else
           {"model": "not recorded (pass --model BUNDLE to record the bundle that scored the file)"}),
    }


def audit_file(
    scored: str | os.PathLike,
    output: str | os.PathLike,
    *,
    head: str,
    group_cols: Sequence[str],
    label_col: str | None = None,
    model: str | os.PathLike | None = None,
    command: str | None = None,
    **options: Any,
) -> tuple[AuditResult, dict[str, Path]]:
    """Audit a scored export and write the report ``output`` + ``.html`` / ``.md`` / ``.json``.

    Reads only the columns the audit needs (:func:`load_scored`); ``options`` go to
    :func:`audit_groups`; ``model`` (the bundle that scored the file) and ``command`` are
    recorded in the provenance. Returns the result and the paths written.
    """
    from tonecls.report import report_target, write_report

    out_dir, name = report_target(output)
    provenance = audit_provenance(scored, model=model, command=command)
    group_cols = [group_cols] if isinstance(group_cols, str) else list(group_cols)
    frame = load_scored(scored, head=head, columns=[*filter(None, [label_col]), *group_cols])
    result = audit_groups(frame, head=head, group_cols=group_cols, label_col=label_col, **options)
    return result, write_report(result.to_report(provenance), out_dir, name)
