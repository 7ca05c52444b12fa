"""Arrow columns for Parquet output, exactly: pandas values in, the same values and types out.

- :func:`arrow_column` turns one output column into an Arrow array: a declared type (e.g. the
  Parquet input's) where the values fit it, else the type pyarrow infers, else text; nested
  values keep exact integers (beyond 2**53 too), NaN stays NaN, ``RawNumber`` JSON numbers
  become doubles only where a double holds them; a value no Parquet type can hold is refused,
  and so is a column nested deeper than a Parquet file can be read back with
  (:func:`check_parquet_depth`);
- :func:`unify_schemas`, :func:`conform_table` and :func:`write_unified` give many Parquet
  parts (chunks of one writer, a Dask engine's parts) one schema, widening types and adding
  late columns, with every cast checked to change no value.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tonecls.errors import InputError
from tonecls.io.files import fsync_file
from tonecls.io.values import RawNumber, float_text, to_text_value

__all__ = ["PARQUET_MAX_DEPTH", "arrow_column", "check_parquet_depth", "conform_table", "unify_schemas",
           "write_unified"]

PARQUET_MAX_DEPTH = 99  # schema levels of a column that Arrow's Parquet reader opens (it writes deeper ones)

_ARROW_ERRORS: tuple = ()  # the exceptions of a pyarrow conversion that did not fit (set on first use)


def _arrow_errors() -> tuple:
    global _ARROW_ERRORS
    if not _ARROW_ERRORS:
        import pyarrow as pa

        _ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError,
                         ValueError, OverflowError)
    return _ARROW_ERRORS


def _try_array(values: Any, arrow_type, from_pandas: bool):
    """``pa.array(values)`` with ``arrow_type`` (None: inferred), or None if they do not fit."""
    import pyarrow as pa

    try:
        return pa.array(values, type=arrow_type, from_pandas=from_pandas)
    except _arrow_errors():
        return None


def _text_array(values: Iterable[Any]):
    import pyarrow as pa

    return pa.array([to_text_value(v) for v in values], type=pa.string())


def arrow_column(column: pd.Series, declared):
    """An Arrow array of a pandas column: with the declared type if it fits, else inferred; a
    column that no one type holds exactly becomes text (each value as its text)."""
    import pyarrow as pa

    if column.dtype == object:
        return _object_array(column, declared)
    array = None if declared is None else _try_array(column, declared, True)
    if array is None:
        array = _try_array(column, None, True)
    if array is None:
        return _text_array(column.tolist())
    if pa.types.is_large_string(array.type) and not (declared is not None and pa.types.is_large_string(declared)):
        array = array.cast(pa.string())  # pandas' str dtype: plain string, as read
    return array


def _object_array(column: pd.Series, declared):
    """An Arrow array of an object column (JSON values, nested Parquet values): a top-level
    NaN is missing, a NaN inside a nested value stays NaN; a :class:`RawNumber` becomes the
    double that holds it, and one that no double holds (``1e400``), like an integer beyond
    64 bits, is refused unless the column is text anyway."""
    import pyarrow as pa

    values = column.to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = None
    array = None if declared is None else _try_array(values, declared, False)
    if array is None:
        array = _try_array(values, None, False)
    fitted = None
    if array is None:
        fitted = _fitted_values(values)
        if fitted is not None:
            array = _try_array(fitted[0], declared if declared is not None else fitted[1], False)
    if array is not None and declared is None and _has_empty_struct(array.type):
        held = values if fitted is None else fitted[0]  # what the array holds (RawNumbers fitted)
        array = pa.array(held, type=_empty_structs_as_maps(array.type), from_pandas=False)
    if array is not None and (pa.types.is_string(array.type) or pa.types.is_null(array.type)):
        return array
    kinds = {type(v) for v in values if v is not None}
    if array is not None and not (str in kinds and len(kinds) > 1):
        return array
    if str not in kinds:
        _refuse_unrepresentable(column.name, values)
    return _text_array(values)


def _parquet_depth(arrow_type) -> int:
    """Schema levels of a column of ``arrow_type`` in a Parquet file: a list or map takes two
    (its group and its repeated group), a struct one, a leaf one."""
    import pyarrow as pa

    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type):
        return 2 + _parquet_depth(arrow_type.value_type)
    if pa.types.is_map(arrow_type):
        return 2 + max(_parquet_depth(arrow_type.key_type), _parquet_depth(arrow_type.item_type))
    if pa.types.is_struct(arrow_type):
        return 1 + max((_parquet_depth(f.type) for f in arrow_type), default=0)
    return 1


def check_parquet_depth(schema, path: Any) -> None:
    """Refuse a column nested deeper than :data:`PARQUET_MAX_DEPTH` levels: pyarrow writes
    it, but no Parquet file holding it can be read again."""
    for field in schema:
        depth = _parquet_depth(field.type)
        if depth > PARQUET_MAX_DEPTH:
            raise InputError(
                f"cannot write {path}: column {field.name!r} holds values nested {depth} levels deep "
                f"(lists, maps and structs inside one another), more than the {PARQUET_MAX_DEPTH} a Parquet "
                "file can be read back with. Write a CSV, TSV or JSONL output, which keeps them as JSON."
            )


def _has_empty_struct(arrow_type) -> bool:
    return _empty_structs_as_maps(arrow_type) != arrow_type


def _empty_structs_as_maps(arrow_type):
    """``arrow_type`` with every struct without fields (JSON ``{}``, which Parquet cannot
    store) as an empty-able map of text to null, which holds ``{}`` exactly."""
    import pyarrow as pa

    if pa.types.is_struct(arrow_type):
        if arrow_type.num_fields == 0:
            return pa.map_(pa.string(), pa.null())
        return pa.struct([f.with_type(_empty_structs_as_maps(f.type)) for f in arrow_type])
    if pa.types.is_list(arrow_type):
        return pa.list_(_empty_structs_as_maps(arrow_type.value_type))
    return arrow_type


def _fitted_values(values: np.ndarray) -> tuple[list, Any] | None:
    """``values`` with each :class:`RawNumber` a double holds as that double, and the Arrow
    type to try for them (integers from 2**63 to 2**64, where Arrow infers int64: uint64);
    None if there is nothing to fit."""
    found: set[str] = set()
    fitted = [_fitted(v, found) for v in values]
    if not found:
        return None
    arrow_type = None
    if "uint64" in found:  # the type of the values with those integers as 0, uint64 for int64
        inferred = _try_array([_fitted(v, set(), big_int=0) for v in values], None, False)
        arrow_type = None if inferred is None else _unsigned(inferred.type)
    return fitted, arrow_type


def _fitted(value: Any, found: set[str], big_int: int | None = None) -> Any:
    """``value`` with each RawNumber that a double holds as that double (``found``: "raw"),
    noting integers beyond int64 ("uint64"; replaced by ``big_int`` if given)."""
    if isinstance(value, RawNumber):
        found.add("raw")
        return float(value) if value.is_double else value
    if type(value) is int and value >= 2**63:
        found.add("uint64")
        return value if big_int is None else big_int
    if isinstance(value, dict):
        return {k: _fitted(v, found, big_int) for k, v in value.items()}
    if isinstance(value, list):
        return [_fitted(v, found, big_int) for v in value]
    return value


def _unsigned(arrow_type):
    """``arrow_type`` with uint64 for int64 wherever it is nested."""
    import pyarrow as pa

    if arrow_type == pa.int64():
        return pa.uint64()
    if pa.types.is_struct(arrow_type):
        return pa.struct([f.with_type(_unsigned(f.type)) for f in arrow_type])
    if pa.types.is_list(arrow_type):
        return pa.list_(_unsigned(arrow_type.value_type))
    return arrow_type


def _unrepresentable(value: Any) -> Any:
    """The first number inside ``value`` that no Parquet number holds, or None."""
    if isinstance(value, RawNumber):
        return None if value.is_double else value.text
    if type(value) is int:
        return value if not -(2**63) <= value < 2**64 else None
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    return next((found for found in map(_unrepresentable, items) if found is not None), None)


def _refuse_unrepresentable(name: Any, values: np.ndarray) -> None:
    found = next((f for f in map(_unrepresentable, values) if f is not None), None)
    if found is not None:
        raise InputError(
            f"column {name!r} holds the number {found}, which no Parquet number type holds exactly "
            "(doubles reach about 1.8e308 with 17 significant digits, integers 64 bits). Write a "
            "CSV, TSV or JSONL output, which keeps it as written."
        )


class _NoCommonType(Exception):
    pass


def _is_empty_object(arrow_type) -> bool:
    """Whether ``arrow_type`` is the type of a column of JSON ``{}`` (see :func:`_empty_structs_as_maps`)."""
    import pyarrow as pa

    return pa.types.is_map(arrow_type) and pa.types.is_null(arrow_type.item_type)


def _merged_type(a, b):
    """One Arrow type that holds the values of both ``a`` and ``b``: nulls take the other
    type, structs get the fields of both (JSON objects with other keys), lists merge their
    items, numbers and decimals widen as Arrow promotes them."""
    import pyarrow as pa

    if a == b or pa.types.is_null(b) or (_is_empty_object(b) and pa.types.is_struct(a)):
        return a
    if pa.types.is_null(a) or (_is_empty_object(a) and pa.types.is_struct(b)):
        return b
    if pa.types.is_struct(a) and pa.types.is_struct(b):
        fields_a, fields_b = {f.name: f.type for f in a}, {f.name: f.type for f in b}
        names = list(dict.fromkeys([*fields_a, *fields_b]))
        return pa.struct([pa.field(n, _merged_type(fields_a.get(n, pa.null()), fields_b.get(n, pa.null())))
                          for n in names])
    if pa.types.is_list(a) and pa.types.is_list(b):
        return pa.list_(_merged_type(a.value_type, b.value_type))
    if pa.types.is_integer(a) and pa.types.is_integer(b) and pa.uint64() in (a, b):
        return pa.uint64()  # Arrow would take int64, which loses the largest; negatives: text
    try:
        schemas = [pa.schema([pa.field("c", t)]) for t in (a, b)]
        unified = pa.unify_schemas(schemas, promote_options="permissive").field("c").type
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        raise _NoCommonType from None
    if pa.types.is_dictionary(unified):
        raise _NoCommonType
    return unified


def _unify_types(types: Sequence):
    """One Arrow type for a column whose parts have ``types`` (:func:`_merged_type`; null
    everywhere stays null); text if there is none."""
    import pyarrow as pa

    unified = pa.null()
    try:
        for arrow_type in types:
            unified = _merged_type(unified, arrow_type)
    except _NoCommonType:
        return pa.string()
    return unified


def unify_schemas(schemas: Iterable, columns: Sequence[str]):
    """The one schema (in ``columns`` order) that every part's data fits (:func:`_unify_types`)."""
    import pyarrow as pa

    schemas = list(schemas)
    fields = []
    for name in columns:
        types = [s.field(name).type for s in schemas if name in s.names]
        fields.append(pa.field(name, _unify_types(types) if types else pa.null()))
    return pa.schema(fields)


