"""The model card of a bundle (``MODEL_CARD.md``): intended use, data, metrics per head,
limitations and ethics, rendered from the model's own metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tonecls import __version__
from tonecls.privacy.card import privacy_card_context

__all__ = ["model_card", "model_card_context"]


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


def _base_of(record: dict[str, Any]) -> str | None:
    """The recalibrated bundle's base, as the card names it: name and version, seal digest."""
    name = record.get("base_model") or (Path(record["base_bundle"]).name if record.get("base_bundle") else None)
    digest = record.get("base_digest")
    return f"{name}{f' (bundle digest {digest[:16]}…)' if digest else ''}" if name else None


def _recalibration_entry(head: str, record: dict[str, Any], multilabel: bool) -> dict[str, Any]:
    """One head's recalibration (``bundle.json`` ``recalibration``) as the card states it."""
    method = record.get("method", "?")
    if method == "unchanged":
        chosen = "the bundle's calibration was kept (nothing refitted did better on held-out folds)"
    else:
        bias = method.partition("bias*")[2]
        chosen = f"temperature {record.get('temperature', float('nan')):.3f}" + (
            f" and a per-class bias (shrunk by {bias})" if bias else "")
    source = f"`{record['file']}` (SHA-256 `{record['file_sha256'][:16]}…`)" if record.get("file_sha256") else \
        f"posts whose texts and labels have SHA-256 `{record.get('checksum', '?')[:16]}…`"
    return {"head": head, "rows": record.get("n_rows"), "source": source, "date": record.get("date", "?"),
            "chosen": chosen, "folds": record.get("folds"), "ece_before": record.get("ece_before"),
            "ece_after": record.get("ece_after"), "base": _base_of(record),
            "moves_labels": bool(not multilabel and any(record.get("bias") or []))}


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
        "tonecls_version": __version__,
        "training_minutes": seconds / 60 if isinstance(seconds, (int, float)) else None,
        "data_sha256": meta.get("data_sha256"), "files": files,
        "dataset_notes": [_DATASET_NOTES[k] for k in ("tweeteval", "goemotions") if k in kinds],
        "has_test": bool(metrics.get("test")),
        "recalibration": [_recalibration_entry(head, record, model.head(head).multilabel)
                          for head, record in (meta.get("recalibration") or {}).items()],
        "sentiment_gap": test_values is not None and val_values is not None and val_values - test_values > 0.05,
        "benchmark_only": bool(kinds) and kinds <= {"tweeteval", "goemotions"},
        "privacy": privacy_card_context(meta),
    }


def model_card(model: Any) -> str:
    """The ``MODEL_CARD.md`` text of ``model``, rendered from ``model_card.md.j2`` with
    :func:`model_card_context`."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=False, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters.update(metric_cell=_metric_cell, ece_cell=_ece_cell, tick=lambda value: f"`{value}`")
    return env.get_template("model_card.md.j2").render(**model_card_context(model))
