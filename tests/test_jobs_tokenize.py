"""The preprocess file job (tonecls.jobs.tokenize) and the `tonecls preprocess` command."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tonecls.errors import InputError
from tonecls.jobs import tokenize_file
from tonecls.preprocess import Preprocessor


def _write_csv(path: Path) -> None:
    path.write_text('id,text\n1,Hello @bob :)\n2,\n3,"multi\nline #Yes"\n4,a,b\n5,SOOO good\n',
                    encoding="utf-8")


def test_tokenize_file_keeps_every_row_in_order(tmp_path):
    source, target = tmp_path / "posts.csv", tmp_path / "tokens.parquet"
    _write_csv(source)
    summary = tokenize_file(source, target, chunksize=2)
    out = pd.read_parquet(target)
    assert out.columns.tolist() == ["id", "text", "tokens", "tonecls_status"]
    assert out["id"].tolist() == ["1", "2", "3", "4", "5"]  # a malformed row keeps its id and text
    assert out["text"].iloc[3] == "a,b"
    assert out["tokens"].tolist() == ["hello <user> :)", "", "multi line <hashtag> yes", "",
                                      "soo <elong> <allcaps> good"]
    assert out["tonecls_status"].tolist() == ["ok", "empty", "ok", "malformed_line", "ok"]
    assert summary.rows == 5 and summary.statuses == {"ok": 3, "empty": 1, "malformed_line": 1}
    assert not list(tmp_path.glob("*.partial*"))


def test_tokenize_file_resumes_after_an_interruption(tmp_path, monkeypatch):
    source, target = tmp_path / "posts.jsonl", tmp_path / "tokens.csv"
    source.write_text("".join(json.dumps({"n": i, "text": f"post {i} :)"}) + "\n" for i in range(10)))
    expected_path = tmp_path / "expected.csv"
    tokenize_file(source, expected_path, chunksize=3)

    calls = {"n": 0}
    original = Preprocessor.tokenize_with_status

    def failing(self, texts):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, texts)

    monkeypatch.setattr(Preprocessor, "tokenize_with_status", failing)
    with pytest.raises(KeyboardInterrupt):
        tokenize_file(source, target, chunksize=3)
    assert not target.exists()
    monkeypatch.setattr(Preprocessor, "tokenize_with_status", original)
    summary = tokenize_file(source, target, chunksize=3, resume=True)
    assert summary.resumed_from_row == 6 and summary.rows == 10
    assert target.read_text() == expected_path.read_text()


def test_tokenize_file_refuses_a_column_clash_before_writing(tmp_path):
    source = tmp_path / "posts.csv"
    _write_csv(source)
    with pytest.raises(InputError, match="already has a column 'id'"):
        tokenize_file(source, tmp_path / "out.csv", tokens_col="id")
    assert list(tmp_path.iterdir()) == [source]


def test_cli_preprocess_file_and_stdin(tmp_path, capsys, monkeypatch):
    import io

    from tonecls.cli import main

    source, target = tmp_path / "posts.csv", tmp_path / "out.jsonl"
    _write_csv(source)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"lowercase": False}))
    assert main(["preprocess", str(source), "-o", str(target), "--config", str(config),
                 "--quiet"]) == 0
    assert "5 rows" in capsys.readouterr().out
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert rows[0]["tokens"] == "Hello <user> :)"

    stdin = io.TextIOWrapper(io.BytesIO(b"Hi @bob\n\n\xff\xfe\nGOOD\n"))
    monkeypatch.setattr("sys.stdin", stdin)
    assert main(["preprocess", "-"]) == 0
    assert capsys.readouterr().out.splitlines() == ["hi <user>", "", "", "good <allcaps>"]

    config.write_text(json.dumps({"format": 1, "preprocess": {"mark_allcaps": False}}))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"GOOD\n")))
    assert main(["preprocess", "-", "--config", str(config)]) == 0  # a bundle.json
    assert capsys.readouterr().out == "good\n"

    assert main(["preprocess", str(source)]) == 2  # no --output
    assert "--output is required" in capsys.readouterr().err
    config.write_text('{"lowercase": "no"}')
    assert main(["preprocess", str(source), "-o", str(target), "--config", str(config)]) == 2
    assert "lowercase must be True or False" in capsys.readouterr().err
