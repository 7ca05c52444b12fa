"""Post exports in and out: formats, chunked reading, atomic resumable writing, one runner.

The bottom layer of the package (``io -> preprocess -> model -> score -> audit -> report``):

- :mod:`tonecls.io.formats`: which format a path holds (by extension);
- :mod:`tonecls.io.reading`: :func:`read_export`, chunks with every input row once, in order;
- :mod:`tonecls.io.writing`: :class:`ExportWriter`, chunks appended atomically and resumably;
- :mod:`tonecls.io.files`: :func:`atomic_write`, SHA-256 helpers, path checks;
- :mod:`tonecls.io.manifest`: the resume manifest of a job;
- :mod:`tonecls.io.runner`: the streaming runner every file command is a thin adapter over.
"""

from tonecls.io.files import ContentHash, atomic_write, check_input_file, check_output_path, sha256_file
from tonecls.io.formats import FORMATS, detect_format, is_gzipped
from tonecls.io.reading import (
    LINE_COLUMN,
    MARKER_COLUMNS,
    READ_STATUS_COLUMN,
    count_rows,
    dask_read_options,
    read_export,
)
from tonecls.io.writing import ExportWriter

__all__ = [
    "FORMATS",
    "READ_STATUS_COLUMN",
    "LINE_COLUMN",
    "MARKER_COLUMNS",
    "detect_format",
    "is_gzipped",
    "read_export",
    "count_rows",
    "dask_read_options",
    "ExportWriter",
    "atomic_write",
    "sha256_file",
    "ContentHash",
    "check_input_file",
    "check_output_path",
]
