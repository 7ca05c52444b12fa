"""Official metrics of the benchmarks, evaluation of a model, and published figures to compare with.

Official metrics: TweetEval emotion macro-F1, TweetEval sentiment macro-averaged recall
(SemEval-2017 Task 4A AvgRec), GoEmotions macro-F1 over labels; user heads: macro-F1.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tonecls.errors import InputError
from tonecls.model.calibration import expected_calibration_error, reliability_bins
from tonecls.model.config import HeadConfig, HeadSpec

if TYPE_CHECKING:
    import pandas as pd

METRICS = ("macro_f1", "macro_recall")

# Published test-set figures (x100) of other systems, with their sources (rows of PUBLISHED_COLUMNS).
PUBLISHED_RESULTS = (
    # TweetEval paper, Barbieri et al., Findings of EMNLP 2020, Table 3 (test set).
    ("emotion", "SVM", "macro_f1", 64.7, "Barbieri et al. 2020 (TweetEval), Table 3"),
    ("emotion", "FastText", "macro_f1", 65.2, "Barbieri et al. 2020 (TweetEval), Table 3"),
    ("emotion", "BLSTM", "macro_f1", 66.0, "Barbieri et al. 2020 (TweetEval), Table 3"),
    ("emotion", "RoBERTa-Base", "macro_f1", 76.1, "Barbieri et al. 2020 (TweetEval), Table 3"),
    ("emotion", "RoBERTa-Retrained", "macro_f1", 78.5, "TweetEval README leaderboard (github.com/cardiffnlp/tweeteval)"),
    ("sentiment", "SVM", "macro_recall", 62.9, "Barbieri et al. 2020 (TweetEval), Table 3"),
    ("sentiment", "FastText", "macro_recall", 62.9, "Barbieri et al. 2020 (TweetEval), Table 3"),
    ("sentiment", "BLSTM", "macro_recall", 58.3, "Barbieri et al. 2020 (TweetEval), Table 3"),
    ("sentiment", "RoBERTa-Base", "macro_recall", 71.3, "Barbieri et al. 2020 (TweetEval), Table 3"),
    ("sentiment", "RoBERTa-Retrained", "macro_recall", 72.8, "TweetEval README leaderboard (github.com/cardiffnlp/tweeteval)"),
    # GoEmotions paper, Demszky et al., ACL 2020, Table 5 (Ekman taxonomy, test set).
    ("ekman", "BERT-base", "macro_f1", 64.0, "Demszky et al. 2020 (GoEmotions), Ekman taxonomy"),
)
PUBLISHED_COLUMNS = ["head", "system", "metric", "value", "source"]
# heads of the default model whose test split has published Twitter-RoBERTa predictions
REFERENCE_PREDICTIONS = {"emotion": "emotion", "sentiment": "sentiment"}


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> float:
    """Macro-averaged F1: over classes (class ids) or over labels (multi-hot matrices)."""
    from sklearn.metrics import f1_score  # imported on use: scoring imports this module

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim == 2:
        return float(f1_score(y_true.astype(int), y_pred.astype(int), average="macro", zero_division=0))
    labels = list(range(n_classes)) if n_classes else None
    return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


def macro_recall(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> float:
    """Macro-averaged recall (SemEval-2017 Task 4A AvgRec)."""
    from sklearn.metrics import recall_score

    labels = list(range(n_classes)) if n_classes else None
    return float(recall_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


def bootstrap_interval(metric: str, y_true: np.ndarray, y_pred: np.ndarray, n_classes: int,
                       level: float = 0.95, n_resamples: int = 1000,
                       seed: int | None = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric`` over posts (resampled with replacement).

    The test set is one sample of posts; the interval says how much the figure would move on
    another sample of the same size. Vectorised: each resample is a vector of post weights, and
    the per-class counts of all resamples come from one matrix product.
    """
    from tonecls.stats import percentile_interval, stratified_weights

    if metric not in METRICS:
        raise InputError(f"unknown metric {metric!r}; use one of {METRICS}.")
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim == 2:  # multi-label: 0/1 matrices, one column per label
        truth, predicted = y_true.astype(np.float64), y_pred.astype(np.float64)
    else:
        truth = np.eye(n_classes)[y_true]
        predicted = np.eye(n_classes)[y_pred]
    hits = truth * predicted
    replicates = []
    for (weights,) in stratified_weights([len(y_true)], n_resamples, seed):
        tp, support = weights @ hits, weights @ truth
        with np.errstate(divide="ignore", invalid="ignore"):
            if metric == "macro_recall":
                per_class = np.where(support > 0, tp / support, 0.0)
            else:
                denominator = support + weights @ predicted
                per_class = np.where(denominator > 0, 2 * tp / denominator, 0.0)
        replicates.append(per_class.mean(axis=1))
    low, high, _ = percentile_interval(np.concatenate(replicates)[:, None], level)
    return float(low[0]), float(high[0])


