"""ToneModel (tonecls.model.tone_model): prediction columns and statuses, one post or many,
masking, long posts read in windows, other languages, pickling, the default bundle."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support import OTHER_LANGUAGE_POSTS, WORDS, synthetic_posts

from tonecls.model import HeadSpec, ToneModel, load_model
from tonecls.model.bundle import DEFAULT_BUNDLE
from tonecls.model.vocab import Vocabulary


@pytest.mark.parametrize("n_classes", [3, 64, 65, 130])
def test_multilabel_label_strings_for_any_number_of_classes(n_classes):
    from tonecls.model.tone_model import _joined_labels
    from tonecls.schema import join_labels

    classes = [f"c{i}" for i in range(n_classes)]
    chosen = np.random.default_rng(n_classes).random((300, n_classes)) < 0.1
    chosen[:3] = False  # rows without any label
    expected = [join_labels(np.asarray(classes, dtype=object)[row]) for row in chosen]
    assert _joined_labels(chosen, classes).tolist() == expected
    assert _joined_labels(chosen[:0], classes).tolist() == []


def test_padding_does_not_change_predictions(tiny_model):
    """Masking: a post scores the same alone and padded next to a much longer post."""
    short, long = ["love", "it"], ["the"] * 30 + ["hate"]
    together = tiny_model.logits_from_tokens([short, long], batch_size=2)
    alone = tiny_model.logits_from_tokens([short], batch_size=1)
    for head in together:
        np.testing.assert_allclose(together[head][0], alone[head][0], rtol=1e-5, atol=1e-5)


@pytest.mark.filterwarnings("ignore:The structure of `inputs`")
def test_model_pickles_for_worker_processes(tiny_model):
    import pickle

    texts = ["love this", "awful monday", None]
    copy = pickle.loads(pickle.dumps(tiny_model))
    for head, values in tiny_model.predict_proba(texts).items():
        np.testing.assert_allclose(copy.predict_proba(texts)[head], values, rtol=1e-5, equal_nan=True)


# --- prediction output -----------------------------------------------------------------------


def test_predict_columns_order_and_statuses_of_bad_rows(tiny_model):
    texts = pd.Series(["love it", None, "", b"\xff\xfe", "hate this", 3.5, "   "], index=list("abcdefg"))
    out = tiny_model.predict(texts)
    assert list(out.columns) == tiny_model.output_columns()
    assert list(out.columns[:5]) == ["tonecls_status", "tonecls_language", "tonecls_n_tokens", "tone_label",
                                     "tone_confidence"]
    assert "flags_labels" in out.columns and "flags_p_neg" in out.columns
    assert out.index.equals(texts.index) and len(out) == len(texts)  # a Series keeps its index
    assert out["tonecls_status"].tolist() == ["ok", "missing", "empty", "invalid_encoding", "ok",
                                              "not_text", "empty"]
    bad = out["tonecls_status"] != "ok"
    assert out.loc[bad, ["tone_label", "flags_labels"]].isna().all().all()
    assert out.loc[bad, [c for c in out.columns if "_p_" in c or c.endswith("_confidence")]].isna().all().all()
    good = out.loc[~bad]
    assert good["tone_label"].isin(list(WORDS)).all()
    probs = good[[f"tone_p_{c}" for c in WORDS]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(good["tone_confidence"], probs.max(axis=1))
    proba = tiny_model.predict_proba(texts)
    assert proba["tone"].shape == (7, 3) and proba["flags"].shape == (7, 2)
    assert np.isnan(proba["tone"][bad.to_numpy()]).all()


def test_token_count_counts_every_token_even_past_the_model_length(tiny_model):
    long_post = " ".join(["love"] * (3 * tiny_model.max_length))
    out = tiny_model.predict(["love it", "", None, 7, long_post, "@bob love <3 https://x.org"])
    assert out["tonecls_n_tokens"].dtype == "Int32"
    assert out["tonecls_n_tokens"].tolist()[:2] == [2, 0]
    assert out["tonecls_n_tokens"].isna().tolist() == [False, False, True, True, False, False]
    assert out["tonecls_n_tokens"].iloc[4] == 3 * tiny_model.max_length
    assert out["tonecls_n_tokens"].iloc[5] == len(tiny_model.tokenize_with_status(["@bob love <3 https://x.org"])[0][0])


def test_polarity_is_p_positive_minus_p_negative():
    # a head with negative and positive classes gets H_polarity; others do not
    model = ToneModel(network=None, vocabulary=Vocabulary(["love"]), heads=[
        HeadSpec("sentiment", ["negative", "neutral", "positive"]),
        HeadSpec("stance", ["against", "favor"]),
        HeadSpec("tags", ["negative", "positive"], multilabel=True)])
    assert "sentiment_polarity" in model.output_columns()
    assert not any(c.startswith(("stance_polarity", "tags_polarity")) for c in model.output_columns())
    assert model.output_columns().index("sentiment_polarity") == model.output_columns().index("sentiment_confidence") + 1


def test_sentiment_polarity_of_a_trained_head(tiny_model):
    out = tiny_model.predict(["love great wonderful", "awful hate terrible", "the table", None])
    score = out["tone_polarity"].to_numpy(dtype=float)
    expected = (out["tone_p_positive"] - out["tone_p_negative"]).to_numpy(dtype=float)
    np.testing.assert_allclose(score[:3], expected[:3])
    assert ((score[:3] >= -1) & (score[:3] <= 1)).all() and np.isnan(score[3])
    assert score[0] > 0.5 and score[1] < -0.5


def test_one_post_as_a_string_gives_one_result(tiny_model):
    one = tiny_model.predict("love it so much")
    assert isinstance(one, dict) and list(one) == tiny_model.output_columns()
    row = tiny_model.predict(["love it so much"]).iloc[0]
    assert one["tone_label"] == row["tone_label"] and one["tonecls_status"] == "ok"
    assert one["tone_p_positive"] == pytest.approx(row["tone_p_positive"])
    proba = tiny_model.predict_proba("love it so much")
    assert set(proba) == {"tone", "flags"} and proba["tone"].shape == (3,)
    np.testing.assert_allclose(proba["tone"], tiny_model.predict_proba(["love it so much"])["tone"][0])
    assert tiny_model.predict("   ")["tonecls_status"] == "empty"
    with pytest.raises(TypeError, match="single string"):
        tiny_model.tokenize_with_status("love it")


def test_predict_handles_empty_input_and_many_lengths(tiny_model):
    empty = tiny_model.predict([])
    assert list(empty.columns) == tiny_model.output_columns() and len(empty) == 0
    posts, _ = synthetic_posts(50, seed=3)
    posts = [" ".join([p] * k) for k, p in enumerate(posts, start=1)]  # lengths up to the max_length cut
    small = tiny_model.predict_proba(posts, batch_size=7)
    large = tiny_model.predict_proba(posts, batch_size=1000)
    np.testing.assert_allclose(small["tone"], large["tone"], rtol=1e-5, atol=1e-6)


# --- other languages -------------------------------------------------------------------------


def test_other_language_posts_get_their_status_and_no_predictions(english_model):
    texts = ["love it great wonderful", *OTHER_LANGUAGE_POSTS, "lol", None, "ich bin so tired of this weather"]
    out = english_model.predict(texts)
    n = len(OTHER_LANGUAGE_POSTS)
    assert out["tonecls_status"].tolist() == ["ok", *["other_language"] * n, "ok", "missing", "ok"]
    assert out["tonecls_language"].tolist()[1:n + 1] == list(OTHER_LANGUAGE_POSTS.values())
    assert out["tonecls_language"].iloc[n + 1] == "und" and pd.isna(out["tonecls_language"].iloc[n + 2])
    flagged = out["tonecls_status"] == "other_language"
    assert out.loc[flagged, ["tone_label", "flags_labels"]].isna().all().all()
    assert out.loc[flagged, "tone_p_positive"].isna().all()
    assert out.loc[flagged, "tonecls_n_tokens"].gt(0).all()  # they were tokenised
    assert np.isnan(english_model.predict_proba(texts)["tone"][1:n + 1]).all()

    everything = english_model.predict(texts, all_languages=True)
    assert everything["tonecls_status"].tolist() == ["ok"] * (n + 2) + ["missing", "ok"]
    assert everything["tonecls_language"].tolist() == out["tonecls_language"].tolist()
    assert everything.loc[flagged, "tone_label"].notna().all()
    assert not np.isnan(english_model.predict_proba(texts, all_languages=True)["tone"][1:n + 1]).any()
    one = english_model.predict(list(OTHER_LANGUAGE_POSTS)[0])
    assert one["tonecls_status"] == "other_language" and one["tonecls_language"] == "fr"


def test_model_languages_come_from_its_training_data(tiny_model):
    assert tiny_model.languages_ is None  # trained on in-memory data: unknown, so nothing is flagged
    assert tiny_model.predict(list(OTHER_LANGUAGE_POSTS))["tonecls_status"].eq("ok").all()
    meta = json.loads((Path(DEFAULT_BUNDLE) / "bundle.json").read_text())
    default = ToneModel(network=None, vocabulary=Vocabulary(), heads=[], metadata=meta)
    assert default.languages_ == ["en"]  # trained on TweetEval and GoEmotions only
    default.metadata_["languages"] = ["en", "es"]  # a bundle can say so itself
    assert default.languages_ == ["en", "es"]


# --- the bundled default model ---------------------------------------------------------------


def test_load_model_without_path_loads_the_default_bundle():
    if not (DEFAULT_BUNDLE / "bundle.json").is_file():
        pytest.skip("the default model bundle has not been trained yet (tonecls/resources/default_model)")
    import tonecls

    model = tonecls.load_model()
    assert [h.name for h in model.heads_] == ["sentiment", "emotion", "ekman"]
    assert model.head("ekman").multilabel and not model.head("sentiment").multilabel
    out = model.predict(["I am so happy today, best day ever!", "This is awful, I hate it", None])
    assert out["tonecls_status"].tolist() == ["ok", "ok", "missing"]
    assert out.loc[0, "sentiment_label"] == "positive" and out.loc[1, "sentiment_label"] == "negative"
    size = sum(p.stat().st_size for p in DEFAULT_BUNDLE.iterdir())
    assert size < 25e6
    test_metrics = model.metadata_["metrics"].get("test", {})
    assert set(test_metrics) == {"sentiment", "emotion", "ekman"}
    assert all(0 <= m["value"] <= 1 and not math.isnan(m["value"]) for m in test_metrics.values())


# --- long posts ------------------------------------------------------------------------------


def test_windows_cover_every_token_and_short_posts_are_one_window():
    from tonecls.model.tone_model import split_windows

    posts = [list("abc"), [str(i) for i in range(10)], [], [str(i) for i in range(9)]]
    windows, owners = split_windows(posts, 4)
    assert owners.tolist() == [0, 1, 1, 1, 1, 2, 3, 3, 3, 3]
    assert windows[0] == posts[0] and windows[5] == []
    long = [w for w, o in zip(windows, owners) if o == 1]
    assert [w[0] for w in long] == ["0", "2", "4", "6"] and long[-1][-1] == "9"
    assert all(len(w) == 4 for w in long)
    assert {t for w in long for t in w} == set(posts[1])


def test_long_post_logits_are_the_mean_over_its_windows():
    from tonecls.model.tone_model import split_windows

    model = load_model()
    model.long_posts = "windows"
    tokens = [["the", "report", "is", "on", "the", "table"] * 20 + ["i", "hate", "this", "so", "much"]]
    windows, _ = split_windows(tokens, model.max_length)
    assert len(windows) > 2
    per_window = model.logits_from_tokens(windows)
    got = model.logits_from_tokens(tokens)
    for head, values in per_window.items():
        np.testing.assert_allclose(got[head][0], values.mean(axis=0), rtol=1e-6, atol=1e-6)


def test_short_posts_score_as_with_truncation_beside_long_posts():
    """Posts of <= max_length tokens score as they did with truncation (same bits), whatever the mode."""
    model = load_model()
    short = ["love this so much", "worst day ever", "meh, the bus was late", "🔥🔥🔥 #win"]
    long = [" ".join(["the meeting is on monday at the office, bring the report"] * 12) + " I am furious"]
    alone = model.predict_proba(short)
    mixed = model.predict_proba(short + long)
    truncating = load_model()
    truncating.long_posts = "truncate"
    before = truncating.predict_proba(short + long)
    windows = load_model()
    windows.long_posts = "windows"
    by_windows = windows.predict_proba(short + long)
    for head in alone:
        np.testing.assert_array_equal(mixed[head][:4], before[head][:4])
        np.testing.assert_array_equal(by_windows[head][:4], before[head][:4])
        np.testing.assert_allclose(mixed[head][:4], alone[head], rtol=1e-6)  # batch size: BLAS rounding
    # the long post's last words are read: its scores differ from the truncated ones
    assert not np.allclose(mixed["sentiment"][4], before["sentiment"][4])


def test_long_posts_mode_is_checked():
    model = load_model()
    with pytest.raises(ValueError, match="long_posts"):
        type(model)(model.network_, model.vocabulary_, model.heads_, long_posts="middle")


def test_polar_sentence_after_a_long_neutral_preamble_is_read():
    """A ~110-token neutral preamble does not hide the negative ending (as truncation did)."""
    model = load_model()
    sentence = "The quarterly meeting is scheduled for Tuesday at the main office, and the agenda covers the budget."
    preamble = " ".join([sentence] * 6)
    post = preamble + " I hate this company, worst experience of my life, furious"
    assert len(model.tokenize_with_status([preamble])[0][0]) > 1.5 * model.max_length
    assert model.predict(post)["sentiment_label"] == "negative"
    model.long_posts = "truncate"
    assert model.predict(post)["sentiment_label"] != "negative"  # what truncation did


def test_identity_tells_a_recalibrated_or_edited_copy_from_its_bundle():
    """A resumed job compares identities: a copy of the default model with other calibration,
    biases or long-post mode scores differently, so it must not pass for the bundle."""
    import copy

    model = load_model()
    assert model.identity() == load_model().identity()
    head = model.heads_[0].name
    edits = {"temperatures_": {**model.temperatures_, head: model.temperatures_[head] * 2},
             "biases_": {**model.biases_, head: np.full(len(model.heads_[0].classes), 0.5)},
             "long_posts": "truncate"}
    for attribute, value in edits.items():
        edited = copy.copy(model)
        setattr(edited, attribute, value)
        assert edited.identity()["bundle_digest"] == model.identity()["bundle_digest"]
        assert edited.identity() != model.identity(), attribute
