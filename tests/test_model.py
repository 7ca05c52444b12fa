"""Tests of the tone model: training, masking, bundles, prediction output, calibration, metrics.

Models here are tiny (8-d embeddings, 4 LSTM units) and train for a few seconds on synthetic
posts whose tone is carried by a few words, so the tests check behaviour, not accuracy.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone  # noqa: E402
from sklearn.metrics import f1_score, recall_score  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from tonecls.cli import main  # noqa: E402
from tonecls.errors import InputError  # noqa: E402
from tonecls.model import (  # noqa: E402
    DataSource,
    HeadConfig,
    HeadSpec,
    LabelledSplit,
    ToneClassifier,
    ToneModel,
    TrainConfig,
    evaluate,
    load_model,
    train,
)
from tonecls.model.bundle import DEFAULT_BUNDLE  # noqa: E402
from tonecls.model.calibration import fit_temperature, negative_log_likelihood, tune_thresholds  # noqa: E402
from tonecls.model.evaluate import comparison_table, macro_f1, macro_recall  # noqa: E402
from tonecls.model.vocab import Vocabulary, looks_like_personal_data, offsets_of, pad_batch  # noqa: E402


from support import DATA_DIR, TINY, WORDS, multi_hot_of, synthetic_posts, tiny_config, tiny_data  # noqa: E402, I001


# --- vocabulary and batching --------------------------------------------------------------------


def test_vocabulary_orders_by_frequency_and_maps_unknown_tokens():
    vocab = Vocabulary.fit([["b", "a", "b"], ["c", "b", "a"], ["rare"]], max_size=10, min_count=2)
    assert vocab.tokens_ == ["<pad>", "<unk>", "b", "a"]
    ids, lengths = vocab.encode([["a", "zzz"], [], ["b", "b", "b"]], max_length=2)
    assert lengths.tolist() == [2, 0, 2]
    assert ids.tolist() == [3, 1, 2, 2]
    batch = pad_batch(ids, offsets_of(lengths), lengths, np.array([2, 1, 0]))
    assert batch.tolist() == [[2, 2], [0, 0], [3, 1]]


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


def test_bounded_memo_shared_by_threads_never_raises():
    import sys
    import threading

    from tonecls._memo import BoundedMemo

    memo, errors = BoundedMemo(50), []

    def fill(thread: int) -> None:
        try:
            for i in range(20_000):
                memo.remember((thread, i), i)
        except Exception as error:  # noqa: BLE001 - the test reports any
            errors.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=fill, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors and len(memo) <= 50 + 4


def test_vocabulary_keeps_rare_tokens_with_pretrained_vectors(tmp_path):
    vocab = Vocabulary.fit([["a", "a", "rare", "other"]], min_count=2, keep={"rare"})
    assert "rare" in vocab.index_ and "other" not in vocab.index_
    vocab.save(tmp_path / "v.json")
    assert Vocabulary.load(tmp_path / "v.json").tokens_ == vocab.tokens_



@pytest.mark.parametrize("token, personal", [
    ("jo_doe", True), ("fd_photo_and_video", True), ("arty_v's", True), ("jo@mail", True),
    ("5twenty1photography", True), ("www.jodoe", True),
    ("T_T", False), ("^_^", False), ("-__-", False), ("o_O", False), ("x_x", False), ("_", False),
    ("@", False), (":@", False), ("ps4", False), ("23andme", False), ("1million", False), ("don't", False),
])
def test_personal_data_like_tokens(token, personal):
    assert looks_like_personal_data(token) is personal


def test_vocabulary_leaves_out_personal_data_like_tokens():
    vocab = Vocabulary.fit([["jo_doe", "jo_doe", "T_T", "T_T", "ok", "ok"]], min_count=2)
    assert vocab.tokens_[2:] == ["T_T", "ok"]


def test_bundled_vocabulary_holds_no_personal_data():
    tokens = json.loads((DEFAULT_BUNDLE / "vocab.json").read_text(encoding="utf-8"))
    assert [token for token in tokens if looks_like_personal_data(token)] == []


@pytest.mark.slow
def test_bundled_vocabulary_holds_no_name_seen_only_as_a_handle():
    # names that the data uses only as handles (u/NAME, NAME#1234, ": NAME @ place", ...) are
    # scrubbed by the tokeniser and must not be in the shipped vocabulary
    if not (DATA_DIR / "tweeteval").is_dir():
        pytest.skip(f"TweetEval not found in {DATA_DIR}")
    from collections import Counter

    from tokeniser_corpus import corpus_files, handle_names, read_texts

    from tonecls.preprocess import tokenize

    texts = [text for _, path in corpus_files(DATA_DIR) for text in read_texts(path)]
    counts = Counter(token for tokens in tokenize(texts) for token in tokens)
    handles_only = {name for name in handle_names(texts) if counts[name] == 0}
    assert len(handles_only) > 300  # the rules find the handles in the data
    tokens = json.loads((DEFAULT_BUNDLE / "vocab.json").read_text(encoding="utf-8"))
    assert sorted(handles_only & set(tokens)) == []


def test_vocabulary_extension_adds_frequent_pretrained_words_unseen_in_training(tmp_path):
    from tonecls.model.embeddings import embedding_matrix, frequent_pretrained_words

    glove = tmp_path / "vectors.txt"
    glove.write_text("the 1 0\ncomey 0 1\nbannon 1 1\naleppo 2 2\nrare 3 3\n", encoding="utf-8")
    vocab = Vocabulary.fit([["the", "The", "x"]], min_count=1)
    extra = frequent_pretrained_words(str(glove), 2, exclude=vocab.tokens_)
    assert extra == ["comey", "bannon"]  # file (frequency) order; 'the' is already known as 'The'
    extended = vocab.extended(extra)
    assert extended.tokens_[: len(vocab)] == vocab.tokens_  # existing ids are unchanged
    matrix, _ = embedding_matrix(extended.tokens_, str(glove), 2)
    assert matrix[extended.index_["comey"]].tolist() == [0.0, 1.0]
    with pytest.raises(InputError, match="needs pretrained_embeddings"):
        tiny_config(pretrained_extra_words=10)


@pytest.mark.slow
def test_training_adds_the_extra_pretrained_words(tmp_path):
    glove = tmp_path / "vectors.txt"
    glove.write_text("the 1 0\ncomey 0 1\nbannon 1 1\naleppo 2 2\nrare 3 3\n", encoding="utf-8")
    model = train(tiny_config(embedding_dim=2, epochs=1, pretrained_embeddings=str(glove),
                              pretrained_extra_words=3), data=tiny_data(60), quiet=True)
    assert {"comey", "bannon", "aleppo"} <= set(model.vocabulary_.tokens_)

# --- configuration -------------------------------------------------------------------------------


def test_train_config_round_trips_through_json_and_rejects_typos(tmp_path):
    config = tiny_config()
    path = tmp_path / "config.json"
    path.write_text(config.to_json())
    again = TrainConfig.from_file(path)
    assert again.to_dict() == TrainConfig.from_dict(json.loads(config.to_json())).to_dict()
    with pytest.raises(InputError, match="unknown training config option"):
        TrainConfig.from_dict({**config.to_dict(), "lstm_unit": 3})
    with pytest.raises(InputError, match="needs 'task'"):
        DataSource(kind="tweeteval")
    with pytest.raises(InputError, match="column prefix"):
        HeadSpec("bad name", ["a", "b"])


CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("**/*.json")), ids=lambda p: p.stem)
def test_shipped_configs_are_valid(path):
    """The default model's config and the configs of the levers recorded in BENCHMARKS.md."""
    config = TrainConfig.from_file(path)
    kept = [h.name for h in config.heads if not h.auxiliary]
    assert kept == ["sentiment", "emotion", "ekman"]


