"""The BiLSTM tone model: configuration, training, evaluation, bundles and a scikit-learn estimator.

>>> import tonecls
>>> model = tonecls.load_model()                       # doctest: +SKIP
>>> model.predict(["I love this!", None])              # doctest: +SKIP

Nothing here imports Keras or TensorFlow: a loaded bundle runs its network in numpy
(:mod:`tonecls.model.inference`). ``train`` and the network builder
(:mod:`tonecls.model.network`) import Keras when they run (the ``train`` extra);
``ToneClassifier`` (scikit-learn) is imported on first use.
"""

from __future__ import annotations

from tonecls._lazy import lazy_getattr
from tonecls.model.bundle import bundle_digest, seal_bundle
from tonecls.model.config import DataSource, HeadConfig, HeadSpec, TrainConfig
from tonecls.model.data import LabelledSplit
from tonecls.model.evaluate import comparison_table, evaluate
from tonecls.model.tone_model import PostLogits, ToneModel, load_model
from tonecls.model.train import train

__getattr__ = lazy_getattr(__name__, {"ToneClassifier": "tonecls.model.estimator"})

__all__ = [
    "DataSource",
    "HeadConfig",
    "HeadSpec",
    "LabelledSplit",
    "PostLogits",
    "ToneClassifier",
    "ToneModel",
    "TrainConfig",
    "bundle_digest",
    "comparison_table",
    "evaluate",
    "load_model",
    "seal_bundle",
    "train",
]
