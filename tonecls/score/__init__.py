"""Batch scoring of post exports: streaming, resumable, on one machine or a Dask cluster.

- :func:`score_frame` scores a DataFrame in memory (notebooks);
- :func:`score_file` scores an export file chunk by chunk into a new file, keeping every
  input row (in order, with its columns unchanged) and adding the model's output columns.

See :mod:`tonecls.score.local` (streaming engine, resume) and :mod:`tonecls.score.dask_engine`
(``engine="dask"``).

Behaviour worth knowing:

- Nothing is dropped: a row that cannot be scored keeps its place with the reason in
  ``tonecls_status`` (``missing``, ``not_text``, ``empty``, ``invalid_encoding``,
  ``malformed_line``, ``other_language``) and empty predictions; malformed lines are
  reported by line number. Posts confidently in a language the model was not trained on are
  ``other_language`` unless ``all_languages=True``.
- An input that already has a column scoring would write (e.g. an already scored file) is
  an error, never overwritten or renamed: the audit reads these columns by name.
- ``id_col`` must exist; repeated ids are counted (``ScoreSummary.duplicate_ids``, first 10M
  ids of a run, local engine) but kept: they are the user's rows.
- Probabilities and confidences are float32 (the network's precision), labels are strings.
- The output appears only when the job succeeds (``<output>.partial`` then rename); an
  interrupted job continues with ``resume=True`` and yields the same file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from tonecls.errors import InputError
from tonecls.io.runner import resume_hint
from tonecls.score.core import ScoreSummary, ScoringModel, score_frame

DEFAULT_CHUNKSIZE = 20_000
DEFAULT_BLOCKSIZE = "16MB"
ENGINES = ("local", "dask")
ON_BAD_LINES = ("flag", "error")

__all__ = [
    "ScoreSummary",
    "resume_hint",
    "score_file",
    "score_frame",
]


def score_file(
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    text_col: str = "text",
    id_col: str | None = None,
    model: ScoringModel | str | os.PathLike | None = None,
    engine: Literal["local", "dask"] = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    resume: bool = False,
    chunksize: int = DEFAULT_CHUNKSIZE,
    blocksize: int | str | None = DEFAULT_BLOCKSIZE,
    on_bad_lines: Literal["flag", "error"] | None = None,
    progress: bool | None = None,
    all_languages: bool = False,
) -> ScoreSummary:
    """Score every post of an export file into a new file with the model's output columns.

    Parameters
    ----------
    input, output : path
        CSV, TSV, JSONL or Parquet (optionally ``.gz``), by extension. The output gets every
        input column unchanged and in order, then ``tonecls_status`` and the predictions.
        With ``engine="dask"`` the output is a directory of Parquet part files.
    text_col : str
        Column holding the post text.
    id_col : str, optional
        Column identifying posts; checked to exist, and repeated ids are counted in the
        summary (``duplicate_ids``, local engine).
    model : ToneModel, path or None
        A loaded model, a model bundle directory, or None for the default model.
    engine : {"local", "dask"}
        ``local`` streams the file chunk by chunk in this process; ``dask`` scores
        partitions in parallel on a dask.distributed cluster.
    scheduler : str, optional
        Address of an existing dask scheduler (``tcp://host:8786``); without it the dask
        engine starts a LocalCluster with ``workers`` processes.
    workers : int, optional
        Processes scoring in parallel. Local engine: inputs of 20,000 rows or 4 MB or more
        are scored in ``workers`` worker processes while this one reads and writes (default:
        one per core, at most 8; 1: this process only; each worker holds the model and the
        language identifiers, about 330 MB). Dask engine: the LocalCluster's workers (default: one per core).
    resume : bool
        Continue an interrupted job from its last completed chunk (``<output>.partial.json``
        manifest); refused if the input or the options changed.
    chunksize : int
        Rows per chunk (local engine): memory use and the unit of resume.
    blocksize : int, str or None
        Bytes per partition of CSV/TSV/JSONL inputs (dask engine), e.g. ``"16MB"`` (the
        default); None: one partition per file (needed for CSV posts with line breaks inside
        quotes).
    on_bad_lines : {"flag", "error"}, optional
        Malformed CSV/TSV/JSONL lines: ``flag`` keeps them as rows with status
        ``malformed_line`` (their line numbers are in the summary), ``error`` stops the job.
        Default: ``flag`` (both engines).
    progress : bool, optional
        Show a progress bar (rows, rate, ETA); default: when stderr is a terminal or in a
        Jupyter notebook.
    all_languages : bool
        Score every post whatever its language; by default posts confidently in a language
        the model was not trained on get the status ``other_language`` and no predictions.

    Returns
    -------
    ScoreSummary
        Rows, ok, flagged rows per status, seconds, posts/s and the output path.
    """
    from tonecls.io.runner import check_run_options, interactive

    input, output = Path(input), Path(output)
    if engine not in ENGINES:
        raise InputError(f"engine must be one of {ENGINES}, not {engine!r}")
    if engine == "dask":
        require_dask()
    if on_bad_lines is None:
        on_bad_lines = "flag"
    blocksize = parse_blocksize(blocksize) if engine == "dask" else None  # a Dask engine option
    if scheduler and engine != "dask":
        raise InputError("a scheduler address needs engine='dask' (CLI: --engine dask).")
    check_run_options(chunksize, on_bad_lines, workers)
    if progress is None:
        progress = interactive()

    if engine == "dask":
        from tonecls.score.dask_engine import score_file_dask

        return score_file_dask(
            input, output, model=model, text_col=text_col, id_col=id_col,
            blocksize=blocksize, on_bad_lines=on_bad_lines, scheduler=scheduler,
            workers=workers, resume=resume, progress=progress, all_languages=all_languages,
        )
    from tonecls.score.local import score_file_local

    return score_file_local(
        input, output, model=model, text_col=text_col, id_col=id_col, chunksize=chunksize,
        on_bad_lines=on_bad_lines, resume=resume, progress=progress, all_languages=all_languages,
        workers=workers,
    )


def require_dask() -> None:
    """Raise :class:`InputError` unless dask.distributed is installed (the ``[dask]`` extra)."""
    import importlib.util

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
        require_dask()  # blocksize is a Dask engine option
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
