"""Bias audits: group breakdowns with bootstrap intervals (:mod:`tonecls.audit.groups`),
counterfactual probes (:mod:`tonecls.audit.probes`) and dialect inference
(:mod:`tonecls.audit.dialect`).

Submodules are imported on first use, so ``import tonecls.audit`` stays cheap.
"""

from __future__ import annotations

from tonecls._lazy import lazy_getattr

_LAZY = {
    "audit_groups": "tonecls.audit.groups",
    "AuditResult": "tonecls.audit.result",
    "GapCriteria": "tonecls.audit.gaps",
    "DialectEstimator": "tonecls.audit.dialect",
    "add_dialect_columns": "tonecls.audit.dialect",
    "run_probes": "tonecls.audit.probes",
    "ProbeResult": "tonecls.audit.probes",
}


__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = list(_LAZY)
