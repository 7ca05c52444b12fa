"""Membership-inference attacks: each turns per-example features into a score, higher meaning
"this post was in the training set".

- ``loss`` (Yeom et al. 2018): minus the post's loss under the model.
- ``lira`` (Carlini et al. 2022, offline variant): the logit-scaled confidence of the true
  label against a Gaussian fitted to the same post's confidence under reference models that
  never saw it: ``(phi - mean_ref) / sd``, with one variance over all posts (the paper's
  choice with few reference models). Its edge over ``loss``: a post that every model finds
  easy is not taken for a member.
- ``trained`` (Shokri et al. 2017 style, as in TensorFlow Privacy's trained attacks): a
  gradient-boosted classifier over loss, entropy, margin, confidence and the true class,
  cross-fitted (each post scored by a classifier fitted on the other folds). Its threat model
  is stronger: the attacker knows the membership of most posts.
"""

from __future__ import annotations

import numpy as np

from tonecls.privacy.features import ExampleFeatures

ATTACKS = {
    "loss": "loss threshold (Yeom et al. 2018): a low loss means member",
    "lira": "offline likelihood-ratio attack (Carlini et al. 2022) against reference models trained without the post",
    "trained": "gradient-boosted attack model over loss, entropy, margin, confidence and class, cross-fitted "
               "(the attacker knows most posts' membership)",
}
TRAINED_FOLDS = 5


def loss_scores(features: ExampleFeatures) -> np.ndarray:
    """The loss-threshold attack's scores: ``-loss``."""
    return -np.asarray(features.loss, dtype=np.float64)


def lira_offline_scores(confidence: np.ndarray, reference_confidence: np.ndarray) -> np.ndarray:
    """Offline LiRA: ``(confidence - mean) / sd`` with ``mean`` the post's mean logit-scaled
    confidence over the reference models (rows of ``reference_confidence``, posts in columns)
    and ``sd`` the pooled standard deviation of the reference confidences around their means."""
    reference_confidence = np.atleast_2d(np.asarray(reference_confidence, dtype=np.float64))
    mean = reference_confidence.mean(axis=0)
    spread = reference_confidence - mean
    dof = max(1, spread.size - spread.shape[1])
    sd = float(np.sqrt((spread ** 2).sum() / dof)) if len(reference_confidence) > 1 else 1.0
    return (np.asarray(confidence, dtype=np.float64) - mean) / max(sd, 1e-12)


def trained_scores(features: ExampleFeatures, is_member: np.ndarray, seed: int = 0,
                   folds: int = TRAINED_FOLDS) -> np.ndarray:
    """Out-of-fold membership probabilities of a gradient-boosted classifier over the features
    and the true class (stratified folds by membership, seeded)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    columns = features.matrix()
    categorical = None
    if (features.label >= 0).all():  # single-label: the true class is a feature too
        columns = np.column_stack([columns, features.label])
        categorical = [columns.shape[1] - 1]
    model = HistGradientBoostingClassifier(max_iter=100, max_leaf_nodes=15, learning_rate=0.05,
                                           categorical_features=categorical, random_state=seed)
    from threadpoolctl import threadpool_limits

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with threadpool_limits(1):  # small fits: OpenMP threads only contend (measured 5x slower on 2 busy cores)
        return cross_val_predict(model, columns, np.asarray(is_member, dtype=int), cv=splitter,
                                 method="predict_proba")[:, 1]
