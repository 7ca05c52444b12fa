"""The ``score`` file job: every post of an export scored into a new file, locally or on Dask.

Every input row comes out once, in order, with its columns unchanged, then the model's output
columns (:mod:`tonecls.schema`). The streaming runner (:func:`tonecls.io.run_file`) does the
reading, writing, resuming and counting; this module says how a chunk is scored and what
identifies a scoring run for ``resume=True``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from tonecls.io.job import ChunkJob, RunSummary
from tonecls.io.options import Engine, OnBadLines
from tonecls.io.runner import run_file
from tonecls.score.core import (
    ScoringModel,
    check_no_column_clash,
    resolve_model,
    score_frame,
    texts_to_score,
    with_predictions,
)

__all__ = ["ScoreJob", "ScoreSummary", "score_file"]

DEFAULT_CHUNKSIZE = 20_000
DEFAULT_BLOCKSIZE = "16MB"

#: What a scoring job did: the runner's one summary type (``tonecls score`` prints it).
ScoreSummary = RunSummary


class ScoreJob(ChunkJob):
    """Score each chunk with :func:`~tonecls.score.score_frame`; in worker processes, the
    model's :meth:`~tonecls.score.ScoringModel.compute_logits` on the texts only."""

    description = "scoring"
    verb = "scored"

    def __init__(self, model: ScoringModel | str | os.PathLike | None, text_col: str,
                 all_languages: bool = False) -> None:
        self.model_ref = model
        self.text_col = text_col
        self.all_languages = all_languages
        self.model: ScoringModel | None = None
        self.columns: list[str] = []

    def options(self) -> dict[str, Any]:
        if self.model_ref is None or isinstance(self.model_ref, (str, os.PathLike)):
            from tonecls.model import bundle_digest

            identity = {"bundle_digest": bundle_digest(self.model_ref)}
        else:
            identity = resolve_model(self.model_ref).identity()
        return {"model": identity, "all_languages": self.all_languages}

    def check_columns(self, columns: list[str]) -> None:
        self.columns = columns

    def prepare(self) -> None:
        self.model = resolve_model(self.model_ref)
        check_no_column_clash(self.columns, self.model)

    def transform(self, chunk: pd.DataFrame, read_status: np.ndarray) -> pd.DataFrame:
        return score_frame(chunk, self.model, self.text_col, read_status=read_status,
                           all_languages=self.all_languages)

    def worker_task(self) -> Callable[[list], Any]:
        return functools.partial(self.model.compute_logits, all_languages=self.all_languages)

    def worker_input(self, chunk: pd.DataFrame, read_status: np.ndarray) -> list:
        check_no_column_clash(chunk.columns, self.model)  # as score_frame does (JSONL keys may come late)
        return texts_to_score(chunk, self.text_col, read_status)

    def combine(self, chunk: pd.DataFrame, read_status: np.ndarray, result: Any) -> pd.DataFrame:
        return with_predictions(chunk, self.model, self.model.predictions_from_logits(result), read_status)

    def __getstate__(self) -> dict[str, Any]:  # sent to Dask workers: the loaded model, not the path
        return {**self.__dict__, "model_ref": None}


def score_file(
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    text_col: str = "text",
    id_col: str | None = None,
    model: ScoringModel | str | os.PathLike | None = None,
    engine: Engine = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    resume: bool = False,
    chunksize: int = DEFAULT_CHUNKSIZE,
    blocksize: int | str | None = DEFAULT_BLOCKSIZE,
    on_bad_lines: OnBadLines = "flag",
    quiet: bool = False,
    all_languages: bool = False,
) -> ScoreSummary:
    """Score every post of an export into a new file with the model's output columns.

    Parameters
    ----------
    input : path
        A CSV, TSV, JSONL or Parquet file (optionally ``.gz``, by extension), a directory of
        such part files, or a glob pattern (``"exports/*.parquet"``).
    output : path
        The output file (local engine; format by extension) or directory of Parquet parts
        (``engine="dask"``). Every input column comes out unchanged and in order, then
        ``tonecls_status`` and the predictions.
    text_col : str
        Column holding the post text.
    id_col : str, optional
        Column identifying posts; checked to exist, and repeated ids are counted in the
        summary (``duplicate_ids``; not for multi-file inputs on Dask, whose files the workers read).
    model : ToneModel, path or None
        A loaded model, a model bundle directory, or None for the default model.
    engine : {"local", "dask"}
        ``local`` streams the file chunk by chunk (in worker processes for large inputs);
        ``dask`` scores units in parallel on a dask.distributed cluster.
    scheduler : str, optional
        Address of a running dask scheduler (``tcp://host:8786``); without it the dask
        engine starts a LocalCluster with ``workers`` processes.
    workers : int, optional
        Processes scoring in parallel. Local engine: inputs of 20,000 rows or 4 MB or more
        are scored in ``workers`` worker processes while this one reads and writes (default:
        one per core, at most 8; 1: this process only; each holds the model and the language
        identifiers). Dask engine: the LocalCluster's workers (default: one per core).
    resume : bool
        Continue an interrupted job from its completed units (``<output>.partial.json``);
        refused if the input, the options or the partial output changed.
    chunksize : int
        Rows per chunk (local engine; rows per read inside a Dask worker): memory use and the
        unit of resume.
    blocksize : int, str or None
        Bytes per unit of a single CSV/TSV/JSONL input (dask engine), e.g. ``"16MB"``; None:
        the whole file. A multi-file input is one unit per file.
    on_bad_lines : {"flag", "error"}
        Malformed CSV/TSV/JSONL lines: ``flag`` keeps them as rows with status
        ``malformed_line`` (their line numbers are in the summary), ``error`` stops the job.
    quiet : bool
        No progress bar (otherwise shown on a terminal or in Jupyter).
    all_languages : bool
        Score every post whatever its language; by default posts confidently in a language
        the model was not trained on get the status ``other_language`` and no predictions.

    Returns
    -------
    ScoreSummary
        Rows, ok, flagged rows per status, seconds, posts/s and the output path.
    """
    return run_file(input, output, ScoreJob(model, text_col, all_languages), text_col=text_col, id_col=id_col,
                    chunksize=chunksize, on_bad_lines=on_bad_lines, resume=resume, quiet=quiet,
                    engine=engine, workers=workers, scheduler=scheduler, blocksize=blocksize)
