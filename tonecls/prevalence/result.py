"""The result of a prevalence estimate: one object, many views (like
:class:`tonecls.audit.result.AuditResult`), built by
:class:`tonecls.prevalence.estimate.PrevalenceEstimator`."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tonecls.stats import CORRECTIONS, level_percent

__all__ = ["CONTRACT_COLUMNS", "NAIVE_BIAS_ON_BENCHMARKS", "OVERALL_GROUP", "PrevalenceResult"]

OVERALL_GROUP = "all"
CONTRACT_COLUMNS = ["class", "group", "estimate", "ci_low", "ci_high", "naive", "n", "n_labelled"]
"""The fields every record of :attr:`PrevalenceResult.estimates` holds first (the JSON contract)."""

NAIVE_BIAS_ON_BENCHMARKS = (
    "On the benchmarks, counting the default model's labels was off by up to 17 points: on the "
    "TweetEval sentiment test set (12,284 posts, a shifted domain) negative 47.0% against a true "
    "32.3% and neutral 31.1% against 48.3%, and averaging the probabilities hardly helped (42.6% "
    "and 32.5%); on GoEmotions ekman (test) neutral 50.6% against 32.9% "
    "(BENCHMARKS.md, Prevalence estimates).")
"""What the naive shares are worth, as measured by ``python -m benchmarks.bench_prevalence``."""


def _percent(value: float) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{100 * value:.1f}%"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame`` as JSON-ready records: numpy scalars as Python numbers, NaN as None."""
    plain = frame.astype(object).where(frame.notna(), None)
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in plain.to_dict(orient="records")]


@dataclass
class PrevalenceResult:
    """Prevalence of each class of one head, overall, per group and per period.

    Views: :attr:`estimates` (one record per grouping, group or period, and class),
    :attr:`differences` (between groups and consecutive periods, one corrected family),
    :attr:`verdict`, :attr:`warnings`, :attr:`assumptions`, :meth:`to_dict`.
    """

    head: str
    classes: list[str]
    multilabel: bool
    estimates: pd.DataFrame
    differences: pd.DataFrame
    warnings: list[str]
    n_rows: int
    n_labelled: int
    excluded: dict[str, int] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def labelled(self) -> bool:
        """Whether any labelled row entered the estimates (else only naive shares)."""
        return self.n_labelled > 0

    @property
    def confidence(self) -> float:
        return float(self.settings.get("confidence", 0.9))

    @property
    def overall(self) -> pd.DataFrame:
        """The estimates for the whole file, one row per class."""
        return self.estimates[self.estimates["group"] == OVERALL_GROUP].set_index("class")

    @property
    def significant(self) -> pd.DataFrame:
        """The differences that survive the correction, largest first."""
        if self.differences.empty:
            return self.differences
        rows = self.differences[self.differences["significant"]]
        return rows.reindex(rows["difference"].abs().sort_values(ascending=False).index).reset_index(drop=True)

    @property
    def method(self) -> str:
        """How the estimates were made, in words."""
        if not self.labelled:
            return ("Classify-and-count: the share of posts the model labels with each class. No "
                    "labelled posts were given, so nothing corrects the model's errors and there is no interval.")
        predictions = "probabilities" if self.settings.get("predictions") == "probabilities" else "predicted labels"
        return (f"Prediction-powered inference (PPI++, Angelopoulos, Duchi & Zrnic 2023): per group, the mean "
                f"of the model's {predictions} over every scored post, corrected by the model's mean error on "
                "the group's labelled posts, with the weight given to the model tuned to make the interval as "
                f"narrow as possible; {level_percent(self.confidence)} normal-approximation intervals (labels' "
                "variance at least Agresti-Coull's, for rare classes). Differences between groups and consecutive "
                "periods are tested as one family, corrected by "
                f"{CORRECTIONS.get(self.settings.get('correction', 'fdr_bh'), '?')}.")

    @property
    def assumptions(self) -> list[str]:
        """What the estimates rest on."""
        if not self.labelled:
            return ["The model's errors are the same in these posts as wherever its bias is known: in "
                    "general they are not. " + NAIVE_BIAS_ON_BENCHMARKS]
        weighted = " and weighted by 1 / inclusion probability" if self.settings.get("weighted") else ""
        return [
            "The labelled posts are a random sample of the posts they stand for (drawn at random from the "
            f"scored posts, e.g. with draw_sample / `tonecls sample`{weighted}); posts picked by hand, the "
            "first rows of a file or the posts the model was unsure about give biased estimates.",
            "The labels are correct: the estimates measure the labellers' notion of each class.",
            "Every scored post (status ok) belongs to the population; posts that were not scored (other "
            f"languages, empty...) are not counted ({sum(self.excluded.values()):,} here).",
        ]

    @property
    def verdict(self) -> str:
        """One plain sentence first: the most corrected share, its interval, and the differences found."""
        overall = self.overall
        if not self.labelled or overall["estimate"].isna().all():
            labels = ("No labelled posts" if not self.labelled else
                      f"Too few labelled posts ({self.n_labelled:,}; a corrected estimate needs at least "
                      f"{self.settings.get('min_labelled', '?')})")
            return (f"{labels}: these are the model's own shares of the {self.n_rows:,} scored posts "
                    "(classify-and-count), biased by up to 17 points on the benchmarks and without an interval; "
                    "label a random sample of 300 posts to correct them.")
        gap = (overall["estimate"] - overall["naive"]).abs()
        name = gap.idxmax()
        row = overall.loc[name]
        sentence = (f"'{name}' is {_percent(row.estimate)} of the {self.n_rows:,} scored posts "
                    f"({level_percent(self.confidence)} interval {_percent(row.ci_low)} to {_percent(row.ci_high)}, "
                    f"from {self.n_labelled:,} labelled posts), where counting the model's labels gives "
                    f"{_percent(row.naive)}")
        if not self.differences.empty:
            found = int(self.differences["significant"].sum())
            sentence += f"; {found} of {len(self.differences)} differences between groups or periods are significant"
        return sentence + "."

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: the records, differences, verdict, method, assumptions, warnings."""
        return {
            "head": self.head, "classes": list(self.classes), "multilabel": self.multilabel,
            "n_rows": self.n_rows, "n_labelled": self.n_labelled, "excluded": dict(self.excluded),
            "settings": dict(self.settings), "verdict": self.verdict, "method": self.method,
            "assumptions": self.assumptions, "warnings": list(self.warnings),
            "estimates": _records(self.estimates), "differences": _records(self.differences),
        }

    def _repr_html_(self) -> str:
        """Jupyter display: the verdict, the whole-file estimates, the warnings."""
        columns = ["estimate", "ci_low", "ci_high", "naive", "probability_average", "n_labelled"]
        table = self.overall[columns].to_html(float_format=lambda v: f"{v:.3f}", border=0)
        warnings = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        return (f"<p><strong>Prevalence of '{html.escape(self.head)}'</strong></p>"
                f"<p style='font-size:1.1em'>{html.escape(self.verdict)}</p>{table}"
                + (f"<ul>{warnings}</ul>" if warnings else "")
                + "<p style='color:#666'>.estimates, .differences, .assumptions: full views.</p>")
