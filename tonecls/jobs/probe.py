"""The ``probe`` file job: run the counterfactual probes, write the report and the scores."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tonecls.audit.probes import ProbeResult, run_probes
from tonecls.io import atomic_write
from tonecls.io.lock import report_lock

__all__ = ["probe_file"]


def probe_file(output: str | os.PathLike, model: Any = None, **options: Any) -> tuple[ProbeResult, dict[str, Path]]:
    """Run :func:`~tonecls.audit.run_probes` (``options`` go to it) and write the report as
    ``output`` + ``.html`` / ``.md`` / ``.json`` and the scored sentences as ``output`` +
    ``_scores.csv``. Returns the result and the paths written."""
    from tonecls.report import probe_report, report_target, write_report

    out_dir, name = report_target(output)  # a bad path fails before the slow work
    with report_lock(out_dir, name):
        result = run_probes(model, **options)
        paths = write_report(probe_report(result), out_dir, name)
        paths["scores"] = out_dir / f"{name}_scores.csv"
        with atomic_write(paths["scores"], newline="") as handle:
            result.scores.to_csv(handle, index=False)
        return result, paths
