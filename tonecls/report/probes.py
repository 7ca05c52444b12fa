"""The report of a counterfactual probe run: verdict first, results by dimension, method."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tonecls.audit.probes import DEFAULT_MIN_DIFFERENCE, READABLE_COLUMNS, ProbeResult
from tonecls.report.document import Figure, Report, Section, Table
from tonecls.stats import CORRECTIONS

__all__ = ["PROBE_CHECKLIST", "probe_report"]

PROBE_CHECKLIST = [
    "Do the word lists and names cover the identities that matter for your data and users?",
    "Read the largest sentence pairs: is a difference driven by one odd template or term?",
    "Is the practical minimum (a difference in probability) right for the decision at hand?",
    "Check real posts too (tonecls audit by group, dialect groups): probes are synthetic.",
    "Names carry perceived, dated associations (US, 1970s birth records); do not read them as facts about people.",
]


def probe_report(result: ProbeResult) -> Report:
    """The full report of ``result``: verdict, findings, one section per dimension, method."""
    settings = _settings(result)
    sections = [
        Section("Method", text=_method_text(result, **settings)),
        Section("Results by dimension", subsections=_dimension_sections(result)),
        Section(
            "Largest sentence-pair differences",
            text="Per dimension, the pairs of sentences (same template, different group) whose "
            "predicted probability differs most; difference = p_a - p_b. Read them to judge "
            "whether a difference is plausible or an artefact of a template.",
            tables=[Table("Sentence pairs", result.top_pairs.rename(columns={
                "group_a": "group A", "sentence_a": "sentence A", "p_a": "p (A)",
                "group_b": "group B", "sentence_b": "sentence B", "p_b": "p (B)",
                "difference": "difference (A − B)"}))],
        ),
    ]
    if not result.identical_terms.empty:
        sections.insert(2, Section(
            "Terms the model cannot tell apart",
            text="Each row is a set of terms whose sentences get exactly the same predictions in "
            "every template, usually because the terms are out of the model's vocabulary. "
            "Comparisons between these terms are zero by construction and say nothing about bias.",
            tables=[Table("Indistinguishable terms", result.identical_terms.rename(
                columns={"n_terms": "number of terms"}))],
        ))
    figure = difference_heatmap(result.tests)
    if figure is not None:
        sections.insert(2, Section("Overview", figures=[Figure(
            "Mean paired difference (A - B) by comparison and class", figure,
            caption=f"* finding: significant after {settings['correction']} at {settings['alpha']} "
                    f"and a mean difference of at least {settings['min_difference']:g}.")]))
    return Report(
        title="Counterfactual identity probes",
        verdict=_verdict(result.tests, **settings),
        findings=list(result.findings),
        sections=sections,
        provenance=_provenance(result, **settings),
        checklist=PROBE_CHECKLIST,
        data={"config": result.config},
    )


def _settings(result: ProbeResult) -> dict[str, Any]:
    config = result.config
    return {"correction": CORRECTIONS[config.get("correction", "fdr_bh")],
            "alpha": config.get("alpha", 0.05),
            "min_difference": config.get("min_difference", DEFAULT_MIN_DIFFERENCE)}


def _method_text(result: ProbeResult, correction: str, alpha: float, min_difference: float) -> str:
    return (
        "Each probe sentence is a template with one identity term filled in; all templates are "
        "combined with all terms of a dimension, so sentences differ only in that term "
        "(Equity Evaluation Corpus design, Kiritchenko & Mohammad 2018).\n\n"
        "For every pair of groups within a dimension, and every head and class of the model, the "
        "difference is paired on the template: for each template, the mean predicted probability "
        "over the terms of group A minus that over group B. 'difference (A − B)' is the average over "
        "templates (positive: higher for group A), with a bootstrap 95% CI over templates; "
        "'effect size d_z' is Cohen's d for paired samples (mean / standard deviation of the "
        "per-template differences).\n\n"
        f"'p (Wilcoxon)' is the Wilcoxon signed-rank test of the per-template differences, 'p (t-test)' "
        f"the paired t-test. 'p adjusted' corrects the Wilcoxon p-values for the {len(result.tests)} "
        f"comparisons of this run with {correction}. A comparison is a finding when the adjusted "
        f"p-value is below {alpha} and the mean difference is at least {min_difference:g} "
        "(the practical minimum, in probability); the heatmap stars findings only.\n\n"
        "These are synthetic sentences: a difference shows that the model treats the terms "
        "differently in otherwise identical text; it does not measure how often this happens on "
        "real posts. Absence of significance is not evidence of absence of bias (the number of "
        "templates limits the power)."
    )


def _dimension_sections(result: ProbeResult) -> list[Section]:
    sections = []
    for dimension, part in result.tests.groupby("dimension", sort=False):
        ordered = part.assign(_abs=part["mean_diff"].abs()).sort_values(
            ["finding", "_abs"], ascending=[False, False], kind="stable")
        n_found = int(part["finding"].sum())
        terms = result.scores.loc[result.scores["dimension"] == dimension].groupby("group", sort=False)["term"]
        listing = "; ".join(f"{g}: {', '.join(pd.unique(t))}" for g, t in terms)
        table = ordered[list(READABLE_COLUMNS)].rename(columns=READABLE_COLUMNS).reset_index(drop=True)
        table["finding"] = table["finding"].map({True: "finding", False: ""})
        sections.append(Section(
            title=dimension,
            text=f"{n_found} of {len(part)} comparisons are findings "
                 f"({int(part['significant'].sum())} significant after correction). Terms: {listing}.",
            tables=[Table(f"Paired comparisons, {dimension}", table, collapsed=True,
                          note="Findings first, then by the size of the difference.")],
        ))
    return sections


def _verdict(tests: pd.DataFrame, correction: str, alpha: float, min_difference: float) -> str:
    n_found, n_tests = int(tests["finding"].sum()), len(tests)
    if not n_found:
        return (f"No comparison with a mean difference >= {min_difference:g} survives the "
                f"correction ({correction}, {n_tests} comparisons).")
    top = tests.loc[tests["mean_diff"].where(tests["finding"]).abs().idxmax()]
    return (f"{n_found} of {n_tests} comparisons are findings (adjusted p < {alpha} with "
            f"{correction}, mean difference >= {min_difference:g}); largest: {top['dimension']}, "
            f"{top['group_a']} vs {top['group_b']}, {top['head']} = {top['class']}, "
            f"{100 * top['mean_diff']:+.1f} points.")


def _provenance(result: ProbeResult, correction: str, alpha: float, min_difference: float) -> dict[str, Any]:
    scores = result.scores
    templates = scores.loc[scores["source"] == "tonecls", "template"].nunique()
    return {
        **{k: v for k, v in result.config.items() if k not in ("alpha", "correction")},
        "sentences": len(scores),
        "distinct sentences": int(scores["sentence"].nunique()),
        "templates (tonecls)": int(templates),
        "dimensions": ", ".join(pd.unique(scores["dimension"])),
        "multiple-comparison correction": correction,
        "significance level": alpha,
    }


def difference_heatmap(tests: pd.DataFrame):
    """Mean paired difference per comparison (rows) and head class (columns), findings starred;
    None without tests."""
    if tests.empty:
        return None
    from matplotlib.figure import Figure as MplFigure

    tests = tests.assign(
        row=tests["dimension"] + ": " + tests["group_a"] + " - " + tests["group_b"],
        col=tests["head"] + ":" + tests["class"],
    )
    rows, cols = list(pd.unique(tests["row"])), list(pd.unique(tests["col"]))
    values = tests.pivot(index="row", columns="col", values="mean_diff").loc[rows, cols]
    marks = tests.pivot(index="row", columns="col", values="finding").loc[rows, cols]
    limit = float(np.nanmax(np.abs(values.to_numpy()))) or 1.0
    label_width = 0.065 * max(len(r) for r in rows)  # inches for the row labels
    fig = MplFigure(figsize=(label_width + 2.0 + 0.45 * len(cols), 1.6 + 0.24 * len(rows)),
                    layout="constrained")
    ax = fig.subplots()
    # RdBu is one of ColorBrewer's colour-blind-safe diverging schemes
    image = ax.imshow(values.to_numpy(dtype=float), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    for (i, j), flag in np.ndenumerate(marks.to_numpy()):
        if flag is True or flag == 1:
            ax.text(j, i, "*", ha="center", va="center", fontsize=9)
    fig.colorbar(image, ax=ax, label="mean difference in probability", shrink=min(1.0, 12 / max(len(rows), 1)))
    return fig
