"""Sealed bundles (tonecls.model.bundle): every file checked against the seal on load, every
value checked behind it, paths confined to the bundle, shapes checked before anything is read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from support import reseal_unchecked

from tonecls.cli import main
from tonecls.errors import InputError
from tonecls.model import bundle_digest, load_model, seal_bundle
from tonecls.model.bundle import DEFAULT_BUNDLE, INFERENCE_FILE, META_FILE, SEAL_FILE, VOCAB_FILE


@pytest.fixture
def bundle(tmp_path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, target)
    return target


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
def test_a_tampered_bundle_is_refused_by_its_seal_naming_the_file(bundle, case):
    name, change, _ = TAMPERING[case]
    _edit_json(bundle / name, change)
    with pytest.raises(InputError, match=rf"{name} was changed after the bundle was saved.*tonecls seal"):
        load_model(bundle)


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_behind_a_forged_seal_the_values_are_checked(bundle, case):
    name, change, message = TAMPERING[case]
    _edit_json(bundle / name, change)
    reseal_unchecked(bundle)
    if message is None:  # a permutation of classes or tokens is still valid: only the seal tells
        load_model(bundle)
        return
    with pytest.raises(InputError, match=message):
        load_model(bundle)


def test_reordered_classes_behind_a_forged_seal_change_predictions_so_the_seal_matters(bundle):
    """Why the seal is needed: a reordered class list is a valid bundle.json, and would turn
    'i love this' negative."""
    _edit_json(bundle / META_FILE, _reorder_classes)
    reseal_unchecked(bundle)
    tampered = load_model(bundle).predict(["i love this"]).iloc[0]
    assert tampered["sentiment_label"] != load_model().predict(["i love this"]).iloc[0]["sentiment_label"]


def test_missing_and_added_files_are_named(bundle):
    (bundle / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="notes.txt is not in the bundle's seal"):
        load_model(bundle)
    (bundle / "notes.txt").unlink()
    (bundle / VOCAB_FILE).unlink()
    with pytest.raises(InputError, match=f"{VOCAB_FILE} is missing"):
        load_model(bundle)


def test_an_unsealed_bundle_says_how_to_seal_it(bundle):
    (bundle / SEAL_FILE).unlink()
    with pytest.raises(InputError, match="not sealed.*tonecls seal"):
        load_model(bundle)


def test_seal_checks_the_bundle_before_sealing_and_then_it_loads(bundle, capsys):
    _edit_json(bundle / META_FILE, lambda meta: meta.update(name="renamed on purpose"))
    assert main(["seal", str(bundle)]) == 0
    assert load_model(bundle).metadata_["name"] == "renamed on purpose"
    _edit_json(bundle / INFERENCE_FILE, _no_layers)
    capsys.readouterr()
    assert main(["seal", str(bundle)]) == 2
    assert "lstm_layers" in capsys.readouterr().err
    with pytest.raises(InputError, match="changed after the bundle was saved"):
        load_model(bundle)  # the broken edit was not sealed


def test_the_digest_names_the_bundle_and_changes_with_any_file(bundle):
    before = bundle_digest(bundle)
    assert before == bundle_digest(DEFAULT_BUNDLE) == load_model(bundle).identity()["bundle_digest"]
    _edit_json(bundle / META_FILE, lambda meta: meta.update(name="another"))
    seal_bundle(bundle)
    assert bundle_digest(bundle) != before


def test_a_link_inside_a_bundle_is_refused(bundle, tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text("[]")
    (bundle / "extra.json").symlink_to(outside)
    with pytest.raises(InputError, match="is a link or a folder"):
        load_model(bundle)
