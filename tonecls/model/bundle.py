"""The model bundle: a sealed directory holding everything a :class:`ToneModel` needs.

Layout::

    <bundle>/model.keras     the Keras network (token ids -> logits per head); loads with
                             keras.saving.load_model(..., safe_mode=True) once
                             tonecls.model.network is imported (it registers the custom layers)
    <bundle>/inference.json  the same network for inference without TensorFlow
                             (:mod:`tonecls.model.inference_spec`)
    <bundle>/vocab.json      the vocabulary (token list; ids 0 and 1 are padding and OOV)
    <bundle>/bundle.json     heads, preprocessing config, max length, temperatures, thresholds,
                             metrics, data provenance, training config and command
    <bundle>/MODEL_CARD.md   intended use, data, metrics per head, limitations, ethics
    <bundle>/SHA256SUMS      the seal: the SHA-256 of every other file (``sha256sum -c`` reads it)

This module is the only reader and writer of these files. Bundles are written atomically (into
``<bundle>.partial``, then renamed into place) and sealed. Loading checks the seal first (a file
changed, added to the seal's list or missing is refused, naming the file; :func:`seal_bundle`
re-seals a bundle edited on purpose), then validates ``bundle.json`` and the vocabulary, and the
network description before any weight is read; every problem is an
:class:`~tonecls.errors.InputError` that names the file and field.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import warnings
import zipfile
from pathlib import Path
from typing import Any

from tonecls.errors import DataNotFoundError, InputError
from tonecls.io.files import atomic_write, atomic_write_json, replace_dir, sha256_bytes, sha256_file
from tonecls.model.card import model_card
from tonecls.model.config import HeadSpec
from tonecls.model.vocab import Vocabulary

__all__ = ["BundleNotFoundError", "DEFAULT_BUNDLE", "bundle_digest", "check_bundle_target", "read_bundle",
           "read_metadata", "save_bundle", "seal_bundle", "validate_metadata"]

BUNDLE_FORMAT = 1
NETWORK_FILE = "model.keras"
INFERENCE_FILE = "inference.json"
VOCAB_FILE = "vocab.json"
META_FILE = "bundle.json"
CARD_FILE = "MODEL_CARD.md"
SEAL_FILE = "SHA256SUMS"
DEFAULT_BUNDLE = Path(__file__).resolve().parents[1] / "resources" / "default_model"
MAX_VOCABULARY = 10_000_000


class BundleNotFoundError(InputError, DataNotFoundError):
    """The model bundle directory (or its bundle.json) does not exist."""


# --- writing ---------------------------------------------------------------------------------------


def check_bundle_target(path: str | os.PathLike, base: str | os.PathLike | None = None) -> Path:
    """``path`` as a Path if a bundle can be saved there: a new directory or an existing bundle
    (which is replaced) that is not ``base`` (the bundle a new one derives from), in a folder
    this process can write; anything else is refused, before any slow work."""
    from tonecls.io.files import check_output_path

    target = Path(path)
    if target.exists() and not (target / META_FILE).is_file():
        raise InputError(f"{target} exists and is not a tonecls model bundle; choose a new directory "
                         "(an existing bundle is replaced, other folders are never overwritten).")
    if base is not None and target.resolve() == Path(base).resolve():
        raise InputError(f"the output {target} is the bundle it derives from; write the new model to another "
                         "directory (the original bundle stays as it is).")
    inside = next((parent for parent in target.resolve().parents if (parent / META_FILE).is_file()), None)
    if inside is not None:
        raise InputError(f"the output {target} is inside the model bundle {inside}, which a new folder would "
                         "break (a bundle holds only its own files); write the new model beside it instead.")
    check_output_path(None, target / META_FILE)  # its folder can be created and written
    return target


def save_bundle(model: Any, path: str | os.PathLike) -> Path:
    """Write ``model`` (a :class:`~tonecls.model.ToneModel`) as a sealed bundle directory at
    ``path`` (replacing an existing bundle there).

    A model holding a Keras network is saved with Keras and exported for inference without
    TensorFlow (the export is checked against Keras on a probe batch); a model loaded from a
    bundle (numpy network) is saved by copying its network file.
    """
    from tonecls.model.inference import InferenceNetwork
    from tonecls.model.inference_spec import network_spec

    target = check_bundle_target(path)
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
        atomic_write_json(partial / INFERENCE_FILE, network_spec(inference, partial / NETWORK_FILE))
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
        **({"biases": {name: values.tolist() for name, values in model.biases_.items()}}
           if getattr(model, "biases_", None) else {}),
        **{k: v for k, v in model.metadata_.items() if k not in _RESERVED},
    }
    atomic_write_json(partial / META_FILE, meta, default=_jsonable)
    with atomic_write(partial / CARD_FILE) as card:
        card.write(model_card(model))
    _write_seal(partial)
    replace_dir(partial, target)
    return target


def _export_keras(network: Any, heads: list[str]):
    """The numpy export of a Keras network, checked against it; None (with a warning) for a
    network the numpy kernel does not implement (then loading it needs TensorFlow)."""
    from tonecls.model.keras_export import ExportError, check_against_keras, from_keras

    try:
        inference = from_keras(network, heads)
    except ExportError as error:
        warnings.warn(f"the network cannot run without TensorFlow ({error}); the bundle will load it "
                      "with Keras", stacklevel=3)
        return None
    check_against_keras(inference, network)
    return inference


def _keras_file_version(path: Path) -> str | None:
    """The Keras version recorded inside a ``.keras`` archive (its metadata.json)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("metadata.json")).get("keras_version")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


