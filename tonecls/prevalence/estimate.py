"""Prevalence of each class of a head, overall, by group and over time, with valid intervals.

:class:`PrevalenceEstimator` takes a scored frame (the output columns of ``ToneModel.predict`` /
``score_file``) and a few hundred of its posts labelled by hand (a random sample, e.g. from
:func:`tonecls.prevalence.draw_sample`), and returns a
:class:`~tonecls.prevalence.result.PrevalenceResult`::

    result = PrevalenceEstimator("sentiment").fit(scored, labels=labelled, group_cols=["region"],
                                                  time_col="created_at", freq="M")
    result.verdict       # one sentence first
    result.estimates     # class, group, estimate, ci_low, ci_high, naive, n, n_labelled, ...
    result.differences   # between groups and consecutive periods, one corrected family
    result.warnings, result.assumptions, result.to_dict()

Each estimate is PPI++ (:func:`tonecls.prevalence.ppi.ppi_mean`) over the rows of its group or
period: the model's mean over all of them, corrected by the mean error on the group's labelled
rows. The probabilities are the predictions (the validation study in BENCHMARKS.md, "Prevalence
estimates (PPI)", found their intervals narrower than the predicted labels' at the same coverage).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tonecls.audit.groups import head_arrays, head_classes
from tonecls.audit.names import group_labels
from tonecls.errors import InputError
from tonecls.prevalence.ppi import MeanEstimate, classical_mean, mean_difference, ppi_mean, z_value
from tonecls.prevalence.result import (
    CONTRACT_COLUMNS,
    NAIVE_BIAS_ON_BENCHMARKS,
    OVERALL_GROUP,
    PrevalenceResult,
)
from tonecls.prevalence.sample import INCLUSION_COLUMN
from tonecls.schema import split_labels
from tonecls.stats import CORRECTIONS, adjust_pvalues

__all__ = ["FREQUENCIES", "PREDICTIONS", "PrevalenceEstimator", "check_label_classes", "check_label_ids", "id_keys",
           "listed"]

PREDICTIONS = ("probabilities", "labels")
FREQUENCIES = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}
DEFAULT_MIN_LABELLED = 10
FEW_POSITIVES = 10  # fewer labelled examples of a class than this in a group: a warning
_LABEL = "__tonecls_label__"
_LISTED = 5  # offending values named in an error message
_READINGS = {"month first": {}, "day first": {"dayfirst": True}, "year first": {"yearfirst": True}}
_ISO_8601 = r"\d{4}-\d{2}(?:-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?"
_NUMBER_KINDS = {"integer", "floating", "mixed-integer", "mixed-integer-float", "decimal", "complex"}


class _Grouping:
    """One way of splitting the rows: a name, its kind and each ok row's group (None: not in any)."""

    def __init__(self, name: str, kind: str, keys: np.ndarray, order: list[Any]) -> None:
        self.name, self.kind, self.keys, self.order = name, kind, keys, order

    def label(self, key: Any) -> str:
        return OVERALL_GROUP if self.kind == "all" else f"{self.name}={key}"


