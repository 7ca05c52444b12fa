"""The ``audit`` file job: read a scored export, audit one head by group, write the report."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tonecls.audit.groups import audit_groups, check_groups_are_not_outcomes, head_classes
from tonecls.audit.result import AuditResult
from tonecls.errors import InputError
from tonecls.io import MARKER_COLUMNS, READ_STATUS_COLUMN
from tonecls.io.lock import report_lock
from tonecls.io.sources import input_files, input_header, read_input
from tonecls.jobs.provenance import job_provenance
from tonecls.schema import STATUS_COLUMN
from tonecls.stats import check_seed

__all__ = ["audit_file", "load_scored", "scored_input"]


def scored_input(path: str | os.PathLike) -> Path:
    """``path`` as a Path if it names a scored export (a file, a folder of parts such as the
    Dask engine's output, or a glob of parts); else :class:`InputError`."""
    path = Path(path)
    if not path.exists() and not glob.has_magic(str(path)):
        raise InputError(f"scored file {path} does not exist; pass the output of `tonecls score`.")
    input_files(path)  # a folder or pattern holds export files of one format
    return path


def load_scored(path: str | os.PathLike, head: str | None = None,
                columns: Sequence[str] = (), *, optional: Sequence[str] = ()) -> pd.DataFrame:
    """Read a scored export (CSV/TSV/JSONL/Parquet, optionally .gz; a file, a folder of parts
    such as the Dask engine's output, or a glob) into one DataFrame.

    With ``head`` or ``columns``, only what is needed is read: ``tonecls_status``, the head's
    output columns (with ``head``), ``columns`` (e.g. the label and group columns; each must
    exist) and those of ``optional`` the file has, which keeps the post texts and other heads
    out of memory; otherwise every column. Lines the reader could not parse are kept, with
    their read status (e.g. ``malformed_line``) as ``tonecls_status``.
    """
    path = scored_input(path)
    wanted = None
    if head is not None or columns or optional:
        header = input_header(path)
        missing = [c for c in columns if c not in header]
        if missing:
            raise InputError(f"{path} has no column(s) {missing}; its columns are {header}.")
        if head is not None:
            head_classes(pd.DataFrame(columns=header), head)  # fails early, naming the heads found
        wanted = [c for c in header if c == STATUS_COLUMN or c in columns or c in optional
                  or (head is not None and c.startswith(f"{head}_"))]
    frames = list(read_input(path, text_col=None, columns=wanted, chunksize=200_000))
    frame = pd.concat(frames) if frames else pd.DataFrame()
    if READ_STATUS_COLUMN in frame.columns:
        # a line the reader could not parse is excluded under its read status
        unreadable = frame[READ_STATUS_COLUMN].ne("ok")
        if unreadable.any():
            if STATUS_COLUMN not in frame.columns:
                frame[STATUS_COLUMN] = pd.NA
            frame[STATUS_COLUMN] = frame[STATUS_COLUMN].astype(object)
            frame.loc[unreadable, STATUS_COLUMN] = frame.loc[unreadable, READ_STATUS_COLUMN]
        frame = frame.drop(columns=[c for c in MARKER_COLUMNS if c in frame.columns])
    return frame


def audit_file(
    scored: str | os.PathLike,
    output: str | os.PathLike,
    *,
    head: str,
    group_cols: Sequence[str],
    label_col: str | None = None,
    model: str | os.PathLike | None = None,
    command: str | None = None,
    input_description: str | None = None,
    **options: Any,
) -> tuple[AuditResult, dict[str, Path]]:
    """Audit a scored export and write the report ``output`` + ``.html`` / ``.md`` / ``.json``.

    Reads only the columns the audit needs (:func:`load_scored`); ``options`` go to
    :func:`~tonecls.audit.audit_groups`; ``model`` (the bundle that scored the file) and
    ``command`` are recorded in the provenance, with ``input_description`` in place of the
    input's path when given. Returns the result and the paths written.
    """
    from tonecls.report import audit_report, report_target, write_report

    out_dir, name = report_target(output)
    with report_lock(out_dir, name):
        check_seed(options.get("seed"), optional=True)  # before the file is read
        group_cols = [group_cols] if isinstance(group_cols, str) else list(group_cols)
        provenance = job_provenance(scored, model=model, command=command or "tonecls.jobs.audit_file(...)",
                                    input_description=input_description)
        # another head's outputs are not read, so not seen by audit_groups: checked on the header
        check_groups_are_not_outcomes(group_cols, input_header(scored_input(scored)), label_col)
        frame = load_scored(scored, head=head, columns=[*filter(None, [label_col]), *group_cols])
        result = audit_groups(frame, head=head, group_cols=group_cols, label_col=label_col, **options)
        return result, write_report(audit_report(result, provenance), out_dir, name)
