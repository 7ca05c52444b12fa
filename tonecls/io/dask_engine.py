"""The Dask engine: each unit of a file job transformed and written as a Parquet part by a worker.

The job (with its loaded model) is sent to every worker once (``client.scatter``); then each
unit is one task: a chunk the client read (one input file, read in blocks of about
``blocksize`` bytes by the same reader as the local engine), or a whole input file of a
multi-file export, which the worker reads itself (the client then reads nothing but the
files' headers). The worker transforms the rows and writes them as
``OUTPUT.partial/part-00000.parquet, part-00001.parquet, ...`` (numbered in input order, so
pandas, pyarrow, Dask, Spark or DuckDB read the directory back as one table in input order),
and returns the unit's outcome to the runner, which records it.

At most two units per worker are in flight, so the client's memory stays bounded. Workers must
be able to import tonecls and write the output directory (a shared filesystem, as on SLURM/HPC
clusters), and, for multi-file inputs, read the input files.
"""

from __future__ import annotations

import importlib.util
from collections import deque
from pathlib import Path
from typing import Any

from tonecls.errors import InputError
from tonecls.io.engines import Outcome, split_markers, transform_unit
from tonecls.io.files import sha256_file
from tonecls.io.job import ChunkJob, add_counts
from tonecls.io.parallel import ONE_THREAD, available_cores
from tonecls.io.sources import Unit

__all__ = ["DaskEngine", "parse_blocksize", "require_dask"]

DEFAULT_BLOCKSIZE = 16 * 2**20


def require_dask() -> None:
    """Raise :class:`InputError` unless dask.distributed is installed (the ``[dask]`` extra)."""
    if importlib.util.find_spec("distributed") is None or importlib.util.find_spec("dask") is None:
        raise InputError("the dask engine needs dask.distributed, which is not installed: "
                         "pip install 'tonecls[dask]' (scripts/setup.sh installs it), or use engine='local'.")


def parse_blocksize(blocksize: int | str | None) -> int | None:
    """Bytes per partition from ``blocksize`` (an int, ``"16MB"``, ``"64 MiB"``, None or
    ``"none"``: one partition per file); :class:`InputError` for anything else."""
    if blocksize is None or (isinstance(blocksize, str) and blocksize.strip().lower() == "none"):
        return None
    if isinstance(blocksize, bool):
        raise InputError(f"blocksize must be a size in bytes such as 16MB, not {blocksize!r}")
    if isinstance(blocksize, int):
        value = blocksize
    else:
        require_dask()
        from dask.utils import parse_bytes

        try:
            value = int(parse_bytes(str(blocksize)))
        except (ValueError, TypeError, KeyError):
            raise InputError(
                f"blocksize {blocksize!r} is not a size: give bytes per partition such as "
                "16MB, 256kB or 1GiB (CLI: --blocksize 16MB), or none for one partition per file."
            ) from None
    if value < 1:
        raise InputError(f"blocksize must be a positive size such as 16MB, not {blocksize!r}")
    return value


def _write_part(job: ChunkJob, chunks: Any, path: str, declared: Any, name_lines: Any) -> dict[str, Any]:
    """Transform ``chunks`` (reader chunks) and write them as one Parquet part (on a worker)."""
    from tonecls.io.reading import LINE_COLUMN, READ_STATUS_COLUMN
    from tonecls.io.writing import ExportWriter
    from tonecls.schema import Status

    rows, statuses, tallies, bad = 0, {}, {}, []
    with ExportWriter(path, schema=declared) as writer:
        for chunk in chunks:
            marked = chunk[LINE_COLUMN][chunk[READ_STATUS_COLUMN] == Status.MALFORMED_LINE]
            bad += name_lines(marked.dropna().astype(int).tolist())
            frame, read_status = split_markers(chunk)
            output = job.transform(frame, read_status)
            outcome = transform_unit(job, 0, frame, output, [], None)
            writer.write(output)
            rows += outcome.rows
            add_counts(statuses, outcome.statuses)
            add_counts(tallies, outcome.tallies)
    return {"rows": rows, "statuses": statuses, "tallies": tallies, "bad_lines": bad,
            "part": {"part": Path(path).name, "sha256": sha256_file(path)}}


