"""Long posts: how to score posts longer than the model's max_length (64 tokens), method by method.

Builds long posts from the labelled data, for one split at a time (choose on ``val``; the test
split is scored once, for the chosen method and today's truncation):

- TweetEval sentiment: each polar (negative / positive) post with neutral text *before* it
  (>= 96 tokens of other posts labelled neutral), *after* it, and *around* it
  (>= 48 tokens each side); and neutral-only posts (>= 128 tokens of neutral posts, label
  neutral) so that a method which always finds polarity is not rewarded. Metric: accuracy per
  construction and macro-recall over the three classes (the official metric).
- TweetEval emotion: each post with >= 96 neutral-sentiment tokens before / after / around it.
  Metric: macro-F1 (official).
- GoEmotions ekman: "threads" of 4-8 posts sharing the same Ekman label set joined into one
  post (GoEmotions comments are short; this stands in for naturally long Reddit posts whose
  tone is spread over the whole text). Metric: macro-F1 over labels (official).

Methods (``ToneModel.long_posts``): ``truncate`` (the first 64 tokens), ``full`` (the
network over every token), ``windows`` (overlapping windows of 64 tokens, stride 32, mean of
logits), and ``windows_mean_proba`` (same windows, mean of calibrated probabilities; computed
here from the per-window logits). Posts of <= 64 tokens are scored identically by all
methods (checked on the original posts).

    nice -n 10 .venv/bin/python -m benchmarks.bench_long_posts --split val --posts 400
    nice -n 10 .venv/bin/python -m benchmarks.bench_long_posts --split test --posts 400 --methods truncate full
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from benchmarks import harness
from benchmarks.workloads import tweeteval_texts

METHODS = ("truncate", "full", "windows", "windows_mean_proba")


def _join(parts: list[str]) -> str:
    return " ".join(p.strip() for p in parts)


def _filler(pool: list[str], lengths: np.ndarray, rng: np.random.Generator, min_tokens: int) -> str:
    """Random posts from ``pool`` joined until they hold at least ``min_tokens`` tokens."""
    picked, total = [], 0
    while total < min_tokens:
        i = int(rng.integers(len(pool)))
        picked.append(pool[i])
        total += int(lengths[i])
    return _join(picked)


def build_sets(model: Any, split: str, n: int, seed: int = 0) -> dict[str, dict]:
    """name -> {"head", "texts", "targets", "kind"} of long posts built from ``split``."""
    from tonecls.datasets import load_goemotions, load_tweeteval

    rng = np.random.default_rng(seed)
    sentiment = load_tweeteval("sentiment", split)
    classes = model.head("sentiment").classes
    label_of = {c: i for i, c in enumerate(classes)}
    labels = sentiment["label"].map(lambda v: v if isinstance(v, str) else classes[int(v)])
    neutral_pool = sentiment["text"][labels == "neutral"].tolist()
    neutral_lengths = np.array([len(t) for t in model.tokenize_with_status(neutral_pool)[0]])
    half = len(neutral_pool) // 2  # filler for sentiment posts and for emotion posts apart
    polar = sentiment[labels != "neutral"].sample(min(n, int((labels != "neutral").sum())), random_state=seed)
    polar_targets = np.array([label_of[v if isinstance(v, str) else classes[int(v)]] for v in polar["label"]])
    sets: dict[str, dict] = {}

    def wrap(texts: list[str], position: str, pool: list[str], pool_lengths: np.ndarray, tokens: int) -> list[str]:
        out = []
        for text in texts:
            if position == "before":
                out.append(_join([_filler(pool, pool_lengths, rng, tokens), text]))
            elif position == "after":
                out.append(_join([text, _filler(pool, pool_lengths, rng, tokens)]))
            else:
                out.append(_join([_filler(pool, pool_lengths, rng, tokens // 2), text,
                                  _filler(pool, pool_lengths, rng, tokens // 2)]))
        return out

    for position in ("before", "after", "around"):
        sets[f"sentiment: polar post, neutral text {position}"] = {
            "head": "sentiment", "kind": "accuracy", "group": "sentiment",
            "texts": wrap(polar["text"].tolist(), position, neutral_pool[:half], neutral_lengths[:half], 96),
            "targets": polar_targets}
    sets["sentiment: neutral posts only"] = {
        "head": "sentiment", "kind": "accuracy", "group": "sentiment",
        "texts": [_filler(neutral_pool[:half], neutral_lengths[:half], rng, 128) for _ in range(n // 3)],
        "targets": np.full(n // 3, label_of["neutral"])}

    emotion = load_tweeteval("emotion", split)
    e_classes = model.head("emotion").classes
    e_targets = np.array([e_classes.index(v) if isinstance(v, str) else int(v) for v in emotion["label"]])
    for position in ("before", "after", "around"):
        sets[f"emotion: post, neutral text {position}"] = {
            "head": "emotion", "kind": "macro_f1", "group": f"emotion {position}",
            "texts": wrap(emotion["text"].tolist(), position, neutral_pool[half:], neutral_lengths[half:], 96),
            "targets": e_targets}

    ekman = load_goemotions("ekman", split)
    k_classes = model.head("ekman").classes
    label_column = "labels" if "labels" in ekman.columns else "label"
    keys = ekman[label_column].map(lambda v: ";".join(sorted(v)) if isinstance(v, (list, tuple, np.ndarray))
                                   else str(v))
    threads, targets = [], []
    by_key = {key: group["text"].tolist() for key, group in ekman.groupby(keys) if len(group) >= 8}
    names = sorted(by_key)
    while len(threads) < n:
        key = names[int(rng.integers(len(names)))]
        posts = by_key[key]
        picked = rng.choice(len(posts), int(rng.integers(4, 9)), replace=False)
        threads.append(_join([posts[i] for i in picked]))
        target = np.zeros(len(k_classes), dtype=np.int64)
        for label in key.split(";"):
            target[k_classes.index(label)] = 1
        targets.append(target)
    sets["ekman: threads of 4-8 posts with one label set"] = {
        "head": "ekman", "kind": "macro_f1", "group": "ekman", "texts": threads, "targets": np.array(targets)}
    return sets


def method_proba(model: Any, method: str, texts: list[str]) -> dict[str, np.ndarray]:
    """Calibrated probabilities per head of ``texts`` under ``method``."""
    if method != "windows_mean_proba":
        variant = copy.copy(model)
        variant.long_posts, variant._infer = method, None
        return variant.predict_proba(texts)
    from tonecls.model.tone_model import split_windows

    tokens, _ = model.tokenize_with_status(texts)
    windows, owners = split_windows(tokens, model.max_length)
    variant = copy.copy(model)
    variant.long_posts = "truncate"
    logits = variant.logits_from_tokens(windows)
    counts = np.bincount(owners, minlength=len(texts))[:, None]
    out = {}
    for spec in model.heads_:
        proba = model.head_proba(spec.name, logits[spec.name])
        total = np.zeros((len(texts), proba.shape[1]))
        np.add.at(total, owners, proba)
        out[spec.name] = total / counts
    return out


def evaluate_set(model: Any, data: dict, proba: np.ndarray) -> float:
    from tonecls.model.evaluate import macro_f1

    spec = model.head(data["head"])
    if spec.multilabel:
        predicted = (proba >= model.thresholds_[spec.name]).astype(int)
        return macro_f1(data["targets"], predicted)
    predicted = proba.argmax(axis=1)
    if data["kind"] == "accuracy":
        return float((predicted == data["targets"]).mean())
    return macro_f1(data["targets"], predicted, len(spec.classes))


def score_sets(model: Any, sets: dict[str, dict], methods: list[str]) -> tuple[dict, dict]:
    """Per set and method the metric, and per method the summary (with its CPU seconds)."""
    from tonecls.model.evaluate import macro_recall

    rows: dict[str, dict[str, float]] = {name: {} for name in sets}
    summary = {}
    for method in methods:
        sentiment: tuple[list, list] = ([], [])

        def run() -> None:
            for name, data in sets.items():
                proba = method_proba(model, method, data["texts"])[data["head"]]
                rows[name][method] = evaluate_set(model, data, proba)
                if data["head"] == "sentiment":
                    sentiment[0].append(data["targets"])
                    sentiment[1].append(proba.argmax(axis=1))

        _, sample = harness.timed(run)
        recall = macro_recall(np.concatenate(sentiment[0]), np.concatenate(sentiment[1]), 3)
        emotion = np.mean([rows[n][method] for n in sets if sets[n]["head"] == "emotion"])
        ekman = np.mean([rows[n][method] for n in sets if sets[n]["head"] == "ekman"])
        summary[method] = {"sentiment macro-recall": recall, "emotion macro-F1 (mean of 3)": emotion,
                           "ekman macro-F1": ekman, "mean": float(np.mean([recall, emotion, ekman])),
                           "cpu_s": sample.cpu_s}
    return rows, summary


def results_table(model: Any, sets: dict[str, dict], methods: list[str], split: str) -> harness.Table:
    rows, summary = score_sets(model, sets, methods)
    table = harness.Table([f"long posts ({split})", "mean tokens", *methods])
    for name, data in sets.items():
        metric = "accuracy" if data["kind"] == "accuracy" else "macro-F1"
        tokens = np.mean([len(t) for t in model.tokenize_with_status(data["texts"])[0]])
        table.add(f"{name} ({metric})", f"{tokens:.0f}", *(f"{100 * rows[name][m]:.1f}" for m in methods))
    for key in ("sentiment macro-recall", "emotion macro-F1 (mean of 3)", "ekman macro-F1", "mean"):
        table.add(f"**{key}**", "", *(f"**{100 * summary[m][key]:.1f}**" for m in methods))
    table.add("CPU s (all sets)", "", *(harness.number(summary[m]["cpu_s"], 1) for m in methods))
    return table


def short_posts_identical(model: Any, methods: list[str], split: str) -> bool:
    """Whether posts of <= max_length tokens get the same probabilities under every method."""
    originals = tweeteval_texts((split,), ("sentiment",))[:2000]
    originals = [t for t, tokens in zip(originals, model.tokenize_with_status(originals)[0])
                 if len(tokens) <= model.max_length]
    reference = method_proba(model, methods[0], originals)
    return all(np.array_equal(method_proba(model, m, originals)[h], reference[h], equal_nan=True)
               for m in methods[1:] for h in reference)


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--split", default="val", choices=["val", "test"])
    parser.add_argument("--posts", type=int, default=600, help="long posts per construction")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--model", default=None)
    args = parser.parse_args(argv)
    if args.smoke:
        args.posts = 12
    with harness.Report(args, "Long posts") as report:
        from tonecls.model import load_model

        model = load_model(args.model)
        sets = build_sets(model, args.split, args.posts)
        report.table(results_table(model, sets, args.methods, args.split),
                     f"{args.split} split, {args.posts} long posts per construction, model: "
                     f"{args.model or 'the default bundle'}; x100:")
        report.note(f"\nposts of <= {model.max_length} tokens (of the first 2,000 originals): "
                    + ("identical under every method" if short_posts_identical(model, args.methods, args.split)
                       else "NOT identical under every method"))


if __name__ == "__main__":
    main()
