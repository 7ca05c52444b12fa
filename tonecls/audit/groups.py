"""Bias audit group breakdowns of a scored export, with stratified bootstrap tests.

:func:`audit_groups` takes a scored frame (the output columns of ``ToneModel.predict`` /
``score_file``, see ARCHITECTURE.md), one head, an optional label column and one or more group
columns, and returns an :class:`~tonecls.audit.result.AuditResult`: one object, many views, in
the spirit of fairlearn's ``MetricFrame``::

    result = audit_groups(scored, head="emotion", label_col="gold", group_cols=["dialect"])
    result.verdict         # one line: how many findings, the largest
    result.flagged         # the findings: gaps that survive the correction and matter
    result.by_group        # wide: (grouping, group) x (metric, class) point estimates
    result.overall         # the same metrics on the whole audited population
    result.metrics         # tidy: one row per group, metric and class, with CI, support, reason
    result.gaps            # every gap to its reference: CIs, raw / adjusted p, flagged
    result.between         # the largest between-group gap per metric and class (descriptive)
    result.findings        # plain-language sentences

One metric engine (:mod:`tonecls.audit.metrics`) computes every point estimate and every
bootstrap replicate from weighted sums of per-row features; fairlearn and scikit-learn are its
test oracles. The audit runs in steps: validate the input, build the strata (cells of the group
columns), point estimates, stratified bootstrap, the metric table (with minimum cell counts),
size-matched nulls for calibration errors, then the gaps tested as one family
(:mod:`tonecls.audit.gaps`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tonecls.audit.gaps import (
    CALIBRATION_METRICS,
    OVERALL,
    GapCriteria,
    between_gaps,
    group_gaps,
)
from tonecls.audit.metrics import (
    AUC_METRICS,
    CLASS_METRICS,
    HEAD_METRICS,
    FeatureLayout,
    HeadArrays,
    build_features,
    calibration_curve_from_sums,
    calibration_errors,
    calibration_features,
    metrics_from_sums,
    random_subset_sums,
    weighted_sums,
)
from tonecls.audit.names import describe_group, group_labels
from tonecls.audit.result import AuditResult
from tonecls.errors import InputError
from tonecls.schema import STATUS_COLUMN, OutputSchema, Status, split_labels
from tonecls.stats import check_seed, percentile_interval, stratified_weights

__all__ = ["AuditResult", "GapCriteria", "audit_groups", "head_arrays"]

MAX_LISTED_SMALL_GROUPS = 20
"""Groups below the minimum size are listed (not tested) while a column has at most this many."""
DEFAULT_MAX_GROUPS = 50
PROBABILITY_SUM_ROUNDING = 0.005
"""How far each probability of a scored file may be rounded (two decimals) before the
probabilities of a single-label head are taken not to sum to 1."""
DEFAULT_MIN_GROUP_SIZE = 30
DEFAULT_MIN_CELL_COUNT = 10
MIN_TESTED_GROUP = 10  # smaller groups are never tested, whatever min_group_size: their bootstrap has no variance
DEFAULT_N_BOOTSTRAP = 1000
MAX_NULL_DRAWS = 300
"""Random groups per group size for the calibration-error nulls (their mean and spread are
what the test uses; 300 draws estimate a standard deviation to about 4%)."""


# --- input -------------------------------------------------------------------------------


def head_classes(frame: pd.DataFrame, head: str) -> tuple[list[str], bool]:
    found = OutputSchema.from_columns(frame.columns)
    try:
        columns = found.head(head)
    except KeyError:
        raise InputError(
            f"the scored data has no columns for head {head!r} (expected {head}_label or "
            f"{head}_labels, and {head}_p_<class>); heads found: {found.head_names or 'none'}. "
            "Pass --head with one of them, or score the file with `tonecls score` first.") from None
    return list(columns.classes), columns.multilabel


def _check_probabilities_sum_to_one(proba: np.ndarray, columns: list[str]) -> None:
    """A single-label head's probabilities of a scored row sum to 1 (else: an edited file, or
    columns from another model)."""
    complete = np.isfinite(proba).all(axis=1)
    tolerance = max(1e-3, PROBABILITY_SUM_ROUNDING * proba.shape[1])
    off = np.flatnonzero(complete & (np.abs(proba.sum(axis=1) - 1.0) > tolerance))
    if len(off):
        raise InputError(
            f"the probability columns {columns} do not sum to 1 in {len(off):,} audited row(s) (the first "
            f"sums to {proba[off[0]].sum():.4f}); a single-label head's probabilities always do. Was the file "
            "edited, or do the columns come from different models? Score the posts again with `tonecls score`.")


def _check_probability_range(proba: np.ndarray, columns: list[str]) -> None:
    """Every probability of an audited row lies in [0, 1] (up to rounding), else the file was edited."""
    finite = np.where(np.isfinite(proba), proba, 0.5)
    off = np.flatnonzero(((finite < -PROBABILITY_SUM_ROUNDING) | (finite > 1 + PROBABILITY_SUM_ROUNDING)).any(axis=1))
    if len(off):
        raise InputError(
            f"the probability columns {columns} hold values outside [0, 1] in {len(off):,} audited row(s) (the first: "
            f"{proba[off[0]].round(4).tolist()}); probabilities never do. Was the file edited? Score the posts "
            "again with `tonecls score`.")


def _check_label_is_most_probable(y_pred: np.ndarray, proba: np.ndarray, column: str) -> None:
    """A single-label head's predicted class is its most probable one (ties within rounding)."""
    chosen = np.where(y_pred, proba, 0.0).sum(axis=1)
    off = np.flatnonzero(chosen < proba.max(axis=1) - PROBABILITY_SUM_ROUNDING)
    if len(off):
        raise InputError(
            f"column {column!r} names a class that is not the most probable one in {len(off):,} audited row(s) "
            "(a single-label head predicts its most probable class); was the file edited, or do the columns "
            "come from different models? Score the posts again with `tonecls score`.")


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
    classes, multilabel = head_classes(frame, head)
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
    _check_probability_range(proba[keep], proba_cols)
    if not multilabel:
        _check_probabilities_sum_to_one(proba[keep], proba_cols)
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
        _check_label_is_most_probable(y_pred, proba[keep], pred_col)
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



