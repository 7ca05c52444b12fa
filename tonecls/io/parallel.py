"""Transform chunks in worker processes, in order: how a file job uses every core.

The transforms of file jobs (tokenising, language identification, the numpy network) are
CPU-bound Python and numpy on one thread, so one process uses one core. A
:class:`ProcessTransformer` sends the job (pickled once, after :meth:`ChunkJob.prepare`) to
``workers`` processes (loky's, which need no ``__main__`` guard in the caller's script),
splits each chunk into parts of about :data:`PART_ROWS` rows, and
hands back each chunk's output, its parts concatenated in order, when the runner asks for
it; meanwhile the runner reads the next chunks and submits them, so the workers never wait
for the writer. :class:`InProcessTransformer` is the same interface in this process.

A job that splits its transform (:meth:`ChunkJob.worker_task`: scoring) sends its workers
only the task and each part's :meth:`~ChunkJob.worker_input` (the texts), and gets back plain
values from which this process builds the output rows (:meth:`~ChunkJob.combine`): the
workers then never import pandas (about 100 MB less each) and less is pickled each way.
This module imports pandas only where it builds rows, so that the workers can import it.

:func:`transformer_for` picks one: worker processes only for inputs large enough to repay
starting them (:data:`MIN_PARALLEL_ROWS`) and jobs that can be pickled; where processes cannot
start (a daemonic process such as a Dask worker) it falls back to this process. Rows are
transformed independently, so the output is the same either way, except that a network's
float32 probabilities can differ in the last bit (at most 1e-7): which posts share a batch
changes the rounding. Statuses, labels and the input's columns are identical.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import signal
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

import numpy as np

from tonecls.io.job import ChunkJob

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["InProcessTransformer", "ProcessTransformer", "ONE_THREAD", "available_cores", "transformer_for",
           "MIN_PARALLEL_BYTES", "MIN_PARALLEL_ROWS", "PART_ROWS", "MAX_DEFAULT_WORKERS"]

PART_ROWS = 10_000  # rows per part sent to a worker
MIN_PARALLEL_ROWS = 20_000  # inputs smaller than this (and than MIN_PARALLEL_BYTES) stay here
MIN_PARALLEL_BYTES = 4 * 2**20  # inputs of this size or more use worker processes
MAX_DEFAULT_WORKERS = 8  # each worker holds the job's model: memory grows with their number

#: set in worker processes before anything is imported (these and the Dask engine's): the
#: parallelism is the processes, one thread each (BLAS libraries, and TensorFlow for a bundle
#: whose network only Keras can run), and no TensorFlow log lines on the terminal
ONE_THREAD = {
    **{name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                              "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")},
    "TF_CPP_MIN_LOG_LEVEL": "2",
}

Collect = Callable[[], "pd.DataFrame"]


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_workers() -> int:
    """Worker processes a local job uses unless told: one per available core, at most 8."""
    return max(1, min(available_cores(), MAX_DEFAULT_WORKERS))


class InProcessTransformer:
    """Transform each chunk in this process when it is submitted."""

    depth = 0  # chunks kept in flight beyond the one being collected

    def __init__(self, job: ChunkJob) -> None:
        self.job = job

    def submit(self, chunk: pd.DataFrame, read_status: np.ndarray) -> Collect:
        result = self.job.transform(chunk, read_status)
        return lambda: result

    def close(self) -> None:
        pass


_worker_job: Any = None  # in a worker: the job, or its worker task


def _install_job(job_pickle: bytes) -> None:
    global _worker_job
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    _worker_job = pickle.loads(job_pickle)


def _transform_part(chunk: pd.DataFrame, read_status: np.ndarray) -> pd.DataFrame:
    return _worker_job.transform(chunk, read_status)


def _run_task(task_input: Any) -> Any:
    return _worker_job(task_input)


def job_for_workers(job: ChunkJob) -> tuple[bytes, bool]:
    """What the workers get, pickled: the job's worker task if it has one (True), else the job."""
    task = job.worker_task()
    return pickle.dumps(job if task is None else task, protocol=pickle.HIGHEST_PROTOCOL), task is not None


