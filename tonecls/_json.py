"""Plain JSON data from the values results hold (numpy, pandas, paths, dates): one converter
for every result's ``to_dict`` and every report's JSON."""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["flat_frame", "frame_records", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: numpy scalars to Python, NaN/inf/NA to ``None``,
    DataFrames to records, paths and dates to strings, dataclass-like objects via ``to_dict``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, pd.DataFrame):
        return frame_records(value)
    if isinstance(value, pd.Series):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (Path, _dt.date, _dt.datetime)):
        return str(value)
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict())
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as records (a meaningful index becomes leading columns)."""
    flat = flat_frame(frame)
    columns = list(flat.columns)
    return [{col: to_jsonable(val) for col, val in zip(columns, row)}
            for row in flat.itertuples(index=False, name=None)]


def flat_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a meaningful index moved into columns and column labels as strings."""
    index_is_meaningful = not (isinstance(frame.index, pd.RangeIndex) and frame.index.name is None)
    flat = frame.reset_index() if index_is_meaningful else frame.copy()
    if isinstance(flat.columns, pd.MultiIndex):
        flat.columns = [" ".join(str(part) for part in col if str(part) != "") for col in flat.columns]
    else:
        flat.columns = [str(col) for col in flat.columns]
    return flat
