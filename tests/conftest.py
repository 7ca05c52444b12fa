"""Fixtures shared by the test modules (helpers they import are in ``support.py``).

- ``tiny_model`` / ``tiny_bundle``: ONE tiny trained ToneModel (two heads, an ensemble of two
  networks) for the whole session, and the bundle it saves to;
- ``fake_twitteraae``: a small TwitterAAE model in the released format, so that the dialect
  file, CLI and resume tests run without the shared data;
- ``shared_data``: the benchmark data beside the checkout (``../shared/data``),
  ``scored_benchmarks``: the default model's scores on two of its test sets, and
  ``corpus_tokens``: every TweetEval / GoEmotions post with its tokens, computed once a run;
- ``scored_sample``: the bundled sample export scored by the default model;
- ``dask_scheduler``: a Dask LocalCluster for the session;
- results and models shared by the test modules of several units: ``injected_audit`` (a
  group audit with a planted recall gap), ``biased_probe_result``, ``tiny_audit`` (a
  membership-inference audit of the tiny bundle), ``sentiment_frame``, ``english_model``,
  ``dialect_estimator``, ``keras_setup``, ``bundle_copy`` and ``parallel_small``.

Tests that train, use a trained model, build Keras networks, start a Dask cluster, execute
notebooks, run benchmark smoke runs or statistical simulations (error rates, coverage), or
start several processes are marked ``slow``: ``pytest -m "not slow"`` is the fast inner loop, ``pytest``
runs everything.

Hypothesis profiles (``HYPOTHESIS_PROFILE``): ``fast`` (the default: few examples, derandomized,
so the inner loop stays quick and repeatable), ``ci`` (many more, derandomized: a CI run of
one tree is reproducible) and ``explore`` (more still, random: run it to look for new failures,
``HYPOTHESIS_PROFILE=explore pytest tests/test_io_properties.py``, and keep what it finds as an
explicit test). Property tests that take their example count from the profile scale with it
(``tests/properties.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from support import SHARED_DATA

settings.register_profile(
    "fast", max_examples=10, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
settings.register_profile(  # reproducible: the same examples on every run of one tree
    "ci", max_examples=200, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
settings.register_profile(  # new random examples on every run: look for new failures
    "explore", max_examples=500, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

SLOW_FIXTURES = {"tiny_model", "tiny_bundle", "dask_scheduler", "keras_setup"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test that uses a trained model, Keras networks or a Dask cluster, and
    run the slow tests first, the notebooks (the longest, 10-45 s each) before them: with two
    workers, the long ones then overlap with the many short ones instead of finishing alone at
    the end."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None, item.module.__name__ != "test_notebooks"))


@pytest.fixture(scope="session")
def tiny_model():
    """Two heads (``tone``, ``flags``) trained on disjoint synthetic posts; an ensemble of two
    networks (averaged logits). Shared by the session: copy it (save / load) to change it."""
    from support import tiny_config, tiny_data

    from tonecls.model import train

    return train(tiny_config(ensemble_size=2), data=tiny_data(), quiet=True)


@pytest.fixture(scope="session")
def tiny_bundle(tiny_model, tmp_path_factory) -> Path:
    """The bundle directory of ``tiny_model``."""
    return tiny_model.save(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="session")
def fake_twitteraae(tmp_path_factory) -> Path:
    """A data directory whose ``twitteraae/`` holds a small fake TwitterAAE model; returns the
    model directory (its parent works as ``TONECLS_DATA_DIR``)."""
    from support import write_fake_twitteraae

    return write_fake_twitteraae(tmp_path_factory.mktemp("data") / "twitteraae")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared benchmark data beside the checkout; skips the test if it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared benchmark data is not at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def corpus_tokens(shared_data, tmp_path_factory) -> dict[str, tuple[list[str], list[list[str]]]]:
    """Per corpus file (``tests/tokeniser_corpus.py``) its posts and their tokens: tokenised
    once per run (about 25 s), shared by the xdist workers through a file in the run's
    temporary folder (the first worker to ask writes it, the other waits for it)."""
    import fcntl
    import pickle

    from tokeniser_corpus import corpus_files, read_texts

    from tonecls.preprocess import Preprocessor

    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # this run's, never an older run's
    cache = root / "tonecls_corpus_tokens.pickle"
    with open(root / "tonecls_corpus_tokens.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cache.is_file():
            preprocessor = Preprocessor()
            tokens = {name: (texts, preprocessor.tokenize(texts))
                      for name, path in corpus_files(shared_data) for texts in [read_texts(path)]}
            partial = cache.with_suffix(".partial")
            partial.write_bytes(pickle.dumps(tokens, protocol=pickle.HIGHEST_PROTOCOL))
            partial.replace(cache)
        return pickle.loads(cache.read_bytes())


@pytest.fixture(scope="session")
def scored_sample(tmp_path_factory) -> Path:
    """data/sample_posts.csv scored by the default model (397 ok rows, 3 empty), once a session."""
    from support import ROOT

    from tonecls.cli import main

    out = tmp_path_factory.mktemp("scored_sample") / "scored.csv"
    assert main(["score", str(ROOT / "data" / "sample_posts.csv"), "-o", str(out), "-q"]) == 0
    return out


@pytest.fixture(scope="session")
def dask_scheduler():
    """A real dask.distributed LocalCluster: 2 single-threaded workers (threads, in-process)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="session")
