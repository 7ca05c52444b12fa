"""The Keras network: token embedding -> BiLSTM encoder -> pooled post vector -> one logit head
per task; ensembles, distillation outputs and compiling for multi-task training.

Heads output *logits* (no activation): calibration (temperature) and the softmax / sigmoid are
applied by :class:`~tonecls.model.ToneModel`, so a saved ``.keras`` file holds no Python code
beyond the two registered pooling layers below and loads with ``safe_mode=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tonecls.model.batches import soft_output_name
from tonecls.model.config import HeadSpec, TrainConfig
from tonecls.model.keras_env import import_keras

keras = import_keras()  # without TensorFlow's start-up log lines, however this module is reached
ops = keras.ops

_NEG_INF = -1e9


@keras.saving.register_keras_serializable(package="tonecls")
class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """Max over time of the unmasked steps (Keras' GlobalMaxPooling1D ignores the mask).

    A post with no unmasked step pools to zeros.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.max(inputs, axis=1)
        mask = ops.cast(mask, "bool")
        pooled = ops.max(ops.where(mask[:, :, None], inputs, _NEG_INF), axis=1)
        return ops.where(ops.any(mask, axis=1, keepdims=True), pooled, 0.0)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@keras.saving.register_keras_serializable(package="tonecls")
class AttentionPooling1D(keras.layers.Layer):
    """Additive self-attention pooling (Bahdanau-style scores over time), mask aware."""

    def __init__(self, units: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.supports_masking = True

    def build(self, input_shape):
        features = input_shape[-1]
        self.projection = self.add_weight(name="projection", shape=(features, self.units),
                                          initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        self.context = self.add_weight(name="context", shape=(self.units,), initializer="glorot_uniform")

    def call(self, inputs, mask=None):
        scores = ops.tensordot(ops.tanh(ops.tensordot(inputs, self.projection, 1) + self.bias),
                               self.context, 1)
        if mask is not None:
            scores = ops.where(ops.cast(mask, "bool"), scores, _NEG_INF)
        weights = ops.softmax(scores, axis=1)
        return ops.sum(inputs * weights[:, :, None], axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def build_network(
    heads: Sequence[HeadSpec],
    vocab_size: int,
    config: TrainConfig,
    embedding_matrix: np.ndarray | None = None,
    name: str = "tonecls_bilstm",
) -> keras.Model:
    """The functional Keras model: ``token_ids (batch, time) -> {head name: logits}``.

    ``embedding_matrix`` (vocab_size x embedding_dim) initialises the embedding layer.
    """
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    embedding = keras.layers.Embedding(vocab_size, config.embedding_dim, mask_zero=True,
                                       trainable=config.trainable_embeddings, name="embedding")
    x = embedding(token_ids)
    if embedding_matrix is not None:
        if embedding_matrix.shape != (vocab_size, config.embedding_dim):
            raise ValueError(f"embedding matrix has shape {embedding_matrix.shape}, expected "
                             f"{(vocab_size, config.embedding_dim)}")
        embedding.set_weights([embedding_matrix.astype("float32")])
    x = keras.layers.SpatialDropout1D(config.dropout, name="embedding_dropout")(x)
    for layer in range(config.lstm_layers):
        x = keras.layers.Bidirectional(
            keras.layers.LSTM(config.lstm_units, return_sequences=True), name=f"bilstm_{layer + 1}"
        )(x)
    if config.pooling == "max":
        pooled = MaskedGlobalMaxPooling1D(name="max_pool")(x)
    elif config.pooling == "attention":
        pooled = AttentionPooling1D(config.lstm_units, name="attention_pool")(x)
    else:
        pooled = keras.layers.Concatenate(name="pool")([
            MaskedGlobalMaxPooling1D(name="max_pool")(x),
            AttentionPooling1D(config.lstm_units, name="attention_pool")(x),
        ])
    pooled = keras.layers.Dropout(config.dropout, name="pooled_dropout")(pooled)
    outputs = {head.name: keras.layers.Dense(len(head.classes), name=head.name)(pooled) for head in heads}
    return keras.Model(token_ids, outputs, name=name)


def select_heads(model: keras.Model, names: Sequence[str]) -> keras.Model:
    """A model sharing ``model``'s layers that outputs only the heads ``names`` (drops auxiliaries)."""
    outputs = {name: model.get_layer(name).output for name in names}
    return keras.Model(model.inputs, outputs, name=model.name)


# --- ensembles, distillation outputs, compiling ---------------------------------------------


def ensemble_network(networks: Sequence[Any], head_names: Sequence[str]):
    """One Keras model averaging the logits of ``networks`` per head (the network itself if one)."""
    if len(networks) == 1:
        return networks[0]
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    member_outputs = [network(token_ids) for network in networks]
    outputs = {name: keras.layers.Average(name=name)([out[name] for out in member_outputs]) for name in head_names}
    return keras.Model(token_ids, outputs, name="tonecls_ensemble")


def with_soft_outputs(network, heads: Sequence[str], specs: Sequence[HeadSpec], temperature: float):
    """``network`` (outputs ``heads``) plus, per head of ``specs``, an output ``logits /
    temperature`` (for the distillation loss; training only, the saved network has the plain
    heads)."""
    outputs = {name: network.get_layer(name).output for name in heads}
    for spec in specs:
        outputs[soft_output_name(spec.name)] = keras.layers.Rescaling(
            1.0 / temperature, name=soft_output_name(spec.name))(network.get_layer(spec.name).output)
    return keras.Model(network.inputs, outputs, name=network.name)


def compile_network(network, specs: Sequence[HeadSpec], config: TrainConfig,
                    soft_specs: Sequence[HeadSpec] = ()) -> None:
    """Compile for multi-task training: a cross-entropy on logits per head, weighted per row.

    Rows carry sample weight 0 in the heads they are not labelled for, so those heads' losses
    (and gradients) ignore them. With ``soft_specs`` (distillation), the outputs
    :func:`soft_output_name` of these heads get a cross-entropy against the teacher's soft
    targets, weighted ``distill.weight * temperature**2 * loss_weight``.
    """
    def cross_entropy(multilabel: bool, soft: bool = False):
        if multilabel:
            return keras.losses.BinaryCrossentropy(from_logits=True)
        return (keras.losses.CategoricalCrossentropy(from_logits=True) if soft
                else keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    losses = {spec.name: cross_entropy(spec.multilabel) for spec in specs}
    weights = {head.name: head.loss_weight for head in config.heads}
    head_weight = {head.name: head.loss_weight for head in config.heads}
    for spec in soft_specs:
        losses[soft_output_name(spec.name)] = cross_entropy(spec.multilabel, soft=True)
        weights[soft_output_name(spec.name)] = (config.distill.weight * config.distill.temperature ** 2
                                                * head_weight[spec.name])
    network.compile(optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=5.0), loss=losses,
                    loss_weights=weights)
