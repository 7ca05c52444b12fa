"""Fixtures shared by the test modules (helpers they import are in ``support.py``).

- ``tiny_model`` / ``tiny_bundle``: ONE tiny trained ToneModel (two heads, an ensemble of two
  networks) for the whole session, and the bundle it saves to;
- ``fake_twitteraae``: a small TwitterAAE model in the released format, so that the dialect
  file, CLI and resume tests run without the shared data;
- ``shared_data``: the benchmark data beside the checkout (``../shared/data``).

Tests that train, use a trained model, build Keras networks, start a Dask cluster or execute
notebooks are marked ``slow``: ``pytest -m "not slow"`` is the fast inner loop, ``pytest``
runs everything.

Hypothesis profiles (``HYPOTHESIS_PROFILE``): ``fast`` (the default: few examples, derandomized,
so the inner loop stays quick and repeatable) and ``ci`` (many more, random). Property tests
that take their example count from the profile scale with it (``tests/properties.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "fast", max_examples=10, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
settings.register_profile(
    "ci", max_examples=200, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SLOW_FIXTURES = {"tiny_model", "tiny_bundle", "dask_scheduler", "keras_setup"}  # keras_setup: test_inference


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test that uses a trained model, Keras networks or a Dask cluster."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


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
def dask_scheduler():
    """A real dask.distributed LocalCluster: 2 single-threaded workers (threads, in-process)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="session")
def scored_benchmarks(request, shared_data) -> dict:
    """The default model's probabilities and gold labels on the TweetEval sentiment test set and
    the GoEmotions ekman test set: per head ``{"classes", "proba", "predicted", "gold"}`` (0/1
    matrices over the scored posts). Scored once (a few seconds, no TensorFlow) and cached in
    pytest's cache directory, keyed by the default bundle's metadata."""
    import hashlib

    import numpy as np

    from tonecls.model.bundle import DEFAULT_BUNDLE

    key = hashlib.sha256((Path(DEFAULT_BUNDLE) / "bundle.json").read_bytes()).hexdigest()[:16]
    path = Path(request.config.cache.mkdir("tonecls_scored_benchmarks")) / f"{key}.npz"
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
