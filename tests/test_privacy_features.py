"""Per-example features of calibrated probabilities (tonecls.privacy.features)."""

from __future__ import annotations

import numpy as np
import pytest

from tonecls.privacy.features import example_features


def test_features_of_single_and_multi_label_probabilities():
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    f = example_features(proba, np.array([0, 1]), multilabel=False)
    np.testing.assert_allclose(f.loss, -np.log([0.7, 0.1]))
    np.testing.assert_allclose(f.margin, [0.5, -0.7])
    np.testing.assert_allclose(f.confidence, np.log([0.7 / 0.3, 0.1 / 0.9]))
    np.testing.assert_array_equal(f.correct, [True, False])
    m = example_features(np.array([[0.9, 0.2]]), np.array([[1.0, 0.0]]), multilabel=True)
    np.testing.assert_allclose(m.loss, -np.log(0.9) - np.log(0.8))
    assert m.correct.tolist() == [True] and m.margin[0] == pytest.approx(0.6)
