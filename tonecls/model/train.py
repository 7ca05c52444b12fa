"""Multi-task training of the tone model from a :class:`TrainConfig`.

One shared encoder is trained on every head's dataset at once: the heads' training posts are
pooled and shuffled into mixed batches; a post labelled for one head has sample weight 0 in the
other heads' losses (so it contributes nothing to them). Batches are built from posts of
similar length (length bucketing) to keep padding small. Early stopping monitors the mean of
the kept heads' official validation metrics and restores the best weights. Afterwards
temperatures and multi-label thresholds are fitted on validation data.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import json
import logging
import pickle
import sys
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tonecls.errors import InputError
from tonecls.model.calibration import expected_calibration_error, fit_temperature, tune_thresholds
from tonecls.model.config import DataSource, HeadConfig, HeadSpec, TrainConfig, UnlabelledSource
from tonecls.model.data import LabelledSplit, load_split, resolve_head_spec
from tonecls.model.evaluate import decide, official_metric_name, score
from tonecls.model.tone_model import ToneModel
from tonecls.preprocess import PreprocessConfig
from tonecls.model.vocab import Vocabulary, offsets_of, pad_batch

SORT_WINDOW = 50  # batches whose posts are sorted together by length (bucketing window)

logger = logging.getLogger(__name__)
_KERAS_NOISE = ("The structure of `inputs` doesn't match",)


@contextlib.contextmanager
def progress_logging(quiet: bool) -> Iterator[None]:
    """Show tonecls' INFO messages on stderr while training, unless ``quiet`` or the
    application has configured logging (a handler on ``tonecls`` or the root logger)."""
    package = logging.getLogger("tonecls")
    if quiet or package.handlers or logging.getLogger().handlers:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    level = package.level
    package.addHandler(handler)
    package.setLevel(logging.INFO)
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(level)


@dataclass
class EncodedSplit:
    """A split as flat token ids + lengths, with its targets (only posts that could be scored)."""

    ids: np.ndarray
    lengths: np.ndarray
    targets: np.ndarray
    n_unscorable: int

    def __len__(self) -> int:
        return len(self.lengths)


# --- tokenising, with an optional on-disk cache ----------------------------------------------


def _tokenize(preprocessor, texts: Sequence[Any], cache_dir: Path | None) -> tuple[list, list]:
    if cache_dir is None:
        return preprocessor.tokenize_with_status(texts)
    from tonecls import preprocess

    digest = hashlib.sha256()
    digest.update(json.dumps([preprocessor.config.to_dict(), preprocess.TOKENIZER_VERSION], sort_keys=True,
                             default=str).encode())
    for text in texts:
        digest.update(repr(text).encode("utf-8", "surrogatepass") + b"\x00")
    path = Path(cache_dir) / f"tokens-{digest.hexdigest()[:24]}.pkl"
    if path.is_file():
        with open(path, "rb") as handle:
            return pickle.load(handle)
    result = preprocessor.tokenize_with_status(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as handle:
        pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)
    return result


# --- batches ---------------------------------------------------------------------------------


def _class_weights(targets: np.ndarray) -> np.ndarray:
    """Per-row weights n / (k * n_class) of a single-label head (scikit-learn's "balanced";
    k counts the classes present in ``targets``)."""
    from sklearn.utils.class_weight import compute_sample_weight

    return compute_sample_weight("balanced", targets)


def _training_arrays(config: TrainConfig, specs: list[HeadSpec], train: dict[str, EncodedSplit],
                     distilled: DistillationTargets | None = None):
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


# --- distillation ------------------------------------------------------------------------------


@dataclass
class DistillationTargets:
    """The teacher's soft targets: ``proba[head]`` has one row per distinct post (token list);
    ``train_rows[head]`` maps each head's encoded training posts, ``extra_rows`` the posts of
    ``extra`` (unlabelled and augmented, with no gold label), to those rows."""

    proba: dict[str, np.ndarray]
    train_rows: dict[str, np.ndarray]
    extra: EncodedSplit
    extra_rows: np.ndarray
    provenance: dict[str, Any]

    def source_files(self) -> list[dict[str, Any]]:
        """Records of the files the teacher and the unlabelled posts came from."""
        teacher = [{"file": f"{self.provenance['teacher']['path']}/{name}", "sha256": digest}
                   for name, digest in self.provenance["teacher"]["files_sha256"].items()]
        return teacher + [f for source in self.provenance["unlabelled"] for f in source.get("files", [])]


def data_digest(files: Sequence[Mapping[str, Any]]) -> str:
    """One SHA-256 over the SHA-256 of every file a model was trained from (in a fixed order),
    so that two bundles trained on the same data have the same ``data_sha256``."""
    digest = hashlib.sha256()
    for item in sorted({f["sha256"] for f in files}):
        digest.update(item.encode("ascii"))
    return digest.hexdigest()


def _unlabelled_texts(source: UnlabelledSource, data_dir) -> tuple[list[Any], list[dict[str, Any]]]:
    """Texts of an unlabelled source and the records of the files they came from."""
    if source.kind == "export":
        from tonecls.io import read_export
        from tonecls.io.files import sha256_file

        if not Path(source.path).is_file():
            raise InputError(f"unlabelled export {source.path} does not exist; check distill.unlabelled.")
        texts = [text for chunk in read_export(source.path, text_col=source.text_column)
                 for text in chunk[source.text_column].tolist()]
        return texts, [{"file": str(source.path), "rows": len(texts), "sha256": sha256_file(source.path)}]
    head = HeadConfig("unlabelled", DataSource(kind=source.kind, task=source.task, taxonomy=source.taxonomy))
    spec = resolve_head_spec(head, data_dir)
    texts, files = [], []
    for split in source.splits:
        part = load_split(head, spec, split, data_dir)
        texts += list(part.texts)
        files += [{"split": split, **record} for record in part.files if "text" in record["file"]
                  or source.kind == "goemotions"]
    return texts, files


def _token_dropout(token_lists: Sequence[Sequence[str]], copies: int, rate: float, seed: int) -> list[list[str]]:
    """``copies`` variants of each post with every token dropped with probability ``rate``
    (at least one token kept)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(copies):
        for tokens in token_lists:
            keep = rng.random(len(tokens)) >= rate
            if not keep.any():
                keep[rng.integers(len(tokens))] = True
            out.append([t for t, k in zip(tokens, keep) if k])
    return out


