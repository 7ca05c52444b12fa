"""The privacy section of a model card, from the bundle's ``privacy`` metadata: the
membership-inference audit, canary exposure, the DP-SGD budget, and what the figures mean
for sharing the bundle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DP_KEYS = ("epsilon", "delta", "target_epsilon", "noise_multiplier", "clip_norm", "sampling_rate", "sampling",
           "steps", "steps_per_epoch", "epochs", "ensemble_members", "accountant", "neighbouring",
           "per_example_gradients", "vocabulary")


def _sharing(dp: Mapping[str, Any] | None, audit: Mapping[str, Any] | None) -> str:
    if dp:
        return (f"Every training row is protected by ({dp['epsilon']:.2f}, {dp['delta']:g})-differential privacy: "
                "whatever is done with the bundle, its behaviour changes by at most a factor e^epsilon (plus "
                "delta) whether or not any one post was in training, so holding the bundle tells little more "
                "about a post than not holding it (smaller epsilon is stronger: about 1 is strong, up to about 8 "
                "is common practice). The guarantee does not cover what is listed as outside the budget above.")
    measured = ("The audit above measures what an attacker holding the bundle learns about the audited posts; a "
                "figure near chance there does not prove that no post can be recognised (rare or repeated posts "
                "are the most exposed: see canary exposure where measured). " if audit else
                "No privacy figures were measured for this bundle (audit it with "
                "`tonecls.privacy.audit_membership` and `record_membership`). ")
    return ("This bundle was trained without differential privacy: it carries no guarantee, and recurrent "
            "networks memorise rare sequences. " + measured + "Treat the bundle as derived from its training "
            "posts: share it only with people who may see those posts, or train with the "
            "`differential_privacy` option.")


def _number(entry: Mapping[str, Any], key: str, fmt: str = "{:.3f}") -> str:
    return fmt.format(entry[key]) if entry.get(key) is not None else "–"


def _audit_rows(audit: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row of formatted cells per attack of a recorded audit."""
    return [{"attack": e["attack"], "auc": f"{_number(e, 'auc')} [{_number(e, 'auc_ci_low')}, {_number(e, 'auc_ci_high')}]",
             "tpr1": _number(e, "tpr_at_fpr_0.01"), "tpr01": _number(e, "tpr_at_fpr_0.001"),
             "advantage": _number(e, "advantage"), "epsilon": _number(e, "epsilon_lower_bound", "{:.2f}")}
            for e in audit.get("membership_inference", [])]


def privacy_card_context(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """What the card's privacy section shows, from ``metadata["privacy"]`` (missing: nothing
    measured, trained without DP)."""
    privacy = metadata.get("privacy") or {}
    audit = privacy.get("membership_audit")
    dp = {key: privacy[key] for key in DP_KEYS if key in privacy} if "noise_multiplier" in privacy else None
    return {"audit": audit, "audit_rows": _audit_rows(audit) if audit else [], "canaries": privacy.get("canaries"),
            "dp": dp, "outside_budget": privacy.get("outside_budget", []), "sharing": _sharing(dp, audit)}
