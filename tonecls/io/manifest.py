"""Resume state of a streaming job: a small JSON manifest beside the partial output.

The manifest records what the job reads (the input's path and format), how it transforms
(the options that change the output), how far it got (chunks and rows completed, status
counts and tallies so far) and a content hash of the input rows read up to there
(:class:`tonecls.io.files.ContentHash`). A job restarted with ``resume=True`` reads those
rows again and continues after the last completed chunk only if their hash, the input and
the options are unchanged; otherwise it refuses with a clear message.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tonecls.errors import InputError
from tonecls.io.files import atomic_write

MANIFEST_VERSION = 2

__all__ = ["ResumeManifest", "ResumeRefused", "input_identity", "manifest_path"]


class ResumeRefused(InputError):
    """A resume was refused because the input changed; the partial output is kept (the
    input can be restored and the job resumed, or run again without resume)."""


def manifest_path(output: str | os.PathLike) -> Path:
    """Where the manifest of a job writing ``output`` lives: ``<output>.partial.json``."""
    return Path(f"{os.fspath(output)}.partial.json")


def input_identity(path: str | os.PathLike, fmt: str) -> dict[str, Any]:
    """What names an input across runs: its absolute path and format (its content is
    checked by the hash of what was read)."""
    return {"path": str(Path(path).resolve()), "format": fmt}


@dataclass
class ResumeManifest:
    """Progress of one job; saved atomically after every completed chunk.

    ``input_hash`` is the hex SHA-256 of the input rows of the completed chunks (local
    runner); ``part_hashes`` and ``part_rows`` the hash and rows of each completed part (Dask
    engine, by part number).
    """

    input: dict[str, Any]
    options: dict[str, Any]
    chunks_done: int = 0
    rows_done: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    tallies: dict[str, int] = field(default_factory=dict)
    malformed_lines: list[int] = field(default_factory=list)
    input_hash: str | None = None
    part_hashes: dict[str, str] = field(default_factory=dict)
    part_rows: dict[str, int] = field(default_factory=dict)
    pending: dict[str, Any] | None = None
    version: int = MANIFEST_VERSION

    def commit_pending(self) -> None:
        """Apply the progress recorded in ``pending`` (the chunk it describes is written)."""
        if self.pending:
            for name, value in self.pending.items():
                setattr(self, name, value)
        self.pending = None

    def save(self, path: str | os.PathLike) -> None:
        """Write the manifest atomically."""
        with atomic_write(path) as f:
            json.dump(asdict(self), f, indent=1, sort_keys=True)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ResumeManifest:
        """Read a manifest written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if data.get("version") != MANIFEST_VERSION:
                raise ValueError(f"manifest version {data.get('version')!r}, expected {MANIFEST_VERSION}")
            return cls(**data)
        except (OSError, ValueError, TypeError) as error:
            raise InputError(
                f"cannot resume: the resume manifest {path} is unreadable ({error}). "
                "Run again without --resume to start over."
            ) from None

    @classmethod
    def load_compatible(
        cls, path: str | os.PathLike, input_: dict[str, Any], options: dict[str, Any]
    ) -> ResumeManifest:
        """The manifest at ``path``, checked against this run's input and options."""
        manifest = cls.load(path)
        manifest.check_compatible(input_, options)
        return manifest

    def check_compatible(self, input_: dict[str, Any], options: dict[str, Any]) -> None:
        """Refuse to resume a job whose input file or options have changed."""
        if self.input != input_:
            raise InputError(
                f"cannot resume: the input changed since the interrupted run (then "
                f"{self.input}, now {input_}). Run again without --resume to start over."
            )
        changed = sorted(
            k for k in self.options.keys() | options.keys()
            if self.options.get(k) != options.get(k)
        )
        if changed:
            detail = "; ".join(
                f"{k}: {self.options.get(k)!r} -> {options.get(k)!r}" for k in changed
            )
            raise InputError(
                f"cannot resume: options differ from the interrupted run ({detail}). Resume "
                "with the same options, or run again without --resume to start over."
            )

    def check_content(self, rows: int, digest: str) -> None:
        """Refuse to resume when the first ``rows`` input rows read now hash differently."""
        if rows != self.rows_done or digest != self.input_hash:
            found = f"{rows:,} rows" if rows != self.rows_done else "different values"
            raise ResumeRefused(
                f"cannot resume: the input file changed since the interrupted run (its first "
                f"{self.rows_done:,} rows, already written, now read as {found}). Restore the "
                "input and resume, or run again without --resume to start over."
            )
