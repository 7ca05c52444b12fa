"""A Keras network built by :func:`~tonecls.model.network.build_network` (or an ensemble of
them, :func:`~tonecls.model.network.ensemble_network`) read into the numpy
:class:`~tonecls.model.inference.InferenceNetwork`, and checked against Keras (training stack only)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from tonecls.model.inference import ExportError, InferenceNetwork

__all__ = ["ExportError", "check_against_keras", "from_keras", "probe_batch"]

KERAS_AGREEMENT = 1e-4
"""Largest absolute logit difference between the numpy network and Keras accepted at export."""




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


def check_against_keras(inference: InferenceNetwork, network: Any, atol: float = KERAS_AGREEMENT) -> float:
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


