"""Reading a Keras network into the numpy one (tonecls.model.keras_export)."""

from __future__ import annotations

import pytest


def test_export_refuses_networks_it_cannot_run(keras_setup):
    keras, _, _ = keras_setup
    from tonecls.model.keras_export import ExportError, from_keras

    ids = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True, name="embedding")(ids)
    x = keras.layers.GRU(3, name="bilstm_1")(x)
    network = keras.Model(ids, {"tone": keras.layers.Dense(3, name="tone")(x)})
    with pytest.raises(ExportError):
        from_keras(network, ["tone"])
