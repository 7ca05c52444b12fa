"""A :class:`~tonecls.prevalence.result.PrevalenceResult` as a :class:`tonecls.report.Report`:
the verdict first, the estimates table, the differences, the method and its assumptions, a plot
of the estimates with intervals per group beside the naive share, and a time series with bands
over the periods. (A temporary home: the report stage will hold it.)"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure as MplFigure

from tonecls.prevalence.result import CONTRACT_COLUMNS, PrevalenceResult
from tonecls.report.document import Figure, Report, Section, Table
from tonecls.report.plots import error_bars
from tonecls.stats import level_percent

__all__ = ["group_plot", "prevalence_report", "time_plot"]

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
MAX_GROUPS = 15


def group_plot(result: PrevalenceResult) -> MplFigure:
    """One panel per class: the estimate and its interval for the whole file and each group
    (dots with bars) beside the naive classify-and-count share (crosses)."""
    rows = result.estimates[result.estimates["grouping"].isin(["all", *result.settings.get("group_cols", [])])]
    groups = list(dict.fromkeys(rows["group"]))[:MAX_GROUPS]
    classes = result.classes
    fig = MplFigure(figsize=(min(3.0 * len(classes), 15), 0.35 * len(groups) + 1.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(classes), sharey=True))
    y = np.arange(len(groups))
    for ax, (i, name) in zip(axes, enumerate(classes)):
        cls = rows[rows["class"] == name].set_index("group").reindex(groups)
        if result.labelled:
            ax.errorbar(cls["estimate"], y, xerr=error_bars(cls["estimate"], cls["ci_low"], cls["ci_high"]),
                        fmt="o", color=PALETTE[i % len(PALETTE)], capsize=2, label=f"corrected, {level_percent(result.confidence)} interval")
        ax.scatter(cls["naive"], y, marker="x", color="#8C8C8C", label="naive (classify-and-count)")
        ax.set_title(str(name), fontsize="medium")
        ax.set_xlim(0, min(1.0, max(0.1, 1.15 * np.nanmax(cls[["naive", "ci_high"]].to_numpy(dtype=float)))))
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, groups)
    axes[0].invert_yaxis()
    axes[0].legend(fontsize="small", loc="lower left", bbox_to_anchor=(0, 1.08))
    return fig


def time_plot(result: PrevalenceResult) -> MplFigure | None:
    """Each class over the periods: the estimate with its interval as a band, the naive share
    dashed. None without a time column."""
    time_col = result.settings.get("time_col")
    rows = result.estimates[result.estimates["grouping"] == time_col] if time_col else pd.DataFrame()
    if rows.empty:
        return None
    fig = MplFigure(figsize=(7.5, 3.6), layout="constrained")
    ax = fig.subplots()
    for i, name in enumerate(result.classes):
        cls = rows[rows["class"] == name]
        x = np.arange(len(cls))
        colour = PALETTE[i % len(PALETTE)]
        if result.labelled:
            ax.plot(x, cls["estimate"], "-o", color=colour, label=str(name), markersize=3)
            ax.fill_between(x, cls["ci_low"].astype(float), cls["ci_high"].astype(float), color=colour, alpha=0.18)
        ax.plot(x, cls["naive"], "--", color=colour, alpha=0.7, label=None if result.labelled else str(name))
    periods = [g.split("=", 1)[1] for g in dict.fromkeys(rows["group"])]
    ax.set_xticks(np.arange(len(periods)), periods, rotation=30 if len(periods) > 6 else 0, ha="right")
    ax.set_ylabel("share of posts")
    ax.set_ylim(0, None)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", ncols=min(4, len(result.classes)), loc="lower left", bbox_to_anchor=(0, 1.02))
    return fig


def _tables(result: PrevalenceResult) -> list[Table]:
    extra = ["probability_average", "classical_low", "classical_high"]
    tables = [Table("Estimates", result.estimates[CONTRACT_COLUMNS + extra].copy(),
                    note="estimate, ci_low, ci_high: corrected (PPI++); naive: classify-and-count; "
                         "probability_average: mean probability; classical: from the labelled posts alone.")]
    if not result.differences.empty:
        columns = ["group", "versus", "class", "difference", "ci_low", "ci_high", "p_adjusted", "significant",
                   "naive_difference"]
        tables.append(Table("Differences between groups and consecutive periods", result.differences[columns].copy(),
                            collapsed=len(result.differences) > 30))
    return tables


def prevalence_report(result: PrevalenceResult, provenance: dict[str, Any] | None = None,
                      title: str | None = None) -> Report:
    """The report of ``result``: verdict, tables, figures, method, assumptions and warnings."""
    figures = [Figure("Estimates per group beside the naive share", group_plot(result),
                      caption="Dots and bars: corrected estimates and intervals; crosses: classify-and-count.")]
    over_time = time_plot(result)
    if over_time is not None:
        figures.append(Figure("Over time", over_time,
                              caption="Lines and bands: corrected estimates and intervals; dashed: classify-and-count."))
    sections = [
        Section("Prevalence", tables=_tables(result), figures=figures),
        Section("Method and assumptions", text="\n\n".join([result.method, *result.assumptions])),
    ]
    if result.warnings:
        sections.append(Section("Warnings", text="\n\n".join(result.warnings)))
    return Report(
        title=title or f"Prevalence of '{result.head}'", verdict=result.verdict,
        findings=[result.method.split(":")[0] + f": {result.n_labelled:,} labelled of {result.n_rows:,} scored posts."],
        sections=sections, provenance=dict(provenance or {}),
        checklist=["Were the labelled posts drawn at random from the posts they stand for (not picked by hand)?",
                   "Were they labelled without seeing the model's predictions?",
                   "Do the groups and periods with wide intervals need more labelled posts?"],
        data=result.to_dict())
