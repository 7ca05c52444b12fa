"""Compare two counterfactual-probe reports: how sensitive each model is to identity terms.

Usage: python benchmarks/probe_shift.py BEFORE.json AFTER.json

Both files are ``tonecls probe`` JSON reports (e.g. ``reports/probes.json`` of two model
versions: ``git show REV:reports/probes.json > before.json``). Prints, per probe dimension
and head, the mean absolute paired difference in predicted probability between identity
groups (over all group pairs and classes), before and after: a lower figure means the head's
outputs move less when only the identity term of a sentence changes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd


def paired_comparisons(path: str) -> pd.DataFrame:
    """The paired-comparison rows of a probe report, with their ``dimension``."""
    report = json.loads(Path(path).read_text(encoding="utf-8"))
    rows = []
    for section in report["sections"]:
        for subsection in section.get("subsections", []):
            for table in subsection.get("tables", []):
                for record in table.get("records", []):
                    if "mean_diff" in record:
                        rows.append({"dimension": subsection["title"], **record})
    if not rows:
        raise SystemExit(f"{path} holds no paired comparisons; is it a `tonecls probe` JSON report?")
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        raise SystemExit(__doc__)
    tables = []
    for label, path in zip(("before", "after"), args):
        frame = paired_comparisons(path)
        frame["abs_diff"] = frame["mean_diff"].abs()
        table = frame.pivot_table(index="dimension", columns="head", values="abs_diff", aggfunc="mean")
        table.loc["all"] = frame.groupby("head")["abs_diff"].mean()
        tables.append(table.add_prefix(f"{label} "))
    both = pd.concat(tables, axis=1)
    heads = sorted({c.split(" ", 1)[1] for c in both.columns})
    both = both[[f"{when} {head}" for head in heads for when in ("before", "after")]]
    print("mean |paired difference| in predicted probability, over group pairs and classes")
    print(both.round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
