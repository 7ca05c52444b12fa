"""Recalibration of one head on labelled posts (tonecls.model.recalibration) with the bundled
default model (numpy network, no TensorFlow): held-out calibration improves on a shifted set,
predictions change only as the new calibration implies, other heads are untouched, the bundle
saves and reloads the bias and the record, bad input is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tonecls.errors import InputError
from tonecls.model.calibration import expected_calibration_error
from tonecls.model.recalibration import fit_temperature_and_bias, macro_recall, recalibrate, recalibrate_logits


@pytest.fixture(scope="module")
def model():
    from tonecls import load_model

    return load_model()


@pytest.fixture(scope="module")
def sentiment_test(shared_data):
    from tonecls.datasets import load_tweeteval

    frame = load_tweeteval("sentiment", "test", data_dir=shared_data)
    return frame.sample(n=3000, random_state=0).reset_index(drop=True)


@pytest.mark.slow
def test_held_out_calibration_improves_on_a_shifted_set(model, sentiment_test):
    fit, held = sentiment_test.iloc[:1500], sentiment_test.iloc[1500:]
    new, report = recalibrate(model, fit["text"], fit["label"], "sentiment", folds=5, seed=0)
    assert report.method != "unchanged" and report.n_rows == len(fit) and report.ece_after < report.ece_before
    classes = model.head("sentiment").classes
    scores = model.compute_logits(held["text"].tolist())
    targets = np.array([classes.index(v) for v in held["label"].iloc[scores.ok_rows]])
    before = model.head_proba("sentiment", scores.logits["sentiment"])
    after = new.head_proba("sentiment", scores.logits["sentiment"])
    assert expected_calibration_error(after, targets, False) < 0.6 * expected_calibration_error(before, targets, False)
    assert macro_recall(after, targets) >= macro_recall(before, targets) - 0.01
    record = new.metadata_["recalibration"]["sentiment"]
    assert record["n_rows"] == 1500 and len(record["checksum"]) == 64 and record["date"][:2] == "20"
    assert "recalibration" not in model.metadata_ and "sentiment" not in model.biases_  # the original is kept


def test_predictions_change_only_as_the_calibration_implies(model, sentiment_test):
    texts = sentiment_test["text"].iloc[:800].tolist()
    new, report = recalibrate(model, texts, sentiment_test["label"].iloc[:800], "sentiment", seed=1)
    scores = model.compute_logits(texts)
    z = scores.logits["sentiment"].astype(np.float64)
    expected = np.argmax(z / report.temperature + np.asarray(report.bias), axis=1)
    old, now = model.predictions_from_logits(scores), new.predictions_from_logits(scores)
    classes = np.array(model.head("sentiment").classes)
    ok = now["tonecls_status"] == "ok"
    assert (now.loc[ok, "sentiment_label"].to_numpy() == classes[expected]).all()
    if not np.any(report.bias):  # a temperature alone never changes a label
        assert now["sentiment_label"].equals(old["sentiment_label"])
    other = [c for c in old.columns if not c.startswith("sentiment_")]
    assert now[other].equals(old[other])  # emotion and ekman columns untouched


def test_multi_label_predictions_keep_their_labels(model, shared_data):
    from tonecls.datasets import load_goemotions

    frame = load_goemotions("ekman", "test", data_dir=shared_data).iloc[:1200]
    labels = [";".join(v) if isinstance(v, (list, tuple, np.ndarray)) else v for v in frame["labels"]]
    new, report = recalibrate(model, frame["text"], labels, "ekman", seed=0)
    scores = model.compute_logits(frame["text"].tolist())
    assert new.predictions_from_logits(scores)["ekman_labels"].equals(model.predictions_from_logits(scores)["ekman_labels"])
    assert np.all((0 < new.thresholds_["ekman"]) & (new.thresholds_["ekman"] < 1))
    assert report.ece_after <= report.ece_before + 0.01


def test_the_bundle_saves_and_reloads_the_calibration(model, sentiment_test, tmp_path):
    from tonecls import load_model
    from tonecls.model.bundle import read_metadata

    new, report = recalibrate(model, sentiment_test["text"].iloc[:600], sentiment_test["label"].iloc[:600],
                              "sentiment", seed=2)
    back = load_model(new.save(tmp_path / "recalibrated"))
    np.testing.assert_allclose(back.biases_["sentiment"], report.bias)
    assert back.temperatures_["sentiment"] == pytest.approx(report.temperature)
    assert back.metadata_["recalibration"]["sentiment"]["ece_after"] == pytest.approx(report.ece_after)
    posts = ["what a great day", "this is awful", "the meeting is at 3"]
    np.testing.assert_allclose(back.predict_proba(posts)["sentiment"], new.predict_proba(posts)["sentiment"])
    meta_path = tmp_path / "recalibrated" / "bundle.json"
    meta = json.loads(meta_path.read_text())
    meta["biases"]["sentiment"] = [0.1, "x", 0.2]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(InputError, match="biases.sentiment"):
        read_metadata(tmp_path / "recalibrated")


def test_joint_fit_recovers_a_planted_temperature_and_bias():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4000, 3)) * 3
    true_t, true_b = 2.0, np.array([0.6, -0.2, -0.4])
    scaled = logits / true_t + true_b
    proba = np.exp(scaled) / np.exp(scaled).sum(1, keepdims=True)
    targets = np.array([rng.choice(3, p=p) for p in proba])
    t, b = fit_temperature_and_bias(logits, targets, multilabel=False)
    assert t == pytest.approx(true_t, rel=0.1)
    np.testing.assert_allclose(b, true_b - true_b.mean(), atol=0.1)


def test_bad_input_is_refused(model, sentiment_test):
    texts, labels = sentiment_test["text"].iloc[:100], sentiment_test["label"].iloc[:100]
    with pytest.raises(InputError, match="no head 'tone'"):
        recalibrate(model, texts, labels, "tone")
    with pytest.raises(InputError, match="'furious'"):
        recalibrate(model, texts, ["furious"] + list(labels[1:]), "sentiment")
    with pytest.raises(InputError, match="at least 50"):
        recalibrate(model, texts[:20], labels[:20], "sentiment")
    with pytest.raises(InputError, match="one label per post"):
        recalibrate(model, texts, labels[:99], "sentiment")
    with pytest.raises(InputError, match="folds"):
        recalibrate_logits(model, np.zeros((10, 3)), np.zeros(10, dtype=int), "sentiment", folds=1)