def official_metric_name(head: HeadConfig) -> str:
    """The metric a head is selected and reported on (its benchmark's official metric)."""
    if head.source.kind == "tweeteval" and head.source.task == "sentiment":
        return "macro_recall"
    return "macro_f1"


def metric_value(metric: str, y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    if metric == "macro_f1":
        return macro_f1(y_true, y_pred, n_classes)
    if metric == "macro_recall":
        return macro_recall(y_true, y_pred, n_classes)
    raise InputError(f"unknown metric {metric!r}; use one of {METRICS}.")


def decide(spec: HeadSpec, proba: np.ndarray, thresholds: np.ndarray | None = None) -> np.ndarray:
    """Class ids (single-label) or a 0/1 matrix (multi-label, ``proba >= thresholds``)."""
    if spec.multilabel:
        return (proba >= (0.5 if thresholds is None else thresholds)).astype(int)
    return proba.argmax(axis=1)


def head_configs_of(model) -> dict[str, HeadConfig]:
    """The training configuration of each head of ``model`` (from its bundle metadata)."""
    heads = model.metadata_.get("config", {}).get("heads", [])
    return {h["name"]: HeadConfig.from_dict(h) for h in heads}


def evaluate(model, split: str = "test", heads: Sequence[str] | None = None,
             data_dir: str | Path | None = None, batch_size: int = 1024,
             n_resamples: int = 1000) -> pd.DataFrame:
    """Score ``model`` on a split of each head's dataset with the head's official metric.

    Returns one row per head: ``head``, ``dataset``, ``split``, ``metric``, ``value`` (0-1),
    ``ci_low`` / ``ci_high`` (95% bootstrap interval over posts, ``n_resamples`` resamples;
    NaN with 0), ``ece`` (expected calibration error of the calibrated probabilities), ``n``
    (posts scored) and ``n_unscorable`` (posts the preprocessing could not score; they count
    as errors: predicted as nothing / the first class). ``results.attrs["reliability"]`` holds,
    per head, the reliability-diagram bins behind ``ece`` (:func:`reliability_bins`).

    A head whose source has no such split (e.g. a user's export without ``test_path``) is
    scored on its held-out validation split instead (``split`` says ``val``: it chose the
    epoch and the calibration, so the figure is optimistic); a head trained on in-memory
    data gets the validation figures recorded at training (``split``: ``val (recorded)``).
    """
    import pandas as pd

    from tonecls.model.data import load_split

    configs = head_configs_of(model)
    known = [h.name for h in model.heads_]
    names = list(dict.fromkeys(heads)) if heads else known  # a head named twice is evaluated once
    for name in names:
        if name not in known:
            raise InputError(f"the model has no head {name!r}; its heads are {', '.join(known)}.")
    rows: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    reliability: dict[str, pd.DataFrame] = {}
    for name in names:
        spec = model.head(name)
        if name not in configs:
            raise InputError(f"the model does not record where head {name!r} was trained from, so it "
                             "cannot be evaluated on a benchmark split.")
        seed = model.metadata_.get("config", {}).get("seed", 0)
        used_split = split
        data = None if configs[name].source.kind == "memory" else \
            load_split(configs[name], spec, split, data_dir, seed=seed)
        if data is None and split == "test" and configs[name].source.kind != "memory":
            used_split = "val"
            data = load_split(configs[name], spec, "val", data_dir, seed=seed)
        if data is None:
            recorded = model.metadata_.get("metrics", {}).get("validation", {}).get(name)
            if recorded:
                rows.append({"head": name, "dataset": configs[name].source.describe(), "split": "val (recorded)",
                             "metric": recorded["metric"], "value": recorded["value"], "ci_low": np.nan,
                             "ci_high": np.nan, "ece": recorded.get("ece", np.nan), "n": recorded["n"],
                             "n_unscorable": recorded.get("n_unscorable", 0)})
            continue
        files += [{"head": name, "split": split, **record} for record in data.files]
        proba = model.predict_proba(data.texts, batch_size=batch_size)[name]
        unscorable = np.isnan(proba).any(axis=1)
        predicted = decide(spec, np.nan_to_num(proba, nan=0.0), model.thresholds_.get(name))
        metric = official_metric_name(configs[name])
        low, high = (bootstrap_interval(metric, data.targets, predicted, len(spec.classes),
                                        n_resamples=n_resamples) if n_resamples else (np.nan, np.nan))
        scored = ~unscorable
        mean_confidence, observed, count = reliability_bins(
            proba[scored], np.asarray(data.targets)[scored], spec.multilabel)
        reliability[name] = pd.DataFrame({"mean_confidence": mean_confidence, "observed": observed,
                                          "count": count})
        rows.append({
            "head": name, "dataset": configs[name].source.describe(), "split": used_split, "metric": metric,
            "value": metric_value(metric, data.targets, predicted, len(spec.classes)),
            "ci_low": low, "ci_high": high,
            "ece": expected_calibration_error(proba[scored], np.asarray(data.targets)[scored], spec.multilabel),
            "n": len(data), "n_unscorable": int(unscorable.sum()),
        })
    results = pd.DataFrame(rows, columns=["head", "dataset", "split", "metric", "value", "ci_low", "ci_high",
                                          "ece", "n", "n_unscorable"])
    results.attrs["files"] = files  # provenance of the scored data (path, rows, SHA-256)
    # per head, the reliability-diagram bins behind ``ece`` (mean confidence, observed, count)
    results.attrs["reliability"] = reliability
    return results


def reference_scores(data_dir: str | Path | None = None) -> pd.DataFrame:
    """Test scores of the published Twitter-RoBERTa predictions shipped with the shared data."""
    import pandas as pd

    from tonecls import datasets

    rows = []
    try:
        root = datasets.resolve_data_dir(data_dir, "tweeteval") / "tweeteval"
    except Exception:  # the data is optional here
        return pd.DataFrame(columns=PUBLISHED_COLUMNS)
    for head, task in REFERENCE_PREDICTIONS.items():
        path = root / "reference_predictions" / f"{task}.txt"
        if not path.is_file():
            continue
        truth = datasets.load_tweeteval(task, "test", data_dir)["label_id"].to_numpy()
        predicted = np.loadtxt(path, dtype=np.int64)
        if len(predicted) != len(truth):
            continue
        metric = "macro_recall" if task == "sentiment" else "macro_f1"
        rows.append((head, "Twitter-RoBERTa (published predictions, scored here)", metric,
                     100 * metric_value(metric, truth, predicted, int(truth.max()) + 1), str(path)))
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)


