"""Prevalence with valid intervals: how wrong the naive shares are, PPI++ coverage and width
against the labelled-sample size, per group and per period; ECE before/after recalibration.

Data: the bundled default model's probabilities on the TweetEval sentiment test set (12,284
posts, a shifted domain) and validation set, and on the GoEmotions ekman test and dev sets
(multi-label), with the gold labels. Every labelled sample is a simple random sample of the
scored posts; the truth is the gold share of all of them.

1. Naive shares: classify-and-count and the probability average beside the truth; with
   ``--quantifiers`` (needs ``pip install quapy``) QuaPy's ACC / PACC / SLD (EMQ), their
   misclassification rates / training prevalence from the validation split.
2. Coverage and width of 90% intervals over ``--draws`` random labelled samples of each of
   ``--sizes`` posts: PPI++ with the probabilities, PPI++ with the one-hot predicted labels
   (both power-tuned, one lambda for all classes, Agresti-Coull floor), the classical interval
   from the labels alone; the mean absolute error of each estimate and of classify-and-count.
   ``--split val`` is the validation study the choice of predictions was made on; ``test``
   the figures reported.
3. Per group and per period (``PrevalenceEstimator``): three groups with different class mixes
   and four months over which negative drifts from rare to common, ``--seeds`` samples of
   ``--group-labelled`` posts.
4. Recalibration (test split): ``--recal-seeds`` random draws of ``--recal-labelled`` labelled
   sentiment test posts; ECE and macro-recall before and after on the other posts (held out).

    nice -n 10 .venv/bin/python -m benchmarks.bench_prevalence --split test --draws 1000 --seeds 100 \\
        --recal-seeds 10 --quantifiers
    nice -n 10 .venv/bin/python -m benchmarks.bench_prevalence --split val --draws 500 --seeds 50 --recal-seeds 0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import harness
from tonecls.model.calibration import expected_calibration_error
from tonecls.prevalence import PrevalenceEstimator, draw_sample
from tonecls.prevalence.ppi import classical_mean, ppi_mean

SIZES = (100, 300, 1000)
CONFIDENCE = 0.9


def _head_arrays(model, texts: list[str], gold, head: str) -> dict[str, np.ndarray]:
    """Probabilities, 0/1 predictions and 0/1 gold labels of the scored posts, and their logits."""
    from tonecls.datasets import to_multi_hot

    spec = model.head(head)
    scores = model.compute_logits(texts, all_languages=True)
    logits = scores.logits[head]
    proba = model.head_proba(head, logits)
    if spec.multilabel:
        predicted = (proba >= model.thresholds_[head]).astype(float)
        truth = to_multi_hot([gold[i] for i in scores.ok_rows], spec.classes).astype(float)
    else:
        predicted = np.eye(len(spec.classes))[proba.argmax(1)]
        truth = np.eye(len(spec.classes))[[spec.classes.index(gold[i]) for i in scores.ok_rows]]
    return {"proba": proba, "predicted": predicted, "gold": truth, "logits": logits,
            "texts": np.array(texts, dtype=object)[scores.ok_rows], "classes": np.array(spec.classes)}


def load_data(split: str) -> dict[str, dict[str, np.ndarray]]:
    """Per data set (``sentiment``, ``ekman``) the arrays of :func:`_head_arrays` for ``split``."""
    from tonecls import load_model
    from tonecls.datasets import load_goemotions, load_tweeteval

    model = load_model()
    sentiment = load_tweeteval("sentiment", "val" if split == "val" else "test")
    ekman = load_goemotions("ekman", "dev" if split == "val" else "test")
    return {"sentiment": _head_arrays(model, sentiment["text"].tolist(), sentiment["label"].tolist(), "sentiment"),
            "ekman": _head_arrays(model, ekman["text"].tolist(), list(ekman["labels"]), "ekman")}


def naive_table(data: dict, validation: dict | None) -> pd.DataFrame:
    """Truth, classify-and-count and probability average per class (x100), and QuaPy's
    quantifiers when ``validation`` is given."""
    rows = []
    for name, arrays in data.items():
        shares = {"truth": arrays["gold"].mean(0), "classify-and-count": arrays["predicted"].mean(0),
                  "probability average": arrays["proba"].mean(0)}
        if validation is not None:
            shares.update(quapy_shares(arrays, validation[name], multilabel=name == "ekman"))
        for j, cls in enumerate(arrays["classes"]):
            rows.append({"data": name, "class": cls, **{k: 100 * v[j] for k, v in shares.items()}})
    table = pd.DataFrame(rows)
    methods = [c for c in table.columns if c not in ("data", "class", "truth")]
    summary = [{"data": name, "class": "max abs. error",
                **{m: (group[m] - group["truth"]).abs().max() for m in methods}}
               for name, group in table.groupby("data", sort=False)]
    return pd.concat([table, pd.DataFrame(summary)], ignore_index=True)


def quapy_shares(test: dict, validation: dict, multilabel: bool) -> dict[str, np.ndarray]:
    """QuaPy's ACC, PACC and SLD (EMQ) per class (multi-label: each class as a binary task)."""
    import quapy.functional as F
    from quapy.method.aggregative import ACC, EMQ, PACC

    def estimate(val_y, val_pred, val_proba, proba):
        classes = np.arange(proba.shape[1])
        cc, pcc = np.eye(len(classes))[proba.argmax(1)].mean(0), proba.mean(0)
        acc = ACC.solve_adjustment(ACC.getPteCondEstim(classes, val_y, val_pred), cc, "inversion", "minimize")
        pacc = ACC.solve_adjustment(PACC.getPteCondEstim(classes, val_y, val_proba), pcc, "inversion", "minimize")
        sld, _ = EMQ.EM(np.bincount(val_y, minlength=len(classes)) / len(val_y), proba)
        return [F.normalize_prevalence(acc, method="clip"), F.normalize_prevalence(pacc, method="clip"), sld]

    if not multilabel:
        out = estimate(validation["gold"].argmax(1), validation["predicted"].argmax(1), validation["proba"],
                       test["proba"])
        return dict(zip(["ACC", "PACC", "SLD"], out))
    per_class = []
    for j in range(test["proba"].shape[1]):
        binary = lambda p: np.stack([1 - p, p], 1)  # noqa: E731
        y = validation["gold"][:, j].astype(int)
        # binary ACC on the head's thresholded labels: the count of the test labels, adjusted
        val_pred = validation["predicted"][:, j].astype(int)
        rates = ACC.getPteCondEstim(np.arange(2), y, val_pred)
        acc = F.normalize_prevalence(ACC.solve_adjustment(rates, np.bincount(test["predicted"][:, j].astype(int),
                                     minlength=2) / len(test["predicted"]), "inversion", "minimize"), method="clip")
        _, pacc, sld = estimate(y, val_pred, binary(validation["proba"][:, j]), binary(test["proba"][:, j]))
        per_class.append([acc[1], pacc[1], sld[1]])
    return dict(zip(["ACC", "PACC", "SLD"], np.array(per_class).T))


