"""Inference without TensorFlow: the BiLSTM network of :mod:`tonecls.model.network` in numpy.

Keras and TensorFlow are the training stack; scoring runs this kernel instead, which gives the
same logits (to ~1e-6) and starts in a fraction of the time. Three pieces:

- :func:`from_keras` reads the weights of a network built by
  :func:`~tonecls.model.network.build_network` (or an ensemble of them,
  :func:`~tonecls.model.train.ensemble_network`) into an :class:`InferenceNetwork`;
- :meth:`InferenceNetwork.export_spec` describes it as plain data (``inference.json`` in a
  bundle): the architecture, and for every weight the HDF5 dataset inside ``model.keras`` that
  holds it, with its shape and checksum. The weights are stored once, in ``model.keras``;
- :func:`load_inference` reads that description and the weights back with h5py (no Keras).

Speed: the first LSTM layer's input projection ``E @ W + b`` is precomputed per word for the
:data:`TABLE_WORDS` most frequent words, in blocks of words as they are first needed (a table
lookup replaces a matrix product per step; rarer words, about 5% of tokens, are projected per
pass), the recurrent step of every direction of every ensemble member runs as one batched
matrix product, and the sigmoid gates' pre-activations are halved in the weights (exactly: a
power of two), so that one ``tanh`` per step serves all four gates
(``sigmoid(x) = (1 + tanh(x / 2)) / 2``).
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tonecls.io.files import sha256_bytes

INFERENCE_FORMAT = 1
ROWS_PER_PASS = 256  # posts per forward pass: fastest per CPU-second of 128 / 256 / 1024 (measured)
TABLE_BLOCK = 1024  # vocabulary rows per block of the per-word projection tables
# words (vocabulary ids, most frequent first) with a per-word projection table: 95% of the
# tokens of TweetEval posts; 8,192 x 4U floats per direction instead of the whole vocabulary's
# (8 MB instead of 31 MB per direction for the default model)
TABLE_WORDS = 8192
POOLINGS = ("max", "attention", "max_attention")
_NEG_INF = np.float32(-1e9)
_WEIGHTS_MEMBER = "model.weights.h5"


class ExportError(ValueError):
    """The network cannot be expressed by the numpy kernel (not built by ``build_network``)."""


@dataclass
class InferenceNetwork:
    """A BiLSTM tone network (or an ensemble averaging several) as numpy arrays.

    ``members`` is one dict per ensemble member with keys ``pooling`` (one of
    :data:`POOLINGS`), ``lstm_layers`` and ``units``; ``weights`` maps names such as
    ``"0/embedding"``, ``"0/bilstm_1/forward/kernel"``, ``"0/heads/sentiment/bias"`` (member
    index first) to float32 arrays, in Keras' layouts (LSTM gates ``i, f, c, o``).
    ``__call__`` maps a padded id matrix to logits per head, averaged over members.
    """

    heads: list[str]
    members: list[dict[str, Any]]
    weights: dict[str, np.ndarray]
    source: Path | None = None  # the model.keras file the weights were read from, if any
    _tables: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    # --- construction ---------------------------------------------------------------------

    def __post_init__(self) -> None:
        self.weights = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in self.weights.items()}
        if not self.members:
            raise ExportError("an inference network needs at least one member")
        shapes = {(m["units"], m["lstm_layers"]) for m in self.members}
        if len(shapes) != 1:
            raise ExportError(f"ensemble members differ in LSTM units / layers: {sorted(shapes)}")
        for m in self.members:
            if m["pooling"] not in POOLINGS:
                raise ExportError(f"unknown pooling {m['pooling']!r}; expected one of {POOLINGS}")

    @property
    def units(self) -> int:
        return int(self.members[0]["units"])

    @property
    def lstm_layers(self) -> int:
        return int(self.members[0]["lstm_layers"])

    @property
    def vocab_size(self) -> int:
        return int(self.weights["0/embedding"].shape[0])

    def head_units(self, head: str) -> int:
        return int(self.weights[f"0/heads/{head}/bias"].shape[0])

    def __getstate__(self) -> dict[str, Any]:
        # the precomputed tables are large and cheap to rebuild: never pickled
        return {**self.__dict__, "_tables": None}

    # --- derived tables (built on first use) -----------------------------------------------

    def _gate_order(self) -> np.ndarray:
        """Column permutation from Keras' gate order (i, f, c, o) to (i, f, o, c): the three
        sigmoid gates become one contiguous slice."""
        u = self.units
        return np.concatenate([np.arange(0, 2 * u), np.arange(3 * u, 4 * u), np.arange(2 * u, 3 * u)])

    def _gate_scale(self) -> np.ndarray:
        """Per column (in :meth:`_gate_order`): 1/2 for the sigmoid gates' pre-activations,
        1 for the candidate's; weights times a power of two give exactly halved products."""
        u = self.units
        return np.concatenate([np.full(3 * u, 0.5, dtype=np.float32), np.ones(u, dtype=np.float32)])

    def _prepare(self) -> dict[str, Any]:
        if self._tables is not None:
            return self._tables
        order, scale = self._gate_order(), self._gate_scale()
        n = len(self.members)
        tables: dict[str, Any] = {"recurrent": [], "input": [], "bias": []}
        for layer in range(1, self.lstm_layers + 1):
            recurrent, kernels, biases = [], [], []
            for direction in ("forward", "backward"):
                for m in range(n):
                    prefix = f"{m}/bilstm_{layer}/{direction}"
                    recurrent.append(self.weights[f"{prefix}/recurrent_kernel"][:, order] * scale)
                    kernels.append(self.weights[f"{prefix}/kernel"][:, order] * scale)
                    biases.append(self.weights[f"{prefix}/bias"][order] * scale)
            tables["recurrent"].append(np.ascontiguousarray(np.stack(recurrent)))  # (D, U, 4U)
            if layer == 1:
                # per-word input projection E @ W + b of each direction d for the TABLE_WORDS
                # most frequent words: a table filled block by block as words are first seen
                # (_fill_lookup); kept: each W and b, for the rarer words
                words = min(self.vocab_size, TABLE_WORDS)
                tables["lookup"] = [np.empty((words, 4 * self.units), dtype=np.float32) for _ in range(2 * n)]
                tables["filled"] = np.zeros(-(-words // TABLE_BLOCK), dtype=bool)
                tables["first_kernels"], tables["first_biases"] = kernels, biases
                tables["input"].append(None)
                tables["bias"].append(None)
            else:
                tables["input"].append(np.stack(kernels))  # (D, 2U, 4U)
                tables["bias"].append(np.stack(biases)[:, None, None, :])
        self._tables = tables
        return tables

    def _fill_lookup(self, tables: dict[str, Any], ids: np.ndarray) -> None:
        """Compute the per-word tables' blocks holding ``ids`` that are not computed yet.

        Blocks have a fixed size, so a table word's projection is the same bits whichever
        batch first needed it (a rare word's, computed per pass, may differ in the last bit
        with the pass's other rare words); a short job computes a fraction of the tables.
        """
        n = len(self.members)
        words = len(tables["lookup"][0])
        needed = np.unique(ids[ids < words] // TABLE_BLOCK)
        for block in needed[~tables["filled"][needed]]:
            rows = slice(int(block) * TABLE_BLOCK, min(words, (int(block) + 1) * TABLE_BLOCK))
            for d in range(2 * n):
                np.matmul(self.weights[f"{d % n}/embedding"][rows], tables["first_kernels"][d],
                          out=tables["lookup"][d][rows])
                tables["lookup"][d][rows] += tables["first_biases"][d]
            tables["filled"][block] = True

    # --- the forward pass -------------------------------------------------------------------

    def __call__(self, token_ids: np.ndarray) -> dict[str, np.ndarray]:
        """Logits per head, float32 ``(batch, n_classes)``, of a padded id matrix (0 = padding)."""
        ids = np.asarray(token_ids)
        if ids.ndim != 2:
            raise ValueError(f"token ids must be a (batch, time) matrix, got shape {ids.shape}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"token ids must be in [0, {self.vocab_size}); got {ids.min()}..{ids.max()}")
        with _single_threaded_blas():
            tables = self._prepare()
        ids = _trim(ids)
        # long posts: fewer rows a pass, so that memory stays bounded (ROWS_PER_PASS x 64 steps)
        rows = max(1, ROWS_PER_PASS * 64 // max(64, ids.shape[1]))
        if len(ids) <= rows:
            with _single_threaded_blas():
                return self._forward(ids, tables)
        parts = [self(ids[start:start + rows]) for start in range(0, len(ids), rows)]
        return {head: np.concatenate([part[head] for part in parts]) for head in self.heads}

    def _forward(self, ids: np.ndarray, tables: dict[str, Any]) -> dict[str, np.ndarray]:
        n = len(self.members)
        mask = ids != 0
        pooled_max_only = self.lstm_layers == 1 and all(m["pooling"] == "max" for m in self.members)
        result = self._lstm_stack(ids, mask, tables, keep_sequences=not pooled_max_only)
        logits = {head: np.zeros((len(ids), self.head_units(head)), dtype=np.float32) for head in self.heads}
        for m, member in enumerate(self.members):
            if pooled_max_only:
                pooled = result[m]
            else:
                sequence = result[m]  # (B, T, 2U)
                parts = []
                if member["pooling"] in ("max", "max_attention"):
                    parts.append(_masked_max(sequence, mask))
                if member["pooling"] in ("attention", "max_attention"):
                    parts.append(self._attention(m, sequence, mask))
                pooled = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
            for head in self.heads:
                logits[head] += pooled @ self.weights[f"{m}/heads/{head}/kernel"] + \
                    self.weights[f"{m}/heads/{head}/bias"]
        if n > 1:
            for head in self.heads:
                logits[head] /= np.float32(n)
        return logits

    def _lstm_stack(self, ids: np.ndarray, mask: np.ndarray, tables: dict[str, Any],
                    keep_sequences: bool) -> list[np.ndarray]:
        """Run every BiLSTM layer of every member. Returns per member either the masked max over
        time of the last layer's outputs ``(B, 2U)`` or its output sequence ``(B, T, 2U)``."""
        n, u = len(self.members), self.units
        batch, steps = ids.shape
        d = 2 * n  # directions: forward of each member, then backward of each member
        columns_full = mask.all(axis=0)
        full = columns_full & columns_full[::-1]  # every post has a token at s and at T-1-s
        self._fill_lookup(tables, ids)
        ids_by_step = np.ascontiguousarray(ids.T)
        table_ids, rare = self._rare_words(tables, ids_by_step)
        sequences = None
        z = np.empty((d, batch, 4 * u), dtype=np.float32)
        c_new = np.empty((d, batch, u), dtype=np.float32)
        scratch = np.empty((d, batch, u), dtype=np.float32)
        gathered = np.empty((batch, 4 * u), dtype=np.float32)
        valid = np.empty((d, batch, 1), dtype=bool)
        for layer in range(self.lstm_layers):
            last = layer == self.lstm_layers - 1
            store = keep_sequences or not last
            recurrent = tables["recurrent"][layer]
            if layer > 0:  # input projection of the previous layer's outputs, per direction
                inputs = np.concatenate([sequences, sequences], axis=0)  # (D, B, T, 2U)
                projected = np.matmul(inputs, tables["input"][layer][:, None]) + tables["bias"][layer]
            h = np.zeros((d, batch, u), dtype=np.float32)
            c = np.zeros((d, batch, u), dtype=np.float32)
            outputs = np.zeros((d, batch, steps, u), dtype=np.float32) if store else None
            running = None if store else np.full((d, batch, u), _NEG_INF, dtype=np.float32)
            for s in range(steps):
                back = steps - 1 - s
                np.matmul(h, recurrent, out=z)  # (D, B, 4U)
                for k in range(d):
                    step = s if k < n else back
                    if layer == 0:
                        np.take(tables["lookup"][k], table_ids[step], axis=0, out=gathered)
                        if rare is not None and rare.bounds[step + 1] > rare.bounds[step]:
                            at = slice(rare.bounds[step], rare.bounds[step + 1])
                            gathered[rare.rows[at]] = rare.projections[k][at]
                        z[k] += gathered
                    else:
                        z[k] += projected[k, :, step]
                # gates (i, f, o) = sigmoid, candidate = tanh, in one tanh: the gates' halved
                # pre-activations (see _gate_scale) give sigmoid(x) = (1 + tanh(x / 2)) / 2
                # (numpy's vectorised tanh is ~10x faster than a float32 expit loop)
                np.tanh(z, out=z)
                gates = z[..., :3 * u]
                np.multiply(gates, 0.5, out=gates)
                np.add(gates, 0.5, out=gates)
                candidate = z[..., 3 * u:]
                np.multiply(z[..., u:2 * u], c, out=c_new)
                np.multiply(z[..., :u], candidate, out=scratch)
                np.add(c_new, scratch, out=c_new)
                if full[s]:
                    c, c_new = c_new, c
                    np.tanh(c, out=h)
                    np.multiply(h, z[..., 2 * u:3 * u], out=h)
                    if not store:
                        np.maximum(running, h, out=running)
                else:
                    valid[:n, :, 0] = mask[:, s]
                    valid[n:, :, 0] = mask[:, back]
                    np.tanh(c_new, out=scratch)
                    np.multiply(scratch, z[..., 2 * u:3 * u], out=scratch)
                    # masked steps keep the state (Keras' mask semantics)
                    np.copyto(h, scratch, where=valid)
                    np.copyto(c, c_new, where=valid)
                    if not store:
                        np.maximum(running, np.where(valid, h, _NEG_INF), out=running)
                if store:
                    outputs[:n, :, s] = h[:n]
                    outputs[n:, :, back] = h[n:]
            if store:
                # (member, B, T, 2U): forward features then backward features, as Bidirectional concat
                sequences = np.concatenate([outputs[:n], outputs[n:]], axis=-1)
        if not keep_sequences:
            any_valid = mask.any(axis=1)[:, None]
            return [np.where(any_valid, np.concatenate([running[m], running[n + m]], axis=1), 0.0)
                    .astype(np.float32) for m in range(n)]
        return [sequences[m] for m in range(n)]

    def _rare_words(self, tables: dict[str, Any], ids_by_step: np.ndarray) -> tuple[np.ndarray, _RareWords | None]:
        """The ids to read from the per-word tables (0 where the word has no table row) and
        the first layer's input projections of the rarer words, computed here per pass."""
        words = len(tables["lookup"][0])
        outside = ids_by_step >= words
        if not outside.any():
            return ids_by_step, None
        steps, rows = np.nonzero(outside)  # by step, then row
        rare_ids = ids_by_step[steps, rows]
        n = len(self.members)
        projections = [self.weights[f"{k % n}/embedding"][rare_ids] @ tables["first_kernels"][k]
                       + tables["first_biases"][k] for k in range(2 * n)]
        bounds = np.searchsorted(steps, np.arange(ids_by_step.shape[0] + 1))
        return np.where(outside, 0, ids_by_step), _RareWords(rows, bounds, projections)

    def _attention(self, m: int, sequence: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.weights
        scores = np.tanh(sequence @ w[f"{m}/attention/projection"] + w[f"{m}/attention/bias"]) \
            @ w[f"{m}/attention/context"]
        scores = np.where(mask, scores, _NEG_INF)
        scores = scores - scores.max(axis=1, keepdims=True)
        weights = np.exp(scores)
        weights /= weights.sum(axis=1, keepdims=True)
        return np.einsum("btf,bt->bf", sequence, weights).astype(np.float32)

    # --- persistence ------------------------------------------------------------------------

    def export_spec(self, keras_file: str | Path) -> dict[str, Any]:
        """Plain-data description of this network whose weights are read from ``keras_file``
        (a ``.keras`` archive holding these exact weights), for ``inference.json``.

        Each weight is located in the archive's HDF5 file by its content, so the mapping does
        not depend on Keras' internal naming; a weight missing from the file is an error.
        """
        import h5py

        with _open_weights(keras_file) as handle, h5py.File(handle, "r") as h5:
            located: dict[tuple, str] = {}

            def visit(name: str, obj: Any) -> None:
                if isinstance(obj, h5py.Dataset):
                    located.setdefault(_fingerprint(np.asarray(obj[()], dtype=np.float32)), name)

            h5.visititems(visit)
        weights = {}
        for name, array in sorted(self.weights.items()):
            key = _fingerprint(array)
            if key not in located:
                raise ExportError(f"weight {name} {array.shape} is not stored in {keras_file}")
            weights[name] = {"dataset": located[key], "shape": list(array.shape), "sha256": key[2]}
        return {"format": INFERENCE_FORMAT, "kind": "bilstm", "heads": list(self.heads),
                "members": [dict(m) for m in self.members], "weights_file": Path(keras_file).name,
                "weights": weights}


@dataclass
class _RareWords:
    """Input projections of the words without a table row in one pass: ``rows[bounds[s]:
    bounds[s + 1]]`` are the posts with such a word at step ``s``, ``projections[k]`` (one
    per direction) the words' projections in the same order."""

    rows: np.ndarray
    bounds: np.ndarray
    projections: list[np.ndarray]


_BLAS_CONTROLLER = None


def _single_threaded_blas():
    """Context limiting BLAS to one thread: the recurrent products are small, and OpenBLAS'
    threads make them 10-100x slower on a busy machine (measured); scale out with processes."""
    global _BLAS_CONTROLLER
    from threadpoolctl import ThreadpoolController

    if _BLAS_CONTROLLER is None:
        _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")


def _trim(ids: np.ndarray) -> np.ndarray:
    """``ids`` without its trailing all-padding columns (at least one column)."""
    used = np.flatnonzero((ids != 0).any(axis=0))
    width = int(used[-1]) + 1 if len(used) else 1
    return ids[:, :width]


def _masked_max(sequence: np.ndarray, mask: np.ndarray) -> np.ndarray:
    pooled = np.where(mask[:, :, None], sequence, _NEG_INF).max(axis=1)
    return np.where(mask.any(axis=1)[:, None], pooled, 0.0).astype(np.float32)


def _fingerprint(array: np.ndarray) -> tuple:
    array = np.ascontiguousarray(array, dtype=np.float32)
    return tuple(array.shape), "float32", sha256_bytes(array.tobytes())


class _open_weights:
    """Context manager: a seekable binary handle on the HDF5 weights inside a ``.keras`` zip."""

    def __init__(self, keras_file: str | Path) -> None:
        self.path = Path(keras_file)

    def __enter__(self):
        self.archive = zipfile.ZipFile(self.path)
        info = self.archive.getinfo(_WEIGHTS_MEMBER)
        if info.compress_type == zipfile.ZIP_STORED:
            self.handle = self.archive.open(info)  # seekable, read in place
        else:
            self.handle = io.BytesIO(self.archive.read(info))
        return self.handle

    def __exit__(self, *exc) -> None:
        self.handle.close()
        self.archive.close()


# --- from Keras (training stack only) --------------------------------------------------------


def from_keras(network: Any, heads: Sequence[str]) -> InferenceNetwork:
    """The :class:`InferenceNetwork` of a Keras network built by ``build_network`` (any pooling,
    any number of BiLSTM layers) or an ensemble of them averaged per head.

    Raises :class:`ExportError` if the network has another structure; the result is checked
    against Keras on a probe batch by :func:`check_against_keras`.
    """
    import keras

    nested = [layer for layer in network.layers if isinstance(layer, keras.Model)]
    if nested:
        for head in heads:
            if not isinstance(network.get_layer(head), keras.layers.Average):
                raise ExportError(f"ensemble output {head!r} is not an average of its members' logits")
    members_keras = nested or [network]
    members, weights = [], {}
    for m, member in enumerate(members_keras):
        names = {layer.name: layer for layer in member.layers}
        embedding = names.get("embedding")
        if not isinstance(embedding, keras.layers.Embedding) or not embedding.mask_zero:
            raise ExportError(f"member {member.name!r} has no masked 'embedding' layer")
        weights[f"{m}/embedding"] = embedding.embeddings.numpy()
        layer_count, units = 0, None
        while f"bilstm_{layer_count + 1}" in names:
            layer_count += 1
            bidirectional = names[f"bilstm_{layer_count}"]
            if getattr(bidirectional, "merge_mode", None) != "concat":
                raise ExportError(f"{bidirectional.name} must be a Bidirectional layer merging by concat")
            for direction, lstm in (("forward", bidirectional.forward_layer),
                                    ("backward", bidirectional.backward_layer)):
                _check_lstm(lstm, backwards=direction == "backward")
                kernel, recurrent, bias = (v.numpy() for v in
                                           (lstm.cell.kernel, lstm.cell.recurrent_kernel, lstm.cell.bias))
                units = lstm.units
                prefix = f"{m}/bilstm_{layer_count}/{direction}"
                weights[f"{prefix}/kernel"] = kernel
                weights[f"{prefix}/recurrent_kernel"] = recurrent
                weights[f"{prefix}/bias"] = bias
        if layer_count == 0:
            raise ExportError(f"member {member.name!r} has no 'bilstm_1' layer")
        has_max, has_attention = "max_pool" in names, "attention_pool" in names
        pooling = "max_attention" if has_max and has_attention else "attention" if has_attention else "max"
        if not (has_max or has_attention):
            raise ExportError(f"member {member.name!r} has no 'max_pool' or 'attention_pool' layer")
        if has_attention:
            attention = names["attention_pool"]
            for part in ("projection", "bias", "context"):
                weights[f"{m}/attention/{part}"] = getattr(attention, part).numpy()
        for head in heads:
            dense = names.get(head)
            if not isinstance(dense, keras.layers.Dense) or dense.get_config().get("activation") != "linear":
                raise ExportError(f"member {member.name!r} has no linear Dense head {head!r}")
            weights[f"{m}/heads/{head}/kernel"] = dense.kernel.numpy()
            weights[f"{m}/heads/{head}/bias"] = dense.bias.numpy()
        members.append({"pooling": pooling, "lstm_layers": layer_count, "units": int(units)})
    return InferenceNetwork(heads=list(heads), members=members, weights=weights)


def _check_lstm(lstm: Any, backwards: bool) -> None:
    config = lstm.get_config()
    expected = {"activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
                "return_sequences": True, "go_backwards": backwards, "stateful": False}
    wrong = {k: config.get(k) for k, v in expected.items() if config.get(k) != v}
    if wrong:
        raise ExportError(f"LSTM {lstm.name} has settings the numpy kernel does not implement: {wrong}")


def probe_batch(vocab_size: int, seed: int = 0) -> np.ndarray:
    """Padded ids of posts of many lengths (1..40), used to check an export against Keras."""
    rng = np.random.default_rng(seed)
    lengths = np.concatenate([np.arange(1, 41), rng.integers(1, 41, 24)])
    ids = np.zeros((len(lengths), int(lengths.max())), dtype=np.int32)
    for row, length in enumerate(lengths):
        ids[row, :length] = rng.integers(1, vocab_size, length)
    return ids


def check_against_keras(inference: InferenceNetwork, network: Any, atol: float = 1e-4) -> float:
    """Largest absolute logit difference between ``inference`` and the Keras ``network`` on
    :func:`probe_batch`; raises :class:`ExportError` above ``atol``."""
    ids = probe_batch(inference.vocab_size)
    with warnings.catch_warnings():  # Keras' note that a bare array is not its [token_ids] list
        warnings.filterwarnings("ignore", message="The structure of `inputs`", category=UserWarning)
        expected = network(ids, training=False)
    got = inference(ids)
    worst = max(float(np.max(np.abs(np.asarray(expected[h]) - got[h]))) for h in inference.heads)
    if not worst <= atol:
        raise ExportError(f"the numpy network differs from Keras by {worst:.2e} (> {atol}) on a probe batch")
    return worst


# --- loading (no Keras) ----------------------------------------------------------------------


def load_inference(spec: Mapping[str, Any], folder: str | Path) -> InferenceNetwork:
    """The network described by ``spec`` (an ``inference.json``), weights read from the
    ``.keras`` file it names in ``folder``. Shapes and checksums are verified.

    Raises ``ValueError`` with the reason when the spec or the weights do not match.
    """
    import h5py

    if spec.get("format") != INFERENCE_FORMAT or spec.get("kind") != "bilstm":
        raise ValueError(f"inference format {spec.get('format')!r} / kind {spec.get('kind')!r} is not "
                         f"{INFERENCE_FORMAT} / 'bilstm'")
    source = Path(folder) / spec["weights_file"]
    weights = {}
    try:
        with _open_weights(source) as handle, h5py.File(handle, "r") as h5:
            for name, entry in spec["weights"].items():
                if entry["dataset"] not in h5:
                    raise ValueError(f"weight {name}: dataset {entry['dataset']} is missing from {source.name}")
                array = np.asarray(h5[entry["dataset"]][()], dtype=np.float32)
                if list(array.shape) != list(entry["shape"]):
                    raise ValueError(f"weight {name} has shape {list(array.shape)} in {source.name}, "
                                     f"expected {entry['shape']}")
                if _fingerprint(array)[2] != entry["sha256"]:
                    raise ValueError(f"weight {name} in {source.name} does not match inference.json (checksum); "
                                     "the network file was changed after export")
                weights[name] = array
    except (OSError, KeyError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"cannot read the weights in {source}: {error}") from error
    return InferenceNetwork(heads=list(spec["heads"]), members=[dict(m) for m in spec["members"]],
                            weights=weights, source=source)