_RESERVED = {"format", "tonecls_version", "keras_version", "heads", "preprocess", "max_length",
             "temperatures", "thresholds", "biases"}


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"cannot store {type(value).__name__} in bundle.json")


def _tonecls_version() -> str:
    from tonecls import __version__

    return __version__


# --- the seal --------------------------------------------------------------------------------------


def _sealed_files(bundle: Path) -> list[str]:
    """The files of a bundle the seal covers: every regular file but the seal itself."""
    names = []
    for entry in sorted(bundle.iterdir()):
        if entry.name == SEAL_FILE:
            continue
        if entry.is_symlink() or not entry.is_file():
            raise InputError(f"{entry} is a link or a folder; a model bundle holds plain files only. "
                             "Replace it by the file itself (or remove it), then seal the bundle again.")
        names.append(entry.name)
    return names


def _write_seal(bundle: Path) -> None:
    lines = [f"{sha256_file(bundle / name)}  {name}\n" for name in _sealed_files(bundle)]
    with atomic_write(bundle / SEAL_FILE) as seal:
        seal.write("".join(lines))


_SEAL_LINE = re.compile(r"([0-9A-Fa-f]{64}) [ *](.+)")


def _read_seal(bundle: Path) -> dict[str, str]:
    path = bundle / SEAL_FILE
    if not path.is_file():
        raise InputError(f"{bundle} has no {SEAL_FILE}: the bundle is not sealed, so tonecls cannot tell "
                         "whether its files are the ones it was saved with. If you trust it (e.g. you edited "
                         f"it on purpose), seal it with `tonecls seal {bundle}`.")
    recorded: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines(): U+2028 may be in a file name
    for number, line in enumerate(lines[:-1] if lines[-1] == "" else lines, start=1):
        match = _SEAL_LINE.fullmatch(line.removesuffix("\r"))  # sha256sum's text (" ") or binary (*) mark
        name = match.group(2) if match else ""
        if not match or Path(name).name != name or name in recorded:
            raise InputError(f"{path}, line {number}, is not '<sha256>  <file name>'; the seal is damaged: "
                             "copy the bundle again, or re-seal it with `tonecls seal` if you trust it.")
        recorded[name] = match.group(1).lower()  # hex in either case, as sha256sum -c reads it
    return recorded


