"""File jobs: every command that reads or writes files, each a small module over :mod:`tonecls.io`.

The stages below (``preprocess``, ``model``, ``score``, ``audit``, ``report``) work in
memory; a job reads its input with :mod:`tonecls.io`, calls them, and writes its output
through :mod:`tonecls.io` (exports chunk by chunk with the streaming runner, reports and
small files atomically). The command line and the notebooks call these functions.

- :func:`tokenize_file` (``tonecls preprocess``), :func:`score_file` (``tonecls score``),
  :func:`dialect_file` (``tonecls dialect``): streaming, resumable, one writer per output;
- :func:`audit_file` (``tonecls audit``), :func:`probe_file` (``tonecls probe``),
  :func:`prevalence_file` (``tonecls prevalence``), :func:`privacy_audit_file`
  (``tonecls privacy-audit``): reports;
- :func:`sample_file` (``tonecls sample``): posts to label by hand;
- :func:`calibrate_bundle` (``tonecls calibrate``): a recalibrated model bundle;
- :func:`train_bundle` (``tonecls train``) and :func:`evaluate_bundle` (``tonecls evaluate``):
  a trained bundle, and a bundle's test figures beside published results (need the ``train`` extra).
"""

from __future__ import annotations

from tonecls._lazy import lazy_getattr

_LAZY = {
    "audit_file": "tonecls.jobs.audit",
    "load_scored": "tonecls.jobs.audit",
    "probe_file": "tonecls.jobs.probe",
    "score_file": "tonecls.jobs.score",
    "tokenize_file": "tonecls.jobs.tokenize",
    "dialect_file": "tonecls.jobs.dialect",
    "sample_file": "tonecls.jobs.prevalence",
    "prevalence_file": "tonecls.jobs.prevalence",
    "calibrate_bundle": "tonecls.jobs.calibrate",
    "privacy_audit_file": "tonecls.jobs.privacy",
    "train_bundle": "tonecls.jobs.train",
    "evaluate_bundle": "tonecls.jobs.train",
}

__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = list(_LAZY)
