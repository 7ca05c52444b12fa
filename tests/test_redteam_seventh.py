"""Seventh red-team pass: odd output suffixes and paths, id columns with blank / spaced names,
notebook-style pandas inputs, audit group-size edges, training configs of the wrong JSON types,
seals written by other tools, resume after an option change, Dask id counts, CLI hints.

Every test asserts the promised behaviour (README "What tonecls promises", "Output columns of
scoring"); a failing test is a bug.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support import assert_refused, cli, interrupt_after, scored_frame

POSTS = "id,text\n1,i love it\n2,hate this\n3,so tired of monday\n"


@pytest.fixture(scope="module")
def model():
    import tonecls

    return tonecls.load_model()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- score: output names and paths ------------------------------------------------------------


@pytest.mark.parametrize("upper, lower", [("out.CSV", "out.csv"), ("out.jsonl.GZ", "out.jsonl.gz"),
                                          ("out.Parquet", "out.parquet")])
def test_an_upper_case_output_suffix_writes_the_same_format_and_rows(tmp_path, capsys, upper, lower):
    """A user writes `-o out.CSV` / `out.jsonl.GZ` / `out.Parquet`: the file is in the format
    its suffix names (gzip really compressed) and holds the rows of the lower-case spelling."""
    src = _write(tmp_path / "posts.csv", POSTS)
    assert cli(capsys, "score", src, "-o", tmp_path / upper, "--workers", "1", "-q")[0] == 0
    assert cli(capsys, "score", src, "-o", tmp_path / lower, "--workers", "1", "-q")[0] == 0
    a, b = (tmp_path / upper).read_bytes(), (tmp_path / lower).read_bytes()
    if lower.endswith(".gz"):
        assert a[:2] == b"\x1f\x8b"
        assert gzip.decompress(a) == gzip.decompress(b)
    elif lower.endswith(".parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / upper), pd.read_parquet(tmp_path / lower))
    else:
        assert a == b


def test_an_output_that_is_an_existing_folder_named_like_a_file_is_refused_and_kept(tmp_path, capsys):
    """`-o scored.csv` where scored.csv is a folder holding a file: refused (exit 2, one
    paragraph), the folder and its file untouched, no lock or partial left behind."""
    src = _write(tmp_path / "posts.csv", POSTS)
    folder = tmp_path / "scored.csv"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine", encoding="utf-8")
    assert_refused(cli(capsys, "score", src, "-o", folder, "-q"), "score", "directory")
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["posts.csv", "scored.csv"]


@pytest.mark.parametrize("name", ["out.parq", "out.csv.bz2", "out"])
def test_an_unknown_output_suffix_is_refused_with_a_hint_the_cli_can_follow(tmp_path, capsys, name):
    """`tonecls score posts.csv -o out.parq`: refused before any work, and the hint names only
    what a command-line user can do (there is no `format=` on the command line; the message
    says "Rename the file (or pass format=...)")."""
    src = _write(tmp_path / "posts.csv", POSTS)
    result = cli(capsys, "score", src, "-o", tmp_path / name, "-q")
    assert_refused(result, "score", "extension")
    assert "format=" not in result[2]
    assert not (tmp_path / name).exists()


# --- score: id columns ------------------------------------------------------------------------


def test_an_id_column_with_a_blank_name_is_checked_and_its_repeats_counted(tmp_path, capsys):
    """A CSV whose first header field is blank (`,text`), scored with `--id-col ''`: accepted,
    the header kept as it came in, the repeated id counted in the summary."""
    src = _write(tmp_path / "posts.csv", ",text\n1,i love it\n1,hate this\n2,meh\n")
    out = tmp_path / "out.csv"
    code, out_text, err = cli(capsys, "score", src, "-o", out, "--id-col", "", "--workers", "1")
    assert code == 0, err
    assert "1 rows repeat an id" in out_text + err
    assert out.read_text(encoding="utf-8").split("\n", 1)[0].startswith(",text,tonecls_status,")


def test_an_id_column_with_spaces_in_its_name_is_matched_exactly(tmp_path, capsys):
    """Header ` id ,text`: `--id-col ' id '` works; `--id-col id` is refused naming the real
    column (` id `), never matched after stripping."""
    src = _write(tmp_path / "posts.csv", " id ,text\n1,i love it\n1,hate\n")
    code, out_text, err = cli(capsys, "score", src, "-o", tmp_path / "a.csv", "--id-col", " id ", "-q")
    assert code == 0 and "1 rows repeat an id" in out_text + err
    assert_refused(cli(capsys, "score", src, "-o", tmp_path / "b.csv", "--id-col", "id", "-q"), "score", "' id '")
    assert not (tmp_path / "b.csv").exists()


def test_id_column_equal_to_the_text_column_keeps_every_row(tmp_path, capsys):
    """`--id-col text` (the posts are their own ids): every row once, in order, scored."""
    src = _write(tmp_path / "posts.csv", POSTS)
    out = tmp_path / "out.csv"
    assert cli(capsys, "score", src, "-o", out, "--id-col", "text", "--workers", "1", "-q")[0] == 0
    scored = pd.read_csv(out, dtype=str)
    assert scored["id"].tolist() == ["1", "2", "3"]
    assert (scored["tonecls_status"] == "ok").all()


@pytest.mark.slow
def test_dask_on_a_folder_of_parts_counts_an_id_repeated_across_files(tmp_path, capsys):
    """A folder of two CSV parts whose second repeats an id of the first, scored with
    `--engine dask --workers 1 --id-col id`: the summary counts the repeated id as the local
    engine does (or says that ids were not checked); it must not report a clean run."""
    parts = tmp_path / "parts"
    parts.mkdir()
    _write(parts / "a.csv", "id,text\n1,i love it\n2,hate\n")
    _write(parts / "b.csv", "id,text\n2,i love it\n3,hate\n")
    code, out_local, err_local = cli(capsys, "score", parts, "-o", tmp_path / "l.csv", "--id-col", "id", "--workers", "1")
    assert code == 0 and "1 rows repeat an id" in out_local + err_local
    code, out, err = cli(capsys, "score", parts, "-o", tmp_path / "d.parquet", "--id-col", "id",
                         "--engine", "dask", "--workers", "1")
    assert code == 0, err
    said = out + err
    assert "1 rows repeat an id" in said or "not checked" in said, said


@pytest.mark.slow
def test_dask_with_one_worker_on_a_four_row_file_equals_the_local_parquet(tmp_path, capsys):
    """`--engine dask --workers 1` on a tiny CSV with a repeated and a missing id: one part
    file whose table equals the local engine's Parquet output, and the same id warnings."""
    src = _write(tmp_path / "posts.csv", "id,text,x\n1,i love it,a\n1,hate this,\n,meh,b\n2,ok,b\n")
    code, out_l, err_l = cli(capsys, "score", src, "-o", tmp_path / "l.parquet", "--id-col", "id", "--workers", "1")
    assert code == 0
    code, out_d, err_d = cli(capsys, "score", src, "-o", tmp_path / "d.parquet", "--id-col", "id",
                             "--engine", "dask", "--workers", "1")
    assert code == 0, err_d
    import pyarrow.parquet as pq

    assert [p.name for p in (tmp_path / "d.parquet").iterdir()] == ["part-00000.parquet"]
    assert pq.read_table(tmp_path / "d.parquet").equals(pq.read_table(tmp_path / "l.parquet"))
    for warning in ("1 rows repeat an id", "1 rows have no id"):
        assert warning in out_l + err_l and warning in out_d + err_d


