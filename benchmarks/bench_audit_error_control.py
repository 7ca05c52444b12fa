"""Error control of the group audit: false findings on random groups, power on planted gaps.

Real scored data: the TweetEval emotion (1,421 posts) and sentiment (12,284 posts) test sets
scored by the bundled default model (cached by ``benchmarks/scored_tweeteval.py``), with the
gold labels.

1. Null study. ``--seeds`` audits per data set with group columns assigned **at random**, so
   every gap is chance: ``g3`` (three groups of 5%, 25%, 70% of the posts) and ``g2`` (two
   halves). Per audit: how many gaps each rule would report, from the same audit's raw
   p-values and intervals, side by side:

   - ``ci95``: the 95% interval of the difference excludes 0 (the rule before this change);
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

    nice -n 10 .venv/bin/python benchmarks/bench_audit_error_control.py --seeds 100 --power-seeds 20
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import pandas as pd
from scored_tweeteval import scored_test_set

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


def audit(frame: pd.DataFrame, task: str, n_bootstrap: int, seed: int):
    start, cpu = time.perf_counter(), time.process_time()
    result = audit_groups(frame, head=task, label_col="gold", group_cols=["g3", "g2"],
                          n_bootstrap=n_bootstrap, seed=seed, quiet=True)
    return result, time.perf_counter() - start, time.process_time() - cpu


def null_study(task: str, seeds: int, n_bootstrap: int) -> pd.DataFrame:
    data = scored_test_set(task)
    rows = []
    for seed in range(seeds):
        result, wall, cpu = audit(random_groups(data, seed), task, n_bootstrap, seed)
        gaps = result.gaps
        calibration = gaps[gaps.metric.isin(["ece", "class_ece"]) & gaps.p_value.notna()]
        small = gaps[(gaps.grouping == "g3") & (gaps.group == "a") & (gaps.metric == "ece")]
        overall_ece = result.overall.get(("ece", ""), np.nan)
        rows.append({"task": task, "seed": seed, **counts(gaps), "flagged": int(gaps.flagged.sum()),
                     "ece raw p<0.05": int((calibration.p_value < 0.05).sum()),
                     "ece tests": len(calibration),
                     "small group ECE > overall": bool(len(small) and small.value.iloc[0] > overall_ece),
                     "wall s": wall, "cpu s": cpu})
    return pd.DataFrame(rows)


def power_study(task: str, seeds: int, n_bootstrap: int) -> pd.DataFrame:
    data = scored_test_set(task)
    cls = PLANTED[task]
    rows = []
    for delta in DELTAS:
        for seed in range(seeds):
            frame = plant(random_groups(data, 1000 + seed), task, delta, seed)
            result, _, _ = audit(frame, task, n_bootstrap, seed)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100, help="random-group audits per data set")
    parser.add_argument("--power-seeds", type=int, default=20, help="audits per planted gap size")
    parser.add_argument("--n-bootstrap", type=int, default=1000)
    parser.add_argument("--tasks", nargs="+", default=["emotion", "sentiment"])
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"{args.n_bootstrap} resamples per audit")
    pd.set_option("display.width", 200)
    for task in args.tasks:
        if args.seeds:
            _print_null(task, null_study(task, args.seeds, args.n_bootstrap))
        if args.power_seeds:
            power = power_study(task, args.power_seeds, args.n_bootstrap)
            table = power.groupby("delta").agg(**{
                "gap to overall": ("gap to overall", "mean"),
                "positives in group": ("positives in group", "mean"),
                "found BH+min": ("BH+min", "mean"), "found BY+min": ("BY+min", "mean"),
                "found Holm+min": ("Holm+min", "mean"), "found BH (no min)": ("BH", "mean"),
                "other g3 findings": ("findings in g3", "mean"),
                "false (g2) findings": ("findings in g2", "mean")})
            print(f"\n## {task}: power, recall of '{PLANTED[task]}' lowered by delta in g3=b "
                  f"(25% of posts), {args.power_seeds} audits per delta")
            print(table.to_string(float_format=lambda v: f"{v:.3f}"))


def _print_null(task: str, null: pd.DataFrame) -> None:
    n = len(null)
    if n:
        print(f"\n## {task}: {n} audits of random groups, {null.tested.mean():.0f} tested gaps each")
        summary = pd.DataFrame({
            "rule": RULES,
            "gaps reported per audit": [null[r].mean() for r in RULES],
            "audits with any": [(null[r] > 0).mean() for r in RULES],
            "total": [null[r].sum() for r in RULES]})
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print(f"flagged (the audit's own findings): {null.flagged.sum()} in {n} audits")
        print(f"calibration gaps: raw p < 0.05 in {null['ece raw p<0.05'].sum()} of "
              f"{null['ece tests'].sum()} tests; the 5% group's ECE exceeds the overall ECE in "
              f"{null['small group ECE > overall'].mean():.0%} of audits")
        print(f"time per audit: {null['wall s'].median():.2f} s wall, {null['cpu s'].median():.2f} s CPU (median)")


if __name__ == "__main__":
    main()
