"""Red-team pass 6: prevalence / sample / calibrate / privacy-audit / probe / preprocess edge
cases, CLI options at their edges, odd characters passing through, and the notebook API with
unusual pandas dtypes. Each test asserts the right behaviour: a failing test is a bug found.

Every test runs on the bundled default model and data/sample_posts.csv (no training)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import ROOT, assert_refused, cli

SAMPLE = ROOT / "data" / "sample_posts.csv"
TERMS = ROOT / "data" / "probe_terms"


# --- shared inputs ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scored_frame6(scored_sample) -> pd.DataFrame:
    return pd.read_csv(scored_sample)


def _labels_of(scored: pd.DataFrame, n: int, seed: int = 1) -> pd.DataFrame:
    """A random sample of the scored rows labelled with the file's own gold sentiment column."""
    from tonecls.prevalence import draw_sample

    sample = draw_sample(scored, n, seed=seed)
    sample["label"] = scored.set_index("id").loc[sample["id"], "sentiment"].to_numpy()
    return sample


def _write_labels(scored: pd.DataFrame, path: Path, n: int, seed: int = 1) -> Path:
    _labels_of(scored, n, seed).to_csv(path, index=False)
    return path


def _report_groups(stem: Path) -> set[str]:
    """The ``group`` of every estimate record of a prevalence report's JSON."""
    text = (stem.parent / (stem.name + ".json")).read_text(encoding="utf-8")
    return set(__import__("re").findall(r'"group": "([^"]*)"', text))


# --- sample ----------------------------------------------------------------------------------

def test_sample_into_a_folder_that_does_not_exist_yet_creates_it(tmp_path, scored_sample, capsys):
    """A user runs ``tonecls sample scored.csv -o labelling/round1.csv`` (a new folder), as
    ``tonecls score -o new/x.csv`` and the reports allow. Must: write the sample there (or refuse
    with exit 2 and a message about the folder). Was: exit 1 naming an internal lock file
    ``round1.csv.lock.<pid>.<id>`` ('No such file or directory')."""
    out = tmp_path / "labelling" / "round1.csv"
    code, _, err = cli(capsys, "sample", scored_sample, "-o", out, "-n", "5")
    assert ".lock." not in err, err
    assert code == 0 and out.is_file(), err


def test_a_stratified_sample_smaller_than_its_strata_still_gives_every_stratum_a_chance(scored_frame6):
    """A user draws ``-n 2 --stratify-col platform`` (3 platforms). Must: either refuse (a stratum
    that can never be drawn makes the estimates stand for posts they do not cover) or draw at
    random, so that over seeds every platform can come up. Was: the largest-remainder tie-break
    gives the same strata every time (reddit never, whatever the seed), each row weighted as if
    it stood for its whole stratum; ``--stratify-col id`` gives the first n posts of the file."""
    from tonecls.errors import InputError
    from tonecls.prevalence import draw_sample

    try:
        seen = set()
        for seed in range(20):
            seen |= set(draw_sample(scored_frame6, 2, stratify_col="platform", seed=seed)["platform"])
    except InputError:
        return  # refused: fine
    assert seen == set(scored_frame6["platform"]), seen
    firsts = {tuple(sorted(draw_sample(scored_frame6, 5, stratify_col="id", seed=s)["id"])) for s in range(5)}
    assert len(firsts) > 1, firsts  # the seed must change which posts are drawn


def test_sample_of_every_scored_row_holds_each_ok_row_once(tmp_path, scored_sample, capsys):
    """``-n`` equal to the number of ok rows: every scored post once, none of the empty ones,
    inclusion probability 1."""
    out = tmp_path / "all.csv"
    assert cli(capsys, "sample", scored_sample, "-o", out, "-n", "397", "--seed", "7")[0] == 0
    sample = pd.read_csv(out, dtype=str, keep_default_na=False)
    scored = pd.read_csv(scored_sample, dtype=str, keep_default_na=False)
    assert sorted(sample["id"]) == sorted(scored.loc[scored.tonecls_status == "ok", "id"])
    assert set(sample["inclusion_probability"].astype(float)) == {1.0}


