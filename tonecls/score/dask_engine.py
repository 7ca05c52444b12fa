"""The Dask engine: score an export partition by partition on a dask.distributed cluster.

The input is read with ``dask.dataframe`` (CSV/TSV/JSONL by byte blocks, Parquet by row
groups), every partition goes through the same :func:`~tonecls.score.core.score_frame` as the
local engine, and each worker writes its scored partitions as Parquet part files
``OUTPUT/part-00000.parquet, part-00001.parquet, ...`` (numbered in input order, so pandas,
pyarrow, Dask, Spark or DuckDB read the directory back as one table in input order).

- The model is loaded once per worker process: tasks carry the bundle *path* and
  :func:`~tonecls.score.core.resolve_model` caches the loaded model per process. A model
  object (e.g. trained in a notebook) is saved to ``OUTPUT.partial.model/`` for the
  workers to load, and deleted at the end.
- Parts are written to ``OUTPUT.partial/`` and the directory is renamed to ``OUTPUT`` when
  every partition is done; the manifest ``OUTPUT.partial.json`` records the finished parts,
  so ``resume=True`` recomputes only the missing ones.
- Malformed CSV lines stop the job with pandas' error (``on_bad_lines="error"``); flagging
  them row by row needs the local engine, which reads the file sequentially. Dask splits
  CSV/TSV into byte blocks at line ends, so posts with line breaks inside quotes break the
  parse of a block (a clear error): for such files use ``blocksize=None`` (one partition per
  file), Parquet or JSONL input, or the local engine. Gzipped text is one partition per file.
- Workers must be able to import tonecls, read the input and the model bundle, and write the
  output directory (a shared filesystem, as on SLURM/HPC clusters).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd

from tonecls.errors import InputError
from tonecls.io.manifest import ResumeManifest, input_fingerprint, manifest_path
from tonecls.score.core import (
    ScoreSummary,
    ScoringModel,
    check_no_column_clash,
    model_identity,
    resolve_model,
    score_frame,
    status_counts,
)

PART_NAME = "part-{:05d}.parquet"
# one TensorFlow thread per worker process: the cluster's parallelism is its processes
WORKER_ENV = {
    "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


def score_file_dask(
    input: Path,
    output: Path,
    *,
    model: ScoringModel | str | os.PathLike | None,
    text_col: str,
    id_col: str | None,
    blocksize: int | str,
    scheduler: str | None,
    workers: int | None,
    resume: bool,
    progress: bool,
) -> ScoreSummary:
    """Score ``input`` into the Parquet directory ``output`` on a Dask cluster (module doc)."""
    import dask
    from distributed import as_completed
    from tqdm.auto import tqdm

    from tonecls.io import detect_format

    if detect_format(output) != "parquet":
        raise InputError(
            f"the dask engine writes a directory of Parquet part files; name the output "
            f"*.parquet (got {output}), or use the local engine for {detect_format(output)} output."
        )
    started = time.perf_counter()
    options = {
        "engine": "dask", "text_col": text_col, "id_col": id_col, "blocksize": str(blocksize),
        "model": model_identity(model),
    }
    local_model = resolve_model(model)  # on the client: output schema and column check
    # dask would otherwise turn object columns into strings (a JSON number 42 into "42")
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = read_dask(input, text_col=text_col, id_col=id_col, blocksize=blocksize)
    check_no_column_clash(ddf.columns, local_model)
    meta = score_frame(ddf._meta, local_model, text_col)

    client, cluster = _connect(scheduler, workers)
    partial_dir = Path(f"{output}.partial")
    model_copy = Path(f"{output}.partial.model")
    manifest_file = manifest_path(output)
    try:
        manifest = _start_manifest(manifest_file, partial_dir, input_fingerprint(input), options,
                                   resume)
        summary = ScoreSummary(
            output=output, rows=manifest.rows_done, statuses=dict(manifest.statuses),
            resumed_from_row=manifest.rows_done,
        )
        if hasattr(model, "save"):
            # a model object (e.g. trained in a notebook): workers load a saved copy by path
            model = model.save(model_copy)
        if model is None or isinstance(model, (str, os.PathLike)):
            model_ref: Any = None if model is None else str(Path(model).expanduser().resolve())
            # load the bundle in every worker now: a worker that cannot read it fails here
            client.run(resolve_model, model_ref)
        else:  # an object without save(): sent once to every worker
            model_ref = client.scatter(local_model, broadcast=True, hash=False)
        with dask.config.set({"dataframe.convert-string": False}):
            scored = ddf.map_partitions(score_frame, model_ref, text_col, meta=meta)
            parts = scored.to_delayed()
        done = set(manifest.writer_state["parts_done"])
        todo = [
            dask.delayed(_write_part)(part, partial_dir / PART_NAME.format(i), i)
            for i, part in enumerate(parts) if i not in done
        ]
        with tqdm(total=len(parts), initial=len(done), unit=" parts", disable=not progress,
                  desc="scoring (dask)") as bar:
            failure = None
            for future in as_completed(client.compute(todo)):
                if future.status == "error":  # keep the other parts' progress, then raise
                    failure = failure or future
                    continue
                index, counts = future.result()
                summary.add(counts)
                done.add(index)
                manifest.writer_state["parts_done"] = sorted(done)
                manifest.chunks_done, manifest.rows_done = len(done), summary.rows
                manifest.statuses = dict(summary.statuses)
                manifest.save(manifest_file)
                bar.set_postfix(posts=f"{summary.rows:,}", refresh=False)
                bar.update(1)
            if failure is not None:
                error = failure.exception()
                if isinstance(error, pd.errors.ParserError):  # bad input: nothing to resume
                    shutil.rmtree(partial_dir, ignore_errors=True)
                    manifest_file.unlink(missing_ok=True)
                _raise_task_error(error, input)  # other failures: finished parts stay for resume
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        if model_copy.exists():
            shutil.rmtree(model_copy)

    _replace_dir(partial_dir, output)
    manifest_file.unlink(missing_ok=True)
    summary.seconds = time.perf_counter() - started
    return summary


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
    cluster = LocalCluster(
        n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
        dashboard_address=":0", env=WORKER_ENV,
    )
    return Client(cluster), cluster


def read_dask(input: Path, *, text_col: str, id_col: str | None, blocksize: int | str):
    """A ``dask.dataframe`` over the export, parsed as the local engine parses it."""
    import dask.dataframe as dd

    from tonecls.io import dask_read_options

    reader, kwargs = dask_read_options(input, blocksize=blocksize)
    if reader == "read_json":  # keep JSON types as they are ("007" stays a string)
        kwargs = {"dtype": False, **kwargs}
    ddf = getattr(dd, reader)(str(input), **kwargs)
    missing = [c for c in (text_col, id_col) if c is not None and c not in ddf.columns]
    if missing:
        raise InputError(
            f"{input} has no column(s) {missing}; its columns are {list(ddf.columns)}. Name "
            "the text column with --text-col (text_col=...) and the id column with --id-col."
        )
    return ddf


def _raise_task_error(error: BaseException, input: Path) -> None:
    """Re-raise a failed task's exception; CSV parsing errors get an explanation."""
    if isinstance(error, pd.errors.ParserError):
        raise InputError(
            f"dask could not parse a block of {input} ({error}). Dask splits CSV files into "
            "byte blocks at line ends, which breaks posts with line breaks inside quotes, and "
            "it cannot flag malformed lines. Use the local engine, or one partition per file "
            "(blocksize=None; CLI: --blocksize none), or convert the export to Parquet or "
            "JSONL first."
        ) from error
    raise error