class ProcessTransformer:
    """Transform parts of chunks in ``workers`` processes; collect each chunk in order.

    ``job_pickle`` is :func:`job_for_workers`'s: with ``split``, the workers run the job's
    worker task on each part's worker input and this process combines the results into rows.
    """

    def __init__(self, job: ChunkJob, job_pickle: bytes, workers: int, split: bool = False) -> None:
        self.depth = workers  # chunks queued behind the one being collected
        self._split = split
        self._local = InProcessTransformer(job)
        self._collected = False  # a chunk came back from the workers
        self._broken = False
        from loky import ProcessPoolExecutor

        # loky's processes start fresh, like spawn (no fork of a process whose read-ahead
        # thread may hold locks), and do not re-run the caller's script as spawn would
        # (a script without an ``if __name__ == "__main__":`` guard works)
        self._pool = ProcessPoolExecutor(workers, initializer=_install_job, initargs=(job_pickle,),
                                         env=ONE_THREAD)

    def _submit_part(self, chunk: pd.DataFrame, read_status: np.ndarray) -> Future:
        if self._split:
            return self._pool.submit(_run_task, self._local.job.worker_input(chunk, read_status))
        return self._pool.submit(_transform_part, chunk, read_status)

    def _part_output(self, chunk: pd.DataFrame, read_status: np.ndarray, result: Any) -> pd.DataFrame:
        return self._local.job.combine(chunk, read_status, result) if self._split else result

    def submit(self, chunk: pd.DataFrame, read_status: np.ndarray) -> Collect:
        if self._broken:
            return self._local.submit(chunk, read_status)
        n_parts = max(1, math.ceil(len(chunk) / PART_ROWS))
        bounds = np.linspace(0, len(chunk), n_parts + 1).astype(int)
        parts = [(chunk.iloc[start:stop], read_status[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:])]
        futures: list[Future] = [self._submit_part(part, status) for part, status in parts]

        def collect() -> pd.DataFrame:
            import pandas as pd

            try:
                results = [future.result() for future in futures]
            except BrokenProcessPool:
                if self._collected:  # a worker died mid-job (out of memory, killed)
                    raise RuntimeError(
                        "a worker process stopped unexpectedly (out of memory? killed?); run "
                        "again with --resume, with fewer --workers or a smaller --chunksize") from None
                # the workers never started (e.g. the job cannot be unpickled there)
                self._broken = True
                return self._local.submit(chunk, read_status)()
            self._collected = True
            outputs = [self._part_output(part, status, result) for (part, status), result in zip(parts, results)]
            return outputs[0] if len(outputs) == 1 else pd.concat(outputs)

        return collect

    def close(self) -> None:
        """Stop the workers; parts not yet collected (after an error or an interrupt) are dropped."""
        self._pool.shutdown(wait=True, kill_workers=True)


def transformer_for(job: ChunkJob, first_chunk_rows: int, input_bytes: int,
                    workers: int | None) -> InProcessTransformer | ProcessTransformer:
    """Worker processes for ``job`` if asked (``workers`` > 1, default :func:`default_workers`)
    and worth it (the first chunk has :data:`MIN_PARALLEL_ROWS` rows or the input file
    :data:`MIN_PARALLEL_BYTES` bytes), else this process. Also this process if the job cannot
    be pickled or processes cannot start here.
    """
    workers = default_workers() if workers is None else workers
    large = first_chunk_rows >= MIN_PARALLEL_ROWS or input_bytes >= MIN_PARALLEL_BYTES
    if workers < 2 or not large or multiprocessing.current_process().daemon:
        return InProcessTransformer(job)
    try:
        job_pickle, split = job_for_workers(job)
    except (pickle.PicklingError, TypeError, AttributeError):  # e.g. a model defined in a notebook
        return InProcessTransformer(job)
    try:
        return ProcessTransformer(job, job_pickle, workers, split)
    except (OSError, RuntimeError, ValueError):
        return InProcessTransformer(job)
