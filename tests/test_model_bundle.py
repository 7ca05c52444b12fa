"""Model bundles (tonecls.model.bundle): saved and loaded with the same predictions; sealed, every
file checked against the seal on load, every value checked behind it, paths confined to the
bundle, shapes checked before anything is read."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support import ROOT, reseal_unchecked

from tonecls.cli import main
from tonecls.errors import InputError
from tonecls.model import bundle_digest, load_model, seal_bundle
from tonecls.model.bundle import (
    DEFAULT_BUNDLE,
    INFERENCE_FILE,
    META_FILE,
    NETWORK_FILE,
    SEAL_FILE,
    VOCAB_FILE,
    read_metadata,
)


# --- saving and loading ----------------------------------------------------------------------


def test_save_load_round_trip_predicts_the_same(tiny_model, tmp_path):
    texts = ["I love this great day", "awful terrible monday", "", None]
    expected = tiny_model.predict_proba(texts)
    path = tiny_model.save(tmp_path / "bundle")
    assert {p.name for p in path.iterdir()} == {"model.keras", "inference.json", "vocab.json", "bundle.json",
                                             "MODEL_CARD.md", "SHA256SUMS"}
    assert not (tmp_path / "bundle.partial").exists()
    loaded = load_model(path)
    assert loaded.heads_ == tiny_model.heads_
    got = loaded.predict_proba(texts)
    for head in expected:
        np.testing.assert_allclose(got[head], expected[head], rtol=1e-5, equal_nan=True)
    pd.testing.assert_frame_equal(loaded.predict(texts), tiny_model.predict(texts))
    # saving again replaces the bundle in place
    tiny_model.save(path)
    assert load_model(path).vocabulary_.tokens_ == tiny_model.vocabulary_.tokens_


@pytest.mark.filterwarnings("ignore:The structure of `inputs`")
def test_network_file_loads_in_keras_safe_mode(tiny_model, tmp_path):
    import keras

    path = tiny_model.save(tmp_path / "bundle")
    network = keras.saving.load_model(path / "model.keras", safe_mode=True, compile=False)
    x = np.array([[2, 3, 4, 0]], dtype="int32")
    np.testing.assert_allclose(network(x)["tone"], tiny_model.network_(x)["tone"], rtol=1e-5)


def test_save_refuses_to_overwrite_a_folder_that_is_not_a_bundle(tiny_model, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("x")
    with pytest.raises(InputError, match="not a tonecls model bundle"):
        tiny_model.save(tmp_path / "notes")
    assert (tmp_path / "notes" / "keep.txt").exists()


def test_temperatures_and_thresholds_round_trip(tiny_model, tmp_path):
    model = load_model(tiny_model.save(tmp_path / "first"))  # a copy we may change
    model.temperatures_["tone"] = 1.7
    model.thresholds_["flags"] = np.array([0.31, 0.62])
    loaded = load_model(model.save(tmp_path / "second"))
    assert loaded.temperatures_["tone"] == pytest.approx(1.7)
    np.testing.assert_allclose(loaded.thresholds_["flags"], [0.31, 0.62])
    logits = loaded.logits_from_tokens([["love"]])["tone"]
    np.testing.assert_allclose(loaded.predict_proba(["love"])["tone"],
                               np.exp(logits / 1.7) / np.exp(logits / 1.7).sum(), rtol=1e-5)
    flags = loaded.predict_proba(["love", "hate"])["flags"]
    expected = [";".join(c for c, p, t in zip(["pos", "neg"], row, [0.31, 0.62]) if p >= t) for row in flags]
    assert loaded.predict(["love", "hate"])["flags_labels"].tolist() == expected


# --- the seal ---------------------------------------------------------------------------------


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _reorder_classes(meta):
    meta["heads"][0]["classes"] = list(reversed(meta["heads"][0]["classes"]))


def _shift_vocabulary(tokens):
    tokens.insert(0, tokens.pop())


def _repeat_a_token(tokens):
    tokens[10] = tokens[11]


def _weights_outside(spec):
    spec["weights_file"] = "../elsewhere/model.keras"


def _absurd_units(spec):
    spec["members"][0]["units"] = 10 ** 9


def _no_layers(spec):
    spec["members"][0]["lstm_layers"] = 0


TAMPERING = {
    "classes reordered": (META_FILE, _reorder_classes, None),
    "vocabulary shifted by one": (VOCAB_FILE, _shift_vocabulary, None),
    "a vocabulary entry repeated": (VOCAB_FILE, _repeat_a_token, "more than once"),
    "weights file outside the bundle": (INFERENCE_FILE, _weights_outside, "weights_file"),
    "absurd units": (INFERENCE_FILE, _absurd_units, "units must be an integer"),
    "no LSTM layers": (INFERENCE_FILE, _no_layers, "lstm_layers must be an integer"),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_a_tampered_bundle_is_refused_by_its_seal_naming_the_file(bundle_copy, case):
    name, change, _ = TAMPERING[case]
    _edit_json(bundle_copy / name, change)
    with pytest.raises(InputError, match=rf"{name} was changed after the bundle was saved.*tonecls seal"):
        load_model(bundle_copy)


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_behind_a_forged_seal_the_values_are_checked(bundle_copy, case):
    name, change, message = TAMPERING[case]
    _edit_json(bundle_copy / name, change)
    reseal_unchecked(bundle_copy)
    if message is None:  # a permutation of classes or tokens is still valid: only the seal tells
        load_model(bundle_copy)
        return
    with pytest.raises(InputError, match=message):
        load_model(bundle_copy)


def test_reordered_classes_behind_a_forged_seal_change_predictions_so_the_seal_matters(bundle_copy):
    """Why the seal is needed: a reordered class list is a valid bundle.json, and would turn
    'i love this' negative."""
    _edit_json(bundle_copy / META_FILE, _reorder_classes)
    reseal_unchecked(bundle_copy)
    tampered = load_model(bundle_copy).predict(["i love this"]).iloc[0]
    assert tampered["sentiment_label"] != load_model().predict(["i love this"]).iloc[0]["sentiment_label"]


def test_missing_and_added_files_are_named(bundle_copy):
    (bundle_copy / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="notes.txt is not in the bundle's seal"):
        load_model(bundle_copy)
    (bundle_copy / "notes.txt").unlink()
    (bundle_copy / VOCAB_FILE).unlink()
    with pytest.raises(InputError, match=f"{VOCAB_FILE} is missing"):
        load_model(bundle_copy)


def test_an_unsealed_bundle_says_how_to_seal_it(bundle_copy):
    (bundle_copy / SEAL_FILE).unlink()
    with pytest.raises(InputError, match="not sealed.*tonecls seal"):
        load_model(bundle_copy)


def test_seal_checks_the_bundle_before_sealing_and_then_it_loads(bundle_copy, capsys):
    _edit_json(bundle_copy / META_FILE, lambda meta: meta.update(name="renamed on purpose"))
    assert main(["seal", str(bundle_copy)]) == 0
    assert load_model(bundle_copy).metadata_["name"] == "renamed on purpose"
    _edit_json(bundle_copy / INFERENCE_FILE, _no_layers)
    capsys.readouterr()
    assert main(["seal", str(bundle_copy)]) == 2
    assert "lstm_layers" in capsys.readouterr().err
    with pytest.raises(InputError, match="changed after the bundle was saved"):
        load_model(bundle_copy)  # the broken edit was not sealed


def test_the_digest_names_the_bundle_and_changes_with_any_file(bundle_copy):
    before = bundle_digest(bundle_copy)
    assert before == bundle_digest(DEFAULT_BUNDLE) == load_model(bundle_copy).identity()["bundle_digest"]
    _edit_json(bundle_copy / META_FILE, lambda meta: meta.update(name="another"))
    seal_bundle(bundle_copy)
    assert bundle_digest(bundle_copy) != before


def test_a_link_inside_a_bundle_is_refused(bundle_copy, tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text("[]")
    (bundle_copy / "extra.json").symlink_to(outside)
    with pytest.raises(InputError, match="is a link or a folder"):
        load_model(bundle_copy)


# --- values behind the seal ------------------------------------------------------------------


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


def test_a_file_name_with_a_unicode_line_separator_seals_and_checks(tmp_path):
    """The seal is read line by line on "\\n" only: U+2028 or U+0085 in a file name is part of it."""
    import shutil

    from tonecls.model.bundle import DEFAULT_BUNDLE, check_seal, seal_bundle

    bundle = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, bundle)
    (bundle / "notes\u2028of\u0085mine.txt").write_text("kept", encoding="utf-8")
    seal_bundle(bundle)
    assert len(check_seal(bundle)) == 64
