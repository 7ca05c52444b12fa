"""The membership-inference report (HTML / Markdown / JSON via :func:`tonecls.report.write_report`):
the verdict first, one row per attack, the attacks by class and on misclassified posts, and the
ROC curves on log axes (the low false-positive region is where a confident attack shows).

Temporary home: it moves to the report stage with the other report builders.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tonecls.privacy.result import MembershipInferenceResult
from tonecls.report.document import Figure, Report, Section, Table

CHECKLIST = [
    "Are the audited members a random sample of the training posts, and the non-members posts of the same "
    "distribution that the model never saw (not validation posts, which chose the epoch and the calibration)?",
    "Would an attacker have the posts themselves? Membership inference asks 'was this post in training?', "
    "so it matters most where the posts are known but their presence in a dataset is sensitive.",
    "Are rare or repeated posts (names, personal stories) exposed more than the average figure says? "
    "Check the TPR at low FPR and canary exposure.",
]


def roc_figure(result: MembershipInferenceResult) -> Any:
    """Each attack's ROC curve on log-log axes, with chance (TPR = FPR)."""
    from matplotlib.figure import Figure as MplFigure

    figure = MplFigure(figsize=(5.2, 4.2))
    axes = figure.subplots()
    floor = 1.0 / max(1, result.setup.get("n_non_members", 1000))
    for attack in result.attacks:
        fpr, tpr = attack.roc()
        axes.plot(np.maximum(fpr, floor / 2), np.maximum(tpr, floor / 2), drawstyle="steps-post",
                  label=f"{attack.attack} (AUC {attack.metrics['auc']:.3f})")
    axes.plot([floor / 2, 1], [floor / 2, 1], color="grey", linestyle="--", label="chance")
    axes.set(xscale="log", yscale="log", xlim=(floor / 2, 1), ylim=(floor / 2, 1.05),
             xlabel="false-positive rate (non-members flagged)", ylabel="true-positive rate (members found)")
    axes.legend(loc="lower right", fontsize=8)
    return figure


def _subset_table(frame, title: str, note: str) -> Table:
    return Table(title, frame.round(4), note=note)


def privacy_report(result: MembershipInferenceResult, title: str | None = None,
                   provenance: dict[str, Any] | None = None) -> Report:
    """The report document of a membership-inference audit."""
    summary = result.summary.drop(columns=["description"]).round(4)
    sections = [
        Section("Attacks", text="\n\n".join(f"{a.attack}: {a.description}." for a in result.attacks),
                tables=[Table("Membership inference by attack", summary,
                              note="AUC with 95% bootstrap interval; TPR at 1% and 0.1% FPR; advantage = max(TPR - FPR); "
                                   "epsilon lower bound at 95% confidence (Clopper-Pearson, Bonferroni over thresholds), "
                                   f"delta {result.setup.get('delta')}.")],
                figures=[Figure("ROC curves (log axes)", roc_figure(result),
                                caption="Each attack's members found against non-members flagged; the dashed line is chance.")]),
        Section("By class and for misclassified posts", tables=[
            _subset_table(result.by_class, "By true class", "Members and non-members of each class, attacked alone."),
            _subset_table(result.misclassified, "Misclassified and correctly classified posts",
                          "Posts the model gets wrong are often its most memorised members."),
        ]),
    ]
    return Report(title=title or f"Membership inference: head {result.head}", verdict=result.verdict,
                  findings=result.findings, sections=sections,
                  provenance={**result.setup, **(provenance or {})}, checklist=CHECKLIST, data=result.to_dict())
