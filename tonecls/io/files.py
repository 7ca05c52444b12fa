"""File-system helpers below every other module: atomic writes, content hashes, path checks.

- :func:`atomic_write` writes a file in one go through a temporary sibling and a rename, so
  the target is either the old file or the complete new one;
- :func:`sha256_file` is the SHA-256 of a file (dataset checksums, training provenance, the
  Dask engine's input identity), :class:`ContentHash` a running SHA-256 of the DataFrame
  chunks a job has read (the resume check of the streaming runner);
- :func:`check_input_file` / :func:`check_output_path` refuse unusable paths with an
  :class:`~tonecls.errors.InputError` before any slow work starts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tonecls.errors import InputError

__all__ = [
    "ContentHash",
    "atomic_write",
    "atomic_write_json",
    "check_input_file",
    "check_output_path",
    "check_partial_is_ours",
    "fsync_dir",
    "fsync_file",
    "partial_path",
    "replace_dir",
    "sha256_bytes",
    "sha256_file",
    "value_hashes",
]

_BLOCK = 1 << 20


def partial_path(path: str | os.PathLike) -> Path:
    """``<path>.partial``: where a resumable job writes before the final rename."""
    path = Path(path)
    return path.with_name(path.name + ".partial")


def check_partial_is_ours(partial: Path, *markers: Path) -> None:
    """Refuse to go on when ``partial`` (a file or directory) exists but none of ``markers``
    (a resume manifest, a writer's state file) says that tonecls wrote it: never overwrite a
    user's file that happens to have that name."""
    if (partial.exists() or partial.is_symlink()) and not any(marker.exists() for marker in markers):
        raise InputError(f"{partial} exists and was not written by tonecls (no resume manifest or writer state "
                         "beside it); tonecls writes its partial output there. Move or rename it, then run again.")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **open_kwargs: Any) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; on success rename it to ``path``.

    The temporary file (``<name>.<random>.partial``) is unique to this call, so a file the
    user keeps under any name is never overwritten or deleted; on error it is removed.

    >>> with atomic_write("summary.json") as out:      # doctest: +SKIP
    ...     json.dump(summary, out)
    """
    if not any(flag in mode for flag in "wax"):
        raise ValueError(f"atomic_write needs a write mode, not {mode!r}")
    path = Path(path)
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
    descriptor, temporary = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".partial", dir=path.parent)
    os.fchmod(descriptor, 0o666 & ~_UMASK)  # the permissions of a file open() creates, not mkstemp's 0600
    os.close(descriptor)
    temporary = Path(temporary)
    try:
        with open(temporary, mode.replace("x", "w").replace("a", "w"), **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())  # the data on disk before the rename makes it the file
        os.replace(temporary, path)
        fsync_dir(path.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def fsync_dir(directory: str | os.PathLike) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def fsync_file(path: str | os.PathLike) -> None:
    """Flush a written file's data to disk (before it is renamed into place)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def atomic_write_json(path: str | os.PathLike, data: Any, *, default: Any = None) -> None:
    """Write ``data`` as indented UTF-8 JSON to ``path`` atomically (:func:`atomic_write`);
    ``default`` converts values json cannot (as in :func:`json.dumps`)."""
    with atomic_write(path) as handle:
        handle.write(json.dumps(data, indent=2, ensure_ascii=False, default=default) + "\n")