# --- network and masked multi-task loss ------------------------------------------------------------


def test_padding_does_not_change_predictions(tiny_model):
    """Masking: a post scores the same alone and padded next to a much longer post."""
    short, long = ["love", "it"], ["the"] * 30 + ["hate"]
    together = tiny_model.logits_from_tokens([short, long], batch_size=2)
    alone = tiny_model.logits_from_tokens([short], batch_size=1)
    for head in together:
        np.testing.assert_allclose(together[head][0], alone[head][0], rtol=1e-5, atol=1e-5)


def _uneven_data(seed: int) -> dict:
    """Mostly 3-token posts and a few long ones: the first batches Keras peeks at are all 3
    tokens wide, later ones are not, and the last batch is smaller."""
    rng = np.random.default_rng(seed)
    posts, labels = synthetic_posts(70, seed=seed)
    short = [" ".join(p.split()[:3]) for p in posts]
    for i in rng.choice(len(short), 5, replace=False):
        short[i] = posts[i] + " " + " ".join(["the"] * int(rng.integers(5, 30)))
    split = LabelledSplit(short, labels)
    return {"tone": {"train": split, "val": split}}


@pytest.mark.slow
@pytest.mark.parametrize("seed, batch_size", [(0, 1), (3, 16), (5, 33)])
def test_training_never_fails_on_batch_widths_or_sizes(seed, batch_size):
    # Keras fixes the input shape from the first batches of a PyDataset; training feeds a
    # tf.data pipeline whose batch and time dimensions are declared variable
    config = tiny_config(batch_size=batch_size, epochs=2, patience=5, seed=seed)
    config.heads = config.heads[:1]
    model = train(config, data=_uneven_data(seed), quiet=True)
    assert np.isfinite(model.metadata_["metrics"]["validation"]["tone"]["value"])
    assert [e["epoch"] for e in model.metadata_["training"][0]["epochs"]] == [1, 2]


