"""The Keras network (tonecls.model.network): the masked multi-task loss."""

from __future__ import annotations

import numpy as np
import pytest

from support import tiny_config

from tonecls.model import HeadSpec


@pytest.mark.slow
def test_head_without_labels_in_batch_contributes_no_loss_or_update():
    from tonecls.model.network import build_network, compile_network  # Keras: imported by the tests that need it

    specs = [HeadSpec("a", ["x", "y", "z"]), HeadSpec("b", ["p", "q"], multilabel=True)]
    config = tiny_config()
    network = build_network(specs, 20, config)
    compile_network(network, specs, config)
    x = np.random.default_rng(0).integers(1, 20, (8, 5)).astype("int32")
    y = {"a": np.arange(8) % 3, "b": np.ones((8, 2), "float32")}
    only_a = {"a": np.ones(8, "float32"), "b": np.zeros(8, "float32")}
    b_before = [w.copy() for w in network.get_layer("b").get_weights()]
    a_before = [w.copy() for w in network.get_layer("a").get_weights()]
    logs = network.train_on_batch(x, y, sample_weight=only_a, return_dict=True)
    assert logs["b_loss"] == 0.0
    for before, after in zip(b_before, network.get_layer("b").get_weights()):
        np.testing.assert_array_equal(before, after)
    assert any(not np.array_equal(before, after)
               for before, after in zip(a_before, network.get_layer("a").get_weights()))