def _write_part(scored: pd.DataFrame, path: Path, index: int) -> tuple[int, dict[str, int]]:
    """Write one scored partition atomically (runs on a worker); its status counts."""
    from tonecls.io import ExportWriter

    with ExportWriter(path) as writer:
        writer.write(scored)
    return index, status_counts(scored)


def _start_manifest(
    manifest_file: Path, partial_dir: Path, fingerprint: dict, options: dict, resume: bool
) -> ResumeManifest:
    if resume and manifest_file.exists() and partial_dir.is_dir():
        manifest = ResumeManifest.load_compatible(manifest_file, fingerprint, options)
        done = manifest.writer_state.get("parts_done", [])
        missing = [i for i in done if not (partial_dir / PART_NAME.format(i)).exists()]
        if missing:
            raise InputError(
                f"cannot resume: part files {missing[:5]} recorded as done are missing from "
                f"{partial_dir}. Run again without --resume to start over."
            )
        return manifest
    if partial_dir.exists():
        shutil.rmtree(partial_dir)
    partial_dir.mkdir(parents=True)
    manifest = ResumeManifest(input=fingerprint, options=options, writer_state={"parts_done": []})
    manifest.save(manifest_file)
    return manifest


def _replace_dir(new: Path, target: Path) -> None:
    """Put directory ``new`` in place of ``target`` (a file or directory, if any)."""
    old = None
    if target.exists() or target.is_symlink():
        old = target.with_name(f"{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old) if old.is_dir() else old.unlink()
