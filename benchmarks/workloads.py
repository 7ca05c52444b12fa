"""Inputs the benchmark scripts share, and the few tonecls calls that API renames touch.

- TweetEval texts and CSV exports built from them (cached under ``benchmarks/_work/``);
- the TweetEval emotion and sentiment test sets scored by the bundled default model (cached,
  rescored when the bundle or the data directory changes);
- :func:`tiny_data`: a tiny data directory in the official layout (TweetEval, GoEmotions ekman,
  a fake TwitterAAE model) made from ``data/sample_posts.csv``, for ``--smoke`` runs.

The last section wraps the tonecls functions whose names or modules are being changed
(``score_file``, ``score_frame``, the scoring model cache): update them there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.harness import ROOT
from tonecls.datasets import DATA_DIR_ENV, TWEETEVAL_TASKS, load_tweeteval

SAMPLE_POSTS = ROOT / "data" / "sample_posts.csv"
LANGID_POSTS = ROOT / "data" / "langid_posts.csv"
SPLITS = ("train", "val", "test")


# --- TweetEval texts and exports -------------------------------------------------------------


def test_support():
    """``tests/support.py``, the helpers the tests share (loaded by path: a package named
    ``tests`` installed by a dependency must not shadow it)."""
    import sys

    from benchmarks import harness

    return sys.modules.get("tonecls_test_support") or harness.module_from_source(
        harness.ROOT, "tests/support.py", "tonecls_test_support")


def tweeteval_texts(splits: Sequence[str] = SPLITS, tasks: Sequence[str] = TWEETEVAL_TASKS,
                    split_major: bool = False) -> list[str]:
    """The texts of ``tasks`` x ``splits``: task by task (each task's splits in order), or with
    ``split_major`` split by split."""
    pairs = ([(t, s) for s in splits for t in tasks] if split_major else
             [(t, s) for t in tasks for s in splits])
    return [text for task, split in pairs for text in load_tweeteval(task, split)["text"]]


def build_export(rows: int, work_dir: Path) -> Path:
    """A CSV export of ``rows`` posts (``id,text,group``; group = the TweetEval task): every
    TweetEval text of every task and split, repeated to size. Cached in ``work_dir``."""
    path = work_dir / f"posts_{rows}.csv"
    if path.exists():
        return path
    pool = pd.concat([pd.DataFrame({"text": load_tweeteval(task, split)["text"], "group": task})
                      for task in TWEETEVAL_TASKS for split in SPLITS], ignore_index=True)
    export = pd.concat([pool] * -(-rows // len(pool)), ignore_index=True).iloc[:rows]
    export.insert(0, "id", [f"p{i:09d}" for i in range(rows)])
    work_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    export.to_csv(partial, index=False)
    os.replace(partial, path)
    return path


# --- scored test sets ----------------------------------------------------------------------


def scored_test_set(task: str, work_dir: Path) -> pd.DataFrame:
    """TweetEval ``task`` test posts with ``gold`` labels and the default model's outputs
    (columns ``id``, ``gold``, ``tonecls_*``, ``<task>_*``), cached in ``work_dir``."""
    from tonecls.datasets import resolve_data_dir

    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / f"tweeteval_{task}_test_scored.parquet"
    stamp_path = path.with_suffix(".json")
    stamp = {"model": _default_model_fingerprint(), "data": str(resolve_data_dir(None, "tweeteval"))}
    if path.exists() and stamp_path.exists() and json.loads(stamp_path.read_text()) == stamp:
        return pd.read_parquet(path)
    frame = load_tweeteval(task, "test")
    frame = pd.DataFrame({"id": [f"{task}-test-{i:05d}" for i in range(len(frame))],
                          "text": frame["text"], "gold": frame["label"]})
    scored = score_frame(frame, load_scoring_model(None))
    scored = scored[["id", "gold", *[c for c in scored.columns if c.startswith(("tonecls_", f"{task}_"))]]]
    scored.to_parquet(path, index=False)
    stamp_path.write_text(json.dumps(stamp))
    return scored


def _default_model_fingerprint() -> str:
    from tonecls.io import sha256_file
    from tonecls.model.bundle import DEFAULT_BUNDLE

    return sha256_file(Path(DEFAULT_BUNDLE) / "bundle.json")[:16]


# --- a tiny data directory for --smoke -----------------------------------------------------

# TweetEval tasks without labels in the sample posts get these mappings and alternating labels
_OTHER_MAPPINGS = {
    "emoji": "0\t\u2764\t_red_heart_\t\n1\t\U0001F602\t_face_with_tears_of_joy_\t\n",
    "hate": "0\tnot-hate\n1\thate",
    "offensive": "0\tnot-offensive\n1\toffensive",
    "irony": "0\tnon_irony\n1\tirony",
}
_EKMAN = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]
_EKMAN_OF_EMOTION = {"anger": "anger", "joy": "joy", "optimism": "joy", "sadness": "sadness", "": "neutral"}


def write_tiny_data(directory: Path) -> Path:
    """A data directory in the official layout made from ``data/sample_posts.csv`` (400 posts;
    every third post in each split): the six TweetEval tasks (sentiment and emotion with the
    sample's labels), GoEmotions ekman and a fake TwitterAAE model. Returns ``directory``."""
    write_fake_twitteraae = test_support().write_fake_twitteraae

    posts = pd.read_csv(SAMPLE_POSTS, dtype=str, keep_default_na=False)
    posts["text"] = posts["text"].str.replace(r"[\r\n\t]+", " ", regex=True)  # one post a line, no tabs
    splits = {split: posts.iloc[i::3] for i, split in enumerate(SPLITS)}
    labelled = {"sentiment": ["negative", "neutral", "positive"], "emotion": ["anger", "joy", "optimism", "sadness"]}
    for task in TWEETEVAL_TASKS:
        folder = directory / "tweeteval" / task
        folder.mkdir(parents=True, exist_ok=True)
        classes = labelled.get(task)
        mapping = "\n".join(f"{i}\t{c}" for i, c in enumerate(classes)) if classes else _OTHER_MAPPINGS[task]
        (folder / "mapping.txt").write_text(mapping, encoding="utf-8")
        for split, frame in splits.items():
            if classes:
                frame = frame[frame[task] != ""]
                labels = [classes.index(label) for label in frame[task]]
            else:
                labels = [i % 2 for i in range(len(frame))]
            (folder / f"{split}_text.txt").write_text("".join(t + "\n" for t in frame["text"]), encoding="utf-8")
            (folder / f"{split}_labels.txt").write_text("".join(f"{v}\n" for v in labels), encoding="utf-8")
    ekman = directory / "goemotions" / "ekman"
    ekman.mkdir(parents=True, exist_ok=True)
    (ekman / "labels.txt").write_text("\n".join(_EKMAN), encoding="utf-8")
    for split, frame in splits.items():
        rows = [f"{text}\t{_EKMAN.index(_EKMAN_OF_EMOTION[emotion])}\t{post_id}\n"
                for text, emotion, post_id in zip(frame["text"], frame["emotion"], frame["id"])]
        (ekman / f"{'dev' if split == 'val' else split}.tsv").write_text("".join(rows), encoding="utf-8")
    write_fake_twitteraae(directory / "twitteraae")
    return directory


@contextmanager
def tiny_data(directory: Path) -> Iterator[Path]:
    """:func:`write_tiny_data` into ``directory``, as ``TONECLS_DATA_DIR`` while the block runs
    (child processes inherit it)."""
    before = os.environ.get(DATA_DIR_ENV)
    os.environ[DATA_DIR_ENV] = str(write_tiny_data(directory))
    try:
        yield directory
    finally:
        if before is None:
            os.environ.pop(DATA_DIR_ENV, None)
        else:
            os.environ[DATA_DIR_ENV] = before


# --- the tonecls calls the benchmarks share ------------------------------------------------


def load_scoring_model(model: str | None) -> Any:
    """The scoring model of ``model`` (a bundle path; None: the default model), loaded once per
    process and shared with :func:`score_file`."""
    from tonecls.score.core import resolve_model

    return resolve_model(model)


def score_file(source: str | Path, destination: str | Path, **options: Any) -> Any:
    """``tonecls.jobs.score_file`` without a progress bar (its summary has ``rows``, ``ok``
    and ``seconds``); ``options`` are its keyword arguments (model, engine, workers...)."""
    try:
        from tonecls.jobs import score_file as run
    except ImportError:  # a tree from before the file jobs (--variant ... SOURCE)
        from tonecls.score import score_file as earlier

        return earlier(source, destination, progress=False, **options)
    return run(source, destination, quiet=True, **options)


def score_frame(frame: pd.DataFrame, model: Any) -> pd.DataFrame:
    """``tonecls.score.score_frame`` of the ``text`` column: the input columns and the outputs."""
    from tonecls.score import score_frame as run

    return run(frame, model, text_col="text")
