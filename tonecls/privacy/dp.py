"""DP-SGD training of the BiLSTM (Abadi et al. 2016) in TensorFlow with Keras 3.

Each step Poisson-samples the training rows (each with probability ``q``: the sampling the
accountant of :mod:`tonecls.privacy.accounting` assumes), computes every sampled row's
gradient, clips it to ``clip_norm`` (L2 over all trainable weights), sums, adds Gaussian noise
of standard deviation ``noise_multiplier * clip_norm`` to every coordinate and divides by the
expected batch size before Adam's update.

Per-example gradients: the network after the embedding lookup (BiLSTM, pooling, heads) is
replayed per example with the LSTMs unrolled (:func:`replay`), either vectorised over the batch
(``tf.vectorized_map``) or one example at a time (``tf.map_fn``: micro-batches of one). The
embedding's per-example gradient is taken with respect to the looked-up vectors (a post's few
rows, not the whole matrix): its norm is ``sum over token pairs with the same id of
g_t . g_s``, and the clipped gradients are scattered into the matrix once per batch. Dropout
masks are drawn per example before the replay, so each example keeps its own.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from tonecls.errors import InputError
from tonecls.model.config import HeadSpec, TrainConfig
from tonecls.model.tone_model import ToneModel
from tonecls.model.vocab import Vocabulary, offsets_of, pad_batch
from tonecls.privacy.accounting import DPSGDPlan, plan_dp_sgd

logger = logging.getLogger(__name__)
WIDTH_STEP = 16  # batches are padded to a multiple of this many tokens (one traced step per width)


def plan_for(config: TrainConfig, dataset_rows: int) -> DPSGDPlan:
    """The DP-SGD plan of ``config`` (its ``differential_privacy`` section) for ``dataset_rows``
    training rows: every epoch of every ensemble member is accounted."""
    privacy = config.differential_privacy
    return plan_dp_sgd(privacy.target_epsilon, privacy.delta, privacy.clip_norm, dataset_rows, config.batch_size,
                       config.epochs, config.ensemble_size)


def public_vocabulary(config: TrainConfig) -> Vocabulary:
    """The vocabulary named by ``differential_privacy.vocabulary``: ``pretrained`` (the
    ``vocab_size`` most frequent words of ``pretrained_embeddings``) or a file with one token
    per line; either way no training post decides which words the model knows."""
    from pathlib import Path

    source = config.differential_privacy.vocabulary
    if source == "pretrained":
        if not config.pretrained_embeddings:
            raise InputError("differential_privacy.vocabulary \"pretrained\" needs pretrained_embeddings.")
        from tonecls.model.embeddings import frequent_pretrained_words

        return Vocabulary(frequent_pretrained_words(config.pretrained_embeddings, config.vocab_size - 2))
    path = Path(source)
    if not path.is_file():
        raise InputError(f"differential_privacy.vocabulary {source!r} is neither \"training\", \"pretrained\" nor "
                         "a file of one token per line.")
    tokens = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return Vocabulary(list(dict.fromkeys(tokens))[: config.vocab_size - 2])


def outside_budget(config: TrainConfig) -> list[str]:
    """What the trained bundle reveals about private data that the DP budget does not cover."""
    privacy = config.differential_privacy
    notes = []
    if privacy.vocabulary == "training":
        notes.append(f"the vocabulary: every word seen at least {config.min_count} time(s) in the training posts "
                     "(set differential_privacy.vocabulary to \"pretrained\" or a public word list to close this)")
    notes.append("the validation posts: the best epoch (early stopping), the temperatures and thresholds fitted on "
                 "them and the validation metrics are not private (use public or non-sensitive validation posts)")
    if config.class_weight == "balanced":
        notes.append("the class frequencies of the training posts (class_weight \"balanced\"; set it to null to "
                     "close this)")
    notes.append("the number of training rows and the SHA-256 checksums of the training files (provenance)")
    if config.canaries:
        notes.append("canaries: each copy is one row, so a canary inserted r times is protected only at r x epsilon")
    return notes


def _lstm_direction(x, mask, cell, backwards: bool):
    """One direction of a Keras LSTM layer (its ``cell``'s weights; gates i, f, c, o) over
    ``x`` (batch, time, features), unrolled over the static time axis: masked steps keep the
    state and output it again (Keras' mask semantics, as :mod:`tonecls.model.inference`)."""
    import tensorflow as tf

    projected = tf.einsum("btf,fk->btk", x, cell.kernel) + cell.bias
    size = tf.shape(x)[0]
    h = c = tf.zeros(tf.stack([size, cell.units]))
    outputs = [None] * x.shape[1]
    for t in (reversed(range(x.shape[1])) if backwards else range(x.shape[1])):
        i, f, g, o = tf.split(projected[:, t] + tf.matmul(h, cell.recurrent_kernel), 4, axis=-1)
        c_new = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        h_new = tf.sigmoid(o) * tf.tanh(c_new)
        keep = mask[:, t, None]
        h, c = tf.where(keep, h_new, h), tf.where(keep, c_new, c)
        outputs[t] = h
    return tf.stack(outputs, axis=1)


def replay(network, config: TrainConfig, heads: Sequence[str], embedded, mask, pooled_keep):
    """The network after its embedding lookup: ``embedded`` (batch, time, dim) vectors (after
    embedding dropout), ``mask`` the real tokens, ``pooled_keep`` the pooled-vector dropout
    mask (ones: none) -> {head: logits}. Equal to ``network(ids, training=False)`` with ones.
    The BiLSTMs are unrolled here (:func:`_lstm_direction`): the vectorised map cannot convert
    the while loop of a rolled LSTM's gradient, and Keras' own unrolled LSTM treats masked
    steps differently from its rolled one."""
    import keras

    x = embedded
    for layer in range(config.lstm_layers):
        bidirectional = network.get_layer(f"bilstm_{layer + 1}")
        x = keras.ops.concatenate([_lstm_direction(x, mask, bidirectional.forward_layer.cell, False),
                                   _lstm_direction(x, mask, bidirectional.backward_layer.cell, True)], axis=-1)
    if config.pooling == "max":
        pooled = network.get_layer("max_pool")(x, mask=mask)
    elif config.pooling == "attention":
        pooled = network.get_layer("attention_pool")(x, mask=mask)
    else:
        pooled = keras.ops.concatenate([network.get_layer("max_pool")(x, mask=mask),
                                        network.get_layer("attention_pool")(x, mask=mask)], axis=-1)
    pooled = pooled * pooled_keep
    return {name: network.get_layer(name)(pooled) for name in heads}


def example_loss(logits: Mapping[str, Any], targets: Mapping[str, Any], weights: Mapping[str, Any],
                 specs: Sequence[HeadSpec], loss_weights: Mapping[str, float]):
    """One row's training loss: the heads' cross-entropies (multi-label: mean binary
    cross-entropy over classes, as Keras') times the row's sample weight and the head's
    ``loss_weight``, summed over heads (``logits`` etc. are batches of one row)."""
    import tensorflow as tf

    total = 0.0
    for spec in specs:
        z, y = logits[spec.name][0], targets[spec.name]
        if spec.multilabel:
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z))
        else:
            loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=z)
        total += loss_weights[spec.name] * weights[spec.name] * loss
    return total


