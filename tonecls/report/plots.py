"""Figures of a group audit: metric bars with confidence intervals, confusion matrices per
group and calibration curves. Every function returns a ``matplotlib.figure.Figure`` (no pyplot
state, so nothing needs closing and no display is required)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["metric_bars", "confusion_grid", "calibration_curves", "MAX_PLOTTED_GROUPS", "OVERALL_LABEL"]

MAX_PLOTTED_GROUPS = 12
OVERALL_LABEL = "(overall)"
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
"""Okabe & Ito's colour-blind-safe palette (the overall population is drawn in grey)."""
OVERALL_COLOUR = "#8C8C8C"


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]
"""Key of the whole population in the per-group dicts passed to these functions."""


def error_bars(values, low, high) -> np.ndarray:
    """Matplotlib's ``(2, n)`` error lengths of intervals ``[low, high]`` around ``values``
    (0 where undefined). A percentile interval can miss its estimate (few resamples, skewed
    metrics): its bar then shows only the side that reaches past it (the tables give both ends)."""
    values, low, high = (np.asarray(a, dtype=float) for a in (values, low, high))
    lengths = np.vstack([values - low, high - values])
    return np.clip(np.where(np.isfinite(lengths), lengths, 0.0), 0.0, None)


def metric_bars(metrics: pd.DataFrame, grouping: str, metric_labels: dict[str, str],
                classes: list[str]) -> Figure:
    """Grouped bars per class (x) and group (colour) with percentile-CI error bars, one panel
    per metric. Undefined values are left out (no bar), small groups hatched."""
    rows = metrics[metrics.grouping.isin([grouping, "overall"])]
    series = [("overall", "all"), *[(grouping, g) for g in
                                    rows[rows.grouping == grouping].group.unique()[:MAX_PLOTTED_GROUPS]]]
    panels = list(metric_labels)
    fig = Figure(figsize=(max(6.0, 1.3 * len(classes) + 3), 2.2 * len(panels)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(panels), 1, sharex=True))
    width = 0.8 / len(series)
    colours = [OVERALL_COLOUR] + [_colour(i) for i in range(len(series) - 1)]
    for ax, metric in zip(axes, panels):
        top = 0.0
        for i, (key_grouping, group) in enumerate(series):
            is_overall = key_grouping == "overall"
            sel = rows[(rows.metric == metric) & (rows.group == group)
                       & (rows.grouping == key_grouping)].set_index("class")
            sel = sel.reindex(classes)
            values = sel.value.to_numpy(dtype=float)
            low = sel.ci_low.to_numpy(dtype=float)
            high = sel.ci_high.to_numpy(dtype=float)
            yerr = error_bars(values, low, high)
            top = max(top, np.nanmax(np.append(np.fmax(values, high), 0.0)))
            x = np.arange(len(classes)) + (i - (len(series) - 1) / 2) * width
            small = bool(sel.small.fillna(False).any())
            label = ("overall" if is_overall else str(group)) + (" (small)" if small else "")
            ax.bar(x, np.nan_to_num(values), width, yerr=yerr, capsize=2, color=colours[i],
                   hatch="//" if small else None, label=label,
                   alpha=0.9, error_kw={"elinewidth": 0.8})
        ax.set_ylabel(metric_labels[metric])
        ax.set_ylim(0, min(1.05, max(0.1, 1.15 * top)))
        ax.grid(axis="y", alpha=0.3)
    axes[-1].set_xticks(np.arange(len(classes)), classes, rotation=30 if len(classes) > 6 else 0,
                        ha="right" if len(classes) > 6 else "center")
    axes[0].legend(ncols=min(len(series), 4), fontsize="small", loc="lower left",
                   bbox_to_anchor=(0, 1.02))
    return fig


def confusion_grid(matrices: dict[str, list[list[int]]], classes: list[str]) -> Figure:
    """Row-normalised confusion matrices (true class rows, predicted columns), one per group."""
    names = list(matrices)[: MAX_PLOTTED_GROUPS + 1]
    cols = min(3, len(names))
    rows = int(np.ceil(len(names) / cols))
    size = 1.0 + 0.45 * len(classes)
    fig = Figure(figsize=(cols * size + 1, rows * size + 0.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    image = None
    for ax, name in zip(axes, names):
        matrix = np.asarray(matrices[name], dtype=float)
        totals = matrix.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(totals > 0, matrix / np.where(totals > 0, totals, 1), np.nan)
        image = ax.imshow(share, vmin=0, vmax=1, cmap="Blues")
        if len(classes) <= 8:
            for (r, c), value in np.ndenumerate(share):
                if np.isfinite(value):
                    ax.text(c, r, f"{value:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if value > 0.6 else "black")
        ax.set_title(f"{'overall' if name == OVERALL_LABEL else name} (n={int(matrix.sum()):,})",
                     fontsize=9)
        ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(classes)), classes, fontsize=7)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("true", fontsize=8)
    for ax in axes[len(names):]:
        ax.set_axis_off()
    if image is not None:
        fig.colorbar(image, ax=axes.tolist(), shrink=0.6, label="share of the true class")
    return fig


def calibration_curves(curves: dict[str, dict[str, list[float]]], xlabel: str, ylabel: str) -> Figure:
    """Reliability diagram: observed frequency against mean predicted probability per bin,
    one line per group (bins with fewer than 10 rows omitted)."""
    fig = Figure(figsize=(5.5, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
    for i, (name, curve) in enumerate(list(curves.items())[: MAX_PLOTTED_GROUPS + 1]):
        predicted = np.asarray(curve["mean_predicted"], dtype=float)
        observed = np.asarray(curve["observed"], dtype=float)
        count = np.asarray(curve["count"])
        keep = count >= 10
        ax.plot(predicted[keep], observed[keep], marker="o", markersize=3,
                color="black" if name == OVERALL_LABEL else _colour(i - 1),
                linewidth=2 if name == OVERALL_LABEL else 1.2,
                label="overall" if name == OVERALL_LABEL else name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig
