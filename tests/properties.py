"""Shared pieces of the property tests of tonecls.io (``test_io_properties.py``): how many
examples the active Hypothesis profile asks for, random Arrow tables, reference writers of
each input format that do not use tonecls, and what each output format holds of a value.

The models here are the specification: ``jsonl_value`` / ``text_value`` say what a value
becomes in a JSONL / CSV output, ``same`` compares exactly (types, NaN, -0.0, key order).
"""

from __future__ import annotations

import base64
import csv
import datetime
import decimal
import gzip
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import settings
from hypothesis import strategies as st

FAST_EXAMPLES = 10  # max_examples of the "fast" profile (tests/conftest.py)


def examples(fast: int) -> int:
    """``fast`` examples under the fast profile, proportionally more under ``ci``."""
    return max(1, round(fast * settings.default.max_examples / FAST_EXAMPLES))


# --- formats ---------------------------------------------------------------------------------

FORMATS = ["csv", "tsv", "csv.gz", "tsv.gz", "jsonl", "jsonl.gz", "parquet"]


def base(fmt: str) -> str:
    return fmt.split(".")[0]


def open_text_out(path: Path) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


# --- random Arrow types and values -----------------------------------------------------------

INT_TYPES = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()]
SPECIAL_TEXT = ["", " ", "\n", "\r", "\r\n", '"', "'", ",", "\t", "\\", "\x00", "\u2028", "\ufeff", "NA",
                "null", "NaN", "007", "a,b\tc\nd\re", "\U0001F602", '{"a": 1}']
TEXT = st.one_of(st.text(max_size=12), st.sampled_from(SPECIAL_TEXT),
                 st.lists(st.sampled_from(SPECIAL_TEXT + ["x", "é"]), max_size=4).map("".join))
NAMES = st.one_of(st.text(max_size=6), st.sampled_from(["", " ", "x", "x.1", "Unnamed: 0", "a,b", 'q"', "l\nm"]))


def _int_values(arrow_type) -> st.SearchStrategy:
    info = np.iinfo(arrow_type.to_pandas_dtype())
    low, high = int(info.min), int(info.max)
    edges = [low, high, 0] + [v for v in (2**53 + 1, -(2**53) - 1) if low <= v <= high]
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


def _decimal_type_and_values(precision: int, scale: int):
    kind = pa.decimal128(precision, scale)
    mantissa = st.integers(-(10**precision - 1), 10**precision - 1)
    exact = decimal.Context(prec=precision + 2)
    return kind, mantissa.map(lambda m: decimal.Decimal(m).scaleb(-scale, context=exact))


_NS = st.integers(-(2**63) + 1, 2**63 - 1)
_UTC = datetime.timezone.utc

# (arrow type, values, holds in JSON) for the leaf types
LEAVES = [
    *[(t, None, True) for t in INT_TYPES],
    (pa.float64(), st.floats(), True),
    (pa.float32(), st.floats(width=32), True),
    (pa.bool_(), st.booleans(), True),
    (pa.string(), TEXT, True),
    (pa.large_string(), TEXT, True),
    (pa.null(), st.none(), True),
    (pa.binary(), st.binary(max_size=8), False),
    (*_decimal_type_and_values(5, 2), False),
    (*_decimal_type_and_values(38, 0), False),
    (pa.date32(), st.dates(), False),
    (pa.timestamp("us"), st.datetimes(), False),
    (pa.timestamp("us", tz="UTC"), st.datetimes(timezones=st.just(_UTC)), False),
    (pa.timestamp("ns"), _NS, False),
]


def _leaf(index: int) -> tuple[Any, st.SearchStrategy, bool]:
    kind, values, in_json = LEAVES[index]
    return kind, _int_values(kind) if values is None else values, in_json


