"""Test helpers shared by ``conftest.py`` and the test modules.

- synthetic posts whose tone is carried by a few words, and a tiny model configuration that
  learns them in seconds (tests check behaviour, not accuracy);
- :class:`StandInModel`, a scoring model without TensorFlow, and :class:`KeywordProbeModel`,
  a keyword model with a deliberate gender bias for the counterfactual probes;
- :func:`write_fake_twitteraae`, a small TwitterAAE model in the released file format;
- exports to read and write (:data:`EXPORT_POSTS`, :func:`write_export`, :func:`read_all`,
  :func:`read_verbatim`) and the engine options of the tests run on both engines;
- the rows of an audit result (:func:`metric_row`, :func:`gap_row`) and scored frames of the
  benchmark heads for the prevalence tests (:func:`scored_frame_of`).

tonecls.model (TensorFlow) is imported only by the functions that need it.
"""

from __future__ import annotations

import math
import os
import re
import signal
import zlib
from collections import namedtuple
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

CLASSES = ["anger", "joy", "optimism", "sadness"]  # the emotion head of synthetic scored data

ROOT = Path(__file__).resolve().parents[1]  # the checkout
FIXTURES = Path(__file__).resolve().parent / "fixtures"  # files written by hand (eec_sample.csv: our own sentences)
SHARED_DATA = ROOT.parent / "shared" / "data"  # the benchmark data beside the checkout
DATA_DIR = Path(os.environ.get("TONECLS_DATA_DIR") or SHARED_DATA)


@contextmanager
def hang_guard(seconds: int, what: str):
    """Fail (TimeoutError) instead of hanging the suite if the block runs over ``seconds``:
    a guard against a regression to super-linear work, not a speed measurement."""
    def stuck(*_):
        raise TimeoutError(f"{what} took over {seconds} s")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def scored_frame(n=3000, seed=0, recall_drop=None, groups=("aa", "white", "other"),
                 weights=(0.3, 0.5, 0.2)) -> pd.DataFrame:
    """Synthetic single-label scored export (emotion head, gold labels, dialect and gender
    groups): the model is right 75% of the time; ``recall_drop=(group, class index,
    accuracy)`` makes it miss that class in that group more often (shared by the audit tests
    and benchmarks/bench_audit.py)."""
    rng = np.random.default_rng(seed)
    k = len(CLASSES)
    group = rng.choice(list(groups), size=n, p=list(weights))
    y = rng.integers(0, k, size=n)
    accuracy = np.full(n, 0.75)
    if recall_drop:
        g, c, drop_accuracy = recall_drop
        accuracy[(group == g) & (y == c)] = drop_accuracy
    correct = rng.random(n) < accuracy
    pred = np.where(correct, y, (y + rng.integers(1, k, size=n)) % k)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), pred] += 2.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame = pd.DataFrame({
        "id": np.arange(n), "dialect": group, "gender": rng.choice(["f", "m"], size=n),
        "gold": np.array(CLASSES)[y], "tonecls_status": "ok",
        "emotion_label": np.array(CLASSES)[proba.argmax(axis=1)],
        "emotion_confidence": proba.max(axis=1),
    })
    for i, c in enumerate(CLASSES):
        frame[f"emotion_p_{c}"] = proba[:, i]
    return frame


