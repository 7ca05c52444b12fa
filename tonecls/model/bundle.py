"""The model bundle: a directory holding everything a :class:`ToneModel` needs, and a model card.

Layout::

    <bundle>/model.keras     the Keras network (token ids -> logits per head); loads with
                             keras.saving.load_model(..., safe_mode=True) once
                             tonecls.model.network is imported (it registers the custom layers)
    <bundle>/inference.json  the same network for inference without TensorFlow
                             (:mod:`tonecls.model.inference`): architecture plus, per weight,
                             the HDF5 dataset of model.keras holding it and its checksum
    <bundle>/vocab.json      the vocabulary (token list; ids 0 and 1 are padding and OOV)
    <bundle>/bundle.json     heads, preprocessing config, max length, temperatures, thresholds,
                             metrics, data provenance, training config and command
    <bundle>/MODEL_CARD.md   intended use, data, metrics per head, limitations, ethics

This module is the only reader and writer of these files. Bundles are written atomically: into
``<bundle>.partial`` first, then renamed into place. Loading validates ``bundle.json`` against
the bundle schema and the network against it (heads, classes, vocabulary size); every problem
is an :class:`~tonecls.errors.InputError` that names the file and field.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import warnings
import zipfile
from pathlib import Path
from typing import Any

from tonecls.errors import DataNotFoundError, InputError
from tonecls.model.config import HeadSpec
from tonecls.model.vocab import Vocabulary

BUNDLE_FORMAT = 1
NETWORK_FILE = "model.keras"
INFERENCE_FILE = "inference.json"
VOCAB_FILE = "vocab.json"
META_FILE = "bundle.json"
CARD_FILE = "MODEL_CARD.md"
DEFAULT_BUNDLE = Path(__file__).resolve().parents[1] / "resources" / "default_model"


class BundleNotFoundError(InputError, DataNotFoundError):
    """The model bundle directory (or its bundle.json) does not exist."""


# --- writing ---------------------------------------------------------------------------------------


def save_bundle(model: Any, path: str | os.PathLike) -> Path:
    """Write ``model`` (a :class:`~tonecls.model.ToneModel`) as a bundle directory at ``path``
    (replacing an existing bundle there).

    A model holding a Keras network is saved with Keras and exported for inference without
    TensorFlow (the export is checked against Keras on a probe batch); a model loaded from a
    bundle (numpy network) is saved by copying its network file.
    """
    from tonecls.model.inference import InferenceNetwork

    target = Path(path)
    if target.exists() and not (target / META_FILE).is_file():
        raise InputError(f"{target} exists and is not a tonecls model bundle; choose a new directory "
                         "(an existing bundle is replaced, other folders are never overwritten).")
    network = model.network_
    if isinstance(network, InferenceNetwork) and (network.source is None or not network.source.is_file()):
        raise InputError("this model's network was not loaded from a bundle file (e.g. it was unpickled); "
                         "save the model where it was trained, or copy the bundle it was loaded from.")
    partial = target.with_name(target.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    if isinstance(network, InferenceNetwork):
        shutil.copyfile(network.source, partial / NETWORK_FILE)
        inference = network
    else:
        import keras

        from tonecls.model.keras_env import keras_numpy_copy_warning_ignored

        with keras_numpy_copy_warning_ignored():
            keras.saving.save_model(network, partial / NETWORK_FILE)
        inference = _export_keras(network, [h.name for h in model.heads_])
    if inference is not None:
        _write_json(partial / INFERENCE_FILE, inference.export_spec(partial / NETWORK_FILE))
    model.vocabulary_.save(partial / VOCAB_FILE)
    meta = {
        "format": BUNDLE_FORMAT,
        "tonecls_version": _tonecls_version(),
        "keras_version": _keras_file_version(partial / NETWORK_FILE),
        "heads": [h.to_dict() for h in model.heads_],
        "preprocess": model.preprocess_config_,
        "max_length": model.max_length,
        "temperatures": model.temperatures_,
        "thresholds": {name: values.tolist() for name, values in model.thresholds_.items()},
        **{k: v for k, v in model.metadata_.items() if k not in _RESERVED},
    }
    _write_json(partial / META_FILE, meta)
    (partial / CARD_FILE).write_text(model_card(model), encoding="utf-8")
    _replace_dir(partial, target)
    return target


def _export_keras(network: Any, heads: list[str]):
    """The numpy export of a Keras network, checked against it; None (with a warning) for a
    network the numpy kernel does not implement (then loading it needs TensorFlow)."""
    from tonecls.model.inference import ExportError, check_against_keras, from_keras

    try:
        inference = from_keras(network, heads)
    except ExportError as error:
        warnings.warn(f"the network cannot run without TensorFlow ({error}); the bundle will load it "
                      "with Keras", stacklevel=3)
        return None
    check_against_keras(inference, network)
    return inference


def export_inference(path: str | os.PathLike) -> Path:
    """Add (or refresh) ``inference.json`` in an existing bundle from its ``model.keras``.

    A maintenance step for bundles written before the numpy export existed (needs Keras);
    the export is checked against Keras before it is written. Returns the file written.
    """
    import keras

    import tonecls.model.network  # noqa: F401  (registers the custom layers)

    bundle = _bundle_dir(path)
    meta = read_metadata(bundle)
    heads = [h["name"] for h in meta["heads"]]
    network = keras.saving.load_model(bundle / NETWORK_FILE, compile=False, safe_mode=True)
    inference = _export_keras(network, heads)
    if inference is None:
        raise InputError(f"the network of {bundle} cannot be exported for inference without TensorFlow.")
    target = bundle / INFERENCE_FILE
    _write_json(target, inference.export_spec(bundle / NETWORK_FILE))
    return target


def _write_json(path: Path, data: Any) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=_jsonable) + "\n",
                       encoding="utf-8")
    os.replace(partial, path)


def _replace_dir(partial: Path, target: Path) -> None:
    if target.exists():
        old = target.with_name(target.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(target, old)
        os.replace(partial, target)
        shutil.rmtree(old)
    else:
        os.replace(partial, target)


def _keras_file_version(path: Path) -> str | None:
    """The Keras version recorded inside a ``.keras`` archive (its metadata.json)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("metadata.json")).get("keras_version")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