@pytest.mark.slow
def test_head_without_labels_in_batch_contributes_no_loss_or_update():
    from tonecls.model.network import build_network, compile_network  # Keras: imported by the tests that need it

    specs = [HeadSpec("a", ["x", "y", "z"]), HeadSpec("b", ["p", "q"], multilabel=True)]
    config = tiny_config()
    network = build_network(specs, 20, config)
    compile_network(network, specs, config)
    x = np.random.default_rng(0).integers(1, 20, (8, 5)).astype("int32")
    y = {"a": np.arange(8) % 3, "b": np.ones((8, 2), "float32")}
    only_a = {"a": np.ones(8, "float32"), "b": np.zeros(8, "float32")}
    b_before = [w.copy() for w in network.get_layer("b").get_weights()]
    a_before = [w.copy() for w in network.get_layer("a").get_weights()]
    logs = network.train_on_batch(x, y, sample_weight=only_a, return_dict=True)
    assert logs["b_loss"] == 0.0
    for before, after in zip(b_before, network.get_layer("b").get_weights()):
        np.testing.assert_array_equal(before, after)
    assert any(not np.array_equal(before, after)
               for before, after in zip(a_before, network.get_layer("a").get_weights()))


# --- training, saving, loading ---------------------------------------------------------------------


def test_tiny_model_learns_and_records_validation_metrics(tiny_model):
    assert [h.name for h in tiny_model.heads_] == ["tone", "flags"]
    metrics = tiny_model.metadata_["metrics"]["validation"]
    assert set(metrics) == {"tone", "flags"}
    assert metrics["tone"]["metric"] == "macro_f1"
    assert metrics["tone"]["value"] > 0.5  # chance is ~0.33 on three balanced classes
    assert [run["best_epoch"] >= 1 for run in tiny_model.metadata_["training"]] == [True, True]
    assert tiny_model.network_.name == "tonecls_ensemble"


def test_save_load_round_trip_predicts_the_same(tiny_model, tmp_path):
    texts = ["I love this great day", "awful terrible monday", "", None]
    expected = tiny_model.predict_proba(texts)
    path = tiny_model.save(tmp_path / "bundle")
    assert {p.name for p in path.iterdir()} == {"model.keras", "inference.json", "vocab.json", "bundle.json",
                                             "MODEL_CARD.md", "SHA256SUMS"}
    assert not (tmp_path / "bundle.partial").exists()
    loaded = load_model(path)
    assert loaded.heads_ == tiny_model.heads_
    got = loaded.predict_proba(texts)
    for head in expected:
        np.testing.assert_allclose(got[head], expected[head], rtol=1e-5, equal_nan=True)
    pd.testing.assert_frame_equal(loaded.predict(texts), tiny_model.predict(texts))
    # saving again replaces the bundle in place
    tiny_model.save(path)
    assert load_model(path).vocabulary_.tokens_ == tiny_model.vocabulary_.tokens_