class PrevalenceEstimator:
    """Estimate how common each class of ``head`` is, from a scored frame and labelled rows.

    Parameters
    ----------
    head : str
        The head to estimate (a head of the scored columns, e.g. ``sentiment``).
    confidence : float
        Level of every interval, in (0, 1); differences are significant at ``1 - confidence``
        after the correction.
    correction : {"fdr_bh", "fdr_by", "holm"}
        The error control over all differences (:func:`tonecls.stats.adjust_pvalues`).
    predictions : {"probabilities", "labels"}
        What PPI++ corrects: the model's probabilities (default) or its predicted labels.
    min_labelled : int
        A group with fewer labelled rows gets no corrected estimate (a warning says so).
    """

    def __init__(self, head: str, *, confidence: float = 0.9, correction: str = "fdr_bh",
                 predictions: str = "probabilities", min_labelled: int = DEFAULT_MIN_LABELLED) -> None:
        self.head = head
        self.confidence = confidence
        self.correction = correction
        self.predictions = predictions
        self.min_labelled = min_labelled

    def _check_settings(self) -> None:
        z_value(self.confidence)
        if self.correction not in CORRECTIONS:
            raise InputError(f"unknown correction {self.correction!r}; choose one of {', '.join(CORRECTIONS)}")
        if self.predictions not in PREDICTIONS:
            raise InputError(f"predictions must be one of {PREDICTIONS}, got {self.predictions!r}")
        if isinstance(self.min_labelled, bool) or not isinstance(self.min_labelled, int) or self.min_labelled < 2:
            raise InputError(f"min_labelled must be an integer >= 2, got {self.min_labelled!r}")

    def fit(self, scored: pd.DataFrame, labels: pd.DataFrame | None = None, *, label_col: str | None = None,
            id_col: str = "id", group_cols: Sequence[str] = (), time_col: str | None = None,
            freq: str = "M") -> PrevalenceResult:
        """Estimate the prevalence of every class, overall, per group of each ``group_cols`` and
        per period of ``time_col``.

        Parameters
        ----------
        scored : DataFrame
            Scored posts: ``tonecls_status`` and the head's output columns.
        labels : DataFrame, optional
            Labelled rows joined to ``scored`` by ``id_col`` (e.g. a filled-in
            :func:`~tonecls.prevalence.draw_sample`); its ``inclusion_probability`` column, if
            any, weights them. Without it, labels come from ``scored[label_col]``.
        label_col : str, optional
            The label column (class names; ``;``-joined for a multi-label head; empty = not
            labelled). Default ``"label"`` with ``labels``, no labels without.
        id_col : str
            The id column both frames share (only used with ``labels``).
        group_cols : sequence of str
            Columns whose groups get their own estimates and differences.
        time_col, freq : str, optional
            A date/time column and the period length (``D``, ``W``, ``M``, ``Q``, ``Y``).

        Returns
        -------
        PrevalenceResult
        """
        self._check_settings()
        group_cols = _check_columns(scored, group_cols, time_col, freq)
        if not scored.index.is_unique:  # labels are put on rows by index: make it one label per row
            scored = scored.reset_index(drop=True)
        arrays, keep, excluded = head_arrays(scored, self.head)
        ok = scored.loc[keep]
        label_values, inclusion, notes = _label_values(scored, labels, label_col, id_col, self.head)
        y, labelled_pos, weights = self._labelled_rows(ok, label_values, inclusion, notes)
        self._classes = list(arrays.classes)
        predicted = arrays.y_pred.astype(np.float64)
        model = arrays.proba if self.predictions == "probabilities" else predicted
        groupings = [_Grouping(OVERALL_GROUP, "all", np.zeros(len(ok), dtype=object), [0])]
        groupings += [_group_keys(ok, col) for col in group_cols]
        if time_col:
            groupings.append(_period_keys(ok, time_col, freq, notes))
        records, fitted = [], {}
        for grouping in groupings:
            for key in grouping.order:
                rows = np.flatnonzero(grouping.keys == key)
                lab = np.flatnonzero(grouping.keys[labelled_pos] == key)
                estimate, frame = self._cell(model, predicted, arrays.proba, rows, y, labelled_pos, lab, weights)
                frame.insert(0, "grouping", grouping.name)
                frame.insert(2, "group", grouping.label(key))
                records.append(frame)
                fitted[(grouping.name, key)] = estimate
                if len(labelled_pos):
                    self._cell_warnings(grouping.label(key), frame, len(lab), notes)
        estimates = pd.concat(records, ignore_index=True)
        estimates = estimates[CONTRACT_COLUMNS + [c for c in estimates.columns if c not in CONTRACT_COLUMNS]]
        differences = self._differences(groupings, fitted, estimates, arrays.classes)
        if not len(labelled_pos):
            notes.insert(0, "No labelled rows: the shares are the model's own (classify-and-count), with no "
                            "interval. " + NAIVE_BIAS_ON_BENCHMARKS)
        settings = {"confidence": self.confidence, "correction": self.correction, "predictions": self.predictions,
                    "min_labelled": self.min_labelled, "group_cols": list(group_cols), "time_col": time_col,
                    "freq": freq if time_col else None, "weighted": weights is not None}
        self.result_ = PrevalenceResult(self.head, list(arrays.classes), arrays.multilabel, estimates, differences,
                                        notes, n_rows=len(ok), n_labelled=len(labelled_pos), excluded=excluded,
                                        settings=settings)
        return self.result_

    def _labelled_rows(self, ok: pd.DataFrame, label_values: pd.Series, inclusion: pd.Series | None,
                       notes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The labelled ok rows: their 0/1 label matrix, positions among the ok rows and weights."""
        values = label_values.reindex(ok.index)
        text = values.astype("string").str.strip()
        has_label = (values.notna() & text.ne("").fillna(False)).to_numpy(dtype=bool)
        skipped = int(label_values.reindex(label_values.index.difference(ok.index)).notna().sum())
        if skipped:
            notes.append(f"{skipped} labelled row(s) were not scored (status other than ok) and are not used.")
        positions = np.flatnonzero(has_label)
        if not len(positions):
            return np.zeros((0, 0)), positions, None
        frame = ok.iloc[positions].assign(**{_LABEL: text.to_numpy()[positions]})
        label_arrays, _, _ = head_arrays(frame, self.head, _LABEL)
        weights = None
        if inclusion is not None:
            probability = pd.to_numeric(inclusion.reindex(ok.index).iloc[positions], errors="coerce").to_numpy()
            if not (np.isfinite(probability) & (probability > 0) & (probability <= 1)).all():
                raise InputError(f"column {INCLUSION_COLUMN!r} must hold a probability in (0, 1] for every "
                                 "labelled row (as written by draw_sample / `tonecls sample`).")
            weights = 1.0 / probability if np.ptp(probability) > 0 else None
        return label_arrays.y_true.astype(np.float64), positions, weights

    def _cell(self, model: np.ndarray, predicted: np.ndarray, proba: np.ndarray, rows: np.ndarray, y: np.ndarray,
              labelled_pos: np.ndarray, lab: np.ndarray,
              weights: np.ndarray | None) -> tuple[MeanEstimate | None, pd.DataFrame]:
        """One group's (or period's) records: PPI++, classical and naive figures per class."""
        n_classes = proba.shape[1]
        nan = np.full(n_classes, np.nan)
        estimate = classical = None
        if len(lab) >= self.min_labelled:
            w = None if weights is None else weights[lab]
            estimate = ppi_mean(y[lab], model[labelled_pos[lab]], model[rows], confidence=self.confidence,
                                weights=w, floor_label_variance=True)
            classical = classical_mean(y[lab], confidence=self.confidence, weights=w)
        share = (lambda v: np.clip(v, 0.0, 1.0)) if estimate else (lambda v: nan)  # a share lies in [0, 1]
        frame = pd.DataFrame({
            "class": self._classes, "estimate": share(estimate and estimate.estimate),
            "ci_low": share(estimate and estimate.ci_low), "ci_high": share(estimate and estimate.ci_high),
            "naive": predicted[rows].mean(0) if len(rows) else nan, "n": len(rows), "n_labelled": len(lab),
            "se": estimate.se if estimate else nan, "lam": estimate.lam if estimate else nan,
            "probability_average": proba[rows].mean(0) if len(rows) else nan,
            "classical_estimate": classical.estimate if classical else nan,
            "classical_low": classical.ci_low if classical else nan,
            "classical_high": classical.ci_high if classical else nan,
            "labelled_positives": y[lab].sum(0) if len(lab) else np.zeros(n_classes),
        }, index=range(n_classes))
        return estimate, frame

    def _cell_warnings(self, group: str, frame: pd.DataFrame, n_lab: int, notes: list[str]) -> None:
        if n_lab < self.min_labelled:
            notes.append(f"{group}: only {n_lab} labelled row(s) (fewer than {self.min_labelled}): no corrected "
                         "estimate; label more posts of this group (draw_sample with stratify_col).")
        elif n_lab >= self.min_labelled:
            few = frame.loc[frame["labelled_positives"] < FEW_POSITIVES, "class"].tolist()
            if few:
                notes.append(f"{group}: fewer than {FEW_POSITIVES} labelled examples of {', '.join(map(str, few))}: "
                             "their intervals are wide and rest on a normal approximation.")

    def _differences(self, groupings: list[_Grouping], fitted: dict, estimates: pd.DataFrame,
                     classes: list[str]) -> pd.DataFrame:
        """Differences between the groups of each grouping and between consecutive periods,
        one family corrected together."""
        frames = []
        for grouping in groupings[1:]:
            keys = [k for k in grouping.order if fitted[(grouping.name, k)] is not None]
            pairs = (list(zip(keys[1:], keys[:-1])) if grouping.kind == "period"
                     else [(a, b) for i, a in enumerate(keys) for b in keys[i + 1:]])
            naive = estimates[estimates["grouping"] == grouping.name].set_index(["group", "class"])["naive"]
            for first, second in pairs:
                diff = mean_difference(fitted[(grouping.name, first)], fitted[(grouping.name, second)])
                a, b = grouping.label(first), grouping.label(second)
                frames.append(pd.DataFrame({
                    "grouping": grouping.name, "kind": grouping.kind, "group": a, "versus": b, "class": classes,
                    "difference": diff.estimate, "ci_low": diff.ci_low, "ci_high": diff.ci_high,
                    "p_value": diff.p_value,
                    "naive_difference": [naive[(a, c)] - naive[(b, c)] for c in classes]}))
        columns = ["grouping", "kind", "group", "versus", "class", "difference", "ci_low", "ci_high", "p_value",
                   "p_adjusted", "significant", "naive_difference"]
        if not frames:
            return pd.DataFrame(columns=columns)
        table = pd.concat(frames, ignore_index=True)
        table["p_adjusted"] = adjust_pvalues(table["p_value"].to_numpy(), self.correction)
        table["significant"] = (table["p_adjusted"] < 1.0 - self.confidence).to_numpy(dtype=bool)
        return table[columns]


def _check_columns(scored: Any, group_cols: Sequence[str], time_col: str | None, freq: str) -> list[str]:
    if not isinstance(scored, pd.DataFrame):
        raise InputError(f"scored must be a DataFrame (the output of scoring), got {type(scored).__name__}")
    group_cols = [group_cols] if isinstance(group_cols, str) else list(group_cols)
    missing = [c for c in [*group_cols, *([time_col] if time_col else [])] if c not in scored.columns]
    if missing:
        raise InputError(f"the scored data has no column(s) {missing}; its columns are {list(scored.columns)}.")
    if time_col and freq not in FREQUENCIES:
        raise InputError(f"freq must be one of {', '.join(FREQUENCIES)} ({', '.join(FREQUENCIES.values())}), "
                         f"got {freq!r}")
    return group_cols


def listed(values: Sequence[object]) -> str:
    """The first few ``values`` for an error message, and how many more there are."""
    values = list(values)
    more = f" and {len(values) - _LISTED} more" if len(values) > _LISTED else ""
    return ", ".join(map(repr, values[:_LISTED])) + more


def id_keys(values: pd.Series) -> tuple[pd.Series, np.ndarray, list]:
    """Ids as labels are joined by them (text, stripped), which rows have none (null or
    empty) and the ids given to more than one row."""
    ids = values.astype("string").str.strip()
    empty = (ids.isna() | ids.eq("")).to_numpy(bool)
    present = ids[~empty]
    return ids, empty, present[present.duplicated()].unique().tolist()


def check_label_ids(ids: pd.Series, scored_ids: pd.Series, where: str, scored: str = "the scored data") -> None:
    """Refuse labels whose ids (as :func:`id_keys` gives them) are not ids of the scored posts:
    a sample of another file, or ids re-read as numbers, would silently shrink the sample.
    ``where`` names the labels and ``scored`` the scored posts in the message."""
    known = set(id_keys(scored_ids)[0].dropna())
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise InputError(f"{where}: {len(unknown)} of its {len(ids):,} id(s) are not in {scored}: {listed(unknown)}. "
                         f"Label posts of {scored} (draw them with `tonecls sample` or draw_sample), or pass the "
                         "scored posts the sample was drawn from.")


def check_label_classes(values: pd.Series, classes: list[str], multilabel: bool, where: str, head: str) -> None:
    """Refuse labels that are not classes of ``head`` (empty values are unlabelled rows);
    ``where`` names the column in the message."""
    given = values.dropna().astype(str).str.strip()
    names = {name for value in given[given.ne("")] for name in (split_labels(value) if multilabel else [value])}
    unknown = sorted(names - set(classes))
    if unknown:
        joined = " (';'-joined for this multi-label head)" if multilabel else ""
        raise InputError(f"{where} holds {len(unknown)} label(s) that are not classes of head {head!r}: "
                         f"{listed(unknown)}. Its classes are {classes}{joined}; correct the labels or "
                         "choose the matching head (--head).")


def _label_values(scored: pd.DataFrame, labels: pd.DataFrame | None, label_col: str | None,
                  id_col: str, head: str) -> tuple[pd.Series, pd.Series | None, list[str]]:
    """Each scored row's label (NaN where none) and inclusion probability, by the index of ``scored``."""
    notes: list[str] = []
    if labels is None:
        if label_col is None:
            return pd.Series(np.nan, index=scored.index, dtype=object), None, notes
        if label_col not in scored.columns:
            raise InputError(f"label column {label_col!r} not found; columns: {list(scored.columns)}.")
        check_label_classes(scored[label_col], *head_classes(scored, head), f"the scored data's column {label_col!r}",
                            head)
        inclusion = scored[INCLUSION_COLUMN] if INCLUSION_COLUMN in scored.columns else None
        return scored[label_col].astype(object), inclusion, notes
    label_col = label_col or "label"
    if not isinstance(labels, pd.DataFrame):
        raise InputError(f"labels must be a DataFrame with {id_col!r} and {label_col!r} columns")
    for frame, what in ((scored, "the scored data"), (labels, "the labels")):
        if id_col not in frame.columns:
            raise InputError(f"{what} has no id column {id_col!r} to join the labels by; pass id_col.")
    if label_col not in labels.columns:
        raise InputError(f"the labels have no column {label_col!r}; their columns are {list(labels.columns)}.")
    ids, empty, repeated = id_keys(labels[id_col])
    if empty.any():
        raise InputError(f"the labels: {int(empty.sum())} row(s) have no {id_col!r}; every row needs the id of "
                         "its post.")
    if repeated:
        raise InputError(f"the labels repeat id(s) {listed(sorted(map(str, repeated)))}; one label per post.")
    scored_ids, no_id, repeated = id_keys(scored[id_col])
    if repeated:
        raise InputError(f"the scored data repeats ids in {id_col!r}: labels cannot be joined by id.")
    check_label_ids(ids, scored[id_col], f"the labels' column {id_col!r}")
    check_label_classes(labels[label_col], *head_classes(scored, head), f"the labels' column {label_col!r}", head)
    has_id = ~no_id  # e.g. malformed lines have none
    position = pd.Series(np.flatnonzero(has_id), index=scored_ids[has_id].astype(str).to_numpy())
    where = scored.index[position[ids.astype(str)].to_numpy()]
    values = pd.Series(np.nan, index=scored.index, dtype=object)
    values.loc[where] = labels[label_col].astype(object).to_numpy()
    inclusion = None
    if INCLUSION_COLUMN in labels.columns:
        inclusion = pd.Series(np.nan, index=scored.index)
        inclusion.loc[where] = pd.to_numeric(labels[INCLUSION_COLUMN], errors="coerce").to_numpy()
    return values, inclusion, notes


