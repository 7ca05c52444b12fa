"""Red-team pass 9: privacy-audit (members / non-members, --save-bundle), calibrate, audit
(group columns, --max-groups), probe word lists and templates, dialect options, seal, evaluate
and the scoring API. Each test asserts the right behaviour: a failing test is a bug found.

Everything runs on the bundled default model and data/sample_posts.csv (no training)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import DATA_DIR, ROOT, assert_refused, cli

SAMPLE = ROOT / "data" / "sample_posts.csv"


# --- shared inputs ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def posts9() -> pd.DataFrame:
    """The sample posts with their sentiment as `label` (rows with a text and a label only)."""
    frame = pd.read_csv(SAMPLE)
    frame = frame[frame["text"].notna() & frame["sentiment"].notna()].reset_index(drop=True)
    return frame.rename(columns={"sentiment": "label"})[["id", "text", "label", "emotion"]]


def _split(posts: pd.DataFrame, tmp_path: Path, n: int = 60) -> tuple[Path, Path]:
    members, non_members = tmp_path / "members.csv", tmp_path / "non_members.csv"
    posts.iloc[:n].to_csv(members, index=False)
    posts.iloc[n:2 * n].to_csv(non_members, index=False)
    return members, non_members


def _privacy(members, non_members, out, *extra):
    return ("privacy-audit", "--members", members, "--non-members", non_members, "--head", "sentiment",
            "--attack", "loss", "-q", "-o", out, *extra)


# --- privacy-audit ---------------------------------------------------------------------------

def test_privacy_audit_missing_label_column_error_names_the_label_option(tmp_path, posts9, capsys):
    """`tonecls privacy-audit ... --label-col gold` where the files have no `gold` column. Must:
    refused, telling the user to name the label column (--label-col). Was: the hint says
    'Name the text column with --text-col ... and the id column with --id-col (id_col=...)':
    privacy-audit has no --id-col option and the missing column is the label column."""
    members, non_members = _split(posts9, tmp_path)
    result = cli(capsys, *_privacy(members, non_members, tmp_path / "rep", "--label-col", "gold"))
    assert_refused(result, "privacy-audit", "gold", "--label-col")
    assert "--id-col" not in result[2], result[2]


def test_privacy_audit_save_bundle_into_the_report_folder_does_not_claim_the_folder_existed(tmp_path, posts9,
                                                                                           capsys):
    """`-o out/rep --save-bundle out` where `out` does not exist yet. Refusing is fine (a report
    inside the bundle folder), but the message must not say the folder 'exists and is not a
    tonecls model bundle': it did not exist; the job's own report lock created it. Was: exactly
    that message, sending the user to look for a folder that is not there."""
    members, non_members = _split(posts9, tmp_path)
    target = tmp_path / "out"
    code, out, err = cli(capsys, *_privacy(members, non_members, target / "rep", "--save-bundle", target))
    if code == 0:
        return  # written side by side: fine
    assert code == 2 and "Traceback" not in err, err
    assert "exists and is not a tonecls model bundle" not in err, err


def test_privacy_audit_unknown_attack_is_refused_before_scoring(tmp_path, posts9, capsys):
    """`--attack bogus`: refused naming the attacks to choose from; no report written."""
    members, non_members = _split(posts9, tmp_path)
    result = cli(capsys, "privacy-audit", "--members", members, "--non-members", non_members, "--head", "sentiment",
                 "--attack", "bogus", "-q", "-o", tmp_path / "rep")
    assert_refused(result, "privacy-audit", "bogus", "loss")
    assert not (tmp_path / "rep.json").exists()


def test_privacy_audit_save_bundle_loads_sealed_with_the_reported_counts(tmp_path, posts9, capsys):
    """`--save-bundle new`: the new bundle loads (sealed) and its bundle.json records the audit
    with the same member / non-member counts as the report's JSON."""
    from tonecls import load_model

    members, non_members = _split(posts9, tmp_path)
    assert cli(capsys, *_privacy(members, non_members, tmp_path / "rep", "--save-bundle", tmp_path / "new"))[0] == 0
    report = json.loads((tmp_path / "rep.json").read_text(encoding="utf-8"))["data"]
    recorded = load_model(tmp_path / "new").metadata_["privacy"]["membership_audit"]
    assert (recorded["n_members"], recorded["n_non_members"]) == (report["n_members"], report["n_non_members"]) \
        == (60, 60)