# --- computation, step by step -----------------------------------------------------------


def _group_labels(groups: pd.DataFrame, cols: Sequence[str]) -> np.ndarray:
    labels = groups[cols[0]].to_numpy(dtype=object)
    for col in cols[1:]:
        labels = labels + " × " + groups[col].to_numpy(dtype=object)
    return labels


def check_groups_are_not_outcomes(group_cols: list[str], columns: Any, label_col: str | None) -> None:
    """Refuse a group column that is the gold label or a model output: its 'gaps' would be true
    by construction (each label's group has its own recall), findings of nothing."""
    heads = OutputSchema.from_columns(columns).heads
    outcomes = {label_col} | {c for h in heads for c in h.columns}
    clash = [c for c in group_cols if c in outcomes]
    if clash:
        raise InputError(f"group column(s) {clash} are the gold labels or the model's own outputs, so their "
                         "gaps hold by construction; group by a property of the posts or their authors "
                         "(platform, region, dialect group, ...).")


def _check_arguments(scored: Any, group_cols: Sequence[str], label_col: str | None, min_group_size: int,
                     max_groups: int, min_cell_count: int, n_bootstrap: int, confidence_level: float) -> list[str]:
    if not isinstance(scored, pd.DataFrame):
        raise InputError(f"scored must be a DataFrame (for a file: tonecls.jobs.audit_file), got "
                         f"{type(scored).__name__}")
    group_cols = [group_cols] if isinstance(group_cols, str) else list(group_cols)
    if not group_cols:
        raise InputError("give at least one group column (--group-col COL).")
    missing = [c for c in group_cols if c not in scored.columns]
    if missing:
        raise InputError(f"group column(s) {missing} not found; columns: {list(scored.columns)}.")
    if len(set(group_cols)) != len(group_cols):
        raise InputError(f"group columns repeat: {group_cols}.")
    check_groups_are_not_outcomes(group_cols, scored.columns, label_col)
    if min_group_size < 1 or min_cell_count < 1 or n_bootstrap < 0 or not 0 < confidence_level < 1:
        raise InputError("min_group_size and min_cell_count must be >= 1, n_bootstrap >= 0 and "
                         "confidence_level in (0, 1).")
    if max_groups < 1:
        raise InputError(f"max_groups must be >= 1, got {max_groups}.")
    return group_cols


