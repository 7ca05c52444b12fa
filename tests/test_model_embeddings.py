"""Pretrained word vectors (tonecls.model.embeddings): frequent words added to a vocabulary."""

from __future__ import annotations

import pytest

from support import tiny_config

from tonecls.errors import InputError
from tonecls.model.vocab import Vocabulary


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
