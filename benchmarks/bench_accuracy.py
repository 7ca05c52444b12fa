"""Accuracy on the official test sets: test metrics beside published figures, calibration, vocabulary, speed.

For each model (the bundled one by default, or several side by side, or one trained from a
config first): the official test metrics with their 95% bootstrap intervals beside the published
figures (TweetEval: Barbieri et al. 2020, Table 3; GoEmotions: Demszky et al. 2020) and the
Twitter-RoBERTa predictions shipped with the data; the effect of the post-processing fitted on
validation data (temperatures, thresholds) on the test sets and the per-class test recall; the
share of each TweetEval sentiment split's tokens outside the model's vocabulary (vocabulary
shift); and ``ToneModel.predict`` throughput end to end (tokenising included) on the TweetEval
sentiment test posts, models alternating. Needs the benchmark data (``../shared/data``, or
``TONECLS_DATA_DIR`` names another directory).

    nice -n 10 .venv/bin/python -m benchmarks.bench_accuracy                       # the bundled model
    .venv/bin/python -m benchmarks.bench_accuracy --model tonecls/resources/default_model --model models/ensemble_of_3
    .venv/bin/python -m benchmarks.bench_accuracy --config configs/default_model.json --output /tmp/model  # train first
"""

from __future__ import annotations

import shlex
import sys
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import harness
from benchmarks.workloads import tweeteval_texts


def post_processing_effects(model: Any) -> pd.DataFrame:
    """Per head: test NLL and ECE (single-label) or macro-F1 (multi-label) before and after the
    validation-fitted temperature / thresholds, and the per-class test recall of single-label heads."""
    from sklearn.metrics import recall_score

    from tonecls.model.calibration import expected_calibration_error, negative_log_likelihood
    from tonecls.model.data import load_split
    from tonecls.model.evaluate import decide, head_configs_of, macro_f1

    rows = []
    configs = head_configs_of(model)
    for spec in model.heads_:
        data = load_split(configs[spec.name], spec, "test")
        tokens, statuses = model.tokenize_with_status(data.texts)
        ok = np.array([s == "ok" for s in statuses])
        logits = model.logits_from_tokens([t for t, keep in zip(tokens, ok) if keep])[spec.name]
        targets, temperature = data.targets[ok], model.temperatures_[spec.name]
        row = {"head": spec.name, "temperature": temperature,
               "test NLL (T=1)": negative_log_likelihood(logits, targets, spec.multilabel),
               "test NLL (fitted T)": negative_log_likelihood(logits, targets, spec.multilabel, temperature)}
        if spec.multilabel:
            proba = model.head_proba(spec.name, logits)
            row["macro-F1 @0.5"] = macro_f1(targets, decide(spec, proba))
            row["macro-F1 @tuned thresholds"] = macro_f1(targets, decide(spec, proba, model.thresholds_[spec.name]))
        else:
            row["ECE (T=1)"] = expected_calibration_error(
                model.head_proba(spec.name, logits * temperature), targets, multilabel=False)
            row["ECE (fitted T)"] = expected_calibration_error(
                model.head_proba(spec.name, logits), targets, multilabel=False)
            recalls = recall_score(targets, logits.argmax(axis=1), labels=range(len(spec.classes)), average=None)
            row["test recall per class"] = ", ".join(f"{c} {r:.2f}" for c, r in zip(spec.classes, recalls))
        rows.append(row)
    return pd.DataFrame(rows)