def scored_benchmarks(request, shared_data, tmp_path_factory) -> dict:
    """The default model's probabilities and gold labels on the TweetEval sentiment test set and
    the GoEmotions ekman test set: per head ``{"classes", "proba", "predicted", "gold"}`` (0/1
    matrices over the scored posts). Scored once (a few seconds, no TensorFlow) and cached in
    pytest's cache directory, keyed by the default bundle's metadata."""
    import hashlib

    import numpy as np

    from tonecls.model.bundle import DEFAULT_BUNDLE

    key = hashlib.sha256((Path(DEFAULT_BUNDLE) / "bundle.json").read_bytes()).hexdigest()[:16]
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    folder = cache.mkdir("tonecls_scored_benchmarks") if cache else tmp_path_factory.mktemp("scored")
    path = Path(folder) / f"{key}.npz"
    if not path.is_file():
        _score_benchmarks(path)
    stored = np.load(path, allow_pickle=False)
    return {head: {"classes": [str(c) for c in stored[f"{head}_classes"]], "proba": stored[f"{head}_proba"],
                   "predicted": stored[f"{head}_predicted"], "gold": stored[f"{head}_gold"]}
            for head in ("sentiment", "ekman")}


def _score_benchmarks(path: Path) -> None:
    import numpy as np

    from tonecls import load_model
    from tonecls.datasets import load_goemotions, load_tweeteval, to_multi_hot

    model = load_model()
    arrays = {}
    for head, frame, gold_of in (
            ("sentiment", load_tweeteval("sentiment", "test"),
             lambda rows, classes: np.eye(len(classes))[[classes.index(v) for v in rows["label"]]]),
            ("ekman", load_goemotions("ekman", "test"),
             lambda rows, classes: to_multi_hot(rows["labels"], classes))):
        predicted = model.predict(frame["text"].tolist(), all_languages=True)
        ok = predicted["tonecls_status"].eq("ok").to_numpy()
        spec = model.head(head)
        proba = predicted[[f"{head}_p_{c}" for c in spec.classes]].to_numpy(np.float64)[ok]
        chosen = (proba >= model.thresholds_[head]) if spec.multilabel else \
            (proba.argmax(1)[:, None] == np.arange(len(spec.classes)))
        arrays.update({f"{head}_classes": np.array(spec.classes), f"{head}_proba": proba,
                       f"{head}_predicted": chosen.astype(np.float64),
                       f"{head}_gold": np.asarray(gold_of(frame[ok], list(spec.classes)), dtype=np.float64)})
    partial = path.with_name(path.name + ".partial.npz")
    np.savez(partial, **arrays)
    partial.replace(path)