@st.composite
def arrow_types(draw, depth: int = 2, json_only: bool = False) -> tuple[Any, st.SearchStrategy]:
    """An Arrow type (leaves, lists, structs, maps, nested up to ``depth``) and a strategy
    of its values, nulls anywhere; ``json_only``: types a JSON value holds exactly."""
    leaves = [i for i, (_, _, in_json) in enumerate(LEAVES) if in_json or not json_only]
    shape = draw(st.sampled_from(["leaf"] * 3 + (["list", "struct", "map"] if depth else [])))
    if shape == "leaf":
        kind, values, _ = _leaf(draw(st.sampled_from(leaves)))
        return kind, st.one_of(st.none(), values)
    if shape == "list":
        item, values = draw(arrow_types(depth - 1, json_only))
        return pa.list_(item), st.one_of(st.none(), st.lists(values, max_size=3))
    if shape == "struct":
        names = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
        fields = [draw(arrow_types(depth - 1, json_only)) for _ in names]
        kind = pa.struct([pa.field(n, t) for n, (t, _) in zip(names, fields)])
        record = st.tuples(*[v for _, v in fields]).map(lambda vs: dict(zip(names, vs)))
        return kind, st.one_of(st.none(), record)
    key_type, keys = (pa.string(), TEXT) if json_only else draw(st.sampled_from(
        [(pa.string(), TEXT), (pa.int64(), _int_values(pa.int64())), (pa.int32(), _int_values(pa.int32()))]))
    item, values = draw(arrow_types(depth - 1, json_only))
    pairs = st.lists(st.tuples(keys, values), max_size=3, unique_by=lambda kv: kv[0])
    return pa.map_(key_type, item), st.one_of(st.none(), pairs)


@st.composite
def arrow_tables(draw, in_fmt: str) -> pa.Table:
    """A random table whose every column the input format ``in_fmt`` can hold: CSV/TSV only
    text, JSONL the JSON types, Parquet everything."""
    n_rows = draw(st.integers(0, 7))
    names = draw(st.lists(NAMES.filter(lambda n: not n.startswith("_tonecls")), min_size=1, max_size=4,
                          unique=True))
    columns = []
    for _ in names:
        if base(in_fmt) in ("csv", "tsv"):
            kind, values = pa.string(), st.one_of(st.none(), TEXT)
        else:
            kind, values = draw(arrow_types(json_only=base(in_fmt) == "jsonl"))
        columns.append(pa.array(draw(st.lists(values, min_size=n_rows, max_size=n_rows)), type=kind))
    return pa.Table.from_arrays(columns, names=names)


# --- reference writers of the input formats (no tonecls) -------------------------------------


def _map_pairs_as_dicts(values: list, kind) -> list:
    """``to_pylist`` values with maps (pairs) as dicts, wherever they are nested."""
    if pa.types.is_map(kind):
        return [None if v is None else {k: _map_pairs_as_dicts([x], kind.item_type)[0] for k, x in v}
                for v in values]
    if pa.types.is_struct(kind):
        return [None if v is None else {f.name: _map_pairs_as_dicts([v[f.name]], f.type)[0] for f in kind}
                for v in values]
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return [None if v is None else _map_pairs_as_dicts(v, kind.value_type) for v in values]
    return values


def python_columns(table: pa.Table) -> list[list]:
    """Each column's values as Python data, maps as dicts."""
    return [_map_pairs_as_dicts(table.column(i).to_pylist(), table.schema.field(i).type)
            for i in range(table.num_columns)]


def write_input(table: pa.Table, path: Path, fmt: str) -> None:
    """Write ``table`` as ``fmt`` with pyarrow, :mod:`json` or :mod:`csv` (not tonecls)."""
    if fmt == "parquet":
        pq.write_table(table, path)
        return
    columns = python_columns(table)
    buffer = io.StringIO(newline="")
    if base(fmt) == "jsonl":
        for row in zip(*columns):
            buffer.write(json.dumps(dict(zip(table.column_names, row)), allow_nan=True) + "\n")
        if not columns:
            buffer.write("")
    else:
        writer = csv.writer(buffer, delimiter="," if base(fmt) == "csv" else "\t", lineterminator="\r\n")
        writer.writerow(table.column_names)
        for row in zip(*columns) if table.num_rows else []:
            writer.writerow(["" if v is None else v for v in row])
    data = buffer.getvalue().encode("utf-8")
    path.write_bytes(gzip.compress(data) if fmt.endswith(".gz") else data)


# --- what each output format holds of a value ------------------------------------------------


def float32_value(value: float) -> float:
    """A float32 as the double of its shortest decimal form (how text outputs write it)."""
    return float(str(np.float32(value)))


