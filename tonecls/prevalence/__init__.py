"""Prevalence: how common each tone is, overall, by group and over time, with valid intervals.

A small random sample labelled by hand (:func:`draw_sample`) plus the model's predictions on
every post give prediction-powered estimates (PPI++, :mod:`tonecls.prevalence.ppi`) through
:class:`PrevalenceEstimator`, whose :class:`PrevalenceResult` holds the views. pandas, numpy
and scipy only; no TensorFlow. Submodules are imported on first use.
"""

from __future__ import annotations

from tonecls._lazy import lazy_getattr

_LAZY = {
    "PrevalenceEstimator": "tonecls.prevalence.estimate",
    "PrevalenceResult": "tonecls.prevalence.result",
    "draw_sample": "tonecls.prevalence.sample",
    "ppi_mean": "tonecls.prevalence.ppi",
    "classical_mean": "tonecls.prevalence.ppi",
    "mean_difference": "tonecls.prevalence.ppi",
}

__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = list(_LAZY)
