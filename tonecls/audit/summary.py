"""Plain-language findings and the report of a group audit (:class:`AuditResult`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from tonecls import __version__
from tonecls.report import Figure, Report, Section, Table

if TYPE_CHECKING:  # pragma: no cover
    from tonecls.audit.groups import AuditResult

__all__ = ["findings", "build_report", "REVIEW_CHECKLIST"]

MAX_GAP_FINDINGS = 15
MAX_BETWEEN_FINDINGS = 5

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
    "Multiple comparisons: many intervals are computed; isolated small significant gaps may be "
    "chance. Confirm important gaps on fresh data.",
    "Small and missing groups: groups marked as small or metrics marked undefined were not "
    "tested; absence of a flag is not evidence of fairness.",
    "Calibration: if scores are thresholded or read as probabilities, check the calibration "
    "curves per group, not only overall.",
    "Decision and follow-up: who reviewed this report, what was decided, and when will the audit "
    "be repeated (new model, new data)?",
]

_NAMES = {
    "accuracy": "accuracy", "macro_f1": "macro-F1",
    "ece": "calibration error (ECE) of the confidence", "mean_confidence": "mean confidence",
    "label_rate": "share labelled", "selection_rate": "selection rate",
    "precision": "precision", "recall": "recall (true-positive rate)", "f1": "F1",
    "fpr": "false-positive rate", "class_ece": "calibration error (ECE)",
    "subgroup_auc": "subgroup AUC", "bpsn_auc": "BPSN AUC", "bnsp_auc": "BNSP AUC",
}
_SHORT = {
    "accuracy": "accuracy", "macro_f1": "macro-F1", "ece": "ECE", "mean_confidence": "mean conf.",
    "label_rate": "labelled", "selection_rate": "selection rate", "precision": "precision",
    "recall": "recall (TPR)", "f1": "F1", "fpr": "FPR", "class_ece": "ECE",
    "subgroup_auc": "subgroup AUC", "bpsn_auc": "BPSN AUC", "bnsp_auc": "BNSP AUC",
}


def _metric_phrase(metric: str, cls: str) -> str:
    name = _NAMES.get(metric, metric)
    return f"{name} of '{cls}'" if cls else name


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def describe_group(grouping: str, group: str) -> str:
    """``dialect=aa`` or, for an intersection, ``dialect=aa, gender=f``."""
    cols, values = grouping.split(" × "), group.split(" × ")
    if len(cols) != len(values):
        return f"{grouping}={group}"
    return ", ".join(f"{c}={v}" for c, v in zip(cols, values))


def _fmt(value: float) -> str:
    return f"{value:.2f}" if abs(value) >= 0.01 or value == 0 else f"{value:.3f}"


def _gap_sentence(row: Any, level: int) -> str:
    diff = row.difference
    low, high = (row.difference_ci_low, row.difference_ci_high)
    if diff < 0:
        low, high = -high, -low
    direction = "lower" if diff < 0 else "higher"
    base = "overall AUC" if row.metric in ("bpsn_auc", "bnsp_auc") else "overall"
    caveat = (" ECE is biased upward in smaller samples, so part of a higher group ECE can be "
              "an artefact of size." if row.metric in ("ece", "class_ece") and diff > 0 else "")
    return (f"{_capitalise(_metric_phrase(row.metric, row['class']))} is {_fmt(abs(diff))} "
            f"{direction} ({level}% CI {_fmt(low)}–{_fmt(high)}) for "
            f"{describe_group(row.grouping, row.group)} than {base} "
            f"({_fmt(row.value)} vs {_fmt(row.overall)}; n={int(row.n):,}).{caveat}")


def findings(result: AuditResult) -> list[str]:
    """Plain-language findings: coverage first, then significant gaps, largest first."""
    level = round(100 * result.settings.get("confidence_level", 0.95))
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
    small = result.group_sizes[result.group_sizes.small]
    if len(small):
        listed = ", ".join(f"{describe_group(r.grouping, r.group)} (n={r.n})"
                           for r in small.itertuples())
        out.append(f"{len(small)} group(s) have fewer than {result.settings['min_group_size']} "
                   f"audited rows; they are shown but not tested: {listed}.")
    if not result.settings.get("n_bootstrap"):
        out.append("No bootstrap was run (n_bootstrap=0): gaps are reported without confidence "
                   "intervals and none is tested for significance.")
        return out
    gaps = result.gaps
    tested = gaps[gaps.difference_significant.notna()]
    significant = tested[tested.difference_significant.astype(bool)]
    significant = significant.reindex(significant.difference.abs().sort_values(ascending=False).index)
    if len(significant):
        out.append(f"{len(significant)} of {len(tested)} group-vs-overall gaps are significant "
                   f"(the {level}% interval of the difference excludes 0); largest first:")
        out.extend(_gap_sentence(row, level) for _, row in significant.head(MAX_GAP_FINDINGS).iterrows())
        if len(significant) > MAX_GAP_FINDINGS:
            out.append(f"… and {len(significant) - MAX_GAP_FINDINGS} more significant gaps "
                       "(see the 'Gaps against overall' tables).")
    else:
        out.append(f"None of the {len(tested)} group-vs-overall gaps is significant at the "
                   f"{level}% level. This is not proof of equal performance: small groups give "
                   "wide intervals.")
    expected = len(tested) * (1 - result.settings.get("confidence_level", 0.95))
    if len(tested):
        out.append(f"With {len(tested)} comparisons, about {expected:.0f} could be flagged by "
                   "chance alone even if there were no real gaps; weigh isolated small gaps "
                   "accordingly.")
    between = result.between
    if len(between):
        sig = between[between.difference_significant.fillna(False).astype(bool)]
        sig = sig.sort_values("difference", ascending=False).head(MAX_BETWEEN_FINDINGS)
        for _, row in sig.iterrows():
            phrase = _metric_phrase(row.metric, row["class"])
            out.append(
                f"Largest between-group gap in {phrase} across {row.grouping}: "
                f"{_fmt(row.difference)} ({level}% CI {_fmt(row.difference_ci_low)}–"
                f"{_fmt(row.difference_ci_high)}) between {describe_group(row.grouping, row.group_high)} "
                f"({_fmt(row.value_high)}) and {describe_group(row.grouping, row.group_low)} "
                f"({_fmt(row.value_low)}); ratio {_fmt(row.ratio)}.")
    return out


# --- report ------------------------------------------------------------------------------


def _ci_text(low: float, high: float) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "–"
    return f"[{low:.3f}, {high:.3f}]"


def _cell(row: Any) -> Any:
    return "undefined" if row.reason else row.value


def _summary_table(result: AuditResult, grouping: str) -> Table:
    rows = result.metrics
    head_metrics = [m for m in ("accuracy", "macro_f1", "ece", "mean_confidence")
                    if (rows.metric == m).any()]
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
                record[_SHORT[metric]] = _cell(row)
                record[f"{_SHORT[metric]} 95% CI"] = row.reason or _ci_text(row.ci_low, row.ci_high)
        records.append(record)
    return Table("Summary by group", pd.DataFrame.from_records(records),
                 note="Intervals: stratified bootstrap percentile intervals. ECE: expected "
                      "calibration error of the top-label confidence (15 equal-width bins).")


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
                      "across groups).")


def _class_tables(result: AuditResult, grouping: str) -> list[Table]:
    rows = result.metrics[result.metrics.grouping.isin([grouping, "overall"])
                          & (result.metrics["class"] != "")
                          & ~result.metrics.metric.isin(["label_rate"])]
    tables = []
    for cls in result.classes:
        block = rows[rows["class"] == cls]
        wide = {}
        for row in block.itertuples():
            group = "overall" if row.grouping == "overall" else row.group
            wide.setdefault(group, {"n": row.n})[_SHORT[row.metric]] = (
                "undefined" if row.reason else row.value)
        frame = pd.DataFrame.from_dict(wide, orient="index")
        frame.index.name = "group"
        tables.append(Table(f"'{cls}'", frame))
    return tables


def _undefined_table(result: AuditResult, grouping: str) -> Table | None:
    rows = result.undefined
    rows = rows[rows.grouping.isin([grouping, "overall"])]
    if not len(rows):
        return None
    rows = rows.assign(metric=rows.metric.map(_SHORT))
    return Table("Undefined metrics", rows.drop(columns="grouping").reset_index(drop=True),
                 note="These metrics cannot be computed from the data of the group; they are "
                      "not zero and are not tested.")


def _gap_table(result: AuditResult, grouping: str) -> Table:
    gaps = result.gaps[result.gaps.grouping == grouping]
    # significant first, then the other tested gaps, then untested ones; largest first
    order = pd.DataFrame({"significant": gaps.difference_significant.eq(True),
                          "tested": gaps.difference_significant.notna(),
                          "size": gaps.difference.abs().fillna(-1.0)})
    gaps = gaps.loc[order.sort_values(["significant", "tested", "size"], ascending=False).index]
    frame = pd.DataFrame({
        "group": gaps.group, "n": gaps.n, "metric": gaps.metric.map(_SHORT), "class": gaps["class"],
        "value": gaps.value, "overall": gaps.overall, "difference": gaps.difference,
        "difference 95% CI": [_ci_text(a, b) for a, b in zip(gaps.difference_ci_low, gaps.difference_ci_high)],
        "significant": gaps.difference_significant,
        "ratio": gaps.ratio,
        "ratio 95% CI": [_ci_text(a, b) for a, b in zip(gaps.ratio_ci_low, gaps.ratio_ci_high)],
        "ratio significant": gaps.ratio_significant,
        "note": gaps.reason,
    }).reset_index(drop=True)
    return Table("Gaps against the overall population", frame,
                 note="difference = group − overall; ratio = group / overall. BPSN and BNSP AUCs "
                      "are compared with the overall AUC. 'significant': the interval excludes "
                      "0 (difference) or 1 (ratio); '–' when not tested (small group, undefined "
                      "metric or no bootstrap).")


def _between_table(result: AuditResult, grouping: str) -> Table | None:
    rows = result.between[result.between.grouping == grouping]
    if not len(rows):
        return None
    frame = pd.DataFrame({
        "metric": rows.metric.map(_SHORT), "class": rows["class"],
        "highest": rows.group_high, "value (highest)": rows.value_high,
        "lowest": rows.group_low, "value (lowest)": rows.value_low,
        "difference": rows.difference,
        "difference 95% CI": [_ci_text(a, b) for a, b in zip(rows.difference_ci_low, rows.difference_ci_high)],
        "significant": rows.difference_significant,
        "ratio (lowest / highest)": rows.ratio,
        "ratio 95% CI": [_ci_text(a, b) for a, b in zip(rows.ratio_ci_low, rows.ratio_ci_high)],
        "ratio significant": rows.ratio_significant,
    }).reset_index(drop=True)
    return Table("Largest between-group gaps", frame,
                 note="Among groups of at least the minimum size with a defined value: the "
                      "highest minus the lowest group. The pair is chosen on the data, so the "
                      "interval is slightly optimistic about the size of the gap.")


def _grouping_section(result: AuditResult, grouping: str) -> Section:
    from tonecls.audit import plots

    sizes = result.group_sizes[result.group_sizes.grouping == grouping]
    text = (f"{len(sizes)} groups of {grouping}; {int(sizes.small.sum())} below the minimum size "
            f"of {result.settings['min_group_size']} audited rows.")
    if result.multilabel and result.labelled:
        text += (" Multi-label head: each label is audited as a binary task (see the per-class "
                 "tables); there is no confusion matrix across labels.")
    tables = [_summary_table(result, grouping), _distribution_table(result, grouping)]
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
        figures.append(Figure(f"Confusion matrices by {grouping}", plots.confusion_grid(matrices, result.classes),
                              caption="Rows: true class; cells: share of the row (recall on the "
                                      "diagonal)."))
    if result.calibration:
        curves = {plots.OVERALL_LABEL: result.calibration["overall"]["all"],
                  **result.calibration.get(grouping, {})}
        xlabel, ylabel = (("predicted probability (every post × label)", "observed frequency")
                          if result.multilabel else ("confidence of the predicted class", "accuracy"))
        figures.append(Figure(f"Calibration curves by {grouping}", plots.calibration_curves(curves, xlabel, ylabel),
                              caption="Points above the diagonal: under-confident; below: "
                                      "over-confident. Bins with fewer than 10 rows are omitted."))
    subsections = [Section("Per-class metrics", text=(
        "Per class (one-vs-rest for single-label heads, each label a binary task for multi-label "
        "heads): selection rate, precision, recall (TPR), F1, false-positive rate, class-wise "
        "ECE, and the Borkan et al. (2019) AUCs: subgroup AUC (within the group), BPSN AUC "
        "(background positives, subgroup negatives: low values mean the group's negatives score "
        "high, i.e. false positives) and BNSP AUC (background negatives, subgroup positives: low "
        "values mean the group's positives score low, i.e. misses)."
        if result.labelled else "Selection rate per class (share of posts predicted as the class)."),
        tables=_class_tables(result, grouping) + [t for t in [_undefined_table(result, grouping)] if t])]
    subsections.append(Section("Gaps against the overall population", tables=[_gap_table(result, grouping)]))
    between = _between_table(result, grouping)
    if between is not None:
        subsections.append(Section("Largest between-group gaps", tables=[between]))
    return Section(f"Groups by {grouping}", text=text, tables=tables, figures=figures,
                   subsections=subsections)


def _method_text(result: AuditResult) -> str:
    s = result.settings
    level = round(100 * s["confidence_level"])
    return "\n\n".join([
        f"Rows whose tonecls_status is not 'ok' (and rows without a prediction"
        f"{' or a label' if result.labelled else ''}) are excluded and counted. Group values "
        "that are missing form their own group '(missing)'.",
        "Point estimates of selection rate, recall (true-positive rate), false-positive rate, "
        "precision, F1, accuracy and macro-F1 are computed with fairlearn's MetricFrame; AUCs with "
        "scikit-learn's roc_auc_score. Macro-F1 averages the F1 of the classes labelled or "
        "predicted in the group. ECE uses 15 equal-width probability bins.",
        f"Intervals: {s['n_bootstrap']} stratified bootstrap resamples (rows resampled with "
        f"replacement within each cell of {', '.join(s['stratified_by'])}, so group sizes stay "
        f"fixed; seed {s['seed']}), {level}% percentile intervals. A gap is flagged significant "
        "when its interval excludes 0 (difference) or 1 (ratio); groups below the minimum size "
        f"({s['min_group_size']}) are not tested. Bootstrapped AUCs use scores binned into 200 "
        "quantile bins, re-centred on the exact estimate. Intervals are left out when fewer than "
        "half of the resamples define the metric.",
        "A metric a group cannot define (no examples of a class, no negatives, no predictions of "
        "a class) is reported as undefined with the reason, never as 0.",
        "Caveats: the expected calibration error is biased upward in small samples, so smaller "
        "groups tend to show a higher ECE than the whole population; the largest between-group "
        "gap compares the pair chosen on the data, which slightly overstates it.",
    ])


def build_report(result: AuditResult, provenance: dict[str, Any], title: str | None = None) -> Report:
    """The full audit report: findings, data, one section per grouping, method, provenance."""
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
    sections = [scope, *(_grouping_section(result, g) for g in result.groupings),
                Section("Method", text=_method_text(result))]
    full_provenance = {
        **provenance,
        "head": result.head,
        "label column": result.settings["label_col"] or "(none)",
        "group columns": ", ".join(result.group_cols),
        "rows read": result.n_rows,
        "rows audited": result.n_audited,
        "rows excluded by reason": result.excluded or "none",
        "bootstrap": f"{result.settings['n_bootstrap']} resamples, seed {result.settings['seed']}",
        "minimum group size": result.settings["min_group_size"],
        "tonecls version": __version__,
    }
    return Report(
        title=title or f"Bias audit: {result.head} by {', '.join(result.group_cols)}",
        findings=result.findings, sections=sections, provenance=full_provenance,
        checklist=REVIEW_CHECKLIST, data=result.to_dict())