def jsonl_value(value: Any, kind) -> Any:
    """What a JSONL output holds of an Arrow value of type ``kind`` (maps as dicts)."""
    if value is None:
        return None
    if pa.types.is_float32(kind):
        return float32_value(value)
    if pa.types.is_struct(kind):
        return {f.name: jsonl_value(value[f.name], f.type) for f in kind}
    if pa.types.is_map(kind):
        return {k if isinstance(k, str) else json.dumps(k): jsonl_value(v, kind.item_type) for k, v in value.items()}
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return [jsonl_value(v, kind.value_type) for v in value]
    if pa.types.is_binary(kind):
        return base64.b64encode(value).decode("ascii")
    if pa.types.is_decimal(kind):
        return str(value)
    if pa.types.is_timestamp(kind):
        return pd.Timestamp(value, unit="ns", tz=kind.tz).isoformat() if isinstance(value, int) \
            else pd.Timestamp(value).isoformat()
    if pa.types.is_date(kind):
        return value.isoformat()
    return value


def field_text(value: Any) -> str:
    """The text of a CSV/TSV field for a JSON-data value (None: the empty field)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return repr(value) if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, allow_nan=True)
    return str(value)


def text_value(value: Any, kind) -> str:
    """What a CSV/TSV output holds of an Arrow value of type ``kind`` (a float32: numpy's
    shortest text of it, ``1e+06``, as pandas writes it)."""
    if pa.types.is_float32(kind) and value is not None and math.isfinite(value):
        return str(np.float32(value))
    return field_text(jsonl_value(value, kind))


def same(a: Any, b: Any) -> bool:
    """Exact equality: types (int vs float vs bool), NaN equals NaN, -0.0 differs from 0.0,
    dicts in the same key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


# --- reading an output back without tonecls --------------------------------------------------


def read_output(path: Path, fmt: str) -> tuple[list[str], list[list]]:
    """The column names and the rows (lists) of an output file, read with pyarrow / json / csv."""
    if fmt == "parquet":
        table = pq.read_table(path)
        columns = python_columns(table)
        return table.column_names, [list(r) for r in zip(*columns)] if columns else []
    with open_text_out(path) as text:
        if base(fmt) == "jsonl":
            records = [json.loads(line) for line in text.read().split("\n") if line]
            names = list(dict.fromkeys(k for r in records for k in r))
            return names, [[r.get(n) for n in names] for r in records]
        rows = list(csv.reader(text, delimiter="," if base(fmt) == "csv" else "\t", strict=True))
        return rows[0], rows[1:]


# --- random CSV/TSV text ---------------------------------------------------------------------

FIELD_BYTES = st.one_of(TEXT.map(lambda t: t.encode("utf-8")), st.binary(max_size=6),
                        st.sampled_from([b"\xff", b"\xe2\x82", b"caf\xe9", b"\xed\xa0\x80", b'"', b"\r", b"\r\n"]))


def _delimited_field(field: bytes, sep: bytes, alone: bool, quote: bool) -> bytes:
    """A field as a CSV writer may write it: quoted where RFC 4180 needs it (a separator,
    quote, line break; an empty field alone on its line), else quoted or not."""
    if quote or alone and not field or any(c in field for c in (sep, b'"', b"\n", b"\r")):
        return b'"' + field.replace(b'"', b'""') + b'"'
    return field


@st.composite
def delimited_texts(draw, sep: str) -> tuple[bytes, list[str], list[list[str]], list[str]]:
    """Random CSV/TSV bytes: (file, header, rows, read statuses), with random quoting, line
    ends, blank lines, a byte-order mark, fields of any bytes (not UTF-8: U+FFFD, flagged)."""
    separator = sep.encode()
    n_columns = draw(st.integers(1, 4))
    header = draw(st.lists(TEXT.map(lambda t: t.encode("utf-8")), min_size=n_columns, max_size=n_columns))
    records = draw(st.lists(st.lists(FIELD_BYTES, min_size=n_columns, max_size=n_columns), max_size=6))
    pieces = [draw(st.sampled_from([b"", b"\xef\xbb\xbf"])), draw(st.sampled_from([b"", b"\n", b"\r\n"]))]
    for number, record in enumerate([header, *records]):
        quoting = draw(st.lists(st.booleans(), min_size=n_columns, max_size=n_columns))
        line = separator.join(_delimited_field(f, separator, n_columns == 1, q) for f, q in zip(record, quoting))
        last = number == len(records)
        pieces.append(line + (draw(st.sampled_from([b"", b"\n", b"\r\n"])) if last else
                              draw(st.sampled_from([b"\n", b"\r\n"]))))
        if not last and draw(st.integers(0, 4)) == 0:
            pieces.append(draw(st.sampled_from([b"\n", b"\r\n"])))  # a blank line
    if header[0].startswith("\ufeff".encode()):  # it would be taken for a byte-order mark
        pieces[0] = b"\xef\xbb\xbf"
    rows = [[f.decode("utf-8", errors="replace") for f in record] for record in records]
    statuses = ["ok" if all(_utf8(f) for f in record) else "invalid_encoding" for record in records]
    return b"".join(pieces), [h.decode() for h in header], rows, statuses


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


