"""Multi-task training of the tone model from a :class:`TrainConfig`.

One shared encoder is trained on every head's dataset at once: the heads' training posts are
pooled and shuffled into mixed batches; a post labelled for one head has sample weight 0 in the
other heads' losses (so it contributes nothing to them). Batches are built from posts of
similar length (length bucketing) to keep padding small. Early stopping monitors the mean of
the kept heads' official validation metrics and restores the best weights. Afterwards
temperatures and multi-label thresholds are fitted on validation data.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tonecls.errors import InputError
from tonecls.model.calibration import fit_temperature, tune_thresholds
from tonecls.model.config import HeadConfig, HeadSpec, TrainConfig
from tonecls.model.data import LabelledSplit, load_split, resolve_head_spec
from tonecls.model.evaluate import decide, official_metric_name, score
from tonecls.model.tone_model import ToneModel
from tonecls.model.vocab import Vocabulary, offsets_of, pad_batch

SORT_WINDOW = 50  # batches whose posts are sorted together by length (bucketing window)


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


def _training_arrays(config: TrainConfig, specs: list[HeadSpec], train: dict[str, EncodedSplit]):
    """Pool every head's training posts: flat ids, lengths, and per-head targets / sample weights."""
    parts, lengths, owners = [], [], []
    for h, (head, spec) in enumerate(zip(config.heads, specs)):
        split = train[spec.name]
        for _ in range(int(head.oversample)):
            parts.append(split.ids)
            lengths.append(split.lengths)
            owners.append(np.full(len(split), h, dtype=np.int32))
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
    return ids, lengths, targets, weights


def _batches(keras_module):
    class LengthBucketedBatches(keras_module.utils.PyDataset):
        """Mixed-head batches of posts of similar length, reshuffled every epoch (seeded)."""

        def __init__(self, ids, lengths, targets, weights, batch_size, seed):
            super().__init__()
            self.ids, self.lengths, self.targets, self.weights = ids, lengths, targets, weights
            self.offsets = offsets_of(lengths)
            self.batch_size = batch_size
            self.rng = np.random.default_rng(seed)
            self.on_epoch_end()

        def on_epoch_end(self):
            order = self.rng.permutation(len(self.lengths))
            window = self.batch_size * SORT_WINDOW
            batches = []
            for start in range(0, len(order), window):
                chunk = order[start:start + window]
                chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
                batches += [chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
            self.batch_rows = [batches[i] for i in self.rng.permutation(len(batches))]

        def __len__(self):
            return len(self.batch_rows)

        def __getitem__(self, index):
            rows = self.batch_rows[index]
            x = pad_batch(self.ids, self.offsets, self.lengths, rows)
            return (x, {k: v[rows] for k, v in self.targets.items()},
                    {k: v[rows] for k, v in self.weights.items()})

    return LengthBucketedBatches


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
    return results


def _early_stopping(keras_module):
    class OfficialMetricsEarlyStopping(keras_module.callbacks.Callback):
        """Stops when the mean official validation metric of the kept heads stops improving;
        restores the best epoch's weights at the end. Prints one summary line per epoch."""

        def __init__(self, monitor_model: ToneModel, configs, val, patience: int, quiet: bool, label: str):
            super().__init__()
            self.monitor_model, self.configs, self.val = monitor_model, configs, val
            self.patience, self.quiet, self.label = patience, quiet, label
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
            if not self.quiet:
                heads = "  ".join(f"{h} {m['metric']} {m['value']:.4f}" for h, m in metrics.items())
                print(f"{self.label}epoch {epoch + 1}: loss {self.history[-1]['loss']:.4f}  val {heads}  "
                      f"mean {mean:.4f}{'  *best*' if improved else ''}  "
                      f"({time.perf_counter() - self.started:.0f} s)", file=sys.stderr, flush=True)

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


def _encode(vocabulary: Vocabulary, tokens: list, statuses: list, targets: np.ndarray,
            max_length: int) -> EncodedSplit:
    from tonecls.schema import Status

    ok = np.fromiter((s == Status.OK for s in statuses), dtype=bool, count=len(statuses))
    ids, lengths = vocabulary.encode([tokens[i] for i in np.flatnonzero(ok)], max_length)
    return EncodedSplit(ids, lengths, np.asarray(targets)[ok], int((~ok).sum()))


def ensemble_network(networks: Sequence[Any], head_names: Sequence[str]):
    """One Keras model averaging the logits of ``networks`` per head (the network itself if one)."""
    import keras

    if len(networks) == 1:
        return networks[0]
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    member_outputs = [network(token_ids) for network in networks]
    outputs = {name: keras.layers.Average(name=name)([out[name] for out in member_outputs]) for name in head_names}
    return keras.Model(token_ids, outputs, name="tonecls_ensemble")


def compile_network(network, specs: Sequence[HeadSpec], config: TrainConfig) -> None:
    """Compile for multi-task training: a cross-entropy on logits per head, weighted per row.

    Rows carry sample weight 0 in the heads they are not labelled for, so those heads' losses
    (and gradients) ignore them.
    """
    import keras

    losses = {spec.name: (keras.losses.BinaryCrossentropy(from_logits=True) if spec.multilabel
                          else keras.losses.SparseCategoricalCrossentropy(from_logits=True)) for spec in specs}
    network.compile(optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=5.0), loss=losses,
                    loss_weights={head.name: head.loss_weight for head in config.heads})