def comparison_table(results: pd.DataFrame, system: str = "this model",
                     data_dir: str | Path | None = None) -> pd.DataFrame:
    """``results`` of :func:`evaluate` beside published figures.

    Columns: head, system, metric, value (x100), ``ci95`` (the bootstrap interval of measured
    figures, x100; empty for published ones, whose papers give none), ``ece`` (expected
    calibration error x100 of measured figures), source.
    """
    import pandas as pd

    intervals = [f"[{100 * low:.1f}, {100 * high:.1f}]" if np.isfinite(low) else ""
                 for low, high in zip(results.get("ci_low", np.nan * results["value"]),
                                      results.get("ci_high", np.nan * results["value"]))]
    ours = pd.DataFrame({
        "head": results["head"], "system": system, "metric": results["metric"],
        "value": 100 * results["value"], "ci95": intervals,
        "ece": (100 * results["ece"]).round(1) if "ece" in results else np.nan,
        "source": "measured (" + results["split"] + " split)",
    })
    published = pd.DataFrame(PUBLISHED_RESULTS, columns=PUBLISHED_COLUMNS)
    table = pd.concat([ours, reference_scores(data_dir), published], ignore_index=True)
    table = table[table["head"].isin(set(results["head"]))]
    table["value"] = table["value"].round(1)
    table["ci95"] = table["ci95"].fillna("")
    table["ece"] = table["ece"].map(lambda v: "" if pd.isna(v) else f"{v:.1f}") if "ece" in table else ""
    table = table[["head", "system", "metric", "value", "ci95", "ece", "source"]]
    return table.sort_values(["head", "value"], ascending=[True, False], kind="stable").reset_index(drop=True)


def record_test_metrics(model, data_dir: str | Path | None = None) -> pd.DataFrame:
    """Evaluate ``model`` on the test splits and store the figures in its metadata (bundle, card)."""
    results = evaluate(model, "test", data_dir=data_dir)
    model.metadata_.setdefault("metrics", {})["test"] = {
        row.head: {"metric": row.metric, "value": float(row.value),
                   "ci95": [float(row.ci_low), float(row.ci_high)] if np.isfinite(row.ci_low) else None,
                   "ece": float(row.ece), "n": int(row.n), "n_unscorable": int(row.n_unscorable)}
        for row in results.itertuples() if row.split == "test"  # (not the validation stand-ins)
    }
    provenance = model.metadata_.setdefault("provenance", {})
    provenance["files"] = [f for f in provenance.get("files", []) if f["split"] != "test"] + results.attrs["files"]
    return results


def compare_with_published(model: str | Path | None = None, split: str = "test",
                           heads: Sequence[str] | None = None, data_dir: str | Path | None = None) -> pd.DataFrame:
    """Load a bundle (default: the bundled model), :func:`evaluate` it and return the
    :func:`comparison_table`."""
    from tonecls.model.tone_model import load_model

    results = evaluate(load_model(model), split, heads=heads, data_dir=data_dir)
    return comparison_table(results, system=f"tonecls ({model or 'bundled model'})", data_dir=data_dir)
