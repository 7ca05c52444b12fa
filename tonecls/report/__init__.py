"""Reports: results rendered as one self-contained HTML file, Markdown and JSON.

- :mod:`tonecls.report.document`: the document model (:class:`Report`, :class:`Section`,
  :class:`Table`, :class:`Figure`) and :func:`write_report`, which renders a report three
  ways and writes the files through :mod:`tonecls.io`;
- :mod:`tonecls.report.audit`: :func:`audit_report` of an :class:`~tonecls.audit.AuditResult`;
- :mod:`tonecls.report.probes`: :func:`probe_report` of a :class:`~tonecls.audit.ProbeResult`;
- :mod:`tonecls.report.prevalence`: :func:`prevalence_report` of a
  :class:`~tonecls.prevalence.PrevalenceResult`;
- :mod:`tonecls.report.privacy`: :func:`privacy_report` of a membership-inference audit;
- :mod:`tonecls.report.plots`: the audit's figures.

Submodules are imported on first use (matplotlib and jinja2 only when a report is built).
"""

from __future__ import annotations

from tonecls._lazy import lazy_getattr

_LAZY = {
    "Figure": "tonecls.report.document",
    "Report": "tonecls.report.document",
    "Section": "tonecls.report.document",
    "Table": "tonecls.report.document",
    "report_target": "tonecls.report.document",
    "write_report": "tonecls.report.document",
    "to_jsonable": "tonecls._json",
    "audit_report": "tonecls.report.audit",
    "probe_report": "tonecls.report.probes",
    "prevalence_report": "tonecls.report.prevalence",
    "privacy_report": "tonecls.report.privacy",
}

__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = list(_LAZY)