class DPSGDStep:
    """One DP-SGD update of ``network`` per call on a padded batch of sampled rows."""

    def __init__(self, network, config: TrainConfig, specs: Sequence[HeadSpec], plan: DPSGDPlan, seed: int) -> None:
        import keras
        import tensorflow as tf

        self.network, self.config, self.specs, self.plan = network, config, list(specs), plan
        self.embedding = network.get_layer("embedding").embeddings
        self.train_embedding = bool(config.trainable_embeddings)
        self.trunk = [v for v in network.trainable_variables if v is not self.embedding]
        self.variables = ([self.embedding] if self.train_embedding else []) + self.trunk
        self.loss_weights = {head.name: head.loss_weight for head in config.heads}
        self.optimizer = keras.optimizers.Adam(config.learning_rate)
        self.optimizer.build(self.variables)
        self.random = tf.random.Generator.from_seed(seed)
        self.vectorized = config.differential_privacy.per_example_gradients == "vectorized"
        self.steps: dict[int | str, Callable] = {}  # traced steps by batch width ("empty": noise only)
        self.pooled_size = int(network.get_layer("pooled_dropout").output.shape[-1])

    def _keep(self, shape):
        """A dropout mask (kept entries scaled by ``1 / (1 - rate)``, as Keras' dropout)."""
        import tensorflow as tf

        rate = self.config.dropout
        return tf.cast(self.random.uniform(shape) >= rate, tf.float32) / (1.0 - rate)

    def _per_example(self, elements):
        import tensorflow as tf

        x, mask, spatial, pooled, targets, weights = elements
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = replay(self.network, self.config, [s.name for s in self.specs], (x * spatial)[None],
                            mask[None], pooled[None])
            loss = example_loss(logits, targets, weights, self.specs, self.loss_weights)
        return tape.gradient(loss, [x, *self.trunk], unconnected_gradients=tf.UnconnectedGradients.ZERO)

    def _gradients(self, ids, targets, weights):
        """Per-example gradients: ``[d loss / d embedded (batch, time, dim), *trunk]``."""
        import tensorflow as tf

        mask = tf.not_equal(ids, 0)
        embedded = tf.gather(self.embedding, ids)
        size = tf.shape(ids)[0]
        spatial = self._keep(tf.stack([size, 1, tf.shape(embedded)[-1]]))
        pooled = self._keep(tf.stack([size, self.pooled_size]))
        elements = (embedded, mask, spatial, pooled, targets, weights)
        if self.vectorized:
            return tf.vectorized_map(self._per_example, elements)
        signature = [tf.TensorSpec(embedded.shape[1:], tf.float32)] + \
                    [tf.TensorSpec(v.shape, tf.float32) for v in self.trunk]
        return tf.map_fn(self._per_example, elements, fn_output_signature=signature)

    def _noisy_update(self, ids, targets, weights):
        import tensorflow as tf

        grads = self._gradients(ids, targets, weights)
        embedded_grad, trunk_grads = grads[0], grads[1:]
        mask = tf.cast(tf.not_equal(ids, 0), tf.float32)
        squared = tf.add_n([tf.reduce_sum(tf.reshape(g, [tf.shape(g)[0], -1]) ** 2, axis=1) for g in trunk_grads])
        if self.train_embedding:  # |scatter of the rows|^2: pairs of positions holding the same token
            same = tf.cast(tf.equal(ids[:, :, None], ids[:, None, :]), tf.float32) * mask[:, :, None] * mask[:, None, :]
            squared += tf.reduce_sum(tf.einsum("btd,bsd->bts", embedded_grad, embedded_grad) * same, axis=[1, 2])
        factor = tf.minimum(1.0, self.plan.clip_norm / (tf.sqrt(squared) + 1e-12))
        summed = [tf.tensordot(factor, g, axes=1) for g in trunk_grads]
        if self.train_embedding:
            rows = tf.reshape(embedded_grad * (factor[:, None, None] * mask[:, :, None]), [-1, embedded_grad.shape[-1]])
            summed.insert(0, tf.math.unsorted_segment_sum(rows, tf.reshape(ids, [-1]), tf.shape(self.embedding)[0]))
        self._apply(summed)

    def _apply(self, summed):
        """Add the Gaussian noise to the summed clipped gradients, scale, update."""
        import tensorflow as tf

        scale = 1.0 / (self.plan.sampling_rate * self.plan.dataset_rows)
        noise = self.plan.noise_multiplier * self.plan.clip_norm
        noisy = [(g + noise * self.random.normal(tf.shape(g))) * scale for g in summed]
        self.optimizer.apply(noisy, self.variables)

    def _step_of_width(self, width: int) -> Callable:
        import tensorflow as tf

        if width not in self.steps:
            signature = (tf.TensorSpec((None, width), tf.int32),
                         {s.name: tf.TensorSpec((None, len(s.classes)) if s.multilabel else (None,),
                                                tf.float32 if s.multilabel else tf.int32) for s in self.specs},
                         {s.name: tf.TensorSpec((None,), tf.float32) for s in self.specs})
            self.steps[width] = tf.function(self._noisy_update, input_signature=signature)
        return self.steps[width]

    def __call__(self, ids: np.ndarray, targets: Mapping[str, np.ndarray], weights: Mapping[str, np.ndarray]) -> None:
        import tensorflow as tf

        if len(ids) == 0:  # an empty Poisson sample still releases a (pure noise) update
            if "empty" not in self.steps:
                self.steps["empty"] = tf.function(
                    lambda: self._apply([tf.zeros_like(v) for v in self.variables]))
            self.steps["empty"]()
            return
        width = WIDTH_STEP * math.ceil(ids.shape[1] / WIDTH_STEP)
        padded = np.zeros((len(ids), width), dtype=np.int32)
        padded[:, :ids.shape[1]] = ids
        cast = {s.name: np.asarray(targets[s.name], np.float32 if s.multilabel else np.int32) for s in self.specs}
        self._step_of_width(width)(padded, cast, {k: np.asarray(weights[k], np.float32) for k in cast})


