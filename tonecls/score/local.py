"""The local engine: scoring as a job of the streaming runner (:mod:`tonecls.io.runner`).

The runner reads the export chunk by chunk (the next chunk in a background thread while the
model scores the current one), appends the scored chunks atomically to ``<output>.partial``
and keeps the resume manifest ``<output>.partial.json``; this module says how one chunk is
scored and what identifies a scoring run for ``resume=True``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tonecls.io.runner import ChunkJob, RunSummary, run_file
from tonecls.score.core import (
    ScoringModel,
    check_no_column_clash,
    model_identity,
    resolve_model,
    score_frame,
    scored_frame,
    texts_to_score,
)


class ScoreJob(ChunkJob):
    """Score each chunk with :func:`~tonecls.score.core.score_frame`."""

    description = "scoring"
    verb = "scored"

    def __init__(self, model: ScoringModel | str | os.PathLike | None, text_col: str,
                 all_languages: bool = False) -> None:
        self.model_ref = model
        self.text_col = text_col
        self.all_languages = all_languages
        self.model: ScoringModel | None = None
        self.columns: list[str] = []

    def options(self) -> dict:
        return {"engine": "local", "model": model_identity(self.model_ref), "all_languages": self.all_languages}

    def check_columns(self, columns: list[str]) -> None:
        self.columns = columns

    def prepare(self) -> None:
        self.model = resolve_model(self.model_ref)
        check_no_column_clash(self.columns, self.model)

    def transform(self, chunk: pd.DataFrame, read_status: np.ndarray) -> pd.DataFrame:
        return score_frame(chunk, self.model, self.text_col, read_status=read_status,
                           all_languages=self.all_languages)

    def worker_task(self) -> Callable[[list], Any] | None:
        """A ToneModel's :meth:`~tonecls.model.ToneModel.score_posts`, whose result
        :meth:`~tonecls.model.ToneModel.predictions` turns into what ``predict`` gives; None
        for other models, and for a subclass that changes ``predict`` or the output columns
        (workers then run :meth:`transform`)."""
        from tonecls.model.tone_model import ToneModel

        model_type = type(self.model)
        if not (isinstance(self.model, ToneModel) and model_type.predict is ToneModel.predict
                and model_type.output_columns is ToneModel.output_columns):
            return None
        return functools.partial(self.model.score_posts, all_languages=self.all_languages)

    def worker_input(self, chunk: pd.DataFrame, read_status: np.ndarray) -> list:
        check_no_column_clash(chunk.columns, self.model)  # as score_frame does (JSONL keys may come late)
        return texts_to_score(chunk, self.text_col, read_status)

    def combine(self, chunk: pd.DataFrame, read_status: np.ndarray, result: Any) -> pd.DataFrame:
        return scored_frame(chunk, self.model, self.model.predictions(result), read_status)


def score_file_local(
    input: Path,
    output: Path,
    *,
    model: ScoringModel | str | os.PathLike | None,
    text_col: str,
    id_col: str | None,
    chunksize: int,
    on_bad_lines: str,
    resume: bool,
    progress: bool,
    all_languages: bool = False,
    workers: int | None = None,
) -> RunSummary:
    """Score ``input`` into ``output`` in this process; see :func:`tonecls.score.score_file`."""
    return run_file(input, output, ScoreJob(model, text_col, all_languages), text_col=text_col, id_col=id_col,
                    chunksize=chunksize, on_bad_lines=on_bad_lines, resume=resume, progress=progress,
                    workers=workers)
