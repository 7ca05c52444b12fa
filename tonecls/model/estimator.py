"""``ToneClassifier``: one tone head as a scikit-learn estimator (pipelines, cross-validation).

It trains through :func:`tonecls.model.train` on in-memory texts and labels, so it is the same
network, preprocessing, early stopping and calibration as the CLI-trained models.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from tonecls.errors import InputError
from tonecls.model.config import DataSource, HeadConfig, TrainConfig
from tonecls.model.data import LabelledSplit

HEAD = "label"


class ToneClassifier(ClassifierMixin, BaseEstimator):
    """Single-label BiLSTM text classifier with a scikit-learn interface.

    ``X`` is a sequence of raw posts (str; unscorable posts such as None or "" get the
    training prior in :meth:`predict_proba`); ``y`` the class labels. A seeded
    ``validation_fraction`` of the training rows drives early stopping and calibration.

    Attributes
    ----------
    classes_ : ndarray
        Class labels, sorted.
    model_ : ToneModel
        The trained model (one head named ``"label"``).
    """

    def __init__(self, embedding_dim: int = 50, lstm_units: int = 32, pooling: str = "max",
                 dropout: float = 0.3, vocab_size: int = 20000, min_count: int = 1, max_length: int = 64,
                 pretrained_embeddings: str | None = None, epochs: int = 5, batch_size: int = 64,
                 learning_rate: float = 2e-3, patience: int = 2, class_weight: str | None = "balanced",
                 validation_fraction: float = 0.1, preprocess: dict[str, Any] | None = None,
                 seed: int = 0, verbose: bool = False) -> None:
        self.embedding_dim = embedding_dim
        self.lstm_units = lstm_units
        self.pooling = pooling
        self.dropout = dropout
        self.vocab_size = vocab_size
        self.min_count = min_count
        self.max_length = max_length
        self.pretrained_embeddings = pretrained_embeddings
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.class_weight = class_weight
        self.validation_fraction = validation_fraction
        self.preprocess = preprocess
        self.seed = seed
        self.verbose = verbose

    def _train_config(self, classes: list[str]) -> TrainConfig:
        head = HeadConfig(name=HEAD, source=DataSource(kind="memory"),
                          classes=classes, multilabel=False)
        return TrainConfig(
            heads=[head], preprocess=self.preprocess, vocab_size=self.vocab_size, min_count=self.min_count,
            max_length=self.max_length, embedding_dim=self.embedding_dim,
            pretrained_embeddings=self.pretrained_embeddings, lstm_units=self.lstm_units,
            pooling=self.pooling, dropout=self.dropout, batch_size=self.batch_size, epochs=self.epochs,
            learning_rate=self.learning_rate, patience=self.patience, class_weight=self.class_weight,
            seed=int(self.seed),
        )

    def fit(self, X, y) -> ToneClassifier:
        """Train on posts ``X`` and labels ``y``."""
        from tonecls.model.train import train

        texts = _texts(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(texts):
            raise InputError(f"y must be one label per post ({len(texts)}), got shape {y.shape}.")
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise InputError("y has a single class; a classifier needs at least two.")
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(texts))
        n_val = max(len(self.classes_), int(round(self.validation_fraction * len(texts))))
        if n_val >= len(texts):
            raise InputError(f"{len(texts)} posts are too few to hold out a validation set; give more data.")
        val, fit = np.sort(order[:n_val]), np.sort(order[n_val:])
        split = lambda rows: LabelledSplit([texts[i] for i in rows], encoded[rows])  # noqa: E731
        classes = [str(c) for c in self.classes_]
        if len(set(classes)) != len(classes):
            raise InputError("class labels must stay distinct when converted to text.")
        self.model_ = train(self._train_config(classes), data={HEAD: {"train": split(fit), "val": split(val)}},
                            quiet=not self.verbose, command="ToneClassifier.fit")
        self.prior_ = np.bincount(encoded, minlength=len(self.classes_)) / len(encoded)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated class probabilities, shape (n, n_classes), columns in ``classes_`` order."""
        check_is_fitted(self, "model_")
        proba = self.model_.predict_proba(_texts(X))[HEAD]
        unscorable = np.isnan(proba).any(axis=1)
        proba[unscorable] = self.prior_
        return proba

    def predict(self, X) -> np.ndarray:
        """The most probable class of each post."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def _texts(X) -> list[Any]:
    if isinstance(X, str):
        raise InputError("X must be a sequence of posts, not a single string; wrap it in a list.")
    values = np.asarray(X, dtype=object)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise InputError(f"X must be one post per row (1-D), got shape {values.shape}.")
    return values.tolist()
