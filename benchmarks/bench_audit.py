"""Bias audit speed, and coverage of its bootstrap intervals (``tonecls.audit.groups``).

1. Speed: ``audit_groups`` on a synthetic scored export (single-label head, 4 classes, 3 dialect
   x 2 gender groups, labels; the model misses 'anger' more often in one group) of ``--rows``
   rows, group columns ``dialect`` and ``gender`` (2 groupings) or with ``intersections`` (3
   groupings, 11 groups), without resampling (point estimates) and with ``--n-bootstrap``
   resamples (intervals, size-matched calibration nulls, tests); the four variants alternate,
   best of ``--repeat`` by CPU time of this process.
2. Coverage: how often the 95% stratified-bootstrap interval holds the population value. From a
   population of ``--population`` synthetic rows with a known recall deficit of 'anger' in group
   ``aa``, ``--coverage-reps`` samples of ``--coverage-rows`` rows are drawn, and the interval of
   (a) recall of 'anger' in ``aa`` and (b) its gap to the overall recall is computed with the
   audit's own bootstrap engine (``--coverage-bootstrap`` resamples each).

    nice -n 10 .venv/bin/python -m benchmarks.bench_audit --rows 10000 --n-bootstrap 1000 --repeat 3
    nice -n 10 .venv/bin/python -m benchmarks.bench_audit --rows 100000 --n-bootstrap 1000 --repeat 1 --coverage-reps 0
    nice -n 10 .venv/bin/python -m benchmarks.bench_audit --rows 2000 --repeat 1 --coverage-reps 0 \
        --many-groups 4000x4000 9000x300 30000x1000
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from benchmarks import harness
from benchmarks.workloads import test_support
from tonecls.audit.groups import audit_groups, head_arrays
from tonecls.audit.metrics import build_features, metrics_from_sums, weighted_sums
from tonecls.stats import percentile_interval, stratified_weights


def synthetic(rows: int, seed: int = 0) -> pd.DataFrame:
    """Scored rows; the model misses 'anger' more often in dialect group 'aa' (accuracy 0.5)."""
    return test_support().scored_frame(rows, seed, recall_drop=("aa", 0, 0.5))  # the audit tests' export


def speed(rows: int, n_bootstrap: int, repeat: int) -> harness.Table:
    """CPU and wall seconds of the four audits, alternating, best of ``repeat``."""
    frame = synthetic(rows)
    audit_groups(frame.head(500), head="emotion", label_col="gold", group_cols=["dialect"],
                 n_bootstrap=10, quiet=True)  # warm up imports

    def audit(intersections: bool, resamples: int) -> Callable[[], object]:
        return lambda: audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect", "gender"],
                                    intersections=intersections, n_bootstrap=resamples, seed=0, quiet=True)

    variants = {(groupings, resamples): audit(groupings == 3, resamples)
                for groupings in (2, 3) for resamples in (0, n_bootstrap)}
    timings = harness.alternate(variants, repeat, keep_results=False)
    table = harness.Table(["rows", "groupings", "resamples", "CPU s", "wall s", "CPU vs no resampling"], 0)
    for (groupings, resamples), t in timings.items():
        table.add(f"{rows:,}", groupings, f"{resamples:,}", harness.number(t.best_cpu_s, 2),
                  harness.number(t.best_wall_s, 2), harness.ratio(t.best_cpu_s, timings[(groupings, 0)].best_cpu_s))
    return table


def coverage(population_rows: int, reps: int, rows: int, n_bootstrap: int, seed: int = 1) -> harness.Table:
    """Share of ``reps`` samples whose 95% interval holds the population's value."""
    population = synthetic(population_rows, seed=seed)
    arrays, _, _ = head_arrays(population, "emotion", "gold")
    in_aa = population.dialect.to_numpy() == "aa"
    features, layout = build_features(arrays)
    truth_group = metrics_from_sums(np.asarray(features[in_aa].sum(axis=0)), layout, 4)["recall"][0, 0]
    truth_all = metrics_from_sums(np.asarray(features.sum(axis=0)), layout, 4)["recall"][0, 0]
    rng = np.random.default_rng(seed)
    hits_value = hits_gap = 0
    for rep in range(reps):
        sample = rng.choice(len(population), size=rows, replace=False)
        codes = np.where(in_aa[sample], 0, 1)
        rows_sorted = sample[np.argsort(codes, kind="stable")]
        n_aa = int((codes == 0).sum())
        strata = [features[rows_sorted[:n_aa]], features[rows_sorted[n_aa:]]]
        group_reps, all_reps = [], []
        for chunk in stratified_weights([n_aa, rows - n_aa], n_bootstrap, seed=rep):
            sums = [weighted_sums(f, w) for f, w in zip(strata, chunk)]
            group_reps.append(metrics_from_sums(sums[0], layout, 4)["recall"][:, 0])
            all_reps.append(metrics_from_sums(sums[0] + sums[1], layout, 4)["recall"][:, 0])
        group_reps, all_reps = np.concatenate(group_reps), np.concatenate(all_reps)
        low, high, _ = percentile_interval(group_reps[:, None])
        hits_value += bool(low[0] <= truth_group <= high[0])
        low, high, _ = percentile_interval((group_reps - all_reps)[:, None])
        hits_gap += bool(low[0] <= truth_group - truth_all <= high[0])
    table = harness.Table(["interval", "population value", "covers it"])
    table.add("recall of 'anger' in `aa`", f"{truth_group:.4f}", f"{100 * hits_value / reps:.1f}% ({hits_value} / {reps})")
    table.add("its gap to the overall recall", f"{truth_group - truth_all:.4f}",
              f"{100 * hits_gap / reps:.1f}% ({hits_gap} / {reps})")
    return table


