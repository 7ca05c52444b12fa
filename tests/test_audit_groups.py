"""Tests of the group audit (tonecls.audit.groups) on synthetic scored data with a known truth."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, f1_score, precision_score, roc_auc_score

from tonecls.audit.groups import audit_groups, head_arrays
from tonecls.audit.metrics import build_features, metrics_from_sums, weighted_sums
from tonecls.cli import main
from tonecls.errors import InputError
from tonecls.report import audit_report, write_report
from tonecls.stats import stratified_weights

from support import CLASSES, scored_frame  # noqa: E402


def multilabel_frame(n=1500, seed=1):
    rng = np.random.default_rng(seed)
    labels = ["anger", "joy", "fear"]
    truth = rng.random((n, 3)) < [0.3, 0.4, 0.1]
    proba = np.clip(truth * 0.5 + rng.random((n, 3)) * 0.6, 0, 1)
    predicted = proba >= 0.5
    frame = pd.DataFrame({
        "group": rng.choice(["a", "b"], size=n),
        "gold": [";".join(l for l, t in zip(labels, row) if t) for row in truth],
        "tonecls_status": "ok",
        "goemo_labels": [";".join(l for l, p in zip(labels, row) if p) for row in predicted],
    })
    for i, label in enumerate(labels):
        frame[f"goemo_p_{label}"] = proba[:, i]
    return frame, labels, truth, predicted, proba


def _value(result, grouping, group, metric, cls=""):
    rows = result.metrics
    row = rows[(rows.grouping == grouping) & (rows.group == group) & (rows.metric == metric)
               & (rows["class"] == cls)]
    assert len(row) == 1, (grouping, group, metric, cls)
    return row.iloc[0]


def _gap(result, grouping, group, metric, cls=""):
    rows = result.gaps
    row = rows[(rows.grouping == grouping) & (rows.group == group) & (rows.metric == metric)
               & (rows["class"] == cls)]
    assert len(row) == 1
    return row.iloc[0]


@pytest.fixture(scope="module")
def injected():
    frame = scored_frame(4000, recall_drop=("aa", 0, 0.35))
    return frame, audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect"],
                               n_bootstrap=200, seed=0, quiet=True)


def test_injected_lower_recall_is_flagged(injected):
    _, result = injected
    gap = _gap(result, "dialect", "aa", "recall", "anger")
    assert gap.difference < -0.1
    assert gap.difference_ci_high < 0 and gap.p_adjusted < 1e-6 and gap.flagged
    assert gap.ratio < 1 and gap.ratio_ci_high < 1
    assert gap.threshold == "|difference| >= 0.05" and gap.reference_kind == "overall"
    between = result.between.set_index(["grouping", "metric", "class"]).loc[("dialect", "recall", "anger")]
    assert between.group_low == "aa" and not between.flagged and np.isnan(between.p_value)
    finding = next(f for f in result.findings if "Recall (true-positive rate) of 'anger'" in f)
    assert re.search(r"is 0\.\d\d lower for dialect=aa than overall \(0\.\d+ vs 0\.\d+; 95% CI of the gap "
                     r"0\.\d+–0\.\d+; adjusted p < 0\.0001; 1,\d{3} posts, \d+ labelled 'anger'\)", finding)
    assert result.verdict.startswith(f"{int(result.gaps.flagged.sum())} findings")
    assert "largest: recall (true-positive rate) of 'anger'" in result.verdict
    assert result.flagged.iloc[0].metric == "recall" and result.flagged.iloc[0].group == "aa"


def test_identical_groups_are_not_flagged():
    half = scored_frame(1500, seed=3, groups=("x",), weights=(1.0,))
    frame = pd.concat([half.assign(dialect="a"), half.assign(dialect="b")], ignore_index=True)
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect"],
                          n_bootstrap=200, seed=0, quiet=True)
    tested = result.gaps[result.gaps.p_value.notna() & (result.gaps.reference_kind == "overall")]
    assert len(tested) > 40
    assert np.allclose(tested.difference, 0.0, atol=1e-12)  # same data, same metrics
    assert not result.gaps.flagged.any()
    assert result.verdict.startswith("No gap with |difference| >= 0.05 survives the correction")


def test_point_estimates_in_json_equal_fairlearn_and_sklearn(injected):
    frame, result = injected
    data = json.loads(json.dumps(result.to_dict()))  # what the report's JSON holds
    printed = pd.DataFrame(data["metrics"]).set_index(["grouping", "group", "metric", "class"])["value"]
    y, p, g = frame.gold.to_numpy(), frame.emotion_label.to_numpy(), frame.dialect.to_numpy()
    for cls in CLASSES:
        frame_c = MetricFrame(
            metrics={"recall": true_positive_rate, "fpr": false_positive_rate,
                     "selection_rate": selection_rate,
                     "precision": lambda t, q: precision_score(t, q, zero_division=np.nan),
                     "f1": f1_score},
            y_true=(y == cls).astype(int), y_pred=(p == cls).astype(int), sensitive_features=g)
        for metric in ["recall", "fpr", "selection_rate", "precision", "f1"]:
            for group, expected in frame_c.by_group[metric].items():
                assert printed[("dialect", group, metric, cls)] == pytest.approx(expected, rel=0, abs=1e-9)
            assert printed[("overall", "all", metric, cls)] == pytest.approx(frame_c.overall[metric], rel=0, abs=1e-9)
        scores = frame[f"emotion_p_{cls}"].to_numpy()
        positive = y == cls
        for group in np.unique(g):
            inside = g == group
            assert printed[("dialect", group, "subgroup_auc", cls)] == pytest.approx(
                roc_auc_score(positive[inside], scores[inside]), rel=0, abs=1e-9)
            bpsn = (inside & ~positive) | (~inside & positive)
            bnsp = (inside & positive) | (~inside & ~positive)
            assert printed[("dialect", group, "bpsn_auc", cls)] == pytest.approx(
                roc_auc_score(positive[bpsn], scores[bpsn]), rel=0, abs=1e-9)
            assert printed[("dialect", group, "bnsp_auc", cls)] == pytest.approx(
                roc_auc_score(positive[bnsp], scores[bnsp]), rel=0, abs=1e-9)
    for group in np.unique(g):
        inside = g == group
        assert printed[("dialect", group, "accuracy", "")] == pytest.approx(accuracy_score(y[inside], p[inside]), rel=0, abs=1e-9)
        assert printed[("dialect", group, "macro_f1", "")] == pytest.approx(
            f1_score(y[inside], p[inside], average="macro"), rel=0, abs=1e-9)


def test_bootstrap_engine_matches_point_estimates_and_weighted_sklearn(injected):
    frame, result = injected
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


def test_bootstrap_is_seeded_and_chunk_independent():
    chunks_a = np.vstack([c[0] for c in stratified_weights([50, 7], 25, seed=1, chunk_size=4)])
    chunks_b = np.vstack([c[0] for c in stratified_weights([50, 7], 25, seed=1, chunk_size=100)])
    assert np.array_equal(chunks_a, chunks_b)
    frame = scored_frame(800, seed=2)
    kwargs = dict(head="emotion", label_col="gold", group_cols=["dialect"], n_bootstrap=50, quiet=True)
    first = audit_groups(frame, seed=7, **kwargs).gaps
    pd.testing.assert_frame_equal(first, audit_groups(frame, seed=7, **kwargs).gaps)


def test_undefined_metrics_are_explained_not_zero(tmp_path):
    frame = scored_frame(2000, seed=4)
    # group "rare" never has 'anger' as its gold label
    rare = (frame.dialect == "other") & (frame.gold != "anger")
    frame.loc[frame.dialect == "other", "dialect"] = "dropped"
    frame.loc[rare, "dialect"] = "rare"
    frame = frame[frame.dialect != "dropped"]
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect"],
                          n_bootstrap=50, quiet=True)
    row = _value(result, "dialect", "rare", "recall", "anger")
    assert np.isnan(row.value)
    assert row.reason == "undefined: no posts labelled 'anger' in group dialect=rare"
    assert "undefined: no posts labelled 'anger' in group dialect=rare" == _value(
        result, "dialect", "rare", "subgroup_auc", "anger").reason
    gap = _gap(result, "dialect", "rare", "recall", "anger")
    assert np.isnan(gap.p_value) and not gap.flagged and gap.reason.startswith("undefined")
    # FPR of 'anger' is defined (the group has negatives)
    assert not _value(result, "dialect", "rare", "fpr", "anger").reason
    data = json.loads(write_report(audit_report(result), tmp_path)["json"].read_text(encoding="utf-8"))
    record = next(r for r in data["data"]["metrics"] if r["group"] == "rare"
                  and r["metric"] == "recall" and r["class"] == "anger")
    assert record["value"] is None and record["reason"].startswith("undefined: no posts labelled")


def test_small_groups_are_marked_and_not_tested():
    frame = scored_frame(1500, seed=5)
    frame.loc[frame.index[:12], "dialect"] = "tiny"
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect"],
                          min_group_size=30, n_bootstrap=50, quiet=True)
    sizes = result.group_sizes.set_index("group")
    assert sizes.loc["tiny", "n"] == 12 and sizes.loc["tiny", "small"]
    assert not sizes.loc["aa", "small"]
    tiny = result.gaps[result.gaps.group == "tiny"]
    assert tiny.p_value.isna().all() and not tiny.flagged.any()
    assert "tiny" not in set(result.between.group_low) | set(result.between.group_high)
    assert any("dialect=tiny (n=12)" in f for f in result.findings)


def test_excluded_rows_are_counted_not_audited():
    frame = scored_frame(600, seed=6)
    frame.loc[frame.index[:5], "tonecls_status"] = "empty"
    frame.loc[frame.index[:5], ["emotion_label", "emotion_confidence"]] = None
    frame.loc[frame.index[5:8], "gold"] = None
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect"],
                          n_bootstrap=0, quiet=True)
    assert result.excluded == {"empty": 5, "no_label": 3}
    assert result.n_audited == 592 and result.n_rows == 600
    assert _value(result, "overall", "all", "accuracy").n == 592
    assert result.gaps.difference_ci_low.isna().all()
    assert "excluded (empty: 5, no_label: 3)" in result.findings[0]


def test_prediction_only_audit_without_labels():
    frame = scored_frame(1000, seed=7).drop(columns="gold")
    result = audit_groups(frame, head="emotion", group_cols=["dialect"], n_bootstrap=50, quiet=True)
    assert not result.labelled
    assert set(result.metrics.metric) == {"selection_rate", "mean_confidence"}
    assert any("cannot be audited without labels" in f for f in result.findings)
    expected = (frame[frame.dialect == "aa"].emotion_label == "joy").mean()
    assert _value(result, "dialect", "aa", "selection_rate", "joy").value == pytest.approx(expected)
    report = audit_report(result)
    assert report.sections and not result.confusion


def test_multilabel_head_is_audited_per_label():
    frame, labels, truth, predicted, proba = multilabel_frame()
    frame.loc[frame.index[:4], "goemo_labels"] = ""  # no label predicted is valid
    predicted[:4] = False
    result = audit_groups(frame, head="goemo", label_col="gold", group_cols=["group"],
                          n_bootstrap=50, quiet=True)
    assert result.multilabel and result.classes == labels
    group = frame.group.to_numpy()
    for c, label in enumerate(labels):
        inside = group == "a"
        assert _value(result, "group", "a", "recall", label).value == pytest.approx(
            true_positive_rate(truth[inside, c], predicted[inside, c]))
        assert _value(result, "group", "a", "subgroup_auc", label).value == pytest.approx(
            roc_auc_score(truth[inside, c], proba[inside, c]))
    assert _value(result, "overall", "all", "macro_f1").value == pytest.approx(
        f1_score(truth, predicted, average="macro", zero_division=np.nan))
    assert _value(result, "overall", "all", "accuracy").value == pytest.approx(
        accuracy_score(truth, predicted))  # exact-match accuracy
    assert "ece" not in set(result.metrics.metric) and result.calibration


def test_intersections():
    frame = scored_frame(2000, seed=8)
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect", "gender"],
                          intersections=True, n_bootstrap=30, quiet=True)
    assert result.groupings == ["dialect", "gender", "dialect × gender"]
    sizes = result.group_sizes[result.group_sizes.grouping == "dialect × gender"].set_index("group").n
    expected = frame.groupby(["dialect", "gender"]).size()
    for (dialect, gender), count in expected.items():
        assert sizes[f"{dialect} × {gender}"] == count
    inside = (frame.dialect == "aa") & (frame.gender == "f")
    expected = accuracy_score(frame.gold[inside], frame.emotion_label[inside])
    assert _value(result, "dialect × gender", "aa × f", "accuracy").value == pytest.approx(expected)
    # the MetricFrame-like views
    assert result.by_group.loc[("dialect × gender", "aa × f"), ("accuracy", "")] == pytest.approx(expected)
    assert result.overall[("accuracy", "")] == pytest.approx(accuracy_score(frame.gold, frame.emotion_label))
    assert len(result.by_group) == 2 + 3 + 6


def test_invalid_input_gives_clear_errors():
    frame = scored_frame(200, seed=9)
    with pytest.raises(InputError, match=r"not classes of the head: 'ANGER'.*Classes: \['anger'"):
        audit_groups(frame.assign(gold=frame.gold.replace("anger", "ANGER")), head="emotion",
                     label_col="gold", group_cols=["dialect"], quiet=True)
    with pytest.raises(InputError, match="no columns for head 'sentiment'.*heads found: \\['emotion'\\]"):
        audit_groups(frame, head="sentiment", group_cols=["dialect"], quiet=True)
    with pytest.raises(InputError, match="group column"):
        audit_groups(frame, head="emotion", group_cols=["missing"], quiet=True)


@pytest.mark.slow  # renders 9 figures
def test_cli_writes_three_files(tmp_path, capsys):
    source = tmp_path / "scored.csv"
    scored_frame(1200, seed=10, recall_drop=("aa", 0, 0.3)).to_csv(source, index=False)
    status = main(["audit", str(source), "-o", str(tmp_path / "reports" / "audit"), "--head", "emotion",
                   "--label-col", "gold", "--group-col", "dialect", "--group-col", "gender",
                   "--intersections", "--n-bootstrap", "60", "--quiet"])
    assert status == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "Audited 1,200 of 1,200 rows" in out
    reports = tmp_path / "reports"
    html = (reports / "audit.html").read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"https?://", html) and "<link" not in html
    assert html.count('src="data:image/png;base64,') == 9  # 3 groupings x 3 figures
    document = json.loads((reports / "audit.json").read_text(encoding="utf-8"))
    assert document["provenance"]["command"].startswith("tonecls audit ")
    assert document["provenance"]["rows audited"] == 1200
    markdown = (reports / "audit.md").read_text(encoding="utf-8")
    for figure in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown):
        assert (reports / figure).is_file()
    assert main(["audit", str(source), "-o", str(tmp_path / "x"), "--head", "emotion",
                 "--group-col", "nope"]) == 2
    assert "scored.csv has no column(s) ['nope']; its columns are ['id', 'dialect'" in capsys.readouterr().err


def test_cli_records_model_provenance_and_unreadable_lines(tmp_path, capsys):
    frame = scored_frame(300, seed=11)
    source = tmp_path / "scored.csv"
    text = frame.to_csv(index=False)
    lines = text.splitlines()
    lines.insert(5, '"unterminated,quote')  # a malformed record, kept and excluded
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from tonecls.model import load_model
    from tonecls.model.bundle import DEFAULT_BUNDLE

    status = main(["audit", str(source), "-o", str(tmp_path / "r"), "--head", "emotion",
                   "--label-col", "gold", "--group-col", "dialect", "--n-bootstrap", "0",
                   "--model", str(DEFAULT_BUNDLE)])
    assert status == 0, capsys.readouterr().err
    document = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    provenance = document["provenance"]
    recorded = load_model().metadata_
    assert provenance["model name"] == recorded["name"] and provenance["model bundle"] == str(DEFAULT_BUNDLE)
    assert provenance["model metrics"]["test"]["emotion"]["value"] == recorded["metrics"]["test"]["emotion"]["value"]
    assert provenance["rows read"] == 301 and provenance["rows audited"] == 300
    assert provenance["rows excluded by reason"] == {"malformed_line": 1}
    assert main(["audit", str(source), "-o", str(tmp_path / "r"), "--head", "emotion",
                 "--group-col", "dialect", "--model", str(tmp_path)]) == 2
    assert "not a tonecls model bundle" in capsys.readouterr().err
    assert main(["audit", str(source), "-o", str(tmp_path / "r"), "--head", "sentiment",
                 "--group-col", "dialect"]) == 2
    assert "heads found: ['emotion']" in capsys.readouterr().err


def test_load_scored_reads_only_the_audited_columns(tmp_path):
    from tonecls.jobs.audit import load_scored

    source = tmp_path / "scored.jsonl"
    scored_frame(50, seed=12).assign(text="a post").to_json(source, orient="records", lines=True)
    frame = load_scored(source, head="emotion", columns=["gold", "dialect"])
    assert list(frame.columns) == ["dialect", "gold", "tonecls_status", "emotion_label",
                                   "emotion_confidence", *[f"emotion_p_{c}" for c in CLASSES]]
    assert len(frame) == 50 and list(frame.index) == list(range(50))
    assert "text" in load_scored(source).columns


# --- error control: random groups find (almost) nothing, planted gaps are found ------------


def realistic_scored(n=3000, seed=0, classes=CLASSES):
    """A calibrated-looking model on imbalanced classes: gold labels drawn from slightly
    sharpened predicted probabilities (so the model is a little over-confident, like real ones)."""
    rng = np.random.default_rng(seed)
    k = len(classes)
    logits = rng.normal(size=(n, k)) * 1.6 + np.linspace(0.8, -0.6, k)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    sharper = proba ** 0.8 / (proba ** 0.8).sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(sharper, axis=1)).sum(axis=1)
    frame = pd.DataFrame({"gold": np.array(classes)[y], "tonecls_status": "ok",
                          "emotion_label": np.array(classes)[proba.argmax(axis=1)],
                          "emotion_confidence": proba.max(axis=1)})
    for i, c in enumerate(classes):
        frame[f"emotion_p_{c}"] = proba[:, i]
    return frame


def random_groups(frame, seed):
    rng = np.random.default_rng(seed)
    return frame.assign(g3=rng.choice(["a", "b", "c"], size=len(frame), p=[0.05, 0.25, 0.7]),
                        g2=rng.choice(["x", "y"], size=len(frame)))


def test_audits_of_random_groups_flag_almost_nothing():
    """Four audits of random groups (about 200 gaps each): the family-wise correction and the
    practical minimum keep false findings at (almost) zero, while uncorrected 95% intervals
    would flag several per audit."""
    flagged = uncorrected = 0
    for seed in range(4):
        frame = random_groups(realistic_scored(3000, seed=seed), seed)
        result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["g3", "g2"],
                              n_bootstrap=200, seed=seed, quiet=True)
        gaps = result.gaps
        assert gaps.p_value.notna().sum() > 150
        flagged += int(gaps.flagged.sum())
        uncorrected += int(((gaps.difference_ci_low > 0) | (gaps.difference_ci_high < 0)).sum())
    assert flagged <= 1
    assert uncorrected >= 8


def test_small_random_group_has_higher_ece_but_no_calibration_finding():
    frame = realistic_scored(3000, seed=11)
    frame["g"] = np.where(np.arange(len(frame)) < 60, "small", "big")
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["g"],
                          n_bootstrap=300, seed=1, quiet=True)
    ece = _gap(result, "g", "small", "ece")
    assert ece.value > result.overall[("ece", "")]  # a small sample's ECE is larger by chance
    assert ece.reference_kind == "random group of the same size"
    assert ece.reference > result.overall[("ece", "")] and not ece.flagged
    assert not result.gaps[result.gaps.metric.isin(["ece", "class_ece"])].flagged.any()


def test_planted_gaps_are_found_and_small_ones_are_not_findings():
    frame = random_groups(realistic_scored(6000, seed=21), 21)
    # plant: in group g2=x, 30% of the correct 'joy' predictions become 'anger'
    rng = np.random.default_rng(0)
    hit = ((frame.g2 == "x") & (frame.gold == "joy") & (frame.emotion_label == "joy")
           & (rng.random(len(frame)) < 0.3)).to_numpy()
    p_joy, p_anger = frame.loc[hit, "emotion_p_joy"].to_numpy(), frame.loc[hit, "emotion_p_anger"].to_numpy()
    frame.loc[hit, "emotion_p_joy"], frame.loc[hit, "emotion_p_anger"] = p_anger, p_joy
    frame.loc[hit, "emotion_label"] = "anger"
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["g3", "g2"],
                          n_bootstrap=300, seed=0, quiet=True)
    recall = _gap(result, "g2", "x", "recall", "joy")
    assert recall.difference < -0.05 and recall.flagged
    assert set(result.flagged.grouping) == {"g2"}  # the random grouping g3 has no finding
    strict = audit_groups(frame, head="emotion", label_col="gold", group_cols=["g3", "g2"],
                          n_bootstrap=300, seed=0, quiet=True, min_difference=0.5)
    gap = _gap(strict, "g2", "x", "recall", "joy")
    assert gap.significant and not gap.exceeds_minimum and not gap.flagged
    assert "below the practical minimum" in strict.verdict
    ratio = audit_groups(frame, head="emotion", label_col="gold", group_cols=["g2"], n_bootstrap=300,
                         seed=0, quiet=True, min_difference=None, ratio_bounds=(0.8, 1.25))
    gap = _gap(ratio, "g2", "x", "recall", "joy")
    assert gap.flagged == (gap.ratio < 0.8) and gap.threshold == "ratio outside [0.8, 1.25]"
    by = audit_groups(frame, head="emotion", label_col="gold", group_cols=["g3", "g2"],
                      n_bootstrap=300, seed=0, quiet=True, correction="fdr_by")
    tested = result.gaps.p_value.notna()
    assert (by.gaps.p_adjusted[tested] >= result.gaps.p_adjusted[tested] - 1e-12).all()
    assert "Benjamini-Yekutieli" in by.verdict


def test_metrics_need_a_minimum_count_in_every_cell():
    frame = scored_frame(2000, seed=13)
    anger = frame.index[(frame.dialect == "other") & (frame.gold == "anger")]
    frame = frame.drop(anger[6:])  # group 'other' keeps 6 posts labelled anger
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect"],
                          n_bootstrap=50, quiet=True, min_cell_count=10)
    for metric in ("recall", "f1", "subgroup_auc", "bnsp_auc"):
        row = _value(result, "dialect", "other", metric, "anger")
        assert np.isnan(row.value) and row.support == 6
        assert row.reason == ("undefined: only 6 posts labelled 'anger' in group dialect=other "
                              "(fewer than 10)")
    assert not _value(result, "dialect", "other", "fpr", "anger").reason  # plenty of negatives
    assert not _value(result, "dialect", "other", "bpsn_auc", "anger").reason
    loose = audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect"],
                         n_bootstrap=0, quiet=True, min_cell_count=5)
    assert not _value(loose, "dialect", "other", "recall", "anger").reason


def test_gap_records_carry_the_test_contract(injected, tmp_path):
    _, result = injected
    data = json.loads(write_report(audit_report(result), tmp_path)["json"].read_text(encoding="utf-8"))
    assert data["verdict"] == result.verdict and data["data"]["verdict"] == result.verdict
    records = data["data"]["gaps"]
    for record in records:
        for key in ("flagged", "p_value", "p_adjusted", "threshold", "significant", "exceeds_minimum"):
            assert key in record
        assert record["flagged"] == bool(record["significant"] and record["exceeds_minimum"])
        assert record["p_adjusted"] is None or record["p_adjusted"] >= record["p_value"] - 1e-15
    assert data["data"]["settings"]["correction"] == "fdr_bh"
    assert data["data"]["settings"]["min_difference"] == 0.05
    assert all(r["flagged"] is False for r in data["data"]["between"])
    html_page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert html_page.index('class="verdict"') < html_page.index('id="findings"')
    accuracy = _value(result, "dialect", "aa", "accuracy").value
    assert f"{accuracy:.3f}" in html_page  # the tables shown carry the same numbers
    assert "<details" in html_page
    fragment = result._repr_html_()
    assert html.escape(result.verdict) in fragment and "<table" in fragment


def test_point_estimates_need_no_fairlearn_or_sklearn_at_run_time():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from tonecls.audit import audit_groups\n"
        "rng = np.random.default_rng(0); p = rng.dirichlet([1, 1, 1], 300)\n"
        "f = pd.DataFrame({'gold': rng.choice(list('abc'), 300), 'g': rng.choice(['x', 'y'], 300),\n"
        "                  'e_label': np.array(list('abc'))[p.argmax(1)], 'e_confidence': p.max(1)})\n"
        "for i, c in enumerate('abc'): f[f'e_p_{c}'] = p[:, i]\n"
        "audit_groups(f, head='e', label_col='gold', group_cols=['g'], n_bootstrap=5, quiet=True)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fairlearn', 'sklearn'))[:3])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_error_control_options_and_stable_input_description(tmp_path, capsys):
    source = tmp_path / "scored.csv"
    scored_frame(1200, seed=14, recall_drop=("aa", 0, 0.3)).to_csv(source, index=False)
    base = ["audit", str(source), "--head", "emotion", "--label-col", "gold", "--group-col", "dialect",
            "--n-bootstrap", "100", "--quiet"]
    assert main([*base, "-o", str(tmp_path / "a"), "--correction", "fdr_by", "--min-difference", "0.1",
                 "--ratio-bounds", "0.8", "1.25", "--input-description", "synthetic test export"]) == 0
    out = capsys.readouterr().out
    assert re.match(r"\d+ findings? \(Benjamini-Yekutieli .*\|difference\| >= 0\.1 and ratio outside "
                    r"\[0\.8, 1\.25\].*largest: recall \(true-positive rate\) of 'anger'", out.splitlines()[0])
    document = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    settings = document["data"]["settings"]
    assert settings["correction"] == "fdr_by" and settings["min_difference"] == 0.1
    assert settings["ratio_bounds"] == [0.8, 1.25]
    assert document["provenance"]["input"] == "synthetic test export"
    assert str(tmp_path) not in json.dumps(document["provenance"]["input file"])
    assert str(source) not in document["provenance"]["command"]
    assert document["provenance"]["command"].startswith("tonecls audit scored.csv ")
    assert "Benjamini-Yekutieli" in document["verdict"]
    assert main([*base, "-o", str(tmp_path / "b"), "--ratio-bounds", "1.2", "0.8"]) == 2
    assert "ratio_bounds must be (low, high)" in capsys.readouterr().err
    assert main([*base, "-o", str(tmp_path / "c"), "--correction", "bonferroni"]) == 2


def test_exact_aucs_with_tied_scores_equal_sklearn():
    frame = scored_frame(1500, seed=15)
    for c in CLASSES:  # scores rounded to 2 decimals: many ties
        frame[f"emotion_p_{c}"] = frame[f"emotion_p_{c}"].round(2)
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect"],
                          n_bootstrap=0, quiet=True)
    g = frame.dialect.to_numpy()
    for cls in CLASSES:
        y, score = (frame.gold == cls).to_numpy(), frame[f"emotion_p_{cls}"].to_numpy()
        assert _value(result, "overall", "all", "subgroup_auc", cls).value == pytest.approx(
            roc_auc_score(y, score), rel=0, abs=1e-9)
        inside = g == "aa"
        bpsn = (inside & ~y) | (~inside & y)
        assert _value(result, "dialect", "aa", "bpsn_auc", cls).value == pytest.approx(
            roc_auc_score(y[bpsn], score[bpsn]), rel=0, abs=1e-9)


def test_groups_excluded_unevenly_are_reported_not_dropped():
    frame = scored_frame(1500, seed=16)
    frame["dialect"] = frame["dialect"].astype(object)
    frame.loc[frame.index[:40], "dialect"] = "gone"  # every row of this group is excluded
    frame.loc[frame.index[:40], "tonecls_status"] = "other_language"
    aa = frame.index[frame.dialect == "aa"][:90]  # about a fifth of aa's rows excluded
    frame.loc[aa, "tonecls_status"] = "other_language"
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect"],
                          n_bootstrap=50, quiet=True)
    sizes = result.group_sizes.set_index("group")
    assert sizes.loc["gone", "n"] == 0 and sizes.loc["gone", "excluded"] == 40 and sizes.loc["gone", "small"]
    assert sizes.loc["aa", "excluded"] == 90
    assert sizes.loc["white", "excluded"] == 0
    sentence = next(f for f in result.findings if f.startswith("Rows were excluded unevenly"))
    share = 90 / (frame.dialect == "aa").sum()
    assert "dialect=gone 100% (40 rows)" in sentence and f"dialect=aa {100 * share:.0f}% (90 rows)" in sentence
    assert "dialect=white" not in sentence


# --- at scale and at the edges ----------------------------------------------------------------


def test_a_group_per_row_is_folded_fast_into_a_small_report(tmp_path):
    import time

    frame = scored_frame(4000, seed=21)
    frame["post"] = [f"p{i}" for i in range(len(frame))]
    started = time.perf_counter()
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["post"], n_bootstrap=200, quiet=True)
    paths = write_report(audit_report(result), tmp_path, "r")
    assert time.perf_counter() - started < 60  # seconds, not minutes (BENCHMARKS: bias audit)
    assert sum(p.stat().st_size for k, p in paths.items() if k != "figures") < 5_000_000
    sizes = result.group_sizes
    assert len(sizes) == 1 and sizes.group[0] == "(4,000 other groups)" and bool(sizes.small[0])
    assert sizes.n.sum() == result.n_audited
    assert result.flagged.empty and any("4,000 groups are folded" in f for f in result.findings)


def test_only_the_largest_groups_are_audited_one_by_one(tmp_path):
    frame = scored_frame(3000, seed=22)
    frame["community"] = [f"c{i % 40:02d}" if i % 3 else "big" for i in range(len(frame))]
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["community"], n_bootstrap=50,
                          max_groups=5, quiet=True)
    listed = result.group_sizes
    assert len(listed) == 6 and (listed.group == "(36 other groups)").sum() == 1
    kept = listed[~listed.group.str.startswith("(")]
    assert (kept.n >= 30).all() and "big" in set(kept.group)
    tested = result.gaps[result.gaps.p_value.notna()]
    assert set(tested.group) <= set(kept.group)
    assert listed.n.sum() == result.n_audited


def test_a_grouping_with_one_group_is_an_error_not_a_comparison_with_itself():
    frame = scored_frame(300, seed=23).assign(platform="twitter")
    with pytest.raises(InputError, match="'platform' has a single group \\('twitter'\\).*nothing to compare"):
        audit_groups(frame, head="emotion", label_col="gold", group_cols=["platform"], quiet=True)


def test_probabilities_that_do_not_sum_to_one_are_an_error_naming_the_columns():
    frame = scored_frame(300, seed=24)
    frame.loc[7, "emotion_p_anger"] = frame.loc[7, "emotion_p_anger"] + 0.3
    with pytest.raises(InputError, match=r"emotion_p_anger.*do not sum to 1 in 1 audited row"):
        audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect"], quiet=True)


def test_markdown_reports_keep_user_values_literal(tmp_path):
    frame = scored_frame(600, seed=25)
    frame["dialect"] = frame["dialect"].map({"aa": "**aa** [x](http://evil)", "white": "<b>white</b>",
                                            "other": "- other | # x"}).fillna("other")
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect"], n_bootstrap=0, quiet=True)
    markdown = write_report(audit_report(result), tmp_path, "r")["md"].read_text(encoding="utf-8")
    assert "**aa**" not in markdown and "\\*\\*aa\\*\\*" in markdown
    assert "[x](http" not in markdown and "<b>white" not in markdown
