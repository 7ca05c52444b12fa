"""The verdict and plain-language findings of a group audit.

Works on an :class:`~tonecls.audit.result.AuditResult` (read through its attributes only, so
this module imports nothing of the audit but the display names).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from tonecls.audit.names import describe_group, metric_phrase
from tonecls.stats import level_percent

__all__ = ["MAX_FINDINGS", "findings", "ranked_findings", "support_phrase", "verdict"]

MAX_FINDINGS = 5


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{value:.2f}" if abs(value) >= 0.01 or value == 0 else f"{value:.3f}"


def _p(value: float) -> str:
    return "–" if not math.isfinite(value) else (f"{value:.2g}" if value >= 1e-4 else "< 0.0001")


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def support_phrase(metric: str, cls: str, support: int, n: int) -> str:
    """What a gap rests on, e.g. ``312 posts, 58 labelled 'anger'``."""
    cell = {
        "recall": f"{support:,} labelled '{cls}'", "f1": f"{support:,} labelled '{cls}'",
        "precision": f"{support:,} predicted '{cls}'", "fpr": f"{support:,} not labelled '{cls}'",
        "subgroup_auc": f"smallest class {support:,}", "bpsn_auc": f"smallest cell {support:,}",
        "bnsp_auc": f"smallest cell {support:,}",
    }.get(metric)
    return f"{n:,} posts" + (f", {cell}" if cell else "")


def ranked_findings(gaps: pd.DataFrame) -> pd.DataFrame:
    """The flagged gaps, largest absolute difference first."""
    flagged = gaps[gaps.flagged.astype(bool)]
    return flagged.reindex(flagged.difference.abs().sort_values(ascending=False, kind="stable").index)


def _reference_text(row: Any) -> str:
    if row.reference_kind != "overall":
        return "a random group of the same size"
    return "overall AUC" if row.metric in ("bpsn_auc", "bnsp_auc") else "overall"


def _finding_sentence(row: Any, level: str) -> str:
    diff = row.difference
    low, high = row.difference_ci_low, row.difference_ci_high
    if diff < 0:
        low, high = -high, -low
    direction = "lower" if diff < 0 else "higher"
    expected = " expected" if row.reference_kind != "overall" else ""
    return (f"{_capitalise(metric_phrase(row.metric, row['class']))} is {_fmt(abs(diff))} "
            f"{direction} for {describe_group(row.grouping, row.group)} than {_reference_text(row)} "
            f"({_fmt(row.value)} vs {_fmt(row.reference)}{expected}; {level} CI of the gap "
            f"{_fmt(low)}–{_fmt(high)}; adjusted p {_p(row.p_adjusted)}; "
            f"{support_phrase(row.metric, row['class'], int(row.support), int(row.n))}).")


def _uneven_exclusions(result: Any) -> str:
    """A sentence on groups whose rows were excluded much more often than the others' ("" if
    none): the audit cannot see those posts, and the exclusion itself may be the bias."""
    sizes = result.group_sizes
    if "excluded" not in sizes or not result.n_rows or not sizes.excluded.any():
        return ""
    overall = (result.n_rows - result.n_audited) / result.n_rows
    uneven = sizes[(sizes.excluded >= 5) & (sizes.excluded_share >= max(2 * overall, overall + 0.05))]
    if not len(uneven):
        return ""
    listed = ", ".join(f"{describe_group(r.grouping, r.group)} {100 * r.excluded_share:.0f}% "
                       f"({r.excluded:,} rows)" for r in uneven.itertuples())
    return (f"Rows were excluded unevenly: {listed}, against {100 * overall:.1f}% of all rows. The "
            "audit cannot see the excluded posts (see 'Rows' for the reasons); if the exclusion "
            "depends on the group (e.g. language identification on a dialect), it is a gap itself.")


def verdict(result: Any) -> str:
    """One line: what the audit found, under which error control."""
    s = result.settings
    if not s.get("n_bootstrap"):
        return ("Nothing was tested (n_bootstrap=0): the tables show point estimates only; run with "
                "resamples to test the gaps.")
    gaps = result.gaps
    tested = int(gaps.p_value.notna().sum())
    flagged = ranked_findings(gaps)
    control = f"{result.criteria.correction_name} at {100 * s['alpha']:g}%"
    if not len(flagged):
        below = int((gaps.significant.fillna(False).astype(bool) & ~gaps.exceeds_minimum).sum())
        tail = (f"; {below} significant gap(s) are below the practical minimum" if below else "")
        return (f"No gap with {result.threshold} survives the correction ({control}; "
                f"{tested} gaps tested){tail}.")
    top = flagged.iloc[0]
    return (f"{len(flagged)} finding{'s' if len(flagged) != 1 else ''} ({control}, {result.threshold}; "
            f"{tested} gaps tested); largest: {metric_phrase(top.metric, top['class'])} "
            f"{_fmt(abs(top.difference))} {'lower' if top.difference < 0 else 'higher'} for "
            f"{describe_group(top.grouping, top.group)} ({_fmt(top.value)} vs {_fmt(top.reference)} "
            f"{'overall' if top.reference_kind == 'overall' else 'expected'}).")


def findings(result: Any) -> list[str]:
    """Coverage first, then the findings ranked by effect size with their support, then what
    was significant but small and what could not be tested."""
    s = result.settings
    level = level_percent(s.get("confidence_level", 0.95))
    out = []
    excluded = sum(result.excluded.values())
    detail = ", ".join(f"{k}: {v:,}" for k, v in sorted(result.excluded.items()))
    out.append(f"Audited {result.n_audited:,} of {result.n_rows:,} rows for head "
               f"'{result.head}' across {', '.join(result.groupings)}"
               + (f"; {excluded:,} excluded ({detail})." if excluded else "; no row excluded."))
    if not result.labelled:
        out.append("No label column was given: error rates (accuracy, recall, false-positive "
                   "rate, calibration, AUCs) cannot be audited without labels. Only prediction "
                   "distributions, selection rates and confidence are compared.")
    uneven = _uneven_exclusions(result)
    if uneven:
        out.append(uneven)
    for column, n_folded in s.get("folded", {}).items():
        out.append(f"{column}: {n_folded:,} groups are folded into one group, counted but not tested: "
                   f"only the {s['max_groups']} largest groups of at least {s['min_group_size']} rows are "
                   "audited one by one (max_groups, CLI --max-groups).")
    small = result.group_sizes[result.group_sizes.small] if len(result.group_sizes) else []
    if len(small):
        listed = ", ".join(f"{describe_group(r.grouping, r.group)} (n={r.n})" for r in small.itertuples())
        out.append(f"{len(small)} group(s) have fewer than {s['min_group_size']} audited rows; "
                   f"they are shown but not tested: {listed}.")
    if not s.get("n_bootstrap"):
        out.append("No bootstrap was run (n_bootstrap=0): gaps are reported without confidence "
                   "intervals and none is tested.")
        return out
    gaps = result.gaps
    flagged = ranked_findings(gaps)
    out.extend(_finding_sentence(row, level) for _, row in flagged.head(MAX_FINDINGS).iterrows())
    if len(flagged) > MAX_FINDINGS:
        out.append(f"… and {len(flagged) - MAX_FINDINGS} more findings (see the findings table).")
    significant = gaps.significant.fillna(False).astype(bool)
    below = int((significant & ~gaps.exceeds_minimum).sum())
    if below:
        out.append(f"{below} further gap(s) survive the correction but are smaller than the "
                   f"practical minimum ({result.threshold}); they are listed in the gap tables, "
                   "not as findings.")
    untested = gaps[gaps.p_value.isna()]
    if len(untested):
        out.append(f"{len(untested)} of {len(gaps)} gaps could not be tested (small group, or "
                   f"fewer than {s['min_cell_count']} posts in a cell the metric needs); "
                   "absence of a finding there says nothing.")
    if not len(flagged):
        out.append("Finding nothing is not proof of equal performance: small groups and rare classes "
                   "give wide intervals (see the tables).")
    return out
