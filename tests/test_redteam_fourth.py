"""Fourth red-team pass: probe word lists as editors save them, group and id values of JSONL and
Parquet exports through audit / prevalence / sample, the numbers of the reports against each
other and the input, re-sealed bundles and resume, concurrent writers of one report. Each case
checks the README's promises exactly (every row once, in order, values as they were; bad input
is exit status 2 with one ``tonecls COMMAND: error:`` paragraph, never a silently wrong ``ok``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from support import ROOT, assert_refused, cli
from tonecls.cli import main

SAMPLE = ROOT / "data" / "sample_posts.csv"
QUIET = ["-q", "--workers", "1"]


# --- probe word lists as editors save them ----------------------------------------------------


def _terms(path: Path, templates: bytes, **lists: bytes) -> Path:
    path.mkdir()
    (path / "templates.txt").write_bytes(templates)
    for name, content in lists.items():
        (path / f"{name}.csv").write_bytes(content)
    return path


TEMPLATES = b"joy: {person} is great.\njoy: My {term} friend is great.\n"
COLORS = b"group,term\na,Red\nb,Blue\n"
BOM = b"\xef\xbb\xbf"


def test_a_person_word_list_saved_with_a_bom_still_fills_the_person_slot(tmp_path, capsys):
    # was: the BOM hid the '# slot: person' line, so 'she' / 'he' silently filled {term}
    # ("My she friend is great.") and the report compared sentences no one wrote
    terms = _terms(tmp_path / "terms", TEMPLATES, colors=COLORS,
                   gender=BOM + b"# slot: person\ngroup,term,object\nfemale,she,her\nmale,he,him\n")
    code, _, err = cli(capsys, "probe", "-o", tmp_path / "r", "--terms", terms)
    assert code == 0, err
    scores = pd.read_csv(tmp_path / "r_scores.csv", dtype=str, keep_default_na=False)
    gender = scores[scores["dimension"] == "gender"]
    assert gender["sentence"].tolist() == ["She is great.", "He is great."]
    assert gender["group"].tolist() == ["female", "male"]


def test_a_template_file_saved_with_a_bom_reads_its_first_template(tmp_path, capsys):
    # was: refused with "line 1: expected '<emotion>: <sentence>', got '\ufeffjoy: ...'"
    terms = _terms(tmp_path / "terms", BOM + b"joy: My {term} friend is great.\nanger: I hate {term} food.\n",
                   colors=COLORS)
    code, _, err = cli(capsys, "probe", "-o", tmp_path / "r", "--terms", terms)
    assert code == 0, err
    scores = pd.read_csv(tmp_path / "r_scores.csv", dtype=str, keep_default_na=False)
    assert scores["sentence"].tolist() == ["My Red friend is great.", "My Blue friend is great.",
                                           "I hate Red food.", "I hate Blue food."]
    assert scores["emotion"].tolist() == ["joy", "joy", "anger", "anger"]


@pytest.mark.parametrize("content", [
    b"group,term\na,caf\xe9\nb,Blue\n",                                   # Latin-1
    "group,term\na,Red\nb,Blue\n".encode("utf-16"),                       # UTF-16 with its BOM
], ids=["latin1", "utf16"])
def test_a_word_list_that_is_not_utf8_is_refused_by_name_not_a_crash(tmp_path, capsys, content):
    # was: exit 1, "unexpected UnicodeDecodeError ... This is a bug in tonecls"
    terms = _terms(tmp_path / "terms", TEMPLATES, colors=content)
    assert_refused(cli(capsys, "probe", "-o", tmp_path / "r", "--terms", terms), "probe",
                   "colors.csv is not UTF-8 text", "iconv")
    assert not list(tmp_path.glob("r*"))


def test_a_template_file_that_is_not_utf8_is_refused_by_name(tmp_path, capsys):
    terms = _terms(tmp_path / "terms", b"joy: My {term} caf\xe9 friend is great.\n", colors=COLORS)
    assert_refused(cli(capsys, "probe", "-o", tmp_path / "r", "--terms", terms), "probe",
                   "templates.txt is not UTF-8 text")


@pytest.mark.parametrize("content, said", [
    (b"", "not a valid CSV word list"),
    (b"group,term\n", "needs at least two groups"),
    (b"group,term\na,Red\nb,Blue\nb,Red\n", "term 'Red' is listed more than once"),
    (b"group,term\na,Red\nb,Blue\nb,  Red \n", "term 'Red' is listed more than once"),
], ids=["empty", "header-only", "repeated", "repeated-with-spaces"])
def test_empty_and_repeating_word_lists_are_refused_by_name(tmp_path, capsys, content, said):
    terms = _terms(tmp_path / "terms", TEMPLATES, colors=content)
    assert_refused(cli(capsys, "probe", "-o", tmp_path / "r", "--terms", terms), "probe", "colors.csv", said)


# --- group, time and id values of Parquet exports through prevalence / audit / sample ---------


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> pd.DataFrame:
    """The sample export scored (400 rows, 397 ok, 3 empty), read back from Parquet."""
    out = tmp_path_factory.mktemp("scored") / "scored.parquet"
    assert main(["score", str(SAMPLE), "-o", str(out), *QUIET]) == 0
    return pd.read_parquet(out)


def _periods(path: Path) -> dict[str, int]:
    records = json.loads(path.read_text(encoding="utf-8"))["data"]["estimates"]
    return {r["group"]: r["n"] for r in records if r["class"] == "negative"}


def test_prevalence_months_of_zoned_timestamps_are_the_months_they_were_written_in(scored, tmp_path, capsys):
    # was: converted to UTC first, so every post of 23:30 on 31 January in New York was counted
    # in February (all 397 posts in one month, without a word)
    frame = scored.copy()
    frame["created_at"] = pd.to_datetime(["2024-01-31 23:30", "2024-02-15 12:00"] * 200).tz_localize("America/New_York")
    path = tmp_path / "zoned.parquet"
    frame.to_parquet(path)
    ok = frame[frame["tonecls_status"] == "ok"]
    expected = {"all": 397, "created_at=2024-01": int((ok["created_at"].dt.month == 1).sum()),
                "created_at=2024-02": int((ok["created_at"].dt.month == 2).sum())}
    assert expected["created_at=2024-01"] > 190
    code, _, err = cli(capsys, "prevalence", path, "-o", tmp_path / "p", "--head", "sentiment",
                       "--time-col", "created_at", "--freq", "M")
    assert code == 0, err
    assert _periods(tmp_path / "p.json") == expected


def test_prevalence_months_of_text_timestamps_with_offsets_that_differ_between_rows(scored, tmp_path, capsys):
    # summer time (-04:00 / -05:00), UTC (Z) and a stamp without offset, in one CSV column
    frame = scored.drop(columns=[c for c in scored.columns if c.startswith("ekman_")]).copy()
    stamps = ["2024-01-31T23:30:00-05:00", "2024-07-31T23:30:00-04:00", "2024-03-31T23:59:59Z", "2024-05-31 22:00"]
    frame["created_at"] = stamps * 100
    path = tmp_path / "offsets.csv"
    frame.to_csv(path, index=False)
    ok = frame[frame["tonecls_status"] == "ok"]
    months = ok["created_at"].str[:7].value_counts()
    expected = {"all": 397, **{f"created_at={m}": int(n) for m, n in months.items()}}
    code, _, err = cli(capsys, "prevalence", path, "-o", tmp_path / "p", "--head", "sentiment",
                       "--time-col", "created_at", "--freq", "M")
    assert code == 0, err
    assert _periods(tmp_path / "p.json") == expected
    assert set(expected) == {"all", "created_at=2024-01", "created_at=2024-07", "created_at=2024-03",
                             "created_at=2024-05"}


def _odd_groups(scored: pd.DataFrame) -> pd.DataFrame:
    frame = scored.copy()
    frame["id"] = pd.array([2**63 - 1 - i for i in range(len(frame))], dtype="Int64")
    frame["g_bool"] = pd.array([True, False, None, True] * 100, dtype="boolean")
    frame["g_cat"] = pd.Categorical(["x", "y", None, "x"] * 100, categories=["y", "x", "unused"])
    frame["g_int"] = pd.array([1, 2, None, 10] * 100, dtype="Int64")
    frame["g_ts"] = pd.to_datetime(["2024-01-01 23:30", "2024-01-02 01:00", None, "2024-01-01 23:30"] * 100
                                   ).tz_localize("America/New_York")
    return frame


@pytest.mark.parametrize("col", ["g_bool", "g_cat", "g_int"])
def test_audit_group_sizes_of_bool_category_and_nullable_int_groups_are_the_inputs(scored, tmp_path, capsys, col):
    frame = _odd_groups(scored)
    path = tmp_path / "groups.parquet"
    frame.to_parquet(path)
    code, _, err = cli(capsys, "audit", path, "-o", tmp_path / "a", "--head", "sentiment", "--label-col", "sentiment",
                       "--group-col", col, "--n-bootstrap", "20", "-q")
    assert code == 0, err
    report = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))["data"]
    ok = frame[frame["tonecls_status"] == "ok"]
    expected = ok[col].astype(object).where(ok[col].notna(), "(missing)").astype(str).value_counts().to_dict()
    assert {g["group"]: g["n"] for g in report["group_sizes"]} == expected
    assert "unused" not in expected and sum(expected.values()) == report["n_audited"] == 397


def test_sample_of_64_bit_ids_stratified_by_a_zoned_timestamp_keeps_ids_and_strata(scored, tmp_path, capsys):
    frame = _odd_groups(scored)
    path = tmp_path / "groups.parquet"
    frame.to_parquet(path)
    out = tmp_path / "to_label.csv"
    code, _, err = cli(capsys, "sample", path, "-o", out, "-n", "40", "--stratify-col", "g_ts", "--seed", "1")
    assert code == 0, err
    drawn = pd.read_csv(out, dtype=str, keep_default_na=False)
    by_id = frame.set_index(frame["id"].astype(str))
    assert len(drawn) == 40 and drawn["id"].is_unique and set(drawn["id"]) <= set(by_id.index)
    assert drawn["text"].tolist() == by_id.loc[drawn["id"], "text"].tolist()
    stamps = by_id.loc[drawn["id"], "g_ts"]
    assert drawn["g_ts"].tolist() == [s.isoformat() if pd.notna(s) else "" for s in stamps]
    strata = [s.isoformat() if pd.notna(s) else "" for s in frame[frame["tonecls_status"] == "ok"]["g_ts"]]
    assert {v: int(n) for v, n in zip(drawn["g_ts"], drawn["stratum_size"].astype(int))} == {
        k: int(n) for k, n in pd.Series(strata).value_counts().items()}


# --- a bundle re-sealed between an interrupted run and its --resume --------------------------


def _interrupted(tmp_path: Path, monkeypatch, capsys, bundle: Path) -> tuple[Path, Path]:
    import tonecls.io.sinks

    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    export, out = tmp_path / "posts.csv", tmp_path / "scored.csv"
    frame.to_csv(export, index=False)
    original, calls = tonecls.io.sinks.FileSink.write, []

    def write(self, chunk):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(1)
        return original(self, chunk)

    with monkeypatch.context() as patch:
        patch.setattr(tonecls.io.sinks.FileSink, "write", write)
        code, _, err = cli(capsys, "score", export, "-o", out, "--model", bundle, "--chunksize", "100", *QUIET)
    assert code == 130, err
    return export, out


def _edit_temperature(bundle: Path) -> None:
    meta = json.loads((bundle / "bundle.json").read_text(encoding="utf-8"))
    meta["temperatures"]["sentiment"] *= 2
    (bundle / "bundle.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")


def test_resume_with_a_bundle_edited_and_resealed_since_is_refused(tmp_path, monkeypatch, capsys, bundle_copy):
    export, out = _interrupted(tmp_path, monkeypatch, capsys, bundle_copy)
    _edit_temperature(bundle_copy)
    assert cli(capsys, "seal", bundle_copy)[0] == 0
    assert_refused(cli(capsys, "score", export, "-o", out, "--model", bundle_copy, "--chunksize", "100",
                       "--resume", *QUIET), "score", "model")
    assert not out.exists() and Path(f"{out}.partial").exists()


def test_resume_with_a_bundle_edited_but_not_resealed_is_refused_by_its_seal(tmp_path, monkeypatch, capsys,
                                                                             bundle_copy):
    export, out = _interrupted(tmp_path, monkeypatch, capsys, bundle_copy)
    _edit_temperature(bundle_copy)
    assert_refused(cli(capsys, "score", export, "-o", out, "--model", bundle_copy, "--chunksize", "100",
                       "--resume", *QUIET), "score", "bundle.json")
    assert not out.exists() and Path(f"{out}.partial").exists()


def test_resume_after_resealing_an_unchanged_bundle_equals_a_clean_run(tmp_path, monkeypatch, capsys, bundle_copy):
    export, out = _interrupted(tmp_path, monkeypatch, capsys, bundle_copy)
    assert cli(capsys, "seal", bundle_copy)[0] == 0
    code, _, err = cli(capsys, "score", export, "-o", out, "--model", bundle_copy, "--chunksize", "100",
                       "--resume", *QUIET)
    assert code == 0, err
    clean = tmp_path / "clean.csv"
    assert cli(capsys, "score", export, "-o", clean, "--model", bundle_copy, "--chunksize", "100", *QUIET)[0] == 0
    assert out.read_bytes() == clean.read_bytes()


# --- one writer per report: audit / prevalence / probe / sample while another run writes it ---


def _held(path: Path):
    from tonecls.io.lock import OutputLock

    lock = OutputLock(path)
    lock.owner = {**lock.owner, "command": "tonecls audit (the other run)"}
    return lock


@pytest.mark.parametrize("command", ["audit", "prevalence", "probe"])
def test_a_report_another_run_is_writing_is_refused_at_once_naming_it(scored, tmp_path, capsys, command):
    # was: both runs wrote reports/r.html, .md, .json and the figures, each file atomically but
    # not the set, so the HTML of one run could stand beside the JSON of the other
    path = tmp_path / "scored.parquet"
    scored.to_parquet(path)
    argv = {"audit": ["audit", path, "--head", "sentiment", "--group-col", "region", "--n-bootstrap", "20", "-q"],
            "prevalence": ["prevalence", path, "--head", "sentiment", "--group-col", "region"],
            "probe": ["probe", "--dimension", "gender"]}[command]
    (tmp_path / "reports").mkdir()
    with _held(tmp_path / "reports" / "r"):
        assert_refused(cli(capsys, *argv, "-o", tmp_path / "reports" / "r"), command, "another run is writing",
                       "the other run")
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == []
    code, _, err = cli(capsys, *argv, "-o", tmp_path / "reports" / "r")  # released: the same run works
    assert code == 0, err
    assert not (tmp_path / "reports" / "r.lock").exists() and (tmp_path / "reports" / "r.json").exists()


def test_a_report_into_a_new_folder_takes_its_lock_there(scored, tmp_path, capsys):
    path = tmp_path / "scored.parquet"
    scored.to_parquet(path)
    code, _, err = cli(capsys, "audit", path, "-o", tmp_path / "new" / "deeper" / "a", "--head", "sentiment",
                       "--group-col", "region", "--n-bootstrap", "20", "-q")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "new" / "deeper").iterdir()) == ["a.html", "a.json", "a.md",
                                                                              "a_figures"]


def test_a_sample_file_another_run_is_writing_is_refused_and_not_replaced(scored, tmp_path, capsys):
    # was: a second `tonecls sample` passed the "exists" check while the first was drawing and
    # then replaced its file (perhaps already being labelled) without a word
    path = tmp_path / "scored.parquet"
    scored.to_parquet(path)
    out = tmp_path / "to_label.csv"
    with _held(out):
        assert_refused(cli(capsys, "sample", path, "-o", out, "-n", "10"), "sample", "another run is writing")
    assert not out.exists()
    assert cli(capsys, "sample", path, "-o", out, "-n", "10")[0] == 0 and not Path(f"{out}.lock").exists()


# --- dialect and preprocess on odd posts; the numbers of a report against each other ------------


def test_dialect_of_posts_without_vocabulary_words_emoji_only_and_10k_characters(tmp_path, capsys):
    from test_redteam_more import TWITTERAAE

    if not (TWITTERAAE / "model_count_table.txt").exists():
        pytest.skip("no TwitterAAE model in the shared data")
    rows = [("a", "😂😂😂"), ("b", "qwxz zzkq"), ("c", "lol " * 2500), ("d", ""), ("e", "   "),
            ("f", "@user http://x.com"), ("g", "finna go home wit my homies")]
    export, out = tmp_path / "posts.csv", tmp_path / "dialect.csv"
    pd.DataFrame(rows, columns=["id", "text"]).to_csv(export, index=False)
    code, _, err = cli(capsys, "dialect", export, "-o", out, *QUIET)
    assert code == 0, err
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert got[["id", "text"]].values.tolist() == [list(r) for r in rows]
    shares = ["dialect_aa", "dialect_hispanic", "dialect_asian", "dialect_white"]
    none = got["dialect_n_tokens"] == "0"
    assert got.loc[none, "id"].tolist() == ["b", "d", "e", "f"]  # no estimate made up where no word counts
    assert (got.loc[none, shares] == "").all().all() and (got.loc[none, "dialect_group"] == "undetermined").all()
    assert got.loc[got["id"] == "c", "dialect_n_tokens"].item() == "2500"  # every word of a long post
    total = got.loc[~none, shares].astype(float).sum(axis=1)
    assert ((total - 1).abs() < 1e-6).all()


def test_preprocess_of_a_bom_crlf_file_with_nul_and_a_quoted_line_break_keeps_every_value(tmp_path, capsys):
    export, out = tmp_path / "posts.csv", tmp_path / "tokens.csv"
    export.write_bytes(b'\xef\xbb\xbfid,text\r\n1,"hi @bob\x00 there"\r\n2,"line\r\nbreak 555-123-4567"\r\n3,\r\n')
    code, _, err = cli(capsys, "preprocess", export, "-o", out, *QUIET)
    assert code == 0, err
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["id", "text", "tokens", "tonecls_status"], ["1", "hi @bob\x00 there", "hi <user> there", "ok"],
                    ["2", "line\r\nbreak 555-123-4567", "line break <phone>", "ok"], ["3", "", "", "empty"]]


def test_audit_counts_agree_between_json_markdown_and_the_input(scored, tmp_path, capsys):
    frame = _odd_groups(scored)
    path = tmp_path / "groups.parquet"
    frame.to_parquet(path)
    code, _, err = cli(capsys, "audit", path, "-o", tmp_path / "a", "--head", "sentiment", "--label-col", "sentiment",
                       "--group-col", "g_bool", "--n-bootstrap", "20", "-q")
    assert code == 0, err
    data = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))["data"]
    markdown = (tmp_path / "a.md").read_text(encoding="utf-8")
    assert "| audited | 397 |" in markdown and "| excluded: empty | 3 |" in markdown
    assert data["n_rows"] == len(frame) == data["n_audited"] + sum(data["excluded"].values())
    status = frame["tonecls_status"] != "ok"
    for group in data["group_sizes"]:
        value = frame["g_bool"].astype(object).where(frame["g_bool"].notna(), "(missing)").astype(str)
        excluded = int((status & (value == group["group"])).sum())
        assert group["n"] == int((~status & (value == group["group"])).sum()) and group["excluded"] == excluded
        share = f"{group['n'] / data['n_audited']:.3f}"
        excluded_share = f"{excluded / (group['n'] + excluded):.3f}"
        row = f"| g\\_bool | {group['group']} | {group['n']} | no | {excluded} | {excluded_share} | {share} |"
        assert row in markdown, row


def test_a_dask_run_on_an_output_a_local_run_holds_stops_at_once_without_a_cluster(tmp_path, capsys):
    pytest.importorskip("distributed")
    import time

    out = tmp_path / "scored.parquet"
    with _held(out):
        started = time.monotonic()
        assert_refused(cli(capsys, "score", SAMPLE, "-o", out, "--engine", "dask", "--workers", "1", "-q"), "score",
                       "another run is writing", "the other run")
        assert time.monotonic() - started < 5  # refused before a LocalCluster is started
    assert not out.exists() and not Path(f"{out}.partial").exists()


def test_prevalence_intervals_hold_their_estimates_and_json_agrees_with_markdown(scored, tmp_path, capsys):
    frame = _odd_groups(scored)
    path, labels = tmp_path / "groups.parquet", tmp_path / "labels.csv"
    frame.to_parquet(path)
    ok = frame[frame["tonecls_status"] == "ok"]
    drawn = ok.sample(60, random_state=3)
    pd.DataFrame({"id": drawn["id"].astype(str), "label": drawn["sentiment"]}).to_csv(labels, index=False)
    code, _, err = cli(capsys, "prevalence", path, "-o", tmp_path / "p", "--head", "sentiment", "--labels", labels,
                       "--group-col", "g_cat")
    assert code == 0, err
    data = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))["data"]
    markdown = (tmp_path / "p.md").read_text(encoding="utf-8")
    # n_rows here is the scored (ok) rows, beside the excluded ones (audit: all rows); together the input
    assert data["n_rows"] + sum(data["excluded"].values()) == 400 and data["n_labelled"] == 60
    groups = ok["g_cat"].astype(object).where(ok["g_cat"].notna(), "(missing)")
    labelled = groups[drawn.index]
    for r in data["estimates"]:
        if r["n_labelled"] < 10:  # documented: too few labels for a corrected estimate
            assert r["estimate"] is r["ci_low"] is r["ci_high"] is None, r
            continue
        assert r["ci_low"] <= r["estimate"] <= r["ci_high"], r
        value = r["group"].removeprefix("g_cat=")
        assert r["n"] == (397 if value == "all" else int((groups == value).sum())), r
        assert r["n_labelled"] == (60 if value == "all" else int((labelled == value).sum())), r
        cells = f"| {r['class']} | {r['group'].replace('_', chr(92) + '_')} | {r['estimate']:.3f} | {r['ci_low']:.3f} |"
        assert cells in markdown, cells
    for value in {r["group"] for r in data["estimates"]}:
        naive = sum(r["naive"] for r in data["estimates"] if r["group"] == value)
        assert abs(naive - 1) < 1e-9  # single-label head: the naive shares of a group sum to 1


def test_evaluate_val_on_a_partial_or_truncated_data_dir_is_refused_by_file(tmp_path, capsys):
    from test_redteam_more import TWITTERAAE

    source = TWITTERAAE.parent / "tweeteval" / "sentiment"
    if not (source / "val_text.txt").exists():
        pytest.skip("no TweetEval in the shared data")
    folder = tmp_path / "data" / "tweeteval" / "sentiment"
    folder.mkdir(parents=True)
    (folder / "val_text.txt").write_bytes((source / "val_text.txt").read_bytes())
    argv = ["evaluate", "--split", "val", "--data-dir", tmp_path / "data", "--heads", "sentiment"]
    assert_refused(cli(capsys, *argv), "evaluate", "missing file", "mapping.txt", "tonecls fetch")
    (folder / "mapping.txt").write_bytes((source / "mapping.txt").read_bytes())
    lines = (source / "val_labels.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "val_labels.txt").write_text("".join(lines[:100]), encoding="utf-8")
    assert_refused(cli(capsys, *argv), "evaluate", f"has {len(lines)} lines but", "val_labels.txt has 100")
