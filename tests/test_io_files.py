"""File-system helpers (tonecls.io.files): atomic writes and content hashes."""

from __future__ import annotations

import pandas as pd
import pytest

from tonecls.io import ContentHash, atomic_write
from tonecls.io.values import RawNumber


def test_atomic_write(tmp_path):
    target = tmp_path / "out.txt"
    with atomic_write(target) as out:
        out.write("done")
        assert not target.exists() and len(list(tmp_path.glob("out.txt.*.partial"))) == 1
    assert target.read_text() == "done"
    users_own = tmp_path / "out.txt.partial"
    users_own.write_text("the user's file")
    with pytest.raises(RuntimeError), atomic_write(target) as out:
        out.write("half")
        raise RuntimeError("boom")
    assert target.read_text() == "done" and not list(tmp_path.glob("out.txt.*.partial"))
    assert users_own.read_text() == "the user's file"  # never touched


def test_atomic_writes_get_the_permissions_of_an_ordinary_file(tmp_path):
    import stat

    with atomic_write(tmp_path / "report.json") as out:
        out.write("{}")
    (tmp_path / "plain.json").write_text("{}")
    mode = stat.S_IMODE((tmp_path / "report.json").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain.json").stat().st_mode)


def test_content_hash_tells_types_apart_and_takes_columns_by_position():
    def digest(*columns):
        frame = pd.DataFrame({i: pd.Series(c + [None], dtype=object)[:1] for i, c in enumerate(columns)})
        frame.columns = ["x"] * len(columns)
        content = ContentHash()
        content.update(frame)
        return content.hexdigest()

    values = [[1], ["1"], [1.0], [True], [RawNumber("1")], [[1]], [{"a": 1}], [None], [2**70]]
    assert len({digest(v) for v in values}) == len(values)
    assert digest([1], [2]) != digest([2], [1])


def test_content_hash_tells_apart_what_the_output_would_show_differently():
    """Resume compares digests of the input chunks: anything that changes the written output
    (a width, a zero's sign, a time zone, a category) must change the digest."""
    def digest(series):
        content = ContentHash()
        content.update(pd.DataFrame({"x": series}))
        return content.hexdigest()

    when = pd.Series(pd.to_datetime(["2020-01-01T00:00"]))
    variants = [pd.Series([0.0]), pd.Series([-0.0]), pd.Series([1], dtype="int64"), pd.Series([1], dtype="int32"),
                pd.Series([1.0], dtype="Float64"), pd.Series([-0.0], dtype="Float64"),
                when, when.dt.tz_localize("UTC"), when.dt.tz_localize("UTC").dt.tz_convert("Europe/Paris"),
                pd.Series(["a"]), pd.Series(["a"], dtype="string"), pd.Series(["a"], dtype="category")]
    assert len({digest(v) for v in variants}) == len(variants)
    assert digest(pd.Series([0.0, float("nan")])) == digest(pd.Series([0.0, float("nan")]))
