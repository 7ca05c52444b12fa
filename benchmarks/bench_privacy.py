"""Privacy: what a tonecls bundle leaks (membership inference), and what DP-SGD costs and buys.

Issue 22's setup: a BiLSTM (the default network: 50-d embeddings trained from scratch,
BiLSTM(64), max pooling, 30,000-word vocabulary) trained on 1,200 TweetEval emotion training
posts, 30 epochs with the best validation epoch kept (patience 30), calibrated on the official
validation split. The other training posts are split into 1,000 audited non-members and a
population of reference posts for LiRA's reference models (trained by tonecls' own training
code with the audited model's recipe, DP included).

DP-SGD cannot train that network on 1,200 posts (its 1.5 million embedding weights all get
noise: it stays at the majority class, measured below), so the DP rows use a DP recipe:
frozen GloVe vectors (public), the vocabulary of GloVe's most frequent words (public:
``"vocabulary": "pretrained"``), BiLSTM(16), learning rate 0.02, no class weights (which would
reveal the class frequencies); the same recipe without DP is the epsilon = infinity row. For
each row: training wall-clock and CPU-seconds per epoch, macro-F1 on validation (and on test,
once), and each attack's AUC. The per-example gradients are timed both ways (vectorised map and
micro-batches of one) in the same run, on the default network.

``--default-model`` audits the shipped default bundle instead (loss and trained attacks; its
recipe, an ensemble of three on eight datasets, is too costly to retrain as LiRA reference
models here): per audited head, members are training posts (up to 2,000, sampled) and
non-members the head's test posts (up to 2,000; the validation posts chose the epoch and the
calibration, so they are not clean non-members). ``--json-dir`` keeps each audit's JSON
(``tonecls.privacy.record_membership`` records such an audit in a bundle).

The Markdown goes to stdout (``--output FILE`` writes it there too). ``--smoke`` (alias
``--quick``): the tiny data directory, the tiny test network, 40 members, one epoch, only the
plain row (loss and trained attacks) and one DP-SGD step (micro-batches, epsilon 0.5).

    nice -n 10 .venv/bin/python -m benchmarks.bench_privacy                     # about 10 min
    nice -n 10 .venv/bin/python -m benchmarks.bench_privacy --output benchmarks/results/privacy.md
    nice -n 10 .venv/bin/python -m benchmarks.bench_privacy --default-model     # the shipped bundle's own audit
    nice -n 10 .venv/bin/python -m benchmarks.bench_privacy --smoke
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import harness
from benchmarks.workloads import test_support

DEFAULT_MODEL_HEADS = {"emotion": "emotion", "sentiment": "sentiment"}  # head -> TweetEval task
EPSILONS = (1.0, 4.0, 8.0)
DP = {"delta": 1e-5, "clip_norm": 1.0}
DP_RECIPE = {"pretrained_embeddings": "glove-6b-50d", "trainable_embeddings": False, "lstm_units": 16,
             "learning_rate": 0.02, "class_weight": None}
GRADIENT_METHODS = ("vectorized", "microbatches")


@dataclass(frozen=True)
class Variant:
    """One row of the main table: config overrides, and LiRA reference models (None: the
    ``--references`` / ``--dp-references`` default)."""

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    references: int | None = None


# --- data and training ---------------------------------------------------------------------


def split_posts(data_dir: str | None, members: int, non_members: int, seed: int) -> tuple[list[Any], list[str]]:
    """([members, audited non-members, reference population, validation, test], classes) of
    TweetEval emotion."""
    from tonecls.datasets import load_tweeteval, tweeteval_classes
    from tonecls.model import LabelledSplit

    classes = tweeteval_classes("emotion", data_dir)

    def split(name: str) -> LabelledSplit:
        frame = load_tweeteval("emotion", name, data_dir)
        return LabelledSplit(frame["text"].tolist(), np.array([classes.index(c) for c in frame["label"]]))

    def pick(rows: np.ndarray) -> LabelledSplit:
        return LabelledSplit([train.texts[i] for i in rows], train.targets[rows])

    train = split("train")
    if members + non_members >= len(train):
        raise SystemExit(f"{members} members + {non_members} non-members: the training split has {len(train)} posts")
    parts = np.split(np.random.default_rng(seed).permutation(len(train)), [members, members + non_members])
    return [pick(parts[0]), pick(parts[1]), pick(parts[2]), split("val"), split("test")], classes


def base_config(classes: list[str], args: argparse.Namespace, **overrides: Any) -> dict[str, Any]:
    """The training config of the emotion head: ``args.network`` (the smoke run's tiny network),
    then ``overrides`` (pretrained embeddings bring their own dimension)."""
    network = {k: v for k, v in args.network.items()
               if not ("pretrained_embeddings" in overrides and k == "embedding_dim")}
    return {"heads": [{"name": "emotion", "source": {"kind": "memory"}, "classes": classes}],
            "epochs": args.epochs, "patience": args.epochs, "seed": 0, **network, **overrides}


def timed_train(config: dict[str, Any], data: dict[str, Any]) -> tuple[Any, harness.Sample]:
    """The trained model and the training run's :class:`harness.Sample`."""
    from tonecls.model import train

    return harness.timed(lambda: train(config, data=data, quiet=True))


def test_macro_f1(model: Any, test: Any) -> float:
    """Macro-F1 of the emotion head on the test posts it scores."""
    from tonecls.model.evaluate import macro_f1

    proba = model.predict_proba(test.texts, all_languages=True)["emotion"]
    ok = ~np.isnan(proba).any(axis=1)
    return macro_f1(test.targets[ok], proba[ok].argmax(axis=1), proba.shape[1])


# --- the trained variants ------------------------------------------------------------------


def variants(args: argparse.Namespace) -> list[Variant]:
    """The plain network, DP-SGD on it (no LiRA: its reference models would learn nothing),
    the DP recipe without DP and with DP-SGD at each of ``--epsilons``."""
    rows = [Variant("plain (issue 22's network)")]
    if args.plain_only:
        return rows
    rows.append(Variant("DP-SGD eps 8 (issue 22's network)",
                        {"differential_privacy": {**DP, "target_epsilon": 8.0}}, references=0))
    rows.append(Variant("DP recipe, no DP", dict(DP_RECIPE)))
    rows += [Variant(f"DP recipe, DP-SGD eps {epsilon:g}", {**DP_RECIPE, "differential_privacy": {
        **DP, "target_epsilon": epsilon, "vocabulary": "pretrained"}}) for epsilon in args.epsilons]
    return rows


def run_variant(variant: Variant, classes: list[str], splits: Sequence[Any], args: argparse.Namespace) -> dict:
    """Train one variant, score it, audit it: one row of the main table (as a dict)."""
    from tonecls.privacy import audit_membership

    members, non_members, population, val, test = splits
    config = base_config(classes, args, **variant.overrides)
    model, sample = timed_train(config, {"emotion": {"train": members, "val": val}})
    epochs = len(model.metadata_["training"][0]["epochs"])
    dp = "differential_privacy" in config
    refs = variant.references if variant.references is not None else args.dp_references if dp else args.references
    audit = audit_membership(model, members, non_members, "emotion",
                             attacks=("loss", "lira", "trained") if refs else ("loss", "trained"),
                             population=population, reference_models=refs, n_resamples=args.resamples)
    privacy = model.metadata_.get("privacy", {})
    row = {"variant": variant.name, "epsilon": privacy.get("epsilon", math.inf),
           "noise": privacy.get("noise_multiplier", 0.0),
           "s_per_epoch": sample.wall_s / epochs, "cpu_s_per_epoch": sample.total_cpu_s / epochs,
           "val_f1": model.metadata_["metrics"]["validation"]["emotion"]["value"],
           "test_f1": test_macro_f1(model, test), "verdict": audit.verdict}
    for attack in audit.attacks:
        m = attack.metrics
        row[attack.attack] = f"{m['auc']:.3f} [{m['auc_ci_low']:.3f}, {m['auc_ci_high']:.3f}]"
        row[f"{attack.attack}_tpr1"] = m["tpr_at_fpr_0.01"]
    print(f"done: {variant.name}", file=sys.stderr, flush=True)
    return row


def variant_table(rows: Sequence[dict]) -> harness.Table:
    """The main table: cost, utility and attack AUCs per variant."""
    text = ["loss AUC", "LiRA AUC", "trained AUC", "TPR@1% (loss / LiRA / trained)"]
    table = harness.Table(["variant", "epsilon (delta 1e-5)", "noise multiplier", "s / epoch", "CPU-s / epoch",
                           "val macro-F1", "test macro-F1", *text], ["variant", *text])
    for r in rows:
        tprs = " / ".join(f"{r[k]:.3f}" if k in r else "-" for k in ("loss_tpr1", "lira_tpr1", "trained_tpr1"))
        table.add(r["variant"], "inf" if math.isinf(r["epsilon"]) else f"{r['epsilon']:.2f}", f"{r['noise']:.2f}",
                  f"{r['s_per_epoch']:.1f}", f"{r['cpu_s_per_epoch']:.1f}", f"{r['val_f1']:.3f}",
                  f"{r['test_f1']:.3f}", r.get("loss", "-"), r.get("lira", "-"), r.get("trained", "-"), tprs)
    return table


# --- per-example gradients -----------------------------------------------------------------


def gradient_timing(classes: list[str], data: dict[str, Any], args: argparse.Namespace) -> harness.Table:
    """Per-example gradients each way, same config, same run: the DP steps of an epoch (epoch 2
    onwards: the first epoch traces the step functions) and the whole training run."""
    table = harness.Table(["method", "first epoch s", "s / epoch", "CPU-s / epoch", "run wall s", "run CPU s"])
    for method in args.gradient_methods:
        config = base_config(classes, args, epochs=args.timing_epochs, patience=args.timing_epochs,
                             differential_privacy={**DP, "target_epsilon": args.timing_epsilon,
                                                   "per_example_gradients": method})
        model, sample = timed_train(config, data)
        epochs = model.metadata_["training"][0]["epochs"]
        later = epochs[1:] or epochs
        table.add(method, f"{epochs[0]['step_seconds']:.1f}",
                  f"{np.mean([e['step_seconds'] for e in later]):.2f}",
                  f"{np.mean([e['step_cpu_seconds'] for e in later]):.2f}",
                  harness.number(sample.wall_s, 1), harness.number(sample.total_cpu_s, 1))
        print(f"done: per-example gradients, {method}", file=sys.stderr, flush=True)
    return table


def benchmark(report: harness.Report, args: argparse.Namespace) -> None:
    """The trained variants and the gradient timing, printed through ``report``."""
    from tonecls.model.keras_env import import_keras

    import_keras()  # TensorFlow's import (seconds) outside every timed training run
    splits, classes = split_posts(args.data_dir, args.members, args.non_members, seed=0)
    data = {"emotion": {"train": splits[0], "val": splits[3]}}
    report.note(f"\nTweetEval emotion: {args.members:,} member posts (training), {args.non_members:,} audited "
                f"non-members (training split, never trained on), the other {len(splits[2]):,} training posts as "
                f"LiRA's reference population; {args.epochs} epochs, best validation epoch kept, calibrated. LiRA: "
                f"{args.references} reference models (no DP), {args.dp_references} (DP, trained with the same DP "
                "recipe; none for the DP row of issue 22's network). DP recipe: frozen GloVe 50-d, GloVe's most "
                "frequent words as the vocabulary (DP rows), BiLSTM(16), learning rate 0.02, no class weights. AUC "
                f"with 95% bootstrap interval ({args.resamples} resamples); TPR at 1% FPR. Time and CPU (this "
                "process and its children) per epoch: the whole training run (validation each epoch, tracing, "
                "calibration) divided by its epochs.")
    timing = gradient_timing(classes, data, args)
    rows = [run_variant(variant, classes, splits, args) for variant in variants(args)]
    report.table(variant_table(rows), "Per variant: training cost, utility, attack AUC:")
    report.note("\nVerdicts:\n\n" + "\n".join(f"- {r['variant']}: {r['verdict']}" for r in rows))
    report.table(timing, f"Per-example gradients (DP at epsilon {args.timing_epsilon:g}, {args.timing_epochs} "
                         "epochs; the DP steps of an epoch, epoch 2 onwards; the first epoch includes tracing; "
                         "the whole training run beside them):")


# --- the shipped bundle --------------------------------------------------------------------


def audit_default_model(report: harness.Report, args: argparse.Namespace) -> None:
    """The membership-inference audit of the shipped bundle on its TweetEval heads."""
    from tonecls.datasets import load_tweeteval
    from tonecls.model import LabelledSplit, load_model
    from tonecls.privacy import audit_membership

    model = load_model()
    table = harness.Table(["head", "members", "non-members", "attack", "AUC [95% CI]", "TPR@1% FPR",
                           "TPR@0.1% FPR", "advantage"], ["head", "attack", "AUC [95% CI]"])
    verdicts = []
    for head, task in DEFAULT_MODEL_HEADS.items():
        classes = model.head(head).classes
        splits = []
        for split in ("train", "test"):
            frame = load_tweeteval(task, split, args.data_dir)
            rows = np.sort(np.random.default_rng(0).permutation(len(frame))[:args.audit_posts])
            splits.append(LabelledSplit(frame["text"].iloc[rows].tolist(),
                                        np.array([classes.index(c) for c in frame["label"].iloc[rows]])))
        result = audit_membership(model, *splits, head, attacks=["loss", "trained"], n_resamples=args.resamples)
        for attack in result.attacks:
            m = attack.metrics
            table.add(head, m["n_members"], m["n_non_members"], attack.attack,
                      f"{m['auc']:.3f} [{m['auc_ci_low']:.3f}, {m['auc_ci_high']:.3f}]",
                      f"{m['tpr_at_fpr_0.01']:.3f}", f"{m['tpr_at_fpr_0.001']:.3f}", f"{m['advantage']:.3f}")
        verdicts.append(f"- {head}: {result.verdict}")
        if args.json_dir:
            args.json_dir.mkdir(parents=True, exist_ok=True)
            path = args.json_dir / f"privacy_default_model_{head}.json"
            path.write_text(json.dumps(result.to_dict(), indent=1) + "\n", encoding="utf-8")
    report.table(table, f"Members: training posts of the head's TweetEval task (up to {args.audit_posts:,}, "
                        f"sampled with seed 0); non-members: its test posts (up to {args.audit_posts:,}). Attacks: "
                        "loss and trained (cross-fitted). Membership inference assumes members and non-members "
                        "come from one distribution: emotion's splits do (SemEval-2018 Task 1), sentiment's do not "
                        "(its test set is SemEval-2017, with another class balance and topics), so part of the "
                        "sentiment figures is that shift, which the trained attack (it sees the class) exploits "
                        "most.")
    report.note("\nVerdicts:\n\n" + "\n".join(verdicts))


# --- the run -------------------------------------------------------------------------------


class _Tee(io.TextIOBase):
    """A text stream writing to ``streams`` alike."""

    def __init__(self, *streams: Any) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


@contextmanager
def also_to(path: Path | None) -> Iterator[None]:
    """Everything printed while the block runs, also written to ``path`` (if given)."""
    if path is None:
        yield
        return
    captured = io.StringIO()
    with redirect_stdout(_Tee(sys.stdout, captured)):
        yield
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(captured.getvalue().lstrip("\n"), encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)


def options(argv: list[str] | None) -> argparse.Namespace:
    """The command line (``--smoke`` / ``--quick`` shrink every size)."""
    parser = harness.parser(__doc__)
    parser.add_argument("--quick", dest="smoke", action="store_true", help="the same as --smoke")
    parser.add_argument("--default-model", action="store_true", help="audit the shipped default bundle instead")
    parser.add_argument("--members", type=int, default=1200)
    parser.add_argument("--non-members", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--references", type=int, default=4, help="LiRA reference models (no DP)")
    parser.add_argument("--dp-references", type=int, default=2, help="LiRA reference models (DP recipe)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples of each AUC")
    parser.add_argument("--epsilons", type=float, nargs="*", default=list(EPSILONS), help="of the DP recipe rows")
    parser.add_argument("--plain-only", action="store_true", help="only the plain row (no DP-SGD rows)")
    parser.add_argument("--timing-epochs", type=int, default=3)
    parser.add_argument("--timing-epsilon", type=float, default=8.0)
    parser.add_argument("--gradient-methods", nargs="+", choices=GRADIENT_METHODS, default=list(GRADIENT_METHODS))
    parser.add_argument("--audit-posts", type=int, default=2000, help="--default-model: members and non-members")
    parser.add_argument("--data-dir", default=None, help="default: $TONECLS_DATA_DIR or ../shared/data")
    parser.add_argument("--json-dir", type=Path, help="--default-model: write each audit's JSON here")
    parser.add_argument("--output", type=Path, help="also write the Markdown to this file")
    args = parser.parse_args(argv)
    args.network = {}
    if args.smoke:
        if args.data_dir:
            parser.error("--smoke brings its own data directory: drop --data-dir")
        args.members = args.non_members = args.audit_posts = 40
        args.epochs, args.references, args.dp_references, args.resamples, args.plain_only = 1, 0, 0, 20, True
        args.timing_epochs, args.timing_epsilon, args.gradient_methods = 1, 0.5, ["microbatches"]  # cheapest to trace
        tiny = {k: v for k, v in test_support().TINY.items() if k not in ("epochs", "patience")}
        args.network = {**tiny, "max_length": 16, "batch_size": args.members}  # one DP step per epoch, short
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (or ``--default-model``'s audit) and print its Markdown."""
    args = options(argv)
    title = ("Privacy audit of the shipped default model" if args.default_model else
             "Privacy: membership inference, DP-SGD cost, utility and attack AUC")
    with also_to(args.output), harness.Report(args, title) as report:
        (audit_default_model if args.default_model else benchmark)(report, args)


if __name__ == "__main__":
    main()