def _group_keys(ok: pd.DataFrame, col: str) -> _Grouping:
    values = group_labels(ok[col]).to_numpy(dtype=object)
    order = pd.Series(values).value_counts(sort=True).index.tolist()  # largest group first
    return _Grouping(col, "group", values, order)


def _wall_clock(raw: pd.Series, time_col: str) -> pd.Series:
    """The times of ``time_col`` as written, without their time zone (a post at 23:30 on 31
    January in New York, ``-05:00``, is in January, not in UTC's February), each read one way:
    ISO 8601 text as such; other text only if it reads the same day first, month first and year
    first (``05/01/2024`` does not: refused), row by row. Numbers are refused (their unit is a
    guess)."""
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return raw.dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(raw.dtype):
        return raw
    if raw.notna().any() and pd.api.types.infer_dtype(raw, skipna=True) in _NUMBER_KINDS:  # e.g. JSON numbers
        _refuse_numbers(raw, time_col)
    text = raw.where(raw.isna(), raw.astype(str).str.strip())  # a padded CSV field is the same time
    present = text.notna().to_numpy(bool)
    iso = present & text.astype("string").str.fullmatch(_ISO_8601).fillna(False).to_numpy(bool)
    times = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    if iso.any():
        times.iloc[np.flatnonzero(iso)] = _readings(text[iso], time_col, {"ISO 8601": {"format": "ISO8601"}})
    if (present & ~iso).any():
        times.iloc[np.flatnonzero(present & ~iso)] = _readings(text[present & ~iso], time_col, _READINGS)
    return times


