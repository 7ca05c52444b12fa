"""The report of a group audit: verdict and findings first, tables folded, method last."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from tonecls import __version__
from tonecls.audit.findings import ranked_findings
from tonecls.audit.names import SHORT_NAMES, describe_group
from tonecls.audit.result import AuditResult
from tonecls.report import plots
from tonecls.report.document import Figure, Report, Section, Table
from tonecls.stats import level_percent

__all__ = ["REVIEW_CHECKLIST", "audit_report"]

REVIEW_CHECKLIST = [
    "Representativeness: do the audited posts resemble the population the model will be used "
    "on (platform, period, topics, languages), and is every group of interest present in "
    "sufficient numbers?",
    "Label quality: who annotated the labels, with what guidelines and agreement? Do annotators "
    "label some groups' posts (e.g. dialects) differently? Label bias makes error rates biased.",
    "Proxy groups: how were the group columns obtained? Inferred groups (e.g. dialect estimated "
    "from text) are proxies with their own errors and must not be read as a person's identity.",
    "Intended use: do the audited metrics match the harm that matters for this use (missed "
    "distress signals: recall; over-flagging a community: false-positive / selection rate)?",
    "Practical minimum: is the minimum gap of this report the right one for the decision at "
    "hand? Confirm important findings on fresh data.",
    "Small and missing groups: groups marked as small or metrics marked undefined were not "
    "tested; absence of a finding is not evidence of fairness.",
    "Calibration: if scores are thresholded or read as probabilities, check the calibration "
    "curves per group, not only overall.",
    "Decision and follow-up: who reviewed this report, what was decided, and when will the audit "
    "be repeated (new model, new data)?",
]


def _ci_text(low: float, high: float) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "–"
    return f"[{low:.3f}, {high:.3f}]"


def _finding_cell(row: Any) -> str:
    if row.flagged:
        return "finding"
    if pd.isna(row.significant):
        return "not tested"
    if row.significant:
        return "significant, below minimum"
    return "no"


def _gap_frame(gaps: pd.DataFrame, level: str, with_group: bool = True) -> pd.DataFrame:
    """Gap records with readable column names, in the order given."""
    frame = pd.DataFrame({
        "group": [describe_group(g, v) for g, v in zip(gaps.grouping, gaps.group)] if with_group
        else gaps.group,
        "n": gaps.n, "metric": gaps.metric.map(SHORT_NAMES), "class": gaps["class"],
        "value": gaps.value, "compared with": gaps.reference_kind.replace(
            {"random group of the same size": "random group, same size"}),
        "reference": gaps.reference, "difference": gaps.difference,
        f"{level} CI": [_ci_text(a, b) for a, b in zip(gaps.difference_ci_low, gaps.difference_ci_high)],
        "ratio": gaps.ratio, "p": gaps.p_value, "p adjusted": gaps.p_adjusted,
        "support": gaps.support,
        "result": [_finding_cell(r) for r in gaps.itertuples()],
        "note": gaps.reason,
    })
    return frame.reset_index(drop=True)


def _findings_section(result: AuditResult) -> Section | None:
    s = result.settings
    if not s.get("n_bootstrap"):
        return None
    level = level_percent(s["confidence_level"])
    flagged = ranked_findings(result.gaps)
    note = (f"Findings: adjusted p < {s['alpha']:g} ({result.criteria.correction_name}, over all "
            f"{int(result.gaps.p_value.notna().sum())} tested gaps of this report) and "
            f"{result.threshold}. 'support': the smallest cell the metric rests on (e.g. posts "
            "labelled with the class for recall).")
    if len(flagged):
        return Section("Findings in detail", tables=[
            Table(f"{len(flagged)} finding(s), largest first",
                  _gap_frame(flagged, level).drop(columns=["p", "result", "note"]), note=note)])
    tested = result.gaps[result.gaps.p_value.notna()]
    largest = tested.reindex(tested.difference.abs().sort_values(ascending=False).index).head(10)
    return Section("Findings in detail", text="No gap is a finding. The largest tested gaps "
                   "are listed for reference.", tables=[
        Table("Largest tested gaps (none is a finding)", _gap_frame(largest, level),
              note=note, collapsed=True)])


def _summary_table(result: AuditResult, grouping: str) -> Table:
    rows = result.metrics
    head_metrics = [m for m in ("accuracy", "macro_f1", "ece", "mean_confidence")
                    if (rows.metric == m).any()]
    level = level_percent(result.settings["confidence_level"])
    records = []
    for key, block in rows[rows.grouping.isin([grouping, "overall"])].groupby(
            ["grouping", "group"], sort=False):
        first = block.iloc[0]
        record = {"group": "overall" if key[0] == "overall" else key[1], "n": int(first.n),
                  "note": f"small (n < {result.settings['min_group_size']})" if first.small else ""}
        for metric in head_metrics:
            row = block[block.metric == metric]
            if len(row):
                row = row.iloc[0]
                record[SHORT_NAMES[metric]] = "undefined" if row.reason else row.value
                record[f"{SHORT_NAMES[metric]} {level} CI"] = row.reason or _ci_text(row.ci_low, row.ci_high)
        records.append(record)
    return Table("Summary by group", pd.DataFrame.from_records(records),
                 note="Intervals: stratified bootstrap percentile intervals. ECE: expected "
                      "calibration error of the top-label confidence (15 equal-width bins); it is "
                      "larger in smaller groups by chance alone, so gaps in ECE are tested against "
                      "random groups of the same size.")


def _distribution_table(result: AuditResult, grouping: str) -> Table:
    rows = result.metrics[result.metrics.grouping.isin([grouping, "overall"])
                          & result.metrics.metric.isin(["label_rate", "selection_rate"])]
    wide = rows.pivot_table(index="group", columns=["class", "metric"], values="value",
                            aggfunc="first", sort=False)
    wide.columns = [f"{cls}: {'labelled' if m == 'label_rate' else 'predicted'}"
                    for cls, m in wide.columns]
    order = [c for cls in result.classes for c in (f"{cls}: labelled", f"{cls}: predicted")
             if c in wide.columns]
    wide = wide[order]
    wide.index = ["overall" if g == "all" else g for g in wide.index]
    wide.index.name = "group"
    return Table("Label and prediction distribution (share of the group's posts)", wide,
                 note="'predicted' is the selection rate (demographic parity compares it "
                      "across groups).", collapsed=True)


def _class_tables(result: AuditResult, grouping: str) -> list[Table]:
    rows = result.metrics[result.metrics.grouping.isin([grouping, "overall"])
                          & (result.metrics["class"] != "")
                          & ~result.metrics.metric.isin(["label_rate"])]
    tables = []
    for cls in result.classes:
        block = rows[rows["class"] == cls]
        wide: dict[str, dict[str, Any]] = {}
        for row in block.itertuples():
            group = "overall" if row.grouping == "overall" else row.group
            wide.setdefault(group, {"n": row.n})[SHORT_NAMES[row.metric]] = (
                "undefined" if row.reason else row.value)
        frame = pd.DataFrame.from_dict(wide, orient="index")
        frame.index.name = "group"
        tables.append(Table(f"Per-class metrics of '{cls}'", frame, collapsed=True))
    return tables


def _undefined_table(result: AuditResult, grouping: str) -> Table | None:
    rows = result.undefined
    rows = rows[rows.grouping.isin([grouping, "overall"])]
    if not len(rows):
        return None
    rows = rows.assign(metric=rows.metric.map(SHORT_NAMES)).sort_values(["group", "metric", "class"])
    return Table("Undefined metrics", rows.drop(columns="grouping").reset_index(drop=True),
                 note=f"A metric needs at least {result.settings['min_cell_count']} posts in every "
                      "cell it rests on; otherwise it is undefined (not zero) and not tested.",
                 collapsed=True)


def _gap_table(result: AuditResult, grouping: str) -> Table:
    gaps = result.gaps[result.gaps.grouping == grouping]
    # findings first, then by adjusted p-value, then untested
    order = pd.DataFrame({"flagged": gaps.flagged.astype(bool),
                          "p": gaps.p_adjusted.fillna(2.0),
                          "size": -gaps.difference.abs().fillna(-1.0)})
    gaps = gaps.loc[order.sort_values(["flagged", "p", "size"], ascending=[False, True, True]).index]
    level = level_percent(result.settings["confidence_level"])
    return Table(f"All gaps by {grouping}", _gap_frame(gaps, level, with_group=False),
                 note="difference = group − reference; the reference is the whole population, or "
                      "for calibration errors the mean over random groups of the same size. "
                      "BPSN and BNSP AUCs are compared with the overall AUC. 'p adjusted': "
                      f"{result.criteria.correction_name} over all gaps of the report. Sorted: "
                      "findings first, then by adjusted p-value.", collapsed=True)


def _between_table(result: AuditResult, grouping: str) -> Table | None:
    rows = result.between[result.between.grouping == grouping]
    if not len(rows):
        return None
    rows = rows.reindex(rows.difference.abs().sort_values(ascending=False).index)
    level = level_percent(result.settings["confidence_level"])
    frame = pd.DataFrame({
        "metric": rows.metric.map(SHORT_NAMES), "class": rows["class"],
        "highest": rows.group_high, "value (highest)": rows.value_high,
        "lowest": rows.group_low, "value (lowest)": rows.value_low,
        "difference": rows.difference,
        f"{level} CI": [_ci_text(a, b) for a, b in zip(rows.difference_ci_low, rows.difference_ci_high)],
        "ratio (lowest / highest)": rows.ratio,
    }).reset_index(drop=True)
    return Table("Largest between-group gaps (descriptive)", frame, collapsed=True,
                 note="Among groups of at least the minimum size with a defined value: the "
                      "highest minus the lowest group, largest first. The pair is chosen on the "
                      "data, so these are not tested; the tests are the gaps to the reference.")


def _grouping_section(result: AuditResult, grouping: str) -> Section:

    sizes = result.group_sizes[result.group_sizes.grouping == grouping]
    gaps = result.gaps[result.gaps.grouping == grouping]
    n_flagged = int(gaps.flagged.sum())
    text = (f"{len(sizes)} groups of {grouping}; {int(sizes.small.sum())} below the minimum size "
            f"of {result.settings['min_group_size']} audited rows. {n_flagged} finding(s) among "
            f"{int(gaps.p_value.notna().sum())} tested gaps.")
    if result.multilabel and result.labelled:
        text += (" Multi-label head: each label is audited as a binary task (see the per-class "
                 "tables); there is no confusion matrix across labels.")
    figures = []
    bar_metrics = ({"recall": "recall (TPR)", "fpr": "false-positive rate",
                    "selection_rate": "selection rate"} if result.labelled
                   else {"selection_rate": "selection rate"})
    figures.append(Figure(
        f"Per-class metrics by {grouping}", plots.metric_bars(result.metrics, grouping, bar_metrics,
                                                              result.classes),
        caption="Bars: point estimates; whiskers: bootstrap 95% intervals; hatched: small group; "
                "no bar: undefined. Equalised odds compares recall (TPR) and false-positive "
                "rate across groups; demographic parity compares selection rates."))
    if result.confusion:
        matrices = {plots.OVERALL_LABEL: result.confusion["overall"]["all"],
                    **result.confusion.get(grouping, {})}
        figures.append(Figure(f"Confusion matrices by {grouping}",
                              plots.confusion_grid(matrices, result.classes),
                              caption="Rows: true class; cells: share of the row (recall on the "
                                      "diagonal).", collapsed=True))
    if result.calibration:
        curves = {plots.OVERALL_LABEL: result.calibration["overall"]["all"],
                  **result.calibration.get(grouping, {})}
        xlabel, ylabel = (("predicted probability (every post × label)", "observed frequency")
                          if result.multilabel else ("confidence of the predicted class", "accuracy"))
        figures.append(Figure(f"Calibration curves by {grouping}",
                              plots.calibration_curves(curves, xlabel, ylabel),
                              caption="Points above the diagonal: under-confident; below: "
                                      "over-confident. Bins with fewer than 10 rows are omitted.",
                              collapsed=True))
    per_class_text = (
        "Per class (one-vs-rest for single-label heads, each label a binary task for multi-label "
        "heads): selection rate, precision, recall (TPR), F1, false-positive rate, class-wise "
        "ECE, and the Borkan et al. (2019) AUCs: subgroup AUC (within the group), BPSN AUC "
        "(background positives, subgroup negatives: low values mean the group's negatives score "
        "high, i.e. false positives) and BNSP AUC (background negatives, subgroup positives: low "
        "values mean the group's positives score low, i.e. misses)."
        if result.labelled else "Selection rate per class (share of posts predicted as the class).")
    tables = [_gap_table(result, grouping)]
    between = _between_table(result, grouping)
    if between is not None:
        tables.append(between)
    tables += [_distribution_table(result, grouping), *_class_tables(result, grouping)]
    undefined = _undefined_table(result, grouping)
    if undefined is not None:
        tables.append(undefined)
    return Section(f"Groups by {grouping}", text=text + "\n\n" + per_class_text,
                   tables=[_summary_table(result, grouping), *tables], figures=figures)


def _method_text(result: AuditResult) -> str:
    s = result.settings
    level = level_percent(s["confidence_level"])
    return "\n\n".join([
        f"Rows whose tonecls_status is not 'ok' (and rows without a prediction"
        f"{' or a label' if result.labelled else ''}) are excluded and counted. Group values "
        "that are missing form their own group '(missing)'.",
        "Every metric comes from one engine: weighted sums of per-row statistics (counts of "
        "labels, predictions and hits per class, calibration bins, score histograms), the same "
        "formulas for the estimates on the data and for every bootstrap resample; its estimates "
        "equal fairlearn's MetricFrame and scikit-learn (the test suite checks this). AUCs on "
        "the data are exact (Mann-Whitney, ties count one half); bootstrapped AUCs use 200 "
        "quantile bins of the scores, shifted by the binning offset on the data. Macro-F1 "
        "averages the F1 of the classes labelled or predicted in the group. ECE uses 15 "
        "equal-width probability bins.",
        f"A metric is undefined, with the reason, when a cell it needs holds fewer than "
        f"{s['min_cell_count']} posts (positives for recall and F1, negatives for the "
        "false-positive rate, predictions for precision, both classes for the subgroup AUC, the "
        "group's negatives and the background's positives for BPSN, the group's positives and "
        f"the background's negatives for BNSP). Groups below {s['min_group_size']} rows are "
        "shown but not tested.",
        f"Intervals: {s['n_bootstrap']} stratified bootstrap resamples (rows resampled with "
        f"replacement within each cell of {', '.join(s['stratified_by'])}, so group sizes stay "
        f"fixed; seed {s['seed']}), {level} percentile intervals, left out when fewer than half "
        "of the resamples define the metric.",
        "Tests: each group's metric is compared with the whole population (difference and ratio). "
        "The p-value of a gap is two-sided, from the bootstrap standard error of the difference "
        "with a normal reference. A calibration error is larger in a smaller sample by chance, so "
        "a group's ECE is compared instead with the ECE of random groups of the same size drawn "
        f"from the audited rows ({min(s['n_bootstrap'], 300)} per size): the gap is the excess over their "
        "mean, its p-value from their spread.",
        f"Error control: all {int(result.gaps.p_value.notna().sum())} tested gaps of this report "
        f"form one family, corrected with {result.criteria.correction_name} at "
        f"{s['alpha']:g}. A gap is a finding when its adjusted p-value is below {s['alpha']:g} "
        f"and it reaches the practical minimum ({result.threshold}). Gaps that are significant but "
        "smaller are shown in the tables, not as findings. Between-group gaps (highest minus "
        "lowest group) are descriptive: the pair is chosen on the data.",
    ])


def audit_report(result: AuditResult, provenance: dict[str, Any] | None = None,
                 title: str | None = None) -> Report:
    """The full report of an audit: verdict, findings, data, one section per grouping, method.

    ``provenance``: what the report records about its input (file, command, model); see
    :func:`tonecls.jobs.audit.audit_provenance`.
    """
    provenance = provenance or {}
    scope = Section("Data and groups", text=(
        f"Head '{result.head}' ({'multi-label' if result.multilabel else 'single-label'}; classes: "
        f"{', '.join(result.classes)}). "
        + ("Labels from column '" + str(result.settings['label_col']) + "'." if result.labelled
           else "No labels: prediction-only audit.")),
        tables=[Table("Rows", pd.DataFrame(
            [{"reason": "audited", "rows": result.n_audited}]
            + [{"reason": f"excluded: {k}", "rows": v} for k, v in sorted(result.excluded.items())])),
            Table("Group sizes", result.group_sizes.assign(
                share=result.group_sizes.n / max(result.n_audited, 1)))])
    findings_section = _findings_section(result)
    sections = [*([findings_section] if findings_section else []), scope,
                *(_grouping_section(result, g) for g in result.groupings),
                Section("Method", text=_method_text(result))]
    s = result.settings
    full_provenance = {
        **provenance,
        "head": result.head,
        "label column": s["label_col"] or "(none)",
        "group columns": ", ".join(result.group_cols),
        "rows read": result.n_rows,
        "rows audited": result.n_audited,
        "rows excluded by reason": result.excluded or "none",
        "bootstrap": f"{s['n_bootstrap']} resamples, seed {s['seed']}",
        "error control": f"{result.criteria.correction_name} at {s['alpha']:g}, one family per report",
        "practical minimum": result.threshold,
        "minimum group size": s["min_group_size"],
        "minimum cell count": s["min_cell_count"],
        "tonecls version": __version__,
    }
    return Report(
        title=title or f"Bias audit: {result.head} by {', '.join(result.group_cols)}",
        verdict=result.verdict, findings=result.findings, sections=sections,
        provenance=full_provenance, checklist=REVIEW_CHECKLIST, data=result.to_dict())
