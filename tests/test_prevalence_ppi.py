"""PPI++ means (tonecls.prevalence.ppi) against ppi-python, the oracle (1e-9)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tonecls.errors import InputError
from tonecls.prevalence.ppi import classical_mean, mean_difference, ppi_mean, z_value


def random_problem(rng: np.random.Generator, n: int, big_n: int, d: int, signal: float):
    y = np.eye(d)[rng.integers(0, d, n)] if d > 1 else (rng.random((n, 1)) < 0.3).astype(float)
    yhat = np.clip(signal * y + (1 - signal) * rng.random((n, d)), 0, 1)
    return y, yhat, rng.random((big_n, d))


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_ppi_mean_equals_ppi_python(shared, weighted):
    ppi_py = pytest.importorskip("ppi_py")
    rng = np.random.default_rng(7)
    lams = []
    for n, big_n, d, signal in [(40, 500, 1, 0.2), (120, 3000, 3, 0.1), (300, 2000, 7, 0.5), (1000, 12000, 3, 0.05)]:
        y, yhat, yhat_u = random_problem(rng, n, big_n, d, signal)
        w = rng.random(n) + 0.1 if weighted else None
        w_u = rng.random(big_n) + 0.1 if weighted else None
        mode = "overall" if shared else "element"
        low, high = ppi_py.ppi_mean_ci(y, yhat, yhat_u, alpha=0.1, w=w, w_unlabeled=w_u, lam_optim_mode=mode)
        point = ppi_py.ppi_mean_pointestimate(y, yhat, yhat_u, w=w, w_unlabeled=w_u, lam_optim_mode=mode)
        ours = ppi_mean(y, yhat, yhat_u, confidence=0.9, weights=w, unlabelled_weights=w_u, shared_lam=shared)
        np.testing.assert_allclose(ours.estimate, np.ravel(point), rtol=0, atol=1e-9)
        np.testing.assert_allclose(ours.ci_low, np.ravel(low), rtol=0, atol=1e-9)
        np.testing.assert_allclose(ours.ci_high, np.ravel(high), rtol=0, atol=1e-9)
        lams.extend(ours.lam)
        for fixed in (0.0, 0.5, 1.0):  # a fixed lambda, and the classical interval
            low, high = ppi_py.ppi_mean_ci(y, yhat, yhat_u, alpha=0.1, lam=fixed, w=w, w_unlabeled=w_u)
            ours = ppi_mean(y, yhat, yhat_u, confidence=0.9, lam=fixed, weights=w, unlabelled_weights=w_u)
            np.testing.assert_allclose([ours.ci_low, ours.ci_high], [np.ravel(low), np.ravel(high)], atol=1e-9)
        low, high = ppi_py.classical_mean_ci(y[:, 0], w=w, alpha=0.1)
        classical = classical_mean(y[:, 0], confidence=0.9, weights=w)
        np.testing.assert_allclose([classical.ci_low[0], classical.ci_high[0]], [low, high], atol=1e-9)
    assert any(0 < lam < 1 for lam in lams), "the problems should exercise an interior lambda"


def test_lambda_zero_is_the_classical_interval_and_the_floor_only_widens():
    rng = np.random.default_rng(3)
    y, yhat, yhat_u = random_problem(rng, 80, 1000, 3, 0.4)
    zero = ppi_mean(y, yhat, yhat_u, lam=0.0)
    classical = classical_mean(y)
    np.testing.assert_allclose([zero.estimate, zero.ci_low, zero.ci_high],
                               [classical.estimate, classical.ci_low, classical.ci_high], atol=1e-12)
    rare = np.zeros((100, 1))  # a class with no labelled example
    plain = ppi_mean(rare, np.full((100, 1), 0.02), np.full((5000, 1), 0.03))
    floored = ppi_mean(rare, np.full((100, 1), 0.02), np.full((5000, 1), 0.03), floor_label_variance=True)
    assert plain.se[0] < 1e-12 and floored.se[0] > 0.01
    assert floored.estimate[0] == plain.estimate[0]


def test_shared_lambda_keeps_single_label_shares_summing_to_one():
    rng = np.random.default_rng(5)
    y, yhat, _ = random_problem(rng, 200, 0, 3, 0.5)
    yhat = yhat / yhat.sum(1, keepdims=True)
    yhat_u = rng.dirichlet(np.ones(3), 4000)
    assert ppi_mean(y, yhat, yhat_u).estimate.sum() == pytest.approx(1.0, abs=1e-12)


def test_mean_difference_of_independent_estimates():
    a = ppi_mean(np.eye(2)[[0, 0, 1, 0, 1]], np.full((5, 2), 0.5), np.full((50, 2), 0.5), lam=0.0)
    b = classical_mean(np.eye(2)[[1, 1, 1, 0]])
    diff = mean_difference(a, b)
    np.testing.assert_allclose(diff.estimate, a.estimate - b.estimate)
    np.testing.assert_allclose(diff.se, np.hypot(a.se, b.se))
    assert diff.ci_low[0] < diff.estimate[0] < diff.ci_high[0] and 0 < diff.p_value[0] < 1


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1, "0.9", None])
def test_confidence_outside_the_unit_interval_is_refused(confidence):
    with pytest.raises(InputError, match="confidence"):
        z_value(confidence)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 60), scale=st.floats(0.1, 10.0))
def test_ppi_mean_ignores_row_order_and_the_scale_of_weights(seed, n, scale):
    rng = np.random.default_rng(seed)
    y, yhat, yhat_u = random_problem(rng, n, 200, 3, 0.3)
    w = rng.random(n) + 0.5
    base = ppi_mean(y, yhat, yhat_u, weights=w, floor_label_variance=True)
    order, order_u = rng.permutation(n), rng.permutation(200)
    moved = ppi_mean(y[order], yhat[order], yhat_u[order_u], weights=scale * w[order], floor_label_variance=True)
    np.testing.assert_allclose([moved.estimate, moved.ci_low, moved.ci_high],
                               [base.estimate, base.ci_low, base.ci_high], atol=1e-12)
    assert np.all((0 <= base.lam) & (base.lam <= 1)) and np.all(base.ci_low <= base.ci_high)
