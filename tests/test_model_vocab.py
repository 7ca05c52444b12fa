"""The token vocabulary (tonecls.model.vocab): frequency order, unknown tokens, batching,
and no personal data in any vocabulary."""

from __future__ import annotations

import json

import numpy as np
import pytest


from tonecls.model.bundle import DEFAULT_BUNDLE
from tonecls.model.vocab import Vocabulary, looks_like_personal_data, offsets_of, pad_batch


def test_vocabulary_orders_by_frequency_and_maps_unknown_tokens():
    vocab = Vocabulary.fit([["b", "a", "b"], ["c", "b", "a"], ["rare"]], max_size=10, min_count=2)
    assert vocab.tokens_ == ["<pad>", "<unk>", "b", "a"]
    ids, lengths = vocab.encode([["a", "zzz"], [], ["b", "b", "b"]], max_length=2)
    assert lengths.tolist() == [2, 0, 2]
    assert ids.tolist() == [3, 1, 2, 2]
    batch = pad_batch(ids, offsets_of(lengths), lengths, np.array([2, 1, 0]))
    assert batch.tolist() == [[2, 2], [0, 0], [3, 1]]


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
def test_bundled_vocabulary_holds_no_name_seen_only_as_a_handle(corpus_tokens):
    # names that the data uses only as handles (u/NAME, NAME#1234, ": NAME @ place", ...) are
    # scrubbed by the tokeniser and must not be in the shipped vocabulary
    from collections import Counter

    from tokeniser_corpus import handle_names

    texts = [text for texts, _ in corpus_tokens.values() for text in texts]
    counts = Counter(token for _, tokens in corpus_tokens.values() for post in tokens for token in post)
    handles_only = {name for name in handle_names(texts) if counts[name] == 0}
    assert len(handles_only) > 300  # the rules find the handles in the data
    tokens = json.loads((DEFAULT_BUNDLE / "vocab.json").read_text(encoding="utf-8"))
    assert sorted(handles_only & set(tokens)) == []
