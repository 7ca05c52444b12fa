"""The BiLSTM tone model: configuration, training, evaluation, bundles and a scikit-learn estimator.

>>> import tonecls
>>> model = tonecls.load_model()                       # doctest: +SKIP
>>> model.predict(["I love this!", None])              # doctest: +SKIP

Nothing here imports Keras or TensorFlow: a loaded bundle runs its network in numpy
(:mod:`tonecls.model.inference`). ``train`` and the network builder
(:mod:`tonecls.model.network`) import Keras when they run; ``ToneClassifier`` (scikit-learn)
is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from tonecls.model.config import DataSource, HeadConfig, HeadSpec, TrainConfig
from tonecls.model.data import LabelledSplit
from tonecls.model.evaluate import comparison_table, evaluate
from tonecls.model.tone_model import PostScores, ToneModel, load_model
from tonecls.model.train import train

_LAZY = {"ToneClassifier": "tonecls.model.estimator"}  # imports scikit-learn: on first use


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tonecls.model' has no attribute {name!r}")


__all__ = [
    "DataSource",
    "HeadConfig",
    "HeadSpec",
    "LabelledSplit",
    "PostScores",
    "ToneClassifier",
    "ToneModel",
    "TrainConfig",
    "comparison_table",
    "evaluate",
    "load_model",
    "train",
]