_RESERVED = {"format", "tonecls_version", "keras_version", "heads", "preprocess", "max_length",
             "temperatures", "thresholds"}


# --- reading and validation -------------------------------------------------------------------------


def _bundle_dir(path: str | os.PathLike | None) -> Path:
    bundle = Path(path).expanduser() if path is not None else DEFAULT_BUNDLE
    if not (bundle / META_FILE).is_file():
        if path is None:
            raise BundleNotFoundError(f"the default model bundle is missing from {bundle}; reinstall tonecls "
                                      "or pass the path of a bundle made by `tonecls train`.")
        what = "does not exist" if not bundle.exists() else f"is not a tonecls model bundle (no {META_FILE})"
        raise BundleNotFoundError(f"{bundle} {what}; pass a directory written by `tonecls train` or "
                                  "ToneModel.save().")
    return bundle


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path} is missing: the model bundle is incomplete ({what}); copy the whole "
                         "bundle directory again or re-train it.") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise InputError(f"{path} is not valid JSON ({error}); the model bundle is damaged: copy it again "
                         "or re-train it.") from None


def read_metadata(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The validated ``bundle.json`` of the bundle at ``path`` (None: the default bundle),
    without loading the network. Raises :class:`InputError` naming the field on a bad value."""
    bundle = _bundle_dir(path)
    meta = _read_json(bundle / META_FILE, "its metadata")
    validate_metadata(meta, bundle / META_FILE)
    return meta


def _fail(where: Path | str, field: str, problem: str) -> InputError:
    return InputError(f"{where}: field `{field}` {problem}. The bundle is damaged or was edited by hand: "
                      "re-train it or restore the original bundle.json.")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate_metadata(meta: Any, where: Path | str = META_FILE) -> None:
    """Check ``bundle.json`` contents against the bundle schema (types, ranges, consistency).

    Required: ``format`` (== BUNDLE_FORMAT), ``heads`` (non-empty list of {name, classes,
    multilabel} with unique names and classes), ``preprocess`` (object), ``max_length``
    (integer > 0), ``temperatures`` (one finite number > 0 per head, no other keys),
    ``thresholds`` (per multi-label head, one number in [0, 1] per class, no other keys).
    Optional fields written by training (``config``, ``metrics``, ``provenance``, ...) must be
    of their type when present; other fields are kept as they are.
    """
    if not isinstance(meta, dict):
        raise InputError(f"{where} must hold a JSON object, not {type(meta).__name__}.")
    if meta.get("format") != BUNDLE_FORMAT:
        raise InputError(f"{where}: bundle format {meta.get('format')!r}; this tonecls reads format "
                         f"{BUNDLE_FORMAT}. Re-train the model or use a matching tonecls version.")
    for key in ("heads", "preprocess", "max_length", "temperatures", "thresholds"):
        if key not in meta:
            raise _fail(where, key, "is missing")
    heads = meta["heads"]
    if not isinstance(heads, list) or not heads:
        raise _fail(where, "heads", "must be a non-empty list")
    names = []
    for i, head in enumerate(heads):
        field = f"heads[{i}]"
        if not isinstance(head, dict) or set(head) - {"name", "classes", "multilabel"}:
            raise _fail(where, field, "must be an object with keys name, classes, multilabel")
        name, classes = head.get("name"), head.get("classes")
        if not isinstance(name, str) or not name:
            raise _fail(where, f"{field}.name", "must be a non-empty string")
        if not isinstance(classes, list) or not classes or not all(isinstance(c, str) and c for c in classes):
            raise _fail(where, f"{field}.classes", "must be a non-empty list of non-empty strings")
        if len(set(classes)) != len(classes):
            raise _fail(where, f"{field}.classes", "has duplicate classes")
        if not isinstance(head.get("multilabel", False), bool):
            raise _fail(where, f"{field}.multilabel", "must be true or false")
        if not head.get("multilabel", False) and len(classes) < 2:
            raise _fail(where, f"{field}.classes", "must list at least 2 classes for a single-label head")
        names.append(name)
    if len(set(names)) != len(names):
        raise _fail(where, "heads", f"has duplicate head names {names}")
    if not isinstance(meta["preprocess"], dict):
        raise _fail(where, "preprocess", "must be an object (a PreprocessConfig)")
    max_length = meta["max_length"]
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length <= 0:
        raise _fail(where, "max_length", f"must be an integer > 0, got {max_length!r}")
    temperatures = meta["temperatures"]
    if not isinstance(temperatures, dict) or set(temperatures) != set(names):
        raise _fail(where, "temperatures", f"must have one entry per head {names}, got "
                    f"{sorted(temperatures) if isinstance(temperatures, dict) else temperatures!r}")
    for name, value in temperatures.items():
        if not _is_number(value) or value <= 0:
            raise _fail(where, f"temperatures.{name}", f"must be a finite number > 0, got {value!r}")
    multilabel = {h["name"]: h["classes"] for h in heads if h.get("multilabel", False)}
    thresholds = meta["thresholds"]
    if not isinstance(thresholds, dict) or set(thresholds) != set(multilabel):
        raise _fail(where, "thresholds", f"must have one entry per multi-label head {sorted(multilabel)}, got "
                    f"{sorted(thresholds) if isinstance(thresholds, dict) else thresholds!r}")
    for name, values in thresholds.items():
        if (not isinstance(values, list) or len(values) != len(multilabel[name])
                or not all(_is_number(v) and 0.0 <= v <= 1.0 for v in values)):
            raise _fail(where, f"thresholds.{name}", f"must be {len(multilabel[name])} numbers in [0, 1] "
                        f"(one per class), got {values!r}")
    for key, kind in _OPTIONAL_TYPES.items():
        if key in meta and meta[key] is not None and not isinstance(meta[key], kind):
            names_of = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise _fail(where, key, f"must be of type {names_of}, got {type(meta[key]).__name__}")


_OPTIONAL_TYPES: dict[str, Any] = {
    "tonecls_version": str, "keras_version": str, "name": str, "version": str, "command": str,
    "config": dict, "sources": dict, "provenance": dict, "metrics": dict, "training": list,
    "training_seconds": (int, float), "privacy": dict,
}


def read_bundle(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Read and validate a bundle: the keyword arguments of :class:`~tonecls.model.ToneModel`.

    The network is the numpy export (``inference.json``, no TensorFlow) when the bundle has
    one, else the Keras network (with a warning: run :func:`export_inference` on the bundle).
    """
    bundle = _bundle_dir(path)
    meta = read_metadata(bundle)
    heads = [HeadSpec.from_dict(h) for h in meta["heads"]]
    tokens = _read_json(bundle / VOCAB_FILE, "its vocabulary")
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise InputError(f"{bundle / VOCAB_FILE} must hold a JSON list of token strings; the bundle is damaged.")
    vocabulary = Vocabulary(tokens)
    if (bundle / INFERENCE_FILE).is_file():
        network = _load_numpy_network(bundle, heads, len(vocabulary))
    else:
        warnings.warn(f"{bundle} has no {INFERENCE_FILE}: loading its network with Keras (slow start). "
                      "Add the export once with tonecls.model.bundle.export_inference(path).", stacklevel=3)
        network = _load_keras_network(bundle, heads, len(vocabulary))
    return {
        "network": network, "vocabulary": vocabulary, "heads": heads, "preprocess_config": meta["preprocess"],
        "max_length": meta["max_length"], "temperatures": meta["temperatures"], "thresholds": meta["thresholds"],
        "metadata": {k: v for k, v in meta.items() if k not in _RESERVED},
    }


def _load_numpy_network(bundle: Path, heads: list[HeadSpec], vocab_size: int):
    from tonecls.model.inference import ExportError, load_inference

    where = bundle / INFERENCE_FILE
    spec = _read_json(where, "its inference export")
    if not isinstance(spec, dict) or not isinstance(spec.get("weights"), dict) or \
            not isinstance(spec.get("members"), list) or not isinstance(spec.get("weights_file"), str):
        raise InputError(f"{where} is not a tonecls inference export (weights, members, weights_file); "
                         "re-create it with tonecls.model.bundle.export_inference(path).")
    if spec.get("heads") != [h.name for h in heads]:
        raise InputError(f"{where} has heads {spec.get('heads')}, but {META_FILE} lists "
                         f"{[h.name for h in heads]}: the files come from different models.")
    try:
        network = load_inference(spec, bundle)
    except (ValueError, KeyError, TypeError, ExportError) as error:
        raise InputError(f"cannot load the network of {bundle}: {error}. Copy the bundle again or re-train it.") \
            from None
    for head in heads:
        if network.head_units(head.name) != len(head.classes):
            raise InputError(f"{bundle}: head {head.name!r} has {len(head.classes)} classes in {META_FILE} "
                             f"but the network outputs {network.head_units(head.name)} logits.")
    if network.vocab_size != vocab_size:
        raise InputError(f"{bundle}: {VOCAB_FILE} has {vocab_size} tokens (with padding and unknown) but the "
                         f"network's embedding has {network.vocab_size} rows: the files come from different models.")
    return network


def _load_keras_network(bundle: Path, heads: list[HeadSpec], vocab_size: int):
    import keras

    import tonecls.model.network  # noqa: F401  (registers the custom layers)

    try:
        network = keras.saving.load_model(bundle / NETWORK_FILE, compile=False, safe_mode=True)
    except Exception as error:  # noqa: BLE001  (Keras raises ValueError, OSError, TypeError... on bad files)
        raise InputError(f"cannot load {bundle / NETWORK_FILE}: {error}. Copy the bundle again or re-train it "
                         "(bundles containing code are refused).") from None
    outputs = network.output if isinstance(network.output, dict) else None
    for head in heads if outputs is not None else []:
        if head.name not in outputs or outputs[head.name].shape[-1] != len(head.classes):
            raise InputError(f"{bundle}: head {head.name!r} ({len(head.classes)} classes in {META_FILE}) is not "
                             f"an output of the network (outputs: {sorted(outputs)}).")
    rows = network.get_layer("embedding").input_dim if "embedding" in {l.name for l in network.layers} else None
    if rows is not None and rows != vocab_size:
        raise InputError(f"{bundle}: {VOCAB_FILE} has {vocab_size} tokens but the embedding has {rows} rows.")
    return network


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


_TEMPLATES = Path(__file__).resolve().parents[1] / "resources" / "templates"
_DATASET_NOTES = {
    "tweeteval": "TweetEval (Barbieri et al., 2020) is English tweets from SemEval tasks (2013-2018). "
                 "The sentiment training split used here is a reconstruction from the same SemEval "
                 "source pool (the official TweetEval file was unavailable); its validation and test "
                 "splits are the official ones.",
    "goemotions": "GoEmotions (Demszky et al., 2020) is English Reddit comments (2005-2019) labelled "
                  "by crowd workers; the splits are the official ones.",
}


_LONG_POSTS = {"full": "longer posts are scored over all their tokens",
               "windows": "longer posts are scored in overlapping windows, averaged",
               "truncate": "longer posts are cut"}


def _metric_cell(measured: dict | None) -> str:
    """``0.636 [0.628, 0.645] (n=12284)``: value, 95% bootstrap interval when recorded, size."""
    if not measured:
        return "not measured"
    interval = " [{:.3f}, {:.3f}]".format(*measured["ci95"]) if measured.get("ci95") else ""
    return f"{measured['value']:.3f}{interval} (n={measured['n']})"


def _ece_cell(measured: dict | None) -> str:
    if not measured or measured.get("ece") is None:
        return "not measured"
    return f"{measured['ece']:.3f}"


def _display_path(path: str) -> str:
    """A benchmark file as ``tweeteval/<task>/<file>`` (not the training machine's folders); a
    user's export as recorded."""
    parts = Path(path).parts
    for root in ("tweeteval", "goemotions"):
        if root in parts:
            return "/".join(parts[len(parts) - 1 - parts[::-1].index(root):])
    return str(path)


def model_card_context(model: Any) -> dict[str, Any]:
    """What the model card says, from the model's own metadata (config, sources, files, metrics)."""
    from tonecls.model.config import HeadConfig

    meta = model.metadata_
    config = meta.get("config", {}) or {}
    head_configs = {h["name"]: HeadConfig.from_dict(h) for h in config.get("heads", [])}
    sources = meta.get("sources", {})
    metrics = meta.get("metrics", {})
    heads = []
    for spec in model.heads_:
        validation = metrics.get("validation", {}).get(spec.name)
        test = metrics.get("test", {}).get(spec.name)
        metric_name = (validation or {}).get("metric") or (test or {}).get("metric") or "-"
        heads.append({"name": spec.name, "classes": spec.classes, "multilabel": spec.multilabel,
                      "source": sources.get(spec.name, "data that was not recorded"),
                      "metric_name": metric_name, "validation": validation, "test": test})
    kinds = {h.source.kind for h in head_configs.values()}
    files = [{**item, "file": _display_path(item["file"])} for item in meta.get("provenance", {}).get("files", [])]
    network = (f"{config.get('lstm_layers', '?')} x BiLSTM({config.get('lstm_units', '?')} units per direction), "
               f"{config.get('embedding_dim', '?')}-d embeddings "
               f"({config.get('pretrained_embeddings') or 'randomly initialised'}), "
               f"{config.get('pooling', '?')} pooling")
    size = int(config.get("ensemble_size", 1) or 1)
    network += f", ensemble of {size} networks (averaged logits)" if size > 1 else ", one network"
    test_values = metrics.get("test", {}).get("sentiment", {}).get("value")
    val_values = metrics.get("validation", {}).get("sentiment", {}).get("value")
    seconds = meta.get("training_seconds")
    return {
        "name": meta.get("name") or "tonecls tone model", "version": meta.get("version"),
        "heads": heads, "any_multilabel": any(h.multilabel for h in model.heads_),
        "network": network, "vocabulary_size": len(model.vocabulary_), "max_length": model.max_length,
        "long_posts": _LONG_POSTS.get(getattr(model, "long_posts", "full"), "longer posts: see the README"),
        "auxiliary": [h.name for h in head_configs.values() if h.auxiliary],
        "distillation": meta.get("provenance", {}).get("distillation"),
        "distill_config": config.get("distill") or {},
        "trained_at": meta.get("trained_at"), "command": meta.get("command", "not recorded"),
        "tonecls_version": _tonecls_version(),
        "training_minutes": seconds / 60 if isinstance(seconds, (int, float)) else None,
        "data_sha256": meta.get("data_sha256"), "files": files,
        "dataset_notes": [_DATASET_NOTES[k] for k in ("tweeteval", "goemotions") if k in kinds],
        "has_test": bool(metrics.get("test")),
        "sentiment_gap": test_values is not None and val_values is not None and val_values - test_values > 0.05,
        "benchmark_only": bool(kinds) and kinds <= {"tweeteval", "goemotions"},
        "privacy": _privacy_context(meta),
    }


def _privacy_context(meta: dict[str, Any]) -> dict[str, Any]:
    """The card's privacy section (:mod:`tonecls.privacy.card`)."""
    from tonecls.privacy.card import privacy_card_context

    return privacy_card_context(meta)


def model_card(model: Any) -> str:
    """The ``MODEL_CARD.md`` text of ``model``, rendered from ``model_card.md.j2`` with
    :func:`model_card_context`."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=False, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters.update(metric_cell=_metric_cell, ece_cell=_ece_cell, tick=lambda value: f"`{value}`")
    return env.get_template("model_card.md.j2").render(**model_card_context(model))
