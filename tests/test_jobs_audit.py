"""The audit file job (tonecls.jobs.audit) and the `tonecls audit` command: the three report
files, model provenance, unreadable lines, error-control options, only the audited columns read."""

from __future__ import annotations

import json
import re

import pytest

from support import CLASSES, scored_frame

from tonecls.cli import main


@pytest.mark.slow  # renders 9 figures
def test_cli_writes_three_files(tmp_path, capsys):
    source = tmp_path / "scored.csv"
    scored_frame(1200, seed=10, recall_drop=("aa", 0, 0.3)).to_csv(source, index=False)
    status = main(["audit", str(source), "-o", str(tmp_path / "reports" / "audit"), "--head", "emotion",
                   "--label-col", "gold", "--group-col", "dialect", "--group-col", "gender",
                   "--intersections", "--n-bootstrap", "60", "--quiet"])
    assert status == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "Audited 1,200 of 1,200 rows" in out
    reports = tmp_path / "reports"
    html = (reports / "audit.html").read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"https?://", html) and "<link" not in html
    assert html.count('src="data:image/png;base64,') == 9  # 3 groupings x 3 figures
    document = json.loads((reports / "audit.json").read_text(encoding="utf-8"))
    assert document["provenance"]["command"].startswith("tonecls audit ")
    assert document["provenance"]["rows audited"] == 1200
    markdown = (reports / "audit.md").read_text(encoding="utf-8")
    for figure in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown):
        assert (reports / figure).is_file()
    assert main(["audit", str(source), "-o", str(tmp_path / "x"), "--head", "emotion",
                 "--group-col", "nope"]) == 2
    assert "scored.csv has no column(s) ['nope']; its columns are ['id', 'dialect'" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_records_model_provenance_and_unreadable_lines(tmp_path, capsys):
    frame = scored_frame(300, seed=11)
    source = tmp_path / "scored.csv"
    text = frame.to_csv(index=False)
    lines = text.splitlines()
    lines.insert(5, '"unterminated,quote')  # a malformed record, kept and excluded
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from tonecls.model import load_model
    from tonecls.model.bundle import DEFAULT_BUNDLE

    status = main(["audit", str(source), "-o", str(tmp_path / "r"), "--head", "emotion",
                   "--label-col", "gold", "--group-col", "dialect", "--n-bootstrap", "0",
                   "--model", str(DEFAULT_BUNDLE)])
    assert status == 0, capsys.readouterr().err
    document = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    provenance = document["provenance"]
    recorded = load_model().metadata_
    assert provenance["model name"] == recorded["name"] and provenance["model bundle"] == str(DEFAULT_BUNDLE)
    assert provenance["model metrics"]["test"]["emotion"]["value"] == recorded["metrics"]["test"]["emotion"]["value"]
    assert provenance["rows read"] == 301 and provenance["rows audited"] == 300
    assert provenance["rows excluded by reason"] == {"malformed_line": 1}
    assert main(["audit", str(source), "-o", str(tmp_path / "r"), "--head", "emotion",
                 "--group-col", "dialect", "--model", str(tmp_path)]) == 2
    assert "not a tonecls model bundle" in capsys.readouterr().err
    assert main(["audit", str(source), "-o", str(tmp_path / "r"), "--head", "sentiment",
                 "--group-col", "dialect"]) == 2
    assert "heads found: ['emotion']" in capsys.readouterr().err


def test_load_scored_reads_only_the_audited_columns(tmp_path):
    from tonecls.jobs.audit import load_scored

    source = tmp_path / "scored.jsonl"
    scored_frame(50, seed=12).assign(text="a post").to_json(source, orient="records", lines=True)
    frame = load_scored(source, head="emotion", columns=["gold", "dialect"])
    assert list(frame.columns) == ["dialect", "gold", "tonecls_status", "emotion_label",
                                   "emotion_confidence", *[f"emotion_p_{c}" for c in CLASSES]]
    assert len(frame) == 50 and list(frame.index) == list(range(50))
    assert "text" in load_scored(source).columns


@pytest.mark.slow
def test_cli_error_control_options_and_stable_input_description(tmp_path, capsys):
    source = tmp_path / "scored.csv"
    scored_frame(1200, seed=14, recall_drop=("aa", 0, 0.3)).to_csv(source, index=False)
    base = ["audit", str(source), "--head", "emotion", "--label-col", "gold", "--group-col", "dialect",
            "--n-bootstrap", "100", "--quiet"]
    assert main([*base, "-o", str(tmp_path / "a"), "--correction", "fdr_by", "--min-difference", "0.1",
                 "--ratio-bounds", "0.8", "1.25", "--input-description", "synthetic test export"]) == 0
    out = capsys.readouterr().out
    assert re.match(r"\d+ findings? \(Benjamini-Yekutieli .*\|difference\| >= 0\.1 and ratio outside "
                    r"\[0\.8, 1\.25\].*largest: recall \(true-positive rate\) of 'anger'", out.splitlines()[0])
    document = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    settings = document["data"]["settings"]
    assert settings["correction"] == "fdr_by" and settings["min_difference"] == 0.1
    assert settings["ratio_bounds"] == [0.8, 1.25]
    assert document["provenance"]["input"] == "synthetic test export"
    assert str(tmp_path) not in json.dumps(document["provenance"]["input file"])
    assert str(source) not in document["provenance"]["command"]
    assert document["provenance"]["command"].startswith("tonecls audit scored.csv ")
    assert "Benjamini-Yekutieli" in document["verdict"]
    assert main([*base, "-o", str(tmp_path / "b"), "--ratio-bounds", "1.2", "0.8"]) == 2
    assert "ratio_bounds must be (low, high)" in capsys.readouterr().err
    assert main([*base, "-o", str(tmp_path / "c"), "--correction", "bonferroni"]) == 2


@pytest.mark.slow
def test_audit_sample_and_prevalence_read_a_folder_of_parts(tmp_path):
    """The Dask engine writes a folder of Parquet parts: every command that reads a scored
    export takes it (and a glob of parts) as it takes one file."""
    from tonecls.jobs import audit_file, load_scored, prevalence_file, sample_file

    frame = scored_frame(600, seed=12)
    folder = tmp_path / "scored.parquet"
    folder.mkdir()
    for i, start in enumerate(range(0, 600, 250)):
        frame.iloc[start:start + 250].to_parquet(folder / f"part-{i:05d}.parquet", index=False)
    whole = tmp_path / "scored.csv"
    frame.to_csv(whole, index=False)
    loaded = load_scored(folder)
    assert loaded["id"].tolist() == frame["id"].tolist()
    assert load_scored(str(folder / "part-*.parquet"))["id"].tolist() == frame["id"].tolist()
    from_parts, _ = audit_file(folder, tmp_path / "a", head="emotion", group_cols=["dialect"], label_col="gold",
                               n_bootstrap=20)
    from_file, _ = audit_file(whole, tmp_path / "b", head="emotion", group_cols=["dialect"], label_col="gold",
                              n_bootstrap=20)
    assert from_parts.n_audited == from_file.n_audited == 600
    assert from_parts.metrics.equals(from_file.metrics)
    sample = sample_file(folder, tmp_path / "to_label.csv", n=20, text_col="id", id_col="id")
    assert len(sample.sample) == 20 and set(sample.sample["id"]) <= set(frame["id"])
    result, _ = prevalence_file(folder, tmp_path / "p", head="emotion", group_cols=["dialect"])
    again, _ = prevalence_file(whole, tmp_path / "q", head="emotion", group_cols=["dialect"])
    assert result.overall.equals(again.overall)