def test_privacy_audit_counts_non_members_that_copy_a_member(tmp_path, posts9, capsys):
    """Three non-member rows whose text is a member's (one of them twice): the four rows are
    left out and counted; the audited non-members are the others."""
    members, non_members = _split(posts9, tmp_path)
    frame = pd.read_csv(non_members)
    copied = posts9["text"].iloc[[0, 1, 2, 2]].to_numpy()
    frame.loc[:3, "text"] = copied
    frame.to_csv(non_members, index=False)
    assert cli(capsys, *_privacy(members, non_members, tmp_path / "rep"))[0] == 0
    data = json.loads((tmp_path / "rep.json").read_text(encoding="utf-8"))["data"]
    assert data["non_members_left_out_as_members"] == 4
    assert data["n_non_members"] == 56


def test_privacy_audit_left_out_copies_below_ten_is_refused_saying_why(tmp_path, posts9, capsys):
    """12 non-members of which 5 are copies of members: 7 remain, fewer than 10. Refused, and
    the message says non-member posts were left out as members."""
    members = tmp_path / "m.csv"
    non_members = tmp_path / "n.csv"
    posts9.iloc[:40].to_csv(members, index=False)
    frame = posts9.iloc[100:112].copy()
    frame.iloc[:5, frame.columns.get_loc("text")] = posts9["text"].iloc[:5].to_numpy()
    frame.to_csv(non_members, index=False)
    assert_refused(cli(capsys, *_privacy(members, non_members, tmp_path / "rep")), "privacy-audit", "left out", "10")


@pytest.mark.parametrize("command", ["calibrate", "privacy-audit"])
def test_multilabel_label_error_names_the_right_row_and_file(tmp_path, command, capsys):
    """A labelled file for the multi-label ekman head whose first five rows have no label and
    whose data row 9 (0-based; line 11 of the file) holds `Joy` (not a class: `joy`). Must: the
    refusal names the file and a row that holds `Joy` (row 9 / row 10 / line 11). Was: 'row 4'
    (the row number among the labelled rows), and privacy-audit does not say which of its two
    files it is."""
    frame = pd.read_csv(SAMPLE).dropna(subset=["text"]).reset_index(drop=True).iloc[:80]
    frame["emotion"] = "joy"
    frame.loc[:4, "emotion"] = ""
    frame.loc[9, "emotion"] = "Joy"
    bad = tmp_path / "bad_labels.csv"
    frame.to_csv(bad, index=False)
    if command == "calibrate":
        argv = ("calibrate", bad, "-o", tmp_path / "cal", "--head", "ekman", "--label-col", "emotion", "-q")
    else:
        good = tmp_path / "good.csv"
        ok = frame.copy()
        ok["emotion"] = "joy"
        ok["text"] = ok["text"] + " (other)"
        ok.to_csv(good, index=False)
        argv = ("privacy-audit", "--members", good, "--non-members", bad, "--head", "ekman", "--label-col",
                "emotion", "--attack", "loss", "-q", "-o", tmp_path / "rep")
    code, out, err = cli(capsys, *argv)
    assert code == 2 and "Traceback" not in err, err
    assert "Joy" in err and "bad_labels.csv" in err, err
    assert any(where in err for where in ("row 9", "row 10", "line 11")), err


# --- calibrate -------------------------------------------------------------------------------

