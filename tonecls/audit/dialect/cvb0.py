"""Collapsed variational Bayes (CVB0, Asuncion et al. 2009) for the topic proportions of many
posts at once, exactly as the released TwitterAAE ``infer_cvb0`` computes them one by one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["cvb0_proportions"]


def cvb0_proportions(
    likelihoods: np.ndarray, lengths: Sequence[int], alpha: float = 1.0, n_passes: int = 5
) -> np.ndarray:
    """Topic proportions of many documents by CVB0, exactly as the released ``infer_cvb0``.

    Parameters
    ----------
    likelihoods : array of shape (n_tokens_total, K)
        Per-token likelihood vectors ``p(w_i | k)`` (normalised or not), documents concatenated
        in order.
    lengths : sequence of int, shape (n_docs,)
        Number of tokens of each document; every length must be >= 1.
    alpha : float
        Symmetric Dirichlet prior on a document's topic proportions.
    n_passes : int
        As in the released code: the first pass initialises the responsibilities to the
        normalised likelihoods, each further pass is one sequential CVB0 sweep.

    Returns
    -------
    ndarray of shape (n_docs, K): each row sums to 1.
    """
    lik = np.asarray(likelihoods, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if lik.ndim != 2 or lengths.ndim != 1 or lengths.sum() != lik.shape[0]:
        raise ValueError("likelihoods must be (sum(lengths), K) and lengths one-dimensional")
    if lengths.size and lengths.min() < 1:
        raise ValueError("every document needs at least one token")
    if n_passes < 1:
        raise ValueError(f"n_passes must be >= 1, got {n_passes}")
    n_docs, n_topics = lengths.size, lik.shape[1]
    if n_docs == 0:
        return np.zeros((0, n_topics))
    lik = lik / lik.sum(axis=1, keepdims=True)

    # Lay tokens out position-major over documents sorted by decreasing length, so that the
    # i-th tokens of all documents that have one form a contiguous block whose document rows
    # are a prefix 0..n_active[i]-1 of the sorted order.
    order = np.argsort(-lengths, kind="stable")
    sorted_lengths = lengths[order]
    max_len = int(sorted_lengths[0])
    n_active = np.searchsorted(-sorted_lengths, -np.arange(max_len), side="left")
    block_start = np.concatenate([[0], np.cumsum(n_active)])
    doc_start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    sorted_doc = np.repeat(np.arange(n_docs), sorted_lengths)
    position = np.arange(lik.shape[0]) - np.repeat(
        np.concatenate([[0], np.cumsum(sorted_lengths)[:-1]]), sorted_lengths
    )
    source_row = doc_start[order][sorted_doc] + position
    lik_pm = np.empty_like(lik)
    lik_pm[block_start[position] + sorted_doc] = lik[source_row]

    q = lik_pm.copy()
    totals = np.zeros((n_docs, n_topics))
    np.add.at(totals, sorted_doc, lik[source_row])
    for _ in range(1, n_passes):
        for pos in range(max_len):
            m = n_active[pos]
            block = slice(block_start[pos], block_start[pos + 1])
            totals[:m] -= q[block]
            updated = lik_pm[block] * (totals[:m] + alpha)
            updated /= updated.sum(axis=1, keepdims=True)
            q[block] = updated
            totals[:m] += updated
    proportions = np.empty_like(totals)
    proportions[order] = totals / totals.sum(axis=1, keepdims=True)
    return proportions
