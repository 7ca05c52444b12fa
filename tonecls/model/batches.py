"""Training batches: encoded splits, every head's posts pooled with per-head targets and sample
weights, and mixed-head batches of posts of similar length (length bucketing)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tonecls.model.config import HeadSpec, TrainConfig
from tonecls.model.vocab import Vocabulary, offsets_of, pad_batch
from tonecls.schema import Status

__all__ = ["EncodedSplit", "LengthBucketedBatches", "encode_split", "soft_output_name", "training_arrays"]

SORT_WINDOW = 50  # batches whose posts are sorted together by length (bucketing window)


def soft_output_name(head: str) -> str:
    """Name of the training-only output trained towards the teacher's soft targets of ``head``."""
    return f"{head}__teacher"


@dataclass
class EncodedSplit:
    """A split as flat token ids + lengths, with its targets (only posts that could be scored)."""

    ids: np.ndarray
    lengths: np.ndarray
    targets: np.ndarray
    n_unscorable: int

    def __len__(self) -> int:
        return len(self.lengths)


def encode_split(vocabulary: Vocabulary, tokens: list, statuses: list, targets: np.ndarray | None,
                 max_length: int) -> EncodedSplit:
    """The ``ok`` posts of a tokenised split as ids and lengths, with their targets."""
    ok = np.fromiter((s == Status.OK for s in statuses), dtype=bool, count=len(statuses))
    ids, lengths = vocabulary.encode([tokens[i] for i in np.flatnonzero(ok)], max_length)
    targets = np.zeros(int(ok.sum()), dtype=np.int32) if targets is None else np.asarray(targets)[ok]
    return EncodedSplit(ids, lengths, targets, int((~ok).sum()))


def _class_weights(targets: np.ndarray) -> np.ndarray:
    """Per-row weights n / (k * n_class) of a single-label head (scikit-learn's "balanced";
    k counts the classes present in ``targets``)."""
    from sklearn.utils.class_weight import compute_sample_weight

    return compute_sample_weight("balanced", targets)


def training_arrays(config: TrainConfig, specs: list[HeadSpec], train: dict[str, EncodedSplit],
                     distilled: Any = None) -> tuple:
    """Pool every head's training posts: flat ids, lengths, and per-head targets / sample weights.

    With ``distilled``, its unlabelled posts are appended (weight 0 in every gold loss) and
    every row gets the teacher's soft targets under :func:`soft_output_name` (weight 1).
    """
    parts, lengths, owners, soft_rows = [], [], [], []
    for h, (head, spec) in enumerate(zip(config.heads, specs)):
        split = train[spec.name]
        for _ in range(int(head.oversample)):
            parts.append(split.ids)
            lengths.append(split.lengths)
            owners.append(np.full(len(split), h, dtype=np.int32))
            if distilled:
                soft_rows.append(distilled.train_rows[spec.name])
    if distilled:
        parts.append(distilled.extra.ids)
        lengths.append(distilled.extra.lengths)
        owners.append(np.full(len(distilled.extra), -1, dtype=np.int32))
        soft_rows.append(distilled.extra_rows)
    ids, lengths, owners = np.concatenate(parts), np.concatenate(lengths), np.concatenate(owners)
    n = len(lengths)
    targets, weights = {}, {}
    for h, (head, spec) in enumerate(zip(config.heads, specs)):
        mine = owners == h
        split = train[spec.name]
        repeated = np.concatenate([split.targets] * int(head.oversample))
        if spec.multilabel:
            y = np.zeros((n, len(spec.classes)), dtype=np.float32)
            row_weight = np.ones(len(repeated))
        else:
            y = np.zeros(n, dtype=np.int32)
            row_weight = (_class_weights(repeated) if config.class_weight == "balanced"
                          else np.ones(len(repeated)))
        y[mine] = repeated
        w = np.zeros(n, dtype=np.float32)
        w[mine] = row_weight
        targets[spec.name], weights[spec.name] = y, w
    if distilled:
        rows = np.concatenate(soft_rows)
        for name, proba in distilled.proba.items():
            targets[soft_output_name(name)] = proba[rows]
            weights[soft_output_name(name)] = np.ones(n, dtype=np.float32)
    return ids, lengths, targets, weights


class LengthBucketedBatches:
    """Mixed-head batches of posts of similar length, reshuffled every epoch (seeded).

    Iterating gives one epoch of ``(token ids, targets, sample weights)`` batches; batches
    differ in width (their longest post) and the last ones in size.
    """

    def __init__(self, ids, lengths, targets, weights, batch_size: int, seed: int) -> None:
        self.ids, self.lengths, self.targets, self.weights = ids, lengths, targets, weights
        self.offsets = offsets_of(lengths)
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)

    def epoch(self) -> list[np.ndarray]:
        """The row indices of each batch of a new epoch."""
        order = self.rng.permutation(len(self.lengths))
        window = self.batch_size * SORT_WINDOW
        batches = []
        for start in range(0, len(order), window):
            chunk = order[start:start + window]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        return [batches[i] for i in self.rng.permutation(len(batches))]

    def __len__(self) -> int:
        """Batches per epoch (each window of ``batch_size * SORT_WINDOW`` rows is cut separately)."""
        n, window = len(self.lengths), self.batch_size * SORT_WINDOW
        full, rest = divmod(n, window)
        return full * SORT_WINDOW + -(-rest // self.batch_size)

    def __iter__(self):
        for rows in self.epoch():
            yield (pad_batch(self.ids, self.offsets, self.lengths, rows),
                   {k: v[rows] for k, v in self.targets.items()},
                   {k: v[rows] for k, v in self.weights.items()})

    def dataset(self):
        """A ``tf.data.Dataset`` of one epoch per iteration, with the batch and time dimensions
        declared variable: Keras would otherwise fix them from the first batches it peeks at
        and fail on the first batch of another width or size."""
        import tensorflow as tf

        def spec(array):
            return tf.TensorSpec((None, *array.shape[1:]), tf.as_dtype(array.dtype))

        signature = (tf.TensorSpec((None, None), tf.int32),
                     {k: spec(v) for k, v in self.targets.items()},
                     {k: spec(v) for k, v in self.weights.items()})
        dataset = tf.data.Dataset.from_generator(self.__iter__, output_signature=signature)
        return dataset.apply(tf.data.experimental.assert_cardinality(len(self))).prefetch(2)