def test_calibrate_on_labels_of_a_single_class_is_refused(tmp_path, capsys):
    """Every labelled post says `positive` (a sample of one class, or a fill-down slip in a
    spreadsheet). A calibration fitted on one class cannot be checked on the others. Must:
    refused. Was: exit 0, 'ECE on held-out folds 0.472 before, 0.000 after', and the new bundle
    calls 'i hate this so much, worst day ever' positive with probability 0.99999."""
    frame = pd.read_csv(SAMPLE)
    frame["sentiment"] = "positive"
    labelled = tmp_path / "one_class.csv"
    frame.to_csv(labelled, index=False)
    code, out, err = cli(capsys, "calibrate", labelled, "-o", tmp_path / "cal", "--head", "sentiment",
                         "--label-col", "sentiment", "-q")
    if code == 0:
        from tonecls import load_model

        label = load_model(tmp_path / "cal").predict("i hate this so much, worst day ever")["sentiment_label"]
        assert label == "negative", f"calibration turned a clearly negative post into {label!r}: {out}"
    else:
        assert_refused((code, out, err), "calibrate")


def test_calibrate_with_no_label_in_any_row_is_refused_naming_the_column(tmp_path, capsys):
    """A sample file whose label column was never filled in: refused, naming the column."""
    frame = pd.read_csv(SAMPLE)
    frame["label"] = ""
    labelled = tmp_path / "empty_labels.csv"
    frame.to_csv(labelled, index=False)
    assert_refused(cli(capsys, "calibrate", labelled, "-o", tmp_path / "cal", "--head", "sentiment",
                       "--label-col", "label", "-q"), "calibrate", "label")
    assert not (tmp_path / "cal").exists()


def test_calibrate_with_too_few_labels_is_refused_with_the_minimum(tmp_path, capsys):
    """12 labelled posts: refused, saying how many were given and how many are needed."""
    labelled = tmp_path / "few.csv"
    pd.read_csv(SAMPLE).iloc[:12].to_csv(labelled, index=False)
    assert_refused(cli(capsys, "calibrate", labelled, "-o", tmp_path / "cal", "--head", "sentiment",
                       "--label-col", "sentiment", "-q"), "calibrate", "12", "50")


# --- audit -----------------------------------------------------------------------------------

def test_audit_with_max_groups_does_not_call_a_large_folded_group_small(tmp_path, scored_sample, capsys):
    """`--group-col platform --max-groups 2`: the third platform (113 audited rows) is folded
    into '(1 other groups)'. It is not tested because it is folded, not because it is small.
    Must: it is not listed among the groups 'with fewer than 30 audited rows', nor marked
    `small` in the JSON. Was: '... have fewer than 30 audited rows ...: platform=(1 other
    groups) (n=113)' and `"small": true`."""
    code, out, err = cli(capsys, "audit", scored_sample, "-o", tmp_path / "a", "--head", "sentiment", "--label-col",
                         "sentiment", "--group-col", "platform", "--max-groups", "2", "--n-bootstrap", "0", "-q")
    assert code == 0, err
    sizes = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))["data"]["group_sizes"]
    wrong = [g for g in sizes if g["small"] and g["n"] >= 30]
    assert not wrong, wrong
    small_line = [line for line in (out + err).splitlines() if "fewer than 30 audited rows" in line]
    assert not any("(n=113)" in line for line in small_line), small_line


@pytest.mark.parametrize("column", ["emotion_label", "ekman_labels", "emotion_p_joy"])
def test_audit_cli_refuses_another_heads_output_as_group_column_like_the_api(tmp_path, scored_sample, capsys, column):
    """A sentiment audit grouped by the emotion head's predictions: `audit_groups` refuses it
    (a model output, 'gaps hold by construction'); the command is a thin layer over it and must
    refuse too. Was: the API refuses, `tonecls audit --group-col emotion_label` writes a report
    with 61 'findings'."""
    from tonecls.audit import audit_groups
    from tonecls.errors import InputError

    with pytest.raises(InputError):
        audit_groups(pd.read_csv(scored_sample), head="sentiment", label_col="sentiment", group_cols=[column],
                     n_bootstrap=0)
    assert_refused(cli(capsys, "audit", scored_sample, "-o", tmp_path / "a", "--head", "sentiment", "--label-col",
                       "sentiment", "--group-col", column, "--n-bootstrap", "0", "-q"), "audit", column)


