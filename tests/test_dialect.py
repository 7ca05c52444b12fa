"""Tests of tonecls.audit.dialect (TwitterAAE dialect proportions, Blodgett et al. 2016)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tonecls.audit.dialect import (
    GROUP_AA,
    GROUP_UNDETERMINED,
    GROUP_WHITE,
    PROPORTION_COLUMNS,
    DialectEstimator,
    GroupSizeTally,
    add_dialect_columns,
    cvb0_proportions,
    groups_from_proportions,
    tokenize_for_dialect,
)
from tonecls.errors import DataNotFoundError, InputError

MODEL_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "twitteraae"
needs_model = pytest.mark.skipif(
    not (MODEL_DIR / "model_count_table.txt").is_file(),
    reason=f"TwitterAAE model not found at {MODEL_DIR} (shared data absent)",
)  # only for the tests of the released model's own figures; the others use fake_twitteraae


def released_infer_cvb0(lik_rows: np.ndarray, alpha: float, numpasses: int) -> np.ndarray:
    """Line-by-line port of infer_cvb0 in slanglab/twitteraae code/predict.py (the reference)."""
    qs = lik_rows / lik_rows.sum(axis=1, keepdims=True)
    lik = qs.copy()
    q_k = qs.sum(0)
    for _ in range(1, numpasses):
        for i in range(len(qs)):
            q_k -= qs[i]
            qs[i] = lik[i] * (q_k + alpha)
            qs[i] /= qs[i].sum()
            q_k += qs[i]
    return q_k / q_k.sum()


# --- CVB0 --------------------------------------------------------------------------------


def test_cvb0_two_topic_update_by_hand():
    # Two tokens, two topics, normalised likelihoods (0.8, 0.2) and (0.5, 0.5), alpha = 1.
    # Initialisation: q1 = (0.8, 0.2), q2 = (0.5, 0.5), totals = (1.3, 0.7).
    # Sweep, token 1: others = (0.5, 0.5); q1 ∝ (0.8 * 1.5, 0.2 * 1.5) = (0.8, 0.2).
    # Token 2: others = (0.8, 0.2); q2 ∝ (0.5 * 1.8, 0.5 * 1.2) = (0.6, 0.4).
    # Proportions after one sweep: (0.8 + 0.6, 0.2 + 0.4) / 2 = (0.7, 0.3).
    lik = np.array([[0.8, 0.2], [0.5, 0.5]])
    np.testing.assert_allclose(cvb0_proportions(lik, [2], alpha=1.0, n_passes=2), [[0.7, 0.3]])
    # n_passes=1 is the initialisation only: mean of the normalised likelihoods.
    np.testing.assert_allclose(cvb0_proportions(lik, [2], alpha=1.0, n_passes=1), [[0.65, 0.35]])
    # Unnormalised likelihoods give the same result (they are normalised per token first).
    np.testing.assert_allclose(cvb0_proportions(lik * [[3.0], [7.0]], [2], n_passes=2), [[0.7, 0.3]])


def test_cvb0_batch_equals_released_per_document_loop():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 30, size=200)
    lik = rng.gamma(0.3, size=(lengths.sum(), 4)) + 1e-9
    batch = cvb0_proportions(lik, lengths, alpha=1.0, n_passes=5)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    for doc, (start, length) in enumerate(zip(starts, lengths)):
        expected = released_infer_cvb0(lik[start:start + length], alpha=1.0, numpasses=5)
        np.testing.assert_allclose(batch[doc], expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(batch.sum(axis=1), 1.0)
    # documents are independent: reordering the batch reorders the result
    order = rng.permutation(len(lengths))
    shuffled_lik = np.concatenate([lik[starts[d]:starts[d] + lengths[d]] for d in order])
    np.testing.assert_allclose(cvb0_proportions(shuffled_lik, lengths[order]), batch[order], rtol=1e-12)


def test_cvb0_rejects_empty_documents():
    with pytest.raises(ValueError):
        cvb0_proportions(np.ones((2, 4)), [2, 0])


# --- tokenisation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("@bob Wow!!! he don’t know... http://t.co/x :) #Lit ?!",
         ["wow", "!!!", "he", "don’t", "know", "...", ":)", "#lit", "?!"]),
        ("no ! !", ["no", "!", "!"]),  # punctuation separated by spaces stays separate
        ("so good!!!!!! .....", ["so", "good", "!!!!!!", "....."]),  # runs kept whole, not shortened
        ("lol😂😂 w/ emily4 40% p*ssy", ["lol😂😂", "w/", "emily4", "40%", "p*ssy"]),  # glued text
        ("(hello) grandpa’ &amp; you", ["(", "hello", ")", "grandpa", "’", "&", "you"]),
        ("a . . . b", ["a", ".", ".", ".", "b"]),
        ("", []),
    ],
)
def test_tokenizer_matches_twokenize_conventions(text, expected):
    assert tokenize_for_dialect(text) == expected


# --- groups ------------------------------------------------------------------------------


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


# --- with the released model -------------------------------------------------------------


@pytest.fixture(scope="module")
def released():
    return DialectEstimator(MODEL_DIR).fit()


@pytest.fixture(scope="module")
def estimator(fake_twitteraae):
    """An estimator of the small fake model (conftest.py): file, CLI and resume behaviour."""
    return DialectEstimator(fake_twitteraae).fit()


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


def test_no_estimate_without_enough_vocabulary(estimator):
    texts = ["qqzxv wkpfj", "", None, 42, "@someone https://example.com/x", "hello qqzxv wkpfj vvbnq zzxqk xxqqz"]
    out = estimator.predict_proportions(texts)
    assert out[PROPORTION_COLUMNS].isna().all(axis=None)
    # the last post has 1 in-vocabulary token of 6 (< 20%, the released thresh2)
    assert out["dialect_n_tokens"].tolist() == [0, 0, 0, 0, 0, 1]
    lenient = DialectEstimator(estimator.model_dir, min_vocab_fraction=0.0).fit()
    assert lenient.predict_proportions(texts[-1:])["dialect_aa"].notna().all()


def test_proportions_sum_to_one_and_are_deterministic(estimator):
    texts = ["hello there", "lmao she stay talkin bout nothin", "What a lovely afternoon in the park."] * 5
    first = estimator.predict_proportions(texts)
    second = DialectEstimator(estimator.model_dir, batch_size=4).fit().predict_proportions(texts)
    np.testing.assert_allclose(first[PROPORTION_COLUMNS].sum(axis=1), 1.0)
    pd.testing.assert_frame_equal(first, second)


def test_add_dialect_columns_keeps_rows_and_order(estimator):
    frame = pd.DataFrame({"id": [7, 3, 5], "text": ["he be trippin lol finna go", None, "hello there"]},
                         index=[10, 11, 12])
    out = add_dialect_columns(frame, estimator, threshold=0.8)
    assert out["id"].tolist() == [7, 3, 5] and list(out.index) == [10, 11, 12]
    assert out["dialect_group"].iloc[1] == GROUP_UNDETERMINED
    with pytest.raises(InputError, match="--text-col"):
        add_dialect_columns(frame, estimator, text_col="body")


def test_cli_dialect_streams_every_row_in_order(tmp_path, capsys, monkeypatch, fake_twitteraae):
    from tonecls.cli import main

    monkeypatch.setenv("TONECLS_DATA_DIR", str(fake_twitteraae.parent))
    source = tmp_path / "posts.csv"
    frame = pd.DataFrame({"id": [f"{i:03d}" for i in range(7)],
                          "text": ["he be trippin lol finna go", "", "hello there", "qqzxv",
                                   "I am going to the store now.", "af af af", "lol"]})
    frame.to_csv(source, index=False)
    out = tmp_path / "posts_dialect.jsonl"
    assert main(["dialect", str(source), "-o", str(out), "--chunksize", "3", "--quiet"]) == 0
    written = pd.read_json(out, lines=True, dtype={"id": str})
    assert written["id"].tolist() == frame["id"].tolist()
    assert written["text"].fillna("").tolist() == frame["text"].tolist()
    assert written["dialect_group"].iloc[5] == GROUP_AA
    assert written["dialect_aa"].isna().tolist() == [False, True, False, True, False, False, False]
    printed = capsys.readouterr().out
    assert "7 rows" in printed and "not about its author" in printed
    assert "warning: dialect group aa_aligned has 1 of 7 posts at threshold 0.8" in printed
    assert main(["dialect", str(source), "-o", str(tmp_path / "bad.csv"), "--text-col", "body"]) == 2
    assert "'body'" in capsys.readouterr().err  # the error names the missing column
    assert not list(tmp_path.glob("bad.csv*"))  # nothing written for a bad column


def test_dialect_file_resumes_after_interruption(tmp_path, estimator, monkeypatch):
    import tonecls.jobs.dialect as dialect
    from tonecls.jobs import dialect_file

    source = tmp_path / "posts.csv"
    texts = ["he be trippin lol finna go", "hello there", "af af af", "", "lol ok", "What a day."]
    pd.DataFrame({"id": [str(i) for i in range(6)], "text": texts}).to_csv(source, index=False)
    complete = tmp_path / "complete.csv"
    complete_summary = dialect_file(source, complete, estimator=estimator, chunksize=2, quiet=True)

    resumed = tmp_path / "resumed.csv"
    calls = []

    def interrupt_on_second_chunk(frame, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # the column check, the first chunk, then the interruption
            raise KeyboardInterrupt
        return add_dialect_columns(frame, *args, **kwargs)

    monkeypatch.setattr(dialect, "add_dialect_columns", interrupt_on_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        dialect_file(source, resumed, estimator=estimator, chunksize=2, quiet=True)
    monkeypatch.undo()
    assert not resumed.exists()
    summary = dialect_file(source, resumed, estimator=estimator, chunksize=2, resume=True, quiet=True)
    assert summary.resumed_from_row == 2 and summary.rows == 6
    assert summary.tallies == complete_summary.tallies
    assert resumed.read_text() == complete.read_text()


def test_tokenizer_never_fails_and_tokens_come_from_the_text():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    alphabet = st.sampled_from([*"ab1 .!?,:;'\"’()*&#@/-=~😂❤\n\t", "http://t.co/x ", "&amp;", ":)", "don’t"])

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(st.lists(alphabet, max_size=40).map("".join))
    def check(text):
        tokens = tokenize_for_dialect(text)
        squeezed = "".join(text.lower().split()).replace("&amp;", "&")
        for token in tokens:
            assert token and not any(ch.isspace() for ch in token)
            assert token in squeezed

    check()
