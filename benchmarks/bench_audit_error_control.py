"""Bias audit error control: false findings on random groups, power on planted gaps.

Real scored data: the TweetEval emotion (1,421 posts) and sentiment (12,284 posts) test sets
scored by the bundled default model (cached under ``benchmarks/_work/``, rescored when the
bundle changes), with the gold labels.

1. Null study. ``--seeds`` audits per data set with group columns assigned **at random**, so
   every gap is chance: ``g3`` (three groups of 5%, 25%, 70% of the posts) and ``g2`` (two
   halves). Per audit: how many gaps each rule would report, from the same audit's raw
   p-values and intervals, side by side:

   - ``ci95``: the 95% interval of the difference excludes 0 (no multiplicity control);
   - ``raw p``: bootstrap p < 0.05, no correction;
   - ``BH``, ``BY``, ``Holm``: adjusted p < 0.05 over all gaps of the audit;
   - ``BH+min``, ``BY+min``, ``Holm+min``: the same and ``|difference| >= 0.05`` (a finding,
     ``BH+min`` is the default).

2. Power. ``--power-seeds`` audits per planted size: random groups as above, then in group
   ``g3=b`` (25% of the posts) a share of the correct predictions of one class is moved to
   the class the model ranks second, so that the group's recall of that class drops by
   ``delta``. Detection: the gap (``g3=b``, recall, class) is flagged. The gap to the overall
   population is smaller than ``delta`` (the group is part of the population); its mean is
   reported beside.

    nice -n 10 .venv/bin/python -m benchmarks.bench_audit_error_control --seeds 100 --power-seeds 20
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import harness
from benchmarks.workloads import scored_test_set
from tonecls.audit import audit_groups
from tonecls.stats import adjust_pvalues

PLANTED = {"emotion": "anger", "sentiment": "negative"}
DELTAS = (0.03, 0.05, 0.10, 0.15, 0.20)
RULES = ("ci95", "raw p", "BH", "BY", "Holm", "BH+min", "BY+min", "Holm+min")
MIN_DIFFERENCE = 0.05


def random_groups(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return frame.assign(g3=rng.choice(["a", "b", "c"], size=len(frame), p=[0.05, 0.25, 0.70]),
                        g2=rng.choice(["x", "y"], size=len(frame)))


def plant(frame: pd.DataFrame, task: str, delta: float, seed: int) -> pd.DataFrame:
    """Lower the recall of ``PLANTED[task]`` in group g3=b by ``delta``: move that share of the
    group's positives from correct to the model's second choice (probabilities swapped)."""
    frame = frame.copy()
    cls = PLANTED[task]
    columns = [c for c in frame.columns if c.startswith(f"{task}_p_")]
    classes = [c[len(f"{task}_p_"):] for c in columns]
    in_group = (frame.g3 == "b") & (frame.gold == cls)
    correct = in_group & (frame[f"{task}_label"] == cls)
    recall = correct.sum() / max(in_group.sum(), 1)
    share = min(1.0, delta / recall) if recall else 0.0
    rng = np.random.default_rng(seed + 10_000)
    hit = (correct & (rng.random(len(frame)) < share)).to_numpy()
    proba = np.array(frame[columns].to_numpy(dtype=float))  # writable copy
    c = classes.index(cls)
    second = np.argsort(-proba, axis=1)[:, 1]
    rows = np.flatnonzero(hit)
    top = proba[rows, c].copy()
    proba[rows, c] = proba[rows, second[rows]]
    proba[rows, second[rows]] = top
    frame[columns] = proba
    frame.loc[hit, f"{task}_label"] = np.array(classes)[second[rows]]
    frame.loc[hit, f"{task}_confidence"] = top
    return frame


def counts(gaps: pd.DataFrame) -> dict[str, int]:
    p = gaps.p_value.to_numpy(dtype=float)
    big = gaps.difference.abs().to_numpy(dtype=float) >= MIN_DIFFERENCE
    out = {"tested": int(np.isfinite(p).sum()),
           "ci95": int(((gaps.difference_ci_low > 0) | (gaps.difference_ci_high < 0)).sum()),
           "raw p": int(np.nansum(p < 0.05))}
    for name, method in (("BH", "fdr_bh"), ("BY", "fdr_by"), ("Holm", "holm")):
        significant = np.nan_to_num(adjust_pvalues(p, method), nan=1.0) < 0.05
        out[name] = int(significant.sum())
        out[f"{name}+min"] = int((significant & big).sum())
    return out


def audit(frame: pd.DataFrame, task: str, n_bootstrap: int, seed: int) -> tuple[Any, harness.Sample]:
    """The audit of ``frame`` over the random groupings, and its :class:`harness.Sample`."""
    return harness.timed(lambda: audit_groups(frame, head=task, label_col="gold", group_cols=["g3", "g2"],
                                              n_bootstrap=n_bootstrap, seed=seed, quiet=True))


def null_study(data: pd.DataFrame, task: str, seeds: int, n_bootstrap: int) -> pd.DataFrame:
    rows = []
    for seed in range(seeds):
        result, sample = audit(random_groups(data, seed), task, n_bootstrap, seed)
        gaps = result.gaps
        calibration = gaps[gaps.metric.isin(["ece", "class_ece"]) & gaps.p_value.notna()]
        small = gaps[(gaps.grouping == "g3") & (gaps.group == "a") & (gaps.metric == "ece")]
        overall_ece = result.overall.get(("ece", ""), np.nan)
        rows.append({"task": task, "seed": seed, **counts(gaps), "flagged": int(gaps.flagged.sum()),
                     "ece raw p<0.05": int((calibration.p_value < 0.05).sum()),
                     "ece tests": len(calibration),
                     "small group ECE > overall": bool(len(small) and small.value.iloc[0] > overall_ece),
                     "wall s": sample.wall_s, "cpu s": sample.cpu_s})
    return pd.DataFrame(rows)


def power_study(data: pd.DataFrame, task: str, seeds: int, n_bootstrap: int) -> pd.DataFrame:
    cls = PLANTED[task]
    rows = []
    for delta in DELTAS:
        for seed in range(seeds):
            frame = plant(random_groups(data, 1000 + seed), task, delta, seed)
            result, _ = audit(frame, task, n_bootstrap, seed)
            gaps = result.gaps
            gap = gaps[(gaps.grouping == "g3") & (gaps.group == "b") & (gaps.metric == "recall")
                       & (gaps["class"] == cls)].iloc[0]
            adjusted = {name: adjust_pvalues(gaps.p_value.to_numpy(dtype=float), method)[gaps.index.get_loc(gap.name)]
                        for name, method in (("BH", "fdr_bh"), ("BY", "fdr_by"), ("Holm", "holm"))}
            big = abs(gap.difference) >= MIN_DIFFERENCE
            rows.append({"task": task, "delta": delta, "seed": seed, "gap to overall": gap.difference,
                         "positives in group": int(gap.support),
                         **{f"{k}+min": bool(v < 0.05 and big) for k, v in adjusted.items()},
                         **{k: bool(v < 0.05) for k, v in adjusted.items()},
                         "flagged": bool(gap.flagged),
                         # g3's other gaps move with the planted one (the population changed);
                         # g2 is independent of it, so its findings are false
                         "findings in g3": int(gaps.flagged[gaps.grouping == "g3"].sum() - gap.flagged),
                         "findings in g2": int(gaps.flagged[gaps.grouping == "g2"].sum())})
    return pd.DataFrame(rows)


def null_tables(null: pd.DataFrame) -> tuple[harness.Table, harness.Table]:
    """The rules' reports per audit of random groups, and the calibration and time figures."""
    rules = harness.Table(["rule", "gaps reported per audit", "audits with any", "total"])
    for rule in RULES:
        rules.add(rule, f"{null[rule].mean():.3f}", f"{100 * (null[rule] > 0).mean():.0f}%", int(null[rule].sum()))
    facts = harness.Table(["measure", "value"])
    facts.add("tested gaps per audit (mean)", f"{null.tested.mean():.0f}")
    facts.add("flagged (the audit's own findings)", f"{null.flagged.sum()} in {len(null)} audits")
    facts.add("calibration gaps with raw p < 0.05",
              f"{null['ece raw p<0.05'].sum()} of {null['ece tests'].sum()} tests "
              f"({100 * null['ece raw p<0.05'].sum() / max(null['ece tests'].sum(), 1):.1f}%)")
    facts.add("audits where the 5% group's ECE exceeds the overall ECE",
              f"{100 * null['small group ECE > overall'].mean():.0f}%")
    facts.add("time per audit (median)", f"{null['wall s'].median():.2f} s wall, {null['cpu s'].median():.2f} s CPU")
    return rules, facts


