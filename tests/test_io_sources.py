"""What a file job reads (tonecls.io.sources): a folder or glob of parts read as one table in
file order on either engine; parts of different formats refused."""

from __future__ import annotations

import pandas as pd
import pytest

from support import ENGINES, StandInModel, engine_options, write_csv

from tonecls.errors import InputError
from tonecls.jobs import score_file


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("pattern", ["folder", "glob"])
def test_a_multi_file_export_is_scored_as_one_table_in_file_order(tmp_path, engine, pattern, request):
    parts = tmp_path / "export"
    parts.mkdir()
    frames = []
    for i in range(3):
        src = write_csv(parts / f"part-{i}.csv", n=40 + i, multiline=False)
        frames.append(pd.read_csv(src, dtype=str, keep_default_na=False))
    (parts / "_SUCCESS").write_text("")  # written by Spark; not a part
    out = tmp_path / "scored.parquet"
    source = parts if pattern == "folder" else str(parts / "part-*.csv")
    summary = score_file(source, out, model=StandInModel(), **engine_options(engine, request))
    scored = pd.read_parquet(out)
    expected = pd.concat(frames, ignore_index=True)
    assert summary.rows == len(scored) == len(expected) == 123
    pd.testing.assert_frame_equal(scored[expected.columns], expected)


def test_parts_of_different_formats_are_refused(tmp_path):
    parts = tmp_path / "export"
    parts.mkdir()
    write_csv(parts / "a.csv", n=5)
    (parts / "b.jsonl").write_text('{"text": "hi"}\n')
    with pytest.raises(InputError, match="mixes formats"):
        score_file(parts, tmp_path / "out.csv", model=StandInModel())


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_later_file_without_the_text_column_is_refused_before_any_work(tmp_path, engine, fmt, request):
    parts = tmp_path / "export"
    parts.mkdir()
    good = pd.DataFrame({"id": ["1", "2"], "text": ["a", "b"]})
    bad = pd.DataFrame({"id": ["3"], "body": ["c"]})
    for name, frame in (("part-0", good), ("part-1", good), ("part-2", bad)):
        path = parts / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False)
        elif fmt == "jsonl":
            frame.to_json(path, orient="records", lines=True)
        else:
            frame.to_parquet(path, index=False)
    model = StandInModel()
    out = tmp_path / "scored.parquet"
    with pytest.raises(InputError, match=r"part-2\.\w+ \(a file of the input\) has no column\(s\) \['text'\]"):
        score_file(parts, out, model=model, **engine_options(engine, request))
    assert model.batches == [] and not out.exists()
