"""Values between files and DataFrames: what is missing, how a value is written as JSON or text.

One set of rules for every reader and writer of :mod:`tonecls.io`:

- **missing**: in a DataFrame column, ``None``, pandas' ``NA`` / ``NaT`` and a NaN in a plain
  numpy float column or at the top of an object column (pandas' own convention, used by the
  model's outputs); a NaN *inside* a nested value (a list, a dict) and a NaN in a nullable
  float column (``Float64``, how Parquet floats are read) is a value, not missing;
- **nesting**: a JSONL line nested deeper than :data:`MAX_JSON_DEPTH` arrays / objects is not
  read (``malformed_line``): every reader and writer can then hold its values;
- **numbers no double holds exactly** in a JSONL input (``1e400``, ``1e-400``,
  ``0.12345678901234567890``) and the JSON constants ``NaN``, ``Infinity``, ``-Infinity``
  are read as :class:`RawNumber`, which keeps their text, so text outputs write them as
  they came;
- **text outputs** (CSV/TSV fields, JSONL values): integers as integers, floats in their
  shortest exact form (``repr``; float32 in float32's), a NaN that is a value as ``NaN`` and
  infinities as ``Infinity`` / ``-Infinity`` (the spelling Python's ``json`` and ``float``,
  pandas and JavaScript read back), nested values as JSON text (CSV/TSV) or JSON (JSONL),
  binary as base64 text, decimals, dates and times as their text.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import math
import re
from typing import Any

__all__ = [
    "MAX_JSON_DEPTH",
    "RawNumber",
    "decode_json_line",
    "encode_json",
    "is_missing",
    "to_json_value",
    "to_text_value",
    "without_surrogates",
]


class RawNumber:
    """A JSON number kept as its text: one that no double holds exactly, or a JSON constant.

    ``float(raw)`` is the nearest double (``inf`` for ``1e400``); :attr:`is_double` says
    whether that double is the number itself (the constants ``NaN``, ``Infinity``,
    ``-Infinity``). Two RawNumbers are equal when their texts are.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __float__(self) -> float:
        return float(self.text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawNumber) and other.text == self.text

    def __hash__(self) -> int:
        return hash((RawNumber, self.text))

    def __repr__(self) -> str:
        return f"RawNumber({self.text!r})"

    @property
    def is_double(self) -> bool:
        """Whether a double holds this number exactly (a Parquet double can)."""
        return self.text in JSON_CONSTANTS


JSON_CONSTANTS = ("NaN", "Infinity", "-Infinity")


# --- JSON in ------------------------------------------------------------------------------


def _exact_float(text: str) -> float | RawNumber:
    """The double a JSON number denotes, or a :class:`RawNumber` if writing that double back
    would give another number (overflow, underflow, more digits than a double keeps)."""
    value = float(text)
    if len(text) < 16 and "e" not in text and "E" not in text:
        return value  # at most 15 significant digits, in the normal range: the double is exact
    if decimal.Decimal(repr(value)) == decimal.Decimal(text):
        return value
    return RawNumber(text)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a dict; a name given twice is refused (which value is meant is
    unknown, and a dict would keep the last one silently)."""
    record = dict(pairs)
    if len(record) != len(pairs):
        seen: set[str] = set()
        name = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"the name {name!r} appears twice in one object")
    return record


# the number hooks run only for floats and the constants; the object hook costs about 1 µs a line
_decode = json.JSONDecoder(parse_constant=RawNumber, parse_float=_exact_float, object_pairs_hook=_object).decode
MAX_JSON_DEPTH = 128  # arrays / objects inside one another on a JSONL line, the line's object included
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def decode_json_line(text: str) -> tuple[Any, bool]:
    """The JSON value of one line (:class:`RawNumber` where a double would change a number)
    and whether it held lone surrogates (``"\\ud800"``), each replaced by U+FFFD.

    Raises ValueError for text that is not JSON, an object that repeats a key, or a value
    nested deeper than :data:`MAX_JSON_DEPTH`.
    """
    try:
        value = _decode(text)
        too_deep = text.count("[") + text.count("{") > MAX_JSON_DEPTH and _deeper_than(value, MAX_JSON_DEPTH)
    except RecursionError:
        too_deep = True
    if too_deep:
        raise ValueError(f"arrays and objects nested deeper than {MAX_JSON_DEPTH} levels")
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        return without_surrogates(value)
    return value, False


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays / objects in ``value`` nest deeper than ``limit`` (without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def without_surrogates(value: Any) -> tuple[Any, bool]:
    """``value`` with every lone surrogate in its texts (keys included) replaced by U+FFFD,
    and whether there was one."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            return _SURROGATE.sub("\ufffd", value), True
        return value, False
    if isinstance(value, list):
        items = [without_surrogates(v) for v in value]
        return [v for v, _ in items], any(changed for _, changed in items)
    if isinstance(value, dict):
        pairs = [(without_surrogates(k), without_surrogates(v)) for k, v in value.items()]
        changed = any(k[1] or v[1] for k, v in pairs)
        return ({k[0]: v[0] for k, v in pairs} if changed else value), changed
    return value, False