@pytest.mark.filterwarnings("ignore:The structure of `inputs`")
def test_model_pickles_for_worker_processes(tiny_model):
    import pickle

    texts = ["love this", "awful monday", None]
    copy = pickle.loads(pickle.dumps(tiny_model))
    for head, values in tiny_model.predict_proba(texts).items():
        np.testing.assert_allclose(copy.predict_proba(texts)[head], values, rtol=1e-5, equal_nan=True)


@pytest.mark.filterwarnings("ignore:The structure of `inputs`")
def test_network_file_loads_in_keras_safe_mode(tiny_model, tmp_path):
    import keras

    path = tiny_model.save(tmp_path / "bundle")
    network = keras.saving.load_model(path / "model.keras", safe_mode=True, compile=False)
    x = np.array([[2, 3, 4, 0]], dtype="int32")
    np.testing.assert_allclose(network(x)["tone"], tiny_model.network_(x)["tone"], rtol=1e-5)


def test_save_refuses_to_overwrite_a_folder_that_is_not_a_bundle(tiny_model, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("x")
    with pytest.raises(InputError, match="not a tonecls model bundle"):
        tiny_model.save(tmp_path / "notes")
    assert (tmp_path / "notes" / "keep.txt").exists()


def test_temperatures_and_thresholds_round_trip(tiny_model, tmp_path):
    model = load_model(tiny_model.save(tmp_path / "first"))  # a copy we may change
    model.temperatures_["tone"] = 1.7
    model.thresholds_["flags"] = np.array([0.31, 0.62])
    loaded = load_model(model.save(tmp_path / "second"))
    assert loaded.temperatures_["tone"] == pytest.approx(1.7)
    np.testing.assert_allclose(loaded.thresholds_["flags"], [0.31, 0.62])
    logits = loaded.logits_from_tokens([["love"]])["tone"]
    np.testing.assert_allclose(loaded.predict_proba(["love"])["tone"],
                               np.exp(logits / 1.7) / np.exp(logits / 1.7).sum(), rtol=1e-5)
    flags = loaded.predict_proba(["love", "hate"])["flags"]
    expected = [";".join(c for c, p, t in zip(["pos", "neg"], row, [0.31, 0.62]) if p >= t) for row in flags]
    assert loaded.predict(["love", "hate"])["flags_labels"].tolist() == expected


def test_model_card_names_heads_metrics_and_limits(tiny_model, tmp_path):
    card = (tiny_model.save(tmp_path / "bundle") / "MODEL_CARD.md").read_text()
    for text in ("`tone`", "`flags`", "Intended use", "Not for decisions about individuals",
                 "Ethical considerations", "Known limitations", "macro_f1"):
        assert text in card


# --- prediction output -----------------------------------------------------------------------------


def test_predict_columns_order_and_statuses_of_bad_rows(tiny_model):
    texts = pd.Series(["love it", None, "", b"\xff\xfe", "hate this", 3.5, "   "], index=list("abcdefg"))
    out = tiny_model.predict(texts)
    assert list(out.columns) == tiny_model.output_columns()
    assert list(out.columns[:5]) == ["tonecls_status", "tonecls_language", "tonecls_n_tokens", "tone_label",
                                     "tone_confidence"]
    assert "flags_labels" in out.columns and "flags_p_neg" in out.columns
    assert isinstance(out.index, pd.RangeIndex) and len(out) == len(texts)
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


# --- language identification: other_language status, tonecls_language, all_languages ----------


OTHER_LANGUAGE_POSTS = {
    "c'est vraiment nul, j'ai attendu deux heures pour rien": "fr",
    "die Bahn hat schon wieder 40 Minuten Verspätung, ich könnte ausrasten": "de",
    "今天又堵车了，迟到了半个小时": "zh",
}


@pytest.fixture
def english_model(tiny_model):
    """The tiny model, declared English (a memory-trained model's languages are unknown)."""
    tiny_model.metadata_["languages"] = ["en"]
    yield tiny_model
    tiny_model.metadata_.pop("languages", None)


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


def test_score_frame_and_score_file_flag_other_languages_unless_asked(english_model, tmp_path):
    from tonecls.jobs import score_file
    from tonecls.score import score_frame

    posts = pd.DataFrame({"id": ["a", "b", "c"], "text": ["love it so much", list(OTHER_LANGUAGE_POSTS)[1], "hate this"]})
    scored = score_frame(posts, english_model)
    assert scored["tonecls_status"].tolist() == ["ok", "other_language", "ok"]
    assert scored["tonecls_language"].tolist()[1] == "de"
    assert score_frame(posts, english_model, all_languages=True)["tonecls_status"].eq("ok").all()
    posts.to_csv(tmp_path / "posts.csv", index=False)
    summary = score_file(tmp_path / "posts.csv", tmp_path / "out.csv", model=english_model)
    assert summary.flagged == {"other_language": 1}
    written = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert written["tonecls_status"].tolist() == ["ok", "other_language", "ok"]
    assert written["tonecls_language"].tolist()[1] == "de"
    everything = score_file(tmp_path / "posts.csv", tmp_path / "all.csv", model=english_model, all_languages=True)
    assert everything.flagged == {}


# --- custom heads from a labelled export ----------------------------------------------------------


@pytest.mark.slow
def test_custom_heads_from_a_labelled_export(tmp_path):
    posts, labels = synthetic_posts(200, seed=4)
    names = np.array(list(WORDS))[labels]
    flags = multi_hot_of(posts).astype(int)
    frame = pd.DataFrame({"post": posts, "stance": names, "pos": flags[:, 0], "neg": flags[:, 1]})
    frame.to_csv(tmp_path / "labelled.csv", index=False)
    test_posts, test_labels = synthetic_posts(40, seed=5)
    pd.DataFrame({"post": test_posts, "stance": np.array(list(WORDS))[test_labels],
                  "pos": 0, "neg": 0}).to_csv(tmp_path / "test.csv", index=False)
    config = {
        "heads": [
            {"name": "stance", "source": {"kind": "export", "path": "labelled.csv", "text_column": "post",
                                          "label_column": "stance", "test_path": "test.csv"}},
            {"name": "mentions", "source": {"kind": "export", "path": "labelled.csv", "text_column": "post",
                                            "label_columns": ["pos", "neg"]}},
        ],
        **TINY, "epochs": 2,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    # trained through the `tonecls train` command, which writes the bundle (test split scored)
    assert main(["train", "--config", str(tmp_path / "config.json"), "-o", str(tmp_path / "bundle"), "-q"]) == 0
    model = load_model(tmp_path / "bundle")
    assert "tonecls train --config" in model.metadata_["command"]
    assert set(model.metadata_["metrics"]["test"]) == {"stance"}
    assert model.heads_ == [HeadSpec("stance", sorted(WORDS), False), HeadSpec("mentions", ["pos", "neg"], True)]
    assert "mentions_labels" in model.predict(["love"]).columns
    provenance = model.metadata_["provenance"]["files"]
    assert {p["split"] for p in provenance} == {"train", "val", "test"}
    assert all(len(p["sha256"]) == 64 and p["rows"] > 0 for p in provenance)
    # the bundle records what it is and what it was trained on; its card says so
    meta = json.loads((tmp_path / "bundle" / "bundle.json").read_text())
    assert meta["name"] == "tonecls-model" and meta["version"] == "0"
    assert meta["trained_at"].endswith("+00:00") and len(meta["data_sha256"]) == 64
    assert all(np.isfinite(m["ece"]) and 0 <= m["ece"] <= 1 for m in meta["metrics"]["validation"].values())
    card = (tmp_path / "bundle" / "MODEL_CARD.md").read_text()
    assert "export " + str(tmp_path / "labelled.csv") in card      # the source of each head
    digest = next(p["sha256"] for p in provenance if p["file"].endswith("labelled.csv"))
    assert f"`{str(tmp_path / 'labelled.csv')}` | 200 | `{digest[:16]}" in card  # file, rows, hash
    assert "TweetEval" not in card and "GoEmotions" not in card and "Twitter and Reddit" not in card
    assert "validation ECE" in card and "{:.3f}".format(meta["metrics"]["test"]["stance"]["ece"]) in card
    # evaluate() scores the export head's test file with the official metric, like sklearn would;
    # the head without a test file is scored on its held-out validation rows, and says so
    results = evaluate(model, "test")
    assert results["head"].tolist() == ["stance", "mentions"]
    assert results["split"].tolist() == ["test", "val"]
    assert results.loc[1, "n"] == 20 and results["ece"].between(0, 1).all()
    predicted = model.predict(test_posts)["stance_label"]
    expected = f1_score(np.array(list(WORDS))[test_labels], predicted, average="macro",
                        labels=sorted(WORDS), zero_division=0)
    assert results.loc[0, "value"] == pytest.approx(expected)
    assert results.loc[0, "n"] == 40
    assert model.metadata_["metrics"]["test"]["stance"]["value"] == pytest.approx(expected)
    assert main(["evaluate", "--model", str(tmp_path / "bundle"), "--json", str(tmp_path / "eval.json")]) == 0
    table = pd.read_json(tmp_path / "eval.json").set_index("head")
    assert sorted(table.index) == ["mentions", "stance"]
    assert table.loc["stance", "value"] == pytest.approx(100 * expected, abs=0.05)
    assert table.loc["mentions", "source"] == "measured (val split)"


def test_cli_reports_bad_config_cleanly(tmp_path, capsys):
    (tmp_path / "bad.json").write_text('{"heads": [], "epochs": 1}')
    assert main(["train", "--config", str(tmp_path / "bad.json"), "-o", str(tmp_path / "out")]) == 2
    assert "no heads" in capsys.readouterr().err
    assert main(["train", "--config", str(tmp_path / "missing.json"), "-o", str(tmp_path / "out")]) == 2


def test_export_head_with_unknown_label_is_a_clear_error(tmp_path):
    pd.DataFrame({"text": ["a b", "c d"] * 10, "y": ["x", "z"] * 10}).to_csv(tmp_path / "d.csv", index=False)
    config = TrainConfig(heads=[HeadConfig("h", DataSource(kind="export", path=str(tmp_path / "d.csv"),
                                                           label_column="y"), classes=["x", "w"])], **TINY)
    with pytest.raises(InputError, match="not classes of head"):
        train(config, quiet=True)


# --- scikit-learn estimator ---------------------------------------------------------------------------


@pytest.mark.slow
def test_tone_classifier_in_a_pipeline_and_clone():
    posts, labels = synthetic_posts(240, seed=6)
    y = np.array(list(WORDS))[labels]
    estimator = ToneClassifier(embedding_dim=8, lstm_units=4, epochs=3, batch_size=16, learning_rate=0.01)
    cloned = clone(estimator)
    assert cloned.get_params() == estimator.get_params() and not hasattr(cloned, "model_")
    pipeline = Pipeline([("clf", estimator)]).fit(posts, y)
    test_posts, test_labels = synthetic_posts(60, seed=7)
    predicted = pipeline.predict(test_posts)
    assert set(predicted) <= set(WORDS)
    assert pipeline.score(test_posts, np.array(list(WORDS))[test_labels]) > 0.5
    proba = pipeline.predict_proba(test_posts + [None])
    assert proba.shape == (61, 3) and not np.isnan(proba).any()
    np.testing.assert_allclose(proba[-1], estimator.prior_)
    assert list(pipeline.named_steps["clf"].classes_) == sorted(WORDS)


def test_tone_classifier_rejects_bad_targets():
    with pytest.raises(InputError, match="single class"):
        ToneClassifier().fit(["a", "b", "c"], ["x", "x", "x"])
    with pytest.raises(InputError, match="one label per post"):
        ToneClassifier().fit(["a", "b"], ["x"])


# --- calibration and metrics ---------------------------------------------------------------------------


def test_temperature_scaling_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (4000, 4))
    true_t = 2.5
    p = np.exp(logits / true_t)
    p /= p.sum(axis=1, keepdims=True)
    targets = np.array([rng.choice(4, p=row) for row in p])
    fitted = fit_temperature(logits, targets, multilabel=False)
    assert fitted == pytest.approx(true_t, rel=0.1)
    assert negative_log_likelihood(logits, targets, False, fitted) <= negative_log_likelihood(logits, targets, False)


def test_thresholds_maximise_per_class_f1():
    proba = np.array([[0.9, 0.30], [0.8, 0.35], [0.2, 0.25], [0.1, 0.05]])
    targets = np.array([[1, 1], [1, 1], [0, 0], [0, 0]])
    thresholds = tune_thresholds(proba, targets)
    assert 0.2 < thresholds[0] <= 0.8
    assert 0.25 < thresholds[1] <= 0.30
    assert ((proba >= thresholds) == targets).all()


def test_official_metrics_equal_sklearn():
    rng = np.random.default_rng(1)
    y, p = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    assert macro_f1(y, p, 4) == pytest.approx(f1_score(y, p, average="macro"))
    assert macro_recall(y, p, 4) == pytest.approx(recall_score(y, p, average="macro"))
    Y, P = rng.integers(0, 2, (300, 7)), rng.integers(0, 2, (300, 7))
    assert macro_f1(Y, P) == pytest.approx(f1_score(Y, P, average="macro", zero_division=0))


@pytest.mark.parametrize("metric", ["macro_f1", "macro_recall"])
def test_bootstrap_interval_equals_resampling_with_sklearn(metric):
    from tonecls.model.evaluate import bootstrap_interval
    from tonecls.stats import stratified_weights

    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 400)
    p = np.where(rng.random(400) < 0.7, y, rng.integers(0, 3, 400))
    sk = f1_score if metric == "macro_f1" else recall_score
    (weights,) = next(stratified_weights([400], 200, seed=5, chunk_size=200))
    expected = np.percentile([sk(y, p, average="macro", sample_weight=w) for w in weights], [2.5, 97.5])
    low, high = bootstrap_interval(metric, y, p, 3, n_resamples=200, seed=5)
    assert (low, high) == pytest.approx(tuple(expected))
    assert low < sk(y, p, average="macro") < high
    Y = rng.integers(0, 2, (400, 5))
    P = np.where(rng.random((400, 5)) < 0.8, Y, 1 - Y)
    low, high = bootstrap_interval("macro_f1", Y, P, 5, n_resamples=200)
    assert low < f1_score(Y, P, average="macro") < high


