"""Resume state of a streaming job: a small JSON manifest beside the partial output.

The manifest records what the job reads (the input's path and format), how it transforms (the
options that change the output) and every completed unit of work (a chunk of the input, or one
input file of a multi-file export): its rows, the digest of its input, its status counts,
tallies and malformed lines, and what was written for it (the byte range and SHA-256 of its
output, or its part file and that file's SHA-256). It is saved atomically after every unit.

A job restarted with ``resume=True`` continues only if the input and options are unchanged,
every completed unit reads the same again, and the partial output still holds exactly what
the manifest says was written; otherwise it refuses with a clear message and keeps the partial.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tonecls.errors import InputError
from tonecls.io.files import atomic_write
from tonecls.io.job import add_counts

MANIFEST_VERSION = 4
MAX_REPORTED_LINES = 1000  # malformed line numbers kept in the summary / manifest

__all__ = ["MAX_REPORTED_LINES", "ResumeManifest", "ResumeRefused", "input_identity", "manifest_path"]


class ResumeRefused(InputError):
    """A resume was refused because the input or the partial output changed; the partial output
    is kept (the files can be restored and the job resumed, or run again without resume)."""


def manifest_path(output: str | os.PathLike) -> Path:
    """Where the manifest of a job writing ``output`` lives: ``<output>.partial.json``."""
    return Path(f"{os.fspath(output)}.partial.json")


def input_identity(paths: list[Path], fmt: str) -> dict[str, Any]:
    """What names an input across runs: its files' absolute paths and the format (their content
    is checked unit by unit)."""
    resolved = [str(Path(p).resolve()) for p in paths]
    return {"path": resolved[0] if len(resolved) == 1 else resolved, "format": fmt}


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_output_record(output: Any) -> bool:
    """A unit's write record: a SHA-256 and a byte offset, or a part file's plain name."""
    if not isinstance(output, dict) or not isinstance(output.get("sha256"), str):
        return False
    if "writer" in output and not isinstance(output["writer"], dict):
        return False
    part = output.get("part")
    return _count(output.get("end")) or (isinstance(part, str) and part == Path(part).name != "")


def _check_units(units: Any) -> None:
    """Raise ValueError unless ``units`` maps unit indices (decimal text) to records of
    completed work (a hand-edited or damaged manifest is refused, never half-used)."""
    if not isinstance(units, dict):
        raise ValueError("its units are not records of completed work")
    for key, unit in units.items():
        counts = [unit.get(name, {}) for name in ("statuses", "tallies")] if isinstance(unit, dict) else [None]
        if not (key.isdecimal() and isinstance(unit, dict) and _count(unit.get("rows"))
                and all(isinstance(c, dict) and all(map(_count, c.values())) for c in counts)
                and isinstance(unit.get("malformed_lines", []), list)
                and _check_output_record(unit.get("output"))):
            raise ValueError(f"unit {key!r} is not a record of completed work")
        if unit.get("statuses") and sum(unit["statuses"].values()) != unit["rows"]:
            raise ValueError(f"unit {key}'s status counts do not add up to its {unit['rows']} rows")


@dataclass
class ResumeManifest:
    """Progress of one job: ``units`` maps a unit's index (as text) to its record,
    ``{"rows", "input", "statuses", "tallies", "malformed_lines", "output"}``."""

    input: dict[str, Any]
    options: dict[str, Any]
    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    version: int = MANIFEST_VERSION

    # --- progress -----------------------------------------------------------------------------

    def record(self, index: int, unit: dict[str, Any]) -> None:
        """Record a completed unit; its malformed lines are kept within the summary's cap."""
        room = max(MAX_REPORTED_LINES - len(self.malformed_lines), 0)
        self.units[str(index)] = {**unit, "malformed_lines": list(unit.get("malformed_lines", []))[:room]}
        previous = self.units.get(str(index - 1))
        if previous is not None and isinstance(previous.get("output"), dict):
            # only the last unit's writer state is needed to continue: the manifest stays linear in size
            previous["output"].pop("writer", None)

    def done(self, index: int) -> dict[str, Any] | None:
        """The record of unit ``index`` if it was completed."""
        return self.units.get(str(index))

    @property
    def indices(self) -> list[int]:
        return sorted(int(k) for k in self.units)

    @property
    def rows_done(self) -> int:
        return sum(int(u["rows"]) for u in self.units.values())

    def _summed(self, key: str) -> dict[str, int]:
        total: dict[str, int] = {}
        for unit in self.units.values():
            add_counts(total, unit.get(key, {}))
        return total

    @property
    def statuses(self) -> dict[str, int]:
        """Rows per status over the completed units."""
        return self._summed("statuses")

    @property
    def tallies(self) -> dict[str, int]:
        """The job's tallies over the completed units."""
        return self._summed("tallies")

    @property
    def malformed_lines(self) -> list:
        lines: list = []
        for index in self.indices:
            lines += self.units[str(index)].get("malformed_lines", [])
        return lines[:MAX_REPORTED_LINES]

    def outputs(self) -> list[dict[str, Any]]:
        """The output records of the completed units, in unit order."""
        return [self.units[str(i)]["output"] for i in self.indices]

    # --- persistence ----------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the manifest atomically."""
        with atomic_write(path) as f:
            json.dump(asdict(self), f, indent=1, sort_keys=True)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ResumeManifest:
        """Read a manifest written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
                raise ValueError(f"manifest version {data.get('version') if isinstance(data, dict) else None!r}, "
                                 f"expected {MANIFEST_VERSION}")
            manifest = cls(**data)
            if not isinstance(manifest.input, dict) or not isinstance(manifest.options, dict):
                raise ValueError("its input or options are not records")
            _check_units(manifest.units)
            return manifest
        except (OSError, ValueError, TypeError) as error:
            raise InputError(
                f"cannot resume: the resume manifest {path} is unreadable ({error}). "
                "Run again without --resume to start over."
            ) from None

    # --- checks ---------------------------------------------------------------------------------

    def check_compatible(self, input_: dict[str, Any], options: dict[str, Any]) -> None:
        """Refuse to resume a job whose input files or options have changed."""
        if self.input != input_:
            raise InputError(
                f"cannot resume: the input changed since the interrupted run (then "
                f"{self.input}, now {input_}). Run again without --resume to start over."
            )
        changed = sorted(k for k in self.options.keys() | options.keys()
                         if self.options.get(k) != options.get(k))
        if changed:
            detail = "; ".join(f"{k}: {self.options.get(k)!r} -> {options.get(k)!r}" for k in changed)
            raise InputError(
                f"cannot resume: options differ from the interrupted run ({detail}). Resume "
                "with the same options, or run again without --resume to start over."
            )

    def check_input(self, index: int, rows: int, digest: Any) -> None:
        """Refuse to resume when completed unit ``index`` reads differently now."""
        unit = self.done(index)
        if unit is not None and (unit["rows"] != rows or unit.get("input") != digest):
            found = f"{rows:,} rows instead of {unit['rows']:,}" if unit["rows"] != rows else "different values"
            raise ResumeRefused(
                f"cannot resume: the input file changed since the interrupted run (part {index + 1}, already "
                f"written, now reads as {found}). Restore the input and resume, or run again without "
                "--resume to start over."
            )

    def check_all_seen(self, seen: int) -> None:
        """Refuse to resume when the input now has fewer units than were completed."""
        beyond = [i for i in self.indices if i >= seen]
        if beyond:
            raise ResumeRefused(
                f"cannot resume: the input file changed since the interrupted run (it now ends before part "
                f"{beyond[0] + 1}, which was already written). Restore the input and resume, or run again "
                "without --resume to start over."
            )

