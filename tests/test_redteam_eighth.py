"""Eighth red-team pass: prevalence time columns that mix ISO and other unambiguous text or
carry padding, a sample that the prevalence job later refuses, training configs whose values
pass the type check but fail (or train something unusable) later, stratified allocation
edges, seals written by sha256sum in binary mode.

Every test asserts the promised behaviour (README "Prevalence", "What tonecls promises",
"Sealed bundles"); a failing test is a bug.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support import cli, scored_posts


def _fit_with_times(times, n=200):
    from tonecls.prevalence import PrevalenceEstimator

    frame = scored_posts(n)
    frame["created"] = [times[i % len(times)] for i in range(n)]
    return PrevalenceEstimator("emotion").fit(frame, label_col="gold", time_col="created", freq="M")


# --- prevalence: time columns ---------------------------------------------------------------


@pytest.mark.parametrize("other", ["Wed Oct 10 20:19:24 +0000 2018", "10 October 2018", "May 13, 2024"])
def test_prevalence_time_column_mixing_iso_and_unambiguous_text_is_read_row_by_row(other):
    """A user's export holds ISO dates (`2024-05-01`) in most rows and, from an older
    pipeline, Twitter-style or spelled-out dates in others. Every row reads one way (README:
    ISO 8601, or other text only where it cannot be misread), so the periods must be those
    dates' months; at the very least the refusal must not call the ISO date ambiguous."""
    try:
        result = _fit_with_times(["2024-05-01", other])
    except Exception as error:  # noqa: BLE001 - the message is what is checked
        assert "2024-05-01' is" not in str(error), f"an ISO date is called ambiguous: {error}"
        raise
    months = set(result.estimates.loc[result.estimates["grouping"] == "created", "group"])
    assert "created=2024-05" in months


def test_prevalence_time_column_of_padded_iso_dates_is_not_called_ambiguous():
    """A CSV written with padded fields (` 2024-05-01 `): the ISO date has one reading. It is
    read as such (group values are trimmed the same way), or refused for its spaces, never
    refused as a date 'that reads two ways' (05 January read day first)."""
    try:
        result = _fit_with_times([" 2024-05-01 ", " 2024-06-15 "])
    except Exception as error:  # noqa: BLE001
        assert "read two ways" not in str(error), f"misleading refusal: {error}"
        return
    months = set(result.estimates.loc[result.estimates["grouping"] == "created", "group"])
    assert months == {"created=2024-05", "created=2024-06"}


def test_prevalence_time_column_of_iso_dates_and_offsets_reads_each_row():
    """ISO dates with and without offsets in one column: every row its own wall-clock month."""
    result = _fit_with_times(["2024-01-31T23:30:00-05:00", "2024-02-01", "2024-03-01T00:10:00+09:00"])
    months = set(result.estimates.loc[result.estimates["grouping"] == "created", "group"])
    assert months == {"created=2024-01", "created=2024-02", "created=2024-03"}


@pytest.mark.parametrize("values", [["1714567890", "1714567891"], ["0", "1"], ["1714567890.5"]])
def test_prevalence_numeric_text_times_are_refused_as_numbers(values):
    """Unix times written as text in a CSV are refused naming them as numbers (README)."""
    from tonecls.errors import InputError

    with pytest.raises(InputError, match="numbers"):
        _fit_with_times(values)


# --- sample, then prevalence ------------------------------------------------------------------


