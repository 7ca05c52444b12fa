"""Second red-team pass: the Python API as notebooks use it (``model.predict``, ``score_frame``,
``tokenize``, ``audit_groups``, ``PrevalenceEstimator``, ``draw_sample``), personal data forms
not covered by ``test_preprocess_pii.py``, bundles damaged behind a forged seal, reports with
hostile names, and the other commands on bad input. Each case checks a README promise exactly:
every row once, in order, values as they were; bad input a clear error (CLI: exit 2, one
paragraph, no traceback) or a flagged row, never a silently wrong ``ok``.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support import CLASSES, assert_refused, cli, reseal_unchecked, scored_frame, scored_posts
from tonecls.errors import InputError

# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model():
    import tonecls

    return tonecls.load_model()


def audit(frame, **options):
    from tonecls.audit import audit_groups

    options = {"head": "emotion", "label_col": "gold", "group_cols": ["dialect"], "n_bootstrap": 50, "seed": 0,
               "quiet": True, **options}
    return audit_groups(frame, **options)


# --- model.predict / score_frame / tokenize on odd inputs --------------------------------------

ODD_POSTS = [None, np.nan, pd.NA, pd.NaT, 3, 3.5, True, b"great day", b"\xff\xfe", "", "   ", "\u200b\u200d\ufeff",
             "\U0001F602\U0001F602", "e\u0301\u0301\u0301 nice", "שלום, מה שלומך היום? אני מרגיש נהדר",
             "good \u202eevil\u202c day", "x" * 100_000]
ODD_STATUSES = ["missing", "missing", "missing", "missing", "not_text", "not_text", "not_text", "ok",
                "invalid_encoding", "empty", "empty", "empty", "ok", "ok", "other_language", "ok", "ok"]


def test_odd_posts_get_their_exact_status_and_only_ok_rows_have_predictions(model):
    predicted = model.predict(ODD_POSTS)
    assert predicted["tonecls_status"].tolist() == ODD_STATUSES
    ok = predicted["tonecls_status"].eq("ok").to_numpy()
    assert predicted.loc[ok, "sentiment_label"].notna().all() and predicted.loc[~ok, "sentiment_label"].isna().all()
    proba = predicted[[f"sentiment_p_{c}" for c in ("negative", "neutral", "positive")]].to_numpy(np.float64)
    assert np.allclose(proba[ok].sum(axis=1), 1, atol=1e-5) and np.isnan(proba[~ok]).all()
    assert predicted["tonecls_n_tokens"].iloc[:4].isna().all()  # no text: no token count


def test_the_same_odd_posts_via_the_cli_give_the_same_statuses_and_probabilities(model, tmp_path, capsys):
    texts = [p for p in ODD_POSTS if isinstance(p, str)]
    src = tmp_path / "posts.jsonl"
    src.write_text("".join(json.dumps({"id": f"p{i}", "text": t}) + "\n" for i, t in enumerate(texts)), "utf-8")
    assert cli(capsys, "score", src, "-o", tmp_path / "out.jsonl", "-q", "--workers", "1")[0] == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text("utf-8").splitlines()]
    direct = model.predict(texts)
    assert [r["id"] for r in rows] == [f"p{i}" for i in range(len(texts))]
    assert [r["text"] for r in rows] == texts
    assert [r["tonecls_status"] for r in rows] == direct["tonecls_status"].tolist()
    for row, (_, want) in zip(rows, direct.iterrows()):
        if row["tonecls_status"] == "ok":
            assert row["emotion_label"] == want["emotion_label"]
            assert row["sentiment_p_positive"] == pytest.approx(float(want["sentiment_p_positive"]), abs=1e-6)


@pytest.mark.parametrize("table", [
    pd.DataFrame({"text": ["great", "awful", "meh"]}),
    np.array([["great", "awful"]]),
    {"awful day": "great", "x": "y"},
], ids=["dataframe", "2d-array", "dict"])
def test_predict_refuses_tables_and_mappings_instead_of_scoring_names_or_cells(model, table):
    """Iterating a DataFrame gives its column names, a dict its keys, ravel a 2-D array's cells:
    each would be scored as posts with status ok."""
    with pytest.raises(TypeError, match="one-dimensional|mapping"):
        model.predict(table)
    with pytest.raises(TypeError, match="one-dimensional|mapping"):
        model.predict_proba(table)


def test_predict_of_a_series_keeps_its_index_so_assignment_lines_up(model):
    frame = pd.DataFrame({"text": ["i love this so much", "worst service ever, i hate it", None]},
                         index=[10, 3, 7])
    kept = frame[frame["text"].notna()].iloc[::-1]  # filtered and reordered, as in a notebook
    predicted = model.predict(kept["text"])
    assert predicted.index.tolist() == [3, 10]
    frame["label"] = predicted["sentiment_label"]
    assert frame.loc[10, "label"] == "positive" and frame.loc[3, "label"] == "negative"
    assert pd.isna(frame.loc[7, "label"])
    assert model.predict(["a", "b"]).index.equals(pd.RangeIndex(2))


def test_predict_of_nothing_and_of_a_non_iterable(model):
    empty = model.predict([])
    assert len(empty) == 0 and list(empty.columns) == model.output_columns()
    assert model.predict_proba([])["sentiment"].shape == (0, 3)
    for bad in (None, 3, np.nan):
        with pytest.raises(TypeError):
            model.predict(bad)


def test_score_frame_keeps_a_multiindex_repeated_index_and_odd_column_names(model):
    frame = pd.DataFrame([["great", 1, "a"], [None, 2, "b"], ["awful", 3, "c"]],
                         columns=["text", 0, ("x", "y")],
                         index=pd.MultiIndex.from_tuples([("a", 1), ("a", 1), ("b", 2)]))
    from tonecls.score import score_frame

    scored = score_frame(frame, model)
    assert scored.index.equals(frame.index)
    assert list(scored.columns[:3]) == ["text", 0, ("x", "y")]
    pd.testing.assert_frame_equal(scored.iloc[:, :3], frame)
    assert scored["tonecls_status"].tolist() == ["ok", "missing", "ok"]
    assert scored["sentiment_label"].iloc[[0, 2]].tolist() == model.predict(["great", "awful"])["sentiment_label"].tolist()


@pytest.mark.parametrize(("read_status", "said"), [
    (["ok", "banana"], "banana"),
    (["ok", None], "None"),
    (["ok"], "one status per row"),
    (pd.Series(["ok", "malformed_line"], index=[0, 1]), "index"),
])
def test_score_frame_refuses_a_read_status_that_is_not_the_readers(model, read_status, said):
    """An unknown status would be written as the row's tonecls_status; a Series with another
    index would be applied by position to the wrong rows."""
    from tonecls.score import score_frame

    frame = pd.DataFrame({"text": ["great", "great"]}, index=[1, 0])
    with pytest.raises(InputError, match=said):
        score_frame(frame, model, read_status=read_status)


def test_score_frame_with_a_reader_status_of_its_own_index_is_applied_by_row(model):
    from tonecls.score import score_frame

    frame = pd.DataFrame({"text": ["great", "great"]}, index=[1, 0])
    status = pd.Series(["malformed_line", "ok"], index=[1, 0])
    scored = score_frame(frame, model, read_status=status)
    assert scored["tonecls_status"].tolist() == ["malformed_line", "ok"]


def test_tokenize_on_odd_batches_and_posts():
    from tonecls import tokenize

    for bad in (None, "one post", pd.DataFrame({"text": ["a"]}), np.array([["a", "b"]])):
        with pytest.raises(TypeError):
            tokenize(bad)
    assert tokenize(pd.Series(["Hi", None], index=[9, 4])) == [["hi"], []]
    assert tokenize(iter(["a b"])) == [["a", "b"]]
    assert tokenize(["\u200b\u200b", "caf\u0065\u0301", "\U0001F469\u200d\U0001F469\u200d\U0001F467"]) == \
        [[], ["café"], ["\U0001F469\u200d\U0001F469\u200d\U0001F467"]]


# --- personal data -----------------------------------------------------------------------------

def _leaks(tokens: list[str], *secrets: str) -> list[str]:
    return [t for t in tokens if any(c.isdigit() for c in t) or any(s in t.casefold() for s in secrets)]


@pytest.mark.parametrize("phone", [
    "+49 30 12345678", "+33 6 12 34 56 78", "+91 98765 43210", "+61 412 345 678", "+7 (495) 123-45-67",
    "+55 11 91234-5678", "+81-3-1234-5678", "+852 2345 6789", "+44 (0) 20 7946 0958", "+44(0)2079460958",
    "+86 138 0013 8000", "tel:+15551234567", "(555) 123 4567", "+1.555.123.4567", "５５５－１２３－４５６７",
    "+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨", "020 7946 0958", "06 12 34 56 78", "555–123–4567",
])
def test_international_phone_numbers_leave_no_digit_in_any_token(phone):
    from tonecls import tokenize

    tokens = tokenize([f"ring me on {phone} tonight"])[0]
    assert tokens[:3] == ["ring", "me", "on"] and tokens[-1] == "tonight"
    assert not _leaks(tokens), tokens


@pytest.mark.parametrize("address", [
    "jo+tag@mail.sub.example.co.uk", "jöe@exämple.de", "用户@例子.广告", "JO.DOE@MAIL.COM", "jo-doe@mail-server.example.com",
    "ｊｏ＠ｍａｉｌ．ｃｏｍ", "\U0001D423\U0001D428@\U0001D426\U0001D41A\U0001D422\U0001D425.\U0001D41C\U0001D428\U0001D426",
    "jo\u200b@mail.com", "j\u200bo@mail.com", "jo@gmail[.]com", "jo@gmail(.)com", "jo@gmail{.}com",
    "jo.doe@mail [.] co [.] uk", "jo AT gmail DOT com", "jo(at)mail(dot)com",
])
def test_unicode_tagged_and_bracket_dot_emails_are_one_email_token(address):
    """``jo@gmail[.]com`` used to leave ``jo`` (the name) as a token."""
    from tonecls import tokenize

    assert tokenize([f"write to {address} now"])[0] == ["write", "to", "<email>", "now"]


@pytest.mark.parametrize(("post", "expected"), [
    ("see example.com/page ok", ["see", "<url>", "ok"]),
    ("see bit.ly/abc ok", ["see", "<url>", "ok"]),
    ("see t.me/jodoe ok", ["see", "<url>", "ok"]),
    ("see sub.domain.example.io/path?q=1 ok", ["see", "<url>", "ok"]),
    ("see https://例子.中国/x ok", ["see", "<url>", "ok"]),
    ("see http://192.168.0.1:8080/a ok", ["see", "<url>", "ok"]),
    ("see tiktok.com/@jo.doe ok", ["see", "<url>", "ok"]),
    ("cc @jo-doe ok", ["cc", "<user>", "ok"]),
    ("cc @jo-doe.bsky.social ok", ["cc", "<user>", "ok"]),
    ("cc @jodoe@mastodon.social ok", ["cc", "<user>", "<user>", "ok"]),
    ("cc ＠jo_doe ok", ["cc", "<user>", "ok"]),
    ("cc RT@jodoe ok", ["cc", "rt", "<allcaps>", "<user>", "ok"]),
    ("cc U/JODOE ok", ["cc", "<user>", "ok"]),
    ("twitter: jodoe", ["twitter", ":", "<user>"]),
    ("Telegram: jo_doe", ["telegram", ":", "<user>"]),
    ("venmo: @jodoe", ["venmo", ":", "<user>"]),
    ("cashapp: jodoe99", ["cashapp", ":", "<user>"]),
])
def test_urls_without_scheme_and_handles_of_more_platforms_are_markers(post, expected):
    from tonecls import tokenize

    assert tokenize([post])[0] == expected


@pytest.mark.parametrize("post", ["follow my twitter: this is great", "my twitter-account is dead",
                                  "I love reddit: it is fun"])
def test_a_platform_name_before_prose_keeps_the_prose(post):
    from tonecls import tokenize

    assert "<user>" not in tokenize([post])[0]


def test_personal_data_at_random_places_of_a_100k_character_post_never_leaks(model):
    from tonecls import tokenize

    secrets = ["qzjo+tag@mail.qzsub.example.co.uk", "qzjo@gmail[.]com", "+44 (0) 20 7946 0958", "@qz-doe",
               "twitter: qzdoe", "qzjo at gmail dot com", "qzsite.com/qzpath"]
    rng = np.random.default_rng(7)
    words = rng.choice(["the", "day", "is", "so", "nice", "😂", "and", "é"], size=25_000).tolist()
    for offset in (0, 1_995, 1_996, 1_998, 2_000, 2_003, 7_000):  # 10,000 chars = 2,000 words of 5 chars
        for secret in secrets:
            post = " ".join(words[:offset] + [secret] + words[offset:])
            tokens = tokenize([post])[0]
            assert not _leaks(tokens, "qz"), (offset, secret, _leaks(tokens, "qz"))
    assert model.predict([post])["tonecls_status"].iloc[0] == "ok"


# --- audit_groups on odd frames ----------------------------------------------------------------

@pytest.fixture(scope="module")
def frame():
    return scored_frame(600)


def test_audit_missing_groups_are_one_group_with_their_exact_count(frame):
    odd = frame.copy()
    odd.loc[odd.index[::7], "dialect"] = np.nan
    odd.loc[odd.index[1::50], "dialect"] = "  "  # blank is missing too
    result = audit(odd)
    sizes = result.metrics.query("metric == 'accuracy'").set_index("group")["n"]
    blank = odd["dialect"].isna() | odd["dialect"].astype(str).str.strip().eq("")
    assert sizes["(missing)"] == int(blank.sum())
    assert sizes["all"] == len(odd)
    assert sum(sizes[g] for g in sizes.index if g != "all") == len(odd)


def test_audit_single_group_unknown_label_and_group_per_row(frame):
    one = frame.assign(dialect="only")
    with pytest.raises(InputError, match="single group"):
        audit(one)
    wrong = frame.copy()
    wrong.loc[wrong.index[3], "gold"] = "fear"
    with pytest.raises(InputError, match="'fear'"):
        audit(wrong)
    per_row = frame.assign(dialect=np.arange(len(frame)))
    gaps = audit(per_row).gaps  # one group per post: folded into one group of counts, nothing tested
    assert gaps["reason"].str.contains("folded").all() and not gaps["flagged"].any()


def test_audit_of_a_reordered_or_repeated_index_equals_the_plain_one(frame):
    plain = audit(frame).gaps
    for index in (np.arange(len(frame))[::-1], np.zeros(len(frame), dtype=int)):
        pd.testing.assert_frame_equal(audit(frame.set_axis(index)).gaps, plain)


def test_audit_intersections_whose_names_collide_are_refused(frame):
    """("x × y", "z") and ("x", "y × z") are both named "x × y × z": they were merged into one
    group, and column a's two groups were audited as one group of all 600 rows."""
    odd = frame.copy()
    odd["a"] = np.where(np.arange(len(odd)) % 2, "x × y", "x")
    odd["b"] = np.where(np.arange(len(odd)) % 2, "z", "y × z")
    with pytest.raises(InputError, match="×"):
        audit(odd, group_cols=["a", "b"])
    single = audit(odd, group_cols=["a"]).metrics.query("metric == 'accuracy'").set_index("group")["n"]
    assert single[["x", "x × y"]].tolist() == [300, 300]


