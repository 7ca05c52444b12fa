"""Per-example features of a model's calibrated probabilities on labelled posts: what a
membership-inference attacker reads from the bundle's scores.

Single-label heads, with ``p`` the probability of the true class: ``loss = -log p``, the
``entropy`` of the predicted distribution, the ``margin`` ``p - max(other classes)`` and the
logit-scaled ``confidence`` ``log p - log(1 - p)`` (Carlini et al. 2022: close to Gaussian
over training runs, which LiRA relies on). Multi-label heads: per class the probability of
the true value ``q`` (``p`` if the class is present, else ``1 - p``); ``loss`` and
``confidence`` sum over classes, ``entropy`` sums the binary entropies, ``margin`` is the
smallest ``2q - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TINY = 1e-300  # floor of probabilities before a log (keeps a zero probability finite)
FEATURES = ("loss", "entropy", "margin", "confidence")


@dataclass
class ExampleFeatures:
    """One value per post of each of :data:`FEATURES`, whether the model's decision is right
    (``correct``) and the true class id of single-label posts (``label``, -1 for multi-label)."""

    loss: np.ndarray
    entropy: np.ndarray
    margin: np.ndarray
    confidence: np.ndarray
    correct: np.ndarray
    label: np.ndarray

    def __len__(self) -> int:
        return len(self.loss)

    def matrix(self) -> np.ndarray:
        """``(n, 4)``: the :data:`FEATURES` as columns."""
        return np.column_stack([getattr(self, name) for name in FEATURES])

    def subset(self, rows: np.ndarray) -> ExampleFeatures:
        """The features of the posts ``rows``."""
        return ExampleFeatures(*(getattr(self, f)[rows] for f in (*FEATURES, "correct", "label")))

    @classmethod
    def concatenate(cls, parts: list[ExampleFeatures]) -> ExampleFeatures:
        """The posts of ``parts``, one after the other."""
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in (*FEATURES, "correct", "label")))


def _log(values: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(values, TINY))


def single_label_features(proba: np.ndarray, targets: np.ndarray) -> ExampleFeatures:
    """Features of a softmax head's probabilities ``(n, k)`` against class ids ``targets``."""
    proba = np.asarray(proba, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    rows = np.arange(len(proba))
    true = proba[rows, targets]
    others = proba.copy()
    others[rows, targets] = -np.inf
    rest = np.where(np.isinf(others), 0.0, others).sum(axis=1)  # 1 - p without cancellation
    return ExampleFeatures(
        loss=-_log(true),
        entropy=-(proba * _log(proba)).sum(axis=1),
        margin=true - others.max(axis=1),
        confidence=_log(true) - _log(rest),
        correct=proba.argmax(axis=1) == targets,
        label=targets,
    )


def multilabel_features(proba: np.ndarray, targets: np.ndarray, thresholds: np.ndarray) -> ExampleFeatures:
    """Features of a sigmoid head's probabilities ``(n, k)`` against multi-hot ``targets``;
    a post is ``correct`` when every class decision (``p >= threshold``) matches."""
    proba = np.asarray(proba, dtype=np.float64)
    present = np.asarray(targets) > 0.5
    true = np.where(present, proba, 1.0 - proba)
    false = np.where(present, 1.0 - proba, proba)
    return ExampleFeatures(
        loss=-_log(true).sum(axis=1),
        entropy=-(proba * _log(proba) + (1 - proba) * _log(1 - proba)).sum(axis=1),
        margin=(true - false).min(axis=1),
        confidence=(_log(true) - _log(false)).sum(axis=1),
        correct=((proba >= np.asarray(thresholds)[None, :]) == present).all(axis=1),
        label=np.full(len(proba), -1, dtype=np.int64),
    )


def example_features(proba: np.ndarray, targets: np.ndarray, multilabel: bool,
                     thresholds: np.ndarray | None = None) -> ExampleFeatures:
    """:func:`single_label_features` or :func:`multilabel_features` (thresholds default 0.5)."""
    if multilabel:
        thresholds = np.full(np.shape(proba)[1], 0.5) if thresholds is None else thresholds
        return multilabel_features(proba, targets, thresholds)
    return single_label_features(proba, targets)
