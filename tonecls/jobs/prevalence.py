"""The ``sample`` and ``prevalence`` file jobs: draw posts of a scored export to label by hand;
estimate how common each class is from the scored export and those labels, and write the report.

- :func:`sample_file` reads the id, text (and stratum) columns of a scored export, draws a
  reproducible random sample of its scored rows (:func:`tonecls.prevalence.draw_sample`) and
  writes it atomically, with an empty label column to fill in;
- :func:`prevalence_file` reads the head's columns of the scored export and the labels (its own
  label column, or a labels file joined by id, e.g. the filled-in sample), runs
  :class:`~tonecls.prevalence.PrevalenceEstimator` and writes the report (HTML, Markdown, JSON).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tonecls.audit.groups import head_classes
from tonecls.errors import InputError
from tonecls.io import ExportWriter, LINE_COLUMN, MARKER_COLUMNS, check_input_file, check_output_path
from tonecls.io import read_export, read_header, sha256_file
from tonecls.io.formats import check_format
from tonecls.io.lock import report_lock
from tonecls.jobs.audit import load_scored, scored_input
from tonecls.jobs.provenance import job_provenance
from tonecls.prevalence import PrevalenceEstimator, PrevalenceResult, draw_sample
from tonecls.prevalence.estimate import check_label_classes, check_label_ids, id_keys, listed
from tonecls.prevalence.ppi import z_value
from tonecls.prevalence.sample import INCLUSION_COLUMN
from tonecls.schema import STATUS_COLUMN, Status
from tonecls.stats import check_seed

__all__ = ["SampleSummary", "prevalence_file", "read_labels", "sample_file"]

DEFAULT_LABEL_COLUMN = "label"


@dataclass
class SampleSummary:
    """What :func:`sample_file` wrote: the path and the sample (its ``attrs`` hold the design)."""

    path: Path
    sample: pd.DataFrame
    label_col: str = DEFAULT_LABEL_COLUMN

    def __str__(self) -> str:
        design = self.sample.attrs
        text = f"wrote {self.path}: {len(self.sample):,} of the {design['population']:,} scored posts (seed {design['seed']})"
        if design.get("stratify_col"):
            strata = ", ".join(f"{name} {design['sample_sizes'][name]:,} of {size:,}"
                               for name, size in design["stratum_sizes"].items())
            text += f", stratified by {design['stratify_col']}: {strata}"
        return (text + f".\nFill in the {self.label_col!r} column in the order given (if you stop early, the "
                "rows labelled so far are still a random sample), then run `tonecls prevalence` with --labels.")


def _check_unique_ids(frame: pd.DataFrame, id_col: str, where: str) -> None:
    """Every scored (ok) row has an id, and no id repeats in any row (as ``prevalence`` will
    check when the labels come back: refused now, before anyone labels)."""
    ok = frame[STATUS_COLUMN].astype("string").eq(Status.OK.value).fillna(False).to_numpy(bool)
    _, empty, repeated = id_keys(frame[id_col])
    empty = empty & ok
    if empty.any():
        raise InputError(f"{where}: {int(empty.sum())} scored row(s) have no {id_col!r}; labels are joined back "
                         "by id, so every post needs one (pass the id column with --id-col).")
    if repeated:
        raise InputError(f"{where} repeats id(s) {listed(repeated)} in {id_col!r}; labels are joined back by id, "
                         "so give every post its own id (`tonecls score --id-col` reports repeats).")


def sample_file(scored: str | os.PathLike, output: str | os.PathLike, *, n: int = 300,
                stratify_col: str | None = None, seed: int = 0, id_col: str = "id", text_col: str = "text",
                label_col: str = DEFAULT_LABEL_COLUMN, allocation: str = "proportional",
                overwrite: bool = False) -> SampleSummary:
    """Draw ``n`` scored (``ok``) rows of the export ``scored`` at random, in random order, and
    write them to ``output`` (format by extension, e.g. ``to_label.csv``): ``id_col``,
    ``text_col``, an empty ``label_col``, the stratum column when stratified, ``stratum_size``
    and ``inclusion_probability`` (what weights a stratified sample's rows back).

    ``allocation`` shares the draws among the strata (``proportional``, or ``equal``: small
    groups oversampled, weighted back by the estimates; see
    :func:`~tonecls.prevalence.sample.allocate`). Only the id, text and stratum columns are
    read. The same file, ``n``, strata, allocation and ``seed`` give the same sample. An existing ``output`` (perhaps already labelled) is replaced only
    with ``overwrite``.
    """
    check_seed(seed)  # before the file is read
    scored = scored_input(scored)
    output = check_output_path(scored, output)
    check_format(output, None)
    with report_lock(output.parent, output.name):  # held until the sample is written; creates its folder
        if output.exists() and not overwrite:
            raise InputError(f"{output} exists (it may hold labels already); choose another output file, or pass "
                             "--overwrite (overwrite=True) to replace it.")
        frame = load_scored(scored, columns=[id_col, text_col, *filter(None, [stratify_col])])
        if STATUS_COLUMN in frame.columns:
            _check_unique_ids(frame, id_col, f"scored file {scored}")
        sample = draw_sample(frame, n, stratify_col=stratify_col, seed=seed, id_col=id_col, text_col=text_col,
                             label_col=label_col, allocation=allocation)
        with ExportWriter(output) as writer:
            writer.write(sample)
        return SampleSummary(output, sample, label_col)


def read_labels(path: str | os.PathLike, scored: pd.DataFrame, *, head: str, id_col: str = "id",
                label_col: str = DEFAULT_LABEL_COLUMN) -> pd.DataFrame:
    """The labels file ``path`` (any export format, e.g. a filled-in :func:`sample_file`) as a
    frame of ``id_col``, ``label_col`` (and ``inclusion_probability`` if it has one), checked
    against the ``scored`` frame: every row has an id, no id repeats, every id is a post of
    ``scored`` and every label a class of ``head`` (else :class:`InputError`)."""
    path = check_input_file(path, "labels file")
    header = read_header(path)
    missing = [c for c in (id_col, label_col) if c not in header]
    if missing:
        raise InputError(f"labels file {path} has no column(s) {missing}; its columns are {header}. Name them "
                         "with --id-col and --label-col.")
    wanted = [id_col, label_col, *([INCLUSION_COLUMN] if INCLUSION_COLUMN in header else [])]
    frames = list(read_export(path, text_col=None, columns=wanted, chunksize=200_000, on_bad_lines="error"))
    labels = pd.concat(frames, ignore_index=True)
    ids, empty, repeated = id_keys(labels[id_col])
    if empty.any():
        lines = labels[LINE_COLUMN].where(labels[LINE_COLUMN].notna(), labels.index + 1)  # Parquet: row numbers
        raise InputError(f"labels file {path}: {int(empty.sum())} row(s) have no {id_col!r} (line or row "
                         f"{listed([int(v) for v in lines[empty]])}); every row needs the id of its post.")
    if repeated:
        raise InputError(f"labels file {path} repeats id(s) {listed(repeated)}; give one row (one label) per post.")
    check_label_ids(ids, scored[id_col], f"labels file {path}", "the scored file")
    check_label_classes(labels[label_col], *head_classes(scored, head), f"labels file {path}, column {label_col!r},",
                        head)
    return labels.drop(columns=[c for c in MARKER_COLUMNS if c in labels.columns]).assign(**{id_col: ids})


def prevalence_file(
    scored: str | os.PathLike,
    output: str | os.PathLike,
    *,
    head: str,
    label_col: str | None = None,
    labels: str | os.PathLike | None = None,
    id_col: str = "id",
    group_cols: Sequence[str] = (),
    time_col: str | None = None,
    freq: str = "M",
    confidence: float = 0.9,
    quiet: bool = False,
    command: str | None = None,
    model: str | os.PathLike | None = None,
    input_description: str | None = None,
) -> tuple[PrevalenceResult, dict[str, Path]]:
    """Estimate the prevalence of every class of ``head`` in the scored export ``scored``,
    overall, per group of each ``group_cols`` and per period (``freq``) of ``time_col``, and
    write the report ``output`` + ``.html`` / ``.md`` / ``.json``.

    The labelled rows are those with a label: in the scored file's ``label_col``, or, with
    ``labels``, in a labels file joined by ``id_col`` (its label column is ``label_col``,
    default ``label``; see :func:`read_labels`). Without any, the report holds the model's own
    shares, a warning and no interval. ``model`` (the bundle that scored the file) and
    ``command`` are recorded in the provenance, with ``input_description`` in place of the
    input's path when given. ``quiet`` is accepted as by every job; this one shows no progress.
    Returns the result and the paths written.
    """
    from tonecls.report import prevalence_report, report_target, write_report

    out_dir, name = report_target(output)
    with report_lock(out_dir, name):
        scored = scored_input(scored)
        labels_path = check_input_file(labels, "labels file") if labels is not None else None
        z_value(confidence)  # a bad level fails before the files are read
        group_cols = [group_cols] if isinstance(group_cols, str) else list(group_cols)
        provenance = job_provenance(scored, model=model, command=command or "tonecls.jobs.prevalence_file(...)",
                                    input_description=input_description)
        in_file = labels_path is None and label_col is not None
        columns = [*group_cols, *filter(None, [time_col]), *([label_col] if in_file else []),
                   *([id_col] if labels_path else [])]
        frame = load_scored(scored, head=head, columns=list(dict.fromkeys(columns)),
                            optional=[INCLUSION_COLUMN] if in_file else [])
        labelled = None
        if labels_path is not None:
            label_col = label_col or DEFAULT_LABEL_COLUMN
            labelled = read_labels(labels_path, frame, head=head, id_col=id_col, label_col=label_col)
            provenance["labels file"] = f"{labels_path.resolve()} (sha256 {sha256_file(labels_path)[:16]}…)"
        elif in_file:
            check_label_classes(frame[label_col], *head_classes(frame, head),
                                f"scored file {scored}, column {label_col!r},", head)
        result = PrevalenceEstimator(head, confidence=confidence).fit(
            frame, labels=labelled, label_col=label_col, id_col=id_col, group_cols=group_cols, time_col=time_col,
            freq=freq)
        return result, write_report(prevalence_report(result, provenance), out_dir, name)
