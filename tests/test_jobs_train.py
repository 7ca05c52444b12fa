"""The train and evaluate jobs (tonecls.jobs.train) and their commands."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from support import TINY, WORDS, multi_hot_of, synthetic_posts

from tonecls.cli import main
from tonecls.model import HeadSpec, evaluate, load_model


@pytest.mark.slow
def test_custom_heads_from_a_labelled_export(tmp_path):
    posts, labels = synthetic_posts(200, seed=4)
    names = np.array(list(WORDS))[labels]
    flags = multi_hot_of(posts).astype(int)
    frame = pd.DataFrame({"post": posts, "stance": names, "pos": flags[:, 0], "neg": flags[:, 1]})
    frame.to_csv(tmp_path / "labelled.csv", index=False)
    test_posts, test_labels = synthetic_posts(40, seed=5)
    pd.DataFrame({"post": test_posts, "stance": np.array(list(WORDS))[test_labels],
                  "pos": 0, "neg": 0}).to_csv(tmp_path / "test.csv", index=False)
    config = {
        "heads": [
            {"name": "stance", "source": {"kind": "export", "path": "labelled.csv", "text_column": "post",
                                          "label_column": "stance", "test_path": "test.csv"}},
            {"name": "mentions", "source": {"kind": "export", "path": "labelled.csv", "text_column": "post",
                                            "label_columns": ["pos", "neg"]}},
        ],
        **TINY, "epochs": 2,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    # trained through the `tonecls train` command, which writes the bundle (test split scored)
    assert main(["train", "--config", str(tmp_path / "config.json"), "-o", str(tmp_path / "bundle"), "-q"]) == 0
    model = load_model(tmp_path / "bundle")
    assert "tonecls train --config" in model.metadata_["command"]
    assert set(model.metadata_["metrics"]["test"]) == {"stance"}
    assert model.heads_ == [HeadSpec("stance", sorted(WORDS), False), HeadSpec("mentions", ["pos", "neg"], True)]
    assert "mentions_labels" in model.predict(["love"]).columns
    provenance = model.metadata_["provenance"]["files"]
    assert {p["split"] for p in provenance} == {"train", "val", "test"}
    assert all(len(p["sha256"]) == 64 and p["rows"] > 0 for p in provenance)
    # the bundle records what it is and what it was trained on; its card says so
    meta = json.loads((tmp_path / "bundle" / "bundle.json").read_text())
    assert meta["name"] == "tonecls-model" and meta["version"] == "0"
    assert meta["trained_at"].endswith("+00:00") and len(meta["data_sha256"]) == 64
    assert all(np.isfinite(m["ece"]) and 0 <= m["ece"] <= 1 for m in meta["metrics"]["validation"].values())
    card = (tmp_path / "bundle" / "MODEL_CARD.md").read_text()
    assert "export " + str(tmp_path / "labelled.csv") in card      # the source of each head
    digest = next(p["sha256"] for p in provenance if p["file"].endswith("labelled.csv"))
    assert f"`{str(tmp_path / 'labelled.csv')}` | 200 | `{digest[:16]}" in card  # file, rows, hash
    assert "TweetEval" not in card and "GoEmotions" not in card and "Twitter and Reddit" not in card
    assert "validation ECE" in card and "{:.3f}".format(meta["metrics"]["test"]["stance"]["ece"]) in card
    # evaluate() scores the export head's test file with the official metric, like sklearn would;
    # the head without a test file is scored on its held-out validation rows, and says so
    results = evaluate(model, "test")
    assert results["head"].tolist() == ["stance", "mentions"]
    assert results["split"].tolist() == ["test", "val"]
    assert results.loc[1, "n"] == 20 and results["ece"].between(0, 1).all()
    predicted = model.predict(test_posts)["stance_label"]
    expected = f1_score(np.array(list(WORDS))[test_labels], predicted, average="macro",
                        labels=sorted(WORDS), zero_division=0)
    assert results.loc[0, "value"] == pytest.approx(expected)
    assert results.loc[0, "n"] == 40
    assert model.metadata_["metrics"]["test"]["stance"]["value"] == pytest.approx(expected)
    assert main(["evaluate", "--model", str(tmp_path / "bundle"), "--json", str(tmp_path / "eval.json")]) == 0
    table = pd.read_json(tmp_path / "eval.json").set_index("head")
    assert sorted(table.index) == ["mentions", "stance"]
    assert table.loc["stance", "value"] == pytest.approx(100 * expected, abs=0.05)
    assert table.loc["mentions", "source"] == "measured (val split)"


def test_cli_reports_bad_config_cleanly_before_importing_tensorflow(tmp_path, capsys):
    import subprocess
    import sys

    (tmp_path / "bad.json").write_text('{"heads": [], "epochs": 1}')
    code = ("import sys; from tonecls.cli import main; status = main(sys.argv[1:]); "
            "sys.exit(status if 'tensorflow' not in sys.modules else 99)")
    run = subprocess.run([sys.executable, "-c", code, "train", "--config", str(tmp_path / "bad.json"), "-o",
                          str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr  # 99: TensorFlow was imported before the config was read
    assert run.stderr == "tonecls train: error: the training config has no heads; add at least one under 'heads'.\n"
    assert main(["train", "--config", str(tmp_path / "missing.json"), "-o", str(tmp_path / "out")]) == 2


def test_train_and_evaluate_refuse_a_bad_output_before_any_slow_work(tmp_path, monkeypatch):
    import tonecls.jobs.train as jobs_train
    from tonecls.errors import InputError

    def must_not_run(*args, **kwargs):
        raise AssertionError("the slow work started before the output was checked")

    monkeypatch.setattr(jobs_train, "train", must_not_run)
    monkeypatch.setattr(jobs_train, "compare_with_published", must_not_run)
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep me")
    with pytest.raises(InputError, match="is not a tonecls model bundle"):
        jobs_train.train_bundle({"heads": []}, folder)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InputError, match="is a file, not a directory"):
        jobs_train.evaluate_bundle(json_path=blocker / "table.json")
    assert (folder / "mine.txt").read_text() == "keep me"
