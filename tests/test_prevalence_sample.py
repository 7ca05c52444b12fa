"""Samples to label by hand (tonecls.prevalence.sample): reproducible, stratified, allocated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from tonecls.errors import InputError
from tonecls.prevalence import draw_sample
from tonecls.prevalence.sample import INCLUSION_COLUMN, allocate


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
    if n >= (series > 0).sum():  # every stratum can be drawn: a weighted estimate stands for all of them
        assert (counts[series > 0] >= 1).all(), counts


def test_a_tiny_strata_proportional_share_rounding_to_nothing_still_gets_a_draw():
    counts = allocate(pd.Series({"big": 395, "tiny": 5}), 30)
    assert counts.to_dict() == {"big": 29, "tiny": 1}


def test_strata_follow_the_audits_group_rule():
    """Sample strata, prevalence groups and audit groups are one rule (tonecls.audit.names):
    surrounding spaces trimmed, missing and empty values one '(missing)' group."""
    from tonecls.audit.names import group_labels

    values = pd.Series(["twitter", "twitter ", " reddit", "", None, np.nan, 1.5], dtype=object)
    assert group_labels(values).tolist() == ["twitter", "twitter", "reddit", "(missing)", "(missing)",
                                             "(missing)", "1.5"]
    frame = pd.DataFrame({"id": range(7), "text": "t", "tonecls_status": "ok", "platform": values})
    sample = draw_sample(frame, 4, stratify_col="platform")
    assert sample.attrs["stratum_sizes"] == {"twitter": 2, "reddit": 1, "(missing)": 3, "1.5": 1}