def _bundle_checksums(path: Path) -> dict[str, str]:
    from tonecls.io.files import sha256_file

    return {item.name: sha256_file(item) for item in sorted(path.iterdir()) if item.is_file()}


def distillation_targets(config: TrainConfig, loaded: TrainingData, vocabulary: Vocabulary,
                         train_sets: Mapping[str, EncodedSplit], data_dir=None, cache_dir=None) -> DistillationTargets:
    """The teacher's soft targets (probabilities at ``distill.temperature``) of every training
    post, every unlabelled post and the augmented variants, for each kept head."""
    from scipy.special import expit, softmax

    from tonecls.model.tone_model import load_model
    from tonecls.preprocess import Preprocessor
    from tonecls.schema import Status

    distill = config.distill
    teacher_path = Path(distill.teacher)
    if not (teacher_path / "bundle.json").is_file():
        raise InputError(f"distill.teacher {distill.teacher} is not a model bundle (no bundle.json); "
                         "train the teacher first (BENCHMARKS.md, \"Distilled single network\", gives the command).")
    teacher = load_model(teacher_path)
    for spec in loaded.kept:
        try:
            classes = teacher.head(spec.name).classes
        except KeyError:
            raise InputError(f"the teacher {distill.teacher} has no head {spec.name!r}; it has "
                             f"{[h.name for h in teacher.heads_]}.") from None
        if list(classes) != list(spec.classes) or teacher.head(spec.name).multilabel != spec.multilabel:
            raise InputError(f"the teacher's head {spec.name!r} has classes {classes}, the student's "
                             f"{spec.classes}; distillation needs the same classes in the same order.")
    # every distinct post, as the student sees it (cut to max_length)
    index: dict[tuple[str, ...], int] = {}

    def rows_of(token_lists) -> np.ndarray:
        return np.fromiter((index.setdefault(tuple(t[:config.max_length]), len(index)) for t in token_lists),
                           dtype=np.int64, count=len(token_lists))

    train_rows, train_tokens = {}, []
    for spec in loaded.specs:
        tokens, statuses = loaded.tokenised[spec.name]["train"]
        ok_tokens = [t for t, s in zip(tokens, statuses) if s == Status.OK]
        train_rows[spec.name] = rows_of(ok_tokens)
        train_tokens += ok_tokens
    preprocessor = Preprocessor(config.preprocess)
    extra_tokens, sources = [], []
    for source in distill.unlabelled:
        texts, files = _unlabelled_texts(source, data_dir)
        tokens, statuses = _tokenize(preprocessor, texts, Path(cache_dir) if cache_dir else None)
        ok_tokens = [t for t, s in zip(tokens, statuses) if s == Status.OK]
        extra_tokens += ok_tokens
        sources.append({"source": source.describe(), "posts": len(ok_tokens), "files": files})
        logger.info("distillation: %s: %d posts", source.describe(), len(ok_tokens))
    if distill.augment_copies:
        distinct = list({tuple(t): None for t in train_tokens})
        augmented = _token_dropout(distinct, distill.augment_copies, distill.augment_token_dropout, config.seed)
        extra_tokens += augmented
        sources.append({"source": f"{distill.augment_copies} token-dropout variant(s) "
                                  f"(p={distill.augment_token_dropout}) of every distinct training post",
                        "posts": len(augmented)})
    extra_rows = rows_of(extra_tokens)
    ids, lengths = vocabulary.encode(extra_tokens, config.max_length)
    extra = EncodedSplit(ids, lengths, np.zeros(len(lengths), dtype=np.int32), 0)
    distinct_posts = [list(key) for key in index]
    logger.info("distillation: the teacher labels %d distinct posts", len(distinct_posts))
    logits = teacher.logits_from_tokens(distinct_posts)
    proba = {}
    for spec in loaded.kept:
        scaled = logits[spec.name].astype(np.float64) / distill.temperature
        proba[spec.name] = (expit(scaled) if spec.multilabel else softmax(scaled, axis=1)).astype(np.float32)
    meta = teacher.metadata_
    provenance = {
        "teacher": {"path": distill.teacher, "files_sha256": _bundle_checksums(teacher_path),
                    "command": meta.get("command"), "name": meta.get("name"), "version": meta.get("version"),
                    "metrics": meta.get("metrics", {})},
        "unlabelled": sources,
        "distinct_posts": len(distinct_posts),
    }
    return DistillationTargets(proba, train_rows, extra, extra_rows, provenance)


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