def interval_study(data: dict, draws: int, sizes: Sequence[int] = SIZES) -> pd.DataFrame:
    """Coverage, width and error of 90% intervals per data set, labelled-sample size and method."""
    rows = []
    for name, arrays in data.items():
        y, truth = arrays["gold"], arrays["gold"].mean(0)
        methods = {"PPI++ probabilities": arrays["proba"], "PPI++ predicted labels": arrays["predicted"],
                   "classical (labels only)": None}
        for n in sizes:
            for method, model in methods.items():
                covered, width, error = [], [], []
                for seed in range(draws):
                    lab = np.random.default_rng(seed).choice(len(y), n, replace=False)
                    est = (classical_mean(y[lab], confidence=CONFIDENCE) if model is None else
                           ppi_mean(y[lab], model[lab], model, confidence=CONFIDENCE, floor_label_variance=True))
                    covered.append((est.ci_low <= truth) & (truth <= est.ci_high))
                    width.append(est.ci_high - est.ci_low)
                    error.append(np.abs(est.estimate - truth))
                coverage = np.mean(covered, 0)
                rows.append({"data": name, "n labelled": n, "method": method, "coverage (mean)": coverage.mean(),
                             "coverage (worst class)": coverage.min(), "width (pts)": 100 * np.mean(width),
                             "abs. error (pts)": 100 * np.mean(error),
                             "classify-and-count abs. error (pts)": 100 * np.abs(arrays["predicted"].mean(0) - truth).mean()})
    return pd.DataFrame(rows)