def _group_values(scored: pd.DataFrame, keep: np.ndarray, group_cols: list[str],
                  folds: dict[str, dict[str, str]] | None = None) -> pd.DataFrame:
    """The group columns of the audited rows as strings; missing values form '(missing)';
    values in ``folds`` (column -> value -> folded label) replaced by their folded group."""
    groups = scored.loc[keep, group_cols].apply(group_labels).reset_index(drop=True)
    for column, mapping in (folds or {}).items():
        groups[column] = groups[column].map(lambda value: mapping.get(value, value))
    return groups


def _check_unambiguous_cells(groups: pd.DataFrame, group_cols: list[str]) -> None:
    """Intersections are named by their values joined with `` × ``: refuse values that give two
    different cells one name (their rows would be audited as one group)."""
    if len(group_cols) < 2:
        return
    cells = groups[group_cols].drop_duplicates()
    labels = pd.Series(_group_labels(cells, group_cols))
    if labels.duplicated().any():
        raise InputError(
            f"the values of the group columns {group_cols} contain ' × ', which joins the values of an "
            f"intersection, so different cells get the same name ({labels[labels.duplicated()].iloc[0]!r}); "
            "replace ' × ' in those values, or audit the columns one at a time (intersections off).")


def folded_label(n_groups: int) -> str:
    """The name of the one group that ``n_groups`` groups of a column are folded into."""
    return f"({n_groups:,} other groups)"


def _fold_groups(groups: pd.DataFrame, group_cols: list[str], min_group_size: int,
                 max_groups: int) -> dict[str, dict[str, str]]:
    """Per group column, the groups folded into one group of counts (not estimated per group,
    not tested), as ``{column: {value: folded label}}``.

    A column keeps every group while it has at most ``max_groups`` groups and at most
    :data:`MAX_LISTED_SMALL_GROUPS` below the minimum size; otherwise it keeps its
    ``max_groups`` largest groups of at least ``min_group_size`` rows, and the others are folded.
    An audit by a column with a value per post (an id, a user) so stays fast and its report
    small. A column with a single group is an error: there is nothing to compare.
    """
    folds = {}
    for column in group_cols:
        sizes = groups[column].value_counts()
        if len(sizes) < 2:
            raise InputError(
                f"group column {column!r} has a single group ({sizes.index[0]!r}) among the audited rows: "
                "there is nothing to compare. Choose a column with at least two groups (rows not ok, "
                "without a prediction or without a label are not audited).")
        if len(sizes) <= max_groups and int((sizes < min_group_size).sum()) <= MAX_LISTED_SMALL_GROUPS:
            continue
        ordered = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))
        kept = {group for group, n in ordered[:max_groups] if n >= min_group_size}
        others = [group for group in sizes.index if group not in kept]
        label = folded_label(len(others))
        if label in sizes.index:
            raise InputError(f"group column {column!r} holds the value {label!r}, which is also the name of the "
                             "groups it folds (more groups than max_groups); rename that value, or raise "
                             "max_groups (--max-groups).")
        folds[column] = dict.fromkeys(others, label)
    return folds


@dataclass
class _Strata:
    """Rows split into the cells of all group columns (the bootstrap strata); every audited
    group is a union of strata, so group sums are sums of stratum sums."""

    order: np.ndarray  # audited rows sorted by stratum
    bounds: np.ndarray  # stratum s holds order[bounds[s]:bounds[s + 1]]
    members: dict[tuple[str, str], list[int]]  # (grouping, group) -> strata
    keys: list[tuple[str, str]]  # OVERALL first, then groups in grouping order
    labels: dict[str, np.ndarray]  # grouping -> group label of every row

    @classmethod
    def build(cls, groups: pd.DataFrame, group_cols: list[str],
              groupings: list[tuple[str, ...]], names: list[str]) -> _Strata:
        codes, cells = pd.factorize(_group_labels(groups, group_cols), sort=True)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(cells) + 1))
        first_row = order[bounds[:-1]]
        members: dict[tuple[str, str], list[int]] = {}
        labels = {}
        for cols, name in zip(groupings, names):
            labels[name] = _group_labels(groups, cols)
            for stratum, label in enumerate(labels[name][first_row]):
                members.setdefault((name, str(label)), []).append(stratum)
        keys = [OVERALL, *sorted(members, key=lambda key: (names.index(key[0]), key[1]))]
        members[OVERALL] = list(range(len(cells)))
        return cls(order=order, bounds=bounds, members=members, keys=keys, labels=labels)

    @property
    def sizes(self) -> list[int]:
        return np.diff(self.bounds).astype(int).tolist()

    def split(self, features: Any) -> list[Any]:
        """``features`` (one row per audited row) cut into its strata."""
        ordered = features[self.order]
        return [ordered[self.bounds[s]:self.bounds[s + 1]] for s in range(len(self.bounds) - 1)]

    def group_metrics(self, strata_sums: list[np.ndarray], layout: FeatureLayout,
                      n_classes: int) -> dict[tuple[str, str], dict[str, np.ndarray]]:
        """Every metric of every group from per-stratum sums (each ``B x m``)."""
        population = sum(strata_sums)
        return {key: metrics_from_sums(sum(strata_sums[s] for s in self.members[key]), layout,
                                       n_classes, population_sums=None if key == OVERALL else population)
                for key in self.keys}