# --- validation metrics, early stopping --------------------------------------------------------


def _head_metrics(model: ToneModel, configs: Mapping[str, HeadConfig], val: Mapping[str, EncodedSplit],
                  tune: bool) -> dict[str, dict[str, Any]]:
    """Official metric of each head of ``model`` on its validation split (thresholds tuned if ``tune``)."""
    results = {}
    for spec in model.heads_:
        split = val[spec.name]
        logits = model.logits_from_ids(split.ids, split.lengths)[spec.name]
        proba = model.calibrated_proba(spec.name, logits)
        thresholds = tune_thresholds(proba, split.targets) if (spec.multilabel and tune) else \
            model.thresholds_.get(spec.name)
        metric = official_metric_name(configs[spec.name])
        value = score(metric, split.targets, decide(spec, proba, thresholds), len(spec.classes))
        results[spec.name] = {"metric": metric, "value": value, "n": len(split) + split.n_unscorable,
                              "n_unscorable": split.n_unscorable}
        if not tune:  # (the final figures: also the calibration error of the calibrated probabilities)
            results[spec.name]["ece"] = expected_calibration_error(proba, split.targets, spec.multilabel)
    return results


def _early_stopping(keras_module):
    class OfficialMetricsEarlyStopping(keras_module.callbacks.Callback):
        """Stops when the mean official validation metric of the kept heads stops improving;
        restores the best epoch's weights at the end. Logs one summary line per epoch."""

        def __init__(self, monitor_model: ToneModel, configs, val, patience: int, label: str):
            super().__init__()
            self.monitor_model, self.configs, self.val = monitor_model, configs, val
            self.patience, self.label = patience, label
            self.best, self.best_epoch, self.best_weights, self.wait = -np.inf, -1, None, 0
            self.history: list[dict[str, Any]] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            metrics = _head_metrics(self.monitor_model, self.configs, self.val, tune=True)
            mean = float(np.mean([m["value"] for m in metrics.values()]))
            improved = mean > self.best + 1e-6
            self.history.append({"epoch": epoch + 1, "loss": float((logs or {}).get("loss", np.nan)),
                                 "val_mean": mean, **{h: m["value"] for h, m in metrics.items()}})
            if improved:
                self.best, self.best_epoch, self.wait = mean, epoch + 1, 0
                self.best_weights = self.model.get_weights()
            else:
                self.wait += 1
                if self.wait >= self.patience:
                    self.model.stop_training = True
            heads = "  ".join(f"{h} {m['metric']} {m['value']:.4f}" for h, m in metrics.items())
            logger.info("%sepoch %d: loss %.4f  val %s  mean %.4f%s  (%.0f s)", self.label, epoch + 1,
                        self.history[-1]["loss"], heads, mean, "  *best*" if improved else "",
                        time.perf_counter() - self.started)

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return OfficialMetricsEarlyStopping