def scored_posts(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """:func:`scored_frame` as a scored export of posts: string ids, a ``text`` column and a
    ``created`` date (three months), some rows not scored (prevalence jobs and CLI tests)."""
    frame = scored_frame(n, seed)
    frame["id"] = [f"post-{i:05d}" for i in range(n)]
    frame.insert(1, "text", [f"post number {i}" for i in range(n)])
    frame["created"] = (pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n) * 90 // n, unit="D")).strftime("%Y-%m-%d")
    not_scored = np.arange(n) % 97 == 5
    frame.loc[not_scored, "tonecls_status"] = "empty"
    frame.loc[not_scored, [c for c in frame.columns if c.startswith("emotion_")]] = np.nan
    return frame


TINY = dict(vocab_size=200, min_count=1, embedding_dim=8, lstm_units=4, batch_size=16, epochs=3,
            patience=3, learning_rate=0.01, dropout=0.1)
WORDS = {"negative": ["awful", "hate", "terrible"], "neutral": ["table", "monday", "report"],
         "positive": ["love", "great", "wonderful"]}
FILLER = ["the", "a", "today", "this", "is", "so", "my", "and", "it"]


def synthetic_posts(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Posts made of filler words plus words of one sentiment class; the class id is returned."""
    rng = np.random.default_rng(seed)
    classes = list(WORDS)
    labels = rng.integers(0, len(classes), n)
    posts = []
    for label in labels:
        words = list(rng.choice(FILLER, rng.integers(2, 8))) + list(rng.choice(WORDS[classes[label]], 2))
        rng.shuffle(words)
        posts.append(" ".join(words))
    return posts, labels


def multi_hot_of(posts: list[str]) -> np.ndarray:
    """Multi-label targets: (mentions love/great, mentions hate/awful)."""
    return np.array([[any(w in p for w in ("love", "great")), any(w in p for w in ("hate", "awful"))]
                     for p in posts], dtype=np.float32)


def tiny_config(**overrides):
    """A two-head config (``tone``: single-label, ``flags``: multi-label) of a tiny network."""
    from tonecls.model import DataSource, HeadConfig, TrainConfig

    heads = [
        HeadConfig("tone", DataSource(kind="memory"), classes=list(WORDS), multilabel=False),
        HeadConfig("flags", DataSource(kind="memory"), classes=["pos", "neg"], multilabel=True),
    ]
    return TrainConfig(heads=heads, **{**TINY, **overrides})


def tiny_data(n: int = 240) -> dict:
    """In-memory training data of :func:`tiny_config`; the two heads learn from different posts."""
    from tonecls.model import LabelledSplit

    posts, labels = synthetic_posts(n, seed=1)
    val_posts, val_labels = synthetic_posts(60, seed=2)
    half = n // 2
    return {
        "tone": {"train": LabelledSplit(posts[:half], labels[:half]), "val": LabelledSplit(val_posts, val_labels)},
        "flags": {"train": LabelledSplit(posts[half:], multi_hot_of(posts[half:])),
                  "val": LabelledSplit(val_posts, multi_hot_of(val_posts))},
    }


def write_csv(path: Path, n: int = 250, bad_lines: bool = False, boom_at: int = -1,
              multiline: bool = True) -> Path:
    """An export with ok, empty, quoted and (``multiline``) multi-line posts; ``boom_at``: row
    whose post is "boom" (the stand-in model crashes on it); ``bad_lines``: two malformed
    lines (6 and 11)."""
    lines = ["id,text,group"]
    for i in range(n):
        text = ["great game tonight!", "", "so sad :(", "\"quoted, with comma\"",
                "line\nbreak inside" if multiline else "one line", "@user hate this"][i % 6]
        text = "boom" if i == boom_at else text
        if "\n" in text:
            text = f'"{text}"'
        lines.append(f"{i:04d},{text},{'ab'[i % 2]}")
    if bad_lines:
        lines.insert(5, "9999,too,many,fields")
        lines.insert(9, '1234,"unterminated')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def reseal_unchecked(bundle: Path) -> None:
    """Rewrite a bundle's seal without validating it (what a forger would do), so that a test
    reaches the checks behind the seal."""
    from tonecls.model.bundle import _write_seal

    _write_seal(Path(bundle))


class StandInModel:
    """Follows the scoring protocol (:class:`tonecls.score.ScoringModel`) without TensorFlow.

    Statuses come from the real preprocessing; probabilities are a deterministic function of
    the tokens. ``crash_on`` makes a call with that post raise (a crash in a given chunk).
    """

    def __init__(self, crash_on: str | None = None) -> None:
        from tonecls.model.config import HeadSpec

        self.heads_ = [
            HeadSpec("sentiment", ["negative", "neutral", "positive"]),
            HeadSpec("topics", ["sport", "politics", "music"], multilabel=True),
        ]
        self.crash_on = crash_on
        self.batches: list[int] = []  # sizes of the compute_logits calls (list.append is thread-safe)

    def output_columns(self) -> list[str]:
        from tonecls.schema import OutputSchema

        return OutputSchema.from_heads(self.heads_).columns  # the contract's column names

    def identity(self) -> dict:
        return {"object": "StandInModel"}

    def compute_logits(self, texts, *, all_languages: bool = False) -> dict:
        from tonecls.language import identify
        from tonecls.preprocess import tokenize_with_status

        self.batches.append(len(texts))
        if self.crash_on is not None and self.crash_on in list(texts):
            raise RuntimeError("stand-in model: simulated crash")
        tokens, statuses = tokenize_with_status(list(texts))
        languages = [identify([t])[0] if s == "ok" else None for t, s in zip(tokens, statuses)]
        if not all_languages:  # an English model, like the default one
            statuses = ["other_language" if lang not in (None, "en", "und") else s
                        for s, lang in zip(statuses, languages)]
        return {"statuses": statuses, "languages": languages, "n_tokens": [len(t) for t in tokens],
                "hashes": [zlib.crc32(" ".join(t).encode()) for t in tokens]}

    def predictions_from_logits(self, logits: dict) -> pd.DataFrame:
        from tonecls.schema import LANGUAGE_COLUMN, N_TOKENS_COLUMN, STATUS_COLUMN

        statuses = logits["statuses"]
        ok = np.array([s == "ok" for s in statuses], dtype=bool)
        rng = np.array(logits["hashes"], dtype=np.uint64)
        p3 = np.stack([(rng >> s) % 97 + 1 for s in (0, 8, 16)], axis=1).astype(float).reshape(len(rng), 3)
        p3 /= p3.sum(axis=1, keepdims=True)
        multi = np.stack([((rng >> s) % 100) / 100 for s in (3, 11, 19)], axis=1).reshape(len(rng), 3)
        p3[~ok], multi[~ok] = np.nan, np.nan
        out = {STATUS_COLUMN: statuses, LANGUAGE_COLUMN: logits["languages"], N_TOKENS_COLUMN: logits["n_tokens"]}
        classes = np.array(self.heads_[0].classes, dtype=object)
        out["sentiment_label"] = np.where(ok, classes[np.nan_to_num(p3).argmax(1)], None)
        out["sentiment_confidence"] = np.where(ok, np.nan_to_num(p3).max(1), np.nan)
        out["sentiment_polarity"] = p3[:, 2] - p3[:, 0]
        for j, c in enumerate(self.heads_[0].classes):
            out[f"sentiment_p_{c}"] = p3[:, j]
        topic_classes = np.array(self.heads_[1].classes)
        out["topics_labels"] = [
            ";".join(topic_classes[row >= 0.5]) if good else None for row, good in zip(multi, ok)
        ]
        for j, c in enumerate(self.heads_[1].classes):
            out[f"topics_p_{c}"] = multi[:, j]
        return pd.DataFrame(out)

    def predict(self, texts, *, all_languages: bool = False) -> pd.DataFrame:
        return self.predictions_from_logits(self.compute_logits(texts, all_languages=all_languages))


# words of a fake TwitterAAE model and their counts in its (aa, hispanic, asian, white) topics
FAKE_TWITTERAAE = {
    (900.0, 40.0, 10.0, 50.0): "af be trippin finna lol lmao stay talkin bout nothin she",
    (50.0, 40.0, 10.0, 900.0): "i am going to the store now . , ? what a day lovely afternoon in park "
                               "would you like anything hello there ok",
    (250.0, 250.0, 250.0, 250.0): "he go it",
}


def write_fake_twitteraae(directory: Path) -> Path:
    """Write a small TwitterAAE model (``model_vocab.txt``, ``model_count_table.txt``, in the
    released format) into ``directory``: slang words load on the AA-aligned topic, standard
    English words on the White-aligned one. Returns ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = [(word, counts) for counts, words in FAKE_TWITTERAAE.items() for word in words.split()]
    (directory / "model_vocab.txt").write_text(
        "".join(f"{100 * (len(rows) - i)}\t{word}\n" for i, (word, _) in enumerate(rows)), encoding="utf-8")
    (directory / "model_count_table.txt").write_text(
        "".join("\t".join(f"{c:.2f}" for c in counts) + "\n" for _, counts in rows), encoding="utf-8")
    (directory / "LICENSE").write_text("test fixture, not the released model\n", encoding="utf-8")
    return directory


# --- exports -------------------------------------------------------------------------------

TEXT_FORMATS = ["csv", "tsv", "jsonl", "ndjson", "csv.gz", "tsv.gz", "jsonl.gz"]
EXPORT_FORMATS = [*TEXT_FORMATS, "parquet"]
BIG_ID = 1_500_000_000_000_000_001  # a tweet-like snowflake id: not exactly representable as a float

EXPORT_POSTS = pd.DataFrame(
    {
        "id": ["00123", "p2", "0007", "p4", "p5", "p6", "p7"],
        "text": [
            "plain post",
            'comma, "quotes" and a\nnew line',
            "tab\there",
            "emoji \U0001F602 and accents éà",
            "",
            "  spaces  ",
            "NA",  # must stay the string "NA", not become missing
        ],
        "platform": ["twitter", "reddit", "forum", "twitter", "forum", "reddit", "twitter"],
    }
)


def write_export(path, frame: pd.DataFrame, chunk: int = 3) -> Path:
    """``frame`` written with tonecls' ExportWriter in chunks of ``chunk`` rows."""
    from tonecls.io import ExportWriter

    with ExportWriter(path) as writer:
        for start in range(0, len(frame), chunk):
            writer.write(frame.iloc[start : start + chunk])
    return Path(path)


def read_all(path, **kwargs) -> pd.DataFrame:
    """Every chunk of ``read_export(path, **kwargs)`` in one frame."""
    from tonecls.io import read_export

    return pd.concat(list(read_export(path, **kwargs)))


def read_verbatim(path, **kwargs) -> pd.DataFrame:
    """:func:`read_all` without a text column: every column read as data."""
    return read_all(path, text_col=None, **kwargs)


def tokenize_quietly(src: Path, out: Path, **kwargs):
    """The runner's cheapest pass over a file: ``tokenize_file`` without a progress bar."""
    from tonecls.jobs import tokenize_file

    return tokenize_file(src, out, quiet=True, **kwargs)


def header_line(path: Path) -> str:
    return path.read_text(encoding="utf-8").splitlines()[0]


def values_of(series: pd.Series) -> list:
    """The values of a column with every kind of missing value as None."""
    return [None if pd.isna(v) else v for v in series]


def is_missing_value(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


ENGINES = ["local", pytest.param("dask", marks=pytest.mark.slow)]


def cli(capsys, *argv) -> tuple[int, str, str]:
    """``tonecls ARGV`` run in this process: the exit status, stdout and stderr."""
    from tonecls.cli import main

    code = main([str(a) for a in argv])
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def assert_refused(result: tuple[int, str, str], command: str, *said: str) -> None:
    """A :func:`cli` result that is a refusal: exit 2, one paragraph ``tonecls COMMAND: error:
    ...`` on stderr, no traceback, each of ``said`` in it."""
    code, out, err = result
    assert code == 2, f"exit {code}\n{out}\n{err}"
    assert err.startswith(f"tonecls {command}: error: "), err
    assert "Traceback" not in out + err and err.count("\n") == 1, err
    for text in said:
        assert text in err, err


def interrupt_after(monkeypatch, chunks: int) -> None:
    """Make the next run stop with Ctrl-C after writing ``chunks`` chunks to its output file."""
    import tonecls.io.sinks

    original, calls = tonecls.io.sinks.FileSink.write, []

    def write(self, frame):
        if len(calls) == chunks:
            raise KeyboardInterrupt
        calls.append(1)
        return original(self, frame)

    monkeypatch.setattr(tonecls.io.sinks.FileSink, "write", write)


def engine_options(engine: str, request) -> dict:
    """Options of a file job on ``engine`` ("local" or "dask", on the session's LocalCluster)."""
    if engine == "local":
        return {"chunksize": 32}
    return {"engine": "dask", "scheduler": request.getfixturevalue("dask_scheduler"), "blocksize": 1_500}


# --- models and results --------------------------------------------------------------------

OTHER_LANGUAGE_POSTS = {
    "c'est vraiment nul, j'ai attendu deux heures pour rien": "fr",
    "die Bahn hat schon wieder 40 Minuten Verspätung, ich könnte ausrasten": "de",
    "今天又堵车了，迟到了半个小时": "zh",
}

DP_SETTINGS = {"target_epsilon": 4.0, "delta": 1e-3, "clip_norm": 1.0}  # a TrainConfig's differential_privacy

Head = namedtuple("Head", "name classes multilabel")
CUES = {"anger": ("angry", "furious", "mad", "livid"), "joy": ("happy", "wonderful", "proud", "glad"),
        "sadness": ("sad", "cried", "miss", "lonely")}


class KeywordProbeModel:
    """Keyword model with small text-dependent noise; deliberately adds anger when a sentence
    mentions "he"/"him" (and nothing else about identity)."""

    heads_ = [Head("emotion", ["anger", "joy", "optimism", "sadness"], False),
              Head("sentiment", ["negative", "neutral", "positive"], False)]

    def __init__(self, bias: float = 3.0):
        self.bias = bias

    def predict_proba(self, texts):
        out = {head.name: [] for head in self.heads_}
        for text in texts:
            words = re.findall(r"[a-z']+", text.lower())
            noise = np.random.default_rng(zlib.crc32(text.encode())).normal(0, 0.05, size=7)
            emotion = noise[:4].copy()
            for k, cls in enumerate(["anger", "joy", "optimism", "sadness"]):
                emotion[k] += 2.0 * sum(w in CUES.get(cls, ()) for w in words)
            sentiment = noise[4:] + [emotion[0] + emotion[3], 1.0, emotion[1]]
            if "he" in words or "him" in words:  # the deliberate bias, on the emotion head only
                emotion[0] += self.bias
            for name, logits in (("emotion", emotion), ("sentiment", sentiment)):
                p = np.exp(logits - logits.max())
                out[name].append(p / p.sum())
        return {name: np.array(rows) for name, rows in out.items()}


def _one_row(rows: pd.DataFrame, grouping, group, metric, cls):
    row = rows[(rows.grouping == grouping) & (rows.group == group) & (rows.metric == metric)
               & (rows["class"] == cls)]
    assert len(row) == 1, (grouping, group, metric, cls)
    return row.iloc[0]


def metric_row(result, grouping, group, metric, cls=""):
    """The one row of an audit's metric table for a group, metric and class."""
    return _one_row(result.metrics, grouping, group, metric, cls)


def gap_row(result, grouping, group, metric, cls=""):
    """The one row of an audit's gap table for a group, metric and class."""
    return _one_row(result.gaps, grouping, group, metric, cls)


def scored_frame_of(data: dict, head: str, rng: np.random.Generator | None = None) -> pd.DataFrame:
    """A scored frame (the schema's columns) of one benchmark head (``scored_benchmarks``,
    conftest.py), with its gold labels as class names in ``gold`` (``;``-joined for the
    multi-label head)."""
    classes, proba, predicted, gold = data["classes"], data["proba"], data["predicted"], data["gold"]
    names = np.array(classes, dtype=object)
    frame = pd.DataFrame({"id": [f"p{i}" for i in range(len(proba))], "text": "post", "tonecls_status": "ok"})
    multilabel = head == "ekman"
    if multilabel:
        frame[f"{head}_labels"] = [";".join(names[row > 0]) for row in predicted]
        frame["gold"] = [";".join(names[row > 0]) for row in gold]
    else:
        frame[f"{head}_label"] = names[predicted.argmax(1)]
        frame[f"{head}_confidence"] = proba.max(1)
        frame["gold"] = names[gold.argmax(1)]
    for j, name in enumerate(classes):
        frame[f"{head}_p_{name}"] = proba[:, j]
    return frame


def labelled_sample(frame: pd.DataFrame, n: int, seed: int, **kwargs) -> pd.DataFrame:
    """A sample of ``frame`` (``draw_sample``) labelled with its gold labels."""
    from tonecls.prevalence import draw_sample

    sample = draw_sample(frame, n, seed=seed, **kwargs)
    sample["label"] = frame.set_index("id").loc[sample["id"], "gold"].to_numpy()
    return sample