def test_a_sample_the_prevalence_job_will_refuse_is_refused_before_labelling(tmp_path, capsys):
    """A scored export repeats an id in a row that was not scored (`empty`) and a scored one.
    `tonecls sample` draws 40 posts, the user labels them by hand, and `tonecls prevalence
    --labels` then refuses ('the scored data repeats ids'). Errors come before the slow work:
    the sample must refuse the file (or prevalence must accept what sample accepted)."""
    frame = scored_posts(300)
    frame.loc[5, "id"] = frame.loc[6, "id"]  # row 5 is not ok, row 6 is
    scored = tmp_path / "scored.csv"
    frame.to_csv(scored, index=False)
    labels = tmp_path / "to_label.csv"
    code, _, err = cli(capsys, "sample", scored, "-o", labels, "-n", 40, "--seed", 1)
    if code == 2:
        return  # refused up front: fine
    assert code == 0, err
    sample = pd.read_csv(labels, dtype=str, keep_default_na=False)
    sample["label"] = frame.set_index("id").loc[sample["id"], "gold"].to_numpy()
    sample.to_csv(labels, index=False)
    code, _, err = cli(capsys, "prevalence", scored, "-o", tmp_path / "rep", "--head", "emotion",
                       "--labels", labels)
    assert code == 0, f"sample accepted the file, prevalence refused it after labelling: {err}"


@pytest.mark.parametrize("sizes, n", [([1000, 1, 1], 3), ([1000, 1, 1, 1, 1], 5), ([50, 2, 1], 4),
                                      ([7, 7, 7], 3)])
def test_sample_every_stratum_drawn_and_probabilities_match_the_draws(sizes, n):
    """Stratified by a column with tiny strata and just enough draws: every stratum gets a
    draw, n rows come out, and each row's inclusion probability is its stratum's draws over
    its size (what prevalence weights by)."""
    from tonecls.prevalence import draw_sample

    strata = np.repeat([f"s{i}" for i in range(len(sizes))], sizes)
    frame = pd.DataFrame({"id": np.arange(len(strata)), "text": "t", "tonecls_status": "ok", "g": strata})
    sample = draw_sample(frame, n, stratify_col="g", seed=3)
    assert len(sample) == n and sample["id"].is_unique
    counts = sample["g"].value_counts()
    assert set(counts.index) == set(strata)
    for g, k in counts.items():
        size = int((strata == g).sum())
        assert np.allclose(sample.loc[sample["g"] == g, "inclusion_probability"], k / size)
        assert (sample.loc[sample["g"] == g, "stratum_size"] == size).all()


def test_sample_with_fewer_draws_than_strata_is_refused():
    """Three strata, two draws: refused (README), with what to do."""
    from tonecls.errors import InputError
    from tonecls.prevalence import draw_sample

    frame = pd.DataFrame({"id": range(30), "text": "t", "tonecls_status": "ok", "g": ["a", "b", "c"] * 10})
    with pytest.raises(InputError, match="strat"):
        draw_sample(frame, 2, stratify_col="g")


# --- training configs ---------------------------------------------------------------------------


def _write_training_files(tmp_path: Path, **config) -> Path:
    random.seed(0)
    rows = ["text,label"]
    for i in range(120):
        c = random.choice(["a", "b"])
        rows.append(f"{'love great' if c == 'a' else 'hate awful'} post {i},{c}")
    (tmp_path / "x.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    head = {"name": "s", "source": {"kind": "export", "path": "x.csv", "text_column": "text",
                                    "label_column": "label"}, "classes": ["a", "b"]}
    tiny = dict(vocab_size=200, min_count=1, embedding_dim=8, lstm_units=4, batch_size=16, epochs=1, patience=1,
                learning_rate=0.01, dropout=0.1, calibrate=False, tune_thresholds=False, class_weight=None)
    heads = config.pop("heads", None) or [head]
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**tiny, "heads": heads, **config}), encoding="utf-8")
    return path


@pytest.mark.slow
def test_train_config_seed_beyond_32_bits_is_a_one_paragraph_refusal(tmp_path, capsys):
    """`"seed": 2**70` in a training config: refused as an input error (exit 2, naming seed)
    before the data is loaded, not 'unexpected ValueError ... This is a bug in tonecls'."""
    config = _write_training_files(tmp_path, seed=2 ** 70)
    code, _, err = cli(capsys, "train", "--config", config, "-o", tmp_path / "model")
    assert code == 2, err
    assert "seed" in err and "bug" not in err
    assert not (tmp_path / "model").exists()


