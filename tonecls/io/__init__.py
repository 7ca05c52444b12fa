"""Post exports in and out: formats, chunked reading, atomic resumable writing, one runner.

The bottom layer of the package, and the one place where files are read, written and resumed:

- :mod:`tonecls.io.formats`: which format a path holds (by extension);
- :mod:`tonecls.io.reading`: :func:`read_export`, chunks with every input row once, in order;
- :mod:`tonecls.io.writing`: :class:`ExportWriter`, chunks appended atomically and resumably;
- :mod:`tonecls.io.files`: :func:`atomic_write`, SHA-256 helpers, path checks;
- :mod:`tonecls.io.lock`: one writer per output;
- :mod:`tonecls.io.manifest`: the resume manifest of a job;
- :mod:`tonecls.io.job` and :mod:`tonecls.io.runner`: the streaming runner every file job is
  a thin adapter over, its engines (:mod:`tonecls.io.engines`) and its one summary type.

The names below are imported on first use, so ``import tonecls.io.job`` stays light.
"""

from __future__ import annotations

from tonecls._lazy import lazy_getattr

_EXPORTS = {
    "FORMATS": "tonecls.io.formats", "detect_format": "tonecls.io.formats", "is_gzipped": "tonecls.io.formats",
    "READ_STATUS_COLUMN": "tonecls.io.reading", "LINE_COLUMN": "tonecls.io.reading",
    "MARKER_COLUMNS": "tonecls.io.reading", "read_export": "tonecls.io.reading",
    "read_header": "tonecls.io.reading",
    "count_rows": "tonecls.io.reading", "parquet_schema": "tonecls.io.reading",
    "ExportWriter": "tonecls.io.writing",
    "atomic_write": "tonecls.io.files", "atomic_write_json": "tonecls.io.files", "sha256_file": "tonecls.io.files",
    "ContentHash": "tonecls.io.files", "check_input_file": "tonecls.io.files",
    "check_output_path": "tonecls.io.files",
    "ResumeManifest": "tonecls.io.manifest",
    "ChunkJob": "tonecls.io.job", "RunSummary": "tonecls.io.job", "run_file": "tonecls.io.runner",
}

__getattr__ = lazy_getattr(__name__, _EXPORTS)

__all__ = sorted(_EXPORTS)
