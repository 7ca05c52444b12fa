"""Prevalence estimates (tonecls.prevalence.estimate) simulated on the default model's real
predictions: coverage per group and per period, error against classify-and-count, error
control of the differences, stratified weights; the estimator's input checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from support import labelled_sample, scored_frame_of

from tonecls.errors import InputError
from tonecls.prevalence import PrevalenceEstimator
from tonecls.prevalence.ppi import ppi_mean
from tonecls.prevalence.sample import INCLUSION_COLUMN


CONFIDENCE = 0.9


def mc_floor(draws: int, level: float = CONFIDENCE) -> float:
    """The lowest coverage estimate from ``draws`` intervals still consistent with ``level``."""
    return level - 3 * np.sqrt(level * (1 - level) / draws)


# --- simulations on the default model's predictions ------------------------------------------


def coverage_and_error(y, model, predicted, n, draws, rows=None, weights_of=None):
    """Coverage per class, and the mean absolute errors of PPI++ and of classify-and-count,
    over ``draws`` random labelled samples of ``n`` of ``rows``."""
    rows = np.arange(len(y)) if rows is None else rows
    truth = y[rows].mean(0)
    covered, errors = [], []
    for seed in range(draws):
        lab = np.random.default_rng(seed).choice(rows, n, replace=False)
        est = ppi_mean(y[lab], model[lab], model[rows], confidence=CONFIDENCE, floor_label_variance=True)
        covered.append((est.ci_low <= truth) & (truth <= est.ci_high))
        errors.append(np.abs(est.estimate - truth))
    return np.mean(covered, 0), np.mean(errors), np.abs(predicted[rows].mean(0) - truth).mean()


@pytest.mark.parametrize("head,n", [("sentiment", 100), ("sentiment", 300), ("ekman", 300)])
def test_coverage_is_nominal_and_estimates_beat_classify_and_count(scored_benchmarks, head, n):
    data = scored_benchmarks[head]
    draws = 300
    coverage, error, naive_error = coverage_and_error(data["gold"], data["proba"], data["predicted"], n, draws)
    assert coverage.min() >= mc_floor(draws), (head, n, coverage)
    assert error <= naive_error / 2, (error, naive_error)


def mixed_groups(y: np.ndarray, seed: int) -> np.ndarray:
    """Three groups whose class mixes differ: the first class goes to group a twice as often."""
    rng = np.random.default_rng(seed)
    weights = np.where(y[:, 0] > 0, 2.0, 1.0)
    return np.where(rng.random(len(y)) < weights / (weights + 2.5), "a", rng.choice(["b", "c"], len(y)))


def test_coverage_per_group_with_different_class_mixes(scored_benchmarks):
    data = scored_benchmarks["sentiment"]
    groups = mixed_groups(data["gold"], seed=1)
    draws = 200
    for name in ("a", "b", "c"):
        rows = np.flatnonzero(groups == name)
        coverage, error, naive_error = coverage_and_error(data["gold"], data["proba"], data["predicted"], 150,
                                                          draws, rows=rows)
        assert coverage.min() >= mc_floor(draws), (name, coverage)
        assert error <= naive_error / 2


def drifting_periods(y: np.ndarray, seed: int, periods: int = 4) -> np.ndarray:
    """Month of each post: the first class drifts from rare to common over the months."""
    rng = np.random.default_rng(seed)
    late = np.where(y[:, 0] > 0, 0.8, 0.3)
    month = np.where(rng.random(len(y)) < late, rng.integers(periods // 2, periods, len(y)),
                     rng.integers(0, periods // 2, len(y)))
    return pd.to_datetime("2024-01-15") + pd.to_timedelta(month * 31, unit="D")


@pytest.mark.slow
def test_estimator_per_period_covers_the_drifting_truth(scored_benchmarks):
    frame = scored_frame_of(scored_benchmarks["sentiment"], "sentiment").iloc[:6000].copy()
    frame["created"] = drifting_periods(scored_benchmarks["sentiment"]["gold"][:6000], seed=2)
    truth = pd.get_dummies(frame["gold"]).groupby(frame["created"].dt.to_period("M").astype(str)).mean()
    covered, errors, naive_errors = [], [], []
    for seed in range(12):
        result = PrevalenceEstimator("sentiment").fit(frame, labels=labelled_sample(frame, 600, seed),
                                                      time_col="created", freq="M")
        rows = result.estimates[result.estimates["grouping"] == "created"]
        true = [truth.loc[g.split("=", 1)[1], c] for g, c in zip(rows["group"], rows["class"])]
        covered += list((rows["ci_low"] <= true) & (true <= rows["ci_high"]))
        errors += list(np.abs(rows["estimate"] - true))
        naive_errors += list(np.abs(rows["naive"] - true))
    assert np.mean(covered) >= mc_floor(len(covered))  # 12 draws x 4 months x 3 classes
    assert np.mean(errors) <= np.mean(naive_errors) / 2
    assert truth["negative"].iloc[-1] - truth["negative"].iloc[0] > 0.15  # the drift is real


@pytest.mark.slow
def test_random_groups_give_almost_no_significant_differences(scored_benchmarks):
    frame = scored_frame_of(scored_benchmarks["sentiment"], "sentiment")
    with_any = 0
    for seed in range(15):
        rng = np.random.default_rng(100 + seed)
        frame["region"] = rng.choice(["x", "y", "z"], len(frame))
        result = PrevalenceEstimator("sentiment").fit(frame, labels=labelled_sample(frame, 600, seed),
                                                      group_cols=["region"])
        assert len(result.differences) == 9  # 3 pairs x 3 classes
        with_any += bool(result.differences["significant"].any())
    assert with_any <= 4  # BH at 0.1 under the global null: P(any) <= 0.1; P(>= 5 of 15) < 0.01


@pytest.mark.slow
def test_planted_differences_between_groups_are_found(scored_benchmarks):
    data = scored_benchmarks["sentiment"]
    frame = scored_frame_of(data, "sentiment")
    negative = data["gold"][:, 0] > 0
    found = 0
    for seed in range(8):
        rng = np.random.default_rng(200 + seed)
        # group "hot" holds 70% of the negative posts and 30% of the others: shares 0.53 vs 0.17
        frame["community"] = np.where(rng.random(len(frame)) < np.where(negative, 0.7, 0.3), "hot", "calm")
        result = PrevalenceEstimator("sentiment").fit(frame, labels=labelled_sample(frame, 400, seed),
                                                      group_cols=["community"])
        row = result.differences.set_index("class").loc["negative"]
        found += bool(row["significant"]) and row["difference"] * (1 if row["group"] == "community=hot" else -1) > 0
    assert found == 8


@pytest.mark.slow
def test_a_stratified_sample_is_weighted_back(scored_benchmarks):
    data = scored_benchmarks["sentiment"]
    frame = scored_frame_of(data, "sentiment")
    rng = np.random.default_rng(4)
    positive = data["gold"][:, 2] > 0
    # a small stratum (about 12% of the posts) that is mostly positive, oversampled by equal allocation
    frame["platform"] = np.where(rng.random(len(frame)) < np.where(positive, 0.4, 0.05), "small", "large")
    truth = (frame["gold"] == "positive").mean()
    weighted, unweighted, covered = [], [], []
    for seed in range(20):
        sample = labelled_sample(frame, 400, seed, stratify_col="platform", allocation="equal")
        assert sample["platform"].value_counts().to_dict() == {"small": 200, "large": 200}
        est = PrevalenceEstimator("sentiment").fit(frame, labels=sample).overall.loc["positive"]
        plain = PrevalenceEstimator("sentiment").fit(frame, labels=sample.drop(columns=INCLUSION_COLUMN))
        weighted.append(est["estimate"] - truth)
        unweighted.append(plain.overall.loc["positive", "classical_estimate"] - truth)
        covered.append(est["ci_low"] <= truth <= est["ci_high"])
    assert abs(np.mean(weighted)) < 0.01 and np.mean(unweighted) > 0.1  # labels alone, unweighted: biased
    assert np.mean(covered) >= mc_floor(20)


# --- the estimator's checks ------------------------------------------------------------------


def test_estimates_do_not_depend_on_row_order(sentiment_frame):
    sample = labelled_sample(sentiment_frame, 200, seed=3)
    first = PrevalenceEstimator("sentiment").fit(sentiment_frame, labels=sample, group_cols=["region"])
    shuffled = sentiment_frame.sample(frac=1.0, random_state=5)
    second = PrevalenceEstimator("sentiment").fit(shuffled, labels=sample.sample(frac=1.0, random_state=6),
                                                  group_cols=["region"])
    key = ["group", "class"]
    pd.testing.assert_frame_equal(first.estimates.sort_values(key).reset_index(drop=True),
                                  second.estimates.sort_values(key).reset_index(drop=True), atol=1e-12)


def test_labels_in_the_scored_frame_and_multi_label_heads(scored_benchmarks):
    frame = scored_frame_of(scored_benchmarks["ekman"], "ekman")
    sample = labelled_sample(frame, 400, seed=0)
    frame["label"] = frame["id"].map(sample.set_index("id")["label"])  # labels in a column of the file
    result = PrevalenceEstimator("ekman").fit(frame, label_col="label")
    overall = result.overall
    assert list(overall.index) == scored_benchmarks["ekman"]["classes"] and result.multilabel
    assert result.n_labelled == 400
    truth = scored_benchmarks["ekman"]["gold"].mean(0)
    assert abs(overall.loc["neutral", "estimate"] - truth[4]) < abs(overall.loc["neutral", "naive"] - truth[4])


def test_without_labels_only_naive_shares_and_a_warning(sentiment_frame):
    result = PrevalenceEstimator("sentiment").fit(sentiment_frame, group_cols=["region"])
    assert not result.labelled and result.estimates[["estimate", "ci_low", "ci_high"]].isna().all().all()
    np.testing.assert_allclose(result.overall["naive"].sum(), 1.0)
    assert "No labelled posts" in result.verdict and "17 points" in result.verdict
    assert "47.0%" in result.warnings[0] and result.differences.empty


def test_small_groups_get_no_estimate_and_a_warning(sentiment_frame):
    frame = sentiment_frame.copy()
    frame["region"] = np.where(np.arange(len(frame)) < 40, "tiny", "rest")
    sample = labelled_sample(frame, 150, seed=2)
    result = PrevalenceEstimator("sentiment").fit(frame, labels=sample, group_cols=["region"])
    tiny = result.estimates[result.estimates["group"] == "region=tiny"]
    assert tiny["estimate"].isna().all() and tiny["naive"].notna().all()
    assert any(w.startswith("region=tiny: only") for w in result.warnings)


@pytest.mark.parametrize("kwargs,fit_kwargs,message", [
    ({"confidence": 1.2}, {}, "confidence"),
    ({"correction": "bonferroni"}, {}, "unknown correction"),
    ({"predictions": "logits"}, {}, "predictions must be"),
    ({}, {"group_cols": ["nope"]}, "no column"),
    ({}, {"time_col": "created", "freq": "H"}, "freq must be"),
    ({}, {"time_col": "text"}, "not parseable"),
])
def test_bad_settings_are_refused(sentiment_frame, kwargs, fit_kwargs, message):
    with pytest.raises(InputError, match=message):
        PrevalenceEstimator("sentiment", **kwargs).fit(sentiment_frame, **fit_kwargs)


def test_bad_heads_and_labels_are_refused(sentiment_frame):
    with pytest.raises(InputError, match="no columns for head 'emotion'"):
        PrevalenceEstimator("emotion").fit(sentiment_frame)
    sample = labelled_sample(sentiment_frame, 50, seed=0)
    sample.loc[0, "label"] = "furious"
    with pytest.raises(InputError, match="'furious'"):
        PrevalenceEstimator("sentiment").fit(sentiment_frame, labels=sample)
    with pytest.raises(InputError, match="id column"):
        PrevalenceEstimator("sentiment").fit(sentiment_frame, labels=sample.drop(columns="id"))
    with pytest.raises(InputError, match="repeat id"):
        PrevalenceEstimator("sentiment").fit(sentiment_frame, labels=pd.concat([sample, sample]))
    with pytest.raises(InputError, match="label column 'gold_x'"):
        PrevalenceEstimator("sentiment").fit(sentiment_frame, label_col="gold_x")