# --- score: resume ----------------------------------------------------------------------------


def test_resume_with_another_on_bad_lines_is_refused_and_keeps_the_partial(tmp_path, capsys, monkeypatch):
    """A run with `--on-bad-lines flag` interrupted after one chunk, resumed with
    `--on-bad-lines error`: the options differ, so the resume is refused ("cannot resume"),
    and the partial output and manifest stay as they were."""
    rows = [f"{i},post number {i} is fine" for i in range(30)]
    rows[25] = "25,a,row,with,too,many,fields"
    src = _write(tmp_path / "posts.csv", "id,text\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out.csv"
    opts = ["--chunksize", "10", "--workers", "1", "-q"]
    with monkeypatch.context() as patch:
        interrupt_after(patch, 1)
        assert cli(capsys, "score", src, "-o", out, *opts)[0] == 130
    manifest, partial = Path(f"{out}.partial.json"), Path(f"{out}.partial")
    before = manifest.read_bytes(), partial.read_bytes()
    assert_refused(cli(capsys, "score", src, "-o", out, *opts, "--resume", "--on-bad-lines", "error"),
                   "score", "cannot resume", "on_bad_lines")
    assert (manifest.read_bytes(), partial.read_bytes()) == before


# --- Python API from notebooks ----------------------------------------------------------------


def test_score_frame_of_empty_one_row_and_all_missing_frames(model):
    """`score_frame` of an empty frame, a one-row frame and a frame whose text is all NaN /
    None: as many rows as came in, input columns first and unchanged, the output columns of
    the model after, statuses `ok` / `missing`."""
    from tonecls.score import score_frame

    columns = model.output_columns()
    for frame, statuses in [
        (pd.DataFrame({"text": pd.Series([], dtype=object), "n": pd.Series([], dtype="int64")}), []),
        (pd.DataFrame({"text": ["i love it"], "n": [7]}), ["ok"]),
        (pd.DataFrame({"text": [np.nan, None], "n": [1, 2]}), ["missing", "missing"]),
    ]:
        scored = score_frame(frame, model)
        assert list(scored.columns) == ["text", "n", *columns]
        assert scored["tonecls_status"].tolist() == statuses
        pd.testing.assert_frame_equal(scored[["text", "n"]], frame)


def test_score_frame_keeps_repeated_non_text_and_integer_column_names(model):
    """A notebook frame with two columns named `x` and an integer-named column: every input
    column kept by position, name for name and value for value."""
    from tonecls.score import score_frame

    frame = pd.DataFrame([["a", "i love it", "b", 1], ["c", "hate this", "d", 2]], columns=["x", "text", "x", 0])
    scored = score_frame(frame, model)
    assert list(scored.columns[:4]) == ["x", "text", "x", 0]
    pd.testing.assert_frame_equal(scored.iloc[:, :4], frame)
    assert scored["tonecls_status"].tolist() == ["ok", "ok"]


def test_score_frame_of_multiindex_columns_names_its_text_column_by_tuple(model):
    """MultiIndex columns: `text_col=("a", "text")` scores that column; the default `text`
    is refused with an InputError that lists the columns."""
    from tonecls.errors import InputError
    from tonecls.score import score_frame

    frame = pd.DataFrame([["i love it", 1], ["hate this", 2]],
                         columns=pd.MultiIndex.from_tuples([("a", "text"), ("b", "n")]))
    scored = score_frame(frame, model, text_col=("a", "text"))
    assert len(scored) == 2 and scored["tonecls_status"].tolist() == ["ok", "ok"]
    assert scored["sentiment_label"].tolist() == model.predict(["i love it", "hate this"])["sentiment_label"].tolist()
    with pytest.raises(InputError, match="not found"):
        score_frame(frame, model)


def test_predict_of_a_tuple_generator_and_array_equals_predict_of_a_list(model):
    """`model.predict` of the same posts as a tuple, a generator, a numpy array and a pandas
    categorical Series: the same statuses, labels and probabilities as of a list."""
    posts = ["i love it", "hate this", "", "e\u0301 \U0001F469\u200D\U0001F469\u200D\U0001F467 love"]
    reference = model.predict(list(posts)).reset_index(drop=True)
    for other in (tuple(posts), (p for p in posts), np.array(posts, dtype=object),
                  pd.Series(posts, dtype="category")):
        pd.testing.assert_frame_equal(model.predict(other).reset_index(drop=True), reference)


def test_score_frame_flags_lone_surrogates_and_non_text_cells_in_place(model):
    """Object cells with a lone surrogate, a list, a dict, an int and invalid UTF-8 bytes:
    each row kept in place with `invalid_encoding` / `not_text` and no predictions; a numpy
    string beside them is scored."""
    from tonecls.score import score_frame

    cells = ["a \ud800 b love", ["i love"], {"a": 1}, 5, b"\xff\xfe", np.str_("i love it")]
    scored = score_frame(pd.DataFrame({"text": pd.Series(cells, dtype=object)}), model)
    assert scored["tonecls_status"].tolist() == ["invalid_encoding", "not_text", "not_text", "not_text",
                                                 "invalid_encoding", "ok"]
    assert scored["sentiment_label"].iloc[:5].isna().all()


# --- audit ------------------------------------------------------------------------------------


def test_audit_group_at_exactly_min_group_size_is_tested_and_one_below_is_small():
    """Groups of 30 and 29 rows with `min_group_size=30`: the 30-row group is not small, the
    29-row group is small (shown, marked, not tested)."""
    from tonecls.audit import audit_groups

    frame = scored_frame(200, seed=1)
    frame["g"] = ["a"] * 30 + ["b"] * 29 + ["c"] * 141
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["g"], min_group_size=30,
                          n_bootstrap=20, quiet=True)
    sizes = result.group_sizes.set_index("group")
    assert sizes.loc["a", "n"] == 30 and not sizes.loc["a", "small"]
    assert sizes.loc["b", "n"] == 29 and sizes.loc["b", "small"]
    assert result.gaps[result.gaps.group == "b"]["p_value"].isna().all()


