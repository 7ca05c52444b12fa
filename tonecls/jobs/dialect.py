"""The ``dialect`` file job: TwitterAAE dialect proportions and a dialect group added to every row."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from tonecls.audit.dialect import (
    DEFAULT_THRESHOLD,
    GROUP_AA,
    GROUP_COLUMN,
    GROUP_UNDETERMINED,
    GROUP_WHITE,
    PROXY_NOTE,
    DialectEstimator,
    GroupSizeTally,
    add_dialect_columns,
    check_threshold,
    fitted,
    resolve_model_dir,
)
from tonecls.audit.dialect.estimator import COUNT_TABLE_FILE, VOCAB_FILE
from tonecls.io.files import sha256_file
from tonecls.io.job import ChunkJob, RunSummary
from tonecls.io.runner import run_file

__all__ = ["DialectJob", "dialect_file"]


class DialectJob(ChunkJob):
    """Append the dialect columns to each chunk: the streaming runner's job for
    :func:`dialect_file`. Rows the reader could not parse get no estimate."""

    description = "dialect"
    verb = "added dialect columns to"
    writes_status = False

    def __init__(self, estimator: DialectEstimator | None, text_col: str, threshold: float) -> None:
        self.estimator, self.text_col, self.threshold = estimator, text_col, threshold

        self.columns: list[str] = []

    def options(self) -> dict[str, Any]:
        """The threshold, the estimator's parameters and the TwitterAAE model files it reads
        (their SHA-256: a resume with another model, e.g. another data directory, is refused)."""
        estimator = self.estimator if self.estimator is not None else DialectEstimator()
        params = {name: str(value) for name, value in sorted(estimator.get_params().items())}
        directory = resolve_model_dir(estimator.get_params()["model_dir"])
        model = {name: sha256_file(directory / name) for name in (VOCAB_FILE, COUNT_TABLE_FILE)}
        return {"threshold": self.threshold, "estimator": params, "twitteraae": model}

    def check_columns(self, columns: list[str]) -> None:
        self.columns = columns

    def prepare(self) -> None:  # load the TwitterAAE model, then refuse column clashes
        self.estimator = fitted(self.estimator)
        add_dialect_columns(pd.DataFrame(columns=self.columns), self.estimator, self.text_col, self.threshold)

    def transform(self, chunk: pd.DataFrame, read_status: np.ndarray) -> pd.DataFrame:
        readable = pd.Series(read_status == "ok", index=chunk.index)
        texts = chunk[self.text_col]
        masked = chunk.assign(**{self.text_col: texts.astype(object).where(readable, None)})
        result = add_dialect_columns(masked, self.estimator, text_col=self.text_col, threshold=self.threshold)
        result[self.text_col] = texts
        return result

    def tally(self, output: pd.DataFrame) -> dict[str, int]:
        counts = {GROUP_AA: 0, GROUP_WHITE: 0, GROUP_UNDETERMINED: 0}
        counts.update({str(g): int(n) for g, n in output[GROUP_COLUMN].value_counts().items()})
        sizes = GroupSizeTally(self.threshold)
        sizes.update(output)
        grid = {f"grid:{key}": n for key, n in sizes.counts().items()}
        return {**counts, "estimated": int(output["dialect_aa"].notna().sum()), **grid}

    def notes(self, summary: RunSummary) -> list[str]:
        tallies = summary.tallies
        groups = ", ".join(f"{group} {tallies.get(group, 0):,}"
                           for group in (GROUP_AA, GROUP_WHITE, GROUP_UNDETERMINED))
        grid = {key[len("grid:"):]: n for key, n in tallies.items() if key.startswith("grid:")}
        warnings = GroupSizeTally.from_counts(self.threshold, grid).warnings()
        return [f"{tallies.get('estimated', 0):,} rows with an estimate; groups at threshold "
                f"{self.threshold}: {groups}", *(f"warning: {w}" for w in warnings),
                f"note: {PROXY_NOTE}"]


def dialect_file(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    *,
    text_col: str = "text",
    threshold: float = DEFAULT_THRESHOLD,
    estimator: DialectEstimator | None = None,
    chunksize: int = 50_000,
    resume: bool = False,
    quiet: bool = False,
    workers: int | None = None,
) -> RunSummary:
    """Stream an export chunk by chunk and write it with the dialect columns appended.

    A thin adapter over :func:`tonecls.io.runner.run_file` (format from the extension,
    atomic; ``resume=True`` continues an interrupted run after its last complete chunk).
    Every input row comes out exactly once, in order, with all its columns unchanged (a
    malformed or empty row gets no estimate and the group ``undetermined``). The
    summary's ``tallies`` hold the rows per group and ``estimated``. ``workers``: processes
    estimating large inputs (default: one per core; see :mod:`tonecls.io.parallel`).
    """
    threshold = check_threshold(threshold)
    return run_file(input_path, output_path, DialectJob(estimator, text_col, threshold), text_col=text_col,
                    chunksize=chunksize, resume=resume, quiet=quiet, workers=workers)
