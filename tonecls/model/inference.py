"""The BiLSTM network of :mod:`tonecls.model.network` in numpy: scoring without TensorFlow.

Keras and TensorFlow are the training stack; scoring runs this kernel, which gives Keras'
logits to within 1e-4 (checked at export by :func:`tonecls.model.keras_export.check_against_keras`)
and starts in a fraction of the time. :mod:`tonecls.model.keras_export` reads a Keras network
into an :class:`InferenceNetwork`; :mod:`tonecls.model.inference_spec` stores it in a bundle
(``inference.json``) and reads it back.

How it is fast: the first LSTM layer's input projection ``E @ W + b`` is precomputed per word
for the :data:`TABLE_WORDS` most frequent words, in blocks as they are first needed (a table
lookup replaces a matrix product per step; rarer words are projected per pass); the recurrent
step of every direction of every ensemble member is one batched matrix product; and the
sigmoid gates' pre-activations are halved in the weights (exactly: a power of two), so that
one ``tanh`` per step serves all four gates (``sigmoid(x) = (1 + tanh(x / 2)) / 2``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tonecls.model.config import POOLINGS

ROWS_PER_PASS = 256  # posts per forward pass (memory stays bounded for long posts)
TABLE_BLOCK = 1024  # vocabulary rows per block of the per-word projection tables
TABLE_WORDS = 8192  # words (most frequent first) with a per-word projection table
_NEG_INF = np.float32(-1e9)


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
    threads slow them down (BENCHMARKS.md, network only); scale out with processes."""
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
