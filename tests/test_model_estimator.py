"""ToneClassifier (tonecls.model.estimator): a scikit-learn estimator in pipelines and clone."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from support import WORDS, synthetic_posts

from tonecls.errors import InputError
from tonecls.model import ToneClassifier


@pytest.mark.slow
def test_tone_classifier_in_a_pipeline_and_clone():
    posts, labels = synthetic_posts(240, seed=6)
    y = np.array(list(WORDS))[labels]
    estimator = ToneClassifier(embedding_dim=8, lstm_units=4, epochs=3, batch_size=16, learning_rate=0.01)
    cloned = clone(estimator)
    assert cloned.get_params() == estimator.get_params() and not hasattr(cloned, "model_")
    pipeline = Pipeline([("clf", estimator)]).fit(posts, y)
    test_posts, test_labels = synthetic_posts(60, seed=7)
    predicted = pipeline.predict(test_posts)
    assert set(predicted) <= set(WORDS)
    assert pipeline.score(test_posts, np.array(list(WORDS))[test_labels]) > 0.5
    proba = pipeline.predict_proba(test_posts + [None])
    assert proba.shape == (61, 3) and not np.isnan(proba).any()
    np.testing.assert_allclose(proba[-1], estimator.prior_)
    assert list(pipeline.named_steps["clf"].classes_) == sorted(WORDS)


def test_tone_classifier_rejects_bad_targets():
    with pytest.raises(InputError, match="single class"):
        ToneClassifier().fit(["a", "b", "c"], ["x", "x", "x"])
    with pytest.raises(InputError, match="one label per post"):
        ToneClassifier().fit(["a", "b"], ["x"])
