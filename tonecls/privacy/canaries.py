"""Canaries (Carlini et al. 2019, "The Secret Sharer"): random posts inserted into the training
data to measure how much a trained model memorises rare sequences.

A canary is ``length`` words drawn uniformly from a fixed alphabet of made-up words, with a
uniformly random label (multi-label heads: each class present with probability 1/2). For each
``r`` of ``repeats``, ``per_repeat`` canaries are each inserted ``r`` times into the training
posts of one head. After training, a canary's exposure is ``log2(R) - log2(rank)``, ``rank``
being 1 + the number of ``R`` never-inserted references (drawn the same way) whose loss is
lower than the canary's: about ``log2(e) = 1.44`` bits on average for a canary the model did
not memorise, ``log2(R)`` for one it ranks first. Everything is seeded by ``config.seed``.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tonecls.model.config import HeadSpec, TrainConfig
from tonecls.model.data import LabelledSplit
from tonecls.privacy.features import example_features

logger = logging.getLogger(__name__)
_CONSONANTS, _VOWELS = "bdfgklmnprstvz", "aeiou"
ALPHABET_SIZE = 64


def canary_alphabet() -> list[str]:
    """The fixed alphabet: 64 made-up consonant-vowel words (``vazum``, ...), the same for
    every run."""
    words = ["".join(p) for p in itertools.product(_CONSONANTS, _VOWELS, _CONSONANTS, _VOWELS, _CONSONANTS)]
    order = np.random.default_rng(2019).permutation(len(words))[:ALPHABET_SIZE]
    return [words[i] for i in sorted(order)]


@dataclass
class CanarySet:
    """The inserted canaries (one entry each, with how often it was inserted) and the
    never-inserted references, with their labels, for head ``spec``."""

    spec: HeadSpec
    texts: list[str]
    targets: np.ndarray
    repeats: np.ndarray
    reference_texts: list[str]
    reference_targets: np.ndarray


def draw_posts(rng: np.random.Generator, count: int, length: int, spec: HeadSpec) -> tuple[list[str], np.ndarray]:
    """``count`` random posts of ``length`` alphabet words and random labels of ``spec``."""
    alphabet = np.asarray(canary_alphabet())
    texts = [" ".join(words) for words in alphabet[rng.integers(0, len(alphabet), (count, length))]]
    k = len(spec.classes)
    targets = (rng.random((count, k)) < 0.5).astype(np.float32) if spec.multilabel else rng.integers(0, k, count)
    return texts, targets


def make_canaries(config: TrainConfig, spec: HeadSpec) -> CanarySet:
    """The canaries and references of ``config.canaries`` for head ``spec`` (seeded)."""
    options = config.canaries
    repeats = np.repeat(np.asarray(options.repeats, dtype=np.int64), options.per_repeat)
    texts, targets = draw_posts(np.random.default_rng([config.seed, 2019, 1]), len(repeats), options.length, spec)
    ref_texts, ref_targets = draw_posts(np.random.default_rng([config.seed, 2019, 2]), options.references,
                                        options.length, spec)
    inserted = set(texts)
    keep = np.array([t not in inserted for t in ref_texts])  # never-inserted: drop a (very unlikely) clash
    return CanarySet(spec, texts, targets, repeats, [t for t, k in zip(ref_texts, keep) if k], ref_targets[keep])


def insert_canaries(config: TrainConfig, loaded: Any) -> CanarySet:
    """Add each canary ``repeat`` times to the training posts (raw and tokenised) of the head
    ``config.canaries.head`` (default: the first kept head) of ``loaded`` (train's
    ``TrainingData``) and return the canaries."""
    from tonecls.preprocess import Preprocessor

    name = config.canaries.head or loaded.kept[0].name
    spec = next((s for s in loaded.specs if s.name == name), None)
    if spec is None:
        from tonecls.errors import InputError

        raise InputError(f"canaries.head {name!r} is not a head of the config ({[s.name for s in loaded.specs]}).")
    canaries = make_canaries(config, spec)
    order = np.repeat(np.arange(len(canaries.texts)), canaries.repeats)
    texts = [canaries.texts[i] for i in order]
    train = loaded.raw[name]["train"]
    loaded.raw[name]["train"] = LabelledSplit(list(train.texts) + texts,
                                              np.concatenate([train.targets, canaries.targets[order]]), train.files)
    tokens, statuses = loaded.tokenised[name]["train"]
    new_tokens, new_statuses = Preprocessor(config.preprocess).tokenize_with_status(texts)
    loaded.tokenised[name]["train"] = (list(tokens) + list(new_tokens), list(statuses) + list(new_statuses))
    logger.info("canaries: %d posts (%d canaries) added to %s/train", len(texts), len(canaries.texts), name)
    return canaries


def canary_losses(model: Any, spec: HeadSpec, texts: list[str], targets: np.ndarray) -> np.ndarray:
    """The calibrated loss of each post of ``texts`` under ``model``'s head ``spec``."""
    tokens, _ = model.tokenize_with_status(texts)
    logits = model.logits_from_tokens(tokens)[spec.name]
    proba = model.head_proba(spec.name, logits)
    return example_features(proba, targets, spec.multilabel, model.thresholds_.get(spec.name)).loss


def exposures(model: Any, canaries: CanarySet) -> list[dict[str, Any]]:
    """Per repeat count: the mean exposure (bits) of its canaries under ``model`` and the
    largest possible, ``log2(references)`` (the ``bundle.json["privacy"]["canaries"]`` list)."""
    reference = np.sort(canary_losses(model, canaries.spec, canaries.reference_texts, canaries.reference_targets))
    losses = canary_losses(model, canaries.spec, canaries.texts, canaries.targets)
    ranks = 1 + np.searchsorted(reference, losses, side="left")
    bits = math.log2(len(reference)) - np.log2(ranks)
    return [{"repeat": int(r), "exposure_bits": float(bits[canaries.repeats == r].mean()),
             "max_bits": math.log2(len(reference)), "canaries": int((canaries.repeats == r).sum()),
             "references": len(reference), "head": canaries.spec.name,
             "exposure_bits_each": [round(float(b), 4) for b in bits[canaries.repeats == r]]}
            for r in sorted(set(canaries.repeats.tolist()))]
