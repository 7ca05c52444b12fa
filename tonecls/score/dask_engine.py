"""The Dask engine: score an export block by block on a dask.distributed cluster.

The client reads the export with the same reader as the local engine
(:func:`~tonecls.io.reading.read_export`, in blocks of about ``blocksize`` bytes), so
malformed lines are flagged in place, quoted line breaks need no care and every value is read
as the local engine reads it; each block goes to a worker, which scores it with the same
:func:`~tonecls.score.core.score_frame` and writes it as a Parquet part file
``OUTPUT/part-00000.parquet, part-00001.parquet, ...`` (numbered in input order, so pandas,
pyarrow, Dask, Spark or DuckDB read the directory back as one table in input order).

- The model is loaded once per worker process: tasks carry the bundle *path* and
  :func:`~tonecls.score.core.resolve_model` caches the loaded model per process. A model
  object (e.g. trained in a notebook) is saved to ``OUTPUT.partial.model/`` for the
  workers to load, and deleted at the end.
- Parts are written to ``OUTPUT.partial/`` and the directory is renamed to ``OUTPUT`` when
  every block is done; the manifest ``OUTPUT.partial.json`` records the finished parts and
  the content hash of each block read, so ``resume=True`` recomputes only the missing ones
  and refuses an input that changed. An existing OUTPUT directory is replaced only if it
  holds nothing but part files, and never when the input is inside it.
- At most two blocks per worker are in flight, so the client's memory stays bounded. Reading
  runs on the client (about 300,000 CSV rows per CPU-second, BENCHMARKS.md), which is far
  above what a worker scores (about 10,000 posts/s): the client is not the bottleneck below
  some 30 workers; beyond that, split the export into several files.
- Workers must be able to import tonecls, read the model bundle, and write the output
  directory (a shared filesystem, as on SLURM/HPC clusters).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd

from tonecls.errors import InputError
from tonecls.io.files import ContentHash, check_input_file, check_output_path
from tonecls.io.formats import detect_format
from tonecls.io.manifest import (
    ResumeManifest,
    ResumeRefused,
    input_identity,
    manifest_path,
)
from tonecls.io.parallel import ONE_THREAD, available_cores
from tonecls.io.reading import (
    LINE_COLUMN,
    MARKER_COLUMNS,
    READ_STATUS_COLUMN,
    parquet_schema,
    read_export,
)
from tonecls.io.runner import MAX_REPORTED_LINES, chain_first, prefetched
from tonecls.io.writing import ExportWriter, check_output_columns, merged_columns, write_unified
from tonecls.schema import Status
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


def score_file_dask(
    input: Path,
    output: Path,
    *,
    model: ScoringModel | str | os.PathLike | None,
    text_col: str,
    id_col: str | None,
    blocksize: int | None,
    on_bad_lines: str,
    scheduler: str | None,
    workers: int | None,
    resume: bool,
    progress: bool,
    all_languages: bool = False,
) -> ScoreSummary:
    """Score ``input`` into the Parquet directory ``output`` on a Dask cluster (module doc)."""
    import pyarrow.parquet as pq
    from distributed import wait
    from tqdm.auto import tqdm

    started = time.perf_counter()
    input = check_input_file(input)
    in_format = detect_format(input)
    if detect_format(output) != "parquet":
        raise InputError(
            f"the dask engine writes a directory of Parquet part files; name the output "
            f"*.parquet (got {output}), or use the local engine for {detect_format(output)} output."
        )
    check_output_path(input, output, directory=True)
    partial_dir = Path(f"{output}.partial")
    manifest_file = manifest_path(output)
    if partial_dir.exists() and not manifest_file.exists():
        raise InputError(f"{partial_dir} exists and was not written by tonecls; move or rename it, "
                         "then run again.")
    options = {
        "engine": "dask", "text_col": text_col, "id_col": id_col, "blocksize": blocksize,
        "on_bad_lines": on_bad_lines, "model": model_identity(model), "all_languages": all_languages,
    }
    identity = input_identity(input, in_format)
    previous = (ResumeManifest.load_compatible(manifest_file, identity, options)
                if resume and manifest_file.exists() and partial_dir.is_dir() else None)
    # the client reads the file (the same reader as the local engine: malformed lines are
    # flagged in place, quoted line breaks are no problem) and the workers score the blocks
    chunks = read_export(input, text_col=text_col, id_col=id_col, chunksize=None,
                         chunk_bytes=blocksize, on_bad_lines=on_bad_lines)
    first = next(chunks, None)
    local_model = resolve_model(model)  # on the client: output schema and column check
    if first is not None:
        check_no_column_clash([c for c in first.columns if c not in MARKER_COLUMNS], local_model)
        check_output_columns(output, [c for c in first.columns if c not in MARKER_COLUMNS], format="parquet")
    declared = parquet_schema(input) if in_format == "parquet" else None

    client, cluster = _connect(scheduler, workers)
    model_copy = Path(f"{output}.partial.model")
    try:
        manifest = _start_manifest(manifest_file, partial_dir, previous, identity, options)
        summary = ScoreSummary(output=output, verb="scored", rows=manifest.rows_done,
                               statuses=dict(manifest.statuses),
                               malformed_lines=list(manifest.malformed_lines),
                               resumed_from_row=manifest.rows_done)
        if hasattr(model, "save"):
            # a model object (e.g. trained in a notebook): workers load a saved copy by path
            model = model.save(model_copy)
        if model is None or isinstance(model, (str, os.PathLike)):
            model_ref: Any = None if model is None else str(Path(model).expanduser().resolve())
            # load the bundle in every worker now: a worker that cannot read it fails here
            client.run(resolve_model, model_ref)
        else:  # an object without save(): sent once to every worker
            model_ref = client.scatter(local_model, broadcast=True, hash=False)
        in_flight_limit = 2 * max(len(client.scheduler_info().get("workers", {})), 1)
        in_flight: dict = {}
        failure: BaseException | None = None
        done_rows = {int(k): v for k, v in manifest.part_rows.items()}

        def collect(futures) -> None:
            nonlocal failure
            for future in futures:
                index, bad = in_flight.pop(future)
                if future.status == "error":  # keep the other parts' progress, then raise
                    failure = failure or future.exception()
                    continue
                counts, rows, digest = future.result()
                summary.add(counts, rows=rows)
                done_rows[index] = rows
                manifest.part_hashes[str(index)] = digest
                manifest.part_rows = {str(k): v for k, v in done_rows.items()}
                manifest.chunks_done, manifest.rows_done = len(done_rows), summary.rows
                manifest.statuses = dict(summary.statuses)
                room = MAX_REPORTED_LINES - len(manifest.malformed_lines)
                manifest.malformed_lines = sorted(manifest.malformed_lines + bad[:max(room, 0)])
                summary.malformed_lines = list(manifest.malformed_lines)
                manifest.save(manifest_file)
                bar.update(rows)

        source = prefetched(chain_first(first, chunks))
        with tqdm(total=None, initial=manifest.rows_done, unit=" posts", unit_scale=True,
                  disable=not progress, desc="scoring (dask)") as bar:
            try:
                index = -1
                for index, chunk in enumerate(source):
                    content = ContentHash()
                    content.update(chunk)
                    digest = content.hexdigest()
                    recorded = manifest.part_hashes.get(str(index))
                    if recorded is not None:
                        if recorded != digest or done_rows.get(index) != len(chunk):
                            raise ResumeRefused(
                                f"cannot resume: the input file changed since the interrupted run "
                                f"(block {index} reads differently now). Run again without --resume "
                                "to start over.")
                        continue
                    lines = chunk[LINE_COLUMN][chunk[READ_STATUS_COLUMN] == Status.MALFORMED_LINE]
                    bad = lines.dropna().astype(int).tolist()
                    future = client.submit(_score_part, chunk, model_ref, text_col,
                                           str(partial_dir / PART_NAME.format(index)), declared, digest,
                                           all_languages, pure=False)
                    in_flight[future] = (index, bad)
                    if len(in_flight) >= in_flight_limit:
                        collect(wait(list(in_flight), return_when="FIRST_COMPLETED").done)
                    if failure is not None:
                        break
                if failure is None:
                    stale = [int(k) for k in manifest.part_hashes if int(k) > index]
                    if stale:
                        raise ResumeRefused("cannot resume: the input file has fewer blocks than the "
                                         "interrupted run read. Run again without --resume to start over.")
                while in_flight:
                    collect(wait(list(in_flight), return_when="FIRST_COMPLETED").done)
            except ResumeRefused:  # the input changed: the finished parts stay as they are
                for future in in_flight:
                    future.cancel()
                raise
            except InputError:
                for future in in_flight:
                    future.cancel()
                shutil.rmtree(partial_dir, ignore_errors=True)  # bad input: nothing to resume
                manifest_file.unlink(missing_ok=True)
                raise
            finally:
                source.close()
            if failure is not None:
                raise failure  # finished parts stay for resume
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        if model_copy.exists():
            shutil.rmtree(model_copy)

    parts = sorted(partial_dir.glob("part-*.parquet"))  # late JSONL keys, widening types:
    write_unified(parts, merged_columns(pq.read_schema(p).names for p in parts))  # one schema
    _replace_dir(partial_dir, output)
    manifest_file.unlink(missing_ok=True)
    summary.seconds = time.perf_counter() - started
    return summary


def _score_part(chunk: pd.DataFrame, model: Any, text_col: str, path: str, declared,
                digest: str, all_languages: bool = False) -> tuple[dict[str, int], int, str]:
    """Score one block and write it as a Parquet part, atomically (runs on a worker)."""
    read_status = chunk.pop(READ_STATUS_COLUMN).to_numpy(dtype=object)
    chunk = chunk.drop(columns=[LINE_COLUMN])
    scored = score_frame(chunk, model, text_col, read_status=read_status, all_languages=all_languages)
    with ExportWriter(path, schema=declared) as writer:
        writer.write(scored)
    return status_counts(scored), len(scored), digest


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
        n_workers=workers or available_cores(), threads_per_worker=1, processes=True,
        dashboard_address=":0", env=ONE_THREAD,
    )
    return Client(cluster), cluster


def _start_manifest(manifest_file: Path, partial_dir: Path, previous: ResumeManifest | None,
                    identity: dict, options: dict) -> ResumeManifest:
    if previous is not None:
        missing = [k for k in previous.part_hashes
                   if not (partial_dir / PART_NAME.format(int(k))).exists()]
        if missing:
            raise InputError(
                f"cannot resume: part files {missing[:5]} recorded as done are missing from "
                f"{partial_dir}. Run again without --resume to start over."
            )
        return previous
    if partial_dir.exists():
        shutil.rmtree(partial_dir)
    partial_dir.mkdir(parents=True)
    manifest = ResumeManifest(input=identity, options=options)
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
