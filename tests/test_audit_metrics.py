"""Group metrics from sufficient statistics (tonecls.audit.metrics): equal to scikit-learn on
the point estimate and on weighted resamples."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, precision_score

from support import CLASSES

from tonecls.audit.groups import head_arrays
from tonecls.audit.metrics import build_features, metrics_from_sums, weighted_sums
from tonecls.stats import stratified_weights


def test_bootstrap_engine_matches_point_estimates_and_weighted_sklearn(injected_audit):
    frame, result = injected_audit
    arrays, _, _ = head_arrays(frame, "emotion", "gold")
    features, layout = build_features(arrays)
    point = metrics_from_sums(np.asarray(features.sum(axis=0)), layout, len(CLASSES))
    overall = result.overall
    for metric in ["recall", "fpr", "precision", "f1", "selection_rate"]:
        for c, cls in enumerate(CLASSES):
            assert point[metric][0, c] == pytest.approx(overall[(metric, cls)], abs=1e-12)
    assert point["accuracy"][0] == pytest.approx(overall[("accuracy", "")])
    # a resample as weights: weighted counts equal sklearn with sample weights
    weights = next(stratified_weights([len(frame)], 3, seed=5))[0]
    resampled = metrics_from_sums(weighted_sums(features, weights), layout, len(CLASSES))
    y, p = frame.gold == "joy", frame.emotion_label == "joy"
    for b in range(3):
        assert resampled["recall"][b, 1] == pytest.approx(
            precision_score(p, y, sample_weight=weights[b]))  # recall = precision with roles swapped
        assert resampled["accuracy"][b] == pytest.approx(
            accuracy_score(frame.gold, frame.emotion_label, sample_weight=weights[b]))
        assert weights[b].sum() == len(frame)
