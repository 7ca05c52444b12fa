"""The ``preprocess`` file job: the tokens of every post of an export, as the tone model sees them."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from tonecls.errors import InputError
from tonecls.io.job import ChunkJob, RunSummary
from tonecls.io.options import OnBadLines
from tonecls.io.runner import run_file
from tonecls.preprocess import TOKENIZER_VERSION, PreprocessConfig, Preprocessor, preprocessor_for
from tonecls.schema import STATUS_COLUMN, Status

__all__ = ["TokenizeJob", "tokenize_file"]


class TokenizeJob(ChunkJob):
    """Tokenise the text column of each chunk: the streaming runner's job for
    :func:`tokenize_file`."""

    description = "tokenising"
    verb = "tokenised"

    def __init__(self, preprocessor: Preprocessor, text_col: str, tokens_col: str, input: Any) -> None:
        if tokens_col == STATUS_COLUMN:
            raise InputError(f"the tokens column cannot be named {tokens_col!r}: the output already has a column of "
                             "that name; choose another (tokens_col=, CLI: --tokens-col).")
        self.preprocessor, self.text_col, self.tokens_col, self.input = preprocessor, text_col, tokens_col, input

    def options(self) -> dict[str, Any]:
        return {"tokens_col": self.tokens_col, "config": self.preprocessor.config.to_dict(),
                "tokenizer_version": TOKENIZER_VERSION}

    def check_columns(self, columns: list[str]) -> None:
        _check_new_columns(self.input, columns, self.tokens_col)

    def transform(self, chunk: Any, read_status: Any) -> Any:
        _check_new_columns(self.input, chunk.columns, self.tokens_col)  # JSONL keys may come late
        tokens, statuses = self.preprocessor.tokenize_with_status(chunk[self.text_col])
        statuses = [str(status if read == Status.OK else read) for read, status in zip(read_status, statuses)]
        chunk[self.tokens_col] = pd.array([" ".join(post_tokens) if status == Status.OK else ""
                                           for post_tokens, status in zip(tokens, statuses)], dtype="str")
        chunk[STATUS_COLUMN] = pd.array(statuses, dtype="str")
        return chunk


def tokenize_file(
        input: str | os.PathLike,
        output: str | os.PathLike,
        *,
        text_col: str = "text",
        tokens_col: str = "tokens",
        config: PreprocessConfig | dict[str, Any] | None = None,
        chunksize: int = 50_000,
        on_bad_lines: OnBadLines = "flag",
        resume: bool = False,
        quiet: bool = False,
        workers: int | None = None,
) -> RunSummary:
    """Tokenise the text column of an export (CSV/TSV/JSONL/Parquet, see :mod:`tonecls.io`).

    ``output`` gets every input column unchanged and in input order, then ``tokens_col`` (the
    tokens joined by single spaces: a token never contains whitespace, so ``str.split()``
    gives them back) and ``tonecls_status`` (``"ok"`` or why the row has no tokens, including
    the reader's ``malformed_line`` / ``invalid_encoding``). Every input row comes out once,
    in order. The output appears atomically; with ``resume=True`` an interrupted run with the
    same input, output and options continues after its last completed chunk (see
    :func:`tonecls.io.runner.run_file`). ``workers``: processes tokenising large inputs
    (default: one per core; see :mod:`tonecls.io.parallel`); ``quiet``: no progress bar.

    >>> tokenize_file("posts.csv", "tokens.parquet", text_col="body")  # doctest: +SKIP
    """
    job = TokenizeJob(preprocessor_for(config), text_col, tokens_col, input)
    return run_file(input, output, job, text_col=text_col, chunksize=chunksize,
                    on_bad_lines=on_bad_lines, resume=resume, quiet=quiet, workers=workers)


def _check_new_columns(input, columns, tokens_col: str) -> None:
    for column in (tokens_col, STATUS_COLUMN):
        if column in columns:
            raise InputError(
                f"{input} already has a column {column!r}; choose another name for the tokens "
                "column (tokens_col=, CLI: --tokens-col) or rename the input column.")