def _point_estimates(strata: _Strata, features: Any, layout: FeatureLayout, n_classes: int):
    """Metrics on the data itself (unit weights), and the per-stratum sums they come from."""
    sums = [np.asarray(f.sum(axis=0)) for f in strata.split(features)]
    return strata.group_metrics(sums, layout, n_classes), sums


def _bootstrap(strata: _Strata, features: Any, layout: FeatureLayout, n_classes: int,
               n_bootstrap: int, seed: int | None, progress_label: str, quiet: bool):
    """Replicates of every metric of every group: ``{key: {metric: (B, ...) array}}``."""
    from tqdm.auto import tqdm

    stratum_features = strata.split(features)
    replicates: dict[tuple[str, str], dict[str, list[np.ndarray]]] = {key: {} for key in strata.keys}
    with tqdm(total=n_bootstrap, desc=progress_label, unit="resample", disable=quiet or None) as progress:
        for chunk in stratified_weights(strata.sizes, n_bootstrap, seed):
            sums = [weighted_sums(f, w) for f, w in zip(stratum_features, chunk)]
            for key, values in strata.group_metrics(sums, layout, n_classes).items():
                for metric, array in values.items():
                    replicates[key].setdefault(metric, []).append(array)
            progress.update(len(chunk[0]))
    return {key: {m: np.concatenate(v) for m, v in values.items()} for key, values in replicates.items()}


def _recentre_aucs(boot, point, binned_point) -> None:
    """Bootstrapped AUCs use binned scores; shift them by the binning offset on the data
    (exact minus binned AUC) so that the intervals sit around the exact estimate."""
    for key, values in boot.items():
        for metric in AUC_METRICS:
            if metric in values and metric in point[key]:
                offset = np.nan_to_num(point[key][metric] - binned_point[key][metric])
                values[metric] = values[metric] + offset


def _cell_reason(count: float, minimum: int, what: str, where: str) -> str:
    count = int(round(count))
    if count == 0:
        return f"undefined: no {what} {where}"
    if count < minimum:
        return f"undefined: only {count} {what} {where} (fewer than {minimum})"
    return ""


def _support_and_reason(metric: str, cls: str, c: int, key: tuple[str, str],
                        point: dict[str, np.ndarray], population: dict[str, np.ndarray],
                        min_cell_count: int) -> tuple[int, str]:
    """How many rows a metric rests on (its smallest cell) and why it is undefined ("" if not)."""
    n = point["n"][0]
    inside = key != OVERALL
    where = f"in group {describe_group(*key)}" if inside else "overall"
    outside = f"outside group {describe_group(*key)}"
    if metric == "macro_f1":
        defined = not np.all(np.isnan(point["f1"][0]))
        return int(n), "" if defined else f"undefined: no class is labelled or predicted {where}"
    if metric in HEAD_METRICS or metric in ("label_rate", "selection_rate", "class_ece"):
        return int(n), ""
    pos, neg, pred = point["n_pos"][0, c], point["n_neg"][0, c], point["n_pred"][0, c]
    labelled, unlabelled, predicted = (f"posts labelled '{cls}'", f"posts not labelled '{cls}'",
                                       f"posts predicted '{cls}'")
    cells = {
        "recall": [(pos, labelled, where)],
        "f1": [(pos, labelled, where)],
        "precision": [(pred, predicted, where)],
        "fpr": [(neg, unlabelled, where)],
        "subgroup_auc": [(pos, labelled, where), (neg, unlabelled, where)],
    }
    if inside:
        bg_pos = population["n_pos"][0, c] - pos
        bg_neg = population["n_neg"][0, c] - neg
        cells["bpsn_auc"] = [(neg, unlabelled, where), (bg_pos, labelled, outside)]
        cells["bnsp_auc"] = [(pos, labelled, where), (bg_neg, unlabelled, outside)]
    needed = cells[metric]
    support = int(round(min(count for count, _, _ in needed)))
    for count, what, place in needed:
        reason = _cell_reason(count, min_cell_count, what, place)
        if reason:
            return support, reason
    return support, ""


