"""Scoring one in-memory frame: the model's output columns appended to every row.

:func:`score_frame` is what every engine runs per chunk (:mod:`tonecls.jobs.score`), so a
notebook, a batch job and a cluster produce the same values. A model takes part through the
:class:`ScoringModel` protocol, which splits predicting in two: the heavy part
(``compute_logits``: plain values, no pandas, run in worker processes) and building the rows
(``predictions_from_logits``, run where the rows are written).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from tonecls.errors import InputError
from tonecls.io.reading import READ_STATUS_COLUMN
from tonecls.schema import STATUS_COLUMN, OutputSchema, Status

__all__ = ["ScoringModel", "check_no_column_clash", "resolve_model", "score_frame", "texts_to_score",
           "with_predictions"]


@runtime_checkable
class ScoringModel(Protocol):
    """What scoring needs from a model (:class:`tonecls.model.ToneModel` is one).

    ``predictions_from_logits(compute_logits(texts))`` are the output columns of
    :mod:`tonecls.schema` for ``texts``, one row each, in order; ``compute_logits`` returns
    plain, picklable values and imports no pandas (it runs in worker processes).
    ``identity()`` tells one model from another across runs (a resumed job must use the same).
    """

    heads_: Sequence[Any]

    def output_columns(self) -> list[str]: ...

    def compute_logits(self, texts: Sequence[Any], *, all_languages: bool = False) -> Any: ...

    def predictions_from_logits(self, logits: Any) -> pd.DataFrame: ...

    def identity(self) -> dict[str, Any]: ...


def check_no_column_clash(input_columns: Iterable[str], model: ScoringModel) -> None:
    """Raise :class:`InputError` if the input already has a column scoring would write.

    Scoring never overwrites or silently renames a column: the audit reads the output
    columns by name, so a clash (typically: scoring an already scored file) is an error.
    """
    written = set(model.output_columns())
    clash = [c for c in input_columns if c in written]
    if clash:
        shown = ", ".join(map(repr, clash[:5])) + (" ..." if len(clash) > 5 else "")
        raise InputError(
            f"the input already has column(s) {shown} that scoring would write; it looks "
            "already scored. Drop or rename those columns before scoring it again."
        )


# --- model resolution ---------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _load_model_cached(path: str | None, digest: str) -> ScoringModel:
    from tonecls.model import load_model

    return load_model(path)


def resolve_model(model: ScoringModel | str | os.PathLike | None) -> ScoringModel:
    """A model object from ``model``: a loaded model, a bundle path, or None (the default model).

    Bundles are loaded once per process and cached by path and digest, so that repeated calls
    in a notebook reuse the loaded model, and a bundle written again in place is loaded again;
    every call checks the bundle's files against its seal, as a load does.
    """
    if model is None or isinstance(model, (str, os.PathLike)):
        from tonecls.model import bundle_digest

        path = None if model is None else str(Path(model).expanduser().resolve())
        return _load_model_cached(path, bundle_digest(path, verify=True))
    if not isinstance(model, ScoringModel):
        raise InputError(
            f"model must be a tonecls ToneModel (or follow tonecls.score.ScoringModel), a model bundle "
            f"path or None, not {type(model).__name__}"
        )
    return model


# --- scoring one frame --------------------------------------------------------------------


def score_frame(
    df: pd.DataFrame,
    model: ScoringModel | str | os.PathLike | None = None,
    text_col: str = "text",
    *,
    read_status: Sequence[str] | pd.Series | None = None,
    all_languages: bool = False,
) -> pd.DataFrame:
    """Score the posts of ``df``: its columns, unchanged, then the model's output columns.

    Parameters
    ----------
    df : DataFrame
        One post per row; its index and columns are kept as they are.
    model : ToneModel, path or None
        A loaded model, a model bundle directory, or None for the default model.
    text_col : str
        The column holding the post text.
    read_status : sequence of str, optional
        Per row, ``"ok"`` or why the row could not be read from its file (``malformed_line``,
        ``invalid_encoding``, as :func:`tonecls.io.read_export` reports them); such rows
        are not scored and keep that status. Default: the reader's marker column
        ``_tonecls_read_status`` when ``df`` has it (a chunk of ``read_export``), else all ok.
    all_languages : bool
        Score every post whatever its language. By default a post confidently in a language
        the model was not trained on gets the status ``other_language`` and no predictions
        (its language is in ``tonecls_language`` either way).

    Returns
    -------
    DataFrame
        ``df``'s columns followed by ``tonecls_status`` and, per head, the predicted
        label(s), confidence and per-class probabilities. Rows whose text cannot be scored
        (missing, not text, empty after preprocessing, ...) are kept, with their reason in
        ``tonecls_status`` and empty predictions.

    Examples
    --------
    >>> scored = score_frame(posts, text_col="body")          # doctest: +SKIP
    >>> scored["sentiment_label"].value_counts()               # doctest: +SKIP
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"score_frame expects a pandas DataFrame, not {type(df).__name__}")
    if text_col not in df.columns:
        raise InputError(
            f"text column {text_col!r} not found; the columns are {list(df.columns)}. "
            "Pass text_col= (CLI: --text-col) naming the column that holds the posts."
        )
    if list(df.columns).count(text_col) > 1:
        raise InputError(
            f"df has {list(df.columns).count(text_col)} columns named {text_col!r}, so the text "
            "column is ambiguous; rename the repeated columns (or pass text_col= naming another)."
        )
    model = resolve_model(model)
    check_no_column_clash(df.columns, model)
    if read_status is None and READ_STATUS_COLUMN in df.columns:
        read_status = df[READ_STATUS_COLUMN]
    logits = model.compute_logits(texts_to_score(df, text_col, read_status), all_languages=all_languages)
    return with_predictions(df, model, model.predictions_from_logits(logits), read_status)


