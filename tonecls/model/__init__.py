"""The BiLSTM tone model: configuration, training, evaluation, bundles and a scikit-learn estimator.

>>> import tonecls
>>> model = tonecls.load_model()                       # doctest: +SKIP
>>> model.predict(["I love this!", None])              # doctest: +SKIP

Importing this package imports Keras (and registers the custom layers), so
``tonecls.load_model`` is resolved lazily from :mod:`tonecls`.
"""

from tonecls.model import network as _network  # noqa: F401  (registers the custom Keras layers)
from tonecls.model.bundle import load_model
from tonecls.model.config import DataSource, HeadConfig, HeadSpec, TrainConfig
from tonecls.model.data import LabelledSplit
from tonecls.model.estimator import ToneClassifier
from tonecls.model.evaluate import comparison_table, evaluate
from tonecls.model.tone_model import ToneModel
from tonecls.model.train import train

__all__ = [
    "DataSource",
    "HeadConfig",
    "HeadSpec",
    "LabelledSplit",
    "ToneClassifier",
    "ToneModel",
    "TrainConfig",
    "comparison_table",
    "evaluate",
    "load_model",
    "train",
]