def test_comparison_table_puts_measured_figures_beside_published_ones():
    results = pd.DataFrame({"head": ["emotion"], "dataset": ["TweetEval emotion"], "split": ["test"],
                            "metric": ["macro_f1"], "value": [0.7], "ci_low": [0.68], "ci_high": [0.72],
                            "n": [1421], "n_unscorable": [0]})
    table = comparison_table(results, data_dir="/nonexistent")
    assert set(table["head"]) == {"emotion"}
    assert {"this model", "BLSTM", "SVM", "FastText"} <= set(table["system"])
    ours = table[table["system"] == "this model"]
    assert ours["value"].item() == 70.0 and ours["ci95"].item() == "[68.0, 72.0]"
    assert (table.loc[table["system"] == "BLSTM", "ci95"] == "").all()  # papers give no interval
    assert table["source"].str.len().gt(0).all()


# --- the bundled default model -------------------------------------------------------------------------


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


# --- distillation ----------------------------------------------------------------------------------


def _distill_config(teacher, tmp_path, **overrides):
    from tonecls.model.config import DistillConfig

    posts, _ = synthetic_posts(30, seed=7)
    pd.DataFrame({"body": posts}).to_csv(tmp_path / "unlabelled.csv", index=False)
    distill = DistillConfig(teacher=str(teacher), temperature=3.0, augment_copies=1,
                            unlabelled=[{"kind": "export", "path": str(tmp_path / "unlabelled.csv"),
                                         "text_column": "body"}])
    return tiny_config(epochs=1, distill=distill, **overrides)


