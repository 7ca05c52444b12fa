"""The numpy inference network against Keras, scoring without TensorFlow, bundle validation."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tonecls.errors import InputError
from tonecls.model import load_model
from tonecls.model.bundle import (
    DEFAULT_BUNDLE,
    INFERENCE_FILE,
    META_FILE,
    NETWORK_FILE,
    read_metadata,
)
from tonecls.model.inference import InferenceNetwork
from tonecls.model.keras_export import probe_batch
from support import reseal_unchecked

ROOT = Path(__file__).resolve().parents[1]
HEAVY_MODULES = ("tensorflow", "keras", "dask", "distributed")  # dask: the optional [dask] extra


def run_python(code: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


# --- numpy network == Keras ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_setup():
    keras = pytest.importorskip("keras")
    from tonecls.model.config import DataSource, HeadConfig, HeadSpec, TrainConfig

    heads = [HeadSpec("tone", ["a", "b", "c"]), HeadSpec("flags", ["x", "y"], multilabel=True)]

    def config(**options):
        head_configs = [HeadConfig(h.name, DataSource(kind="memory"), classes=h.classes, multilabel=h.multilabel)
                        for h in heads]
        return TrainConfig(heads=head_configs, **options)

    return keras, heads, config


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


def test_export_refuses_networks_it_cannot_run(keras_setup):
    keras, _, _ = keras_setup
    from tonecls.model.keras_export import ExportError, from_keras

    ids = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True, name="embedding")(ids)
    x = keras.layers.GRU(3, name="bilstm_1")(x)
    network = keras.Model(ids, {"tone": keras.layers.Dense(3, name="tone")(x)})
    with pytest.raises(ExportError):
        from_keras(network, ["tone"])


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


# --- no TensorFlow on the scoring paths -----------------------------------------------------------


def test_scoring_paths_do_not_import_tensorflow(tmp_path):
    """load_model().predict, score_file, `tonecls score`, tokenising and unpickling a model import
    no TensorFlow / Keras, nor Dask (an optional extra)."""
    (tmp_path / "posts.csv").write_text("id,text\n1,I love this\n2,worst day ever\n3,\n", encoding="utf-8")
    result = run_python(f"""
        import pickle, sys
        import tonecls
        from tonecls.jobs import score_file
        model = tonecls.load_model()
        frame = model.predict(["so happy today", None])
        assert frame["tonecls_status"].tolist() == ["ok", "missing"], frame
        tonecls.tokenize(["hello @you"])
        score_file({str(tmp_path / 'posts.csv')!r}, {str(tmp_path / 'out.csv')!r})
        copy = pickle.loads(pickle.dumps(model))
        copy.predict(["again"])
        from tonecls.cli import main
        assert main(["score", {str(tmp_path / 'posts.csv')!r}, "-o", {str(tmp_path / 'cli.csv')!r}]) in (0, None)
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY_MODULES!r})
        print("HEAVY", heavy)
    """)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout, result.stdout
    assert (tmp_path / "out.csv").is_file()


def test_model_pickles_without_its_tables():
    model = load_model()
    model.predict(["warm up the tables"])
    payload = pickle.dumps(model)
    assert len(payload) < 25e6  # weights only: the per-word projection tables are rebuilt
    copy = pickle.loads(payload)
    texts = ["love it", "hate it", None]
    for head, values in model.predict_proba(texts).items():
        np.testing.assert_array_equal(copy.predict_proba(texts)[head], values)


# --- bundle validation ------------------------------------------------------------------------------


@pytest.fixture
def bundle_copy(tmp_path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, target)
    return target


def edit_meta(bundle: Path, change) -> None:
    """Change bundle.json and seal the bundle again without checking it (as a tampered bundle
    with a forged seal): what loading checks beyond the seal."""
    meta = json.loads((bundle / META_FILE).read_text())
    change(meta)
    (bundle / META_FILE).write_text(json.dumps(meta))
    reseal_unchecked(bundle)


@pytest.mark.parametrize(("change", "field"), [
    (lambda m: m.update(max_length=-3), "max_length"),
    (lambda m: m.update(max_length="64"), "max_length"),
    (lambda m: m["temperatures"].update(sentiment=0), "temperatures.sentiment"),
    (lambda m: m["temperatures"].update(nohead=1.0), "temperatures"),
    (lambda m: m["thresholds"].update(ekman=[1.5] * 7), "thresholds.ekman"),
    (lambda m: m["thresholds"].update(ekman=[0.5] * 3), "thresholds.ekman"),
    (lambda m: m["heads"].append({"name": "toxicity", "classes": ["no", "yes"], "multilabel": False}),
     "temperatures"),
    (lambda m: m["heads"][0].update(classes=["negative", "negative", "positive"]), "heads[0].classes"),
    (lambda m: m["heads"][0].update(multilabel="no"), "heads[0].multilabel"),
    (lambda m: m.pop("preprocess"), "preprocess"),
    (lambda m: m.update(metrics=[1, 2]), "metrics"),
])
def test_bundle_json_is_validated_with_the_field_named(bundle_copy, change, field):
    edit_meta(bundle_copy, change)
    with pytest.raises(InputError, match=re.escape(f"field `{field}`")):
        load_model(bundle_copy)


def test_head_not_in_network_is_refused(bundle_copy):
    """An invented head with its temperature must not produce columns of p = 0.5."""
    def add_head(meta):
        meta["heads"].append({"name": "toxicity", "classes": ["no", "yes"], "multilabel": False})
        meta["temperatures"]["toxicity"] = 1.0
    edit_meta(bundle_copy, add_head)
    with pytest.raises(InputError, match="heads"):
        load_model(bundle_copy)


def test_class_count_and_vocabulary_size_must_match_the_network(bundle_copy, tmp_path):
    edit_meta(bundle_copy, lambda m: m["heads"][1].update(classes=["anger", "joy", "optimism"]))
    with pytest.raises(InputError, match="outputs 4 logits"):
        load_model(bundle_copy)
    other = tmp_path / "other"
    shutil.copytree(DEFAULT_BUNDLE, other)
    tokens = json.loads((other / "vocab.json").read_text())
    (other / "vocab.json").write_text(json.dumps(tokens[:-5]))
    reseal_unchecked(other)
    with pytest.raises(InputError, match="embedding has 30000 rows"):
        load_model(other)


@pytest.mark.parametrize("resealed", [False, True])
@pytest.mark.parametrize("damage", ["truncate_network", "bad_json", "bad_vocab", "bad_inference", "missing_vocab"])
def test_damaged_bundles_are_input_errors(bundle_copy, damage, resealed):
    if damage == "truncate_network":
        data = (bundle_copy / NETWORK_FILE).read_bytes()
        (bundle_copy / NETWORK_FILE).write_bytes(data[: len(data) // 2])
    elif damage == "bad_json":
        (bundle_copy / META_FILE).write_text('{"format": 1, "heads": [')
    elif damage == "bad_vocab":
        (bundle_copy / "vocab.json").write_text('{"not": "a list"}')
    elif damage == "bad_inference":
        (bundle_copy / INFERENCE_FILE).write_text("[]")
    else:
        (bundle_copy / "vocab.json").unlink()
    if resealed:
        reseal_unchecked(bundle_copy)
    with pytest.raises(InputError):
        load_model(bundle_copy)


def test_network_file_changed_after_export_is_detected(bundle_copy):
    spec = json.loads((bundle_copy / INFERENCE_FILE).read_text())
    first = min(spec["weights"])
    spec["weights"][first]["sha256"] = "0" * 64
    (bundle_copy / INFERENCE_FILE).write_text(json.dumps(spec))
    reseal_unchecked(bundle_copy)
    with pytest.raises(InputError, match="checksum"):
        load_model(bundle_copy)


def test_missing_bundle_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_model(tmp_path / "nope")
    with pytest.raises(InputError, match="not a tonecls model bundle"):
        load_model(tmp_path)


def test_read_metadata_returns_the_validated_bundle_json():
    meta = read_metadata()
    assert [h["name"] for h in meta["heads"]] == ["sentiment", "emotion", "ekman"]
    assert meta["max_length"] == 64


def test_cli_reports_a_damaged_bundle_with_exit_2(bundle_copy, tmp_path):
    edit_meta(bundle_copy, lambda m: m.update(max_length=0))
    (tmp_path / "posts.csv").write_text("id,text\n1,hello\n")
    result = subprocess.run([sys.executable, "-m", "tonecls.cli", "score", str(tmp_path / "posts.csv"),
                             "-o", str(tmp_path / "out.csv"), "--model", str(bundle_copy)],
                            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 2, result.stderr
    assert "max_length" in result.stderr and "Traceback" not in result.stderr


# --- long posts -----------------------------------------------------------------------------------


def test_windows_cover_every_token_and_short_posts_are_one_window():
    from tonecls.model.tone_model import split_windows

    posts = [list("abc"), [str(i) for i in range(10)], [], [str(i) for i in range(9)]]
    windows, owners = split_windows(posts, 4)
    assert owners.tolist() == [0, 1, 1, 1, 1, 2, 3, 3, 3, 3]
    assert windows[0] == posts[0] and windows[5] == []
    long = [w for w, o in zip(windows, owners) if o == 1]
    assert [w[0] for w in long] == ["0", "2", "4", "6"] and long[-1][-1] == "9"
    assert all(len(w) == 4 for w in long)
    assert {t for w in long for t in w} == set(posts[1])


def test_long_post_logits_are_the_mean_over_its_windows():
    from tonecls.model.tone_model import split_windows

    model = load_model()
    model.long_posts = "windows"
    tokens = [["the", "report", "is", "on", "the", "table"] * 20 + ["i", "hate", "this", "so", "much"]]
    windows, _ = split_windows(tokens, model.max_length)
    assert len(windows) > 2
    per_window = model.logits_from_tokens(windows)
    got = model.logits_from_tokens(tokens)
    for head, values in per_window.items():
        np.testing.assert_allclose(got[head][0], values.mean(axis=0), rtol=1e-6, atol=1e-6)


def test_short_posts_score_exactly_as_before_beside_long_posts():
    """Posts of <= max_length tokens score as they did with truncation (same bits), whatever the mode."""
    model = load_model()
    short = ["love this so much", "worst day ever", "meh, the bus was late", "🔥🔥🔥 #win"]
    long = [" ".join(["the meeting is on monday at the office, bring the report"] * 12) + " I am furious"]
    alone = model.predict_proba(short)
    mixed = model.predict_proba(short + long)
    truncating = load_model()
    truncating.long_posts = "truncate"
    before = truncating.predict_proba(short + long)
    windows = load_model()
    windows.long_posts = "windows"
    by_windows = windows.predict_proba(short + long)
    for head in alone:
        np.testing.assert_array_equal(mixed[head][:4], before[head][:4])
        np.testing.assert_array_equal(by_windows[head][:4], before[head][:4])
        np.testing.assert_allclose(mixed[head][:4], alone[head], rtol=1e-6)  # batch size: BLAS rounding
    # the long post's last words are read: its scores differ from the truncated ones
    assert not np.allclose(mixed["sentiment"][4], before["sentiment"][4])


def test_long_posts_mode_is_checked():
    model = load_model()
    with pytest.raises(ValueError, match="long_posts"):
        type(model)(model.network_, model.vocabulary_, model.heads_, long_posts="middle")


def test_polar_sentence_after_a_long_neutral_preamble_is_read():
    """Issue 11's example: a ~110-token neutral preamble no longer hides the negative ending."""
    model = load_model()
    sentence = "The quarterly meeting is scheduled for Tuesday at the main office, and the agenda covers the budget."
    preamble = " ".join([sentence] * 6)
    post = preamble + " I hate this company, worst experience of my life, furious"
    assert len(model.tokenize_with_status([preamble])[0][0]) > 1.5 * model.max_length
    assert model.predict(post)["sentiment_label"] == "negative"
    model.long_posts = "truncate"
    assert model.predict(post)["sentiment_label"] != "negative"  # what truncation did