def texts_to_score(df: pd.DataFrame, text_col: str, read_status: Sequence[str] | pd.Series | None) -> list:
    """The posts of ``df`` as a list, None for rows the reader could not use: such a row is
    scored as a missing text (so its predictions are empty in exactly the way the model leaves
    them empty), then :func:`with_predictions` gives it its read status."""
    texts = df[text_col].to_numpy(dtype=object, copy=True)
    texts[pd.isna(texts)] = None  # pandas' NA / NaT (missing either way) need no pandas to unpickle
    if read_status is not None:
        read_status = check_read_status(df, read_status)
        texts[read_status != Status.OK] = None
    return texts.tolist()


READ_STATUSES = frozenset({Status.OK, Status.MALFORMED_LINE, Status.INVALID_ENCODING})


def check_read_status(df: pd.DataFrame, read_status: Sequence[str] | pd.Series) -> np.ndarray:
    """``read_status`` as an array, one reader status per row of ``df``: a Series must have
    ``df``'s index (it is not realigned), and every value must be one the reader writes."""
    if isinstance(read_status, pd.Series) and not read_status.index.equals(df.index):
        raise InputError("read_status is a Series whose index differs from df's; pass it with df's index "
                         "(or as a list, in df's row order).")
    values = np.asarray(read_status, dtype=object)
    if values.shape != (len(df),):
        raise InputError(f"read_status must have one status per row of df ({len(df)}), got shape {values.shape}")
    unknown = {str(v) for v in pd.unique(values)} - {str(s) for s in READ_STATUSES}
    if unknown:
        raise InputError(f"read_status holds {sorted(unknown)[:5]}; a reader status is one of "
                         f"{sorted(str(s) for s in READ_STATUSES)}.")
    return values


def with_predictions(df: pd.DataFrame, model: ScoringModel, predictions: pd.DataFrame,
                     read_status: Sequence[str] | pd.Series | None) -> pd.DataFrame:
    """``df``'s columns, then ``predictions`` (the model's output columns for its rows) with
    the schema's dtypes, unreadable rows keeping their read status."""
    expected = model.output_columns()
    if len(predictions) != len(df) or list(predictions.columns) != expected:
        raise RuntimeError(
            f"the predictions of {type(model).__name__} broke the scoring contract: expected "
            f"{len(df)} rows with columns {expected}, got {len(predictions)} rows with "
            f"columns {list(predictions.columns)}"
        )
    predictions = _normalise_dtypes(predictions.reset_index(drop=True),
                                    OutputSchema.from_heads(model.heads_).dtypes())
    if read_status is not None:
        read_status = check_read_status(df, read_status)
        unreadable = read_status != Status.OK
        if unreadable.any():
            status = predictions[STATUS_COLUMN].to_numpy(dtype=object, copy=True)
            status[unreadable] = read_status[unreadable]
            predictions[STATUS_COLUMN] = pd.array(status, dtype="str")
    scored = pd.concat([df.reset_index(drop=True), predictions], axis=1)
    scored.index = df.index
    return scored


def _normalise_dtypes(predictions: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """Give the output columns the same dtypes in every chunk (text: str, numbers: float32).

    A chunk in which no row could be scored would otherwise have all-missing object
    columns, and chunks written one after the other (Parquet row groups, resumed jobs, Dask
    partitions) must share one schema.
    """
    out = {column: predictions[column].astype(dtypes[column]) for column in predictions.columns}
    return pd.DataFrame(out, index=predictions.index)
