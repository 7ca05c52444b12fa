"""Labelled data of a head: load a split of its source as texts + targets, with provenance.

Targets are class ids (``int64``, shape ``(n,)``) for single-label heads and a multi-hot
matrix (``float32``, shape ``(n, n_classes)``) for multi-label heads.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tonecls.errors import InputError
from tonecls.io.files import sha256_file
from tonecls.model.config import DataSource, HeadConfig, HeadSpec, TrainConfig

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


@dataclass
class LabelledSplit:
    """Texts and targets of one split of one head, and the files they were read from."""

    texts: list[Any]
    targets: np.ndarray
    files: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.targets = np.asarray(self.targets)
        if len(self.texts) != len(self.targets):
            raise InputError(f"{len(self.texts)} texts but {len(self.targets)} labels; they must match.")

    def __len__(self) -> int:
        return len(self.texts)

    def repeat(self, times: int) -> LabelledSplit:
        return LabelledSplit(list(self.texts) * times, np.concatenate([self.targets] * times), self.files)


def _file_record(path: Path, rows: int) -> dict[str, Any]:
    return {"file": str(path), "rows": rows, "sha256": sha256_file(path)}


def resolve_head_spec(head: HeadConfig, data_dir: str | Path | None = None) -> HeadSpec:
    """The :class:`HeadSpec` of a configured head (classes read from the benchmark when not given)."""
    from tonecls import datasets

    source = head.source
    if source.kind == "tweeteval":
        classes = head.classes or datasets.tweeteval_classes(source.task, data_dir)
        multilabel = False if head.multilabel is None else head.multilabel
    elif source.kind == "goemotions":
        classes = head.classes or datasets.goemotions_classes(source.taxonomy, data_dir)
        multilabel = True if head.multilabel is None else head.multilabel
    elif source.kind == "memory":
        if not head.classes:
            raise InputError(f"head {head.name!r} has an in-memory source; list its 'classes'.")
        classes, multilabel = head.classes, bool(head.multilabel)
    else:
        multilabel = bool(head.multilabel) if head.multilabel is not None else bool(source.label_columns)
        classes = head.classes or list(source.label_columns or [])
        if not classes:
            train = _read_export_frame(source.path, source)
            labels = _export_label_lists(train, source, multilabel)
            classes = sorted({name for row in labels for name in row})
    if source.kind in ("tweeteval", "goemotions") and head.multilabel is not None:
        expected = source.kind == "goemotions"
        if head.multilabel != expected:
            raise InputError(f"head {head.name!r}: {source.describe()} is "
                             f"{'multi' if expected else 'single'}-label; remove 'multilabel' from the config.")
    return HeadSpec(head.name, list(classes), multilabel)


def load_split(head: HeadConfig, spec: HeadSpec, split: str, data_dir: str | Path | None = None,
               seed: int = 0) -> LabelledSplit | None:
    """One split (``train``, ``val`` or ``test``) of a head's source; None if it has no such split."""
    from tonecls import datasets

    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; use one of {SPLITS}.")
    source = head.source
    if source.kind == "tweeteval":
        frame = datasets.load_tweeteval(source.task, split, data_dir)
        targets = _class_ids(frame["label"], spec)
        folder = datasets.resolve_data_dir(data_dir, "tweeteval") / "tweeteval" / source.task
        files = [_file_record(folder / f"{split}_{part}.txt", len(frame)) for part in ("text", "labels")]
        return LabelledSplit(frame["text"].tolist(), targets, files)
    if source.kind == "goemotions":
        frame = datasets.load_goemotions(source.taxonomy, split, data_dir)
        targets = datasets.to_multi_hot(frame["labels"], spec.classes)
        folder = datasets.resolve_data_dir(data_dir, "goemotions") / "goemotions" / source.taxonomy
        name = "dev" if split == "val" else split
        return LabelledSplit(frame["text"].tolist(), targets, [_file_record(folder / f"{name}.tsv", len(frame))])
    if source.kind == "memory":
        if split == "test":
            return None
        raise InputError(f"head {head.name!r} has an in-memory source; pass its data to "
                         "train(config, data={head: {'train': ..., 'val': ...}}).")
    return _load_export_split(source, spec, split, seed)


def _load_export_split(source: DataSource, spec: HeadSpec, split: str, seed: int) -> LabelledSplit | None:
    if split == "test":
        if not source.test_path:
            return None
        return load_export_split(source.test_path, source, spec)
    if source.validation_path:
        return load_export_split(source.path if split == "train" else source.validation_path, source, spec)
    whole = load_export_split(source.path, source, spec)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(whole))
    n_val = max(1, int(round(source.validation_fraction * len(whole))))
    rows = np.sort(order[:n_val] if split == "val" else order[n_val:])
    return LabelledSplit([whole.texts[i] for i in rows], whole.targets[rows], whole.files)


