"""Accuracy benchmark of the tone model: train from a config, evaluate on the official test sets.

Reproduces the "Accuracy" section of BENCHMARKS.md::

    # train the default model from its config (about 10 min on a 2-core CPU), then evaluate
    python benchmarks/bench_accuracy.py --config configs/default_model.json --output /tmp/bench_model

    # only evaluate an existing bundle (default: the bundled model)
    python benchmarks/bench_accuracy.py --model tonecls/resources/default_model

    # several bundles side by side in one run (e.g. the distilled student and its teacher)
    python benchmarks/bench_accuracy.py --model tonecls/resources/default_model --model models/ensemble_of_3

Prints the official test metrics beside published figures, the training time and the
end-to-end ``ToneModel.predict`` throughput (tokenising included) on the TweetEval
sentiment test posts. Needs the benchmark data (``../shared/data`` or ``TONECLS_DATA_DIR``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time



def predict_throughput(model, texts: list[str], repeats: int = 3) -> tuple[float, float, float]:
    """``model.predict`` speed, best of ``repeats`` after a warm-up: posts per wall-clock second,
    posts per CPU-second of the process (all threads), and the network's share of the time."""
    model.predict(texts[:2000])
    wall = cpu = 0.0
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        model.predict(texts)
        wall = max(wall, len(texts) / (time.perf_counter() - started))
        cpu = max(cpu, len(texts) / (time.process_time() - started_cpu))
    tokens, _ = model.tokenize_with_status(texts)
    started = time.perf_counter()
    model.logits_from_tokens(tokens)
    network_share = (time.perf_counter() - started) * wall / len(texts)
    return wall, cpu, network_share


def post_processing_effects(model, data_dir=None):
    """Test-set effect of the validation-fitted temperatures and thresholds, per head (and the
    per-class test recall of single-label heads, where their errors concentrate)."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import recall_score

    from tonecls.model.calibration import expected_calibration_error, negative_log_likelihood
    from tonecls.model.data import load_split
    from tonecls.model.evaluate import decide, head_configs_of, macro_f1

    rows = []
    configs = head_configs_of(model)
    for spec in model.heads_:
        data = load_split(configs[spec.name], spec, "test", data_dir)
        tokens, statuses = model.tokenize_with_status(data.texts)
        ok = np.array([s == "ok" for s in statuses])
        logits = model.logits_from_tokens([t for t, keep in zip(tokens, ok) if keep])[spec.name]
        targets = data.targets[ok]
        temperature = model.temperatures_[spec.name]
        row = {"head": spec.name, "temperature": round(temperature, 3),
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
    return pd.DataFrame(rows).round(4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="train from this config first (e.g. configs/default_model.json)")
    parser.add_argument("--output", default=None, help="where to save the trained bundle (with --config)")
    parser.add_argument("--model", action="append", default=None,
                        help="evaluate this bundle (default: the bundled model); repeat to compare")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--cache-dir", default=None, help="tokenised-data cache for training")
    args = parser.parse_args(argv)

    from tonecls.datasets import load_tweeteval
    from tonecls.model import comparison_table, evaluate, load_model, train

    if args.config:
        command = "python benchmarks/bench_accuracy.py " + shlex.join(sys.argv[1:] if argv is None else argv)
        model = train(args.config, data_dir=args.data_dir, cache_dir=args.cache_dir, command=command)
        if args.output:
            model.save(args.output)
        models = [(f"tonecls ({args.config})", model)]
    else:
        models = [(f"tonecls ({path or 'bundled model'})", load_model(path)) for path in (args.model or [None])]
    texts = load_tweeteval("sentiment", "test", args.data_dir)["text"].tolist()
    speeds = []
    for system, model in models:
        results = evaluate(model, "test", data_dir=args.data_dir)
        print(f"\n## {system}: test set, official metrics  ({platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores)\n")
        print(comparison_table(results, system=system, data_dir=args.data_dir).to_string(index=False))
        print("\n## Post-processing fitted on validation data, effect on the test sets\n")
        print(post_processing_effects(model, args.data_dir).to_string(index=False))
        validation = model.metadata_.get("metrics", {}).get("validation", {})
        print("\nvalidation: " + ", ".join(f"{h} {m['metric']} {m['value']:.4f}" for h, m in validation.items()))
        seconds = model.metadata_.get("training_seconds")
        if seconds:
            print(f"training time: {seconds / 60:.1f} min (recorded in the bundle)")
        speeds.append(predict_throughput(model, texts))
    print(f"\n## predict throughput (tokenising included, {len(texts)} TweetEval sentiment test posts, "
          "measured one after the other in this process)\n")
    for (system, _), (wall, cpu, network_share) in zip(models, speeds):
        print(f"{system}: {wall:,.0f} posts/s wall-clock, {cpu:,.0f} posts per CPU-second "
              f"({cpu / speeds[0][1]:.2f}x the first); network ~{network_share:.0%} of the time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
