"""Knowledge distillation (tonecls.model.distill): the teacher's tempered probabilities as targets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from support import synthetic_posts, tiny_config, tiny_data

from tonecls.errors import InputError
from tonecls.model import load_model, train


def _distill_config(teacher, tmp_path, **overrides):
    from tonecls.model.config import DistillConfig

    posts, _ = synthetic_posts(30, seed=7)
    pd.DataFrame({"body": posts}).to_csv(tmp_path / "unlabelled.csv", index=False)
    distill = DistillConfig(teacher=str(teacher), temperature=3.0, augment_copies=1,
                            unlabelled=[{"kind": "export", "path": str(tmp_path / "unlabelled.csv"),
                                         "text_column": "body"}])
    return tiny_config(epochs=1, distill=distill, **overrides)


@pytest.mark.slow
def test_distillation_targets_are_the_teachers_tempered_probabilities(tiny_bundle, tmp_path):
    from scipy.special import expit, softmax

    from tonecls.model.data import load_training_data
    from tonecls.model.distill import distillation_targets
    from tonecls.model.train import build_vocabulary

    config = _distill_config(tiny_bundle, tmp_path)
    loaded = load_training_data(config, tiny_data())
    vocabulary, _, _ = build_vocabulary(config, (t for n in loaded.tokenised for t in loaded.tokenised[n]["train"][0]))
    targets = distillation_targets(config, loaded, vocabulary)
    teacher = load_model(tiny_bundle)
    tokens = loaded.tokenised["tone"]["train"][0]
    logits = teacher.logits_from_tokens(tokens)
    np.testing.assert_allclose(targets.proba["tone"][targets.train_rows["tone"]],
                               softmax(logits["tone"] / 3.0, axis=1), atol=1e-5)
    np.testing.assert_allclose(targets.proba["flags"][targets.train_rows["tone"]],
                               expit(logits["flags"] / 3.0), atol=1e-5)
    # 30 unlabelled posts, then one token-dropout variant of each distinct training post
    n_distinct = len({tuple(t) for n in loaded.tokenised for t in loaded.tokenised[n]["train"][0]})
    assert len(targets.extra) == 30 + n_distinct
    assert targets.provenance["teacher"]["files_sha256"].keys() >= {"bundle.json", "model.keras", "vocab.json"}


@pytest.mark.slow
def test_distilled_student_trains_and_records_its_teacher(tiny_bundle, tmp_path):
    student = train(_distill_config(tiny_bundle, tmp_path), data=tiny_data(), quiet=True)
    distilled = student.metadata_["provenance"]["distillation"]
    assert distilled["teacher"]["path"] == str(tiny_bundle)
    assert [u["posts"] for u in distilled["unlabelled"]][0] == 30
    assert student.metadata_["config"]["distill"]["temperature"] == 3.0
    path = student.save(tmp_path / "student")
    assert set(load_model(path).predict(["love it"]).keys()) >= {"tone_label", "flags_labels"}


def test_distillation_needs_a_teacher_with_the_same_heads(tiny_bundle, tmp_path):
    config = _distill_config(tmp_path / "no_such_bundle", tmp_path)
    with pytest.raises(InputError, match="not a model bundle"):
        train(config, data=tiny_data(), quiet=True)