def test_audit_refuses_probabilities_outside_0_1_even_when_they_sum_to_1(frame):
    odd = frame.copy()
    odd.loc[odd.index[3], [f"emotion_p_{c}" for c in CLASSES]] = [1.5, -0.5, 0.0, 0.0]
    odd.loc[odd.index[3], "emotion_label"] = "anger"
    with pytest.raises(InputError, match=r"outside \[0, 1\]"):
        audit(odd)


def test_audit_refuses_a_label_that_is_not_the_most_probable_class(frame):
    odd = frame.copy()
    odd.loc[odd.index[3], [f"emotion_p_{c}" for c in CLASSES]] = [0.97, 0.01, 0.01, 0.01]
    odd.loc[odd.index[3], "emotion_label"] = "sadness"
    with pytest.raises(InputError, match="most probable"):
        audit(odd)


def test_audit_of_multilabel_probabilities_above_1_is_refused():
    from tonecls.audit import audit_groups

    rng = np.random.default_rng(0)
    n = 300
    odd = pd.DataFrame({"tonecls_status": "ok", "g": rng.choice(["a", "b"], n),
                        "flags_labels": rng.choice(["x", "y", "x;y", ""], n),
                        "flags_p_x": rng.random(n), "flags_p_y": rng.random(n)})
    odd.loc[5, "flags_p_x"] = 7.0
    with pytest.raises(InputError, match=r"outside \[0, 1\]"):
        audit_groups(odd, head="flags", group_cols=["g"], n_bootstrap=20, quiet=True)


