"""Scoring a frame in memory (tonecls.score.core): input columns kept, the contract's columns
added, unreadable rows flagged without scoring, bad frames refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from support import StandInModel

from tonecls.errors import InputError
from tonecls.schema import LANGUAGE_COLUMN, N_TOKENS_COLUMN, STATUS_COLUMN
from tonecls.score import score_frame


POSTS = pd.DataFrame({
    "id": ["007", "2", "3", "4", "5", "6"],
    "text": ["I love this :)", "", None, "worst day ever @bob", 42, "   "],
    "group": ["a", "b", "a", "b", "a", "b"],
})


def test_score_frame_keeps_input_columns_and_adds_contract_columns():
    model = StandInModel()
    scored = score_frame(POSTS, model, text_col="text")
    assert list(scored.columns) == list(POSTS.columns) + model.output_columns()
    assert model.output_columns()[:7] == [STATUS_COLUMN, LANGUAGE_COLUMN, N_TOKENS_COLUMN, "sentiment_label",
                                          "sentiment_confidence", "sentiment_polarity", "sentiment_p_negative"]
    pd.testing.assert_frame_equal(scored[POSTS.columns], POSTS)
    assert scored[STATUS_COLUMN].tolist() == ["ok", "empty", "missing", "ok", "not_text", "empty"]
    ok = scored[STATUS_COLUMN] == "ok"
    assert scored.loc[ok, "sentiment_label"].notna().all()
    assert scored.loc[~ok, ["sentiment_label", "topics_labels"]].isna().all().all()
    assert scored.loc[~ok, "sentiment_p_positive"].isna().all()
    np.testing.assert_allclose(
        scored.loc[ok, ["sentiment_p_negative", "sentiment_p_neutral", "sentiment_p_positive"]]
        .sum(axis=1),
        1.0, rtol=1e-6,
    )


def test_score_frame_keeps_a_non_default_index():
    df = POSTS.set_index("id")
    scored = score_frame(df, StandInModel())
    assert scored.index.equals(df.index)


def test_score_frame_flags_unreadable_rows_without_scoring_them():
    read_status = ["malformed_line", "ok", "ok", "invalid_encoding", "ok", "ok"]
    scored = score_frame(POSTS, StandInModel(), read_status=read_status)
    assert scored[STATUS_COLUMN].tolist() == [
        "malformed_line", "empty", "missing", "invalid_encoding", "not_text", "empty"]
    assert scored["sentiment_label"].isna().all()


def test_score_frame_same_dtypes_when_nothing_can_be_scored():
    model = StandInModel()
    all_bad = score_frame(POSTS.iloc[[1, 2]], model)
    some_ok = score_frame(POSTS, model)
    assert all_bad.dtypes.equals(some_ok.dtypes)


def test_score_frame_rejects_missing_text_column_and_already_scored_input():
    model = StandInModel()
    with pytest.raises(InputError, match="text column 'body' not found"):
        score_frame(POSTS, model, text_col="body")
    scored = score_frame(POSTS, model)
    with pytest.raises(InputError, match="already scored"):
        score_frame(scored, model)
    with pytest.raises(InputError, match="DataFrame"):
        score_frame(POSTS["text"], model)


def test_score_frame_with_the_default_model_in_a_notebook():
    from tonecls.model.bundle import DEFAULT_BUNDLE

    if not (DEFAULT_BUNDLE / "bundle.json").exists():
        pytest.skip("the default model bundle is not in tonecls/resources/default_model")
    posts = pd.DataFrame({"text": ["I love this so much!", "this is awful :(", None, "   "]})
    scored = score_frame(posts)
    assert scored[STATUS_COLUMN].tolist() == ["ok", "ok", "missing", "empty"]
    for head in ("sentiment", "emotion", "ekman"):
        assert any(c.startswith(f"{head}_p_") for c in scored.columns)
    assert scored.loc[0, "sentiment_label"] == "positive"
    assert scored.loc[1, "sentiment_label"] == "negative"


def test_score_frame_refuses_a_repeated_text_column():
    from support import StandInModel

    from tonecls.score import score_frame

    frame = pd.DataFrame([["a", "b"]], columns=["text", "text"])
    with pytest.raises(InputError, match="2 columns named 'text'"):
        score_frame(frame, StandInModel())