# --- the training entry point ------------------------------------------------------------------


def _as_config(config: TrainConfig | Mapping[str, Any] | str | Path) -> TrainConfig:
    if isinstance(config, TrainConfig):
        return config
    if isinstance(config, Mapping):
        return TrainConfig.from_dict(dict(config))
    if isinstance(config, (str, Path)):
        return TrainConfig.from_file(config)
    raise InputError(f"config must be a TrainConfig, a dict or a JSON file path, got {type(config).__name__}.")


def _encode(vocabulary: Vocabulary, tokens: list, statuses: list, targets: np.ndarray | None,
            max_length: int) -> EncodedSplit:
    from tonecls.schema import Status

    ok = np.fromiter((s == Status.OK for s in statuses), dtype=bool, count=len(statuses))
    ids, lengths = vocabulary.encode([tokens[i] for i in np.flatnonzero(ok)], max_length)
    targets = np.zeros(int(ok.sum()), dtype=np.int32) if targets is None else np.asarray(targets)[ok]
    return EncodedSplit(ids, lengths, targets, int((~ok).sum()))


def ensemble_network(networks: Sequence[Any], head_names: Sequence[str]):
    """One Keras model averaging the logits of ``networks`` per head (the network itself if one)."""
    import keras

    if len(networks) == 1:
        return networks[0]
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    member_outputs = [network(token_ids) for network in networks]
    outputs = {name: keras.layers.Average(name=name)([out[name] for out in member_outputs]) for name in head_names}
    return keras.Model(token_ids, outputs, name="tonecls_ensemble")


def soft_output_name(head: str) -> str:
    """Name of the training-only output trained towards the teacher's soft targets of ``head``."""
    return f"{head}__teacher"


def with_soft_outputs(network, heads: Sequence[str], specs: Sequence[HeadSpec], temperature: float):
    """``network`` (outputs ``heads``) plus, per head of ``specs``, an output ``logits /
    temperature`` (for the distillation loss; training only, the saved network has the plain
    heads)."""
    import keras

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
    import keras

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


@dataclass
class TrainingData:
    """What :func:`load_training_data` returns: heads, tokenised splits and their provenance."""

    specs: list[HeadSpec]
    kept: list[HeadSpec]
    raw: dict[str, dict[str, LabelledSplit]]
    tokenised: dict[str, dict[str, tuple[list, list]]]
    files: list[dict[str, Any]]
    sources: dict[str, str]


