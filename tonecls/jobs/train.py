"""The ``train`` and ``evaluate`` jobs: train a bundle from a config and save it; evaluate a
bundle on the official test splits and write the comparison table."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tonecls.io import atomic_write, check_output_path
from tonecls.model import ToneModel, TrainConfig, train
from tonecls.model.bundle import check_bundle_target
from tonecls.model.evaluate import compare_with_published, record_test_metrics

__all__ = ["TrainSummary", "evaluate_bundle", "train_bundle"]


@dataclass
class TrainSummary:
    """What :func:`train_bundle` did: the bundle written and its validation / test figures."""

    path: Path
    model: ToneModel

    def __str__(self) -> str:
        meta = self.model.metadata_
        lines = [f"wrote {self.path} ({meta['training_seconds'] / 60:.1f} min of training)"]
        for split in ("validation", "test"):
            for head, m in meta["metrics"].get(split, {}).items():
                interval = " 95% CI [{:.4f}, {:.4f}]".format(*m["ci95"]) if m.get("ci95") else ""
                lines.append(f"  {split:<10} {head:<12} {m['metric']:<13} {m['value']:.4f}{interval}"
                             f"  (n={m['n']})")
        return "\n".join(lines)


def train_bundle(config: TrainConfig | Mapping[str, Any] | str | os.PathLike, output: str | os.PathLike, *,
                 data_dir: str | os.PathLike | None = None, test: bool = True, **options: Any) -> TrainSummary:
    """:func:`~tonecls.model.train` a model, score it on the test splits (unless ``test=False``)
    and save the sealed bundle to ``output``. ``options`` go to :func:`~tonecls.model.train`
    (``token_cache``, ``quiet``, ``command``). ``output`` is checked before training starts."""
    check_bundle_target(output)
    model = train(config, data_dir=data_dir, **options)
    if test:
        record_test_metrics(model, data_dir=data_dir)
    return TrainSummary(model.save(output), model)


def evaluate_bundle(model: str | os.PathLike | None = None, split: str = "test", *,
                    heads: Sequence[str] | None = None, data_dir: str | os.PathLike | None = None,
                    json_path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The bundle's official metrics beside published results
    (:func:`~tonecls.model.evaluate.compare_with_published`), also written as JSON records to
    ``json_path`` when given (its folder is checked before the evaluation starts)."""
    if json_path:
        check_output_path(None, json_path)
    table = compare_with_published(model, split, heads=heads, data_dir=data_dir)
    if json_path:
        with atomic_write(json_path) as handle:
            handle.write(table.to_json(orient="records", indent=2))
    return table