def _metric_table(strata: _Strata, arrays: HeadArrays, point, boot, min_group_size: int,
                  min_cell_count: int, level: float, folded: set[str]) -> pd.DataFrame:
    """Tidy table: one row per (grouping, group, metric, class) with value, CI, support, reason."""
    metric_names = [m for m in HEAD_METRICS if m in point[OVERALL]]
    class_metric_names = ([m for m in CLASS_METRICS if m in point[OVERALL] or m in AUC_METRICS]
                          if arrays.labelled
                          else ["selection_rate"])
    entries = [(m, "", None) for m in metric_names] + [
        (m, cls, c) for m in class_metric_names for c, cls in enumerate(arrays.classes)]
    records = []
    for key in strata.keys:
        values = point[key]
        n = int(round(values["n"][0]))
        small = key != OVERALL and (n < min_group_size or _is_folded(key[1], folded))
        for metric, cls, c in entries:
            if metric not in values:  # BPSN / BNSP of the whole population
                continue
            support, reason = _support_and_reason(metric, cls, c or 0, key, values, point[OVERALL],
                                                  min_cell_count)
            value = float(values[metric][0] if c is None else values[metric][0, c])
            if not reason and not math.isfinite(value):
                reason = "undefined"
            low = high = math.nan
            if boot and not reason:
                series = boot[key][metric] if c is None else boot[key][metric][:, c]
                lo, hi, _ = percentile_interval(series[:, None], level)
                low, high = float(lo[0]), float(hi[0])
            records.append({"grouping": key[0], "group": key[1], "n": n, "small": small,
                            "metric": metric, "class": cls, "value": math.nan if reason else value,
                            "ci_low": low, "ci_high": high, "support": support, "reason": reason})
    return pd.DataFrame.from_records(records)


def _calibration_nulls(strata: _Strata, features: Any, layout: FeatureLayout, arrays: HeadArrays,
                       sizes: dict[tuple[str, str], int], n_draws: int, seed: int | None):
    """Calibration errors of random groups of each audited group's size: ``{size: {metric: draws}}``.

    The expected calibration error of a sample grows as the sample shrinks, so a group's ECE
    is compared with what random groups of the same size show on the same data.
    """
    features, layout = calibration_features(features, layout)
    nulls: dict[int, dict[str, np.ndarray]] = {}
    for size in sorted(set(sizes.values())):
        draws: dict[str, list[np.ndarray]] = {}
        size_seed = None if seed is None else [seed, 1, size]
        for sums in random_subset_sums(features, size, n_draws, size_seed):
            values = calibration_errors(sums, layout, arrays.n_classes)
            for metric in CALIBRATION_METRICS:
                if metric in values:
                    draws.setdefault(metric, []).append(values[metric])
        nulls[size] = {m: np.concatenate(v) for m, v in draws.items()}
    return nulls


def _is_folded(group: str, folded: set[str]) -> bool:
    """Whether a group (of one column, or an intersection) holds a folded group."""
    return any(part in folded for part in group.split(" × "))


def _group_sizes(scored: pd.DataFrame, group_cols: list[str], groupings: list[tuple[str, ...]],
                 names: list[str], audited: dict[tuple[str, str], int], min_group_size: int,
                 folds: dict[str, dict[str, str]]) -> pd.DataFrame:
    """Rows per group: audited, and excluded (not ``ok``, no prediction or no label).

    Counted over every input row, so a group whose rows were all excluded (say, posts in a
    dialect that language identification takes for another language) is listed with 0
    audited rows instead of vanishing from the report.
    """
    every_row = _group_values(scored, np.ones(len(scored), dtype=bool), group_cols, folds)
    folded = {label for mapping in folds.values() for label in mapping.values()}
    records = []
    for cols, name in zip(groupings, names):
        for group, total in pd.Series(_group_labels(every_row, cols)).value_counts(sort=False).sort_index().items():
            n = audited.get((name, str(group)), 0)
            # a folded group is not tested either, but for being folded (said apart), not for its size
            small = n < min_group_size and not _is_folded(str(group), folded)
            records.append({"grouping": name, "group": str(group), "n": n, "small": small,
                            "excluded": int(total) - n, "excluded_share": (int(total) - n) / int(total)})
    return pd.DataFrame.from_records(records, columns=["grouping", "group", "n", "small", "excluded",
                                                       "excluded_share"])