def load_training_data(config: TrainConfig, data: Mapping[str, Mapping[str, LabelledSplit]] | None = None,
                       data_dir: str | Path | None = None, cache_dir: str | Path | None = None) -> TrainingData:
    """Step 1: load every head's train / val split (from ``data`` or its source) and tokenise it."""
    from tonecls.preprocess import Preprocessor

    data = dict(data or {})
    unknown = sorted(set(data) - {head.name for head in config.heads})
    if unknown:
        raise InputError(f"data given for heads {unknown} that the config does not have.")
    specs = [resolve_head_spec(head, data_dir) for head in config.heads]
    kept = [spec for head, spec in zip(config.heads, specs) if not head.auxiliary]
    preprocessor = Preprocessor(config.preprocess)
    raw: dict[str, dict[str, LabelledSplit]] = {}
    tokenised: dict[str, dict[str, tuple[list, list]]] = {}
    files = []
    for head, spec in zip(config.heads, specs):
        raw[spec.name], tokenised[spec.name] = {}, {}
        for split in ("train", "val"):
            part = data[head.name].get(split) if head.name in data else \
                load_split(head, spec, split, data_dir, seed=config.seed)
            if part is None or len(part) == 0:
                raise InputError(f"head {head.name!r} has no {split} data; give its source a {split} split.")
            raw[spec.name][split] = part
            tokenised[spec.name][split] = _tokenize(preprocessor, part.texts, Path(cache_dir) if cache_dir else None)
            files += [{"head": spec.name, "split": split, **record} for record in part.files]
            logger.info("loaded %s/%s: %d posts", spec.name, split, len(part))
    sources = {head.name: ("in-memory data passed to train(data=...)" if head.name in data
                           else head.source.describe()) for head in config.heads}
    return TrainingData(specs, kept, raw, tokenised, files, sources)


def build_vocabulary(config: TrainConfig, token_lists: Iterable[Sequence[str]]):
    """Step 2: the vocabulary of the training tokens and its initial embedding matrix
    (pretrained vectors where there are some) -> (vocabulary, matrix or None, coverage or None)."""
    keep_words = None
    if config.pretrained_embeddings and config.min_count > 1:
        from tonecls.model.embeddings import pretrained_vocabulary

        keep_words = pretrained_vocabulary(config.pretrained_embeddings)
    if config.differential_privacy and config.differential_privacy.vocabulary != "training":
        from tonecls.privacy.dp import public_vocabulary

        vocabulary = public_vocabulary(config)  # no training post decides which words the model knows
    else:
        vocabulary = Vocabulary.fit(token_lists, max_size=config.vocab_size, min_count=config.min_count,
                                    keep=keep_words)
    if config.pretrained_extra_words:
        from tonecls.model.embeddings import frequent_pretrained_words

        vocabulary = vocabulary.extended(frequent_pretrained_words(config.pretrained_embeddings,
                                                                   config.pretrained_extra_words,
                                                                   exclude=vocabulary.tokens_))
    embedding_init, coverage = None, None
    if config.pretrained_embeddings:
        from tonecls.model.embeddings import embedding_matrix

        embedding_init, coverage = embedding_matrix(vocabulary.tokens_, config.pretrained_embeddings,
                                                    config.embedding_dim, seed=config.seed)
    logger.info("vocabulary: %d tokens%s", len(vocabulary),
                f" ({coverage:.0%} with pretrained vectors)" if coverage is not None else "")
    return vocabulary, embedding_init, coverage


def fit_member(config: TrainConfig, specs: list[HeadSpec], kept: list[HeadSpec], vocabulary: Vocabulary,
               embedding_init: np.ndarray | None, arrays: tuple, val_sets: Mapping[str, EncodedSplit],
               member: int, quiet: bool = False, soft_specs: Sequence[HeadSpec] = ()):
    """Step 3: build, compile and fit one network (seed ``config.seed + member``) with early
    stopping on the kept heads' validation metrics -> (network of the kept heads, history)."""
    import keras

    from tonecls.model.network import build_network, select_heads

    seed = config.seed + member
    keras.utils.set_random_seed(seed)
    network = build_network(specs, len(vocabulary), config, embedding_init, name=f"tonecls_bilstm_{member}")
    trained = (with_soft_outputs(network, [s.name for s in specs], soft_specs, config.distill.temperature)
               if soft_specs else network)
    compile_network(trained, specs, config, soft_specs)
    monitor = ToneModel(select_heads(network, [s.name for s in kept]), vocabulary, kept,
                        max_length=config.max_length)
    label = f"[model {member + 1}/{config.ensemble_size}] " if config.ensemble_size > 1 else ""
    stopper = _early_stopping(keras)(monitor, {h.name: h for h in config.heads}, val_sets, config.patience,
                                     label)
    ids, lengths, targets, weights = arrays
    batches = LengthBucketedBatches(ids, lengths, targets, weights, config.batch_size, seed)
    trained.fit(batches.dataset(), epochs=config.epochs, callbacks=[stopper], shuffle=False,
                verbose=1 if (not quiet and sys.stdout.isatty()) else 0)
    history = {"best_epoch": stopper.best_epoch, "best_val_mean": stopper.best, "epochs": stopper.history}
    return select_heads(network, [s.name for s in kept]), history