def test_sample_with_a_huge_seed_or_equal_allocation_to_tiny_strata(tmp_path, scored_frame6):
    """A seed beyond 64 bits and ``allocation='equal'`` over a stratum of 2 posts: the tiny stratum
    gives all it has, the others take the spare draws; probabilities stay in (0, 1]."""
    from tonecls.prevalence import draw_sample

    frame = scored_frame6.copy()
    frame["grp"] = np.where(np.arange(len(frame)) < 2, "tiny", np.where(np.arange(len(frame)) % 2, "a", "b"))
    frame.loc[:1, "tonecls_status"] = "ok"
    sample = draw_sample(frame, 30, stratify_col="grp", seed=2**70, allocation="equal")
    assert len(sample) == 30 and sample["id"].is_unique
    assert (sample["grp"] == "tiny").sum() == 2
    p = sample["inclusion_probability"]
    assert ((p > 0) & (p <= 1)).all()


# --- prevalence ------------------------------------------------------------------------------

def test_prevalence_with_a_few_labels_does_not_say_there_were_none(tmp_path, scored_sample, scored_frame6, capsys):
    """5 labelled posts (fewer than the 10 an estimate needs). Must: the verdict says there are
    too few labels (5), not 'No labelled posts'. Was: the verdict is the no-labels sentence
    ('No labelled posts: ...'), contradicting the warning 'only 5 labelled row(s)' beside it."""
    labels = _write_labels(scored_frame6, tmp_path / "five.csv", 5)
    code, out, err = cli(capsys, "prevalence", scored_sample, "-o", tmp_path / "rep", "--head", "sentiment",
                         "--labels", labels)
    assert code == 0, err
    verdict = out.splitlines()[0]
    assert not verdict.startswith("No labelled posts"), verdict


def test_prevalence_verdict_does_not_round_a_confidence_level_up_to_100_percent(tmp_path, scored_sample,
                                                                                scored_frame6, capsys):
    """``--confidence 0.9999``: the verdict must name the level (99.99%), not a '100% interval'
    (which no finite interval is). Was: '(100% interval 10.1% to 26.7% ...)'."""
    labels = _write_labels(scored_frame6, tmp_path / "lab.csv", 200)
    code, out, err = cli(capsys, "prevalence", scored_sample, "-o", tmp_path / "rep", "--head", "sentiment",
                         "--labels", labels, "--confidence", "0.9999")
    assert code == 0, err
    assert "100% interval" not in out, out


@pytest.mark.parametrize("level", ["0", "1", "nan", "-0.5", "1.5"])
def test_prevalence_confidence_outside_0_1_is_refused(tmp_path, scored_sample, capsys, level):
    """``--confidence 0 / 1 / nan``: one paragraph, exit 2, no report."""
    assert_refused(cli(capsys, "prevalence", scored_sample, "-o", tmp_path / "rep", "--head", "sentiment",
                       "--confidence", level), "prevalence", "confidence")
    assert not list(tmp_path.glob("rep*"))