# --- prevalence and samples --------------------------------------------------------------------

@pytest.fixture(scope="module")
def posts():
    return scored_posts(1000)


def _labelled(posts, n=200, seed=1):
    from tonecls.prevalence import draw_sample

    sample = draw_sample(posts, n, seed=seed)
    sample["label"] = posts.set_index("id").loc[sample["id"], "gold"].to_numpy()
    return sample


def test_prevalence_of_a_frame_with_a_repeated_index_equals_the_plain_one(posts):
    """pd.concat without ignore_index gives a repeated index: labels were put on the wrong rows
    (or a raw ValueError)."""
    from tonecls.prevalence import PrevalenceEstimator

    labels = _labelled(posts)
    repeated = pd.concat([posts.iloc[:500], posts.iloc[500:].reset_index(drop=True)])
    assert repeated.index.duplicated().any()
    plain = PrevalenceEstimator("emotion").fit(posts, labels=labels).estimates
    pd.testing.assert_frame_equal(PrevalenceEstimator("emotion").fit(repeated, labels=labels).estimates, plain)
    column = posts.assign(lab=np.where(np.arange(1000) % 5 == 0, posts["gold"], None))
    plain = PrevalenceEstimator("emotion").fit(column, label_col="lab").estimates
    repeated = column.set_axis(np.zeros(1000, dtype=int))
    pd.testing.assert_frame_equal(PrevalenceEstimator("emotion").fit(repeated, label_col="lab").estimates, plain)


