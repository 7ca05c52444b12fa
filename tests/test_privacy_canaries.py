"""Canaries (tonecls.privacy.canaries): seeded, recorded in the bundle, exposure rising with
repetition."""

from __future__ import annotations

import json
import math

import pytest

from support import tiny_config, tiny_data


def test_canaries_are_seeded_and_never_inserted_references_differ():
    from tonecls.model import HeadSpec
    from tonecls.privacy.canaries import canary_alphabet, make_canaries

    spec = HeadSpec("tone", ["negative", "neutral", "positive"])
    config = tiny_config(canaries={"repeats": [1, 4], "per_repeat": 3})
    first, again = make_canaries(config, spec), make_canaries(config, spec)
    assert first.texts == again.texts and (first.targets == again.targets).all()
    assert first.repeats.tolist() == [1, 1, 1, 4, 4, 4] and len(first.reference_texts) == 10000
    assert not set(first.texts) & set(first.reference_texts)
    assert set(" ".join(first.texts).split()) <= set(canary_alphabet())
    other = make_canaries(tiny_config(seed=1, canaries={"repeats": [1], "per_repeat": 3}), spec)
    assert other.texts != first.texts[:3]


def test_canary_config_rejects_unknown_keys_and_too_few_references():
    from tonecls.errors import InputError

    with pytest.raises(InputError, match="unknown canaries"):
        tiny_config(canaries={"repeats": [1], "per_repeats": 10})
    with pytest.raises(InputError, match="references"):
        tiny_config(canaries={"references": 500})
    assert tiny_config(canaries={}).canaries.repeats == [1, 4, 16]


@pytest.mark.slow
def test_exposure_rises_with_repetition_and_is_recorded(tmp_path):
    from tonecls.model import train

    config = tiny_config(epochs=2, patience=2,
                         canaries={"repeats": [1, 16], "per_repeat": 4})
    model = train(config, data=tiny_data(), quiet=True)
    saved = json.loads((model.save(tmp_path / "canaries") / "bundle.json").read_text())
    rows = {row["repeat"]: row for row in saved["privacy"]["canaries"]}
    assert set(rows) == {1, 16} and all(row["max_bits"] == pytest.approx(math.log2(10000)) for row in rows.values())
    assert rows[16]["exposure_bits"] > rows[1]["exposure_bits"] + 3, rows
    assert rows[16]["exposure_bits"] > 8  # a canary seen 16 times ranks among the top references
    assert saved["config"]["canaries"]["per_repeat"] == 4
