"""Resume state of a scoring job: a small JSON manifest beside the partial output.

The manifest records what the job reads (input path, size, modification time), how it scores
(the options that change the output) and how far it got (chunks and rows completed, status
counts so far). A job restarted with ``resume=True`` continues after the last completed chunk
only if the input and the options are unchanged; otherwise it refuses with a clear message.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tonecls.errors import InputError
from tonecls.io.files import atomic_write

MANIFEST_VERSION = 1


def manifest_path(output: str | os.PathLike) -> Path:
    """Where the manifest of a job writing ``output`` lives: ``<output>.partial.json``."""
    return Path(f"{os.fspath(output)}.partial.json")


def input_fingerprint(path: str | os.PathLike) -> dict[str, Any]:
    """Identity of an input file or directory: absolute path, total size, latest mtime."""
    path = Path(path).resolve()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    stats = [p.stat() for p in files]
    return {
        "path": str(path),
        "size": sum(s.st_size for s in stats),
        "mtime_ns": max((s.st_mtime_ns for s in stats), default=0),
    }


@dataclass
class ResumeManifest:
    """Progress of one scoring job; saved atomically after every completed chunk."""

    input: dict[str, Any]
    options: dict[str, Any]
    chunks_done: int = 0
    rows_done: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    malformed_lines: list[int] = field(default_factory=list)
    writer_state: dict[str, Any] = field(default_factory=dict)
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
                raise ValueError(f"manifest version {data.get('version')!r}")
            return cls(**data)
        except (OSError, ValueError, TypeError) as error:
            raise InputError(
                f"cannot resume: the resume manifest {path} is unreadable ({error}). "
                "Run again without --resume to start over."
            ) from error

    @classmethod
    def load_compatible(
        cls, path: str | os.PathLike, input_: dict[str, Any], options: dict[str, Any]
    ) -> ResumeManifest:
        """The manifest at ``path``, checked against this run's input and options."""
        manifest = cls.load(path)
        manifest.check_compatible(input_, options)
        return manifest

    def check_compatible(self, input_: dict[str, Any], options: dict[str, Any]) -> None:
        """Refuse to resume a job whose input file or scoring options have changed."""
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