# --- missing ------------------------------------------------------------------------------


def is_missing(value: Any) -> bool:
    """Whether a top-level DataFrame value is missing: None, pandas' NA / NaT or a float NaN."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return not isinstance(value, str) and type(value).__name__ in _PANDAS_MISSING


_PANDAS_MISSING = ("NAType", "NaTType")  # by name: this module does not import pandas


# --- JSON and text out --------------------------------------------------------------------


def to_json_value(value: Any, *, nested: bool = False) -> Any:
    """A value as plain JSON data, without loss: numpy scalars and arrays as Python numbers
    and lists, floats unchanged (NaN and infinities too), bytes as base64 text, decimals,
    dates and other scalars as their text, :class:`RawNumber` as it is (see
    :func:`encode_json`); a missing top-level value (``nested=False``) as None."""
    if value is None:
        return None
    if isinstance(value, (str, bool, int, RawNumber)):
        return value
    if isinstance(value, float):
        return None if not nested and math.isnan(value) else value
    if not nested and is_missing(value):
        return None
    if type(value).__module__ == "numpy":
        return _numpy_json(value, nested)
    if isinstance(value, dict):
        return {_json_key(k): to_json_value(v, nested=True) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return _sequence_json(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return str(value)
    return str(value)


def _numpy_json(value: Any, nested: bool) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return [to_json_value(v, nested=True) for v in value.tolist()] if value.dtype != object \
            else [to_json_value(v, nested=True) for v in value]
    if isinstance(value, np.floating):  # float32 in its own shortest form
        number = float(str(value)) if value.dtype == np.float32 else float(value)
        return None if not nested and math.isnan(number) else number
    if isinstance(value, (np.datetime64, np.timedelta64)):
        if np.isnat(value):
            return None
        return str(value)
    return to_json_value(value.item(), nested=nested)


def _sequence_json(value: list | tuple) -> Any:
    """A list as a JSON array; a list of (key, value) pairs with distinct keys (how Arrow maps
    with repeated keys, and pandas, give maps) as a JSON object."""
    if value and isinstance(value, list) and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        keys = [_json_key(k) for k, _ in value]
        if len(set(keys)) == len(keys):
            return {k: to_json_value(v, nested=True) for k, (_, v) in zip(keys, value)}
        return [[to_json_value(k, nested=True), to_json_value(v, nested=True)] for k, v in value]
    return [to_json_value(v, nested=True) for v in value]


def _json_key(key: Any) -> str:
    """A JSON object key: text as it is, anything else as its JSON text (``1`` -> ``"1"``)."""
    if isinstance(key, str):
        return key
    plain = to_json_value(key, nested=True)
    return plain if isinstance(plain, str) else encode_json(plain)


_fast_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=True).encode
_encode_string = json.JSONEncoder(ensure_ascii=False).encode


def encode_json(value: Any) -> str:
    """JSON text of plain JSON data (:func:`to_json_value`): NaN and infinities as ``NaN`` /
    ``Infinity`` / ``-Infinity``, a :class:`RawNumber` as its own text."""
    try:
        return _fast_encode(value)
    except TypeError:  # a RawNumber somewhere
        return _encode_exact(value)


def _encode_exact(value: Any) -> str:
    if isinstance(value, RawNumber):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_encode_string(str(k))}: {_encode_exact(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_encode_exact(v) for v in value) + "]"
    return _fast_encode(value)


def float_text(value: float) -> str:
    """A float as the text of a field: shortest exact form, ``NaN``, ``Infinity``, ``-Infinity``."""
    if math.isfinite(value):
        return repr(value)
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def to_text_value(value: Any) -> str | None:
    """A top-level value as the text of one CSV/TSV field: text unchanged, numbers exact
    (:func:`float_text`), :class:`RawNumber` as its text, nested values as JSON text, binary
    as base64; missing as None (an empty field)."""
    if isinstance(value, str):
        return value
    plain = to_json_value(value)
    if plain is None:
        return None
    if isinstance(plain, str):
        return plain
    if isinstance(plain, RawNumber):
        return plain.text
    if isinstance(plain, float):
        return float_text(plain)
    if isinstance(plain, (dict, list)):
        return encode_json(plain)
    return str(plain)