def train(
    config: TrainConfig | Mapping[str, Any] | str | Path,
    *,
    data: Mapping[str, Mapping[str, LabelledSplit]] | None = None,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    quiet: bool = False,
    command: str | None = None,
) -> ToneModel:
    """Train a :class:`ToneModel` as described by ``config``.

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
        No progress output.
    command : str, optional
        The command line that started the run, recorded in the bundle's provenance.
    """
    import keras

    from tonecls.model.network import build_network, select_heads
    from tonecls.preprocess import PreprocessConfig, Preprocessor

    config = _as_config(config)
    started = time.perf_counter()
    data = dict(data or {})
    unknown = sorted(set(data) - {head.name for head in config.heads})
    if unknown:
        raise InputError(f"data given for heads {unknown} that the config does not have.")
    specs = [resolve_head_spec(head, data_dir) for head in config.heads]
    kept = [spec for head, spec in zip(config.heads, specs) if not head.auxiliary]
    configs = {head.name: head for head in config.heads}

    # load and tokenise
    preprocess_config = PreprocessConfig.from_dict(config.preprocess)
    preprocessor = Preprocessor(preprocess_config)
    raw: dict[str, dict[str, LabelledSplit]] = {}
    tokenised: dict[str, dict[str, tuple[list, list]]] = {}
    files = []
    for head, spec in zip(config.heads, specs):
        raw[spec.name] = {}
        tokenised[spec.name] = {}
        for split in ("train", "val"):
            part = data[head.name].get(split) if head.name in data else \
                load_split(head, spec, split, data_dir, seed=config.seed)
            if part is None or len(part) == 0:
                raise InputError(f"head {head.name!r} has no {split} data; give its source a {split} split.")
            raw[spec.name][split] = part
            tokenised[spec.name][split] = _tokenize(preprocessor, part.texts, Path(cache_dir) if cache_dir else None)
            files += [{"head": spec.name, "split": split, **record} for record in part.files]
            if not quiet:
                print(f"loaded {spec.name}/{split}: {len(part)} posts", file=sys.stderr, flush=True)

    keep_words = None
    if config.pretrained_embeddings and config.min_count > 1:
        from tonecls.model.embeddings import pretrained_vocabulary

        keep_words = pretrained_vocabulary(config.pretrained_embeddings)
    vocabulary = Vocabulary.fit((t for name in tokenised for t in tokenised[name]["train"][0]),
                                max_size=config.vocab_size, min_count=config.min_count, keep=keep_words)
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
    encoded = {name: {split: _encode(vocabulary, *tokenised[name][split], raw[name][split].targets,
                                     config.max_length) for split in ("train", "val")} for name in tokenised}
    train_sets = {name: encoded[name]["train"] for name in encoded}
    val_sets = {spec.name: encoded[spec.name]["val"] for spec in kept}
    ids, lengths, targets, weights = _training_arrays(config, specs, train_sets)
    if not quiet:
        print(f"vocabulary: {len(vocabulary)} tokens"
              + (f" ({coverage:.0%} with pretrained vectors)" if coverage is not None else "")
              + f"; {len(lengths)} training posts a epoch", file=sys.stderr, flush=True)

    networks, histories = [], []
    for member in range(config.ensemble_size):
        seed = config.seed + member
        keras.utils.set_random_seed(seed)
        network = build_network(specs, len(vocabulary), config, embedding_init, name=f"tonecls_bilstm_{member}")
        compile_network(network, specs, config)
        monitor = ToneModel(select_heads(network, [s.name for s in kept]), vocabulary, kept,
                            max_length=config.max_length)
        label = f"[model {member + 1}/{config.ensemble_size}] " if config.ensemble_size > 1 else ""
        stopper = _early_stopping(keras)(monitor, configs, val_sets, config.patience, quiet, label)
        batches = _batches(keras)(ids, lengths, targets, weights, config.batch_size, seed)
        network.fit(batches, epochs=config.epochs, callbacks=[stopper], shuffle=False,
                    verbose=1 if (not quiet and sys.stdout.isatty()) else 0)
        networks.append(select_heads(network, [s.name for s in kept]))
        histories.append({"best_epoch": stopper.best_epoch, "best_val_mean": stopper.best,
                          "epochs": stopper.history})

    model = ToneModel(ensemble_network(networks, [s.name for s in kept]), vocabulary, kept,
                      preprocess_config=preprocess_config.to_dict(), max_length=config.max_length)
    for spec in kept:
        split = val_sets[spec.name]
        logits = model.logits_from_ids(split.ids, split.lengths)[spec.name]
        if config.calibrate:
            model.temperatures_[spec.name] = fit_temperature(logits, split.targets, spec.multilabel)
        if spec.multilabel and config.tune_thresholds:
            model.thresholds_[spec.name] = tune_thresholds(model.calibrated_proba(spec.name, logits), split.targets)
    model.metadata_ = {
        "config": config.to_dict(),
        "command": command or "tonecls.model.train(config)",
        "sources": {head.name: ("in-memory data passed to train(data=...)" if data and head.name in data
                                else head.source.describe()) for head in config.heads},
        "provenance": {"files": files, "pretrained_coverage": coverage},
        "metrics": {"validation": _head_metrics(model, configs, val_sets, tune=False)},
        "training": histories,
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    return model


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