# --- random JSON Lines text --------------------------------------------------------------------

JSON_NUMBER_TEXTS = ["1e400", "-1e400", "1E-400", "4.9e-325", "1e309", "-0.0", "0e400", "1.000000e+00",
                     "0.1000000000000000055511151231257827021181583404541015625",
                     "123456789012345678901234567890.5", "9007199254740993.0", "0.30000000000000004"]


def json_number(text: str) -> Any:
    """What a JSON number means: an int, the double it denotes, or (no double is it) its text."""
    from tonecls.io.values import RawNumber

    if all(c in "-0123456789" for c in text):
        return int(text)
    value = float(text)
    return value if decimal.Decimal(repr(value)) == decimal.Decimal(text) else RawNumber(text)


def _json_scalars() -> st.SearchStrategy:
    from tonecls.io.values import RawNumber

    numbers = st.one_of(st.integers(), st.integers(-(10**30), 10**30)).map(str) | \
        st.floats(allow_nan=False, allow_infinity=False).map(repr) | st.sampled_from(JSON_NUMBER_TEXTS)
    texts = st.tuples(TEXT, st.booleans()).map(lambda t: (json.dumps(t[0], ensure_ascii=t[1]), t[0], False))
    surrogates = st.sampled_from(['"\\ud800"', '"a\\udfffb"', '"\\ud83d"', '"\\ud83d\\ude00\\udc00"']).map(
        lambda t: (t, re.sub("[\ud800-\udfff]", "\ufffd", json.loads(t)), True))
    return st.one_of(
        numbers.map(lambda t: (t, json_number(t), False)),
        st.sampled_from(["NaN", "Infinity", "-Infinity"]).map(lambda t: (t, RawNumber(t), False)),
        st.sampled_from([("true", True, False), ("false", False, False), ("null", None, False)]),
        texts, surrogates,
    )


def _json_containers(children: st.SearchStrategy) -> st.SearchStrategy:
    def array(items):
        return "[" + ", ".join(t for t, _, _ in items) + "]", [v for _, v, _ in items], any(b for *_, b in items)

    def obj(pairs):
        text = "{" + ",".join(f"{json.dumps(k)}: {t}" for k, (t, _, _) in pairs) + "}"
        return text, {k: v for k, (_, v, _) in pairs}, any(b for _, (*_, b) in pairs)

    keys = st.text(max_size=4)
    return st.lists(children, max_size=3).map(array) | \
        st.lists(st.tuples(keys, children), max_size=3, unique_by=lambda kv: kv[0]).map(obj)


JSON_VALUES = st.recursive(_json_scalars(), _json_containers, max_leaves=6)  # (text, value, surrogate)


@st.composite
def jsonl_texts(draw) -> tuple[bytes, list[dict], list[str]]:
    """Random JSON Lines bytes: (file, records, read statuses), with random spacing, line
    ends, blank lines, a byte-order mark, lone surrogate escapes (U+FFFD, flagged)."""
    keys = NAMES.filter(lambda k: not k.startswith("_tonecls"))
    rows = draw(st.lists(st.lists(st.tuples(keys, JSON_VALUES), max_size=4, unique_by=lambda kv: kv[0]),
                         max_size=6))
    pieces, records, statuses = [draw(st.sampled_from([b"", b"\xef\xbb\xbf"]))], [], []
    for pairs in rows:
        space = draw(st.sampled_from(["", " ", "\t"]))
        line = "{" + space + ",".join(f"{json.dumps(k)}{space}:{space}{t}" for k, (t, _, _) in pairs) + space + "}"
        pieces.append(line.encode("utf-8") + draw(st.sampled_from([b"\n", b"\r\n"])))
        if draw(st.integers(0, 4)) == 0:
            pieces.append(draw(st.sampled_from([b"\n", b" \r\n"])))
        records.append({k: v for k, (_, v, _) in pairs})
        statuses.append("invalid_encoding" if any(b for _, (*_, b) in pairs) else "ok")
    return b"".join(pieces), records, statuses
