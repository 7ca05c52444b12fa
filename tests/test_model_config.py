"""Training configuration (tonecls.model.config): JSON round trips, typos and settings that
cannot work refused, the shipped configs valid."""

from __future__ import annotations

import json

import pytest

from support import DP_SETTINGS, ROOT, tiny_config

from tonecls.errors import InputError
from tonecls.model import DataSource, HeadSpec, TrainConfig


def test_train_config_round_trips_through_json_and_rejects_typos(tmp_path):
    config = tiny_config()
    path = tmp_path / "config.json"
    path.write_text(config.to_json())
    again = TrainConfig.from_file(path)
    assert again.to_dict() == TrainConfig.from_dict(json.loads(config.to_json())).to_dict()
    with pytest.raises(InputError, match="unknown training config option"):
        TrainConfig.from_dict({**config.to_dict(), "lstm_unit": 3})
    with pytest.raises(InputError, match="needs 'task'"):
        DataSource(kind="tweeteval")
    with pytest.raises(InputError, match="column prefix"):
        HeadSpec("bad name", ["a", "b"])


CONFIGS = ROOT / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("**/*.json")), ids=lambda p: p.stem)
def test_shipped_configs_are_valid(path):
    """The default model's config and the configs of the levers recorded in BENCHMARKS.md."""
    config = TrainConfig.from_file(path)
    kept = [h.name for h in config.heads if not h.auxiliary]
    assert kept == ["sentiment", "emotion", "ekman"]


def test_config_rejects_what_dp_cannot_bound():
    from tonecls.errors import InputError

    with pytest.raises(InputError, match="unknown differential_privacy"):
        tiny_config(differential_privacy={**DP_SETTINGS, "epsilon": 1})
    with pytest.raises(InputError, match="oversample"):
        config = tiny_config().to_dict()
        config["heads"][0]["oversample"] = 2
        type(tiny_config()).from_dict({**config, "differential_privacy": DP_SETTINGS})
    with pytest.raises(InputError, match="delta"):
        tiny_config(differential_privacy={**DP_SETTINGS, "delta": 0})
    assert "differential_privacy" not in tiny_config().to_dict()  # plain configs unchanged


def test_an_epsilon_too_large_to_mean_anything_is_refused():
    from tonecls.errors import InputError

    with pytest.raises(InputError, match="bounds nothing useful"):
        tiny_config(differential_privacy={**DP_SETTINGS, "target_epsilon": 1e6})


def test_a_path_object_is_accepted_where_a_config_takes_a_path_string():
    """From a notebook, ``Path("posts.csv")`` is as good as ``"posts.csv"`` (kept as text)."""
    from pathlib import Path

    config = TrainConfig.from_dict({"heads": [{"name": "t", "classes": ["a", "b"], "source": {
        "kind": "export", "path": Path("posts.csv"), "text_column": "text", "label_column": "label"}}]})
    assert config.heads[0].source.path == "posts.csv"
