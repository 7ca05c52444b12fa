"""The ``privacy-audit`` file job: membership inference against a bundle, from a file of its
training posts and a file of posts it never saw; the report, and optionally the bundle again
with the audit recorded in its ``bundle.json`` and model card."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tonecls.errors import InputError
from tonecls.io.lock import report_lock
from tonecls.jobs.provenance import job_provenance
from tonecls.model import load_model
from tonecls.model.bundle import DEFAULT_BUNDLE, check_bundle_target
from tonecls.model.config import DataSource
from tonecls.model.data import LabelledSplit, load_export_split
from tonecls.privacy.audit import DEFAULT_ATTACKS, audit_membership, record_membership
from tonecls.privacy.result import MembershipInferenceResult
from tonecls.stats import check_seed

__all__ = ["privacy_audit_file"]


def _labelled(path: str | os.PathLike, model: Any, head: str, text_col: str, label_col: str) -> LabelledSplit:
    """The labelled posts of one file, as the audited head's class ids."""
    spec = model.head(head)
    source = DataSource(kind="export", path=str(path), text_column=text_col, label_column=label_col)
    return load_export_split(str(path), source, spec)


def privacy_audit_file(
    members: str | os.PathLike,
    non_members: str | os.PathLike,
    output: str | os.PathLike,
    *,
    head: str,
    model: str | os.PathLike | None = None,
    text_col: str = "text",
    label_col: str = "label",
    attacks: Sequence[str] = DEFAULT_ATTACKS,
    reference_models: int = 4,
    n_resamples: int = 1000,
    seed: int = 0,
    save_bundle: str | os.PathLike | None = None,
    command: str | None = None,
    input_description: str | None = None,
) -> tuple[MembershipInferenceResult, dict[str, Path]]:
    """Audit the bundle ``model`` (None: the default one) for membership inference on ``head``:
    ``members`` holds posts it was trained on, ``non_members`` posts of the same distribution it
    never saw (CSV/TSV/JSONL/Parquet, with ``text_col`` and ``label_col`` holding class names).
    Writes the report ``output`` + ``.html`` / ``.md`` / ``.json``; with ``save_bundle``, the
    bundle with the audit recorded (a new sealed bundle: its card gets the figures).
    ``input_description`` is recorded in place of the two files' paths (e.g. when they are
    temporary), with their names and SHA-256.
    """
    from tonecls.report import privacy_report, report_target, write_report

    out_dir, name = report_target(output)
    report_dir = Path(out_dir).resolve()
    if save_bundle is not None and Path(save_bundle).resolve() in (report_dir, *report_dir.parents):
        raise InputError(f"the report {output} would be written inside the bundle folder {save_bundle}, which "
                         "holds only the bundle's own files; write the report beside it (-o elsewhere).")
    with report_lock(out_dir, name):
        check_seed(seed)  # before the bundle is loaded and the posts scored
        if "lira" in attacks and importlib.util.find_spec("keras") is None:
            raise InputError("the 'lira' attack trains reference models, which needs the train extra (TensorFlow, "
                             "Keras): pip install 'tonecls[train]', or choose other attacks (--attack loss "
                             "--attack trained).")
        if save_bundle is not None:
            check_bundle_target(save_bundle, base=model if model is not None else DEFAULT_BUNDLE)
        bundle = load_model(model)
        splits = [_labelled(path, bundle, head, text_col, label_col) for path in (members, non_members)]
        result = audit_membership(bundle, *splits, head, attacks=attacks, reference_models=reference_models,
                                  n_resamples=n_resamples, seed=seed)
        provenance = job_provenance(members, model=bundle,
                                    command=command or "tonecls.jobs.privacy_audit_file(...)",
                                    input_description=input_description, also={"non-member file": non_members})
        paths = write_report(privacy_report(result, provenance=provenance), out_dir, name)
        if save_bundle is not None:
            record_membership(bundle, result)
            paths["bundle"] = bundle.save(save_bundle)
        return result, paths
