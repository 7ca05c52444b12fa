"""The group audit (tonecls.audit.groups) on synthetic scored data with a known truth: findings,
point estimates against fairlearn and scikit-learn, undefined and small cells, excluded rows,
multi-label heads, intersections, folding many groups, input checks."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
from sklearn.metrics import accuracy_score, f1_score, precision_score, roc_auc_score

from support import CLASSES, gap_row, hang_guard, metric_row, scored_frame

from tonecls.audit.groups import audit_groups
from tonecls.errors import InputError
from tonecls.report import audit_report, write_report
from tonecls.stats import stratified_weights


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


def test_injected_lower_recall_is_flagged(injected_audit):
    _, result = injected_audit
    gap = gap_row(result, "dialect", "aa", "recall", "anger")
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


def test_point_estimates_in_json_equal_fairlearn_and_sklearn(injected_audit):
    frame, result = injected_audit
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
    row = metric_row(result, "dialect", "rare", "recall", "anger")
    assert np.isnan(row.value)
    assert row.reason == "undefined: no posts labelled 'anger' in group dialect=rare"
    assert "undefined: no posts labelled 'anger' in group dialect=rare" == metric_row(
        result, "dialect", "rare", "subgroup_auc", "anger").reason
    gap = gap_row(result, "dialect", "rare", "recall", "anger")
    assert np.isnan(gap.p_value) and not gap.flagged and gap.reason.startswith("undefined")
    # FPR of 'anger' is defined (the group has negatives)
    assert not metric_row(result, "dialect", "rare", "fpr", "anger").reason
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
    assert metric_row(result, "overall", "all", "accuracy").n == 592
    assert result.gaps.difference_ci_low.isna().all()
    assert "excluded (empty: 5, no_label: 3)" in result.findings[0]


def test_prediction_only_audit_without_labels():
    frame = scored_frame(1000, seed=7).drop(columns="gold")
    result = audit_groups(frame, head="emotion", group_cols=["dialect"], n_bootstrap=50, quiet=True)
    assert not result.labelled
    assert set(result.metrics.metric) == {"selection_rate", "mean_confidence"}
    assert any("cannot be audited without labels" in f for f in result.findings)
    expected = (frame[frame.dialect == "aa"].emotion_label == "joy").mean()
    assert metric_row(result, "dialect", "aa", "selection_rate", "joy").value == pytest.approx(expected)
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
        assert metric_row(result, "group", "a", "recall", label).value == pytest.approx(
            true_positive_rate(truth[inside, c], predicted[inside, c]))
        assert metric_row(result, "group", "a", "subgroup_auc", label).value == pytest.approx(
            roc_auc_score(truth[inside, c], proba[inside, c]))
    assert metric_row(result, "overall", "all", "macro_f1").value == pytest.approx(
        f1_score(truth, predicted, average="macro", zero_division=np.nan))
    assert metric_row(result, "overall", "all", "accuracy").value == pytest.approx(
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
    assert metric_row(result, "dialect × gender", "aa × f", "accuracy").value == pytest.approx(expected)
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


def test_metrics_need_a_minimum_count_in_every_cell():
    frame = scored_frame(2000, seed=13)
    anger = frame.index[(frame.dialect == "other") & (frame.gold == "anger")]
    frame = frame.drop(anger[6:])  # group 'other' keeps 6 posts labelled anger
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect"],
                          n_bootstrap=50, quiet=True, min_cell_count=10)
    for metric in ("recall", "f1", "subgroup_auc", "bnsp_auc"):
        row = metric_row(result, "dialect", "other", metric, "anger")
        assert np.isnan(row.value) and row.support == 6
        assert row.reason == ("undefined: only 6 posts labelled 'anger' in group dialect=other "
                              "(fewer than 10)")
    assert not metric_row(result, "dialect", "other", "fpr", "anger").reason  # plenty of negatives
    assert not metric_row(result, "dialect", "other", "bpsn_auc", "anger").reason
    loose = audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect"],
                         n_bootstrap=0, quiet=True, min_cell_count=5)
    assert not metric_row(loose, "dialect", "other", "recall", "anger").reason


@pytest.mark.slow
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


def test_exact_aucs_with_tied_scores_equal_sklearn():
    frame = scored_frame(1500, seed=15)
    for c in CLASSES:  # scores rounded to 2 decimals: many ties
        frame[f"emotion_p_{c}"] = frame[f"emotion_p_{c}"].round(2)
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect"],
                          n_bootstrap=0, quiet=True)
    g = frame.dialect.to_numpy()
    for cls in CLASSES:
        y, score = (frame.gold == cls).to_numpy(), frame[f"emotion_p_{cls}"].to_numpy()
        assert metric_row(result, "overall", "all", "subgroup_auc", cls).value == pytest.approx(
            roc_auc_score(y, score), rel=0, abs=1e-9)
        inside = g == "aa"
        bpsn = (inside & ~y) | (~inside & y)
        assert metric_row(result, "dialect", "aa", "bpsn_auc", cls).value == pytest.approx(
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


# --- at scale and at the edges ---------------------------------------------------------------


def test_a_group_per_row_is_folded_fast_into_a_small_report(tmp_path):
    frame = scored_frame(4000, seed=21)
    frame["post"] = [f"p{i}" for i in range(len(frame))]
    with hang_guard(120, "auditing 4,000 groups"):  # seconds, not hours (BENCHMARKS: bias audit)
        result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["post"],
                              n_bootstrap=200, quiet=True)
        paths = write_report(audit_report(result), tmp_path, "r")
    assert sum(p.stat().st_size for k, p in paths.items() if k != "figures") < 5_000_000
    sizes = result.group_sizes
    # the folded group is said apart (not tested for being folded), so not marked small
    assert len(sizes) == 1 and sizes.group[0] == "(4,000 other groups)" and not bool(sizes.small[0])
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


@pytest.mark.parametrize("column", ["gold", "emotion_label", "emotion_p_joy"])
def test_grouping_by_the_labels_or_the_models_outputs_is_refused(column):
    """Groups made of the gold label or a prediction have gaps by construction (findings of
    nothing): refused, naming the column."""
    frame = scored_frame(200, seed=3)
    with pytest.raises(InputError, match=re.escape(f"['{column}']")):
        audit_groups(frame, head="emotion", label_col="gold", group_cols=[column], n_bootstrap=0)