def check_seal(bundle: Path) -> str:
    """Verify every file of ``bundle`` against its seal; returns the seal's own SHA-256 (the
    bundle's digest). A file changed, missing, or present but not sealed is refused by name."""
    recorded = _read_seal(bundle)
    present = set(_sealed_files(bundle))
    for name in sorted(present | set(recorded)):
        if name not in recorded:
            problem = "is not in the bundle's seal (added after the bundle was saved)"
        elif name not in present:
            problem = "is missing"
        elif sha256_file(bundle / name) != recorded[name]:
            problem = "was changed after the bundle was saved (its SHA-256 differs from the seal)"
        else:
            continue
        raise InputError(f"{bundle / name} {problem}. Copy the whole bundle again or re-train it; if the "
                         f"change is yours and intended, re-seal the bundle with `tonecls seal {bundle}`.")
    return sha256_bytes((bundle / SEAL_FILE).read_bytes())


def _check_preprocess_config(bundle: Path, config: Any) -> None:
    """The recorded preprocessing is one the tokeniser takes (checked on load, so before sealing)."""
    from tonecls.preprocess import PreprocessConfig

    try:
        PreprocessConfig.from_dict(config)
    except (InputError, TypeError, ValueError, AttributeError) as error:
        raise InputError(f"{bundle / META_FILE}: its 'preprocess' settings are not valid ({error}); copy the "
                         "bundle again or re-train it.") from None


def seal_bundle(path: str | os.PathLike) -> Path:
    """Seal the bundle at ``path`` as it is now (after editing it on purpose): it is loaded and
    validated in full first, then ``SHA256SUMS`` is rewritten. Returns the seal's path."""
    bundle = _bundle_dir(path)
    read_bundle(bundle, verify_seal=False)
    _write_seal(bundle)
    return bundle / SEAL_FILE


def bundle_digest(path: str | os.PathLike | None = None, *, verify: bool = False) -> str:
    """The digest that identifies the bundle at ``path`` (None: the default bundle): the SHA-256
    of its seal, which holds the SHA-256 of every file. Reads the seal only, unless ``verify``:
    then every file is checked against it first (:func:`check_seal`)."""
    if verify:
        return check_seal(_bundle_dir(path))
    seal = _bundle_dir(path) / SEAL_FILE
    try:
        return sha256_bytes(seal.read_bytes())
    except OSError:
        _read_seal(seal.parent)  # says what is wrong
        raise


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
    _validate_biases(meta.get("biases"), {h["name"]: h["classes"] for h in heads}, where)
    for key, kind in _OPTIONAL_TYPES.items():
        if key in meta and meta[key] is not None and not isinstance(meta[key], kind):
            names_of = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise _fail(where, key, f"must be of type {names_of}, got {type(meta[key]).__name__}")


def _validate_biases(biases: Any, classes: dict[str, list[str]], where: Path | str) -> None:
    """``biases`` (optional, written by recalibration): per head, one finite number per class."""
    if biases is None:
        return
    if not isinstance(biases, dict) or set(biases) - set(classes):
        raise _fail(where, "biases", f"must map heads of {sorted(classes)} to lists of numbers, got {biases!r}")
    for name, values in biases.items():
        if not isinstance(values, list) or len(values) != len(classes[name]) or not all(map(_is_number, values)):
            raise _fail(where, f"biases.{name}", f"must be {len(classes[name])} finite numbers (one per class), "
                        f"got {values!r}")


_OPTIONAL_TYPES: dict[str, Any] = {
    "tonecls_version": str, "keras_version": str, "name": str, "version": str, "command": str,
    "config": dict, "sources": dict, "provenance": dict, "metrics": dict, "training": list,
    "training_seconds": (int, float), "privacy": dict, "recalibration": dict,
}