def test_audit_finds_nothing_in_a_group_of_one_random_post():
    """`min_group_size=1` (allowed) and one group of a single post drawn at random: one post
    cannot show a significant gap (its mean has no estimable variance), so no gap of that group
    is a finding and none has p = 0. Observed: mean confidence 0.32 vs 0.73 flagged with
    p = 0.0 (and p = 1e-286 on other seeds)."""
    from tonecls.audit import audit_groups

    frame = scored_frame(200, seed=1)
    frame["g"] = ["a"] + ["b"] * 199
    result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["g"], min_group_size=1,
                          n_bootstrap=20, quiet=True)
    one = result.gaps[result.gaps.group == "a"]
    assert not one["flagged"].fillna(False).astype(bool).any(), one[one.flagged == True][  # noqa: E712
        ["metric", "class", "value", "reference", "p_value"]].to_string()
    assert not (one["p_value"] == 0).any()


def test_audit_of_random_groups_of_two_posts_keeps_its_error_control():
    """Ten random groups of two posts each (`min_group_size=2`) in a frame where group means
    nothing: the audit's error control holds, so (almost) nothing is flagged (README:
    "audits of random groups ... flag (almost) nothing"); observed: several mean-confidence
    findings with p < 1e-7 per run."""
    from tonecls.audit import audit_groups

    flagged = 0
    for seed in range(3):
        frame = scored_frame(400, seed=seed)
        rng = np.random.default_rng(seed)
        groups = np.array(["rest"] * len(frame), dtype=object)
        picked = rng.choice(len(frame), 20, replace=False)
        for k in range(10):
            groups[picked[2 * k:2 * k + 2]] = f"s{k}"
        frame["g"] = groups
        result = audit_groups(frame, head="emotion", label_col="gold", group_cols=["g"], min_group_size=2,
                              n_bootstrap=100, quiet=True)
        flagged += int(result.gaps["flagged"].fillna(False).astype(bool).sum())
    assert flagged <= 1, f"{flagged} findings in 3 audits of random two-post groups"


