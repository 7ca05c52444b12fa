"""The provenance block of a report written by a file job: input, command, date and model."""

from __future__ import annotations

import datetime as dt
import os
import shlex
from pathlib import Path
from typing import Any

from tonecls.io import sha256_file

__all__ = ["job_provenance", "model_provenance"]

_MODEL_FIELDS = ("name", "version", "created", "trained_at", "tonecls_version", "keras_version",
                 "command", "heads", "metrics")


def model_provenance(model: Any) -> dict[str, Any]:
    """What a model records about itself (:meth:`ToneModel.provenance`), keyed for a report;
    ``model`` is a loaded model or a bundle path (loaded here)."""
    if model is None or isinstance(model, (str, os.PathLike)):
        from tonecls.model import load_model

        model = load_model(model)
    recorded = model.provenance()
    info: dict[str, Any] = {"model bundle": recorded.get("bundle") or "(not saved)"}
    for key in _MODEL_FIELDS:
        if recorded.get(key) is not None:
            info[f"model {key.replace('_', ' ')}"] = recorded[key]
    return info


def job_provenance(input: str | os.PathLike, *, command: str, model: Any = None,
                   input_description: str | None = None,
                   also: dict[str, str | os.PathLike] | None = None) -> dict[str, Any]:
    """The provenance of a report on the file ``input``: the file (or ``input_description``,
    e.g. when the file is temporary: a stable description recorded with the file's name and
    SHA-256), the command, the date, and what ``model`` (a bundle path or a loaded model; None:
    not recorded) records about itself. ``also``: more input files by what they are (e.g.
    ``{"non-member file": path}``), recorded the same way."""
    files = {"input file": input, **(also or {})}
    if input_description:
        source = {"input": input_description,
                  **{what: f"{Path(path).name} (sha256 {sha256_file(path)[:16]}…)" for what, path in files.items()}}
        # the command names the inputs by their file names only, as the report does
        paths = {str(path) for path in files.values()}
        command = shlex.join(Path(word).name if word in paths else word for word in shlex.split(command))
    else:
        source = {what: str(Path(path).resolve()) for what, path in files.items()}
    return {
        **source,
        "command": command,
        "date": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        **(model_provenance(model) if model is not None else
           {"model": "not recorded (pass --model BUNDLE to record the bundle that scored the file)"}),
    }