@pytest.mark.slow
def test_distillation_targets_are_the_teachers_tempered_probabilities(tiny_bundle, tmp_path):
    from scipy.special import expit, softmax

    from tonecls.model.data import load_training_data
    from tonecls.model.distill import distillation_targets
    from tonecls.model.train import build_vocabulary

    config = _distill_config(tiny_bundle, tmp_path)
    loaded = load_training_data(config, tiny_data())
    vocabulary, _, _ = build_vocabulary(config, (t for n in loaded.tokenised for t in loaded.tokenised[n]["train"][0]))
    targets = distillation_targets(config, loaded, vocabulary)
    teacher = load_model(tiny_bundle)
    tokens = loaded.tokenised["tone"]["train"][0]
    logits = teacher.logits_from_tokens(tokens)
    np.testing.assert_allclose(targets.proba["tone"][targets.train_rows["tone"]],
                               softmax(logits["tone"] / 3.0, axis=1), atol=1e-5)
    np.testing.assert_allclose(targets.proba["flags"][targets.train_rows["tone"]],
                               expit(logits["flags"] / 3.0), atol=1e-5)
    # 30 unlabelled posts, then one token-dropout variant of each distinct training post
    n_distinct = len({tuple(t) for n in loaded.tokenised for t in loaded.tokenised[n]["train"][0]})
    assert len(targets.extra) == 30 + n_distinct
    assert targets.provenance["teacher"]["files_sha256"].keys() >= {"bundle.json", "model.keras", "vocab.json"}


