"""Tokenise the next part of a batch in a second process while the network scores this one.

The tokeniser is pure Python (it holds the GIL) and the numpy network runs on one BLAS thread,
so with two free cores the two can overlap in two processes. Opt-in
(``ToneModel.tokenize_in_background``): on the busy shared machine it was measured on
(``benchmarks/bench_overlap.py``, BENCHMARKS.md) it did not help. :class:`BackgroundTokenizer` keeps one worker process with
the model's preprocessor; :meth:`BackgroundTokenizer.parts` yields the posts' tokens part by
part, having handed the next part to the worker before it yields, so that the caller's work
on part k overlaps the worker's tokenising of part k+1. While the worker is starting, or if
it cannot run (no second core, a daemonic Dask worker process, a broken pool), parts are
tokenised in this process: the results are the same either way.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

PART_SIZE = 2_000  # posts per part: small enough to start overlapping early
MIN_POSTS = 4 * PART_SIZE  # fewer posts than this are tokenised in this process

_worker_preprocessor = None


def _start_worker(config: Mapping[str, Any]) -> None:
    global _worker_preprocessor
    from tonecls.preprocess import PreprocessConfig, Preprocessor

    _worker_preprocessor = Preprocessor(PreprocessConfig.from_dict(dict(config)))


def _tokenize_part(texts: list[Any]) -> tuple[list[list[str]], list[str]]:
    tokens, statuses = _worker_preprocessor.tokenize_with_status(texts)
    return list(tokens), list(statuses)


def _ready() -> bool:
    return _worker_preprocessor is not None


class BackgroundTokenizer:
    """One tokenising worker process for a preprocessing config (started on first use)."""

    def __init__(self, config: Mapping[str, Any], local) -> None:
        self.config = dict(config)
        self.local = local  # texts -> (tokens, statuses) in this process
        self._pool: ProcessPoolExecutor | None = None
        self._ready: Future | None = None
        self._failed = (os.cpu_count() or 1) < 2

    def _worker(self) -> tuple[ProcessPoolExecutor, Future] | None:
        if self._failed:
            return None
        if self._pool is None:
            try:
                # spawn: no fork of a process that may hold threads (the export read-ahead)
                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_start_worker, initargs=(self.config,))
                self._ready = self._pool.submit(_ready)
            except (OSError, RuntimeError, AssertionError, ValueError):
                self._failed = True
                return None
        return self._pool, self._ready

    def _usable(self, started: tuple[ProcessPoolExecutor, Future] | None) -> bool:
        if started is None or not started[1].done():
            return False
        if started[1].exception() is not None:
            self.close()
            self._failed = True
            return False
        return True

    def parts(self, texts: Sequence[Any], part_size: int = PART_SIZE) -> Iterator[tuple[int, list, list]]:
        """``(start, tokens, statuses)`` of consecutive parts of ``texts``, in order."""
        starts = list(range(0, len(texts), part_size))
        started = self._worker() if len(texts) >= MIN_POSTS else None
        pending: tuple[int, Future] | None = None
        for k, start in enumerate(starts):
            part = list(texts[start:start + part_size])
            result = None
            if pending is not None and pending[0] == k:
                try:
                    result = pending[1].result()
                except Exception:  # noqa: BLE001  (a broken worker: tokenise here instead)
                    self.close()
                    self._failed = True
                pending = None
            if result is None:
                result = self.local(part)
            if k + 1 < len(starts) and self._usable(started):
                following = list(texts[starts[k + 1]:starts[k + 1] + part_size])
                try:
                    pending = (k + 1, started[0].submit(_tokenize_part, following))
                except RuntimeError:  # the pool was shut down
                    self._failed = True
            yield start, result[0], result[1]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001, S110  (interpreter shutdown)
            pass
