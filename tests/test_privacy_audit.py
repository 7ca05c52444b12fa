"""The membership-inference audit of a bundle (tonecls.privacy.audit)."""

from __future__ import annotations

import numpy as np


def test_loss_attack_auc_equals_an_independent_computation_from_the_bundle_scores(tiny_audit):
    from sklearn.metrics import roc_auc_score

    model, members, non_members, result = tiny_audit
    classes = model.head("tone").classes
    losses = []
    for split in (members, non_members):
        scored = model.predict(split.texts, all_languages=True)  # the bundle's own scored probabilities
        p_true = scored[[f"tone_p_{c}" for c in classes]].to_numpy()[np.arange(len(split)), split.targets]
        losses.append(-np.log(p_true))
    is_member = np.r_[np.ones(len(members)), np.zeros(len(non_members))]
    independent = roc_auc_score(is_member, -np.concatenate(losses))
    assert abs(result.attack("loss").metrics["auc"] - independent) < 1e-9