def test_train_config_seed_beyond_32_bits_is_refused_by_the_config():
    """The same config read in Python (`TrainConfig.from_dict`): the seed is refused at once,
    as every other out-of-range number is (`seed must be a whole number >= 0`)."""
    from tonecls.errors import InputError
    from tonecls.model.config import TrainConfig

    head = {"name": "s", "source": {"kind": "export", "path": "x.csv", "text_column": "text", "label_column": "label"}, "classes": ["a", "b"]}
    with pytest.raises(InputError, match="seed"):
        TrainConfig.from_dict({"heads": [head], "seed": 2 ** 70})


@pytest.mark.parametrize("classes", [["a", "b", ""], ["a", "b", " "]])
def test_train_config_with_a_blank_class_name_is_refused(classes):
    """A head whose classes include `""`: such a class can never be labelled (an empty label is
    'not labelled' in prevalence and calibrate) and its column is `s_p_`. The config is
    refused, as duplicate classes are."""
    from tonecls.errors import InputError
    from tonecls.model.config import TrainConfig

    head = {"name": "s", "source": {"kind": "export", "path": "x.csv", "text_column": "text", "label_column": "label"}, "classes": classes}
    with pytest.raises(InputError, match="class"):
        TrainConfig.from_dict({"heads": [head]})


def test_train_config_multilabel_class_holding_the_separator_is_refused():
    """A multi-label head with a class `a;b`: labels are `;`-joined, so that class can never be
    written. The config (or the head) is refused naming the separator, not later with
    'label 'a' is not one of the classes'."""
    from tonecls.errors import InputError
    from tonecls.model.config import HeadSpec

    with pytest.raises(InputError, match=";"):
        HeadSpec("s", ["a;b", "c"], multilabel=True)


@pytest.mark.parametrize("head_update, source_update, said", [
    ({}, {"text_column": 3}, "text_column"),
    ({}, {"validation_fraction": "0.2"}, "validation_fraction"),
    ({"multilabel": "false"}, {}, "multilabel"),
    ({"oversample": 2.0}, {}, "oversample"),
    ({"loss_weight": float("nan")}, {}, "loss_weight"),
    ({"classes": [1, 2]}, {}, "classes"),
])
def test_train_config_head_and_source_values_of_the_wrong_type_are_refused(head_update, source_update, said):
    """Head and data-source values of the wrong JSON type are one-paragraph refusals naming
    the field."""
    from tonecls.errors import InputError
    from tonecls.model.config import TrainConfig

    head = {"name": "s", "source": {"kind": "export", "path": "x.csv", "text_column": "text", "label_column": "label", **source_update}, "classes": ["a", "b"],
            **head_update}
    with pytest.raises(InputError, match=said):
        TrainConfig.from_dict({"heads": [head]})


# --- seals ----------------------------------------------------------------------------------


def test_a_seal_in_sha256sum_binary_mode_and_upper_case_loads(bundle_copy):
    """`sha256sum -b * | tr a-f A-F > SHA256SUMS`: lines `<HEX> *name`. The bundle loads and
    scores as before."""
    import tonecls

    seal = bundle_copy / "SHA256SUMS"
    lines = [line.split("  ", 1) for line in seal.read_text(encoding="utf-8").splitlines()]
    seal.write_text("".join(f"{h.upper()} *{name}\n" for h, name in lines), encoding="utf-8")
    model = tonecls.load_model(bundle_copy)
    assert model.predict(["i love it"])["tonecls_status"].tolist() == ["ok"]


def test_a_seal_with_an_entry_for_a_file_in_a_subfolder_is_refused_as_damaged(bundle_copy):
    """A seal line naming `sub/bundle.json` (not a file of the bundle's folder) is a damaged
    seal: refused naming the seal and the line, not read."""
    import tonecls
    from tonecls.errors import InputError

    seal = bundle_copy / "SHA256SUMS"
    first = seal.read_text(encoding="utf-8").splitlines()[0]
    seal.write_text(seal.read_text(encoding="utf-8") + first.split("  ")[0] + "  sub/x\n", encoding="utf-8")
    with pytest.raises(InputError, match="SHA256SUMS"):
        tonecls.load_model(bundle_copy)
