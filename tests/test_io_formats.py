"""Export formats told by file extension (tonecls.io.formats)."""

from __future__ import annotations

import pytest

from tonecls.errors import InputError
from tonecls.io import detect_format


@pytest.mark.parametrize(
    "name, expected",
    [("a.csv", "csv"), ("a.TSV", "tsv"), ("a.jsonl", "jsonl"), ("a.ndjson.gz", "jsonl"),
     ("x/y.csv.gz", "csv"), ("a.parquet", "parquet")],
)
def test_detect_format(name, expected):
    assert detect_format(name) == expected


def test_detect_format_errors_list_supported_extensions():
    with pytest.raises(InputError, match=r"posts\.xlsx.*supported: \.csv, \.tsv, \.jsonl"):
        detect_format("posts.xlsx")
    with pytest.raises(InputError, match="parquet.gz is not supported"):
        detect_format("posts.parquet.gz")
