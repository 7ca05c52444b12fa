"""CVB0 topic proportions (tonecls.audit.dialect.cvb0) against the released TwitterAAE code."""

from __future__ import annotations

import numpy as np
import pytest

from tonecls.audit.dialect import cvb0_proportions


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