def test_audit_gold_labels_of_another_case_are_refused_naming_the_value(tmp_path, capsys):
    """Gold labels `Anger` where the head's class is `anger`: refused (exit 2) naming `Anger`
    and the classes, no report written (never silently counted as a wrong prediction)."""
    frame = scored_frame(120, seed=2)
    frame.loc[frame.gold == "anger", "gold"] = "Anger"
    frame["g"] = np.where(np.arange(len(frame)) % 2 == 0, "x", "y")
    src = tmp_path / "scored.csv"
    frame.to_csv(src, index=False)
    assert_refused(cli(capsys, "audit", src, "-o", tmp_path / "rep", "--head", "emotion", "--label-col", "gold",
                       "--group-col", "g", "--n-bootstrap", "10", "-q"), "audit", "'Anger'", "anger")
    assert not list(tmp_path.glob("rep*"))


def test_audit_of_parquet_category_columns_counts_every_row(tmp_path, capsys):
    """A scored Parquet whose group and label columns are pandas categories (dictionary
    columns): the audit runs and its JSON counts every row (rows read = audited + excluded,
    group sizes summing to the audited rows)."""
    frame = scored_frame(150, seed=3)
    frame["g"] = pd.Categorical(np.where(np.arange(150) % 3 == 0, "x", "y"))
    frame["gold"] = pd.Categorical(frame["gold"])
    src = tmp_path / "scored.parquet"
    frame.to_parquet(src)
    assert cli(capsys, "audit", src, "-o", tmp_path / "rep", "--head", "emotion", "--label-col", "gold",
               "--group-col", "g", "--n-bootstrap", "100", "-q")[0] == 0
    data = json.loads((tmp_path / "rep.json").read_text(encoding="utf-8"))["data"]
    assert data["n_rows"] == 150 and data["n_audited"] + sum(data["excluded"].values()) == 150
    assert sum(g["n"] for g in data["group_sizes"]) == data["n_audited"] == 150