def replace_dir(new: str | os.PathLike, target: str | os.PathLike) -> None:
    """Put the directory ``new`` in place of ``target`` (a file or directory, if any): the old
    target is moved aside, the new one renamed into place, then the old one deleted."""
    import shutil

    new, target = Path(new), Path(target)
    old = None
    if target.exists() or target.is_symlink():
        old = target.with_name(f"{target.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        os.replace(target, old)
    os.replace(new, target)
    fsync_dir(target.parent)
    if old is not None:
        shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()


def _read_umask() -> int:
    """The process' umask (read once: setting it to read it is not thread-safe)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (of every file under it, in path order, for a directory)."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode("utf-8", "surrogatepass") + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(_BLOCK), b""):
                digest.update(block)
    return digest.hexdigest()


class ContentHash:
    """A running SHA-256 of DataFrame chunks: column names, row positions and every value.

    Fast for typed and text columns (pandas' vectorised ``hash_pandas_object``, with each
    column's dtype and the signs of floats, so int32 / int64, ``-0.0`` / ``0.0`` and time
    zones differ; this module imports pandas only here); other object columns (JSON values,
    nested Parquet data) are hashed from each value's type and exact JSON text, so ``1``,
    ``"1"``, ``1.0`` and ``True`` differ. Columns are taken by position (repeated names are fine).
    ``hexdigest()`` after the same chunks gives the same value in any process.
    """

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self.rows = 0

    def update(self, chunk: Any) -> None:
        """Add one chunk (a DataFrame)."""
        import numpy as np
        import pandas as pd

        self._digest.update(json.dumps([str(c) for c in chunk.columns]).encode("utf-8", "surrogatepass"))
        for i in range(chunk.shape[1]):
            self._digest.update(_column_digest(chunk.iloc[:, i]))
        self._digest.update(np.asarray(chunk.index, dtype=np.int64).tobytes()
                            if pd.api.types.is_integer_dtype(chunk.index) else b"")
        self.rows += len(chunk)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def _column_digest(column: Any) -> bytes:
    """The bytes a column adds to a :class:`ContentHash`."""
    import numpy as np
    import pandas as pd

    kind = str(column.dtype).encode()  # the type too: int32 / int64, time zones, string / category
    if pd.api.types.is_float_dtype(column.dtype):  # the hash takes -0.0 for 0.0: add the signs
        kind += np.signbit(column.to_numpy(dtype=np.float64, na_value=np.nan)).tobytes()
    inferred = None
    if column.dtype == object:
        inferred = pd.api.types.infer_dtype(column, skipna=False)
        kind += inferred.encode()
    return kind + np.ascontiguousarray(value_hashes(column, inferred)).tobytes()


def value_hashes(column: Any, inferred: str | None = None) -> Any:
    """A 64-bit hash of each value of a Series (numpy uint64), vectorised for typed and text
    columns; in object columns from each value's type and exact JSON text, so ``1``, ``"1"``,
    ``1.0`` and ``True`` get different hashes. A value hashes the same whatever its
    neighbours (text and integers as in typed columns), so hashes of chunks compare.
    ``inferred``: the column's ``pandas.api.types.infer_dtype(skipna=False)``, if known."""
    import numpy as np
    import pandas as pd

    if column.dtype != object:
        return pd.util.hash_pandas_object(column, index=False).to_numpy()
    inferred = inferred or pd.api.types.infer_dtype(column, skipna=False)
    if inferred in ("string", "empty"):
        return pd.util.hash_pandas_object(column, index=False).to_numpy()
    hashes = np.empty(len(column), dtype=np.uint64)
    types = column.map(type).to_numpy()
    for kind in set(types):
        where = types == kind
        values = column[where]
        if kind is str:
            hashes[where] = pd.util.hash_pandas_object(values, index=False).to_numpy()
            continue
        if kind is int:
            try:
                hashes[where] = pd.util.hash_pandas_object(values.astype(np.int64), index=False).to_numpy()
                continue
            except OverflowError:
                pass
        hashes[where] = pd.util.hash_pandas_object(values.map(_typed_text), index=False).to_numpy()
    return hashes


def _typed_text(value: Any) -> str:
    """A value's type and exact JSON text (NaN as NaN, None as null)."""
    return f"{type(value).__name__}:{json.dumps(value, default=_json_fallback)}"


def _json_fallback(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, bytes):
        return value.hex()
    return repr(value)


# --- path checks ---------------------------------------------------------------------------


def check_input_file(path: str | os.PathLike, what: str = "input file") -> Path:
    """``path`` as a Path if it is an existing, readable file; else :class:`InputError`."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} {path} is a directory; pass the export file itself.")
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist (or is not a file); check the path.")
    if not os.access(path, os.R_OK):
        raise InputError(f"{what} {path} is not readable (permission denied); check its permissions.")
    return path


def _nearest_existing(path: Path) -> Path:
    for candidate in [path, *path.parents]:
        if candidate.exists():
            return candidate
    return Path(".")


COMPANION_ROOM = 40  # bytes the names of an output's companions add to its name (``.lock.<pid>.<id>``, ...)


def _check_name_room(output: Path, parent: Path) -> None:
    """Refuse an output name too long for the files tonecls writes beside it (its lock,
    ``.partial``, ``.partial.state.json``): the job would fail on them after the checks."""
    try:
        limit = os.pathconf(parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    length = len(os.fsencode(output.name))
    if length + COMPANION_ROOM > limit:
        raise InputError(
            f"cannot write {output}: its name is {length} bytes long, and the files tonecls writes beside it "
            f"({output.name[:20]}....lock, ....partial.state.json) need {COMPANION_ROOM} bytes more, over the "
            f"{limit} this file system allows in a name. Choose a name of at most {limit - COMPANION_ROOM} bytes."
        )


def check_output_path(
    input: str | os.PathLike | None, output: str | os.PathLike, *, directory: bool = False
) -> Path:
    """Refuse an output path that cannot work, before any work starts; returns it as a Path.

    Refused: the input itself; an existing directory (unless ``directory``: a job that writes
    a directory of parts, whose existing target must contain nothing but such parts); an
    input inside the output directory (``directory``: it would be replaced); a parent that is
    a file, or a directory this process cannot create files in.
    """
    output = Path(output)
    if input is not None:
        source = Path(input).resolve()
        target = output.resolve()
        if source == target:
            raise InputError(f"the output path {output} is the input file; choose another output file.")
        if directory and target in source.parents:
            raise InputError(
                f"the input {input} is inside the output directory {output}, which the job "
                "replaces when it finishes; choose an output directory that does not hold the input."
            )
    if output.is_dir() and not directory:
        raise InputError(
            f"the output path {output} is an existing directory; name a file inside it "
            f"(e.g. {output / 'scored.parquet'})."
        )
    if directory and output.exists():
        if not output.is_dir():
            raise InputError(f"the output path {output} is an existing file; the dask engine "
                             "writes a directory of Parquet parts there. Remove it or choose another path.")
        foreign = [p.name for p in output.iterdir()
                   if not (p.name.startswith("part-") and p.name.endswith(".parquet"))]
        if foreign:
            raise InputError(
                f"the output directory {output} holds files that tonecls did not write "
                f"({', '.join(sorted(foreign)[:3])}); the job would replace the directory. "
                "Choose a new output path."
            )
    parent = _nearest_existing(output.parent if not output.exists() or not directory else output)
    if not parent.is_dir():
        raise InputError(f"cannot write {output}: {parent} is a file, not a directory.")
    _check_name_room(output, parent)
    try:  # os.access says yes to root on read-only mounts: try to create a file
        descriptor, probe = tempfile.mkstemp(prefix=".tonecls-write-check-", dir=parent)
        os.close(descriptor)
        os.unlink(probe)
    except OSError as error:
        raise InputError(
            f"cannot write {output}: cannot create files in {parent} ({error.strerror or error}). "
            "Choose a directory you can write to."
        ) from None
    return output