def power_table(power: pd.DataFrame) -> harness.Table:
    """Per planted size: the gap to overall, how often each rule finds it, other findings."""
    table = harness.Table(["delta", "gap to overall", "positives in group", "found: BH+min (default)", "BY+min",
                           "Holm+min", "BH, no minimum", "other g3 findings", "false (g2) findings"], 0)
    for delta, group in power.groupby("delta"):
        table.add(f"{delta:.2f}", f"{group['gap to overall'].mean():.3f}", f"{group['positives in group'].mean():.0f}",
                  *(f"{100 * group[c].mean():.0f}%" for c in ("BH+min", "BY+min", "Holm+min", "BH")),
                  f"{group['findings in g3'].mean():.2f}", f"{group['findings in g2'].mean():.2f}")
    return table


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--seeds", type=int, default=100, help="random-group audits per data set")
    parser.add_argument("--power-seeds", type=int, default=20, help="audits per planted gap size")
    parser.add_argument("--n-bootstrap", type=int, default=1000)
    parser.add_argument("--tasks", nargs="+", default=["emotion", "sentiment"])
    args = parser.parse_args(argv)
    if args.smoke:
        args.seeds, args.power_seeds, args.n_bootstrap, args.tasks = 2, 1, 30, ["emotion"]
    with harness.Report(args, "Bias audit: error control") as report:
        for task in args.tasks:
            data = scored_test_set(task, Path(report.work_dir))
            if args.seeds:
                rules, facts = null_tables(null_study(data, task, args.seeds, args.n_bootstrap))
                report.table(rules, f"### {task}: {args.seeds} audits of random groups, {len(data):,} posts, "
                                    f"{args.n_bootstrap} resamples each")
                report.table(facts)
            if args.power_seeds:
                report.table(power_table(power_study(data, task, args.power_seeds, args.n_bootstrap)),
                             f"### {task}: power, recall of '{PLANTED[task]}' lowered by delta in g3=b "
                             f"(25% of posts), {args.power_seeds} audits per delta")


if __name__ == "__main__":
    main()
