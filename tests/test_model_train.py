"""Multi-task training (tonecls.model.train) of tiny models on synthetic posts whose tone is
carried by a few words (the tests check behaviour, not accuracy)."""

from __future__ import annotations

import numpy as np
import pytest

from support import synthetic_posts, tiny_config, tiny_data

from tonecls.model import LabelledSplit, train


@pytest.mark.slow
def test_training_adds_the_extra_pretrained_words(tmp_path):
    glove = tmp_path / "vectors.txt"
    glove.write_text("the 1 0\ncomey 0 1\nbannon 1 1\naleppo 2 2\nrare 3 3\n", encoding="utf-8")
    model = train(tiny_config(embedding_dim=2, epochs=1, pretrained_embeddings=str(glove),
                              pretrained_extra_words=3), data=tiny_data(60), quiet=True)
    assert {"comey", "bannon", "aleppo"} <= set(model.vocabulary_.tokens_)


def _uneven_data(seed: int) -> dict:
    """Mostly 3-token posts and a few long ones: the first batches Keras peeks at are all 3
    tokens wide, later ones are not, and the last batch is smaller."""
    rng = np.random.default_rng(seed)
    posts, labels = synthetic_posts(70, seed=seed)
    short = [" ".join(p.split()[:3]) for p in posts]
    for i in rng.choice(len(short), 5, replace=False):
        short[i] = posts[i] + " " + " ".join(["the"] * int(rng.integers(5, 30)))
    split = LabelledSplit(short, labels)
    return {"tone": {"train": split, "val": split}}


@pytest.mark.slow
@pytest.mark.parametrize("seed, batch_size", [(0, 1), (3, 16), (5, 33)])
def test_training_never_fails_on_batch_widths_or_sizes(seed, batch_size):
    # Keras fixes the input shape from the first batches of a PyDataset; training feeds a
    # tf.data pipeline whose batch and time dimensions are declared variable
    config = tiny_config(batch_size=batch_size, epochs=2, patience=5, seed=seed)
    config.heads = config.heads[:1]
    model = train(config, data=_uneven_data(seed), quiet=True)
    assert np.isfinite(model.metadata_["metrics"]["validation"]["tone"]["value"])
    assert [e["epoch"] for e in model.metadata_["training"][0]["epochs"]] == [1, 2]


def test_tiny_model_learns_and_records_validation_metrics(tiny_model):
    assert [h.name for h in tiny_model.heads_] == ["tone", "flags"]
    metrics = tiny_model.metadata_["metrics"]["validation"]
    assert set(metrics) == {"tone", "flags"}
    assert metrics["tone"]["metric"] == "macro_f1"
    assert metrics["tone"]["value"] > 0.5  # chance is ~0.33 on three balanced classes
    assert [run["best_epoch"] >= 1 for run in tiny_model.metadata_["training"]] == [True, True]
    assert tiny_model.network_.name == "tonecls_ensemble"