def poisson_batches(n_rows: int, rate: float, steps: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """``steps`` samples of row indices, each row in each sample independently with
    probability ``rate`` (Poisson sampling: batch sizes vary)."""
    for _ in range(steps):
        yield np.flatnonzero(rng.random(n_rows) < rate)


def fit_member_dp(config: TrainConfig, specs: list[HeadSpec], kept: list[HeadSpec], vocabulary: Vocabulary,
                  embedding_init: np.ndarray | None, arrays: tuple, val_sets: Mapping[str, Any], member: int,
                  quiet: bool = False, soft_specs: Sequence[HeadSpec] = (), *, early_stopping: Callable):
    """:func:`tonecls.model.train.fit_member` with DP-SGD: ``config.epochs`` epochs of
    Poisson-sampled noisy steps (:func:`plan_for`), the best validation epoch kept
    (``early_stopping`` is train's early-stopping callback factory). The training loss is not
    computed (it would be a non-private statistic of the training posts)."""
    import keras

    from tonecls.model.network import build_network, select_heads

    if soft_specs:
        raise InputError("differential_privacy cannot be combined with distillation.")
    seed = config.seed + member
    keras.utils.set_random_seed(seed)
    network = build_network(specs, len(vocabulary), config, embedding_init, name=f"tonecls_bilstm_{member}")
    ids, lengths, targets, weights = arrays
    plan = plan_for(config, len(lengths))
    monitor = ToneModel(select_heads(network, [s.name for s in kept]), vocabulary, kept, max_length=config.max_length)
    label = f"[model {member + 1}/{config.ensemble_size}] " if config.ensemble_size > 1 else ""
    stopper = early_stopping(keras)(monitor, {h.name: h for h in config.heads}, val_sets, config.patience, label)
    stopper.set_model(network)
    network.stop_training = False
    step = DPSGDStep(network, config, specs, plan, seed)
    rng, offsets, timings = np.random.default_rng(seed), offsets_of(lengths), []
    for epoch in range(config.epochs):
        stopper.on_epoch_begin(epoch)
        started, cpu = time.perf_counter(), time.process_time()
        for rows in poisson_batches(len(lengths), plan.sampling_rate, plan.steps_per_epoch, rng):
            step(pad_batch(ids, offsets, lengths, rows), {k: v[rows] for k, v in targets.items()},
                 {k: v[rows] for k, v in weights.items()})
        timings.append((time.perf_counter() - started, time.process_time() - cpu))
        stopper.on_epoch_end(epoch, {})
        if network.stop_training:
            break
    stopper.on_train_end()
    for entry, (seconds, cpu_seconds) in zip(stopper.history, timings):
        entry.update(loss=None, step_seconds=round(seconds, 3), step_cpu_seconds=round(cpu_seconds, 3))
    history = {"best_epoch": stopper.best_epoch, "best_val_mean": stopper.best, "epochs": stopper.history}
    return select_heads(network, [s.name for s in kept]), history