@pytest.fixture
def bundle_copy(tmp_path) -> Path:
    """A copy of the default bundle, free to damage."""
    import shutil

    from tonecls.model.bundle import DEFAULT_BUNDLE

    target = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, target)
    return target


@pytest.fixture
def english_model(tiny_model):
    """The tiny model, declared English (a memory-trained model's languages are unknown)."""
    tiny_model.metadata_["languages"] = ["en"]
    yield tiny_model
    tiny_model.metadata_.pop("languages", None)


@pytest.fixture(scope="session")
def keras_setup():
    """Keras, two head specs (single- and multi-label) and a TrainConfig maker for them."""
    keras = pytest.importorskip("keras")
    from tonecls.model.config import DataSource, HeadConfig, HeadSpec, TrainConfig

    heads = [HeadSpec("tone", ["a", "b", "c"]), HeadSpec("flags", ["x", "y"], multilabel=True)]

    def config(**options):
        head_configs = [HeadConfig(h.name, DataSource(kind="memory"), classes=h.classes, multilabel=h.multilabel)
                        for h in heads]
        return TrainConfig(heads=head_configs, **options)

    return keras, heads, config


@pytest.fixture(scope="session")
def injected_audit():
    """A synthetic scored export whose model misses 'anger' more often in dialect group aa, and
    its group audit."""
    from support import scored_frame

    from tonecls.audit.groups import audit_groups

    frame = scored_frame(4000, recall_drop=("aa", 0, 0.35))
    return frame, audit_groups(frame, head="emotion", label_col="gold", group_cols=["dialect"],
                               n_bootstrap=200, seed=0, quiet=True)


@pytest.fixture(scope="session")
def dialect_estimator(fake_twitteraae):
    """A DialectEstimator of the small fake model: file, CLI and resume behaviour."""
    from tonecls.audit.dialect import DialectEstimator

    return DialectEstimator(fake_twitteraae).fit()


@pytest.fixture(scope="session")
def sentiment_frame(scored_benchmarks):
    """3,000 posts of the TweetEval sentiment test set as a scored frame with gold labels, a
    random region and a creation date over two months."""
    import numpy as np
    import pandas as pd
    from support import scored_frame_of

    frame = scored_frame_of(scored_benchmarks["sentiment"], "sentiment").iloc[:3000].copy()
    rng = np.random.default_rng(0)
    frame["region"] = rng.choice(["north", "south"], len(frame))
    frame["created"] = pd.to_datetime("2024-03-01") + pd.to_timedelta(rng.integers(0, 60, len(frame)), unit="D")
    return frame


@pytest.fixture(scope="session")
def tiny_audit(tiny_bundle):
    """The tiny bundle, its members (the tone head's training posts), 150 non-members and the
    membership-inference audit (loss and trained attacks)."""
    from support import synthetic_posts, tiny_data

    from tonecls.model import LabelledSplit, load_model
    from tonecls.privacy import audit_membership

    model = load_model(tiny_bundle)
    members = tiny_data()["tone"]["train"]
    posts, labels = synthetic_posts(150, seed=9)
    non_members = LabelledSplit(posts, labels)
    result = audit_membership(model, members, non_members, "tone", attacks=["loss", "trained"], n_resamples=200)
    return model, members, non_members, result


@pytest.fixture(scope="session")
def biased_probe_result():
    """The counterfactual probes of KeywordProbeModel (biased on gender), 500 bootstrap resamples."""
    from support import KeywordProbeModel

    from tonecls.audit.probes import run_probes

    return run_probes(KeywordProbeModel(), n_bootstrap=500)


@pytest.fixture
def parallel_small(monkeypatch):
    """Let small test inputs use worker processes, in parts of 20 rows."""
    import tonecls.io.parallel as parallel

    monkeypatch.setattr(parallel, "MIN_PARALLEL_ROWS", 1)
    monkeypatch.setattr(parallel, "PART_ROWS", 20)
    return parallel
