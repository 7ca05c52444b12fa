"""What a trained model leaks about its training posts, and training that bounds it.

- :func:`audit_membership` (:mod:`tonecls.privacy.audit`): membership-inference attacks
  (``loss``, offline ``lira``, a ``trained`` attack model) -> :class:`MembershipInferenceResult`
  (``.verdict``, ``.summary``, ``.by_class``, ``.misclassified``, ``.to_dict()``);
  :func:`record_membership` keeps it in the model's metadata and card;
- canaries (:mod:`tonecls.privacy.canaries`, the training option ``canaries``): exposure of
  random posts inserted into the training data;
- DP-SGD (:mod:`tonecls.privacy.dp`, the training option ``differential_privacy``): per-example
  clipping, Gaussian noise, Poisson sampling, and the PLD accountant of ``dp-accounting``.

Names are imported on first use (this package imports neither TensorFlow nor pandas).
"""

from __future__ import annotations

from tonecls._lazy import lazy_getattr

_LAZY = {
    "audit_membership": "tonecls.privacy.audit",
    "record_membership": "tonecls.privacy.audit",
    "audit_bundle": "tonecls.privacy.audit",
    "MembershipInferenceResult": "tonecls.privacy.result",
    "AttackResult": "tonecls.privacy.result",
    "example_features": "tonecls.privacy.features",
    "attack_metrics": "tonecls.privacy.metrics",
    "plan_dp_sgd": "tonecls.privacy.accounting",
    "dp_sgd_epsilon": "tonecls.privacy.accounting",
}

__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = list(_LAZY)
