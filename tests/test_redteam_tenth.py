"""Tenth red-team pass: new cases (resume after the input grew, odd JSONL ids, intersections,
weekly prevalence, list-typed Parquet text, unusual predict inputs)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from support import assert_refused, cli


def _csv(path, n, start=0):
    rows = [{"id": f"r{i}", "text": f"i love this so much number {i}" if i % 2 else f"this is awful {i}"}
            for i in range(start, start + n)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return rows


@pytest.mark.parametrize(("done_chunks", "rows_after"), [(1, 60), (2, 25)], ids=["grew", "shrank"])
def test_resume_after_the_input_changed_size_keeps_every_row_once(tmp_path, capsys, monkeypatch, done_chunks,
                                                                   rows_after):
    """User interrupts a score run of 40 rows, appends rows to the CSV (60) or drops trailing rows
    not in completed chunks (25), reruns with --resume: either refused (exit 2) or exactly the
    current input's rows come out, once each, in order."""
    from support import interrupt_after
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _csv(src, 40)
    interrupt_after(monkeypatch, done_chunks)
    try:
        cli(capsys, "score", src, "-o", out, "--chunksize", "10", "-q")
    except KeyboardInterrupt:
        pass
    monkeypatch.undo()
    capsys.readouterr()
    _csv(src, rows_after)
    code, o, e = cli(capsys, "score", src, "-o", out, "--chunksize", "10", "--resume", "-q")
    if code == 2:
        assert "Traceback" not in e
        return
    assert code == 0, e
    assert list(pd.read_csv(out, dtype=str)["id"]) == [f"r{i}" for i in range(rows_after)]


def test_jsonl_ids_beyond_64_bits_and_nested_ids_come_out_as_written(tmp_path, capsys):
    """User scores JSONL whose ids are a 30-digit integer, a nested object and a list:
    each id comes out as it came in JSONL output, every row present."""
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = ['{"id": 123456789012345678901234567890, "text": "i love it"}',
             '{"id": {"a": [1, {"b": 2}]}, "text": "i hate it"}',
             '{"id": [1, 2, 3], "text": "fine"}',
             '{"id": -9223372036854775809, "text": "great day"}']
    src.write_text("\n".join(lines) + "\n")
    code, o, e = cli(capsys, "score", src, "-o", out, "-q")
    assert code == 0, e
    raw = out.read_text().splitlines()
    assert len(raw) == 4
    assert raw[0].startswith('{"id": 123456789012345678901234567890') or \
        '123456789012345678901234567890' in raw[0].split(',')[0]
    assert json.loads(raw[1])["id"] == {"a": [1, {"b": 2}]}
    assert json.loads(raw[2])["id"] == [1, 2, 3]
    assert "-9223372036854775809" in raw[3]


def test_jsonl_repeated_nested_ids_are_counted_as_repeated(tmp_path, capsys):
    """User scores JSONL with two rows whose id is the same object: summary reports a
    repeated id, not zero; no traceback."""
    src, out = tmp_path / "in.jsonl", tmp_path / "out.csv"
    src.write_text('{"id": {"k": 1}, "text": "i love it"}\n{"id": {"k": 1}, "text": "i hate it"}\n')
    code, o, e = cli(capsys, "score", src, "-o", out, "--id-col", "id")
    assert code == 0, e
    assert "Traceback" not in o + e
    assert "repeat" in (o + e).lower()


def test_audit_intersections_cell_counts_sum_to_the_rows(scored_sample, tmp_path, capsys):
    """User audits with two group columns and --intersections: the JSON group sizes of the
    intersection sum to the audited rows (397 ok rows)."""
    out = tmp_path / "rep" / "a"
    code, o, e = cli(capsys, "audit", scored_sample, "-o", out, "--head", "sentiment",
                     "--label-col", "sentiment", "--group-col", "platform",
                     "--group-col", "region", "--intersections", "--n-bootstrap", "50", "-q")
    assert code == 0, e
    rep = json.loads(out.with_suffix(".json").read_text())
    sec = [x for x in rep["sections"] if "platform" in x["title"] and "region" in x["title"]]
    assert sec
    table = [t for t in sec[0]["tables"] if t["title"] == "Summary by group"][0]
    assert sum(int(r["n"]) for r in table["records"] if r["group"] != "overall") == 397


def test_prevalence_weekly_periods_count_every_row(tmp_path, capsys):
    """User runs prevalence with --time-col and --freq W and a group: per-period n of the
    'all' grouping sums to the scored rows."""
    rng = np.random.default_rng(0)
    n = 120
    days = pd.date_range("2024-01-01", periods=40, freq="D")
    p = rng.dirichlet([1, 1, 1], size=n)
    cls = np.array(["negative", "neutral", "positive"])
    df = pd.DataFrame({"id": [f"x{i}" for i in range(n)], "tonecls_status": "ok",
                       "created": [days[i % 40].strftime("%Y-%m-%d") for i in range(n)],
                       "plat": rng.choice(["a", "b"], n),
                       "sentiment_label": cls[p.argmax(1)], "sentiment_confidence": p.max(1),
                       "sentiment_p_negative": p[:, 0], "sentiment_p_neutral": p[:, 1],
                       "sentiment_p_positive": p[:, 2]})
    src = tmp_path / "s.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "r" / "p"
    code, o, e = cli(capsys, "prevalence", src, "-o", out, "--head", "sentiment",
                     "--group-col", "plat", "--time-col", "created", "--freq", "W", "-q")
    assert code == 0, e
    recs = json.loads(out.with_suffix(".json").read_text())
    recs = [t for x in recs["sections"] for t in x.get("tables", []) if t["title"] == "Estimates"][0]["records"]
    per = [r for r in recs if r["class"] == "positive" and "created" in str(r["group"])]
    assert per
    assert sum(r["n"] for r in per) == n
    # weeks of 2024-01-01..2024-02-09: 6 ISO weeks
    assert len(per) == 6, [r["group"] for r in per]


