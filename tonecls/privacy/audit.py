"""The membership-inference audit of a trained model: score members and non-members, run the
attacks, measure them overall, by class and on misclassified posts.

Reference models for LiRA are trained by tonecls' own training code with the audited model's
recipe (its config, restricted to the audited head, canaries left out) on a population of
posts that is neither member nor audited non-member: ``population`` when given, else a seeded
half of ``non_members`` (the other half is audited).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tonecls.errors import InputError
from tonecls.model.data import LabelledSplit
from tonecls.model.tone_model import ToneModel, load_model
from tonecls.privacy.attacks import ATTACKS, lira_offline_scores, loss_scores, trained_scores
from tonecls.privacy.features import ExampleFeatures, example_features
from tonecls.privacy.metrics import attack_metrics
from tonecls.privacy.result import SUBSET_COLUMNS, AttackResult, MembershipInferenceResult
from tonecls.stats import check_seed

DEFAULT_ATTACKS = ("loss", "lira", "trained")
DEFAULT_DELTA = 1e-5  # delta of the epsilon lower bound of a model trained without DP
MIN_AUDITED = 10  # scored members and scored non-members an audit needs at the least


def without_members(members: LabelledSplit, non_members: LabelledSplit) -> tuple[LabelledSplit, int]:
    """``non_members`` without the posts that are members too (the same text: the model was
    trained on it, so it is no non-member, and keeping it would make an attack look weaker
    than it is), and how many were left out."""
    member_texts = set(map(str, members.texts))
    kept = np.array([str(text) not in member_texts for text in non_members.texts], dtype=bool)
    return _rows(non_members, np.flatnonzero(kept)), int((~kept).sum())


def _check_scored(n_members: int, n_non_members: int, shared: int) -> None:
    if min(n_members, n_non_members) < MIN_AUDITED:
        also = (f" ({shared} non-member post(s) were left out because they are members too: are the two "
                "sets the same?)") if shared else ""
        raise InputError(f"{n_members} member and {n_non_members} non-member post(s) could be scored{also}; a "
                         f"membership audit needs at least {MIN_AUDITED} of each (a few hundred give useful "
                         "intervals).")


def scored_features(model: ToneModel, head: str, split: LabelledSplit) -> tuple[ExampleFeatures, np.ndarray]:
    """Features of the calibrated probabilities of ``head`` on the posts of ``split`` that
    the model can score (every language), and those posts' row numbers in ``split``."""
    proba = model.predict_proba(list(split.texts), all_languages=True)[head]
    ok = np.flatnonzero(~np.isnan(proba).any(axis=1))
    spec = model.head(head)
    features = example_features(proba[ok], np.asarray(split.targets)[ok], spec.multilabel,
                                model.thresholds_.get(head))
    return features, ok


def _rows(split: LabelledSplit, rows: np.ndarray) -> LabelledSplit:
    return LabelledSplit([split.texts[i] for i in rows], np.asarray(split.targets)[rows], split.files)


def reference_config(model: ToneModel, head: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The audited model's training config for one reference model: only ``head`` (fed from
    memory), no canaries, no distillation; ``overrides`` replace top-level options."""
    config = dict(model.metadata_.get("config") or {})
    if not config:
        raise InputError("the model has no recorded training config; pass reference_overrides with a full "
                         "network configuration, or audit without the 'lira' attack.")
    spec = model.head(head)
    original = next((h for h in config.get("heads", []) if h["name"] == head), {})
    config["heads"] = [{"name": head, "source": {"kind": "memory"}, "classes": list(spec.classes),
                        "multilabel": spec.multilabel, "oversample": original.get("oversample", 1)}]
    config["preprocess"] = dict(model.preprocess_config_)
    for key in ("canaries", "distill"):
        config.pop(key, None)
    config.update(overrides or {})
    return config


def reference_confidences(model: ToneModel, head: str, audited: Sequence[LabelledSplit],
                          population: LabelledSplit, n_models: int, train_size: int, *,
                          overrides: dict[str, Any] | None = None, seed: int = 0,
                          data_dir: str | Path | None = None) -> list[np.ndarray]:
    """Per audited split, ``(n_models, n_posts)``: the logit-scaled confidence of every post's
    true label under reference models trained on random subsets of ``population``
    (``train_size`` posts, a fifth of the rest for validation)."""
    from tonecls.model.train import train

    config = reference_config(model, head, overrides)
    n_val = max(1, len(population) // 5)
    n_train = min(train_size, len(population) - n_val)
    if n_train < 10:
        raise InputError(f"the reference population has {len(population)} posts; LiRA needs at least 60.")
    values: list[list[np.ndarray]] = [[] for _ in audited]
    for k in range(n_models):
        order = np.random.default_rng([seed, k]).permutation(len(population))
        data = {head: {"train": _rows(population, order[:n_train]),
                       "val": _rows(population, order[n_train:n_train + n_val])}}
        reference = train({**config, "seed": int(config.get("seed", 0)) + 1000 * (k + 1)}, data=data,
                          data_dir=data_dir, quiet=True)
        for i, split in enumerate(audited):
            values[i].append(scored_features(reference, head, split)[0].confidence)
    return [np.vstack(v) for v in values]


def _subset_rows(attack: AttackResult, features: ExampleFeatures, classes: Sequence[str],
                 multilabel_targets: np.ndarray | None, n_resamples: int, delta: float, seed: int):
    """The attack's metrics within each true class and within misclassified / correct posts."""
    by_class, misclassified = [], []
    for c, name in enumerate(classes):
        rows = (multilabel_targets[:, c] > 0.5) if multilabel_targets is not None else features.label == c
        by_class.append({"attack": attack.attack, "class": name, **_metrics_of(attack, rows, n_resamples, delta, seed)})
    for subset, rows in (("misclassified", ~features.correct), ("correctly classified", features.correct)):
        misclassified.append({"attack": attack.attack, "subset": subset,
                              **_metrics_of(attack, rows, n_resamples, delta, seed)})
    return by_class, misclassified


