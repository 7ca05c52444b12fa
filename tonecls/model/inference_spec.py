"""The numpy network on disk: ``inference.json`` beside the ``model.keras`` holding its weights.

``inference.json`` is plain data: the architecture (heads; per ensemble member its pooling,
BiLSTM layers and units) and, for every weight, the HDF5 dataset inside ``model.keras`` that
holds it, with its shape and SHA-256. The weights are stored once, in ``model.keras``, and read
with h5py (no Keras). Before any weight is read, the description is checked: the weights file is
a plain file name inside the bundle, the architecture values are within sane bounds, every
weight the architecture needs is declared (and nothing else) with the shape the architecture
implies, and each stored dataset has the declared shape; then each weight's checksum.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tonecls.io.files import sha256_bytes
from tonecls.model.config import POOLINGS
from tonecls.model.inference import ExportError, InferenceNetwork

__all__ = ["INFERENCE_FORMAT", "check_spec", "load_network", "network_spec"]

INFERENCE_FORMAT = 1
WEIGHTS_MEMBER = "model.weights.h5"  # the HDF5 file inside a .keras archive
LIMITS = {"members": 16, "lstm_layers": 8, "units": 4096, "vocabulary": 10_000_000,
          "embedding_dim": 4096, "classes": 10_000}
"""Largest architecture values a bundle may declare (far above any tonecls network)."""


def fingerprint(array: np.ndarray) -> tuple:
    """``(shape, dtype, sha256)`` of a weight as float32: how weights are located and checked."""
    array = np.ascontiguousarray(array, dtype=np.float32)
    return tuple(array.shape), "float32", sha256_bytes(array.tobytes())


class open_weights:
    """Context manager: a seekable binary handle on the HDF5 weights inside a ``.keras`` zip."""

    def __init__(self, keras_file: str | Path) -> None:
        self.path = Path(keras_file)

    def __enter__(self):
        self.archive = zipfile.ZipFile(self.path)
        info = self.archive.getinfo(WEIGHTS_MEMBER)
        if info.compress_type == zipfile.ZIP_STORED:
            self.handle = self.archive.open(info)  # seekable, read in place
        else:
            self.handle = io.BytesIO(self.archive.read(info))
        return self.handle

    def __exit__(self, *exc) -> None:
        self.handle.close()
        self.archive.close()


def network_spec(network: InferenceNetwork, keras_file: str | Path) -> dict[str, Any]:
    """The plain-data description of ``network``, whose weights are read from ``keras_file`` (a
    ``.keras`` archive holding these exact weights), for ``inference.json``.

    Each weight is located in the archive's HDF5 file by its content, so the mapping does not
    depend on Keras' internal naming; a weight missing from the file is an error.
    """
    import h5py

    with open_weights(keras_file) as handle, h5py.File(handle, "r") as h5:
        located: dict[tuple, str] = {}

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                located.setdefault(fingerprint(np.asarray(obj[()], dtype=np.float32)), name)

        h5.visititems(visit)
    weights = {}
    for name, array in sorted(network.weights.items()):
        key = fingerprint(array)
        if key not in located:
            raise ExportError(f"weight {name} {array.shape} is not stored in {keras_file}")
        weights[name] = {"dataset": located[key], "shape": list(array.shape), "sha256": key[2]}
    return {"format": INFERENCE_FORMAT, "kind": "bilstm", "heads": list(network.heads),
            "members": [dict(m) for m in network.members], "weights_file": Path(keras_file).name,
            "weights": weights}


def _positive_int(value: Any, name: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise ValueError(f"{name} must be an integer from 1 to {limit:,}, got {value!r}")
    return value


def _expected_shapes(spec: Mapping[str, Any]) -> dict[str, tuple]:
    """Per weight name, the shape the architecture implies; free sizes (vocabulary, embedding,
    attention and head widths) as names resolved from the first member's declared shapes."""
    shapes: dict[str, tuple] = {}
    for m, member in enumerate(spec["members"]):
        units = member["units"]
        shapes[f"{m}/embedding"] = ("vocabulary", "embedding_dim")
        for layer in range(1, member["lstm_layers"] + 1):
            for direction in ("forward", "backward"):
                prefix = f"{m}/bilstm_{layer}/{direction}"
                shapes[f"{prefix}/kernel"] = ("embedding_dim" if layer == 1 else 2 * units, 4 * units)
                shapes[f"{prefix}/recurrent_kernel"] = (units, 4 * units)
                shapes[f"{prefix}/bias"] = (4 * units,)
        features = 2 * units * (2 if member["pooling"] == "max_attention" else 1)
        if member["pooling"] != "max":
            shapes[f"{m}/attention/projection"] = (2 * units, units)
            shapes[f"{m}/attention/bias"] = (units,)
            shapes[f"{m}/attention/context"] = (units,)
        for head in spec["heads"]:
            shapes[f"{m}/heads/{head}/kernel"] = (features, f"classes:{head}")
            shapes[f"{m}/heads/{head}/bias"] = (f"classes:{head}",)
    return shapes