def test_prevalence_of_ambiguous_day_month_dates_reads_them_one_way_or_refuses(tmp_path, scored_sample,
                                                                               scored_frame6, capsys):
    """A time column written ``dd/mm/yyyy`` (days 1-28, January to March). Must: read every row
    the same way (day first: three months) or refuse the column as ambiguous. Was: pandas'
    ``format='mixed'`` reads ``05/01/2024`` as 1 May and ``13/01/2024`` as 13 January, row by row:
    twelve 'months' of 2024, reported as trends."""
    frame = pd.read_csv(scored_sample, dtype=str, keep_default_na=False)
    n = len(frame)
    frame["posted"] = ["%02d/%02d/2024" % (1 + i % 28, 1 + i * 3 // n) for i in range(n)]
    path = tmp_path / "scored_dates.csv"
    frame.to_csv(path, index=False)
    labels = _write_labels(scored_frame6, tmp_path / "lab.csv", 200)
    code, out, err = cli(capsys, "prevalence", path, "-o", tmp_path / "rep", "--head", "sentiment",
                         "--labels", labels, "--time-col", "posted")
    if code == 2:
        return
    assert code == 0, err
    periods = {g for g in _report_groups(tmp_path / "rep") if g.startswith("posted=")}
    assert periods <= {"posted=2024-01", "posted=2024-02", "posted=2024-03"}, sorted(periods)


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_prevalence_of_epoch_second_timestamps_is_not_all_in_january_1970(tmp_path, scored_frame6, capsys,
                                                                          suffix):
    """A JSONL / Parquet export whose ``created`` is Unix seconds (1704067200 = 2024-01-01), as many
    APIs give. Must: periods of 2024, or a refusal saying the column is a number. Was: read as
    nanoseconds since 1970, every post falls in one period '1970-01', reported as fine (CSV text
    of the same numbers is refused with 'year ... out of range')."""
    frame = scored_frame6.copy()
    frame["created"] = 1704067200 + np.arange(len(frame)) * 86400 * 90 // len(frame)
    path = tmp_path / f"scored.{suffix}"
    if suffix == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    labels = _write_labels(scored_frame6, tmp_path / "lab.csv", 200)
    code, out, err = cli(capsys, "prevalence", path, "-o", tmp_path / "rep", "--head", "sentiment",
                         "--labels", labels, "--time-col", "created")
    if code == 2:
        assert "Traceback" not in err
        return
    assert code == 0, err
    periods = {g for g in _report_groups(tmp_path / "rep") if g.startswith("created=")}
    assert not any("1970" in p for p in periods), sorted(periods)


def test_prevalence_api_names_the_users_label_column_for_an_unknown_label(scored_frame6):
    """In a notebook: ``PrevalenceEstimator('sentiment').fit(scored, labels=sample)`` with one label
    ``'Positive'``. Must: an InputError naming the user's column ('label'). Was: it names an
    internal column, ``'__tonecls_label__'``, that the user never had."""
    from tonecls.errors import InputError
    from tonecls.prevalence import PrevalenceEstimator

    labels = _labels_of(scored_frame6, 60)
    labels.loc[0, "label"] = "Positive"
    with pytest.raises(InputError) as error:
        PrevalenceEstimator("sentiment").fit(scored_frame6, labels=labels)
    assert "__tonecls" not in str(error.value), error.value
    assert "'Positive'" in str(error.value)


def test_prevalence_api_refuses_labels_whose_ids_are_not_in_the_scored_frame(scored_frame6):
    """In a notebook, half the labels' ids do not match the scored frame (e.g. ids re-read as
    numbers, a sample of another file). The README: 'ids missing from the scored file ... are
    refused' (as ``tonecls prevalence --labels`` does). Was: ``fit`` drops them with only a
    note in ``result.warnings`` and estimates from the other half."""
    from tonecls.errors import InputError
    from tonecls.prevalence import PrevalenceEstimator

    labels = _labels_of(scored_frame6, 100)
    labels.loc[:49, "id"] = "other-" + labels.loc[:49, "id"]
    with pytest.raises(InputError):
        PrevalenceEstimator("sentiment").fit(scored_frame6, labels=labels)


def test_prevalence_intervals_hold_their_estimates_when_every_label_is_one_class(scored_frame6):
    """All 60 labels ``neutral``: every estimate and bound lies in [0, 1], low <= estimate <= high,
    and the other classes' intervals are not a single point (the Agresti-Coull floor)."""
    from tonecls.prevalence import PrevalenceEstimator

    labels = _labels_of(scored_frame6, 60)
    labels["label"] = "neutral"
    result = PrevalenceEstimator("sentiment").fit(scored_frame6, labels=labels, group_cols=["platform"])
    est = result.estimates.dropna(subset=["estimate"])
    assert len(est)
    assert ((est.ci_low >= 0) & (est.ci_high <= 1) & (est.ci_low <= est.estimate)
            & (est.estimate <= est.ci_high)).all()
    overall = result.overall
    assert (overall.loc[["negative", "positive"], "ci_high"] > overall.loc[["negative", "positive"], "ci_low"]).all()


def test_prevalence_api_groups_of_categorical_and_nullable_boolean_columns(scored_frame6):
    """A categorical platform with an unused category and a nullable boolean with NA: the groups
    are the values present (no empty group for the unused category), NA one group, and group
    sizes add up to the scored rows."""
    from tonecls.prevalence import PrevalenceEstimator

    frame = scored_frame6.copy()
    frame["platform"] = frame["platform"].astype("category").cat.add_categories(["unused"])
    frame["flag"] = pd.array(([True, False, None] * 134)[: len(frame)], dtype="boolean")
    result = PrevalenceEstimator("sentiment").fit(frame, labels=_labels_of(frame, 100),
                                                  group_cols=["platform", "flag"])
    sizes = result.estimates.drop_duplicates(["grouping", "group"]).groupby("grouping")["n"].sum()
    assert sizes["platform"] == sizes["flag"] == result.n_rows == 397
    assert not any("unused" in g for g in result.estimates["group"])


# --- calibrate -------------------------------------------------------------------------------

def test_calibrate_into_a_folder_inside_the_base_bundle_is_refused(tmp_path, scored_frame6, capsys):
    """``tonecls calibrate lab.csv --model models/base -o models/base/v2``. The base bundle 'is not
    changed'. Must: refuse (exit 2) before writing. Was: the new bundle is written inside the
    base bundle, which from then on is refused on load ('... is a link or a folder')."""
    from tonecls.model.bundle import DEFAULT_BUNDLE

    base = tmp_path / "base"
    shutil.copytree(DEFAULT_BUNDLE, base)
    labels = _write_labels(scored_frame6, tmp_path / "lab.csv", 60)
    result = cli(capsys, "calibrate", labels, "-o", base / "v2", "--head", "sentiment", "--label-col", "label",
                 "--model", base)
    one = tmp_path / "one.csv"
    one.write_text("id,text\n1,i love it\n", encoding="utf-8")
    code, _, err = cli(capsys, "score", one, "-o", tmp_path / "one_scored.csv", "--model", base, "-q")
    assert code == 0, f"the base bundle no longer loads: {err}"
    assert_refused(result, "calibrate")


@pytest.mark.parametrize("folds", ["1", "0", "-3", "100000"])
def test_calibrate_folds_outside_2_to_rows_is_refused(tmp_path, scored_frame6, capsys, folds):
    labels = _write_labels(scored_frame6, tmp_path / "lab.csv", 60)
    assert_refused(cli(capsys, "calibrate", labels, "-o", tmp_path / "cal", "--head", "sentiment",
                       "--label-col", "label", "--folds", folds), "calibrate", "folds")
    assert not (tmp_path / "cal").exists()


def test_calibrate_labels_of_another_head_are_refused_naming_a_label(tmp_path, scored_frame6, capsys):
    """Sentiment labels given to the ekman head: refused, naming the label and the head's classes."""
    labels = _write_labels(scored_frame6, tmp_path / "lab.csv", 60)
    assert_refused(cli(capsys, "calibrate", labels, "-o", tmp_path / "cal", "--head", "ekman",
                       "--label-col", "label"), "calibrate", "not one of the classes", "surprise")


# --- privacy-audit ---------------------------------------------------------------------------

def test_privacy_audit_with_the_same_file_as_members_and_non_members_is_refused(tmp_path, scored_frame6, capsys):
    """``--members posts.csv --non-members posts.csv`` (a slip of the shell history). Every post
    is then both: no attack can do better than chance. Must: refused (the two sets share their
    posts). Was: a report saying 'No attack ... detectably better than chance' (exit 0)."""
    posts = _write_labels(scored_frame6, tmp_path / "posts.csv", 120)
    assert_refused(cli(capsys, "privacy-audit", "--members", posts, "--non-members", posts, "--head", "sentiment",
                       "-o", tmp_path / "rep", "--attack", "loss"), "privacy-audit")


def test_privacy_audit_of_a_handful_of_posts_is_an_input_error_not_a_bug(tmp_path, scored_frame6, capsys):
    """2 members and 2 non-members with the trained attack. Must: exit 2 saying how many posts
    are needed. Was: exit 1, 'unexpected ValueError: Cannot have number of splits n_splits=5
    greater than the number of samples: n_samples=4.. This is a bug in tonecls'."""
    labels = _labels_of(scored_frame6, 4)
    members, non_members = tmp_path / "m.csv", tmp_path / "n.csv"
    labels.iloc[:2].to_csv(members, index=False)
    labels.iloc[2:].to_csv(non_members, index=False)
    assert_refused(cli(capsys, "privacy-audit", "--members", members, "--non-members", non_members,
                       "--head", "sentiment", "-o", tmp_path / "rep", "--attack", "trained"), "privacy-audit")


def test_privacy_audit_of_a_header_only_file_is_refused(tmp_path, scored_frame6, capsys):
    members = _write_labels(scored_frame6, tmp_path / "m.csv", 40)
    empty = tmp_path / "empty.csv"
    empty.write_text("id,text,label\n", encoding="utf-8")
    assert_refused(cli(capsys, "privacy-audit", "--members", members, "--non-members", empty, "--head", "sentiment",
                       "-o", tmp_path / "rep", "--attack", "loss"), "privacy-audit", "empty.csv")


# --- probe -----------------------------------------------------------------------------------

def _terms(tmp_path: Path, word_list: str, templates: str = "joy: {person} feels happy today.\n"
           "sadness: I miss {person_obj} so much.\n") -> Path:
    folder = tmp_path / "terms"
    folder.mkdir()
    (folder / "templates.txt").write_text(templates, encoding="utf-8", newline="")
    (folder / "gender.csv").write_text(word_list, encoding="utf-8")
    return folder


@pytest.mark.parametrize("word_list", [
    "# slot: person\ngroup,term,object\nfemale,she,her,extra\nmale,he,him\n",  # a stray field
    "# slot: person\ngroup,term\nfemale,she,her\nmale,he,him\n",  # the header lost 'object'
])
def test_probe_word_list_with_more_fields_than_its_header_is_refused(tmp_path, capsys, word_list):
    """A hand-edited word list whose rows have one field more than the header. Must: refused
    naming the file ('A malformed file stops the run with an error naming the file'). Was:
    pandas took the first column as the index: groups 'she' vs 'he', terms 'her' / 'him',
    sentences 'Her feels happy today.' and 'I miss extra so much.', reported as gender probes."""
    folder = _terms(tmp_path, word_list)
    result = cli(capsys, "probe", "-o", tmp_path / "rep", "--terms", folder)
    scores = tmp_path / "rep_scores.csv"
    if scores.exists():
        sentences = set(pd.read_csv(scores)["sentence"])
        assert "Her feels happy today." not in sentences, sorted(sentences)
        assert "I miss extra so much." not in sentences, sorted(sentences)
    assert_refused(result, "probe", "gender.csv")


def test_probe_templates_with_crlf_line_ends_give_sentences_without_a_carriage_return(tmp_path, capsys):
    """templates.txt saved on Windows: the sentences scored carry no '\\r'."""
    folder = _terms(tmp_path, "# slot: person\ngroup,term,object\nfemale,she,her\nmale,he,him\n",
                    "joy: {person} feels happy today.\r\nsadness: I miss {person_obj} so much.\r\n")
    code, _, err = cli(capsys, "probe", "-o", tmp_path / "rep", "--terms", folder)
    assert code == 0, err
    sentences = list(pd.read_csv(tmp_path / "rep_scores.csv")["sentence"])
    assert sentences and not any("\r" in s for s in sentences)
    assert "She feels happy today." in sentences


@pytest.mark.parametrize("template", ["joy: {person} feels {0} happy.\n", "joy: {person} feels happy {}.\n",
                                      "joy: {person.__class__} is here.\n", "joy: {Person} is here.\n"])
def test_probe_template_with_a_format_field_that_is_not_a_slot_is_refused(tmp_path, capsys, template):
    folder = _terms(tmp_path, "# slot: person\ngroup,term,object\nfemale,she,her\nmale,he,him\n", template)
    assert_refused(cli(capsys, "probe", "-o", tmp_path / "rep", "--terms", folder), "probe", "templates.txt")


# --- preprocess / score ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["tonecls_status"])
def test_preprocess_tokens_column_named_like_the_status_column_is_refused(tmp_path, capsys, name):
    """``tonecls preprocess posts.csv -o tok.csv --tokens-col tonecls_status``. Must: refused (the
    two output columns would share a name), as a clash with an input column is. Was: one
    'tonecls_status' column holding 'ok': every row's tokens silently lost."""
    src = tmp_path / "posts.csv"
    src.write_text("id,text\n1,hello world\n2,so sad today\n", encoding="utf-8")
    out = tmp_path / "tok.csv"
    result = cli(capsys, "preprocess", src, "-o", out, "--tokens-col", name, "-q")
    if out.exists():
        header = next(csv.reader(out.open(encoding="utf-8", newline="")))
        assert header.count(name) == 2 or header.count(name) == 0, header
    assert_refused(result, "preprocess", name)
    assert not out.exists()


def test_odd_characters_in_ids_text_and_other_columns_pass_through(tmp_path, capsys):
    """Zero-width space and RTL marks in ids, a form feed inside a post, a lone CR and a CRLF inside
    quoted fields, NFD vs NFC spellings of one name as two ids: every value comes out as it was."""
    rows = [["\u200ba\u200f", "hi\x0cthere", "a\rb"], ["2", "line\r\nbreak", "\u202ex"],
            ["caf\u00e9", "caf\u00e9 is nice", "nfc"], ["cafe\u0301", "cafe\u0301 is nice", "nfd"]]
    src = tmp_path / "odd.csv"
    with src.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([["id", "text", "x"], *rows])
    out = tmp_path / "odd_scored.csv"
    code, _, err = cli(capsys, "score", src, "-o", out, "-q")
    assert code == 0, err
    with out.open(encoding="utf-8", newline="") as handle:
        got = list(csv.reader(handle))
    assert [r[:3] for r in got[1:]] == rows
    assert [r[3] for r in got[1:]] == ["ok"] * 4


def test_a_3_mb_post_is_scored_and_kept_whole(tmp_path, capsys):
    """One field of 3 MB (far above the csv module's default 128 KB field limit) beside a short
    post: both rows out, the long text byte for byte, both scored (the tokeniser reads the
    first ``PreprocessConfig.max_chars`` characters of it)."""
    big = "word " * 600_000
    src = tmp_path / "big.csv"
    src.write_text(f'id,text\n1,"{big}"\n2,short post\n', encoding="utf-8")
    out = tmp_path / "big_scored.csv"
    code, _, err = cli(capsys, "score", src, "-o", out, "-q")
    assert code == 0, err
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(frame["id"]) == ["1", "2"] and frame.loc[0, "text"] == big
    assert list(frame["tonecls_status"]) == ["ok", "ok"]


def test_score_frame_keeps_odd_pandas_dtypes_and_reads_categorical_and_arrow_text():
    """In a notebook: text as ``category`` / ``string[pyarrow]`` with a missing and an empty post,
    beside zoned datetimes, nullable Int64 / boolean, periods and intervals: statuses as for
    plain text, and every other column unchanged, dtype included."""
    import tonecls
    from tonecls.score import score_frame

    model = tonecls.load_model()
    texts = ["i love this", "worst day ever", None, "", "so happy"]
    for dtype in ["category", "string[pyarrow]", "string"]:
        out = score_frame(pd.DataFrame({"text": pd.Series(texts, dtype=dtype)}), model, text_col="text")
        assert list(out["tonecls_status"]) == ["ok", "ok", "missing", "empty", "ok"], dtype
    frame = pd.DataFrame({
        "text": ["i love this"] * 3, "ts": pd.date_range("2024-03-30 23:30", periods=3, freq="h", tz="Europe/Paris"),
        "n": pd.array([1, None, 3], dtype="Int64"), "b": pd.array([True, None, False], dtype="boolean"),
        "p": pd.period_range("2024-01", periods=3, freq="M"), "iv": pd.interval_range(0, 3)})
    out = score_frame(frame, model, text_col="text")
    for column in ["ts", "n", "b", "p", "iv"]:
        assert out[column].dtype == frame[column].dtype and out[column].equals(frame[column]), column


# --- other commands' option edges -------------------------------------------------------------

@pytest.mark.parametrize("argv, said", [
    (["dialect", "{src}", "-o", "{out}", "--threshold", "0.5"], "threshold"),
    (["dialect", "{src}", "-o", "{out}", "--threshold", "nan"], "threshold"),
    (["score", "{src}", "-o", "{out}", "--chunksize", "0"], "chunksize"),
    (["score", "{src}", "-o", "{out}", "--workers", "-2"], "workers"),
    (["preprocess", "{src}", "-o", "{out}", "--tokens-col", "text"], "'text'"),
    (["score", "{src}", "-o", "{out}", "--text-col", ""], "['']"),
])
def test_edge_values_of_options_are_one_paragraph_refusals(tmp_path, capsys, argv, said):
    src = tmp_path / "posts.csv"
    src.write_text("id,text\n1,hello world\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    argv = [a.format(src=src, out=out) for a in argv]
    assert_refused(cli(capsys, *argv), argv[0], said)
    assert not out.exists()


@pytest.mark.parametrize("options, said", [
    (["--ratio-bounds", "1.25", "0.8"], "ratio_bounds"),
    (["--ratio-bounds", "0", "inf"], "ratio_bounds"),
    (["--min-difference", "nan"], "min_difference"),
    (["--alpha", "1"], "alpha"),
    (["--max-groups", "0"], "max_groups"),
])
def test_audit_options_at_their_edges_are_refused(tmp_path, scored_sample, capsys, options, said):
    assert_refused(cli(capsys, "audit", scored_sample, "-o", tmp_path / "rep", "--head", "sentiment",
                       "--group-col", "platform", *options), "audit", said)
    assert not list(tmp_path.glob("rep*"))


def test_audit_by_a_group_column_of_unicode_and_whitespace_names_counts_every_row(tmp_path, scored_frame6):
    """A group column named with an RTL mark and spaces, its values NFC / NFD spellings of one
    word and a 300-character value: every audited row in exactly one group, the NFC and NFD
    spellings apart (they are different strings)."""
    from tonecls.audit import audit_groups

    frame = scored_frame6.copy()
    column = " r\u200fegion \u00e9 "
    values = np.array(["caf\u00e9", "cafe\u0301", "x" * 300])
    frame[column] = values[np.arange(len(frame)) % 3]
    result = audit_groups(frame, head="sentiment", group_cols=[column], n_bootstrap=20)
    groups = result.metrics[result.metrics.grouping == column].drop_duplicates("group")
    assert sorted(groups["group"]) == sorted(values) and groups["n"].sum() == 397