def _metrics_of(attack: AttackResult, rows: np.ndarray, n_resamples: int, delta: float, seed: int) -> dict:
    members = attack.is_member[rows]
    if members.all() or not members.any():
        return {"n_members": int(members.sum()), "n_non_members": int((~members).sum())}
    metrics = attack_metrics(attack.scores[rows], members, delta=delta, n_resamples=n_resamples, seed=seed)
    return {key: metrics[key] for key in SUBSET_COLUMNS}


def audit_membership(
    model: ToneModel | str | Path,
    members: LabelledSplit,
    non_members: LabelledSplit,
    head: str,
    *,
    attacks: Sequence[str] = DEFAULT_ATTACKS,
    population: LabelledSplit | None = None,
    reference_models: int = 4,
    reference_train_size: int | None = None,
    reference_overrides: dict[str, Any] | None = None,
    n_resamples: int = 1000,
    delta: float | None = None,
    seed: int = 0,
    data_dir: str | Path | None = None,
) -> MembershipInferenceResult:
    """Membership inference against ``model`` (or the bundle at that path) on ``head``.

    ``members`` are posts the model was trained on, ``non_members`` posts of the same
    distribution it never saw (both with their labels). ``attacks``: some of ``loss``,
    ``lira`` (trains ``reference_models`` models on ``population``, default: half of
    ``non_members``, with ``reference_train_size`` posts each, default ``len(members)``) and
    ``trained``. ``delta`` of the epsilon lower bound: the model's DP delta, else 1e-5.
    """
    check_seed(seed)
    model = model if isinstance(model, ToneModel) else load_model(model)
    unknown = sorted(set(attacks) - set(ATTACKS))
    if unknown or not attacks:
        raise InputError(f"unknown attack(s) {unknown}; choose among {sorted(ATTACKS)}.")
    spec = model.head(head)
    non_members, shared = without_members(members, non_members)
    if "lira" in attacks and population is None:
        order = np.random.default_rng(seed).permutation(len(non_members))
        half = len(order) // 2
        population, non_members = _rows(non_members, np.sort(order[:half])), _rows(non_members, np.sort(order[half:]))
    privacy = model.metadata_.get("privacy") or {}
    delta = float(delta if delta is not None else privacy.get("delta", DEFAULT_DELTA))
    member_features, member_rows = scored_features(model, head, members)
    non_features, non_rows = scored_features(model, head, non_members)
    _check_scored(len(member_rows), len(non_rows), shared)
    features = ExampleFeatures.concatenate([member_features, non_features])
    is_member = np.r_[np.ones(len(member_features), bool), np.zeros(len(non_features), bool)]
    scores = {}
    if "loss" in attacks:
        scores["loss"] = loss_scores(features)
    if "lira" in attacks:
        audited = [_rows(members, member_rows), _rows(non_members, non_rows)]
        reference = reference_confidences(model, head, audited, population, reference_models,
                                          reference_train_size or len(members), overrides=reference_overrides,
                                          seed=seed, data_dir=data_dir)
        scores["lira"] = lira_offline_scores(features.confidence, np.hstack(reference))
    if "trained" in attacks:
        scores["trained"] = trained_scores(features, is_member, seed=seed)
    targets = (np.vstack([np.asarray(members.targets)[member_rows], np.asarray(non_members.targets)[non_rows]])
               if spec.multilabel else None)
    return _result(head, spec.classes, scores, features, is_member, targets, n_resamples, delta, seed, {
        "n_members": int(is_member.sum()), "n_non_members": int((~is_member).sum()),
        "unscored_posts": len(members) + len(non_members) - len(is_member),
        "non_members_left_out_as_members": shared,
        "reference_models": reference_models if "lira" in attacks else 0,
        "population": len(population) if "lira" in attacks else 0,
        "delta": delta, "n_resamples": n_resamples, "seed": seed})


def _result(head, classes, scores, features, is_member, targets, n_resamples, delta, seed, setup):
    import pandas as pd

    results, by_class, misclassified = [], [], []
    for name, values in scores.items():
        metrics = attack_metrics(values, is_member, delta=delta, n_resamples=n_resamples, seed=seed)
        attack = AttackResult(name, ATTACKS[name], values, is_member, metrics)
        results.append(attack)
        rows = _subset_rows(attack, features, classes, targets, n_resamples, delta, seed)
        by_class += rows[0]
        misclassified += rows[1]
    return MembershipInferenceResult(head, results, pd.DataFrame(by_class), pd.DataFrame(misclassified), setup)


def record_membership(model: ToneModel, result: MembershipInferenceResult) -> None:
    """Keep ``result`` in the model's metadata (``bundle.json["privacy"]["membership_audit"]``
    and the model card's privacy section once the model is saved)."""
    model.metadata_.setdefault("privacy", {})["membership_audit"] = result.to_dict()


def audit_bundle(bundle: str | Path | None, members: LabelledSplit, non_members: LabelledSplit, head: str,
                 **options: Any) -> tuple[ToneModel, MembershipInferenceResult]:
    """Load the bundle (None: the default one), :func:`audit_membership` it (``options`` as
    there) and :func:`record_membership` the result: ``model.save(path)`` then writes it into
    ``bundle.json`` and the model card."""
    model = load_model(bundle)
    result = audit_membership(model, members, non_members, head, **options)
    record_membership(model, result)
    return model, result