def _readings(text: pd.Series, time_col: str, readings: dict[str, dict[str, Any]]) -> np.ndarray:
    """The times of ``text`` (no offsets), the same under every one of ``readings`` (else refused)."""
    try:
        read = {order: _local_times(text, **({"format": "mixed"} | how)) for order, how in readings.items()}
    except (ValueError, TypeError, OverflowError) as error:
        if _all_numbers(text):
            _refuse_numbers(text, time_col)
        raise InputError(f"time column {time_col!r} is not parseable as dates/times ({error}); write it as "
                         "ISO 8601 (2024-05-01 or 2024-05-01T13:45:00Z).") from None
    first, *others = read.items()
    for order, other in others:
        differ = (first[1].ne(other) & first[1].notna()).to_numpy(bool)
        if differ.any():
            at = np.flatnonzero(differ)[0]
            raise InputError(f"time column {time_col!r} holds dates that read two ways: {text.iloc[at]!r} is "
                             f"{first[1].iloc[at]:%d %B %Y} read {first[0]} and {other.iloc[at]:%d %B %Y} read "
                             f"{order}. Write them as ISO dates (YYYY-MM-DD, e.g. 2024-05-01, or "
                             "2024-05-01T13:45:00Z).")
    return first[1].to_numpy(dtype="datetime64[ns]")


