"""DP-SGD accounting (tonecls.privacy.accounting) against dp-accounting."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_plan_meets_the_target_and_matches_dp_accounting():
    dp_accounting = pytest.importorskip("dp_accounting")
    from tonecls.privacy.accounting import dp_sgd_epsilon, plan_dp_sgd

    plan = plan_dp_sgd(4.0, 1e-5, 1.0, dataset_rows=1200, batch_size=128, epochs=30)
    assert plan.epsilon <= 4.0 and plan.epsilon > 3.99  # the smallest noise within the target
    assert plan.steps == 10 * 30 and plan.sampling_rate == pytest.approx(128 / 1200)
    # the recorded parameters, accounted again directly with dp-accounting's PLD accountant
    event = dp_accounting.SelfComposedDpEvent(dp_accounting.PoissonSampledDpEvent(
        plan.sampling_rate, dp_accounting.GaussianDpEvent(plan.noise_multiplier)), plan.steps)
    direct = dp_accounting.pld.PLDAccountant().compose(event).get_epsilon(plan.delta)
    assert direct == pytest.approx(plan.epsilon, rel=1e-9)
    # less noise would exceed the target; the RDP accountant is looser (a larger epsilon)
    assert dp_sgd_epsilon(plan.sampling_rate, plan.noise_multiplier * 0.98, plan.steps, plan.delta) > 4.0
    assert dp_sgd_epsilon(plan.sampling_rate, plan.noise_multiplier, plan.steps, plan.delta, "RDP") > plan.epsilon
