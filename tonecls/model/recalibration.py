"""Refit one head's calibration on the user's own labelled posts.

The bundled temperatures are fitted on the training data's validation split; on another
domain the probabilities drift (on the TweetEval sentiment test set, top-label ECE 0.10:
confidence 0.71 against accuracy 0.61). :func:`recalibrate` scores the labelled posts, then
chooses by K-fold cross-validation (mean held-out NLL) between

- ``unchanged``: the bundle's temperature;
- ``temperature``: one temperature refitted (Guo et al., 2017; :func:`~tonecls.model.calibration.fit_temperature`);
- ``temperature+bias*s``: a shared temperature and a per-class bias added to the scaled
  logits (vector scaling restricted to one scale: it moves the probabilities toward a shifted
  class mix), the bias shrunk by ``s`` in :data:`BIAS_SCALES` and the temperature refitted,

and refits the chosen one on all rows. A bias toward a more common class raises accuracy but
can lower macro-recall (on the shifted sentiment set the full bias costs 2 points of it), so
a single-label head only takes a candidate whose held-out macro-recall is within
``recall_tolerance`` of the bundle calibration's. The ECE before and after is measured on held-out folds
(each row's recalibrated probability comes from the fit on the other folds) with
:func:`~tonecls.model.calibration.expected_calibration_error`. Predictions change only
through calibration: a temperature keeps every ranking; a bias moves a single-label head's
argmax exactly as ``argmax(z / T + b)`` says; a multi-label head's thresholds are mapped so
that its predicted labels stay the same; other heads are untouched.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from tonecls.errors import InputError
from tonecls.model.calibration import expected_calibration_error, fit_temperature, negative_log_likelihood

__all__ = ["RecalibrationReport", "fit_temperature_and_bias", "labelled_checksum", "macro_recall", "recalibrate",
           "recalibrate_logits"]

BIAS_SCALES = (0.25, 0.5, 0.75, 1.0)
DEFAULT_RECALL_TOLERANCE = 0.005
MIN_ROWS = 50


@dataclass(frozen=True)
class RecalibrationReport:
    """What :func:`recalibrate` chose, and how well calibrated the head is before and after
    (on held-out folds of the labelled rows)."""

    head: str
    method: str
    temperature: float
    bias: list[float]
    n_rows: int
    folds: int
    cv_nll: dict[str, float]
    ece_before: float
    ece_after: float
    checksum: str
    date: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _scaled(logits: np.ndarray, temperature: float, bias: np.ndarray) -> np.ndarray:
    return np.asarray(logits, dtype=np.float64) / temperature + bias


def _proba(logits: np.ndarray, temperature: float, bias: np.ndarray, multilabel: bool) -> np.ndarray:
    from scipy.special import expit, softmax

    scaled = _scaled(logits, temperature, bias)
    return expit(scaled) if multilabel else softmax(scaled, axis=1)


def _nll(logits: np.ndarray, targets: np.ndarray, multilabel: bool, temperature: float, bias: np.ndarray) -> float:
    # negative_log_likelihood divides by its temperature: fold the bias into the logits
    return negative_log_likelihood(_scaled(logits, temperature, bias), targets, multilabel, 1.0)


def fit_temperature_and_bias(logits: np.ndarray, targets: np.ndarray, multilabel: bool) -> tuple[float, np.ndarray]:
    """The temperature T in [0.05, 20] and per-class bias ``b`` minimising the NLL of
    ``logits / T + b`` (a single-label head's biases are centred: softmax ignores a shift)."""
    from scipy.optimize import minimize
    from scipy.special import expit, softmax

    logits = np.asarray(logits, dtype=np.float64)
    onehot = np.asarray(targets, dtype=np.float64) if multilabel else np.eye(logits.shape[1])[targets]
    n = len(logits)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        temperature, bias = np.exp(theta[0]), theta[1:]
        scaled = logits / temperature + bias
        proba = expit(scaled) if multilabel else softmax(scaled, axis=1)
        residual = (proba - onehot) / n
        gradient = np.concatenate([[-(residual * logits).sum() / temperature], residual.sum(0)])
        return _nll(logits, targets, multilabel, temperature, bias), gradient

    start = np.concatenate([[np.log(fit_temperature(logits, targets, multilabel))], np.zeros(logits.shape[1])])
    bounds = [(np.log(0.05), np.log(20.0))] + [(-10.0, 10.0)] * logits.shape[1]
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    bias = result.x[1:] if multilabel else result.x[1:] - result.x[1:].mean()
    return float(np.exp(result.x[0])), bias


def _candidates() -> list[tuple[str, float | None]]:
    """(name, bias scale) of every calibration tried: the bundle's, a temperature, and a
    temperature with the fitted bias shrunk toward 0 by each of :data:`BIAS_SCALES`."""
    return [("unchanged", None), ("temperature", 0.0)] + [(f"temperature+bias*{s:g}", s) for s in BIAS_SCALES]


def _fit(scale: float | None, logits: np.ndarray, targets: np.ndarray, multilabel: bool,
         temperature: float, bias: np.ndarray, fitted: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """The calibration of one candidate: the bundle's (``scale`` None), a temperature (0), or
    a bias fitted with the temperature (``fitted``, if already known), shrunk by ``scale``,
    with the temperature refitted to it."""
    if scale is None:
        return temperature, bias
    if scale == 0.0:
        return fit_temperature(logits, targets, multilabel), np.zeros(logits.shape[1])
    from scipy.optimize import minimize_scalar

    if fitted is None:
        _, fitted = fit_temperature_and_bias(logits, targets, multilabel)
    shrunk = scale * fitted
    result = minimize_scalar(lambda log_t: _nll(logits, targets, multilabel, float(np.exp(log_t)), shrunk),
                             bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x)), shrunk


def macro_recall(proba: np.ndarray, targets: np.ndarray) -> float:
    """Mean per-class recall of the argmax of ``proba`` over the classes present in ``targets``."""
    predicted = proba.argmax(axis=1)
    return float(np.mean([(predicted[targets == k] == k).mean() for k in np.unique(targets)]))


def _cross_validate(logits: np.ndarray, targets: np.ndarray, multilabel: bool, temperature: float,
                    bias: np.ndarray, folds: int, seed: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Mean held-out NLL of each candidate, and each candidate's out-of-fold probabilities."""
    parts = np.array_split(np.random.default_rng(seed).permutation(len(logits)), folds)
    nll = {name: 0.0 for name, _ in _candidates()}
    held_out = {name: np.empty(logits.shape) for name, _ in _candidates()}
    for part in parts:
        train = np.setdiff1d(np.arange(len(logits)), part)
        _, fitted = fit_temperature_and_bias(logits[train], targets[train], multilabel)
        for name, scale in _candidates():
            t, b = _fit(scale, logits[train], targets[train], multilabel, temperature, bias, fitted)
            nll[name] += _nll(logits[part], targets[part], multilabel, t, b) * len(part) / len(logits)
            held_out[name][part] = _proba(logits[part], t, b, multilabel)
    return nll, held_out


def _choose(nll: dict[str, float], held_out: dict[str, np.ndarray], targets: np.ndarray, multilabel: bool,
            recall_tolerance: float) -> str:
    """The candidate of lowest held-out NLL among those whose held-out macro-recall (single-label
    heads; a multi-label head keeps its predicted labels) is at most ``recall_tolerance``
    below the bundle calibration's."""
    eligible = list(nll)
    if not multilabel:
        floor = macro_recall(held_out["unchanged"], targets) - recall_tolerance
        eligible = [name for name in nll if macro_recall(held_out[name], targets) >= floor]
    order = [name for name, _ in _candidates()]
    return min(eligible, key=lambda name: (round(nll[name], 12), order.index(name)))


def _check_folds(folds: Any, rows: int) -> None:
    if isinstance(folds, bool) or not isinstance(folds, int) or not 2 <= folds <= rows:
        raise InputError(f"folds must be an integer between 2 and the number of labelled rows ({rows}), got {folds!r}")


def _check_classes_seen(targets: np.ndarray, spec: Any) -> None:
    """Refuse labels of a single class (a multi-label head: no class both given and not given):
    a calibration fitted on them pushes every post towards that class and cannot be checked."""
    if spec.multilabel:
        single = not ((targets > 0.5).any(axis=0) & (targets < 0.5).any(axis=0)).any()
        shown = ""
    else:
        present = np.unique(targets)
        single, shown = len(present) < 2, f" ({spec.classes[int(present[0])]!r})" if len(present) else ""
    if single:
        raise InputError(f"the labels of head {spec.name!r} hold one class only{shown}: "
                         "a calibration fitted on them would push every post towards it, and nothing could check "
                         "it; label a random sample of posts (tonecls sample), which holds several classes.")


def _check_rows(rows: int, what: str) -> None:
    if rows < MIN_ROWS:
        raise InputError(f"only {rows} of the labelled posts {what}; recalibration needs at least {MIN_ROWS} "
                         "(a few hundred to a few thousand is better).")


def recalibrate_logits(model: Any, logits: np.ndarray, targets: np.ndarray, head: str, *, folds: int = 5,
                       seed: int = 0, checksum: str = "",
                       recall_tolerance: float = DEFAULT_RECALL_TOLERANCE) -> tuple[Any, RecalibrationReport]:
    """:func:`recalibrate` from the head's logits and targets (class ids, or a multi-hot matrix)."""
    spec = model.head(head)
    logits = np.asarray(logits, dtype=np.float64)
    _check_folds(folds, len(logits))
    _check_classes_seen(np.asarray(targets), spec)
    temperature = model.temperatures_[head]
    bias = np.asarray(model.biases_.get(head, np.zeros(len(spec.classes))), dtype=np.float64)
    nll, held_out = _cross_validate(logits, targets, spec.multilabel, temperature, bias, folds, seed)
    method = _choose(nll, held_out, targets, spec.multilabel, recall_tolerance)
    new_temperature, new_bias = _fit(dict(_candidates())[method], logits, targets, spec.multilabel, temperature, bias)
    report = RecalibrationReport(
        head=head, method=method, temperature=float(new_temperature), bias=[float(v) for v in new_bias],
        n_rows=len(logits), folds=folds, cv_nll={m: float(v) for m, v in nll.items()},
        ece_before=expected_calibration_error(_proba(logits, temperature, bias, spec.multilabel), targets,
                                              spec.multilabel),
        ece_after=expected_calibration_error(held_out[method], targets, spec.multilabel),
        checksum=checksum, date=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat())
    return _with_calibration(model, spec, report, temperature, bias), report


def _with_calibration(model: Any, spec: Any, report: RecalibrationReport, old_temperature: float,
                      old_bias: np.ndarray) -> Any:
    """A copy of ``model`` with the head's new calibration (and, for a multi-label head,
    thresholds mapped so that its predicted labels stay the same) and its record in ``metadata_``."""
    new = copy.copy(model)
    new.temperatures_ = {**model.temperatures_, spec.name: report.temperature}
    new.biases_ = {**model.biases_, spec.name: np.asarray(report.bias)}
    new.thresholds_ = dict(model.thresholds_)
    if spec.multilabel:
        from scipy.special import expit, logit

        old = np.clip(model.thresholds_[spec.name], 1e-12, 1 - 1e-12)
        cut = old_temperature * (logit(old) - old_bias)  # the logit a class is predicted from
        new.thresholds_[spec.name] = expit(cut / report.temperature + np.asarray(report.bias))
    new.metadata_ = copy.deepcopy(model.metadata_)
    new.metadata_.setdefault("recalibration", {})[spec.name] = report.to_dict()
    return new


def _targets(labels: Sequence[Any], classes: list[str], multilabel: bool,
             positions: Sequence[int] | None = None, where: str = "") -> np.ndarray:
    from tonecls.datasets import to_multi_hot

    if multilabel:
        return to_multi_hot(list(labels), classes, positions=positions, where=where)
    names = [str(v).strip() if v is not None else "" for v in labels]
    unknown = sorted(set(names) - set(classes))
    if unknown:
        raise InputError(f"labels hold {len(unknown)} value(s) that are not classes of the head: "
                         f"{', '.join(map(repr, unknown[:10]))}. Classes: {classes}; correct the labels or "
                         "choose the matching head.")
    return np.asarray([classes.index(name) for name in names], dtype=np.int64)


def labelled_checksum(texts: Sequence[Any], labels: Sequence[Any]) -> str:
    """SHA-256 of the labelled rows (texts and labels, in order), to record what was used."""
    payload = json.dumps([[str(t), str(v)] for t, v in zip(texts, labels)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def recalibrate(model: Any, texts: Sequence[Any], labels: Sequence[Any], head: str, *, folds: int = 5,
                seed: int = 0, recall_tolerance: float = DEFAULT_RECALL_TOLERANCE,
                label_positions: Sequence[int] | None = None, where: str = "") -> tuple[Any, RecalibrationReport]:
    """Refit ``head``'s calibration on labelled posts; returns the new model and a report.

    Parameters
    ----------
    model : ToneModel
        The model to recalibrate (it is not changed: the new model is a copy).
    texts, labels : sequences
        The labelled posts and their classes (multi-label: ``;``-joined or lists). Posts the
        model does not score (empty, other languages) are left out.
    head : str
        The head to recalibrate; the other heads are untouched.
    folds : int
        Cross-validation folds for the choice of method and the held-out ECE.
    seed : int
        Seed of the fold assignment.
    recall_tolerance : float
        How much held-out macro-recall a single-label head's new calibration may lose.
    label_positions, where : optional
        Each label's 0-based data row in its file, and the file: a multi-label label that is
        not a class is named there (default: its place among ``labels``).

    Returns
    -------
    (ToneModel, RecalibrationReport)
        ``metadata_["recalibration"][head]`` of the new model holds the report (rows,
        checksum of the labelled data, date, ECE before/after); ``save`` writes it.
    """
    from tonecls.stats import check_seed

    check_seed(seed)
    try:
        spec = model.head(head)
    except KeyError:
        raise InputError(f"no head {head!r}; this model has {[h.name for h in model.heads_]}") from None
    texts, labels = list(texts), list(labels)
    if len(texts) != len(labels):
        raise InputError(f"{len(texts)} texts but {len(labels)} labels: give one label per post")
    _check_rows(len(texts), "were given")  # before the posts are scored
    _check_folds(folds, len(texts))
    every_target = _targets(labels, list(spec.classes), spec.multilabel, label_positions, where)  # before scoring
    logits = model.compute_logits(texts)
    rows = logits.ok_rows
    _check_rows(len(rows), "could be scored")
    targets = every_target[np.asarray(rows, dtype=np.int64)]
    return recalibrate_logits(model, logits.logits[head], targets, head, folds=folds, seed=seed,
                              checksum=labelled_checksum(texts, labels), recall_tolerance=recall_tolerance)
