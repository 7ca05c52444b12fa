"""The ``calibrate`` file job: refit one head's calibration on the user's labelled posts and save
the result as a new sealed bundle that records what it was calibrated on."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tonecls.errors import InputError
from tonecls.io import MARKER_COLUMNS, check_input_file, read_export, read_header, sha256_file
from tonecls.model.bundle import DEFAULT_BUNDLE, check_bundle_target
from tonecls.model.recalibration import RecalibrationReport
from tonecls.stats import check_seed

__all__ = ["CalibrationSummary", "calibrate_bundle"]


@dataclass
class CalibrationSummary:
    """What :func:`calibrate_bundle` did: the bundle written and the recalibration's report."""

    path: Path
    report: RecalibrationReport

    def __str__(self) -> str:
        report = self.report
        chosen = ("the bundle's calibration is kept (nothing refitted did better on held-out folds)"
                  if report.method == "unchanged" else f"{report.method}, temperature {report.temperature:.3f}")
        return (f"wrote {self.path}: head {report.head!r} recalibrated on {report.n_rows:,} labelled posts: {chosen}; "
                f"ECE on held-out folds {report.ece_before:.3f} before, {report.ece_after:.3f} after")


def _labelled_rows(path: Path, text_col: str, label_col: str) -> tuple[pd.DataFrame, int]:
    """The rows of ``path`` with a label (texts and labels), and how many rows the file has."""
    header = read_header(path)
    missing = [c for c in (text_col, label_col) if c not in header]
    if missing:
        raise InputError(f"labelled file {path} has no column(s) {missing}; its columns are {header}. Name them "
                         "with --text-col and --label-col.")
    frames = list(read_export(path, text_col=text_col, columns=[label_col], chunksize=200_000, on_bad_lines="error"))
    frame = pd.concat(frames, ignore_index=True).drop(columns=list(MARKER_COLUMNS), errors="ignore")
    labels = frame[label_col].astype("string").str.strip()
    rows = frame[(labels.notna() & labels.ne("")).to_numpy(bool)]
    if rows.empty:
        raise InputError(f"labelled file {path} has no labels: column {label_col!r} is empty in all {len(frame):,} "
                         "rows. Fill it in (a sample from `tonecls sample`), then run again.")
    return rows, len(frame)


def calibrate_bundle(labelled: str | os.PathLike, output: str | os.PathLike, *, head: str, label_col: str,
                     model: str | os.PathLike | None = None, text_col: str = "text", folds: int = 5, seed: int = 0,
                     quiet: bool = False, command: str | None = None) -> CalibrationSummary:
    """Refit ``head``'s calibration on the labelled posts of ``labelled`` (any export format:
    ``text_col`` and ``label_col``; rows without a label are skipped) with
    :func:`~tonecls.model.recalibration.recalibrate` (``folds``-fold cross-validation, fold
    assignment by ``seed``), and save the new sealed bundle to ``output``.

    The base is ``model`` (a bundle directory; default: the bundled model), which is not
    changed. Predictions change only through calibration. ``bundle.json`` (``recalibration``)
    and the model card record the rows used, the labelled file's name and SHA-256, the date,
    the method and the ECE before and after on held-out folds. ``quiet`` is accepted as by
    every job; this one shows no progress.
    """
    from tonecls.model import load_model
    from tonecls.model.recalibration import recalibrate

    check_seed(seed)  # before the model is loaded and the posts scored
    path = check_input_file(labelled, "labelled file")
    target = check_bundle_target(output, base=model if model is not None else DEFAULT_BUNDLE)
    rows, file_rows = _labelled_rows(path, text_col, label_col)
    base = load_model(model)
    new, report = recalibrate(base, rows[text_col].tolist(), rows[label_col].tolist(), head, folds=folds, seed=seed,
                              label_positions=rows.index.to_numpy(), where=str(path))
    origin = base.provenance()
    record: dict[str, Any] = new.metadata_["recalibration"][head]
    record.update(file=path.name, file_sha256=sha256_file(path), file_rows=file_rows, labelled_rows=len(rows),
                  text_col=text_col, label_col=label_col, base_bundle=str(origin.get("bundle") or "(not saved)"),
                  base_model=" ".join(str(origin[k]) for k in ("name", "version") if origin.get(k)) or None,
                  base_digest=origin.get("digest"), command=command or "tonecls.jobs.calibrate_bundle(...)")
    return CalibrationSummary(new.save(target), report)
