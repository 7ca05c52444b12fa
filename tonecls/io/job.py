"""A file job's contract with the streaming runner, and the one summary every job returns.

Standard library only (with :mod:`tonecls.schema`), so that modules defining jobs stay
light to import; :mod:`tonecls.io.runner` runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tonecls.schema import STATUS_COLUMN, Status

__all__ = ["ChunkJob", "RunSummary", "add_counts", "status_counts"]


# --- the job and its summary ----------------------------------------------------------------


def status_counts(output: Any) -> dict[str, int]:
    """Rows per ``tonecls_status`` value of a transformed chunk (a DataFrame)."""
    counts = output[STATUS_COLUMN].value_counts(sort=False, dropna=False)
    return {str(status): int(n) for status, n in counts.items()}


def add_counts(total: dict[str, int], counts: dict[str, int]) -> dict[str, int]:
    """Add ``counts`` into ``total`` key by key (statuses, tallies); returns ``total``."""
    for key, n in counts.items():
        total[key] = total.get(key, 0) + int(n)
    return total


class ChunkJob:
    """What a file command does to each chunk; :func:`run_file` does the rest.

    Subclasses set :attr:`description` (progress bar) and :attr:`verb` (summary), and
    implement :meth:`transform`; the other hooks are optional.
    """

    description = "processing"
    verb = "processed"
    writes_status = True  # the output has a STATUS_COLUMN whose values the summary counts

    def options(self) -> dict[str, Any]:
        """Options that change the output: a resumed run must have the same."""
        return {}

    def check_columns(self, columns: list[str]) -> None:
        """Raise :class:`InputError` if the input's columns cannot be used (e.g. a clash)."""

    def prepare(self) -> None:
        """Slow setup (loading a model), run after every check has passed."""

    def transform(self, chunk: Any, read_status: Any) -> Any:
        """The output rows of one input chunk (the reader's marker columns removed).

        ``read_status`` holds per row ``"ok"`` or why the reader could not use it
        (``malformed_line``, ``invalid_encoding``); it must come out as the row's status.
        """
        raise NotImplementedError

    # Optional split of :meth:`transform` for worker processes (:mod:`tonecls.io.parallel`):
    # the heavy per-row work runs there on plain Python / numpy values, without pandas (a
    # lighter process, and less to send each way); this process builds the output rows.

    def worker_task(self) -> Callable[[Any], Any] | None:
        """A picklable function that worker processes apply to :meth:`worker_input`, whose
        unpickling and running import no pandas; None (default): workers run :meth:`transform`."""
        return None

    def worker_input(self, chunk: Any, read_status: Any) -> Any:
        """What :meth:`worker_task` needs of ``chunk`` (e.g. its texts as a list)."""
        raise NotImplementedError

    def combine(self, chunk: Any, read_status: Any, result: Any) -> Any:
        """The output rows of ``chunk`` from :meth:`worker_task`'s ``result``: together the two
        give exactly what :meth:`transform` gives."""
        raise NotImplementedError

    def tally(self, output: Any) -> dict[str, int]:
        """Counts to add up in :attr:`RunSummary.tallies` (e.g. rows per group)."""
        return {}

    def notes(self, summary: RunSummary) -> list[str]:
        """Extra lines for the printed summary."""
        return []


@dataclass
class RunSummary:
    """What a file job did; the CLI prints it, notebooks can inspect it."""

    output: Path
    verb: str = "processed"
    rows: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    tallies: dict[str, int] = field(default_factory=dict)
    malformed_lines: list = field(default_factory=list)  # line numbers (``file:line`` with several files)
    duplicate_ids: int = 0
    missing_ids: int = 0
    seconds: float = 0.0
    resumed_from_row: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        """Rows with status ``ok``."""
        return self.statuses.get(Status.OK, 0)

    @property
    def flagged(self) -> dict[str, int]:
        """Rows not ok, by reason (status)."""
        return {s: n for s, n in sorted(self.statuses.items()) if s != Status.OK}

    @property
    def posts_per_s(self) -> float:
        """Rows processed by this run per second of wall-clock time."""
        done_now = self.rows - self.resumed_from_row
        return done_now / self.seconds if self.seconds > 0 else float("nan")

    def add(self, statuses: dict[str, int], rows: int | None = None) -> None:
        """Add the status counts of one chunk (``rows``: its length, default their sum)."""
        add_counts(self.statuses, statuses)
        self.rows += sum(statuses.values()) if rows is None else rows

    def __str__(self) -> str:
        lines = [f"{self.verb} {self.rows:,} rows -> {self.output}"]
        if self.statuses:
            flagged = ", ".join(f"{n:,} {s}" for s, n in self.flagged.items()) or "none"
            lines.append(f"  ok: {self.ok:,}; flagged: {flagged}")
        lines.append(
            f"  {self.seconds:.1f} s, {self.posts_per_s:,.0f} posts/s"
            + (f" (resumed at row {self.resumed_from_row:,})" if self.resumed_from_row else "")
        )
        if self.malformed_lines:
            shown = ", ".join(map(str, self.malformed_lines[:10]))
            rest = len(self.malformed_lines) - 10
            tail = f" and {rest} more" if rest > 0 else ""
            lines.append(f"  malformed input lines (flagged): {shown}{tail}")
        if self.duplicate_ids:
            lines.append(f"  warning: {self.duplicate_ids:,} rows repeat an id seen before")
        if self.missing_ids:
            lines.append(f"  warning: {self.missing_ids:,} rows have no id (an empty or null id value)")
        lines.extend(f"  {note}" for note in self.notes)
        return "\n".join(lines)