def _frame(arrays: dict) -> pd.DataFrame:
    classes = arrays["classes"]
    frame = pd.DataFrame({"id": np.arange(len(arrays["proba"])).astype(str), "text": "post", "tonecls_status": "ok",
                          "sentiment_label": classes[arrays["proba"].argmax(1)],
                          "gold": classes[arrays["gold"].argmax(1)]})
    for j, cls in enumerate(classes):
        frame[f"sentiment_p_{cls}"] = arrays["proba"][:, j]
    return frame


def group_period_study(arrays: dict, seeds: int, n: int = 600) -> pd.DataFrame:
    """Coverage per group (class mixes differ) and per month (negative drifts), PrevalenceEstimator."""
    frame = _frame(arrays)
    rng = np.random.default_rng(0)
    negative = arrays["gold"][:, 0] > 0
    frame["group"] = np.where(rng.random(len(frame)) < np.where(negative, 0.45, 0.2), "a",
                              rng.choice(["b", "c"], len(frame)))
    late = rng.random(len(frame)) < np.where(negative, 0.8, 0.3)
    month = np.where(late, rng.integers(2, 4, len(frame)), rng.integers(0, 2, len(frame)))
    frame["created"] = pd.to_datetime("2024-01-15") + pd.to_timedelta(month * 31, unit="D")
    keys = {"group": frame["group"], "created": frame["created"].dt.to_period("M").astype(str)}
    gold = pd.get_dummies(frame["gold"]).reindex(columns=list(arrays["classes"]), fill_value=False)
    truth = {g: gold.groupby(k.to_numpy()).mean() for g, k in keys.items()}
    records = []
    for seed in range(seeds):
        sample = draw_sample(frame, n, seed=seed)
        sample["label"] = frame.set_index("id").loc[sample["id"], "gold"].to_numpy()
        result = PrevalenceEstimator("sentiment", confidence=CONFIDENCE).fit(
            frame, labels=sample, group_cols=["group"], time_col="created", freq="M")
        rows = result.estimates[result.estimates["grouping"] != "all"].copy()
        rows["truth"] = [truth[g].loc[v.split("=", 1)[1], c] for g, v, c in zip(rows["grouping"], rows["group"],
                                                                              rows["class"])]
        records.append(rows)
    rows = pd.concat(records, ignore_index=True)
    rows["covered"] = (rows["ci_low"] <= rows["truth"]) & (rows["truth"] <= rows["ci_high"])
    rows["width"] = 100 * (rows["ci_high"] - rows["ci_low"])
    rows["error"] = 100 * (rows["estimate"] - rows["truth"]).abs()
    rows["naive error"] = 100 * (rows["naive"] - rows["truth"]).abs()
    per_class = rows.groupby(["group", "class"], sort=False)["covered"].mean()
    summary = rows.groupby("group", sort=False).agg(
        posts=("n", "first"), labelled=("n_labelled", "mean"), coverage=("covered", "mean"),
        width=("width", "mean"), error=("error", "mean"), naive_error=("naive error", "mean"))
    summary.insert(3, "coverage (worst class)", per_class.groupby(level=0, sort=False).min())
    return summary.reset_index().rename(columns={
        "width": "width (pts)", "error": "abs. error (pts)", "naive_error": "classify-and-count abs. error (pts)",
        "labelled": "labelled (mean)"})