@pytest.mark.parametrize("options", [{"label_col": "id"}, {"label_col": "text"},
                                     {"stratify_col": "gold", "label_col": "gold"},
                                     {"label_col": "inclusion_probability"}])
def test_draw_sample_refuses_a_label_column_that_would_overwrite_another(posts, options):
    """The empty label column overwrote the ids (no label could be joined back), or a stratum
    column of gold labels pre-filled the labels."""
    from tonecls.prevalence import draw_sample

    with pytest.raises(InputError, match="label_col"):
        draw_sample(posts, 10, **options)


def test_draw_sample_equals_the_cli_sample_and_repeats_with_its_seed(posts, tmp_path, capsys):
    from tonecls.prevalence import draw_sample

    src = tmp_path / "scored.csv"
    posts.to_csv(src, index=False)
    assert cli(capsys, "sample", src, "-o", tmp_path / "s.csv", "-n", 40, "--stratify-col", "dialect",
               "--seed", 3)[0] == 0
    via_cli = pd.read_csv(tmp_path / "s.csv", dtype=str, keep_default_na=False)
    direct = draw_sample(posts, 40, stratify_col="dialect", seed=3)
    assert via_cli["id"].tolist() == direct["id"].tolist()
    assert via_cli["label"].eq("").all()
    assert np.allclose(via_cli["inclusion_probability"].astype(float), direct["inclusion_probability"])
    assert draw_sample(posts, 40, stratify_col="dialect", seed=3)["id"].tolist() == direct["id"].tolist()


