"""The numpy network (tonecls.model.inference) against Keras: every network build_network makes,
a trained ensemble and the shipped bundle give the same logits; it pickles without its tables."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from support import ROOT

from tonecls.model import load_model
from tonecls.model.bundle import DEFAULT_BUNDLE, NETWORK_FILE
from tonecls.model.inference import InferenceNetwork
from tonecls.model.keras_export import probe_batch


@pytest.mark.parametrize("pooling", ["max", "attention", "max_attention"])
@pytest.mark.parametrize("lstm_layers", [1, 2])
@pytest.mark.parametrize("members", [1, 3])
def test_numpy_network_equals_keras(keras_setup, pooling, lstm_layers, members, monkeypatch):
    """Every network build_network makes (each pooling, stacked layers, ensembles): same logits,
    for words with a per-word table row and rare words without one (beyond the first 7)."""
    keras, heads, make_config = keras_setup
    from tonecls.model import inference
    from tonecls.model.keras_export import from_keras
    from tonecls.model.network import build_network
    from tonecls.model.network import ensemble_network

    monkeypatch.setattr(inference, "TABLE_WORDS", 7)
    monkeypatch.setattr(inference, "TABLE_BLOCK", 3)

    config = make_config(embedding_dim=6, lstm_units=5, lstm_layers=lstm_layers, pooling=pooling)
    networks = []
    for m in range(members):
        keras.utils.set_random_seed(m)
        network = build_network(heads, 40, config, name=f"net_{m}")
        # non-zero biases everywhere: zero-initialised biases would hide a wrong mapping
        for layer in network.layers:
            layer.set_weights([w + np.random.default_rng(m).normal(0, 0.3, w.shape).astype("float32")
                               for w in layer.get_weights()])
        networks.append(network)
    network = ensemble_network(networks, [h.name for h in heads])
    inference = from_keras(network, [h.name for h in heads])
    ids = probe_batch(40, seed=1)
    ids[3, :] = 0  # a row of padding only
    expected = network(ids, training=False)
    got = inference(ids)
    for head in ("tone", "flags"):
        np.testing.assert_allclose(got[head], np.asarray(expected[head]), atol=1e-5, rtol=0)


def test_tiny_trained_bundle_numpy_equals_keras(tiny_model, tiny_bundle):
    """A trained ensemble saved by ToneModel.save: the loaded numpy model predicts what the
    Keras network it was trained as predicts, to 1e-5 (logits and probabilities)."""
    texts = ["I love this great day", "awful terrible monday", "the report is on the table", "", None,
             " ".join(["monday report table"] * 40) + " hate"]
    loaded = load_model(tiny_bundle)
    assert isinstance(loaded.network_, InferenceNetwork)
    assert not isinstance(tiny_model.network_, InferenceNetwork)  # trained: Keras
    tokens, _ = loaded.tokenize_with_status([t for t in texts if t])
    keras_logits, numpy_logits = tiny_model.logits_from_tokens(tokens), loaded.logits_from_tokens(tokens)
    for head in keras_logits:
        np.testing.assert_allclose(numpy_logits[head], keras_logits[head], atol=1e-5, rtol=0)
    for head, values in tiny_model.predict_proba(texts).items():
        np.testing.assert_allclose(loaded.predict_proba(texts)[head], values, atol=1e-5, equal_nan=True)


@pytest.mark.slow
def test_bundled_model_numpy_logits_equal_keras():
    """The shipped bundle: numpy logits of real posts equal the Keras ensemble's to 1e-5."""
    keras = pytest.importorskip("keras")
    import tonecls.model.network  # noqa: F401
    from tonecls.model.vocab import offsets_of, pad_batch

    model = load_model()
    assert isinstance(model.network_, InferenceNetwork)
    texts = [line.split(",", 1)[-1] for line in (ROOT / "data" / "sample_posts.csv").read_text().splitlines()[1:200]]
    tokens, _ = model.tokenize_with_status(texts)
    ids, lengths = model.vocabulary_.encode(tokens, model.max_length)
    padded = pad_batch(ids, offsets_of(lengths), lengths, np.arange(len(lengths)))
    network = keras.saving.load_model(DEFAULT_BUNDLE / NETWORK_FILE, compile=False, safe_mode=True)
    expected = network(padded, training=False)
    got = model.logits_from_ids(ids, lengths)
    for head in model.heads_:
        np.testing.assert_allclose(got[head.name], np.asarray(expected[head.name]), atol=1e-5, rtol=0)


def test_model_pickles_without_its_tables():
    model = load_model()
    model.predict(["warm up the tables"])
    payload = pickle.dumps(model)
    assert len(payload) < 25e6  # weights only: the per-word projection tables are rebuilt
    copy = pickle.loads(payload)
    texts = ["love it", "hate it", None]
    for head, values in model.predict_proba(texts).items():
        np.testing.assert_array_equal(copy.predict_proba(texts)[head], values)
