"""Network only: tokens -> logits, TensorFlow against the numpy kernel, side by side in one process.

Tokenises 20,000 TweetEval posts once (the test splits of every task, then validation), then
times only ``ToneModel.logits_from_ids`` (length-bucketed batches) for each variant, rounds
alternating, best round by CPU time. Variants: the bundle's network in TensorFlow (Keras, if
installed) and in numpy (``tonecls.model.inference``); for an ensemble bundle, its first
member alone in both; with ``--compare-source``, the numpy kernel of another source tree of
tonecls on the same weights. Every variant's logits are compared with the first variant's
(TensorFlow where it is installed).

    nice -n 10 .venv/bin/python -m benchmarks.bench_network --rounds 3
    nice -n 10 .venv/bin/python -m benchmarks.bench_network --model PATH --batch-sizes 256 1024
    .venv/bin/python -m benchmarks.bench_network --rounds 3 --compare-source /tmp/tonecls-before
"""

from __future__ import annotations

import copy
import importlib.util
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import harness
from benchmarks.workloads import tweeteval_texts


def networks(model: Any, bundle: Path | None, with_tensorflow: bool) -> dict[str, Any]:
    """label -> network: the model's (and, for an ensemble, its first member's) in TensorFlow
    and in numpy."""
    from tonecls.model.inference import InferenceNetwork

    numpy_network = model.network_
    n = len(numpy_network.members)
    kind = f"ensemble of {n}" if n > 1 else "one network"
    found: dict[str, Any] = {}
    if with_tensorflow:
        import keras

        import tonecls.model.network  # noqa: F401  (registers the custom layers)
        from tonecls.model.bundle import DEFAULT_BUNDLE, NETWORK_FILE

        path = bundle if bundle is not None and bundle.suffix == ".keras" else (bundle or DEFAULT_BUNDLE) / NETWORK_FILE
        keras_network = keras.saving.load_model(path, compile=False, safe_mode=True)
        found[f"TensorFlow, {kind}"] = keras_network
        if n > 1:
            found["TensorFlow, one member"] = next(layer for layer in keras_network.layers
                                                   if isinstance(layer, keras.Model))
    found[f"numpy, {kind}"] = numpy_network
    if n > 1:
        weights = {k: v for k, v in numpy_network.weights.items() if k.startswith("0/")}
        found["numpy, one member"] = InferenceNetwork([h.name for h in model.heads_], numpy_network.members[:1], weights)
    return found


def kernel_from(source: str, network: Any) -> Any:
    """``network`` (a numpy InferenceNetwork) run by the kernel of ``SOURCE/tonecls/model/inference.py``."""
    module = harness.module_from_source(source, "tonecls/model/inference.py", "inference_compared")
    return module.InferenceNetwork(heads=list(network.heads), members=[dict(m) for m in network.members],
                                   weights=dict(network.weights))


def running(model: Any, network: Any) -> Any:
    """A copy of ``model`` that runs ``network`` (Keras networks through tf.function)."""
    clone = copy.copy(model)
    numpy_kernel = hasattr(network, "members")  # this checkout's or another tree's InferenceNetwork
    clone.network_, clone._infer = network, network if numpy_kernel else None
    return clone


def worst_difference(models: dict[str, Any], ids: np.ndarray, lengths: np.ndarray) -> dict[str, float]:
    """Max absolute logit difference of each variant against the first variant of the same
    network kind (whole network, one member), on the first 2,000 posts (also the warm-up)."""
    head = (ids[: int(lengths[:2000].sum())], lengths[:2000])
    outputs = {label: m.logits_from_ids(*head) for label, m in models.items()}
    reference: dict[str, dict] = {}
    for label, out in outputs.items():
        reference.setdefault(label.rsplit(", ", 1)[1], out)
    return {label: max(float(np.abs(out[h] - reference[label.rsplit(", ", 1)[1]][h]).max()) for h in out)
            for label, out in outputs.items()}


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--model", default=None, help="model bundle (default: the default model)")
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1024])
    parser.add_argument("--compare-source", metavar="SOURCE",
                        help="also time the numpy kernel of this source tree of tonecls on the same network")
    parser.add_argument("--no-tensorflow", action="store_true",
                        help="numpy variants only (implied by --smoke: importing TensorFlow takes 5 s)")
    args = parser.parse_args(argv)
    if args.smoke:  # without TensorFlow; this checkout's kernel loaded as another tree's stands beside it
        args.posts, args.no_tensorflow = 2_000, True
        args.compare_source = args.compare_source or str(harness.ROOT)
    warnings.filterwarnings("ignore", message="The structure of `inputs`")
    with harness.Report(args, "Network only: tokens -> logits") as report:
        from tonecls.model import load_model

        model = load_model(args.model)
        tokens, statuses = model.tokenize_with_status(tweeteval_texts(("test", "val"), split_major=True)[: args.posts])
        ids, lengths = model.vocabulary_.encode([t for t, s in zip(tokens, statuses) if s == "ok"], model.max_length)
        found = networks(model, Path(args.model) if args.model else None,
                         with_tensorflow=not args.no_tensorflow and importlib.util.find_spec("keras") is not None)
        if args.compare_source:
            kind = next(label for label in found if label.startswith("numpy")).split(", ", 1)[1]
            found[f"numpy ({Path(args.compare_source).name}), {kind}"] = kernel_from(args.compare_source, model.network_)
        models = {label: running(model, network) for label, network in found.items()}
        differences = worst_difference(models, ids, lengths)
        rounds = 1 if args.smoke else args.rounds
        for batch_size in args.batch_sizes:
            timings = harness.alternate({label: (lambda m=m: m.logits_from_ids(ids, lengths, batch_size=batch_size))
                                         for label, m in models.items()}, rounds, keep_results=False)
            extra = {label: {"max abs logit diff vs the first": f"{differences[label]:.1e}"} for label in models}
            report.table(harness.rate_table(timings, len(lengths), extra=extra),
                         f"{len(lengths):,} posts (mean {lengths.mean():.1f} tokens), batches of {batch_size}, "
                         f"best of {rounds} alternating rounds (TensorFlow's CPU counts its intra-op threads):")


if __name__ == "__main__":
    main()