def check_spec(spec: Any, folder: str | Path) -> Path:
    """Check an ``inference.json`` before anything is read: returns the weights file's path.

    Raises ``ValueError`` naming what is wrong: an unknown format, a weights file outside
    ``folder``, architecture values out of bounds, weights missing, unexpected or of a shape the
    architecture does not imply.
    """
    if not isinstance(spec, Mapping) or spec.get("format") != INFERENCE_FORMAT or spec.get("kind") != "bilstm":
        raise ValueError(f"not a tonecls inference export of format {INFERENCE_FORMAT} (kind 'bilstm')")
    folder = Path(folder).resolve()
    name = spec.get("weights_file")
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise ValueError(f"weights_file must be a file name inside the bundle, got {name!r}")
    source = folder / name
    if source.resolve().parent != folder:
        raise ValueError(f"weights_file {name!r} leads outside the bundle ({source.resolve()})")
    heads, members = spec.get("heads"), spec.get("members")
    if not isinstance(heads, list) or not heads or not all(isinstance(h, str) and h for h in heads):
        raise ValueError("heads must be a non-empty list of names")
    if not isinstance(members, list) or not 1 <= len(members) <= LIMITS["members"]:
        raise ValueError(f"members must be a list of 1 to {LIMITS['members']} networks")
    for i, member in enumerate(members):
        if not isinstance(member, Mapping) or member.get("pooling") not in POOLINGS:
            raise ValueError(f"members[{i}].pooling must be one of {POOLINGS}")
        for key in ("lstm_layers", "units"):
            _positive_int(member.get(key), f"members[{i}].{key}", LIMITS[key])
    weights = spec.get("weights")
    if not isinstance(weights, Mapping):
        raise ValueError("weights must map weight names to their datasets")
    expected = _expected_shapes(spec)
    if set(weights) != set(expected):
        missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
        raise ValueError(f"the weights do not match the architecture (missing {missing[:3]}, "
                         f"unexpected {extra[:3]})")
    sizes: dict[str, int] = {}
    for weight, shape in expected.items():
        _check_shape(weight, weights[weight], shape, sizes)
    return source


def _check_shape(weight: str, entry: Any, expected: tuple, sizes: dict[str, int]) -> None:
    """One declared weight against the shape its architecture implies; a free size (a name in
    ``expected``) takes its first declared value and must agree everywhere after."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("dataset"), str) \
            or not isinstance(entry.get("sha256"), str) or not isinstance(entry.get("shape"), list):
        raise ValueError(f"weight {weight} must give its dataset, shape and sha256")
    declared = entry["shape"]
    if len(declared) != len(expected):
        raise ValueError(f"weight {weight} has shape {declared}, expected {len(expected)} dimensions")
    for value, want in zip(declared, expected):
        if isinstance(want, str):
            limit = LIMITS["classes" if want.startswith("classes:") else want]
            _positive_int(value, f"weight {weight} ({want.split(':')[0]})", limit)
            want = sizes.setdefault(want, value)
        if value != want:
            raise ValueError(f"weight {weight} has shape {declared}; the architecture implies "
                             f"{[sizes.get(w, w) if isinstance(w, str) else w for w in expected]}")


def _read_weight(dataset: Any, name: str, entry: Mapping[str, Any], file_name: str) -> np.ndarray:
    """One weight: its stored shape and size checked before it is read (a dataset may declare a
    huge shape it holds no data for), then its checksum and that every value is finite."""
    if list(dataset.shape) != list(entry["shape"]):
        raise ValueError(f"weight {name} has shape {list(dataset.shape)} in {file_name}, expected {entry['shape']}")
    declared = int(np.prod(dataset.shape, dtype=np.int64)) * dataset.dtype.itemsize
    stored = dataset.id.get_storage_size()
    if declared and stored * _MAX_COMPRESSION < declared:
        raise ValueError(f"weight {name} declares {declared:,} bytes but {file_name} stores {stored:,} for it")
    array = np.asarray(dataset[()], dtype=np.float32)
    if fingerprint(array)[2] != entry["sha256"]:
        raise ValueError(f"weight {name} in {file_name} does not match inference.json (checksum); "
                         "the network file was changed after export")
    if not np.isfinite(array).all():
        raise ValueError(f"weight {name} in {file_name} holds NaN or infinite values")
    return array


_MAX_COMPRESSION = 64
"""A stored weight may be at most this many times smaller than its values (trained weights barely
compress; a dataset that stores nothing would fill gigabytes when read)."""


def load_network(spec: Mapping[str, Any], folder: str | Path) -> InferenceNetwork:
    """The network described by ``spec`` (an ``inference.json``, checked by :func:`check_spec`),
    its weights read from the ``.keras`` file it names in ``folder``: each stored dataset's shape
    is compared with the declared one before it is read, then its checksum.

    Raises ``ValueError`` with the reason when the spec or the weights do not match.
    """
    import h5py

    source = check_spec(spec, folder)
    weights = {}
    try:
        with open_weights(source) as handle, h5py.File(handle, "r") as h5:
            for name, entry in spec["weights"].items():
                if entry["dataset"] not in h5 or not isinstance(h5[entry["dataset"]], h5py.Dataset):
                    raise ValueError(f"weight {name}: dataset {entry['dataset']} is missing from {source.name}")
                weights[name] = _read_weight(h5[entry["dataset"]], name, entry, source.name)
    except (OSError, KeyError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"cannot read the weights in {source}: {error}") from error
    return InferenceNetwork(heads=list(spec["heads"]), members=[dict(m) for m in spec["members"]],
                            weights=weights, source=source)