# --- bundles -----------------------------------------------------------------------------------

def _rewrite_weight(bundle: Path, change) -> None:
    """Apply ``change(h5py.File)`` to the weights inside model.keras, update inference.json's
    checksums and forge the seal: what a determined forger would do."""
    import h5py

    from tonecls.model.inference_spec import WEIGHTS_MEMBER, fingerprint

    keras_file = bundle / "model.keras"
    with zipfile.ZipFile(keras_file) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    h5_path = bundle.parent / "weights.h5"
    h5_path.write_bytes(members[WEIGHTS_MEMBER])
    with h5py.File(h5_path, "r+") as h5:
        change(h5)
    members[WEIGHTS_MEMBER] = h5_path.read_bytes()
    h5_path.unlink()
    with zipfile.ZipFile(keras_file, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    spec = json.loads((bundle / "inference.json").read_text())
    with zipfile.ZipFile(keras_file) as archive:
        h5_path.write_bytes(archive.read(WEIGHTS_MEMBER))
    with h5py.File(h5_path, "r") as h5:
        for entry in spec["weights"].values():
            if entry["dataset"] in h5 and list(h5[entry["dataset"]].shape) == entry["shape"]:
                entry["sha256"] = fingerprint(np.asarray(h5[entry["dataset"]][()], dtype=np.float32))[2]
    h5_path.unlink()
    (bundle / "inference.json").write_text(json.dumps(spec))
    reseal_unchecked(bundle)


HEAD_BIAS = "layers/dense_2/vars/1"  # the sentiment head's bias (3 values) in the default bundle


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_or_infinite_weights_behind_a_forged_seal_are_refused(bundle_copy, value):
    """NaN weights gave every post status ok with NaN probabilities and the first class as label."""
    from tonecls import load_model

    def poison(h5):
        h5[HEAD_BIAS][0] = value

    _rewrite_weight(bundle_copy, poison)
    with pytest.raises(InputError, match="NaN or infinite"):
        load_model(bundle_copy)


@pytest.mark.slow
def test_a_weight_declaring_a_huge_shape_it_stores_nothing_for_is_refused_before_reading(bundle_copy):
    """An HDF5 dataset can declare 2,000,000 x 50 floats (400 MB; any size up to the limits) in
    a few bytes of file: reading it would fill the memory. The stored size is checked first."""
    from tonecls import load_model

    name = "layers/embedding/vars/0"

    def inflate(h5):
        del h5[name]
        h5.create_dataset(name, shape=(2_000_000, 50), dtype="float32")  # no data written

    _rewrite_weight(bundle_copy, inflate)
    spec = json.loads((bundle_copy / "inference.json").read_text())
    for key in ("0/embedding",):
        spec["weights"][key]["shape"] = [2_000_000, 50]
    (bundle_copy / "inference.json").write_text(json.dumps(spec))
    vocab = json.loads((bundle_copy / "vocab.json").read_text())
    (bundle_copy / "vocab.json").write_text(json.dumps(vocab + [f"<fake{i}>" for i in range(2_000_000 - len(vocab) - 2)]))
    reseal_unchecked(bundle_copy)
    started = time.monotonic()
    with pytest.raises(InputError, match="stores"):
        load_model(bundle_copy)
    assert time.monotonic() - started < 60


def test_a_read_only_bundle_loads_and_scores_and_seal_fails_cleanly(bundle_copy, tmp_path, capsys):
    from tonecls import load_model

    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    paths = [bundle_copy, *bundle_copy.iterdir()]
    for path in paths:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        model = load_model(bundle_copy)
        assert model.predict(["what a lovely day"])["tonecls_status"].tolist() == ["ok"]
        src = tmp_path / "p.csv"
        src.write_text("id,text\n1,hello there friend\n", encoding="utf-8")
        assert cli(capsys, "score", src, "-o", tmp_path / "o.csv", "--model", bundle_copy, "-q")[0] == 0
        assert_refused(cli(capsys, "seal", bundle_copy), "seal")
        assert not any(p.name.endswith(".partial") for p in bundle_copy.iterdir())
    finally:
        for path in paths:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_a_folder_or_a_seal_entry_for_a_file_twice_is_refused_by_name(bundle_copy, capsys):
    from tonecls import load_model

    seal = bundle_copy / "SHA256SUMS"
    original = seal.read_text()
    seal.write_text(original + original.splitlines(keepends=True)[0])
    with pytest.raises(InputError, match="SHA256SUMS, line"):
        load_model(bundle_copy)
    seal.write_text(original.replace("\n", "\r\n"))  # a seal that went through a Windows editor
    assert load_model(bundle_copy).predict(["ok then"])["tonecls_status"].tolist() == ["ok"]
    seal.write_text(original)
    (bundle_copy / "extra").mkdir()
    with pytest.raises(InputError, match="extra"):
        load_model(bundle_copy)
    assert_refused(cli(capsys, "seal", bundle_copy), "seal", "extra")


# --- reports -----------------------------------------------------------------------------------

HOSTILE = ["<script>alert(1)</script>", "a|b`c`", "new\nline **bold** [x](http://evil.example)", "ü" * 300]


def _assert_safe_html(html: str) -> None:
    assert "<script>alert" not in html and "<img src=x" not in html
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)  # nothing loaded from outside
    assert not re.findall(r"<(?:link|iframe|object|embed)\b", html)