def test_audit_group_column_given_twice_is_refused(tmp_path, scored_sample, capsys):
    """`--group-col platform --group-col platform`: refused naming the repeat."""
    assert_refused(cli(capsys, "audit", scored_sample, "-o", tmp_path / "a", "--head", "sentiment", "--group-col",
                       "platform", "--group-col", "platform", "-q"), "audit", "platform")


def test_audit_max_groups_zero_is_refused(tmp_path, scored_sample, capsys):
    """`--max-groups 0`: refused naming the option's minimum."""
    assert_refused(cli(capsys, "audit", scored_sample, "-o", tmp_path / "a", "--head", "sentiment", "--group-col",
                       "platform", "--max-groups", "0", "-q"), "audit", "max_groups")


def test_audit_by_the_models_confidence_is_refused(tmp_path, scored_sample, capsys):
    """`--group-col sentiment_confidence` (the audited head's own output): refused."""
    assert_refused(cli(capsys, "audit", scored_sample, "-o", tmp_path / "a", "--head", "sentiment", "--label-col",
                       "sentiment", "--group-col", "sentiment_confidence", "-q"), "audit", "sentiment_confidence")


# --- probe -----------------------------------------------------------------------------------

def _terms9(tmp_path: Path, word_list: str, templates: str = "joy: {person} feels happy today.\n"
            "sadness: I miss {person_obj} so much.\n") -> Path:
    folder = tmp_path / "terms"
    folder.mkdir()
    (folder / "templates.txt").write_text(templates, encoding="utf-8")
    (folder / "gender.csv").write_text(word_list, encoding="utf-8")
    return folder


PERSON = "# slot: person\ngroup,term,object\n"


def test_probe_term_listed_under_two_groups_is_refused(tmp_path, capsys):
    """`female,Alex` and `male,Alex`: the pair would compare a term with itself. Refused by file."""
    terms = _terms9(tmp_path, PERSON + "female,Alex,Alex\nmale,Alex,Alex\n")
    assert_refused(cli(capsys, "probe", "-o", tmp_path / "p", "--terms", terms), "probe", "gender.csv", "Alex")


def test_probe_word_list_with_a_byte_order_mark_reads_its_slot_line(tmp_path, capsys):
    """A word list saved by Notepad with a BOM before `# slot: person`: the terms fill
    {person} (the run succeeds with the two groups compared)."""
    terms = _terms9(tmp_path, "\ufeff" + PERSON + "female,she,her\nmale,he,him\n")
    code, out, err = cli(capsys, "probe", "-o", tmp_path / "p", "--terms", terms)
    assert code == 0, err
    scores = pd.read_csv(tmp_path / "p_scores.csv")
    assert len(scores) == 4


def test_probe_template_emotion_of_two_words_is_refused_naming_the_line(tmp_path, capsys):
    """`very happy: {person} feels happy today.`: refused naming templates.txt line 1."""
    terms = _terms9(tmp_path, PERSON + "female,she,her\nmale,he,him\n", "very happy: {person} feels happy today.\n")
    assert_refused(cli(capsys, "probe", "-o", tmp_path / "p", "--terms", terms), "probe", "templates.txt", "line 1")


def test_probe_unknown_dimension_is_refused_naming_the_available_ones(tmp_path, capsys):
    """`--dimension religion` with a terms folder holding only gender: refused naming gender."""
    terms = _terms9(tmp_path, PERSON + "female,she,her\nmale,he,him\n")
    assert_refused(cli(capsys, "probe", "-o", tmp_path / "p", "--terms", terms, "--dimension", "religion"),
                   "probe", "religion", "gender")


