"""The model bundle: a directory holding everything a :class:`ToneModel` needs, and a model card.

Layout::

    <bundle>/model.keras     the Keras network (token ids -> logits per head); loads with
                             keras.saving.load_model(..., safe_mode=True) once tonecls.model
                             is imported (it registers the two custom pooling layers)
    <bundle>/vocab.json      the vocabulary (token list; ids 0 and 1 are padding and OOV)
    <bundle>/bundle.json     heads, preprocessing config, max length, temperatures, thresholds,
                             metrics, data provenance, training config and command
    <bundle>/MODEL_CARD.md   intended use, data, metrics per head, limitations, ethics

Bundles are written atomically: into ``<bundle>.partial`` first, then renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from tonecls.errors import DataNotFoundError, InputError
from tonecls.model.config import HeadSpec
from tonecls.model.tone_model import ToneModel
from tonecls.model.vocab import Vocabulary

BUNDLE_FORMAT = 1
NETWORK_FILE = "model.keras"
VOCAB_FILE = "vocab.json"
META_FILE = "bundle.json"
CARD_FILE = "MODEL_CARD.md"
DEFAULT_BUNDLE = Path(__file__).resolve().parents[1] / "resources" / "default_model"


def save_bundle(model: ToneModel, path: str | os.PathLike) -> Path:
    """Write ``model`` as a bundle directory at ``path`` (replacing an existing bundle there)."""
    import keras

    target = Path(path)
    if target.exists() and not (target / META_FILE).is_file():
        raise InputError(f"{target} exists and is not a tonecls model bundle; choose a new directory "
                         "(an existing bundle is replaced, other folders are never overwritten).")
    partial = target.with_name(target.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    keras.saving.save_model(model.network_, partial / NETWORK_FILE)
    model.vocabulary_.save(partial / VOCAB_FILE)
    meta = {
        "format": BUNDLE_FORMAT,
        "tonecls_version": _tonecls_version(),
        "keras_version": keras.__version__,
        "heads": [h.to_dict() for h in model.heads_],
        "preprocess": model.preprocess_config_,
        "max_length": model.max_length,
        "temperatures": model.temperatures_,
        "thresholds": {name: values.tolist() for name, values in model.thresholds_.items()},
        **{k: v for k, v in model.metadata_.items() if k not in _RESERVED},
    }
    (partial / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False, default=_jsonable),
                                     encoding="utf-8")
    (partial / CARD_FILE).write_text(model_card(model), encoding="utf-8")
    if target.exists():
        old = target.with_name(target.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(target, old)
        os.replace(partial, target)
        shutil.rmtree(old)
    else:
        os.replace(partial, target)
    return target


_RESERVED = {"format", "tonecls_version", "keras_version", "heads", "preprocess", "max_length",
             "temperatures", "thresholds"}


def load_model(path: str | os.PathLike | None = None) -> ToneModel:
    """Load a model bundle; with no ``path``, the default model shipped with tonecls."""
    import keras

    import tonecls.model.network  # noqa: F401  (registers the custom layers)

    bundle = Path(path) if path is not None else DEFAULT_BUNDLE
    if not (bundle / META_FILE).is_file():
        if path is None:
            raise DataNotFoundError(f"the default model bundle is missing from {bundle}; reinstall tonecls "
                                    "or pass the path of a bundle made by `tonecls train`.")
        raise DataNotFoundError(f"{bundle} is not a tonecls model bundle (no {META_FILE}); pass a "
                                "directory written by `tonecls train` or ToneModel.save().")
    meta = json.loads((bundle / META_FILE).read_text(encoding="utf-8"))
    if meta.get("format") != BUNDLE_FORMAT:
        raise InputError(f"{bundle} has bundle format {meta.get('format')!r}; this tonecls reads format "
                         f"{BUNDLE_FORMAT}. Re-train it or use a matching tonecls version.")
    network = keras.saving.load_model(bundle / NETWORK_FILE, compile=False, safe_mode=True)
    return ToneModel(
        network=network,
        vocabulary=Vocabulary.load(bundle / VOCAB_FILE),
        heads=[HeadSpec.from_dict(h) for h in meta["heads"]],
        preprocess_config=meta["preprocess"],
        max_length=meta["max_length"],
        temperatures=meta["temperatures"],
        thresholds=meta["thresholds"],
        metadata={k: v for k, v in meta.items() if k not in _RESERVED},
    )


def _tonecls_version() -> str:
    from tonecls import __version__

    return __version__


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"cannot store {type(value).__name__} in bundle.json")


# --- model card ---------------------------------------------------------------------------------


def _metrics_table(model: ToneModel) -> str:
    metrics = model.metadata_.get("metrics", {})
    rows = ["| head | classes | metric | validation | test |", "| --- | --- | --- | --- | --- |"]
    for spec in model.heads_:
        val = metrics.get("validation", {}).get(spec.name, {})
        test = metrics.get("test", {}).get(spec.name, {})
        name = val.get("metric") or test.get("metric") or "-"
        kind = "multi-label" if spec.multilabel else "single-label"
        rows.append(f"| `{spec.name}` | {kind}: {', '.join(spec.classes)} | {name} | {_metric_cell(val)} | {_metric_cell(test)} |")
    return "\n".join(rows)


def _metric_cell(measured: dict) -> str:
    """``0.636 [0.628, 0.645] (n=12284)``: value, 95% bootstrap interval when recorded, size."""
    if not measured:
        return "not measured"
    interval = " [{:.3f}, {:.3f}]".format(*measured["ci95"]) if measured.get("ci95") else ""
    return f"{measured['value']:.3f}{interval} (n={measured['n']})"


def _data_table(model: ToneModel) -> str:
    provenance = model.metadata_.get("provenance", {})
    files = provenance.get("files", [])
    if not files:
        return "Training data provenance was not recorded."
    rows = ["| head | split | file | rows | SHA-256 |", "| --- | --- | --- | --- | --- |"]
    for item in files:
        rows.append(f"| {item['head']} | {item['split']} | `{item['file']}` | {item['rows']} | `{item['sha256'][:16]}…` |")
    return "\n".join(rows)


def model_card(model: ToneModel) -> str:
    """The ``MODEL_CARD.md`` text of ``model`` (built from its metadata)."""
    meta = model.metadata_
    config = meta.get("config", {})
    heads = ", ".join(f"`{h.name}`" for h in model.heads_)
    sources = meta.get("sources", {})
    head_lines = "\n".join(
        f"- `{h.name}` ({'multi-label' if h.multilabel else 'single-label'}): {', '.join(h.classes)}"
        f" — trained on {sources.get(h.name, 'user data')}" for h in model.heads_
    )
    aux = [h["name"] for h in config.get("heads", []) if h.get("auxiliary")]
    aux_line = (f"Auxiliary heads trained for representation sharing and dropped from the saved model: "
                f"{', '.join(aux)}.\n" if aux else "")
    network = (f"{config.get('lstm_layers', '?')} x BiLSTM({config.get('lstm_units', '?')} units per direction), "
               f"{config.get('embedding_dim', '?')}-d embeddings "
               f"({config.get('pretrained_embeddings') or 'randomly initialised'}), "
               f"{config.get('pooling', '?')} pooling, ensemble of {config.get('ensemble_size', 1)}")
    return f"""# Model card: tonecls tone model