def _curves(arrays: HeadArrays, strata: _Strata, point_sums: list[np.ndarray], layout: FeatureLayout):
    """Confusion matrices (single-label, labelled) and calibration curves per group."""
    confusion: dict[str, dict[str, list[list[int]]]] = {}
    calibration: dict[str, dict[str, dict[str, list[float]]]] = {}
    if not arrays.labelled:
        return confusion, calibration
    k = arrays.n_classes
    cells = None if arrays.multilabel else arrays.y_true.argmax(axis=1) * k + arrays.y_pred.argmax(axis=1)
    for key in strata.keys:
        grouping, group = key
        if cells is not None:
            in_group = cells if key == OVERALL else cells[strata.labels[grouping] == group]
            matrix = np.bincount(in_group, minlength=k * k).reshape(k, k)
            confusion.setdefault(grouping, {})[group] = matrix.tolist()
        sums = sum(point_sums[s] for s in strata.members[key])
        predicted, observed, count = calibration_curve_from_sums(sums, layout, k)
        calibration.setdefault(grouping, {})[group] = {
            "mean_predicted": predicted.tolist(), "observed": observed.tolist(),
            "count": count.astype(int).tolist()}
    return confusion, calibration


def audit_groups(
    scored: pd.DataFrame,
    *,
    head: str,
    group_cols: Sequence[str],
    label_col: str | None = None,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    max_groups: int = DEFAULT_MAX_GROUPS,
    min_cell_count: int = DEFAULT_MIN_CELL_COUNT,
    n_bootstrap: int = DEFAULT_N_BOOTSTRAP,
    seed: int | None = 0,
    intersections: bool = False,
    confidence_level: float = 0.95,
    alpha: float = 0.05,
    correction: str = "fdr_bh",
    min_difference: float | None = 0.05,
    ratio_bounds: tuple[float, float] | None = None,
    quiet: bool = False,
) -> AuditResult:
    """Audit one head of a scored frame (or file) across groups.

    Parameters
    ----------
    scored : DataFrame
        Scored rows (a file: :func:`tonecls.jobs.audit.audit_file`): ``tonecls_status``, the head's output columns, the group columns and,
        optionally, a label column (class names; ``;``-joined for multi-label heads). Rows not
        ``ok`` (or without a prediction or label) are excluded and counted.
    head : name of the model head (e.g. ``"emotion"``).
    group_cols : columns whose values define groups; each is audited on its own.
    label_col : gold labels; without it only prediction-based metrics are audited.
    min_group_size : groups with fewer audited rows are shown but marked, and never tested
        (nor are groups under 10 rows, whatever this says: a bootstrap cannot estimate the
        variance of a handful of posts, and a single post "differs" at p = 0).
    max_groups : per group column, at most this many groups are audited one by one (the
        largest of at least ``min_group_size`` rows); the others are folded into one group of
        counts, not tested (also when a column has more than 20 groups below the minimum size).
    min_cell_count : fewest rows in every cell a metric needs (positives for recall, negatives
        for the false-positive rate, predictions for precision, both classes for AUCs, the
        group's negatives and the background's positives for BPSN, ...); otherwise the metric
        is undefined, with the reason.
    n_bootstrap : stratified bootstrap resamples (and random groups of the calibration nulls);
        0: point estimates only, nothing tested.
    seed : seed of the resampling.
    intersections : also audit the intersection of all group columns.
    confidence_level : of the percentile intervals.
    alpha, correction : error control over all gaps of the audit, one family: ``fdr_bh``
        (Benjamini-Hochberg), ``fdr_by`` (Benjamini-Yekutieli) or ``holm``.
    min_difference, ratio_bounds : the practical minimum of a finding (see
        :class:`~tonecls.audit.gaps.GapCriteria`): an absolute difference (default 0.05)
        and/or a ratio outside ``(low, high)``, e.g. ``(0.8, 1.25)``.
    quiet : no progress bar.

    Notes
    -----
    The audited rows are held in memory with a sparse matrix of per-row statistics (about
    40 non-zeros per row for 4 classes), and each resample draws one weight per row: the cost
    grows with rows x resamples. For exports of many millions of rows, audit a uniform random
    sample: the intervals then account for the sampling.
    """
    criteria = GapCriteria(alpha=alpha, correction=correction, min_difference=min_difference,
                           ratio_bounds=ratio_bounds)
    check_seed(seed, optional=True)
    group_cols = _check_arguments(scored, group_cols, label_col, min_group_size, max_groups, min_cell_count,
                                  n_bootstrap, confidence_level)
    min_group_size = max(min_group_size, MIN_TESTED_GROUP)  # one post's mean "differs" at p = 0

    # 1. the audited rows, their groups and the strata
    arrays, keep, excluded = head_arrays(scored, head, label_col)
    folds = _fold_groups(_group_values(scored, keep, group_cols), group_cols, min_group_size, max_groups)
    groups = _group_values(scored, keep, group_cols, folds)
    _check_unambiguous_cells(groups, group_cols)
    folded = {label for mapping in folds.values() for label in mapping.values()}
    groupings = [(c,) for c in group_cols]
    if intersections and len(group_cols) > 1:
        groupings.append(tuple(group_cols))
    grouping_names = [" × ".join(g) for g in groupings]
    strata = _Strata.build(groups, group_cols, groupings, grouping_names)

    # 2. point estimates (exact AUCs) and bootstrap replicates (binned AUCs), one engine
    exact_features, exact_layout = build_features(arrays, auc_bins=None)
    point, point_sums = _point_estimates(strata, exact_features, exact_layout, arrays.n_classes)
    boot: dict = {}
    nulls: dict = {}
    sizes = {key: int(round(point[key]["n"][0])) for key in strata.keys if key != OVERALL}
    if n_bootstrap:
        features, layout = build_features(arrays)
        binned_point, _ = _point_estimates(strata, features, layout, arrays.n_classes)
        boot = _bootstrap(strata, features, layout, arrays.n_classes, n_bootstrap, seed,
                          f"bootstrap ({head})", quiet)
        _recentre_aucs(boot, point, binned_point)
        if arrays.labelled:
            testable = {key: n for key, n in sizes.items() if n >= min_group_size and not _is_folded(key[1], folded)}
            nulls = _calibration_nulls(strata, features, layout, arrays, testable,
                                       min(n_bootstrap, MAX_NULL_DRAWS), seed)

    # 3. the metric table, then the gaps tested as one family
    metrics = _metric_table(strata, arrays, point, boot, min_group_size, min_cell_count,
                            confidence_level, folded)
    class_index = {c: i for i, c in enumerate(arrays.classes)}

    def replicates(key, metric, cls):
        if not boot:
            return None
        values = boot[key][metric]
        return values if not cls else values[:, class_index[cls]]

    def null(key, metric, cls):
        draws = nulls.get(sizes.get(key, -1), {}).get(metric)
        if draws is None:
            return None
        return draws if not cls else draws[:, class_index[cls]]

    gaps = group_gaps(metrics, replicates, null, criteria, confidence_level, tested=bool(n_bootstrap))
    gaps.loc[[_is_folded(g, folded) for g in gaps["group"]], "reason"] = "folded groups: not tested"
    between = between_gaps(metrics, replicates, confidence_level, criteria)

    group_sizes = _group_sizes(scored, group_cols, groupings, grouping_names, sizes, min_group_size, folds)
    confusion, calibration = _curves(arrays, strata, point_sums, exact_layout)
    settings = {"head": head, "label_col": label_col, "group_cols": group_cols,
                "min_group_size": min_group_size, "min_cell_count": min_cell_count,
                "n_bootstrap": n_bootstrap, "seed": seed, "intersections": intersections,
                "confidence_level": confidence_level, "stratified_by": group_cols,
                "max_groups": max_groups, "folded": {column: len(mapping) for column, mapping in folds.items()},
                **criteria.to_dict()}
    return AuditResult(
        head=head, classes=arrays.classes, multilabel=arrays.multilabel,
        labelled=arrays.labelled, group_cols=group_cols, groupings=grouping_names,
        metrics=metrics, gaps=gaps, between=between, group_sizes=group_sizes,
        confusion=confusion, calibration=calibration, excluded=excluded,
        n_rows=len(scored), n_audited=int(keep.sum()), settings=settings)