def test_an_audit_report_with_hostile_group_and_column_names_is_escaped_and_self_contained(frame, tmp_path):
    from tonecls.report import audit_report, write_report

    column = "<img src=x onerror=alert(2)>|col`"
    odd = frame.copy()
    odd[column] = np.array(HOSTILE)[np.arange(len(odd)) % 4]
    result = audit(odd, group_cols=[column])
    paths = write_report(audit_report(result), tmp_path, "audit")
    html = Path(paths["html"]).read_text(encoding="utf-8")
    _assert_safe_html(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    markdown = Path(paths["md"]).read_text(encoding="utf-8")
    for line in markdown.splitlines():
        if line.startswith("|") and "script" in line:
            assert "\\<script\\>" in line and line.count("|") - line.count("\\|") >= 3
    assert "\nline **bold**" not in markdown
    data = json.loads(Path(paths["json"]).read_text(encoding="utf-8"))
    assert set(HOSTILE) <= set(json.dumps(data, ensure_ascii=False) and _strings(data))


def _strings(value) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*map(_strings, value.values()), *map(_strings, value.keys())) if value else set()
    if isinstance(value, list):
        return set().union(*map(_strings, value)) if value else set()
    return set()


def test_a_prevalence_report_with_hostile_groups_and_no_labels_is_escaped_with_nan_kept(posts, tmp_path):
    from tonecls.prevalence import PrevalenceEstimator
    from tonecls.report import write_report
    from tonecls.report.prevalence import prevalence_report

    odd = posts.copy()
    odd["platform"] = np.array(HOSTILE)[np.arange(len(odd)) % 4]
    result = PrevalenceEstimator("emotion").fit(odd, group_cols=["platform"])  # no labels: NaN intervals
    paths = write_report(prevalence_report(result), tmp_path, "prevalence")
    _assert_safe_html(Path(paths["html"]).read_text(encoding="utf-8"))
    records = json.loads(Path(paths["json"]).read_text(encoding="utf-8"))
    assert set(HOSTILE) <= {s.partition("=")[2] for s in _strings(records)}
    assert "NaN" not in Path(paths["json"]).read_text(encoding="utf-8")  # strict JSON: null, not NaN