## Model
A bidirectional-LSTM classifier of the tone of short social media posts with one output per
head: {heads}.

Network: {network}; vocabulary of {len(model.vocabulary_)} tokens; posts cut to
{model.max_length} tokens. Probabilities are calibrated by temperature scaling on validation
data; multi-label heads use per-class thresholds tuned on validation data. The full training
configuration, temperatures, thresholds and data checksums are in `bundle.json`.

{head_lines}

{aux_line}
Trained with `{meta.get('command', 'not recorded')}` (tonecls {_tonecls_version()});
training took {meta.get('training_seconds', float('nan')) / 60:.1f} min on the training machine.

## Intended use
Research use on collections of posts: measuring the distribution of sentiment and emotional
tone across many posts (social-science and mental-health research, trust-and-safety
analytics), with group-level bias audits (`tonecls audit`). Outputs are probabilities for
aggregate analysis.

**Not for decisions about individuals** (moderation, hiring, credit, clinical or legal
judgements about a person): the error rates below are far from negligible, they differ between
groups of authors, and a post's tone is not the author's state of mind.

## Data
{_data_table(model)}

TweetEval (Barbieri et al., 2020) is English tweets from SemEval tasks (2013-2018); GoEmotions
(Demszky et al., 2020) is English Reddit comments (2005-2019) labelled by crowd workers.
The sentiment training split used here is a reconstruction from the same SemEval source pool
(the official TweetEval file was unavailable); validation and test splits are the official ones.

## Metrics
Official metrics of each benchmark (TweetEval emotion: macro-F1; TweetEval sentiment:
macro-averaged recall; GoEmotions: macro-F1 over labels), on the official splits, with the
95% bootstrap interval over posts where recorded (how much the figure would move on another
sample of posts of the same size):

{_metrics_table(model)}

## Known limitations
- Figures on new data are lower than on validation data: e.g. TweetEval sentiment
  macro-recall is clearly lower on its test set (SemEval-2017, different class balance and
  topics) than on validation (see the table). Validate on a labelled sample of your own data.
- English only; trained on 2013-2019 Twitter and Reddit language. Performance drops on other
  platforms, domains, time periods, languages and code-switched text.
- Sarcasm, irony, quotes and negation over long spans are often misread; very short posts carry
  little signal.
- Emoji, hashtags and user mentions are handled by the preprocessing (see `bundle.json`), but
  tokens never seen in training map to a single unknown token.
- Labels come from crowd annotators whose judgements of emotion are subjective and culturally
  situated; the labelled classes are not the only way to describe tone.
- Single-label heads always pick one class, even for posts outside their label set.

## Ethical considerations
- Sentiment and toxicity models are known to score dialects differently, e.g. to rate posts in
  African-American English as more negative or offensive (Sap et al., 2019; Blodgett et al.,
  2016/2020). Audit the model on your own data across groups before drawing conclusions
  (`tonecls audit`, `tonecls probe`), and report uncertainty.
- Identity terms, names and religions can shift predictions (counterfactual probes measure it).
- Posts are personal data: the preprocessing scrubs handles, URLs, e-mail addresses and phone
  numbers before the model sees them, but outputs attached to posts remain personal data.
"""
