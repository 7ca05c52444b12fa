"""Speed of the group audit and coverage of its bootstrap intervals (tonecls.audit.groups).

1. Speed: ``audit_groups`` on a synthetic scored export (single-label head, 4 classes, 3 dialect
   groups x 2 gender groups, labels) with ``--rows`` rows, without bootstrap (point estimates:
   fairlearn MetricFrame, scikit-learn AUCs) and with ``--n-bootstrap`` resamples, with and
   without ``--intersections``; wall clock and CPU time of this process (best of ``--repeat``;
   CPU time is the steadier figure on a shared machine) and peak resident memory.
2. Coverage: how often the 95% stratified-bootstrap interval contains the population value.
   A population of 300,000 synthetic rows with a known recall deficit of 'anger' in group
   ``aa``; ``--coverage-reps`` samples of ``--coverage-rows`` rows are drawn from it and the
   interval of (a) recall of 'anger' in ``aa`` and (b) its gap to the overall recall is
   computed with the audit's own bootstrap engine (``--coverage-bootstrap`` resamples each).

    nice -n 10 .venv/bin/python benchmarks/bench_audit.py --rows 10000 --n-bootstrap 1000
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tonecls.audit.groups import audit_groups, head_arrays
from tonecls.audit.metrics import build_features, metrics_from_sums, weighted_sums
from tonecls.stats import percentile_interval, stratified_weights

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support import scored_frame  # noqa: E402  (the audit tests' synthetic scored export)


def synthetic(rows: int, seed: int = 0) -> pd.DataFrame:
    """Scored rows; the model misses 'anger' more often in dialect group 'aa' (accuracy 0.5)."""
    return scored_frame(rows, seed, recall_drop=("aa", 0, 0.5))


def speed(rows: int, n_bootstrap: int, repeat: int) -> list[dict]:
    frame = synthetic(rows)
    audit_groups(frame.head(500), head="emotion", label_col="gold", group_cols=["dialect"],
                 n_bootstrap=10, quiet=True)  # warm up imports
    results = []
    for intersections in (False, True):
        for boot in (0, n_bootstrap):
            best = best_cpu = float("inf")
            for _ in range(repeat):
                start, start_cpu = time.perf_counter(), time.process_time()
                audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect", "gender"],
                             intersections=intersections, n_bootstrap=boot, seed=0, quiet=True)
                best = min(best, time.perf_counter() - start)
                best_cpu = min(best_cpu, time.process_time() - start_cpu)
            results.append({"rows": rows, "groupings": 3 if intersections else 2,
                            "n_bootstrap": boot, "wall_seconds": round(best, 2),
                            "cpu_seconds": round(best_cpu, 2)})
    return results


def coverage(reps: int, rows: int, n_bootstrap: int, seed: int = 1) -> dict:
    population = synthetic(300_000, seed=seed)
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
        order = np.argsort(codes, kind="stable")
        rows_sorted = sample[order]
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
    return {"reps": reps, "rows": rows, "n_bootstrap": n_bootstrap,
            "true recall(anger | aa)": round(float(truth_group), 4),
            "true gap to overall": round(float(truth_group - truth_all), 4),
            "coverage of the value": hits_value / reps, "coverage of the gap": hits_gap / reps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--n-bootstrap", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--coverage-reps", type=int, default=200)
    parser.add_argument("--coverage-rows", type=int, default=2000)
    parser.add_argument("--coverage-bootstrap", type=int, default=500)
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(pd.DataFrame(speed(args.rows, args.n_bootstrap, args.repeat)).to_string(index=False))
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if args.coverage_reps:
        for key, value in coverage(args.coverage_reps, args.coverage_rows, args.coverage_bootstrap).items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
