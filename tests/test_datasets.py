"""Tests of tonecls.datasets: locating, loading and fetching the benchmark datasets.

Most tests build a tiny dataset tree in a temporary directory; the tests marked "shared data"
read the team's copy of the official files and are skipped when it is absent. Nothing here
touches the network: the fetcher is pointed at ``file://`` URLs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import tonecls.datasets as datasets
from support import SHARED_DATA

from tonecls.cli import main
from tonecls.datasets import (
    ChecksumError,
    goemotions_classes,
    load_goemotions,
    load_tweeteval,
    resolve_data_dir,
    to_multi_hot,
    tweeteval_classes,
    tweeteval_mapping,
)
from tonecls.errors import DataNotFoundError, InputError

needs_shared_data = pytest.mark.skipif(
    not (SHARED_DATA / "tweeteval").is_dir(),
    reason=f"the shared benchmark data is not at {SHARED_DATA}",
)

EMOTION_TEXTS = ["I am so angry right now", "  what a lovely day  ", "hope\x85it gets better", "sad"]
EMOTION_LABELS = [0, 1, 2, 3]
GO_LABELS = ["anger", "joy", "sadness", "neutral"]
GO_ROWS = [("so mad at this", "0", "c1"), ("yay and boo", "1,2", "c2"), ("ok then", "3", "c3")]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def _tweeteval_task(root: Path, task: str, mapping: str, texts, labels) -> Path:
    folder = root / "tweeteval" / task
    _write(folder / "mapping.txt", mapping)
    for split in ("train", "val", "test"):
        _write(folder / f"{split}_text.txt", "".join(t + "\n" for t in texts))
        _write(folder / f"{split}_labels.txt", "".join(f"{label}\n" for label in labels))
    return folder


def _goemotions(root: Path, taxonomy: str = "original", labels=GO_LABELS, rows=GO_ROWS) -> Path:
    folder = root / "goemotions" / taxonomy
    _write(folder / "labels.txt", "\n".join(labels))
    for split in ("train", "dev", "test"):
        _write(folder / f"{split}.tsv", "".join("\t".join(row) + "\n" for row in rows))
    return folder


@pytest.fixture
def data_root(tmp_path):
    """A tiny data directory: TweetEval emotion and emoji, GoEmotions original."""
    root = tmp_path / "data"
    # mapping without a final newline, as in the official emotion/mapping.txt
    _tweeteval_task(root, "emotion", "0\tanger\n1\tjoy\n2\toptimism\n3\tsadness", EMOTION_TEXTS, EMOTION_LABELS)
    _tweeteval_task(
        root, "emoji", "0\t\u2764\t_red_heart_\t\n1\t\U0001F602\t_face_with_tears_of_joy_\t\n",
        ["love it", "lol"], [0, 1],
    )
    _goemotions(root)
    return root


@pytest.fixture
def no_default_dirs(tmp_path, monkeypatch):
    """Hide the user's cache, the checkout's shared data and $TONECLS_DATA_DIR."""
    monkeypatch.delenv(datasets.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(datasets, "_checkout_data_dir", lambda: tmp_path / "no-checkout")


# --- locating ------------------------------------------------------------------------------


def test_resolve_data_dir_prefers_argument_then_env_then_cache(data_root, tmp_path, monkeypatch, no_default_dirs):
    assert resolve_data_dir(data_root, "tweeteval") == data_root

    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(data_root))
    assert resolve_data_dir(dataset="goemotions") == data_root

    cache = tmp_path / "xdg" / "tonecls" / "data"
    _goemotions(cache)
    assert datasets.default_data_dir() == cache
    # the env dir comes first; the cache is used for a dataset the env dir lacks
    assert resolve_data_dir(dataset="goemotions") == data_root
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "elsewhere"))
    assert resolve_data_dir(dataset="goemotions") == cache


def test_resolve_data_dir_falls_back_to_checkout_data(tmp_path, monkeypatch, no_default_dirs, data_root):
    monkeypatch.setattr(datasets, "_checkout_data_dir", lambda: data_root)
    assert resolve_data_dir(dataset="tweeteval") == data_root


def test_missing_dataset_says_where_it_looked_and_what_to_do(tmp_path, monkeypatch, no_default_dirs):
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "env-dir"))
    with pytest.raises(DataNotFoundError) as info:
        load_tweeteval("emotion", "train")
    message = str(info.value)
    assert str(tmp_path / "env-dir" / "tweeteval") in message
    assert str(tmp_path / "xdg" / "tonecls" / "data" / "tweeteval") in message
    assert "tonecls fetch tweeteval" in message and "TONECLS_DATA_DIR" in message
    # an explicit directory is used as is, without fallback
    with pytest.raises(DataNotFoundError, match="data_dir argument"):
        load_goemotions("original", "train", data_dir=tmp_path / "nowhere")


# --- TweetEval -----------------------------------------------------------------------------


def test_load_tweeteval_names_labels_and_keeps_line_order(data_root):
    frame = load_tweeteval("emotion", "train", data_root)
    assert frame.columns.tolist() == ["text", "label", "label_id"]
    assert frame["label"].tolist() == ["anger", "joy", "optimism", "sadness"]
    assert frame["label_id"].tolist() == [0, 1, 2, 3]
    # whitespace stripped; U+0085 inside a post does not split it into two lines
    assert frame["text"].tolist() == [t.strip() for t in EMOTION_TEXTS]
    assert frame.attrs["classes"] == ["anger", "joy", "optimism", "sadness"]


def test_dev_is_an_alias_of_val(data_root):
    assert load_tweeteval("emotion", "dev", data_root).equals(load_tweeteval("emotion", "val", data_root))
    with pytest.raises(InputError, match="unknown split 'holdout'"):
        load_tweeteval("emotion", "holdout", data_root)


def test_emoji_mapping_has_names_and_emoji(data_root):
    mapping = tweeteval_mapping("emoji", data_root)
    assert mapping.to_dict("list") == {
        "label_id": [0, 1], "label": ["red_heart", "face_with_tears_of_joy"], "emoji": ["\u2764", "\U0001F602"],
    }
    assert tweeteval_classes("emoji", data_root) == ["red_heart", "face_with_tears_of_joy"]
    assert load_tweeteval("emoji", "test", data_root)["label"].tolist() == ["red_heart", "face_with_tears_of_joy"]


def test_unknown_task_lists_the_tasks(data_root):
    with pytest.raises(InputError, match="unknown TweetEval task 'stance'.*emotion, sentiment"):
        load_tweeteval("stance", "train", data_root)


def test_line_count_mismatch_names_both_files(data_root):
    labels = data_root / "tweeteval" / "emotion" / "train_labels.txt"
    labels.write_text("0\n1\n2\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_tweeteval("emotion", "train", data_root)
    message = str(info.value)
    assert "train_text.txt has 4 lines" in message and "train_labels.txt has 3" in message
    assert "tonecls fetch tweeteval --force" in message


def test_unknown_label_id_names_file_and_line(data_root):
    labels = data_root / "tweeteval" / "emotion" / "val_labels.txt"
    labels.write_text("0\n1\n7\n3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"val_labels.txt, line 3: label '7' is not a label id of emotion \(0..3"):
        load_tweeteval("emotion", "val", data_root)


def test_missing_split_file_is_reported(data_root):
    (data_root / "tweeteval" / "emotion" / "test_text.txt").unlink()
    with pytest.raises(DataNotFoundError, match="test_text.txt"):
        load_tweeteval("emotion", "test", data_root)


# --- GoEmotions ----------------------------------------------------------------------------


def test_load_goemotions_multilabel(data_root):
    frame = load_goemotions("original", "dev", data_root)
    assert frame.columns.tolist() == ["id", "text", "labels", "label_ids"]
    assert frame["id"].tolist() == ["c1", "c2", "c3"]
    assert frame["labels"].tolist() == [["anger"], ["joy", "sadness"], ["neutral"]]
    assert frame["label_ids"].tolist() == [[0], [1, 2], [3]]
    assert load_goemotions("original", "val", data_root).equals(frame)
    assert goemotions_classes("original", data_root) == GO_LABELS


def test_goemotions_bad_rows_are_reported(data_root, tmp_path):
    _goemotions(data_root, rows=[("fine", "0", "c1"), ("bad id", "0,9", "c2")])
    with pytest.raises(InputError, match=r"train.tsv, line 2: label ids '0,9'.*0..3"):
        load_goemotions("original", "train", data_root)
    _goemotions(data_root, rows=[("no id field", "0")])
    with pytest.raises(InputError, match="line 1: expected 3 tab-separated fields"):
        load_goemotions("original", "train", data_root)
    with pytest.raises(InputError, match="unknown GoEmotions taxonomy 'plutchik'"):
        load_goemotions("plutchik", "train", data_root)


def test_to_multi_hot():
    classes = ["anger", "joy", "sadness"]
    matrix = to_multi_hot([["joy"], ["anger", "sadness"], [], None, "joy;sadness", ""], classes)
    assert matrix.dtype == np.float32
    np.testing.assert_array_equal(
        matrix, [[0, 1, 0], [1, 0, 1], [0, 0, 0], [0, 0, 0], [0, 1, 1], [0, 0, 0]]
    )
    with pytest.raises(InputError, match="row 2 of the labels: label 'fear' is not one of the classes"):
        to_multi_hot([["joy"], ["fear"]], classes)


# --- shared data ---------------------------------------------------------------------------


@needs_shared_data
def test_shared_data_loads_with_official_sizes():
    assert len(load_tweeteval("emotion", "train", SHARED_DATA)) == 3257
    assert len(load_tweeteval("emotion", "test", SHARED_DATA)) == 1421
    # the emoji training file has posts containing U+0085; it must still have 45,000 rows
    assert len(load_tweeteval("emoji", "train", SHARED_DATA)) == 45_000
    assert tweeteval_classes("sentiment", SHARED_DATA) == ["negative", "neutral", "positive"]
    dev = load_goemotions("ekman", "dev", SHARED_DATA)
    assert len(dev) == 5426
    assert goemotions_classes("group", SHARED_DATA) == ["ambiguous", "negative", "neutral", "positive"]
    assert len(goemotions_classes("original", SHARED_DATA)) == 28


@needs_shared_data
def test_manifest_checksums_match_the_shared_official_files():
    for target, expected in datasets.MANIFEST.items():
        shared = SHARED_DATA / target
        assert shared.is_file(), target
        assert hashlib.sha256(shared.read_bytes()).hexdigest() == expected, target
    # the rebuilt sentiment training files must not be vouched for
    assert "tweeteval/sentiment/train_text.txt" not in datasets.MANIFEST


# --- fetching ------------------------------------------------------------------------------


EKMAN_JSON = {"anger": ["anger"], "joy": ["joy"], "sadness": ["sadness"]}
GROUP_JSON = {"negative": ["anger", "sadness"], "positive": ["joy"]}


class _Server:
    """A directory served over HTTP on localhost (no network); ``requests`` lists the paths asked for."""

    def __init__(self, root: Path) -> None:
        import functools
        import http.server
        import threading

        self.requests: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):  # quiet; record the request instead
                server.requests.append(self.path)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    """Serve a directory over HTTP on localhost: ``serve(path) -> _Server``."""
    servers: list[_Server] = []
    yield lambda root: servers.append(_Server(root)) or servers[-1]
    for server in servers:
        server.close()


@pytest.fixture
def upstream_server(tmp_path, serve) -> _Server:
    """The HTTP server of the fake upstream (its ``requests`` list the downloads)."""
    return serve(tmp_path / "upstream")


@pytest.fixture
def upstream(tmp_path, monkeypatch, upstream_server):
    """A fake upstream (served over HTTP from a local directory) with a tiny copy of each
    dataset, and its manifest."""
    up = tmp_path / "upstream"
    manifest = {}

    def put(relative: str, content: str, target: str | None = None, record: bool = True):
        _write(up / relative, content)
        if target and record:
            manifest[target] = hashlib.sha256(content.encode("utf-8")).hexdigest()

    for task in datasets.TWEETEVAL_TASKS:
        put(f"tweeteval/datasets/{task}/mapping.txt", "0\tno\n1\tyes\n", f"tweeteval/{task}/mapping.txt")
        for split in ("train", "val", "test"):
            put(f"tweeteval/datasets/{task}/{split}_text.txt", f"{task} {split} post\n", f"tweeteval/{task}/{split}_text.txt")
            put(f"tweeteval/datasets/{task}/{split}_labels.txt", "1\n", f"tweeteval/{task}/{split}_labels.txt")
        put(f"tweeteval/predictions/{task}.txt", "1\n", f"tweeteval/reference_predictions/{task}.txt")
    # as in the real manifest, sentiment's training files have no checksum
    del manifest["tweeteval/sentiment/train_text.txt"], manifest["tweeteval/sentiment/train_labels.txt"]
    put("goemotions/emotions.txt", "\n".join(GO_LABELS), "goemotions/original/labels.txt")
    for split in ("train", "dev", "test"):
        put(f"goemotions/{split}.tsv", "".join("\t".join(r) + "\n" for r in GO_ROWS), f"goemotions/original/{split}.tsv")
    put("goemotions/ekman_mapping.json", json.dumps(EKMAN_JSON))
    put("goemotions/sentiment_dict.json", json.dumps(GROUP_JSON))
    # the expected derived files (what the dataset's authors publish for ekman / group)
    derived = {
        "ekman": (["anger", "joy", "neutral", "sadness"], ["0", "1,3", "2"]),
        "group": (["negative", "neutral", "positive"], ["0", "0,2", "1"]),
    }
    for taxonomy, (labels, ids) in derived.items():
        manifest[f"goemotions/{taxonomy}/labels.txt"] = hashlib.sha256("\n".join(labels).encode()).hexdigest()
        tsv = "".join(f"{text}\t{i}\t{cid}\n" for (text, _, cid), i in zip(GO_ROWS, ids))
        for split in ("train", "dev", "test"):
            manifest[f"goemotions/{taxonomy}/{split}.tsv"] = hashlib.sha256(tsv.encode()).hexdigest()
    put("twitteraae/model/model_vocab.txt", "1\thello\n", "twitteraae/model_vocab.txt")
    put("twitteraae/model/model_count_table.txt", "1 0 0 1\n", "twitteraae/model_count_table.txt")
    put("twitteraae/LICENSE", "MIT\n", "twitteraae/LICENSE")
    monkeypatch.setattr(datasets, "SOURCE_URLS", {name: f"{upstream_server.url}/{name}" for name in datasets.DATASETS})
    monkeypatch.setattr(datasets, "MANIFEST", manifest)
    return up


def test_fetch_downloads_verifies_and_derives(upstream, tmp_path):
    target = tmp_path / "cache"
    with pytest.warns(UserWarning) as warned:
        root = datasets.fetch("all", target, quiet=True)
    unverified = sorted(str(w.message).split(" ")[0] for w in warned)
    assert unverified == ["tweeteval/sentiment/train_labels.txt", "tweeteval/sentiment/train_text.txt"]
    assert all("cannot be verified" in str(w.message) for w in warned)
    assert root == target
    assert load_tweeteval("irony", "train", root)["label"].tolist() == ["yes"]
    ekman = load_goemotions("ekman", "train", root)
    assert ekman["labels"].tolist() == [["anger"], ["joy", "sadness"], ["neutral"]]
    group = load_goemotions("group", "test", root)
    assert group["labels"].tolist() == [["negative"], ["negative", "positive"], ["neutral"]]
    assert (root / "twitteraae" / "model_vocab.txt").read_text() == "1\thello\n"
    assert (root / "tweeteval" / "reference_predictions" / "emoji.txt").is_file()
    assert not list(root.rglob("*.partial")) and not list(root.rglob("*.fetching"))


def test_fetch_skips_verified_files(upstream, upstream_server, tmp_path):
    requests = upstream_server.requests
    datasets.fetch("twitteraae", tmp_path / "cache", quiet=True)
    assert len(requests) == 3
    datasets.fetch("twitteraae", tmp_path / "cache", quiet=True)
    assert len(requests) == 3, "fetch downloaded a file that was already present and verified"
    datasets.fetch("twitteraae", tmp_path / "cache", force=True, quiet=True)
    assert len(requests) == 6


def test_fetch_checksum_mismatch_leaves_nothing(upstream, tmp_path):
    (upstream / "twitteraae" / "LICENSE").write_text("tampered\n")
    target = tmp_path / "cache"
    with pytest.raises(ChecksumError, match="checksum mismatch for twitteraae/LICENSE.*nothing was written"):
        datasets.fetch("twitteraae", target, quiet=True)
    assert not (target / "twitteraae" / "LICENSE").exists()
    assert not [p for p in target.rglob("*") if p.is_file() and p.name != "model_vocab.txt"
                and p.name != "model_count_table.txt"]


def test_fetch_replaces_a_corrupt_local_file(upstream, tmp_path):
    target = tmp_path / "cache"
    datasets.fetch("twitteraae", target, quiet=True)
    (target / "twitteraae" / "model_vocab.txt").write_text("corrupt")
    datasets.fetch("twitteraae", target, quiet=True)
    assert (target / "twitteraae" / "model_vocab.txt").read_text() == "1\thello\n"


def test_fetch_wrong_mapping_fails_the_derived_checksum(upstream, tmp_path):
    (upstream / "goemotions" / "ekman_mapping.json").write_text(json.dumps({"anger": ["anger", "joy"], "sadness": ["sadness"]}))
    target = tmp_path / "cache"
    with pytest.raises(ChecksumError, match="goemotions/ekman/labels.txt"):
        datasets.fetch("goemotions", target, quiet=True)
    # the unverified mapping is removed so that the next fetch downloads it again
    assert not (target / "goemotions" / "ekman_mapping.json").exists()


def test_fetch_unreachable_source_is_a_clear_error(upstream, tmp_path, monkeypatch):
    monkeypatch.setitem(datasets.SOURCE_URLS, "twitteraae", datasets.SOURCE_URLS["twitteraae"] + "/gone")
    with pytest.raises(datasets.DownloadError, match="could not download .*download the file by hand"):
        datasets.fetch("twitteraae", tmp_path / "cache", quiet=True)


def test_fetch_defaults_to_env_dir(upstream, tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "env"))
    assert datasets.fetch("twitteraae", quiet=True) == tmp_path / "env"


def test_fetch_command(upstream, tmp_path, capsys):
    assert main(["fetch", "twitteraae", "--data-dir", str(tmp_path / "cli"), "--quiet"]) == 0
    assert "twitteraae: ready in" in capsys.readouterr().out
    assert main(["fetch", "tweeteval", "--data-dir", str(tmp_path / "cli"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: tweeteval/sentiment/train_text.txt has no recorded checksum" in err
    assert (tmp_path / "cli" / "twitteraae" / "LICENSE").is_file()
    (upstream / "twitteraae" / "LICENSE").write_text("tampered\n")
    assert main(["fetch", "twitteraae", "--data-dir", str(tmp_path / "cli2"), "--quiet"]) == 2
    assert "checksum mismatch" in capsys.readouterr().err


@pytest.mark.slow
@needs_shared_data
def test_fetch_reproduces_the_official_goemotions_taxonomies(tmp_path, monkeypatch, serve):
    """Derive ekman/ and group/ from the original files and match their official checksums."""
    up = tmp_path / "upstream"
    up.mkdir()
    for split in ("train", "dev", "test"):
        (up / f"{split}.tsv").symlink_to(SHARED_DATA / "goemotions" / "original" / f"{split}.tsv")
    (up / "emotions.txt").symlink_to(SHARED_DATA / "goemotions" / "original" / "labels.txt")
    # the two mapping files as published in google-research/google-research goemotions/data
    (up / "ekman_mapping.json").write_text(json.dumps({
        "anger": ["anger", "annoyance", "disapproval"], "disgust": ["disgust"],
        "fear": ["fear", "nervousness"],
        "joy": ["joy", "amusement", "approval", "excitement", "gratitude", "love", "optimism",
                "relief", "pride", "admiration", "desire", "caring"],
        "sadness": ["sadness", "disappointment", "embarrassment", "grief", "remorse"],
        "surprise": ["surprise", "realization", "confusion", "curiosity"],
    }))
    (up / "sentiment_dict.json").write_text(json.dumps({
        "positive": ["amusement", "excitement", "joy", "love", "desire", "optimism", "caring",
                     "pride", "admiration", "gratitude", "relief", "approval"],
        "negative": ["fear", "nervousness", "remorse", "embarrassment", "disappointment",
                     "sadness", "grief", "disgust", "anger", "annoyance", "disapproval"],
        "ambiguous": ["realization", "surprise", "curiosity", "confusion"],
    }))
    monkeypatch.setitem(datasets.SOURCE_URLS, "goemotions", serve(up).url)
    root = datasets.fetch("goemotions", tmp_path / "cache", quiet=True)  # raises on any mismatch
    for taxonomy in ("ekman", "group"):
        for name in ("labels.txt", "train.tsv", "dev.tsv", "test.tsv"):
            produced = (root / "goemotions" / taxonomy / name).read_bytes()
            assert produced == (SHARED_DATA / "goemotions" / taxonomy / name).read_bytes()
