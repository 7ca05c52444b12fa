"""Dialect proportions and groups (tonecls.audit.dialect.estimator), Blodgett et al. 2016: the
released examples, scikit-learn conventions, thresholds and group sizes."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from support import SHARED_DATA

from tonecls.audit.dialect import (
    GROUP_AA,
    GROUP_UNDETERMINED,
    GROUP_WHITE,
    PROPORTION_COLUMNS,
    DialectEstimator,
    GroupSizeTally,
    add_dialect_columns,
    groups_from_proportions,
)
from tonecls.errors import DataNotFoundError, InputError


MODEL_DIR = SHARED_DATA / "twitteraae"


needs_model = pytest.mark.skipif(
    not (MODEL_DIR / "model_count_table.txt").is_file(),
    reason=f"TwitterAAE model not found at {MODEL_DIR} (shared data absent)",
)  # only for the tests of the released model's own figures; the others use fake_twitteraae


# --- groups from proportions -----------------------------------------------------------------


def test_groups_from_proportions_thresholds():
    frame = pd.DataFrame(
        {
            "dialect_aa": [0.85, 0.1, 0.5, np.nan, 0.8],
            "dialect_hispanic": [0.05, 0.0, 0.2, np.nan, 0.1],
            "dialect_asian": [0.05, 0.0, 0.1, np.nan, 0.0],
            "dialect_white": [0.05, 0.9, 0.2, np.nan, 0.1],
        }
    )
    groups = groups_from_proportions(frame, threshold=0.8)
    assert groups.tolist() == [GROUP_AA, GROUP_WHITE, GROUP_UNDETERMINED, GROUP_UNDETERMINED, GROUP_AA]
    assert groups_from_proportions(frame, threshold=0.9).tolist()[:2] == [GROUP_UNDETERMINED, GROUP_WHITE]
    with pytest.raises(InputError, match="threshold"):
        groups_from_proportions(frame, threshold=0.4)


def test_group_size_tally_warns_and_names_a_threshold_that_populates_the_group():
    rng = np.random.default_rng(0)
    aa = np.concatenate([rng.uniform(0.0, 0.5, 900), np.linspace(0.52, 0.62, 40), [0.85], [np.nan] * 9])
    white = np.where(np.isnan(aa), np.nan, np.clip(1 - aa - 0.05, 0, 1))
    tally = GroupSizeTally(0.8)
    for start in range(0, len(aa), 300):  # chunk by chunk, as dialect_file counts
        tally.update(pd.DataFrame({"dialect_aa": aa[start:start + 300], "dialect_white": white[start:start + 300]}))
    assert tally.rows == 950 and tally.at_threshold[GROUP_AA] == 1
    (warning,) = tally.warnings(min_rows=30)  # the white-aligned group has hundreds of posts
    assert warning.startswith("dialect group aa_aligned has 1 of 950 posts at threshold 0.8, fewer than the 30")
    expected = int(np.sum(aa >= 0.54))  # the highest threshold of the 0.01 grid with 30 posts
    assert expected >= 30 > int(np.sum(aa >= 0.55))
    assert f"--threshold 0.54 would give it {expected} posts" in warning
    (hopeless,) = tally.warnings(min_rows=500)[:1]
    assert "even the lowest threshold (0.51) gives it only 41" in hopeless
    assert GroupSizeTally(0.8).warnings() == []  # nothing counted, nothing to say


def test_missing_model_dir_is_a_clear_error(tmp_path):
    with pytest.raises(DataNotFoundError, match="model_vocab.txt"):
        DialectEstimator(tmp_path).fit()


def test_estimator_follows_scikit_learn_conventions(fake_twitteraae):
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    estimator = DialectEstimator(fake_twitteraae, min_tokens=2)
    assert not [name for name in vars(estimator) if name.endswith("_")]  # nothing fitted in __init__
    assert estimator.get_params()["min_tokens"] == 2
    assert estimator.set_params(min_tokens=3) is estimator and estimator.min_tokens == 3
    assert clone(estimator).get_params() == estimator.get_params()
    with pytest.raises(NotFittedError):  # predicting does not fit behind the caller's back
        estimator.predict_proportions(["hello there"])
    assert estimator.fit() is estimator and estimator.likelihoods_.shape[1] == 4
    assert "min_tokens=3" in repr(estimator)
    unfitted = DialectEstimator(fake_twitteraae)
    frame = add_dialect_columns(pd.DataFrame({"text": ["af af af"]}), unfitted)  # fits a copy
    assert frame["dialect_group"].tolist() == [GROUP_AA] and not hasattr(unfitted, "likelihoods_")


def test_invalid_parameters_are_rejected():
    with pytest.raises(InputError, match="min_tokens"):
        DialectEstimator(MODEL_DIR, min_tokens=0).fit()


# --- with the released model -----------------------------------------------------------------


@pytest.fixture(scope="module")
def released():
    return DialectEstimator(MODEL_DIR).fit()


@needs_model
def test_reproduces_released_examples(released):
    estimator = released
    # Outputs printed in the README of slanglab/twitteraae for predict.predict(...)
    hello = estimator.predict_proportions(["hello there"])[PROPORTION_COLUMNS].to_numpy()[0]
    np.testing.assert_allclose(hello, [0.16603718, 0.27450171, 0.22886004, 0.33060107], rtol=1e-6)
    af = estimator.predict_proportions(["af af af"])[PROPORTION_COLUMNS].to_numpy()[0]
    np.testing.assert_allclose(af, [8.42944382e-01, 1.32149345e-01, 1.11905398e-04, 2.47943681e-02], rtol=1e-6)


@needs_model
def test_aae_post_gets_higher_aa_proportion(released):
    estimator = released
    out = estimator.predict_proportions(
        ["he be trippin lol finna go", "I am going to the store now, would you like anything?"]
    )
    assert out["dialect_aa"].iloc[0] > out["dialect_aa"].iloc[1] + 0.3
    assert out["dialect_white"].iloc[1] > out["dialect_white"].iloc[0]


def test_no_estimate_without_enough_vocabulary(dialect_estimator):
    texts = ["qqzxv wkpfj", "", None, 42, "@someone https://example.com/x", "hello qqzxv wkpfj vvbnq zzxqk xxqqz"]
    out = dialect_estimator.predict_proportions(texts)
    assert out[PROPORTION_COLUMNS].isna().all(axis=None)
    # the last post has 1 in-vocabulary token of 6 (< 20%, the released thresh2)
    assert out["dialect_n_tokens"].tolist() == [0, 0, 0, 0, 0, 1]
    lenient = DialectEstimator(dialect_estimator.model_dir, min_vocab_fraction=0.0).fit()
    assert lenient.predict_proportions(texts[-1:])["dialect_aa"].notna().all()


def test_proportions_sum_to_one_and_are_deterministic(dialect_estimator):
    texts = ["hello there", "lmao she stay talkin bout nothin", "What a lovely afternoon in the park."] * 5
    first = dialect_estimator.predict_proportions(texts)
    second = DialectEstimator(dialect_estimator.model_dir, batch_size=4).fit().predict_proportions(texts)
    np.testing.assert_allclose(first[PROPORTION_COLUMNS].sum(axis=1), 1.0)
    pd.testing.assert_frame_equal(first, second)


def test_add_dialect_columns_keeps_rows_and_order(dialect_estimator):
    frame = pd.DataFrame({"id": [7, 3, 5], "text": ["he be trippin lol finna go", None, "hello there"]},
                         index=[10, 11, 12])
    out = add_dialect_columns(frame, dialect_estimator, threshold=0.8)
    assert out["id"].tolist() == [7, 3, 5] and list(out.index) == [10, 11, 12]
    assert out["dialect_group"].iloc[1] == GROUP_UNDETERMINED
    with pytest.raises(InputError, match="--text-col"):
        add_dialect_columns(frame, dialect_estimator, text_col="body")
