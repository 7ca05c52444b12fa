"""Knowledge distillation: the teacher bundle's soft targets for the student's training posts,
unlabelled posts and token-dropout variants of the training posts."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tonecls.errors import InputError
from tonecls.model.batches import EncodedSplit
from tonecls.model.config import DataSource, HeadConfig, TrainConfig, UnlabelledSource
from tonecls.model.data import TrainingData, load_split, resolve_head_spec
from tonecls.model.token_cache import tokenize_cached
from tonecls.model.vocab import Vocabulary

__all__ = ["DistillationTargets", "distillation_targets"]

logger = logging.getLogger(__name__)


def teacher_files_sha256(bundle: Path) -> dict[str, str]:
    """The SHA-256 of every file of the teacher bundle, as its seal records them."""
    from tonecls.model.bundle import SEAL_FILE

    lines = (bundle / SEAL_FILE).read_text(encoding="utf-8").splitlines()
    return {name: digest for digest, _, name in (line.partition("  ") for line in lines)}


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


def distillation_targets(config: TrainConfig, loaded: TrainingData, vocabulary: Vocabulary,
                         data_dir=None, token_cache=None) -> DistillationTargets:
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
        tokens, statuses = tokenize_cached(preprocessor, texts, token_cache)
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
        "teacher": {"path": distill.teacher, "files_sha256": teacher_files_sha256(teacher_path),
                    "command": meta.get("command"), "name": meta.get("name"), "version": meta.get("version"),
                    "metrics": meta.get("metrics", {})},
        "unlabelled": sources,
        "distinct_posts": len(distinct_posts),
    }
    return DistillationTargets(proba, train_rows, extra, extra_rows, provenance)