def _read_vocabulary(bundle: Path) -> Vocabulary:
    """The vocabulary of ``vocab.json``: unique token strings (ids 2, 3, ... in order)."""
    from tonecls.model.vocab import OOV_TOKEN, PAD_TOKEN

    where = bundle / VOCAB_FILE
    tokens = _read_json(where, "its vocabulary")
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens) \
            or len(tokens) > MAX_VOCABULARY:
        raise InputError(f"{where} must hold a JSON list of at most {MAX_VOCABULARY:,} token strings; the "
                         "bundle is damaged.")
    seen: set[str] = {PAD_TOKEN, OOV_TOKEN}
    for token in tokens:
        if token in seen:
            raise InputError(f"{where} lists the token {token!r} more than once (or a reserved token), which "
                             "would shift the ids of the tokens after it; the bundle is damaged.")
        seen.add(token)
    return Vocabulary(tokens)


def read_bundle(path: str | os.PathLike | None = None, *, verify_seal: bool = True) -> dict[str, Any]:
    """Read and validate a bundle: the keyword arguments of :class:`~tonecls.model.ToneModel`
    and, under ``"source"``, the bundle's path and digest.

    The seal is checked first (``verify_seal=False`` only to re-seal, :func:`seal_bundle`).
    The network is the numpy export (``inference.json``, no TensorFlow) when the bundle has
    one, else the Keras network (with a warning).
    """
    bundle = _bundle_dir(path)
    digest = check_seal(bundle) if verify_seal else None
    meta = read_metadata(bundle)
    heads = [HeadSpec.from_dict(h) for h in meta["heads"]]
    vocabulary = _read_vocabulary(bundle)
    _check_preprocess_config(bundle, meta["preprocess"])
    if (bundle / INFERENCE_FILE).is_file():
        network = _load_numpy_network(bundle, heads, len(vocabulary))
    else:
        warnings.warn(f"{bundle} has no {INFERENCE_FILE}: loading its network with Keras (slow start, "
                      "and TensorFlow must be installed).", stacklevel=3)
        network = _load_keras_network(bundle, heads, len(vocabulary))
    return {
        "network": network, "vocabulary": vocabulary, "heads": heads, "preprocess_config": meta["preprocess"],
        "max_length": meta["max_length"], "temperatures": meta["temperatures"], "thresholds": meta["thresholds"],
        "biases": meta.get("biases"), "metadata": {k: v for k, v in meta.items() if k not in _RESERVED},
        "source": {"bundle": str(bundle.resolve()), "digest": digest},
    }


def _load_numpy_network(bundle: Path, heads: list[HeadSpec], vocab_size: int):
    from tonecls.model.inference import ExportError
    from tonecls.model.inference_spec import check_spec, load_network

    where = bundle / INFERENCE_FILE
    spec = _read_json(where, "its inference export")
    try:
        check_spec(spec, bundle)
    except ValueError as error:
        raise InputError(f"{where}: {error}. The bundle is damaged or was edited by hand: copy it again or "
                         "re-train it.") from None
    if spec.get("heads") != [h.name for h in heads]:
        raise InputError(f"{where} has heads {spec.get('heads')}, but {META_FILE} lists "
                         f"{[h.name for h in heads]}: the files come from different models.")
    for head in heads:
        declared = spec["weights"][f"0/heads/{head.name}/bias"]["shape"][0]
        if declared != len(head.classes):
            raise InputError(f"{bundle}: head {head.name!r} has {len(head.classes)} classes in {META_FILE} "
                             f"but the network outputs {declared} logits.")
    rows = spec["weights"]["0/embedding"]["shape"][0]
    if rows != vocab_size:
        raise InputError(f"{bundle}: {VOCAB_FILE} has {vocab_size} tokens (with padding and unknown) but the "
                         f"network's embedding has {rows} rows: the files come from different models.")
    try:
        return load_network(spec, bundle)
    except (ValueError, KeyError, TypeError, ExportError) as error:
        raise InputError(f"cannot load the network of {bundle}: {error}. Copy the bundle again or re-train it.") \
            from None


def _load_keras_network(bundle: Path, heads: list[HeadSpec], vocab_size: int):
    try:
        import keras
    except ImportError:
        raise InputError(f"{bundle} holds a network that only Keras can run, and Keras is not installed: "
                         "pip install 'tonecls[train]'.") from None

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