# --- other commands ----------------------------------------------------------------------------

def test_fetch_without_network_fails_quickly_and_cleanly(tmp_path, capsys, monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise OSError("network unreachable (test)")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    started = time.monotonic()
    assert_refused(cli(capsys, "fetch", "tweeteval", "--data-dir", tmp_path / "data"), "fetch", "download")
    assert time.monotonic() - started < 30
    assert not list((tmp_path / "data").rglob("*.partial"))


TINY_CONFIG = {"heads": [{"name": "tone", "source": {"kind": "memory"}, "classes": ["a", "b"]}], "epochs": 1}


@pytest.mark.parametrize(("change", "said"), [
    ({"learning_rate": float("nan")}, "learning_rate"),
    ({"learning_rate": -0.1}, "learning_rate"),
    ({"learning_rate": "fast"}, "learning_rate"),
    ({"epochs": "10"}, "epochs"),
    ({"epochs": 1.5}, "epochs"),
    ({"epochs": True}, "epochs"),
    ({"batch_size": 0}, "batch_size"),
    ({"patience": -1}, "patience"),
    ({"seed": -3}, "seed"),
    ({"calibrate": "yes"}, "calibrate"),
    ({"dropout": float("inf")}, "dropout"),
    ({"vocab_size": "abc"}, "vocab_size"),
])
def test_train_with_a_bad_config_value_stops_before_any_training(tmp_path, capsys, change, said):
    """A NaN learning rate used to be accepted: training of the full model started (and ran)."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**TINY_CONFIG, **change}), encoding="utf-8")
    started = time.monotonic()
    assert_refused(cli(capsys, "train", "--config", path, "-o", tmp_path / "model"), "train", said)
    assert time.monotonic() - started < 20
    assert not (tmp_path / "model").exists()


def test_preprocess_stdin_gives_one_line_per_input_line(tmp_path, capsys, monkeypatch):
    import io
    import sys

    lines = ["@maria SOOOO happy!!! call +44 20 7946 0958", "", "\x00\x01", "jo@gmail[.]com", "twitter: jodoe",
             "caf\u00e9 \u200b ok"]
    raw = ("\n".join(lines) + "\n").encode("utf-8") + b"\xff\xfe bad\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", errors="surrogateescape"))
    code, out, err = cli(capsys, "preprocess", "-")
    assert code == 0, err
    printed = out.split("\n")[:-1]
    assert len(printed) == len(lines) + 1
    assert printed[0] == "<user> soo <elong> <allcaps> happy ! ! ! call <phone>"
    assert printed[1:3] == ["", ""]
    assert printed[3] == "<email>" and printed[4] == "twitter : <user>"
    assert printed[6] == ""  # not UTF-8: no tokens


@pytest.mark.parametrize(("argv", "command", "said"), [
    (["probe", "-o", "{out}/p", "--dimension", "nonsense"], "probe", "nonsense"),
    (["probe", "-o", "{out}/p", "--no-templates"], "probe", "eec"),
    (["probe", "-o", "{out}/p", "--min-difference", "-1"], "probe", ""),
    (["probe", "-o", "{out}/p", "--alpha", "1.5"], "probe", ""),
    (["dialect", "{out}/missing.csv", "-o", "{out}/d.csv"], "dialect", "missing.csv"),
    (["dialect", "{src}", "-o", "{out}/d.csv", "--threshold", "1.5"], "dialect", "threshold"),
    (["privacy-audit", "--members", "{src}", "--non-members", "{src}", "--head", "nope", "-o", "{out}/r"],
     "privacy-audit", "nope"),
    (["privacy-audit", "--members", "{src}", "--non-members", "{out}/none.csv", "--head", "emotion", "-o",
      "{out}/r"], "privacy-audit", "none.csv"),
    (["evaluate", "--model", "{out}/no_bundle"], "evaluate", "no_bundle"),
])
def test_other_commands_refuse_bad_options_with_one_paragraph(tmp_path, capsys, argv, command, said):
    src = tmp_path / "posts.csv"
    src.write_text("id,text,label\n1,i am so happy,joy\n2,this is awful,anger\n", encoding="utf-8")
    argv = [a.format(out=tmp_path, src=src) for a in argv]
    code, out, err = cli(capsys, *argv)
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    assert said in err, err
    assert not list(tmp_path.glob("p.*")) and not list(tmp_path.glob("r.*")) and not (tmp_path / "d.csv").exists()


@pytest.mark.slow
def test_dask_score_killed_mid_way_then_resumed_equals_a_clean_run(tmp_path):
    """A real process on a LocalCluster, SIGKILLed after some parts are written, then --resume:
    the output equals a clean run's (of the local engine, in this process)."""
    import signal
    import subprocess
    import sys

    from tonecls.jobs import score_file

    pytest.importorskip("distributed")
    frame = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "sample_posts.csv", dtype=str,
                        keep_default_na=False)
    frame = pd.concat([frame] * 5, ignore_index=True)
    frame["id"] = [f"r{i:05d}" for i in range(len(frame))]
    src = tmp_path / "posts.csv"
    frame.to_csv(src, index=False)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    base = [sys.executable, "-m", "tonecls", "score", str(src), "--engine", "dask", "--workers", "1",
            "--blocksize", "20000", "-q"]
    clean = tmp_path / "clean.parquet"  # the local engine's output, which the Dask engine's equals
    score_file(src, clean, workers=1, quiet=True)
    out = tmp_path / "out.parquet"
    proc = subprocess.Popen([*base, "-o", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    partial = Path(str(out) + ".partial")
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if partial.is_dir() and len(list(partial.glob("part-*.parquet"))) >= 2:
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.skip("the run finished before it could be killed")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    done = subprocess.run([*base, "-o", str(out), "--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    # engines agree to within 1e-6 (README, Reproducible: float32 sums over batches of other shapes)
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(clean), check_exact=False, rtol=0, atol=1e-6)
