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
