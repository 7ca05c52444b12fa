"""Gaps tested as one family (tonecls.audit.gaps): random groups flag (almost) nothing, planted
gaps are found, small ones and calibration noise are not findings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from support import CLASSES, gap_row

from tonecls.audit.groups import audit_groups


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


@pytest.mark.slow
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
    ece = gap_row(result, "g", "small", "ece")
    assert ece.value > result.overall[("ece", "")]  # a small sample's ECE is larger by chance
    assert ece.reference_kind == "random group of the same size"
    assert ece.reference > result.overall[("ece", "")] and not ece.flagged
    assert not result.gaps[result.gaps.metric.isin(["ece", "class_ece"])].flagged.any()


@pytest.mark.slow
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
    recall = gap_row(result, "g2", "x", "recall", "joy")
    assert recall.difference < -0.05 and recall.flagged
    assert set(result.flagged.grouping) == {"g2"}  # the random grouping g3 has no finding
    strict = audit_groups(frame, head="emotion", label_col="gold", group_cols=["g3", "g2"],
                          n_bootstrap=300, seed=0, quiet=True, min_difference=0.5)
    gap = gap_row(strict, "g2", "x", "recall", "joy")
    assert gap.significant and not gap.exceeds_minimum and not gap.flagged
    assert "below the practical minimum" in strict.verdict
    ratio = audit_groups(frame, head="emotion", label_col="gold", group_cols=["g2"], n_bootstrap=300,
                         seed=0, quiet=True, min_difference=None, ratio_bounds=(0.8, 1.25))
    gap = gap_row(ratio, "g2", "x", "recall", "joy")
    assert gap.flagged == (gap.ratio < 0.8) and gap.threshold == "ratio outside [0.8, 1.25]"
    by = audit_groups(frame, head="emotion", label_col="gold", group_cols=["g3", "g2"],
                      n_bootstrap=300, seed=0, quiet=True, correction="fdr_by")
    tested = result.gaps.p_value.notna()
    assert (by.gaps.p_adjusted[tested] >= result.gaps.p_adjusted[tested] - 1e-12).all()
    assert "Benjamini-Yekutieli" in by.verdict
