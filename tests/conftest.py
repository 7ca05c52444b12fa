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