class _LossyCast(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


def _arrow_text(value: Any) -> str | None:
    """An Arrow value (``to_pylist``: None is null, a NaN is a value) as text."""
    if value is None:
        return None
    return float_text(value) if isinstance(value, float) else to_text_value(value)


def conform_table(table, schema):
    """``table`` with the columns and types of ``schema`` (a missing column is null; a value
    cast to text is written as its text, :func:`to_text_value`). Raises :class:`_LossyCast`
    naming a column whose values the target type cannot hold exactly (e.g. an integer above
    2**53 as a float)."""
    import pyarrow as pa

    arrays = []
    for field in schema:
        if field.name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, type=field.type))
            continue
        column = table.column(field.name)
        if column.type == field.type:
            arrays.append(column)
        elif pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            arrays.append(pa.array([_arrow_text(v) for v in column.to_pylist()], type=field.type))
        else:
            arrays.append(_cast_exactly(column, field))
    return pa.Table.from_arrays(arrays, schema=schema)


def _cast_exactly(column, field):
    """``column`` as ``field.type``, by Arrow's safe cast or else value by value (e.g. an
    empty JSON object into a struct); :class:`_LossyCast` if the values do not fit exactly."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        cast = pc.cast(column, field.type, safe=True)
        cast.validate(full=True)  # pyarrow can build invalid structs of lists of null
        return cast
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    try:
        return pa.array(column.to_pylist(maps_as_pydicts="strict"), type=field.type)
    except _arrow_errors() + (KeyError,):
        raise _LossyCast(field.name) from None


def write_unified(parts: Sequence[Path], columns: Sequence[str], target: Path | None = None) -> None:
    """Give Parquet ``parts`` one schema (:func:`unify_schemas`): merged into ``target``, or,
    without a target, each part that differs rewritten in place (a directory of parts)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas = [pq.read_schema(p) for p in parts]
    schema = unify_schemas(schemas, columns)
    if not parts:
        schema = pa.schema([pa.field(c, pa.string()) for c in columns])
    while True:
        try:
            if target is not None:
                with pq.ParquetWriter(target, schema) as writer:
                    for part in parts:
                        writer.write_table(conform_table(pq.read_table(part), schema))
                    if not parts:
                        writer.write_table(schema.empty_table())
            else:
                for part, own in zip(parts, schemas):
                    if own.remove_metadata() != schema:
                        temporary = part.with_name(part.name + ".unify")
                        pq.write_table(conform_table(pq.read_table(part), schema), temporary)
                        fsync_file(temporary)
                        os.replace(temporary, part)
            return
        except _LossyCast as lossy:  # e.g. integers too large for a float: text
            schema = schema.set(schema.get_field_index(lossy.name), pa.field(lossy.name, pa.string()))
            schemas = [pq.read_schema(p) for p in parts]