def test_preprocess_of_parquet_with_a_list_text_column(tmp_path, capsys):
    """User tokenises a Parquet file whose text column is list<string>: rows kept and
    flagged not_text, or a one-paragraph refusal; never a traceback."""
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pd.DataFrame({"id": [1, 2], "text": [["hello", "world"], ["bye"]]}).to_parquet(src)
    try:
        code, o, e = cli(capsys, "preprocess", src, "-o", out, "-q")
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"traceback: {exc!r}")
    if code == 2:
        assert_refused((code, o, e), "preprocess")
        return
    assert code == 0, e
    got = pd.read_parquet(out)
    assert len(got) == 2 and list(got["id"]) == [1, 2]


def test_score_of_parquet_with_a_list_text_column_is_not_text(tmp_path, capsys):
    """User scores a Parquet file whose text column is list<string>: both rows flagged
    not_text in place (no ok with made-up predictions)."""
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pd.DataFrame({"id": [1, 2], "text": [["i love it"], None]}).to_parquet(src)
    code, o, e = cli(capsys, "score", src, "-o", out, "-q")
    assert code == 0, e
    got = pd.read_parquet(out)
    assert list(got["tonecls_status"]) == ["not_text", "missing"]


def test_predict_of_numpy_object_array_with_odd_values():
    """User calls model.predict on a numpy array holding str, NaN, None, int: one row
    each, ok only for the string."""
    import tonecls
    model = tonecls.load_model()
    arr = np.array(["i love it", np.nan, None, 5], dtype=object)
    out = model.predict(arr)
    assert len(out) == 4
    assert out["tonecls_status"].iloc[0] == "ok"
    assert (out["tonecls_status"].iloc[1:] != "ok").all(), list(out["tonecls_status"])


def test_predict_of_a_generator_and_a_tuple_agree():
    """User passes a generator of posts and the same posts as a tuple: same predictions."""
    import tonecls
    model = tonecls.load_model()
    posts = ("so happy today", "worst day ever", "meh")
    a = model.predict(p for p in posts)
    b = model.predict(posts)
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_score_frame_of_a_categorical_text_column_scores_the_text():
    """User calls score_frame on a frame whose text column is categorical: same statuses
    and probabilities as the plain-string column, and the column kept categorical."""
    import tonecls
    from tonecls.score import score_frame
    model = tonecls.load_model()
    df = pd.DataFrame({"text": ["so happy today", "worst day ever", "so happy today", None]})
    cat = df.assign(text=df["text"].astype("category"))
    a = score_frame(df, model, text_col="text")
    b = score_frame(cat, model, text_col="text")
    assert list(a["tonecls_status"]) == list(b["tonecls_status"])
    np.testing.assert_allclose(a["sentiment_p_positive"].astype(float).fillna(-1),
                               b["sentiment_p_positive"].astype(float).fillna(-1), atol=1e-6)
    assert str(b["text"].dtype) == "category"


def test_score_frame_of_a_string_pyarrow_text_column_with_na():
    """User calls score_frame on a string[pyarrow] column with pd.NA: NA row is missing."""
    import tonecls
    from tonecls.score import score_frame
    model = tonecls.load_model()
    df = pd.DataFrame({"text": pd.array(["so happy", pd.NA, ""], dtype="string[pyarrow]")})
    out = score_frame(df, model, text_col="text")
    assert list(out["tonecls_status"]) == ["ok", "missing", "empty"]


@pytest.mark.parametrize("args", [["--chunksize", "0"], ["--chunksize", "-5"], ["--workers", "0"]])
def test_score_nonpositive_sizes_are_refused(tmp_path, capsys, args):
    """User passes --chunksize 0/-5 or --workers 0: one-paragraph refusal, nothing written."""
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _csv(src, 3)
    assert_refused(cli(capsys, "score", src, "-o", out, *args), "score")
    assert not out.exists()


@pytest.mark.parametrize("conf", ["1.0", "0", "1.5", "nan"])
def test_prevalence_confidence_outside_0_1_is_refused(scored_sample, tmp_path, capsys, conf):
    """User passes --confidence 1.0 / 0 / 1.5 / nan: one-paragraph refusal, no report."""
    out = tmp_path / "r" / "p"
    assert_refused(cli(capsys, "prevalence", scored_sample, "-o", out, "--head", "sentiment",
                       "--label-col", "sentiment", "--confidence", conf, "-q"), "prevalence")
    assert not out.with_suffix(".json").exists()


@pytest.mark.parametrize("args", [["--alpha", "0"], ["--alpha", "nan"],
                                  ["--min-difference", "-0.1"]])
def test_audit_degenerate_options_are_refused(scored_sample, tmp_path, capsys, args):
    """User passes --alpha 0/nan or a negative --min-difference: refused."""
    out = tmp_path / "r" / "a"
    assert_refused(cli(capsys, "audit", scored_sample, "-o", out, "--head", "sentiment",
                       "--label-col", "sentiment", "--group-col", "platform", *args, "-q"), "audit")
