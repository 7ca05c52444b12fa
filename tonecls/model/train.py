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
import logging
import sys
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tonecls.errors import InputError
from tonecls.model.batches import EncodedSplit, LengthBucketedBatches, encode_split, training_arrays
from tonecls.model.calibration import expected_calibration_error, fit_temperature, tune_thresholds
from tonecls.model.config import HeadConfig, HeadSpec, TrainConfig
from tonecls.model.data import LabelledSplit, TrainingData, data_digest, load_training_data
from tonecls.model.evaluate import decide, metric_value, official_metric_name
from tonecls.model.tone_model import ToneModel
from tonecls.model.vocab import Vocabulary
from tonecls.preprocess import PreprocessConfig

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


# --- validation metrics, early stopping --------------------------------------------------------


def _head_metrics(model: ToneModel, configs: Mapping[str, HeadConfig], val: Mapping[str, EncodedSplit],
                  tune: bool) -> dict[str, dict[str, Any]]:
    """Official metric of each head of ``model`` on its validation split (thresholds tuned if ``tune``)."""
    results = {}
    for spec in model.heads_:
        split = val[spec.name]
        logits = model.logits_from_ids(split.ids, split.lengths)[spec.name]
        proba = model.head_proba(spec.name, logits)
        thresholds = tune_thresholds(proba, split.targets) if (spec.multilabel and tune) else \
            model.thresholds_.get(spec.name)
        metric = official_metric_name(configs[spec.name])
        value = metric_value(metric, split.targets, decide(spec, proba, thresholds), len(spec.classes))
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

    from tonecls.model.network import build_network, compile_network, select_heads, with_soft_outputs

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
            model.thresholds_[spec.name] = tune_thresholds(model.head_proba(spec.name, logits), split.targets)


def train(
    config: TrainConfig | Mapping[str, Any] | str | Path,
    *,
    data: Mapping[str, Mapping[str, LabelledSplit]] | None = None,
    data_dir: str | Path | None = None,
    token_cache: str | Path | None = None,
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
    token_cache : path, optional
        Directory caching tokenised datasets between runs (keyed by texts and preprocessing).
    quiet : bool
        No progress output (progress goes to the ``tonecls`` logger, shown on stderr unless
        the application configured logging itself).
    command : str, optional
        The command line that started the run, recorded in the bundle's provenance.
    """
    from tonecls.model.keras_env import import_keras

    config = _as_config(config)  # a bad config fails here, before TensorFlow is imported
    started = time.perf_counter()
    with progress_logging(quiet), warnings.catch_warnings():
        for message in _KERAS_NOISE:  # Keras' own, not the user's to act on
            warnings.filterwarnings("ignore", message=message)
        loaded = load_training_data(config, data, data_dir, token_cache)  # bad data fails before TensorFlow too
        import_keras()
        from tonecls.model.network import ensemble_network

        canaries = _insert_canaries(config, loaded)
        specs, kept = loaded.specs, loaded.kept
        vocabulary, embedding_init, coverage = build_vocabulary(
            config, (t for name in loaded.tokenised for t in loaded.tokenised[name]["train"][0]))
        encoded = {name: {split: encode_split(vocabulary, *loaded.tokenised[name][split],
                                         loaded.raw[name][split].targets, config.max_length)
                          for split in ("train", "val")} for name in loaded.tokenised}
        train_sets = {name: encoded[name]["train"] for name in encoded}
        val_sets = {spec.name: encoded[spec.name]["val"] for spec in kept}
        distilled = None
        if config.distill:
            from tonecls.model.distill import distillation_targets

            distilled = distillation_targets(config, loaded, vocabulary, data_dir, token_cache)
        arrays = training_arrays(config, specs, train_sets, distilled)
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