def calibrate(model: ToneModel, config: TrainConfig, val_sets: Mapping[str, EncodedSplit]) -> None:
    """Step 4: fit each kept head's temperature and multi-label thresholds on validation data."""
    for spec in model.heads_:
        split = val_sets[spec.name]
        logits = model.logits_from_ids(split.ids, split.lengths)[spec.name]
        if config.calibrate:
            model.temperatures_[spec.name] = fit_temperature(logits, split.targets, spec.multilabel)
        if spec.multilabel and config.tune_thresholds:
            model.thresholds_[spec.name] = tune_thresholds(model.calibrated_proba(spec.name, logits), split.targets)


def train(
    config: TrainConfig | Mapping[str, Any] | str | Path,
    *,
    data: Mapping[str, Mapping[str, LabelledSplit]] | None = None,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    quiet: bool = False,
    command: str | None = None,
) -> ToneModel:
    """Train a :class:`ToneModel` as described by ``config``: :func:`load_training_data`,
    :func:`build_vocabulary`, (with ``config.distill``: :func:`distillation_targets`),
    :func:`fit_member` ``ensemble_size`` times, :func:`calibrate`, and assemble the model.

    Parameters
    ----------
    config : TrainConfig, dict or path of a JSON config
    data : mapping head name -> {"train": LabelledSplit, "val": LabelledSplit}, optional
        In-memory data that replaces the configured source of these heads (the head's config
        must then list its ``classes``); used by :class:`~tonecls.model.ToneClassifier`.
    data_dir : path, optional
        Where the benchmark datasets are (see :func:`tonecls.datasets.resolve_data_dir`).
    cache_dir : path, optional
        Directory caching tokenised datasets between runs (keyed by texts and preprocessing).
    quiet : bool
        No progress output (progress goes to the ``tonecls`` logger, shown on stderr unless
        the application configured logging itself).
    command : str, optional
        The command line that started the run, recorded in the bundle's provenance.
    """
    from tonecls.model.keras_env import import_keras

    config = _as_config(config)
    started = time.perf_counter()
    import_keras()
    with progress_logging(quiet), warnings.catch_warnings():
        for message in _KERAS_NOISE:  # Keras' own, not the user's to act on
            warnings.filterwarnings("ignore", message=message)
        loaded = load_training_data(config, data, data_dir, cache_dir)
        canaries = _insert_canaries(config, loaded)
        specs, kept = loaded.specs, loaded.kept
        vocabulary, embedding_init, coverage = build_vocabulary(
            config, (t for name in loaded.tokenised for t in loaded.tokenised[name]["train"][0]))
        encoded = {name: {split: _encode(vocabulary, *loaded.tokenised[name][split],
                                         loaded.raw[name][split].targets, config.max_length)
                          for split in ("train", "val")} for name in loaded.tokenised}
        train_sets = {name: encoded[name]["train"] for name in encoded}
        val_sets = {spec.name: encoded[spec.name]["val"] for spec in kept}
        distilled = None
        if config.distill:
            distilled = distillation_targets(config, loaded, vocabulary, train_sets, data_dir, cache_dir)
        arrays = _training_arrays(config, specs, train_sets, distilled)
        logger.info("%d training posts an epoch", len(arrays[1]))
        networks, histories = [], []
        fit = _member_fitter(config)
        for member in range(config.ensemble_size):
            network, history = fit(config, specs, kept, vocabulary, embedding_init, arrays, val_sets,
                                   member, quiet, soft_specs=kept if distilled else ())
            networks.append(network)
            histories.append(history)
        model = ToneModel(ensemble_network(networks, [s.name for s in kept]), vocabulary, kept,
                          preprocess_config=PreprocessConfig.from_dict(config.preprocess).to_dict(),
                          max_length=config.max_length)
        calibrate(model, config, val_sets)
        model.metadata_ = {
            "name": config.name,
            "version": config.version,
            "trained_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "data_sha256": data_digest(loaded.files + (distilled.source_files() if distilled else [])),
            "config": config.to_dict(),
            "command": command or "tonecls.model.train(config)",
            "sources": loaded.sources,
            "provenance": {"files": loaded.files, "pretrained_coverage": coverage,
                           **({"distillation": distilled.provenance} if distilled else {})},
            "metrics": {"validation": _head_metrics(model, {h.name: h for h in config.heads}, val_sets,
                                                    tune=False)},
            "training": histories,
            "training_seconds": round(time.perf_counter() - started, 1),
            **_privacy_metadata(config, model, canaries, len(arrays[1])),
        }
    return model