def load_export_split(path: str, source: DataSource, spec: HeadSpec) -> LabelledSplit:
    """The labelled posts of the export ``path`` (columns as ``source`` names them) for ``spec``."""
    frame = _read_export_frame(path, source)
    if spec.multilabel:
        if source.label_columns:
            targets = frame[source.label_columns].to_numpy(dtype=np.float32)
        else:
            from tonecls.datasets import to_multi_hot

            targets = to_multi_hot(_export_label_lists(frame, source, True), spec.classes,
                                   positions=frame.attrs.get("positions"), where=str(path))
    else:
        targets = _class_ids(frame[source.label_column], spec, where=str(path))
    return LabelledSplit(frame[source.text_column].tolist(), targets, [_file_record(Path(path), len(frame))])


def _read_export_frame(path: str, source: DataSource) -> pd.DataFrame:
    import pandas as pd

    from tonecls.io import read_export

    if not Path(path).is_file():
        raise InputError(f"labelled export {path} does not exist; check the 'path' of the head's source.")
    labels = [source.label_column] if source.label_column else list(source.label_columns)
    frame = pd.concat(list(read_export(path, text_col=source.text_column, columns=labels, on_bad_lines="error")),
                      ignore_index=True)
    needed = [source.text_column, *labels]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(f"{path} has no column(s) {missing}; its columns are {list(frame.columns)}. "
                         "Set text_column / label_column(s) of the head's source.")
    if source.label_columns:
        for column in source.label_columns:
            values = pd.to_numeric(frame[column], errors="coerce")
            if not values.dropna().isin([0, 1]).all() or values.isna().any() != frame[column].isna().any():
                raise InputError(f"{path}: label column {column!r} must hold 0/1 values.")
            frame[column] = values
    # text formats are read as text: a blank or whitespace-only label cell is a missing label,
    # never a class named ''
    blank = frame[needed[1:]].apply(lambda col: col.isna() | col.astype("string").str.strip().eq(""))
    unlabelled = blank.any(axis=1)
    if unlabelled.all():
        raise InputError(f"{path}: no row has a label in {needed[1:]}.")
    if unlabelled.any():
        logger.info("%s: %d of %d rows have no label and are not used for training",
                    path, int(unlabelled.sum()), len(frame))
    kept = frame.loc[~unlabelled].reset_index(drop=True)
    kept.attrs["positions"] = np.flatnonzero(~unlabelled.to_numpy(bool))  # each row's data row in the file
    return kept


def _export_label_lists(frame: pd.DataFrame, source: DataSource, multilabel: bool) -> list[list[str]]:
    if source.label_columns:
        matrix = frame[source.label_columns].to_numpy(dtype=np.float32) > 0.5
        return [[c for c, on in zip(source.label_columns, row) if on] for row in matrix]
    values = frame[source.label_column].astype(str)
    if multilabel:
        return [[name.strip() for name in value.split(source.label_separator) if name.strip()] for value in values]
    return [[value] for value in values]


def _class_ids(labels: pd.Series, spec: HeadSpec, where: str = "") -> np.ndarray:
    index = {name: i for i, name in enumerate(spec.classes)}
    values = labels.astype(str).tolist()
    unknown = sorted({v for v in values if v not in index})
    if unknown:
        raise InputError(f"{where or spec.name}: labels {unknown[:5]} are not classes of head "
                         f"{spec.name!r} ({spec.classes}); fix the labels or the head's 'classes'.")
    return np.fromiter((index[v] for v in values), dtype=np.int64, count=len(values))


# --- the training data of a config ------------------------------------------------------------


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
                       data_dir: str | Path | None = None, token_cache: str | Path | None = None) -> TrainingData:
    """Load every head's train / val split (from ``data`` or its source) and tokenise it
    (cached in ``token_cache`` between runs when given)."""
    from tonecls.model.token_cache import tokenize_cached
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
            tokenised[spec.name][split] = tokenize_cached(preprocessor, part.texts, token_cache)
            files += [{"head": spec.name, "split": split, **record} for record in part.files]
            logger.info("loaded %s/%s: %d posts", spec.name, split, len(part))
    sources = {head.name: ("in-memory data passed to train(data=...)" if head.name in data
                           else head.source.describe()) for head in config.heads}
    return TrainingData(specs, kept, raw, tokenised, files, sources)


def data_digest(files: Sequence[Mapping[str, Any]]) -> str:
    """One SHA-256 over the SHA-256 of every file a model was trained from (in a fixed order),
    so that two bundles trained on the same data have the same ``data_sha256``."""
    digest = hashlib.sha256()
    for item in sorted({f["sha256"] for f in files}):
        digest.update(item.encode("ascii"))
    return digest.hexdigest()