def vocabulary_coverage(model: Any, task: str, top: int) -> harness.Table:
    """Per split of a TweetEval task: tokens outside the model's vocabulary (they all map to
    the unknown token) and the most frequent of them."""
    known = model.vocabulary_.index_
    columns = [f"{task} split", "posts", "tokens", "outside the vocabulary", "most frequent unknown tokens"]
    table = harness.Table(columns, [columns[0], columns[-1]])
    for split in ("train", "val", "test"):
        texts = tweeteval_texts((split,), (task,))
        counts = Counter(token for tokens in model.tokenize_with_status(texts)[0] for token in tokens)
        unknown = Counter({t: c for t, c in counts.items() if t not in known})
        total = sum(counts.values()) or 1
        table.add(split, f"{len(texts):,}", f"{total:,}", f"{100 * sum(unknown.values()) / total:.1f}%",
                  ", ".join(t for t, _ in unknown.most_common(top)))
    return table


def throughput(models: dict[str, Any], repeats: int) -> tuple[harness.Table, int]:
    """``predict`` of the TweetEval sentiment test posts, models alternating, best of ``repeats``,
    with the network's share of one model's time."""
    texts = tweeteval_texts(("test",), ("sentiment",))
    for model in models.values():
        model.predict(texts[:2000])  # warm-up: language models, network tables
    timings = harness.alternate({label: (lambda m=m: m.predict(texts)) for label, m in models.items()},
                                repeats, keep_results=False)
    extra = {}
    for label, model in models.items():
        tokens, _ = model.tokenize_with_status(texts)
        _, network = harness.timed(lambda: model.logits_from_tokens(tokens))
        extra[label] = {"network's share of the CPU": f"{100 * network.cpu_s / timings[label].best_cpu_s:.0f}%"}
    return harness.rate_table(timings, len(texts), extra=extra), len(texts)


def load_models(args: Any) -> dict[str, Any]:
    """label -> model: trained from ``--config`` (saved to ``--output``) or loaded (``--model``)."""
    from tonecls.model import load_model, train

    if args.config:
        command = "python -m benchmarks.bench_accuracy " + shlex.join(sys.argv[1:])
        model = train(args.config, token_cache=args.token_cache, command=command)
        if args.output:
            model.save(args.output)
        return {f"tonecls ({args.config})": model}
    return {f"tonecls ({path or 'bundled model'})": load_model(path) for path in (args.model or [None])}


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--config", help="train from this config first (e.g. configs/default_model.json)")
    parser.add_argument("--output", default=None, help="where to save the trained bundle (with --config)")
    parser.add_argument("--model", action="append", default=None,
                        help="evaluate this bundle (default: the bundled model); repeat to compare")
    parser.add_argument("--token-cache", default=None, help="tokenised-data cache for training")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples of the intervals")
    parser.add_argument("--repeats", type=int, default=3, help="predict runs per model (the best counts)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.config, args.resamples, args.repeats = None, 50, 1
    with harness.Report(args, "Accuracy on the official test sets") as report:
        from tonecls.model import comparison_table, evaluate

        models = load_models(args)
        for label, model in models.items():
            results = evaluate(model, "test", n_resamples=args.resamples)
            table = comparison_table(results, system=label)
            report.table(harness.Table.from_frame(table, digits=1),
                         f"### {label}: test sets, official metrics (x100), 95% interval over "
                         f"{args.resamples} bootstrap resamples, ECE x100")
            report.table(harness.Table.from_frame(post_processing_effects(model)),
                         "Post-processing fitted on validation data, effect on the test sets:")
            validation = model.metadata_.get("metrics", {}).get("validation", {})
            report.note("\nvalidation: " + ", ".join(f"{h} {m['metric']} {m['value']:.4f}" for h, m in validation.items()))
            if model.metadata_.get("training_seconds"):
                report.note(f"training time: {model.metadata_['training_seconds'] / 60:.1f} min (recorded in the bundle)")
            report.table(vocabulary_coverage(model, "sentiment", 5 if args.smoke else 12),
                         "Tokens outside the model's vocabulary, per split:")
        table, posts = throughput(models, args.repeats)
        report.table(table, f"`predict` end to end (tokenising and the language check included), {posts:,} "
                            f"TweetEval sentiment test posts, best of {args.repeats} alternating runs:")


if __name__ == "__main__":
    main()
