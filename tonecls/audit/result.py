"""The result of a group audit: one object, many views (in the spirit of fairlearn's
``MetricFrame``), built by :func:`tonecls.audit.groups.audit_groups`."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tonecls._json import to_jsonable
from tonecls.audit import findings as _findings
from tonecls.audit.gaps import OVERALL, GapCriteria
from tonecls.audit.names import SHORT_NAMES, describe_group

__all__ = ["AuditResult"]


@dataclass
class AuditResult:
    """Group breakdowns of one head; see :mod:`tonecls.audit.groups` for the views."""

    head: str
    classes: list[str]
    multilabel: bool
    labelled: bool
    group_cols: list[str]
    groupings: list[str]
    metrics: pd.DataFrame
    gaps: pd.DataFrame
    between: pd.DataFrame
    group_sizes: pd.DataFrame
    confusion: dict[str, dict[str, list[list[int]]]]
    calibration: dict[str, dict[str, dict[str, list[float]]]]
    excluded: dict[str, int]
    n_rows: int
    n_audited: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def criteria(self) -> GapCriteria:
        """The error control and practical minimum the gaps were judged by."""
        s = self.settings
        return GapCriteria(alpha=s.get("alpha", 0.05), correction=s.get("correction", "fdr_bh"),
                           min_difference=s.get("min_difference", 0.05),
                           ratio_bounds=s.get("ratio_bounds"))

    @property
    def threshold(self) -> str:
        """The practical minimum of a finding, in words (e.g. ``|difference| >= 0.05``)."""
        return self.criteria.describe()

    @property
    def by_group(self) -> pd.DataFrame:
        """Point estimates, one row per (grouping, group), columns (metric, class)."""
        groups = self.metrics[self.metrics["grouping"] != OVERALL[0]]
        wide = groups.pivot(index=["grouping", "group"], columns=["metric", "class"], values="value")
        return wide.reindex(  # in audit order, not sorted
            index=pd.MultiIndex.from_frame(groups[["grouping", "group"]].drop_duplicates()),
            columns=pd.MultiIndex.from_frame(groups[["metric", "class"]].drop_duplicates()))

    @property
    def overall(self) -> pd.Series:
        """Point estimates on the whole audited population, indexed by (metric, class)."""
        rows = self.metrics[self.metrics["grouping"] == OVERALL[0]]
        return rows.set_index(["metric", "class"])["value"]

    @property
    def undefined(self) -> pd.DataFrame:
        """The metrics that are undefined for a group, and why."""
        rows = self.metrics[self.metrics["reason"] != ""]
        return rows[["grouping", "group", "metric", "class", "support", "reason"]].reset_index(drop=True)

    @property
    def flagged(self) -> pd.DataFrame:
        """The findings: gaps that survive the correction and reach the practical minimum,
        largest first."""
        return _findings.ranked_findings(self.gaps).reset_index(drop=True)

    @property
    def verdict(self) -> str:
        """One line: how many findings, the largest, under which error control."""
        return _findings.verdict(self)

    @property
    def findings(self) -> list[str]:
        """Plain-language statements: coverage, then the findings (largest first), then what
        was significant but small and what could not be tested."""
        return _findings.findings(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: every figure the report prints, undefined values as null."""
        return to_jsonable({
            "head": self.head, "classes": self.classes, "multilabel": self.multilabel,
            "labelled": self.labelled, "group_cols": self.group_cols, "groupings": self.groupings,
            "n_rows": self.n_rows, "n_audited": self.n_audited, "excluded": self.excluded,
            "settings": self.settings, "verdict": self.verdict, "group_sizes": self.group_sizes,
            "metrics": self.metrics, "gaps": self.gaps, "between": self.between,
            "confusion_matrices": self.confusion, "calibration_curves": self.calibration,
        })

    def _repr_html_(self) -> str:
        """Jupyter display: the verdict, the findings and the table of flagged gaps."""
        parts = [f"<p><strong>Bias audit of '{html.escape(self.head)}' by "
                 f"{html.escape(', '.join(self.groupings))}</strong></p>",
                 f"<p style='font-size:1.1em'>{html.escape(self.verdict)}</p>"]
        flagged = self.flagged
        if len(flagged):
            table = pd.DataFrame({
                "group": [describe_group(g, v) for g, v in zip(flagged.grouping, flagged.group)],
                "metric": flagged.metric.map(SHORT_NAMES), "class": flagged["class"],
                "value": flagged.value, "reference": flagged.reference,
                "difference": flagged.difference, "p adjusted": flagged.p_adjusted,
                "n": flagged.n, "support": flagged.support,
            })
            parts.append(table.to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0))
        parts.append(f"<p>{html.escape(self.findings[0])}</p>")
        parts.append("<p style='color:#666'>.gaps, .metrics, .by_group: full tables; "
                     "tonecls.report.audit_report(result): the full report.</p>")
        return "\n".join(parts)
