"""Network-only scoring speed: TensorFlow vs the numpy kernel, ensemble vs one member.

Tokenises 20,000 TweetEval posts once (test splits of every task, then validation), then times
only tokens -> logits through ``ToneModel.logits_from_ids`` (length-bucketed batches) for each
variant, side by side in one process, in interleaved rounds (the machine is shared: the best
round of each variant is reported, with CPU-seconds beside wall-clock). Checks that every
variant's logits equal the TensorFlow network's within 1e-5.

Variants: the bundle's network in TensorFlow (Keras) and in numpy
(:mod:`tonecls.model.inference`), and, for an ensemble bundle, its first member alone in both.

    nice -n 10 .venv/bin/python benchmarks/bench_network.py                # default bundle
    nice -n 10 .venv/bin/python benchmarks/bench_network.py --model PATH --posts 20000 --rounds 3
    nice -n 10 .venv/bin/python benchmarks/bench_network.py --batch-sizes 256 512 1024
    .venv/bin/python benchmarks/bench_network.py --compare-source /tmp/tonecls-before  # + an earlier kernel
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def benchmark_posts(n: int) -> list[str]:
    from tonecls.datasets import TWEETEVAL_TASKS, load_tweeteval

    texts: list[str] = []
    for split in ("test", "val"):
        for task in TWEETEVAL_TASKS:
            texts += load_tweeteval(task, split)["text"].tolist()
    return texts[:n]


def variants(model, bundle):
    """name -> (network callable, n_members) for the model's network and its first member."""
    import keras

    import tonecls.model.network  # noqa: F401  (registers the custom layers)
    from tonecls.model.bundle import DEFAULT_BUNDLE, NETWORK_FILE
    from tonecls.model.inference import InferenceNetwork

    path = (bundle or DEFAULT_BUNDLE) / NETWORK_FILE if bundle is None or not str(bundle).endswith(".keras") \
        else bundle
    keras_network = keras.saving.load_model(path, compile=False, safe_mode=True)
    numpy_network = model.network_
    heads = [h.name for h in model.heads_]
    n = len(numpy_network.members)
    kind = f"ensemble of {n}" if n > 1 else "one network"
    found = {f"TensorFlow, {kind}": (keras_network, n), f"numpy, {kind}": (numpy_network, n)}
    if n > 1:
        member = next(layer for layer in keras_network.layers if isinstance(layer, keras.Model))
        found["TensorFlow, one member"] = (member, 1)
        weights = {k: v for k, v in numpy_network.weights.items() if k.startswith("0/")}
        found["numpy, one member"] = (InferenceNetwork(heads, numpy_network.members[:1], weights), 1)
    return found


def kernel_from(source: str, network):
    """``network`` (a numpy InferenceNetwork) run by the numpy kernel of another source tree of
    tonecls (``SOURCE/tonecls/model/inference.py``, e.g. a git worktree of an earlier commit)."""
    from compare_source import module_from_source

    module = module_from_source(source, "tonecls/model/inference.py", "inference_compared")
    return module.InferenceNetwork(heads=list(network.heads), members=[dict(m) for m in network.members],
                                   weights=dict(network.weights))


def make_model(model, network):
    """A copy of ``model`` running ``network`` (Keras networks through tf.function)."""
    import copy

    clone = copy.copy(model)
    numpy_kernel = hasattr(network, "export_spec")  # this checkout's or another tree's InferenceNetwork
    clone.network_, clone._infer = network, network if numpy_kernel else None
    return clone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model bundle (default: the default model)")
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1024])
    parser.add_argument("--compare-source", metavar="SOURCE",
                        help="also time the numpy kernel of this source tree of tonecls on the same network")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="The structure of `inputs`")

    from pathlib import Path

    from tonecls.model import load_model

    model = load_model(args.model)
    texts = benchmark_posts(args.posts)
    tokens, statuses = model.tokenize_with_status(texts)
    tokens = [t for t, s in zip(tokens, statuses) if s == "ok"]
    ids, lengths = model.vocabulary_.encode(tokens, model.max_length)
    found = variants(model, Path(args.model) if args.model else None)
    if args.compare_source:
        kind = next(name for name in found if name.startswith("numpy")).split(", ", 1)[1]
        found[f"numpy ({Path(args.compare_source).name}), {kind}"] = (kernel_from(args.compare_source, model.network_),
                                                                     len(model.network_.members))
    models = {name: make_model(model, network) for name, (network, _) in found.items()}
    reference = {}
    for name, m in models.items():  # warm-up (tf.function tracing, numpy tables) + equality check
        out = m.logits_from_ids(ids[: int(lengths[:2000].sum())], lengths[:2000])
        key = name.split(", ", 1)[1]
        if name.startswith("TensorFlow"):
            reference[key] = out
    worst = {}
    for name, m in models.items():
        if name.startswith("numpy"):
            key = name.rsplit(", ", 1)[1]
            out = m.logits_from_ids(ids[: int(lengths[:2000].sum())], lengths[:2000])
            worst[name] = max(float(np.abs(out[h] - reference[key][h]).max()) for h in out)
    results = []
    for batch_size in args.batch_sizes:
        best: dict[str, dict] = {}
        for _ in range(args.rounds):
            for name, m in models.items():
                wall, cpu = time.perf_counter(), time.process_time()
                m.logits_from_ids(ids, lengths, batch_size=batch_size)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                if name not in best or cpu < best[name]["cpu_s"]:
                    best[name] = {"wall_s": wall, "cpu_s": cpu}
        base = best[next(iter(models))]["cpu_s"]
        for name, b in best.items():
            results.append({"variant": name, "batch_size": batch_size, "posts": len(lengths),
                            "posts_per_cpu_s": len(lengths) / b["cpu_s"], "posts_per_s": len(lengths) / b["wall_s"],
                            "cpu_s": b["cpu_s"], "wall_s": b["wall_s"], "vs_tf_ensemble": base / b["cpu_s"],
                            "max_abs_diff_vs_tf": worst.get(name, 0.0)})
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared); "
          f"{len(lengths)} posts, mean {lengths.mean():.1f} tokens; best of {args.rounds} rounds")
    print("| variant | batch | posts / CPU-s | posts / s (wall) | CPU-s | vs TensorFlow (first row) | max abs diff vs TF |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['variant']} | {r['batch_size']} | {r['posts_per_cpu_s']:,.0f} | {r['posts_per_s']:,.0f} | "
              f"{r['cpu_s']:.2f} | {r['vs_tf_ensemble']:.1f}x | {r['max_abs_diff_vs_tf']:.1e} |")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
