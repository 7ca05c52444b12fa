"""Prevalence estimates: PPI++ against ppi-python (the oracle, 1e-9), simulations on the default
model's real predictions (coverage per group and per period, error against classify-and-count,
error control of the differences, stratified weights), the estimator's views and input checks,
draw_sample and the report.

The simulations draw labelled samples from the TweetEval sentiment / GoEmotions ekman test sets
scored by the bundled model (``scored_benchmarks`` in conftest.py): the truth is the gold share
of the posts the sample stands for. Monte-Carlo limits are 3 standard errors of a coverage
estimate (``sqrt(0.9 * 0.1 / draws)``).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tonecls.errors import InputError
from tonecls.prevalence import PrevalenceEstimator, draw_sample
from tonecls.prevalence.ppi import classical_mean, mean_difference, ppi_mean, z_value
from tonecls.prevalence.result import CONTRACT_COLUMNS
from tonecls.prevalence.sample import INCLUSION_COLUMN, allocate

CONFIDENCE = 0.9


def mc_floor(draws: int, level: float = CONFIDENCE) -> float:
    """The lowest coverage estimate from ``draws`` intervals still consistent with ``level``."""
    return level - 3 * np.sqrt(level * (1 - level) / draws)


def scored_frame_of(data: dict, head: str, rng: np.random.Generator | None = None) -> pd.DataFrame:
    """A scored frame (the schema's columns) of one benchmark head, with its gold labels as
    class names in ``gold`` (``;``-joined for the multi-label head)."""
    classes, proba, predicted, gold = data["classes"], data["proba"], data["predicted"], data["gold"]
    names = np.array(classes, dtype=object)
    frame = pd.DataFrame({"id": [f"p{i}" for i in range(len(proba))], "text": "post", "tonecls_status": "ok"})
    multilabel = head == "ekman"
    if multilabel:
        frame[f"{head}_labels"] = [";".join(names[row > 0]) for row in predicted]
        frame["gold"] = [";".join(names[row > 0]) for row in gold]
    else:
        frame[f"{head}_label"] = names[predicted.argmax(1)]
        frame[f"{head}_confidence"] = proba.max(1)
        frame["gold"] = names[gold.argmax(1)]
    for j, name in enumerate(classes):
        frame[f"{head}_p_{name}"] = proba[:, j]
    return frame


def labelled_sample(frame: pd.DataFrame, n: int, seed: int, **kwargs) -> pd.DataFrame:
    sample = draw_sample(frame, n, seed=seed, **kwargs)
    sample["label"] = frame.set_index("id").loc[sample["id"], "gold"].to_numpy()
    return sample


# --- the estimator against ppi-python ------------------------------------------------------------


def random_problem(rng: np.random.Generator, n: int, big_n: int, d: int, signal: float):
    y = np.eye(d)[rng.integers(0, d, n)] if d > 1 else (rng.random((n, 1)) < 0.3).astype(float)
    yhat = np.clip(signal * y + (1 - signal) * rng.random((n, d)), 0, 1)
    return y, yhat, rng.random((big_n, d))


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_ppi_mean_equals_ppi_python(shared, weighted):
    ppi_py = pytest.importorskip("ppi_py")
    rng = np.random.default_rng(7)
    lams = []
    for n, big_n, d, signal in [(40, 500, 1, 0.2), (120, 3000, 3, 0.1), (300, 2000, 7, 0.5), (1000, 12000, 3, 0.05)]:
        y, yhat, yhat_u = random_problem(rng, n, big_n, d, signal)
        w = rng.random(n) + 0.1 if weighted else None
        w_u = rng.random(big_n) + 0.1 if weighted else None
        mode = "overall" if shared else "element"
        low, high = ppi_py.ppi_mean_ci(y, yhat, yhat_u, alpha=0.1, w=w, w_unlabeled=w_u, lam_optim_mode=mode)
        point = ppi_py.ppi_mean_pointestimate(y, yhat, yhat_u, w=w, w_unlabeled=w_u, lam_optim_mode=mode)
        ours = ppi_mean(y, yhat, yhat_u, confidence=0.9, weights=w, unlabelled_weights=w_u, shared_lam=shared)
        np.testing.assert_allclose(ours.estimate, np.ravel(point), rtol=0, atol=1e-9)
        np.testing.assert_allclose(ours.ci_low, np.ravel(low), rtol=0, atol=1e-9)
        np.testing.assert_allclose(ours.ci_high, np.ravel(high), rtol=0, atol=1e-9)
        lams.extend(ours.lam)
        for fixed in (0.0, 0.5, 1.0):  # a fixed lambda, and the classical interval
            low, high = ppi_py.ppi_mean_ci(y, yhat, yhat_u, alpha=0.1, lam=fixed, w=w, w_unlabeled=w_u)
            ours = ppi_mean(y, yhat, yhat_u, confidence=0.9, lam=fixed, weights=w, unlabelled_weights=w_u)
            np.testing.assert_allclose([ours.ci_low, ours.ci_high], [np.ravel(low), np.ravel(high)], atol=1e-9)
        low, high = ppi_py.classical_mean_ci(y[:, 0], w=w, alpha=0.1)
        classical = classical_mean(y[:, 0], confidence=0.9, weights=w)
        np.testing.assert_allclose([classical.ci_low[0], classical.ci_high[0]], [low, high], atol=1e-9)
    assert any(0 < lam < 1 for lam in lams), "the problems should exercise an interior lambda"


def test_lambda_zero_is_the_classical_interval_and_the_floor_only_widens():
    rng = np.random.default_rng(3)
    y, yhat, yhat_u = random_problem(rng, 80, 1000, 3, 0.4)
    zero = ppi_mean(y, yhat, yhat_u, lam=0.0)
    classical = classical_mean(y)
    np.testing.assert_allclose([zero.estimate, zero.ci_low, zero.ci_high],
                               [classical.estimate, classical.ci_low, classical.ci_high], atol=1e-12)
    rare = np.zeros((100, 1))  # a class with no labelled example
    plain = ppi_mean(rare, np.full((100, 1), 0.02), np.full((5000, 1), 0.03))
    floored = ppi_mean(rare, np.full((100, 1), 0.02), np.full((5000, 1), 0.03), floor_label_variance=True)
    assert plain.se[0] < 1e-12 and floored.se[0] > 0.01
    assert floored.estimate[0] == plain.estimate[0]


def test_shared_lambda_keeps_single_label_shares_summing_to_one():
    rng = np.random.default_rng(5)
    y, yhat, _ = random_problem(rng, 200, 0, 3, 0.5)
    yhat = yhat / yhat.sum(1, keepdims=True)
    yhat_u = rng.dirichlet(np.ones(3), 4000)
    assert ppi_mean(y, yhat, yhat_u).estimate.sum() == pytest.approx(1.0, abs=1e-12)


def test_mean_difference_of_independent_estimates():
    a = ppi_mean(np.eye(2)[[0, 0, 1, 0, 1]], np.full((5, 2), 0.5), np.full((50, 2), 0.5), lam=0.0)
    b = classical_mean(np.eye(2)[[1, 1, 1, 0]])
    diff = mean_difference(a, b)
    np.testing.assert_allclose(diff.estimate, a.estimate - b.estimate)
    np.testing.assert_allclose(diff.se, np.hypot(a.se, b.se))
    assert diff.ci_low[0] < diff.estimate[0] < diff.ci_high[0] and 0 < diff.p_value[0] < 1


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1, "0.9", None])
def test_confidence_outside_the_unit_interval_is_refused(confidence):
    with pytest.raises(InputError, match="confidence"):
        z_value(confidence)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 60), scale=st.floats(0.1, 10.0))
def test_ppi_mean_ignores_row_order_and_the_scale_of_weights(seed, n, scale):
    rng = np.random.default_rng(seed)
    y, yhat, yhat_u = random_problem(rng, n, 200, 3, 0.3)
    w = rng.random(n) + 0.5
    base = ppi_mean(y, yhat, yhat_u, weights=w, floor_label_variance=True)
    order, order_u = rng.permutation(n), rng.permutation(200)
    moved = ppi_mean(y[order], yhat[order], yhat_u[order_u], weights=scale * w[order], floor_label_variance=True)
    np.testing.assert_allclose([moved.estimate, moved.ci_low, moved.ci_high],
                               [base.estimate, base.ci_low, base.ci_high], atol=1e-12)
    assert np.all((0 <= base.lam) & (base.lam <= 1)) and np.all(base.ci_low <= base.ci_high)


# --- simulations on the default model's predictions ---------------------------------------------


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


# --- the estimator's views and checks -------------------------------------------------------------


@pytest.fixture(scope="module")
def sentiment_frame(scored_benchmarks) -> pd.DataFrame:
    frame = scored_frame_of(scored_benchmarks["sentiment"], "sentiment").iloc[:3000].copy()
    rng = np.random.default_rng(0)
    frame["region"] = rng.choice(["north", "south"], len(frame))
    frame["created"] = pd.to_datetime("2024-03-01") + pd.to_timedelta(rng.integers(0, 60, len(frame)), unit="D")
    return frame


def test_views_and_json_contract(sentiment_frame):
    sample = labelled_sample(sentiment_frame, 300, seed=1)
    result = PrevalenceEstimator("sentiment", confidence=0.8).fit(
        sentiment_frame, labels=sample, group_cols=["region"], time_col="created", freq="M")
    estimates = result.estimates
    assert list(estimates.columns[:8]) == CONTRACT_COLUMNS
    assert set(estimates["group"]) == {"all", "region=north", "region=south", "created=2024-03", "created=2024-04"}
    assert (estimates.groupby("group")["n"].first().loc[["region=north", "region=south"]].sum()
            == len(sentiment_frame))
    assert (estimates["ci_low"] <= estimates["estimate"]).all() and (estimates["estimate"] <= estimates["ci_high"]).all()
    assert set(result.differences["kind"]) == {"group", "period"} and len(result.differences) == 6
    assert result.verdict.startswith("'") and "labelled posts" in result.verdict
    assert any("random sample" in a for a in result.assumptions)
    document = json.loads(json.dumps(result.to_dict()))
    assert set(CONTRACT_COLUMNS) <= set(document["estimates"][0])
    assert document["verdict"] == result.verdict and document["settings"]["confidence"] == 0.8


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


# --- draw_sample ------------------------------------------------------------------------------


def test_draw_sample_is_reproducible_and_only_scored_rows():
    frame = pd.DataFrame({"id": range(100), "text": [f"t{i}" for i in range(100)],
                          "tonecls_status": ["ok"] * 90 + ["empty"] * 10})
    first = draw_sample(frame, 30, seed=4)
    assert first.equals(draw_sample(frame, 30, seed=4)) and not first.equals(draw_sample(frame, 30, seed=5))
    assert list(first.columns) == ["id", "text", "label", "stratum_size", INCLUSION_COLUMN]
    assert first["id"].max() < 90 and first["id"].is_unique and (first["label"] == "").all()
    np.testing.assert_allclose(first[INCLUSION_COLUMN], 30 / 90)
    with pytest.raises(InputError, match="only 90 rows"):
        draw_sample(frame, 91)
    with pytest.raises(InputError, match="n must be"):
        draw_sample(frame, 0)


def test_stratified_samples_record_their_design():
    frame = pd.DataFrame({"id": range(1000), "text": "t", "tonecls_status": "ok",
                          "platform": ["a"] * 700 + ["b"] * 250 + [None] * 50})
    sample = draw_sample(frame, 100, stratify_col="platform", seed=1)
    assert sample.attrs["sample_sizes"] == {"a": 70, "b": 25, "(missing)": 5}
    assert sample.attrs["stratum_sizes"] == {"a": 700, "b": 250, "(missing)": 50}
    np.testing.assert_allclose(sample[INCLUSION_COLUMN], 0.1)
    equal = draw_sample(frame, 150, stratify_col="platform", allocation="equal", seed=1)
    assert equal.attrs["sample_sizes"] == {"a": 50, "b": 50, "(missing)": 50}
    prefix = equal.iloc[:60]["platform"].fillna("(missing)").value_counts()
    assert prefix.min() >= 10  # random order: a labeller who stops early keeps every stratum


@settings(max_examples=50, deadline=None)
@given(sizes=st.lists(st.integers(0, 50), min_size=1, max_size=6), n=st.integers(1, 200),
       allocation=st.sampled_from(["proportional", "equal"]))
def test_allocation_uses_every_draw_and_never_more_than_a_stratum(sizes, n, allocation):
    series = pd.Series(sizes, index=[f"s{i}" for i in range(len(sizes))])
    counts = allocate(series, n, allocation)
    assert (counts <= series).all() and counts.sum() == min(n, series.sum())


# --- the report -------------------------------------------------------------------------------


def test_prevalence_report_writes_html_markdown_json(sentiment_frame, tmp_path):
    from tonecls.report import write_report
    from tonecls.report.prevalence import prevalence_report

    sample = labelled_sample(sentiment_frame, 300, seed=1)
    result = PrevalenceEstimator("sentiment").fit(sentiment_frame, labels=sample, group_cols=["region"],
                                                  time_col="created", freq="W")
    report = prevalence_report(result, provenance={"input": "scored.parquet"})
    assert report.verdict == result.verdict
    paths = write_report(report, tmp_path, "prevalence")
    document = json.loads(paths["json"].read_text())
    assert document["verdict"] == result.verdict
    assert document["data"]["estimates"][0].keys() >= set(CONTRACT_COLUMNS)
    assert len(list(paths["figures"].glob("*.png"))) == 2  # groups, and the time series
    assert "random sample" in paths["md"].read_text()