@pytest.mark.slow
def test_distilled_student_trains_and_records_its_teacher(tiny_bundle, tmp_path):
    student = train(_distill_config(tiny_bundle, tmp_path), data=tiny_data(), quiet=True)
    distilled = student.metadata_["provenance"]["distillation"]
    assert distilled["teacher"]["path"] == str(tiny_bundle)
    assert [u["posts"] for u in distilled["unlabelled"]][0] == 30
    assert student.metadata_["config"]["distill"]["temperature"] == 3.0
    path = student.save(tmp_path / "student")
    assert set(load_model(path).predict(["love it"]).keys()) >= {"tone_label", "flags_labels"}


def test_distillation_needs_a_teacher_with_the_same_heads(tiny_bundle, tmp_path):
    config = _distill_config(tmp_path / "no_such_bundle", tmp_path)
    with pytest.raises(InputError, match="not a model bundle"):
        train(config, data=tiny_data(), quiet=True)


def test_reliability_bins_match_scikit_learn_and_give_the_ece():
    """The reliability diagram's bins equal scikit-learn's calibration_curve (uniform bins) and
    the ECE is their count-weighted mean gap, for single- and multi-label heads."""
    from sklearn.calibration import calibration_curve

    from tonecls.model.calibration import expected_calibration_error, reliability_bins

    rng = np.random.default_rng(3)
    logits = rng.normal(size=(2000, 4)) * 2
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    targets = rng.integers(0, 4, size=2000)
    multi_proba = rng.uniform(size=(500, 3))
    multi_targets = (rng.uniform(size=(500, 3)) < multi_proba).astype(float)
    for p, t, multilabel in ((proba, targets, False), (multi_proba, multi_targets, True)):
        confidence = p.ravel() if multilabel else p.max(axis=1)
        correct = t.ravel() if multilabel else (p.argmax(axis=1) == t).astype(float)
        observed_sk, predicted_sk = calibration_curve(correct, confidence, n_bins=15, strategy="uniform")
        mean_confidence, observed, count = reliability_bins(p, t, multilabel, n_bins=15)
        filled = count > 0
        np.testing.assert_allclose(observed[filled], observed_sk, atol=1e-12)
        np.testing.assert_allclose(mean_confidence[filled], predicted_sk, atol=1e-12)
        assert count.sum() == len(confidence)
        expected = (count[filled] * np.abs(observed[filled] - mean_confidence[filled])).sum() / count.sum()
        assert expected_calibration_error(p, t, multilabel, n_bins=15) == pytest.approx(expected, abs=1e-12)
    assert np.isnan(expected_calibration_error(np.zeros((0, 3)), np.zeros(0, dtype=int), False))
