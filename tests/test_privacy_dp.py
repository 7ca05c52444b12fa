"""DP-SGD (tonecls.privacy.dp): per-example gradients, a public vocabulary, and a DP-trained
bundle against its plain twin."""

from __future__ import annotations

import numpy as np
import pytest

from support import DP_SETTINGS, synthetic_posts, tiny_config


@pytest.mark.slow
@pytest.mark.parametrize("method", ["vectorized", "microbatches"])
def test_per_example_gradients_equal_one_example_at_a_time(method):
    """The clipped sum of DPSGDStep equals clipping the gradients of each example computed
    alone with Keras (dropout off, no noise)."""
    from tonecls.model.keras_env import import_keras

    keras = import_keras()
    import tensorflow as tf

    from tonecls.model import HeadSpec
    from tonecls.model.network import build_network
    from tonecls.privacy.accounting import DPSGDPlan
    from tonecls.privacy.dp import DPSGDStep, example_loss

    config = tiny_config(dropout=0.0, differential_privacy={**DP_SETTINGS, "clip_norm": 0.05, "per_example_gradients": method})
    specs = [HeadSpec("tone", ["negative", "neutral", "positive"]), HeadSpec("flags", ["pos", "neg"], True)]
    network = build_network(specs, 30, config, name="net")
    ids = np.array([[3, 4, 3, 0], [5, 6, 7, 8], [9, 9, 0, 0]], dtype=np.int32)  # repeated tokens, padding
    targets = {"tone": np.array([0, 2, 1], np.int32), "flags": np.array([[1, 0], [0, 1], [1, 1]], np.float32)}
    weights = {"tone": np.array([1.0, 0.5, 0.0], np.float32), "flags": np.array([0.0, 1.0, 2.0], np.float32)}
    plan = DPSGDPlan(4, 4, 1e-3, 0.05, 0.0, 1.0, 3, 3, 1, 1, 1, 1)  # no noise, scale 1 / 3
    step = DPSGDStep(network, config, specs, plan, seed=0)
    captured = {}
    step._apply = lambda summed: captured.setdefault("summed", [np.asarray(g) for g in summed])
    step._noisy_update(tf.constant(ids), targets, weights)  # eagerly: the summed gradients are captured

    variables = step.variables
    expected = [np.zeros(v.shape) for v in variables]
    for i in range(len(ids)):
        with tf.GradientTape() as tape:
            logits = network(ids[i:i + 1], training=False)
            loss = example_loss(logits, {k: v[i] for k, v in targets.items()}, {k: v[i] for k, v in weights.items()},
                                specs, {"tone": 1.0, "flags": 1.0})
        grads = [tf.convert_to_tensor(g) for g in tape.gradient(loss, variables)]
        norm = np.sqrt(sum(float(tf.reduce_sum(g ** 2)) for g in grads))
        assert norm > 0.05  # every example is clipped
        for total, g in zip(expected, grads):
            total += np.asarray(g) * min(1.0, 0.05 / norm)
    for got, want in zip(captured["summed"], expected):
        np.testing.assert_allclose(got, want, atol=1e-6)
    del keras


@pytest.mark.slow
def test_dp_bundle_records_its_budget_and_leaks_less_than_its_plain_twin(tmp_path):
    """Same data (random labels: only memorising helps), same network: the DP bundle records
    epsilon <= target and its loss-attack AUC is clearly lower than the plain twin's."""
    from tonecls.model import LabelledSplit, load_model, train
    from tonecls.privacy import audit_membership

    posts, _ = synthetic_posts(400, seed=11)
    labels = np.random.default_rng(3).integers(0, 3, 400)
    members, non_members = LabelledSplit(posts[:200], labels[:200]), LabelledSplit(posts[200:], labels[200:])
    val_posts, val_labels = synthetic_posts(60, seed=12)
    data = {"tone": {"train": members, "val": LabelledSplit(val_posts, val_labels)}}
    options = dict(heads=tiny_config().to_dict()["heads"][:1], epochs=25, patience=25, lstm_units=16,
                   embedding_dim=16, class_weight=None, calibrate=False)
    aucs = {}
    for name, extra in (("plain", {}), ("dp", {"differential_privacy": {**DP_SETTINGS, "target_epsilon": 2.0}})):
        model = train({**tiny_config().to_dict(), **options, **extra}, data=data, quiet=True)
        bundle = load_model(model.save(tmp_path / name))
        aucs[name] = audit_membership(bundle, members, non_members, "tone", attacks=["loss"], n_resamples=300)
    privacy = bundle.metadata_["privacy"]
    assert privacy["epsilon"] <= 2.0 and privacy["delta"] == 1e-3 and privacy["sampling"] == "poisson"
    assert privacy["steps"] == 25 * 13 and privacy["noise_multiplier"] > 0
    plain, dp = (aucs[k].attack("loss").metrics for k in ("plain", "dp"))
    assert plain["auc_ci_low"] > 0.7, plain  # the plain twin memorised
    assert dp["auc"] < plain["auc"] - 0.15 and dp["auc_ci_high"] < plain["auc_ci_low"], (plain, dp)


def test_a_public_vocabulary_ignores_the_training_posts(tmp_path):
    from tonecls.model.train import build_vocabulary

    words = tmp_path / "public_words.txt"
    words.write_text("love\nhate\ntable\nlove\n", encoding="utf-8")
    training_tokens = [["secret", "name", "love"], ["secret"]]
    private, _, _ = build_vocabulary(tiny_config(differential_privacy={**DP_SETTINGS, "vocabulary": str(words)}), training_tokens)
    assert private.tokens_[2:] == ["love", "hate", "table"]
    plain, _, _ = build_vocabulary(tiny_config(), training_tokens)
    assert "secret" in plain.tokens_  # the default vocabulary comes from the training posts
    default = tiny_config(differential_privacy=DP_SETTINGS)
    from tonecls.privacy.dp import outside_budget

    assert any("vocabulary" in note for note in outside_budget(default))
    assert not any("vocabulary" in note for note in outside_budget(tiny_config(
        differential_privacy={**DP_SETTINGS, "vocabulary": str(words)})))