# --- dialect ---------------------------------------------------------------------------------

@pytest.mark.parametrize("threshold", ["0.5", "nan", "1.5"])
def test_dialect_threshold_outside_its_range_is_refused(tmp_path, scored_sample, fake_twitteraae, capsys, threshold):
    """`--threshold 0.5` (a post could be in two groups), `nan`, `1.5`: refused, no output."""
    out = tmp_path / "d.csv"
    assert_refused(cli(capsys, "dialect", scored_sample, "-o", out, "--model-dir", fake_twitteraae, "--threshold",
                       threshold, "-q"), "dialect", "threshold")
    assert not out.exists()


# --- seal ------------------------------------------------------------------------------------

@pytest.mark.parametrize("field,value", [
    ("max_chars", -5), ("max_chars", "100"), ("unicode_form", "XYZ"), ("version", 99), ("lowercase", "no"),
    ("bogus", 1),
])
def test_seal_refuses_a_bundle_whose_preprocessing_load_refuses(bundle_copy, capsys, field, value):
    """A user edits bundle.json's `preprocess` section (max_chars -5, a text max_chars, an
    unknown unicode_form, tokenisation version 99, lowercase "no", an unknown option) and runs
    `tonecls seal`. 'The bundle is loaded and validated in full first, so a bundle that is
    broken is not sealed.' Must: refused, SHA256SUMS unchanged. Was: 'sealed ...' (exit 0),
    and then every load of the bundle fails."""
    seal = (bundle_copy / "SHA256SUMS").read_bytes()
    meta = json.loads((bundle_copy / "bundle.json").read_text(encoding="utf-8"))
    meta["preprocess"][field] = value
    (bundle_copy / "bundle.json").write_text(json.dumps(meta), encoding="utf-8")
    assert_refused(cli(capsys, "seal", bundle_copy), "seal")
    assert (bundle_copy / "SHA256SUMS").read_bytes() == seal


@pytest.mark.parametrize("value", [0, -1.0, "1.0"])
def test_seal_refuses_a_temperature_that_is_not_a_positive_number(bundle_copy, capsys, value):
    """`temperatures.sentiment` set to 0, -1 or "1.0" by hand: seal refuses naming the field."""
    meta = json.loads((bundle_copy / "bundle.json").read_text(encoding="utf-8"))
    meta["temperatures"]["sentiment"] = value
    (bundle_copy / "bundle.json").write_text(json.dumps(meta), encoding="utf-8")
    assert_refused(cli(capsys, "seal", bundle_copy), "seal", "temperatures.sentiment")


# --- evaluate --------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(not (DATA_DIR / "tweeteval").is_dir(), reason="needs the TweetEval data")
def test_evaluate_a_head_named_twice_is_evaluated_once(tmp_path, capsys):
    """`tonecls evaluate --heads sentiment,sentiment --json t.json`: one row for the bundled
    model's sentiment figure. Was: the figure is printed twice and the JSON holds two identical
    rows for the model (a duplicated row in a comparison table)."""
    out = tmp_path / "t.json"
    code, printed, err = cli(capsys, "evaluate", "--heads", "sentiment,sentiment", "--split", "val", "--json", out)
    assert code == 0, err
    rows = json.loads(out.read_text(encoding="utf-8"))
    ours = [r for r in rows if r.get("head") == "sentiment" and str(r.get("system", "")).startswith("tonecls")]
    assert len(ours) == 1, ours


# --- scoring from a notebook ------------------------------------------------------------------

