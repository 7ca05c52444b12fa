"""Plain JSON data from the values results hold (tonecls._json)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tonecls._json import to_jsonable


def test_to_jsonable_converts_numpy_and_missing():
    assert to_jsonable({"a": np.float32(0.5), "b": pd.NA, "c": [np.inf, np.bool_(True)]}) == {
        "a": 0.5, "b": None, "c": [None, True]}