def recalibration_study(arrays: dict, seeds: int, n: int = 2000) -> pd.DataFrame:
    """ECE and macro-recall before/after recalibration on ``n`` labelled posts, on the rest."""
    from tonecls import load_model
    from tonecls.model.recalibration import macro_recall, recalibrate

    model = load_model()
    targets = arrays["gold"].argmax(1)
    labels = arrays["classes"][targets]
    rows = []
    for seed in range(seeds):
        order = np.random.default_rng(seed).permutation(len(targets))
        fit, held = order[:n], order[n:]
        new, report = recalibrate(model, arrays["texts"][fit].tolist(), labels[fit].tolist(), "sentiment", seed=seed)
        before = model.head_proba("sentiment", arrays["logits"][held])
        after = new.head_proba("sentiment", arrays["logits"][held])
        rows.append({"seed": seed, "method": report.method, "temperature": report.temperature,
                     "ECE before": expected_calibration_error(before, targets[held], False),
                     "ECE after": expected_calibration_error(after, targets[held], False),
                     "macro-recall before": macro_recall(before, targets[held]),
                     "macro-recall after": macro_recall(after, targets[held]),
                     "CV ECE before": report.ece_before, "CV ECE after": report.ece_after})
    return pd.DataFrame(rows)


def _timed(steps: list[dict[str, Any]], label: str, function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)``, its wall-clock and CPU seconds appended to ``steps``."""
    result, sample = harness.timed(lambda: function(*args))
    steps.append({"step": label, "wall s": sample.wall_s, "CPU s": sample.total_cpu_s})
    return result


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--split", choices=["val", "test"], default="test")
    parser.add_argument("--draws", type=int, default=200, help="labelled samples per size (interval study)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="labelled-sample sizes")
    parser.add_argument("--seeds", type=int, default=20, help="labelled samples of the group and period study")
    parser.add_argument("--group-labelled", type=int, default=600, help="labelled posts per sample there")
    parser.add_argument("--recal-seeds", type=int, default=3, help="draws of the recalibration study")
    parser.add_argument("--recal-labelled", type=int, default=2000, help="labelled posts per draw there")
    parser.add_argument("--quantifiers", action="store_true", help="QuaPy's ACC/PACC/SLD (pip install quapy)")
    args = parser.parse_args(argv)
    if args.quantifiers and args.split == "val":
        parser.error("--quantifiers fits on the validation split: run it with --split test")
    if args.smoke:  # the tiny data directory: about 130 posts per split
        args.draws, args.sizes, args.seeds, args.group_labelled = 3, [20, 40], 2, 60
        args.recal_seeds, args.recal_labelled = 1, 60
    steps: list[dict[str, Any]] = []
    with harness.Report(args, f"Prevalence estimates (PPI), {args.split} split") as report:
        data = _timed(steps, "score the data sets", load_data, args.split)
        validation = _timed(steps, "score the validation sets", load_data, "val") if args.quantifiers else None
        report.note(f"\n{len(data['sentiment']['gold']):,} sentiment and {len(data['ekman']['gold']):,} ekman posts")
        naive = _timed(steps, "naive shares", naive_table, data, validation)
        report.table(harness.Table.from_frame(naive, digits=1), "Naive shares (x100):")
        intervals = _timed(steps, "interval study", interval_study, data, args.draws, args.sizes)
        report.table(harness.Table.from_frame(intervals, digits=3),
                     f"90% intervals, {args.draws} random labelled samples per size:")
        if args.seeds:
            groups = _timed(steps, "groups and periods", group_period_study, data["sentiment"], args.seeds,
                            args.group_labelled)
            report.table(harness.Table.from_frame(groups, digits=3), f"Per group and per period (sentiment, "
                         f"{args.seeds} samples of {args.group_labelled} labelled posts):")
        if args.recal_seeds and args.split == "test":
            table = _timed(steps, "recalibration", recalibration_study, data["sentiment"], args.recal_seeds,
                           args.recal_labelled)
            held_out = len(data["sentiment"]["gold"]) - args.recal_labelled
            report.table(harness.Table.from_frame(table, digits=3), f"Recalibration on {args.recal_labelled:,} "
                         f"labelled sentiment test posts, held-out ECE on the other {held_out:,}:")
            mean = table.drop(columns=["seed", "method"]).mean().to_frame("mean over seeds").T
            report.table(harness.Table.from_frame(mean.reset_index(names=""), digits=3))
        report.table(harness.Table.from_frame(pd.DataFrame(steps), digits=1), "Time per step:")


if __name__ == "__main__":
    main()
