"""Post exports in and out: formats, chunked reading, atomic resumable writing, one runner.

The bottom layer of the package (``io -> preprocess -> model -> score -> audit -> report``):

- :mod:`tonecls.io.formats`: which format a path holds (by extension);
- :mod:`tonecls.io.reading`: :func:`read_export`, chunks with every input row once, in order;
- :mod:`tonecls.io.writing`: :class:`ExportWriter`, chunks appended atomically and resumably;
- :mod:`tonecls.io.files`: :func:`atomic_write`, SHA-256 helpers, path checks;
- :mod:`tonecls.io.manifest`: the resume manifest of a job;
- :mod:`tonecls.io.job` and :mod:`tonecls.io.runner`: the streaming runner every file command
  is a thin adapter over, and its one summary type.

The names below are imported on first use, so ``import tonecls.io.job`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FORMATS": "formats", "detect_format": "formats", "is_gzipped": "formats",
    "READ_STATUS_COLUMN": "reading", "LINE_COLUMN": "reading", "MARKER_COLUMNS": "reading",
    "read_export": "reading", "count_rows": "reading", "dask_read_options": "reading",
    "parquet_schema": "reading",
    "ExportWriter": "writing",
    "atomic_write": "files", "sha256_file": "files", "ContentHash": "files",
    "check_input_file": "files", "check_output_path": "files",
    "ResumeManifest": "manifest",
    "ChunkJob": "job", "RunSummary": "job", "run_file": "runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tonecls.io' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tonecls.io.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
