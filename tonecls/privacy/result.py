"""The result of a membership-inference audit: per attack its scores and metrics, the same
metrics by class and for misclassified posts, a verdict in plain words, and JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tonecls.privacy.metrics import roc_counts

if TYPE_CHECKING:
    import pandas as pd

SUBSET_COLUMNS = ["n_members", "n_non_members", "auc", "auc_ci_low", "auc_ci_high", "tpr_at_fpr_0.01",
                  "tpr_at_fpr_0.001", "advantage"]


def _plain(value: Any) -> Any:
    """``value`` as JSON data: DataFrames as records, numpy scalars as Python, NaN as None."""
    if hasattr(value, "to_dict") and hasattr(value, "columns"):
        return _plain(value.to_dict(orient="records"))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


@dataclass
class AttackResult:
    """One attack: its name and description, the score of every audited post (higher =
    member), which posts are members, and :func:`~tonecls.privacy.metrics.attack_metrics`."""

    attack: str
    description: str
    scores: np.ndarray
    is_member: np.ndarray
    metrics: dict[str, float]

    def roc(self) -> tuple[np.ndarray, np.ndarray]:
        """``(fpr, tpr)`` of the attack's ROC curve, from the strictest threshold down."""
        return roc_counts(self.scores, self.is_member).rates()

    def to_dict(self) -> dict[str, Any]:
        """The attack's name, description and metrics as plain data."""
        return {"attack": self.attack, "description": self.description, **self.metrics}


def _strength(auc_low: float) -> str | None:
    if auc_low > 0.6:
        return "much better than chance"
    if auc_low > 0.5:
        return "better than chance"
    return None


@dataclass
class MembershipInferenceResult:
    """What :func:`~tonecls.privacy.audit.audit_membership` found for one head.

    ``attacks``: one :class:`AttackResult` per attack; ``by_class`` / ``misclassified``: the
    metrics of each attack within each true class and within the posts the model gets wrong
    (or right); ``setup``: sizes, reference models, delta and bootstrap settings.
    """

    head: str
    attacks: list[AttackResult]
    by_class: pd.DataFrame
    misclassified: pd.DataFrame
    setup: dict[str, Any] = field(default_factory=dict)

    def attack(self, name: str) -> AttackResult:
        """The attack called ``name``."""
        for result in self.attacks:
            if result.attack == name:
                return result
        raise KeyError(f"no attack {name!r}; this audit ran {[a.attack for a in self.attacks]}")

    @property
    def strongest(self) -> AttackResult:
        """The attack with the highest AUC."""
        return max(self.attacks, key=lambda a: a.metrics["auc"])

    @property
    def summary(self) -> pd.DataFrame:
        """One row per attack: AUC and interval, TPR at low FPR, advantage, epsilon bound."""
        import pandas as pd

        return pd.DataFrame([a.to_dict() for a in self.attacks]).set_index("attack")

    @property
    def verdict(self) -> str:
        """The audit's answer in one sentence."""
        best = self.strongest.metrics
        name = self.strongest.attack
        interval = f"AUC {best['auc']:.2f} [{best['auc_ci_low']:.2f}, {best['auc_ci_high']:.2f}]"
        strength = _strength(best["auc_ci_low"])
        if strength is None:
            return (f"No attack tried tells members from non-members of head {self.head!r} detectably better "
                    f"than chance (best: the {name} attack, {interval}; 0.5 is chance).")
        return (f"An attacker who holds the bundle and knows a post can tell whether it was in the training set "
                f"{strength}: the {name} attack reaches {interval} (0.5 is chance) and flags "
                f"{best['tpr_at_fpr_0.01']:.1%} of members at a 1% false-positive rate.")

    @property
    def findings(self) -> list[str]:
        """One sentence per attack, then the most exposed class and the misclassified posts."""
        lines = [f"{a.attack}: AUC {a.metrics['auc']:.3f} [{a.metrics['auc_ci_low']:.3f}, "
                 f"{a.metrics['auc_ci_high']:.3f}], TPR {a.metrics['tpr_at_fpr_0.01']:.3f} at 1% FPR and "
                 f"{a.metrics['tpr_at_fpr_0.001']:.3f} at 0.1% FPR, advantage {a.metrics['advantage']:.3f}, "
                 f"epsilon >= {a.metrics['epsilon_lower_bound']:.2f} (95% confidence)" for a in self.attacks]
        strongest = self.strongest.attack
        classes = self.by_class[self.by_class["attack"] == strongest].dropna(subset=["auc"])
        if len(classes) > 1:
            top = classes.loc[classes["auc"].idxmax()]
            lines.append(f"Most exposed class ({strongest} attack): {top['class']} (AUC {top['auc']:.3f}, "
                         f"{int(top['n_members'])} members).")
        wrong = self.misclassified[(self.misclassified["attack"] == strongest)
                                   & (self.misclassified["subset"] == "misclassified")]
        if len(wrong) and np.isfinite(wrong["auc"].iloc[0]):
            lines.append(f"Misclassified posts ({strongest} attack): AUC {wrong['auc'].iloc[0]:.3f} over "
                         f"{int(wrong['n_members'].iloc[0])} members and {int(wrong['n_non_members'].iloc[0])} "
                         "non-members.")
        if self.setup.get("non_members_left_out_as_members"):
            lines.append(f"{self.setup['non_members_left_out_as_members']} non-member post(s) were left out: the "
                         "same text is a member (a post the model was trained on is no non-member).")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: ``membership_inference`` is a list with one entry per attack
        (``attack``, ``auc``, ``auc_ci_low``, ``auc_ci_high``, ``tpr_at_fpr_0.01``,
        ``tpr_at_fpr_0.001``, ``advantage``, ``epsilon_lower_bound``, ...)."""
        return _plain({
            "head": self.head, "verdict": self.verdict, **self.setup,
            "membership_inference": [a.to_dict() for a in self.attacks],
            "by_class": self.by_class, "misclassified": self.misclassified,
        })

    def _repr_html_(self) -> str:
        return f"<p><b>{self.verdict}</b></p>" + self.summary.to_html(float_format=lambda v: f"{v:.3f}")