def test_predict_of_a_series_keeps_its_index_and_order():
    """`model.predict(pd.Series([...], index=[10, 5]))`: the result is indexed 10, 5 and each
    row is its post's prediction."""
    import tonecls

    model = tonecls.load_model()
    series = pd.Series(["i love this so much", "worst service ever, i hate it"], index=[10, 5])
    result = model.predict(series)
    assert result.index.tolist() == [10, 5]
    assert result["sentiment_label"].tolist() == ["positive", "negative"]


def test_score_frame_of_a_categorical_text_column_keeps_it_and_flags_the_missing(tmp_path):
    """A notebook frame whose text column is a pandas category with a missing value: the column
    comes back as the same category, the missing post is `missing`, the others `ok`."""
    import tonecls
    from tonecls.score import score_frame

    frame = pd.DataFrame({"text": pd.Categorical(["i love it", "awful day", None])})
    scored = score_frame(frame, tonecls.load_model())
    assert scored["tonecls_status"].tolist() == ["ok", "ok", "missing"]
    assert isinstance(scored["text"].dtype, pd.CategoricalDtype)
    pd.testing.assert_series_equal(scored["text"], frame["text"])


def test_score_resume_with_nothing_to_resume_scores_every_row_once(tmp_path, capsys):
    """`tonecls score posts.csv -o out.csv --resume` with no interrupted run: a note says so,
    and every input row comes out once, in order."""
    out = tmp_path / "out.csv"
    code, printed, err = cli(capsys, "score", SAMPLE, "-o", out, "--resume")
    assert code == 0, err
    assert "nothing to resume" in printed + err
    scored = pd.read_csv(out, dtype=str, keep_default_na=False)
    original = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    assert scored["id"].tolist() == original["id"].tolist()


def test_audit_group_value_that_reads_like_the_folded_group_is_not_merged_with_it(tmp_path, scored_sample, capsys):
    """A group column whose values are `a` (120 rows), `(2 other groups)` (120 rows, a literal
    value, e.g. from an export that already folded its own groups), `c` and `d` (80 each),
    audited with `--max-groups 2`: `a` and the literal `(2 other groups)` are the two largest and
    are audited one by one; `c` and `d` are folded. Must: the literal group keeps its own 119
    audited rows (or the clash is refused). Was: `c` and `d` are folded into a group of the same
    name, so the report shows one group `(2 other groups)` of 278 rows, marked small, untested."""
    frame = pd.read_csv(scored_sample)
    frame["grp"] = ["a"] * 120 + ["(2 other groups)"] * 120 + ["c"] * 80 + ["d"] * 80
    path = tmp_path / "grp.csv"
    frame.to_csv(path, index=False)
    code, out, err = cli(capsys, "audit", path, "-o", tmp_path / "a", "--head", "sentiment", "--label-col",
                         "sentiment", "--group-col", "grp", "--max-groups", "2", "--n-bootstrap", "0", "-q")
    if code == 2:
        assert_refused((code, out, err), "audit")
        return
    assert code == 0, err
    sizes = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))["data"]["group_sizes"]
    audited = (frame["tonecls_status"] == "ok")
    literal = int((audited & (frame["grp"] == "(2 other groups)")).sum())
    named = [g for g in sizes if g["group"] == "(2 other groups)"]
    assert [g["n"] for g in named] == [literal] and not named[0]["small"], sizes


def test_calibrate_refusal_of_numeric_labels_quotes_them_as_written(tmp_path, capsys):
    """A CSV whose label column holds class ids `0`/`1`/`2` (some rows blank). Refused (not class
    names), and the message quotes the values as the file holds them (`'0'`, not `'0.0'`)."""
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    frame["num"] = frame["sentiment"].map({"negative": "0", "neutral": "1", "positive": "2"}).fillna("")
    path = tmp_path / "numeric.csv"
    frame.to_csv(path, index=False)
    result = cli(capsys, "calibrate", path, "-o", tmp_path / "cal", "--head", "sentiment", "--label-col", "num", "-q")
    assert_refused(result, "calibrate", "'0'")
    assert "'0.0'" not in result[2], result[2]
