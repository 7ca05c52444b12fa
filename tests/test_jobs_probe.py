"""The probe file job (tonecls.jobs.probe) and the `tonecls probe` command."""

from __future__ import annotations

import pandas as pd

from support import KeywordProbeModel


def test_cli_probe_writes_report_and_scores(tmp_path, monkeypatch, capsys):
    import tonecls.audit.probes as probes
    from tonecls.cli import main

    loaded = []
    monkeypatch.setattr(probes, "_load_model", lambda path: loaded.append(path) or KeywordProbeModel())
    target = tmp_path / "reports" / "probes"
    status = main(["probe", "-o", str(target), "--model", "bundle-dir", "--dimension", "gender",
                   "--correction", "holm"])
    assert status == 0 and [str(path) for path in loaded] == ["bundle-dir"]
    for suffix in (".html", ".md", ".json", "_scores.csv"):
        assert (tmp_path / "reports" / f"probes{suffix}").is_file()
    scores = pd.read_csv(tmp_path / "reports" / "probes_scores.csv")
    assert set(scores["dimension"]) == {"gender"} and "emotion_p_anger" in scores
    out = capsys.readouterr().out
    assert "Holm" in out and "gender" in out
    assert main(["probe", "-o", str(target), "--terms", str(tmp_path / "nowhere")]) == 2