def _run_chunk(job: ChunkJob, chunk: Any, path: str, declared: Any) -> dict[str, Any]:
    return _write_part(job, [chunk], path, declared, lambda lines: [])


def _run_file(job: ChunkJob, file: str, path: str, declared: Any, read_options: dict[str, Any]) -> dict[str, Any]:
    from tonecls.io.reading import read_export

    name = Path(file).name
    result = _write_part(job, read_export(file, **read_options), path, declared,
                         lambda lines: [f"{name}:{line}" for line in lines])
    return {**result, "digest": sha256_file(file)}


class DaskEngine:
    """Units transformed and written as Parquet parts by dask.distributed workers.

    ``scheduler``: the address of a running scheduler (``tcp://host:8786``); without it a
    LocalCluster of ``workers`` processes (default: one per core) is started.
    """

    name = "dask"
    writes_parts = True

    def __init__(self, scheduler: str | None = None, workers: int | None = None,
                 blocksize: int | str | None = DEFAULT_BLOCKSIZE) -> None:
        require_dask()
        self.scheduler, self.workers = scheduler, workers
        self.blocksize = parse_blocksize(blocksize)
        self.depth = 0
        self._client = self._cluster = self._job = None
        self._parts: Any = None

    def options(self) -> dict[str, Any]:
        return {"engine": self.name, "blocksize": self.blocksize}

    def start(self, job: ChunkJob, first_rows: int, input_bytes: int, *, parts: Any = None,
              declared: Any = None, read_options: dict[str, Any] | None = None) -> None:
        """Connect (or start a LocalCluster) and send ``job`` to every worker."""
        self._client, self._cluster = _connect(self.scheduler, self.workers)
        self._job = self._client.scatter(job, broadcast=True, hash=False)
        self.depth = 2 * max(len(self._client.scheduler_info().get("workers", {})), 1)
        self._parts, self._declared, self._read_options = parts, declared, dict(read_options or {})

    def submit(self, unit: Unit) -> tuple[Unit, Any]:
        path = str(self._parts.part_path(unit.index))
        if unit.file is not None:
            future = self._client.submit(_run_file, self._job, str(unit.file), path, self._declared,
                                         self._read_options, pure=False)
        else:  # the block travels as data, not inside the task
            block = self._client.scatter(unit.frame, hash=False)
            future = self._client.submit(_run_chunk, self._job, block, path, self._declared, pure=False)
        return unit, future

    def next_outcome(self, pending: deque) -> Outcome:
        """The outcome of a pending unit that has finished (waiting for the first); a worker's
        error is raised here."""
        from distributed import wait

        done = wait([future for _, future in pending], return_when="FIRST_COMPLETED").done
        item = next(p for p in pending if p[1] in done)
        pending.remove(item)
        unit, future = item
        result = future.result()
        return Outcome(unit.index, result["rows"], result["statuses"], result["tallies"],
                       unit.bad_lines + result["bad_lines"], result.get("digest", unit.digest), part=result["part"])

    def hash_files(self, paths: list[Path]) -> list[str]:
        """SHA-256 of ``paths``, computed by the workers."""
        return self._client.gather(self._client.map(sha256_file, [str(p) for p in paths], pure=False))

    def cancel(self, pending: deque) -> None:
        for _, future in pending:
            future.cancel()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def _connect(scheduler: str | None, workers: int | None):
    """A client of the scheduler at ``scheduler``, or of a new LocalCluster (returned too)."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except OSError as error:
            raise InputError(
                f"cannot connect to the dask scheduler at {scheduler} ({error}); check the "
                "address (tcp://host:8786) and that the scheduler is running."
            ) from None
    cluster = LocalCluster(n_workers=workers or available_cores(), threads_per_worker=1, processes=True,
                           dashboard_address=":0", env=ONE_THREAD)
    return Client(cluster), cluster