def many_groups(layouts: list[tuple[int, int]], n_bootstrap: int, work_dir) -> harness.Table:
    """The audit and its report by a column with many groups: ``(rows, groups)`` pairs, rows
    spread evenly over the groups; the audit folds what ``max_groups`` (50) leaves out."""
    from tonecls.report import audit_report, write_report

    table = harness.Table(["rows", "groups", "audited one by one", "audit CPU s", "report CPU s",
                           "report size (HTML + MD + JSON, MB)"], 0)
    for rows, groups in layouts:
        frame = synthetic(rows).assign(community=[f"c{i % groups:05d}" for i in range(rows)])
        result, audit = harness.timed(lambda: audit_groups(frame, head="emotion", label_col="gold",
                                                           group_cols=["community"], n_bootstrap=n_bootstrap,
                                                           seed=0, quiet=True))
        paths, written = harness.timed(lambda: write_report(audit_report(result), work_dir, "many_groups"))
        size = sum(path.stat().st_size for kind, path in paths.items() if kind != "figures") / 1e6
        listed = int((~result.group_sizes.group.str.startswith("(")).sum())
        table.add(f"{rows:,}", f"{groups:,}", listed, harness.number(audit.cpu_s, 2),
                  harness.number(written.cpu_s, 2), harness.number(size, 2))
    return table


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--n-bootstrap", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--population", type=int, default=300_000)
    parser.add_argument("--coverage-reps", type=int, default=200)
    parser.add_argument("--coverage-rows", type=int, default=2000)
    parser.add_argument("--coverage-bootstrap", type=int, default=500)
    parser.add_argument("--many-groups", nargs="*", default=[], metavar="ROWSxGROUPS",
                        help="also audit by a column with many groups, e.g. 4000x4000 30000x1000")
    args = parser.parse_args(argv)
    if args.smoke:
        args.rows, args.n_bootstrap, args.repeat, args.population = 600, 20, 1, 5_000
        args.coverage_reps, args.coverage_rows, args.coverage_bootstrap = 3, 500, 20
        args.many_groups = ["300x300"]
    with harness.Report(args, "Bias audit: speed and interval coverage") as report:
        report.table(speed(args.rows, args.n_bootstrap, args.repeat),
                     f"audit_groups, best of {args.repeat} alternating runs:")
        report.note(f"\npeak RSS of this process (data and audits): {harness.own_peak_rss_mb():,.0f} MB")
        if args.many_groups:
            layouts = [tuple(int(v) for v in text.split("x")) for text in args.many_groups]
            report.table(many_groups(layouts, args.n_bootstrap, report.work_dir),
                         f"audit by one column of many groups, {args.n_bootstrap} resamples:")
        if args.coverage_reps:
            report.table(coverage(args.population, args.coverage_reps, args.coverage_rows, args.coverage_bootstrap),
                         f"95% percentile intervals, {args.coverage_reps} samples of {args.coverage_rows:,} rows "
                         f"from {args.population:,}, {args.coverage_bootstrap} stratified resamples each:")


if __name__ == "__main__":
    main()