def _all_numbers(raw: pd.Series) -> bool:
    values = raw.dropna().astype(str).str.strip()
    return bool(pd.to_numeric(values[values.ne("")], errors="coerce").notna().all())


def _refuse_numbers(raw: pd.Series, time_col: str) -> None:
    example = raw.dropna().astype(str).iloc[0]
    raise InputError(f"time column {time_col!r} holds numbers (e.g. {example}), not dates/times: numeric times "
                     "are ambiguous (seconds, milliseconds or nanoseconds since 1970, or days?); convert them to "
                     "ISO timestamps (2024-05-01T13:45:00Z) first, e.g. with pandas.to_datetime(values, unit='s').")


def _local_times(raw: pd.Series, **how: Any) -> pd.Series:
    """``raw`` parsed by ``pd.to_datetime(..., **how)``, each time as written (its offset dropped);
    ``ValueError`` (or ``TypeError``) if a value cannot be read."""
    try:
        times = pd.to_datetime(raw, errors="raise", **how)
    except ValueError:
        pd.to_datetime(raw, errors="raise", utc=True, **how)  # a value that cannot be read raises here
        # offsets differ between rows (summer time, several zones): one by one
        times = pd.to_datetime(raw.map(lambda value: _naive(pd.to_datetime(value, **how)) if pd.notna(value)
                                       else pd.NaT))
    return times.dt.tz_localize(None) if isinstance(times.dtype, pd.DatetimeTZDtype) else times


def _naive(stamp: pd.Timestamp) -> pd.Timestamp:
    return stamp.tz_localize(None) if stamp is not pd.NaT and stamp.tzinfo is not None else stamp


def _period_keys(ok: pd.DataFrame, time_col: str, freq: str, notes: list[str]) -> _Grouping:
    times = _wall_clock(ok[time_col], time_col)
    missing = times.isna().to_numpy()
    if missing.all():
        raise InputError(f"time column {time_col!r} holds no date/time in the scored rows.")
    if missing.any():
        notes.append(f"{int(missing.sum())} scored row(s) have no {time_col}: left out of the periods.")
    periods = times.dt.to_period(freq).astype(str).to_numpy(dtype=object)
    periods[missing] = None
    order = sorted({p for p in periods if p is not None})
    return _Grouping(time_col, "period", periods, order)
