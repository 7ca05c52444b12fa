"""Official metrics, bootstrap intervals and the comparison table (tonecls.model.evaluate)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, recall_score

from tonecls.model.evaluate import comparison_table, macro_f1, macro_recall


def test_official_metrics_equal_sklearn():
    rng = np.random.default_rng(1)
    y, p = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    assert macro_f1(y, p, 4) == pytest.approx(f1_score(y, p, average="macro"))
    assert macro_recall(y, p, 4) == pytest.approx(recall_score(y, p, average="macro"))
    Y, P = rng.integers(0, 2, (300, 7)), rng.integers(0, 2, (300, 7))
    assert macro_f1(Y, P) == pytest.approx(f1_score(Y, P, average="macro", zero_division=0))


@pytest.mark.parametrize("metric", ["macro_f1", "macro_recall"])
def test_bootstrap_interval_equals_resampling_with_sklearn(metric):
    from tonecls.model.evaluate import bootstrap_interval
    from tonecls.stats import stratified_weights

    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 400)
    p = np.where(rng.random(400) < 0.7, y, rng.integers(0, 3, 400))
    sk = f1_score if metric == "macro_f1" else recall_score
    (weights,) = next(stratified_weights([400], 200, seed=5, chunk_size=200))
    expected = np.percentile([sk(y, p, average="macro", sample_weight=w) for w in weights], [2.5, 97.5])
    low, high = bootstrap_interval(metric, y, p, 3, n_resamples=200, seed=5)
    assert (low, high) == pytest.approx(tuple(expected))
    assert low < sk(y, p, average="macro") < high
    Y = rng.integers(0, 2, (400, 5))
    P = np.where(rng.random((400, 5)) < 0.8, Y, 1 - Y)
    low, high = bootstrap_interval("macro_f1", Y, P, 5, n_resamples=200)
    assert low < f1_score(Y, P, average="macro") < high


def test_comparison_table_puts_measured_figures_beside_published_ones():
    results = pd.DataFrame({"head": ["emotion"], "dataset": ["TweetEval emotion"], "split": ["test"],
                            "metric": ["macro_f1"], "value": [0.7], "ci_low": [0.68], "ci_high": [0.72],
                            "n": [1421], "n_unscorable": [0]})
    table = comparison_table(results, data_dir="/nonexistent")
    assert set(table["head"]) == {"emotion"}
    assert {"this model", "BLSTM", "SVM", "FastText"} <= set(table["system"])
    ours = table[table["system"] == "this model"]
    assert ours["value"].item() == 70.0 and ours["ci95"].item() == "[68.0, 72.0]"
    assert (table.loc[table["system"] == "BLSTM", "ci95"] == "").all()  # papers give no interval
    assert table["source"].str.len().gt(0).all()