def test_audit_with_few_bootstrap_resamples_writes_its_report(tmp_path, capsys):
    """`tonecls audit ... --n-bootstrap 10` (a quick look; any value >= 0 is allowed) on 150
    scored rows: the report is written. Observed: exit 1, "unexpected ValueError: 'yerr' must
    not contain negative values" from the metric plot, since a percentile interval of few
    resamples need not hold its point estimate (overall precision of anger 0.725, interval
    [0.474, 0.719])."""
    frame = scored_frame(150, seed=3)
    frame["g"] = np.where(np.arange(150) % 3 == 0, "x", "y")
    src = tmp_path / "scored.csv"
    frame.to_csv(src, index=False)
    code, out, err = cli(capsys, "audit", src, "-o", tmp_path / "rep", "--head", "emotion", "--label-col", "gold",
                         "--group-col", "g", "--n-bootstrap", "10", "-q")
    assert code == 0, err
    assert (tmp_path / "rep.html").exists() and (tmp_path / "rep.json").exists()


# --- train configs ----------------------------------------------------------------------------

HEAD = {"name": "tone", "source": {"kind": "memory"}, "classes": ["a", "b"]}


@pytest.mark.parametrize("config, said", [
    ({"heads": [{**HEAD, "oversample": "abc"}]}, "oversample"),
    ({"heads": [{**HEAD, "oversample": None}]}, "oversample"),
    ({"heads": [{**HEAD, "loss_weight": "x"}]}, "loss_weight"),
    ({"heads": None}, "heads"),
    ({"heads": [{"source": {"kind": "memory"}}]}, "name"),
    ({"heads": [HEAD], "preprocess": "x"}, "preprocess"),
    ({"heads": [{"name": "tone", "source": "tweeteval"}]}, "source"),
])
def test_train_config_values_of_the_wrong_json_type_are_one_paragraph_refusals(tmp_path, capsys, config, said):
    """`tonecls train --config` with a head's oversample "abc" / null, loss_weight "x",
    `heads: null`, a head without a name, `preprocess: "x"`, `source: "tweeteval"`: exit 2 with
    one paragraph naming the option. Observed: exit 1, "unexpected ValueError/TypeError/
    AttributeError ... This is a bug in tonecls"."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    assert_refused(cli(capsys, "train", "--config", path, "-o", tmp_path / "model"), "train", said)
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("change, said", [
    ({"multilabel": "no"}, "multilabel"),
    ({"loss_weight": float("nan")}, "loss_weight"),
    ({"loss_weight": float("inf")}, "loss_weight"),
    ({"oversample": 1.7}, "oversample"),
    ({"oversample": "3"}, "oversample"),
    ({"classes": "ab"}, "classes"),
])
def test_train_config_head_values_that_would_train_something_else_are_refused(change, said):
    """A head with `"multilabel": "no"` (truthy: a multi-label head), a NaN / infinite loss
    weight, `"oversample": 1.7` (silently 1) or "3", `"classes": "ab"` (silently the classes
    a and b): refused before any training, as `epochs: 1.5` or `calibrate: "yes"` are.
    Observed: accepted."""
    from tonecls.errors import InputError
    from tonecls.model.config import TrainConfig

    with pytest.raises(InputError, match=said):
        TrainConfig.from_dict({"heads": [{**HEAD, **change}]})


def test_train_config_auxiliary_given_as_the_string_false_is_refused():
    """Two heads, the first with `"auxiliary": "false"` (a string): refused. Observed: the
    string is truthy, the head silently becomes auxiliary and is left out of the model (with
    one head, the message "every head is auxiliary" misleads)."""
    from tonecls.errors import InputError
    from tonecls.model.config import TrainConfig

    other = {"name": "other", "source": {"kind": "memory"}, "classes": ["x", "y"]}
    with pytest.raises(InputError, match="auxiliary"):
        TrainConfig.from_dict({"heads": [{**HEAD, "auxiliary": "false"}, other]})


# --- bundles ----------------------------------------------------------------------------------


def test_a_seal_written_with_upper_case_hex_is_not_reported_as_a_changed_file(bundle_copy, tmp_path, capsys):
    """A user re-writes SHA256SUMS with upper-case digests (PowerShell Get-FileHash, certutil);
    `sha256sum -c` accepts it and no file changed. tonecls must either load the bundle or call
    the seal damaged; it must not say a file "was changed after the bundle was saved".
    Observed: "MODEL_CARD.md was changed after the bundle was saved"."""
    seal = bundle_copy / "SHA256SUMS"
    lines = seal.read_text(encoding="utf-8").splitlines()
    seal.write_text("".join(f"{d.upper()}  {n}\n" for d, n in (line.split("  ", 1) for line in lines)),
                    encoding="utf-8")
    src = _write(tmp_path / "posts.csv", POSTS)
    code, out, err = cli(capsys, "score", src, "-o", tmp_path / "o.csv", "--model", bundle_copy, "-q")
    assert "was changed after the bundle was saved" not in err, err
    assert code in (0, 2) and "Traceback" not in err


def test_a_seal_line_whose_digest_is_not_hex_is_refused_as_a_damaged_seal(bundle_copy):
    """Behind a forged seal: a seal line whose digest is not hex (64 characters of `z`) is
    refused as a damaged seal naming SHA256SUMS, not as a changed file."""
    from tonecls.errors import InputError
    from tonecls.model.bundle import check_seal

    seal = bundle_copy / "SHA256SUMS"
    lines = seal.read_text(encoding="utf-8").splitlines()
    name = lines[0].split("  ", 1)[1]
    lines[0] = "z" * 64 + "  " + name
    seal.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="SHA256SUMS"):
        check_seal(bundle_copy)


# --- probe, preprocess, help ------------------------------------------------------------------


def test_probe_no_templates_without_eec_names_the_cli_options(tmp_path, capsys):
    """`tonecls probe -o rep --no-templates` without `--eec`: refused, naming the command-line
    options (--eec / --no-templates), not the Python parameters (`include_templates=False needs
    an eec_path`)."""
    result = cli(capsys, "probe", "-o", tmp_path / "rep", "--no-templates")
    assert_refused(result, "probe")
    assert "--eec" in result[2], result[2]


def test_probe_terms_equal_after_lowercasing_compare_to_zero_and_are_never_findings(tmp_path, capsys):
    """A word list whose two groups differ only by case (`tall` / `Tall`): the model lowercases,
    so the sentences are the same; the run succeeds with no finding and every mean difference 0."""
    terms = tmp_path / "terms"
    terms.mkdir()
    _write(terms / "templates.txt", "joy: My {term} friend made me so happy.\n"
                                    "anger: My {term} neighbour is so annoying.\n")
    _write(terms / "dim.csv", "group,term\na,tall\nb,Tall\n")
    assert cli(capsys, "probe", "-o", tmp_path / "rep", "--terms", terms)[0] == 0
    report = json.loads((tmp_path / "rep.json").read_text(encoding="utf-8"))
    said = " ".join(report["findings"])
    assert "0 findings" in said and "zero by construction" in said and "+0.0 percentage points" in said
    assert len(pd.read_csv(tmp_path / "rep_scores.csv")) == 4


def test_preprocess_stdin_drops_crlf_and_a_leading_bom_from_the_tokens(tmp_path, capsys, monkeypatch):
    """`printf 'i love it\\r\\nhate\\r\\n' | tonecls preprocess -` (a file from Windows, with a
    BOM): one line of tokens per input line, no carriage return or BOM in any token."""
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xef\xbb\xbfi love it\r\nhate\r\n"),
                                                        encoding="utf-8"))
    code, out, err = cli(capsys, "preprocess", "-")
    assert code == 0, err
    assert out == "i love it\nhate\n"


@pytest.mark.parametrize("command", ["score", "train", "evaluate", "seal", "fetch", "dialect", "probe", "audit",
                                     "calibrate", "privacy-audit", "preprocess"])
def test_help_of_every_command_exits_0_and_lists_its_options(capsys, command):
    """`tonecls COMMAND --help`: exit 0, a usage line naming the command, `-h, --help`, no
    traceback and nothing on stderr."""
    code, out, err = cli(capsys, command, "--help")
    assert code == 0 and not err
    assert out.startswith(f"Usage: tonecls {command}") and "--help" in out and "Traceback" not in out