# --- privacy options (tonecls.privacy): canaries and DP-SGD -------------------------------------


def _insert_canaries(config: TrainConfig, loaded: TrainingData):
    """With ``config.canaries``: insert the canary posts into ``loaded`` (returns them); else None."""
    if config.canaries is None:
        return None
    from tonecls.privacy.canaries import insert_canaries

    return insert_canaries(config, loaded)


def _member_fitter(config: TrainConfig):
    """:func:`fit_member`, or its DP-SGD twin when ``config.differential_privacy`` is set."""
    if config.differential_privacy is None:
        return fit_member
    from tonecls.privacy.dp import fit_member_dp

    return functools.partial(fit_member_dp, early_stopping=_early_stopping)


def _privacy_metadata(config: TrainConfig, model: ToneModel, canaries, n_rows: int) -> dict[str, Any]:
    """``{"privacy": ...}``: the DP-SGD plan and what it leaves out, the canaries' exposure;
    nothing for a run with neither."""
    privacy: dict[str, Any] = {}
    if config.differential_privacy is not None:
        from tonecls.privacy.dp import outside_budget, plan_for

        privacy.update(plan_for(config, n_rows).to_dict(), outside_budget=outside_budget(config),
                       per_example_gradients=config.differential_privacy.per_example_gradients,
                       vocabulary=config.differential_privacy.vocabulary)
    if canaries is not None:
        from tonecls.privacy.canaries import exposures

        privacy["canaries"] = exposures(model, canaries)
    return {"privacy": privacy} if privacy else {}


@dataclass
class TrainSummary:
    """What :func:`train_bundle` did: the bundle written and its validation / test figures."""

    path: Path
    model: ToneModel

    def __str__(self) -> str:
        meta = self.model.metadata_
        lines = [f"wrote {self.path} ({meta['training_seconds'] / 60:.1f} min of training)"]
        for split in ("validation", "test"):
            for head, m in meta["metrics"].get(split, {}).items():
                interval = " 95% CI [{:.4f}, {:.4f}]".format(*m["ci95"]) if m.get("ci95") else ""
                lines.append(f"  {split:<10} {head:<12} {m['metric']:<13} {m['value']:.4f}{interval}"
                             f"  (n={m['n']})")
        return "\n".join(lines)


def train_bundle(config: TrainConfig | Mapping[str, Any] | str | Path, output: str | Path, *,
                 data_dir: str | Path | None = None, test: bool = True, **options: Any) -> TrainSummary:
    """:func:`train` a model, score it on the test splits (unless ``test=False``) and save the
    bundle to ``output``. ``options`` go to :func:`train` (``cache_dir``, ``quiet``, ``command``)."""
    from tonecls.model.evaluate import record_test_metrics

    model = train(config, data_dir=data_dir, **options)
    if test:
        record_test_metrics(model, data_dir=data_dir)
    return TrainSummary(model.save(output), model)
