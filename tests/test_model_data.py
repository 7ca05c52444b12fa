"""Labelled data of a head (tonecls.model.data)."""

from __future__ import annotations

import pandas as pd
import pytest

from support import TINY

from tonecls.errors import InputError
from tonecls.model import DataSource, HeadConfig, TrainConfig, train


def test_export_head_with_unknown_label_is_a_clear_error(tmp_path):
    pd.DataFrame({"text": ["a b", "c d"] * 10, "y": ["x", "z"] * 10}).to_csv(tmp_path / "d.csv", index=False)
    config = TrainConfig(heads=[HeadConfig("h", DataSource(kind="export", path=str(tmp_path / "d.csv"),
                                                           label_column="y"), classes=["x", "w"])], **TINY)
    with pytest.raises(InputError, match="not classes of head"):
        train(config, quiet=True)
