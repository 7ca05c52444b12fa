"""Tokenising posts (tonecls.preprocess): token semantics, robustness, personal data scrubbed,
pieces equal to the whole post, agreement with nltk's TweetTokenizer."""

from __future__ import annotations

import json
import math
import pickle
import random
import re
import subprocess
import sys
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from nltk.tokenize import TweetTokenizer

from support import DATA_DIR, FIXTURES

from tonecls import preprocess
from tonecls.errors import InputError
from tonecls.preprocess import PreprocessConfig, Preprocessor, tokenize, tokenize_with_status
from tonecls.schema import Status


def toks(text: str, **config) -> list[str]:
    return tokenize([text], PreprocessConfig(**config) if config else None)[0]


# --- personal data -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["@bob", "@user", "@Some_One123", "@jo.doe", ".@bob"])
def test_handles_become_user(text):
    assert toks(f"hi {text} there")[-2] == "<user>"
    assert not any("bob" in t or "one123" in t or "jo" == t for t in toks(text))


@pytest.mark.parametrize("text, expected", [
    ("thanks u/throwaway_jane!", ["thanks", "<user>", "!"]),
    ("ask /u/spez about it", ["ask", "<user>", "about", "it"]),
    ("as U/Some-One_99 said", ["as", "<user>", "said"]),
    ("lol/u/spez", ["lol", "/", "<user>"]),
    ("add me jane#1234 or Jane.Doe#0001", ["add", "me", "<user>", "or", "<user>"]),
    ("caption : jo.doe_99 @ Los Angeles", ["caption", ":", "<user>", "@", "los", "angeles"]),
    ("good times :jodoe @ Venice Beach", ["good", "times", ":", "<user>", "@", "venice", "beach"]),
    ("snapchat: jo_doe", ["snapchat", ":", "<user>"]),
    ("IG - jo.doe, kik:jodoe", ["ig", "<allcaps>", "-", "<user>", ",", "kik", ":", "<user>"]),
])
def test_platform_handles_become_user(text, expected):
    assert toks(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("the menu/item", ["the", "menu", "/", "item"]),        # "u/" inside a word
    ("r/funny", ["r", "/", "funny"]),                       # subreddits are not people
    ("u/me", ["u", "/", "me"]),                             # too short for a Reddit name
    ("tag #2017", ["tag", "<hashtag>", "<number>"]),         # a hashtag, not a tag
    ("so happy :) @ home", ["so", "happy", ":)", "@", "home"]),
    ("time: 9am @ home", ["time", ":", "9am", "@", "home"]),  # starts with a digit
])
def test_handle_rules_leave_other_text_alone(text, expected):
    assert toks(text) == expected


@pytest.mark.parametrize("url", [
    "http://t.co/AbC123xyz", "https://www.example.com/path?q=1&x=y#frag", "www.example.org",
    "example.com", "bit.ly/2xYzAbc", "HTTPS://EXAMPLE.COM/A", "https://x.com/search?(a)",
    "https://user:pw@host.example.com/x",
])
def test_urls_become_url(url):
    tokens = toks(f"look {url} now")
    assert tokens == ["look", "<url>", "now"], tokens


@pytest.mark.parametrize("email", ["jo@example.com", "first.last+tag@mail.co.uk",
                                   "jo_doe-99@sub.example.org", "foo.na@example.com"])
def test_emails_become_email(email):
    assert toks(f"mail {email}, thanks") == ["mail", "<email>", ",", "thanks"]


@pytest.mark.parametrize("phone", ["555-123-4567", "(555) 123-4567", "+1 555 123 4567",
                                   "+44 20 7946 0958", "555.123.4567", "+33 6 12 34 56 78"])
def test_phones_become_phone(phone):
    tokens = toks(f"call {phone} today")
    assert tokens == ["call", "<phone>", "today"], tokens


@pytest.mark.parametrize("number, expected", [
    ("42", ["<number>"]), ("3.5", ["<number>"]), ("12:30", ["<number>"]),
    ("1,000,000", ["<number>"]), ("24/11/2026", ["<number>"]), ("-7", ["-", "<number>"]),
    ("$100", ["$", "<number>"]), ("100%", ["<number>", "%"]),
    ("123456789012345678901234567890", ["<number>"]), ("id12345", ["<number>"]),
])
def test_numbers_become_number(number, expected):
    assert toks(number) == expected


def test_a_missing_space_after_a_full_stop_is_not_a_domain():
    assert toks("great day.The end") == ["great", "day", ".", "the", "end"]
    assert toks("Dr.Dre nfl.com NFL.com") == ["dr", ".", "dre", "<url>", "<url>"]


def test_words_with_few_digits_are_kept():
    assert toks("2nd gr8 b4") == ["2nd", "gr8", "b4"]


def test_bracketed_placeholders_of_goemotions():
    assert toks("[NAME] is so [RELIGION]") == ["<name>", "is", "so", "<religion>"]
    assert toks("[name]") == ["[", "name", "]"]


@pytest.mark.parametrize("text", ["John <jo@x.com>", "<@U12345> hi", "<https://x.com/abc>"])
def test_personal_data_in_angle_brackets_is_scrubbed(text):
    joined = " ".join(toks(text))
    assert "jo@" not in joined and "U12345".lower() not in joined and "x.com" not in joined


# --- hashtags, emoji, emoticons ----------------------------------------------------------


@pytest.mark.parametrize("hashtag, expected", [
    ("#FirstWorldProblems", ["first", "world", "problems"]),
    ("#firstworldproblems", ["firstworldproblems"]),
    ("#iPhone12", ["i", "phone", "<number>"]),
    ("#2020Goals", ["<number>", "goals"]),
    ("#MAGA", ["maga"]),
    ("#NYCMarathon", ["nyc", "marathon"]),
    ("#soooHappy", ["soo", "<elong>", "happy"]),
    ("#no_filter", ["no", "filter"]),
    ("#Café", ["café"]),
])
def test_hashtags_are_marked_and_split(hashtag, expected):
    assert toks(hashtag) == ["<hashtag>", *expected]


def test_hashtags_unsplit_when_configured():
    assert toks("#FirstWorldProblems", split_hashtags=False) == ["<hashtag>", "firstworldproblems"]


@pytest.mark.parametrize("emoji", [
    "😂", "👍🏽", "👩‍👩‍👧‍👦", "🏳️‍🌈", "👨🏿‍💻", "🇫🇷", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🏴‍☠️", "❤️", "1️⃣", "™",
])
def test_emoji_are_single_tokens(emoji):
    tokens = toks(f"so {emoji} good")
    assert len(tokens) == 3 and tokens[0] == "so" and tokens[2] == "good", tokens
    assert tokens[1] == emoji.replace("\ufe0f", "")  # variation selectors dropped


def test_emoji_variants_share_a_token():
    assert toks("❤️") == toks("❤") and toks("🏳️‍🌈") == toks("🏳‍🌈")
    assert toks("👍🏽") != toks("👍")  # skin tones are kept


def test_adjacent_emoji_are_separate_tokens():
    assert toks("😂😂👍🏽🇫🇷🇩🇪") == ["😂", "😂", "👍🏽", "🇫🇷", "🇩🇪"]


@pytest.mark.parametrize("emoticon", [":)", ":-(", ";)", ":D", ":P", ":p", "<3", "</3", "xD",
                                      "XD", ":'(", "^_^", "-_-", "o_O", "T_T", ">_<", "=)",
                                      ":/", "D:"])
def test_emoticons_are_kept_as_is(emoticon):
    assert toks(f"ok {emoticon} ok") == ["ok", emoticon, "ok"]


# --- words -------------------------------------------------------------------------------


def test_elongation_is_shortened_and_marked():
    assert toks("soooooo good") == ["soo", "<elong>", "good"]
    assert toks("hmmmm") == ["hmm", "<elong>"]
    assert toks("good") == ["good"]  # two repeats is not elongation
    assert toks("KKK zzz #KKK") == ["kkk", "<allcaps>", "zzz", "<hashtag>", "kkk"]  # words
    assert toks("zzzz") == ["zz", "<elong>"]
    assert toks("sooo", reduce_elongation=False) == ["sooo"]


def test_repeated_punctuation_is_capped_at_three():
    assert toks("what!!!!!!!") == ["what", "!", "!", "!"]


def test_ellipses():
    assert toks("wait… so . . . ok ...... hm .. x") == ["wait", "...", "so", "...", "ok", "...", "hm", "..", "x"]


def test_shouting_is_kept_as_a_marker():
    assert toks("I am SO MAD") == ["i", "am", "so", "<allcaps>", "mad", "<allcaps>"]
    assert toks("SOOOO") == ["soo", "<elong>", "<allcaps>"]
    assert toks("I A") == ["i", "a"]  # single capitals are not shouting
    assert toks("SO MAD", mark_allcaps=False) == ["so", "mad"]
    assert toks("So MAD", lowercase=False) == ["So", "MAD", "<allcaps>"]


def test_case_folding():
    assert toks("Straße ÉCOLE") == ["strasse", "école", "<allcaps>"]


@pytest.mark.parametrize("text, expected", [
    ("I don't like it", ["i", "don't", "like", "it"]),
    ("I can’t and won’t", ["i", "can't", "and", "won't"]),
    ("it is not good", ["it", "is", "not", "good"]),
    ("y'all I'm", ["y'all", "i'm"]),
])
def test_negations_stop_words_and_contractions_survive(text, expected):
    assert toks(text) == expected


def test_literal_backslash_n_is_a_line_break():
    assert toks(r"sad.\nI choose\n\n#Life") == ["sad", ".", "i", "choose", "<hashtag>", "life"]


def test_html_entities_are_decoded():
    assert toks("me &amp; you &lt;3") == ["me", "&", "you", "<3"]


def test_odd_html_entities():
    # unknown or impossible entities are dropped, as nltk does
    assert toks("a&#xD800;b &#0;c &#99999999999; &#x1F600; &bogus; &#128512;") == [
        "ab", "c", "😀", "😀"]


def test_unicode_is_normalised_but_emoji_kept():
    assert toks("𝐡𝐞𝐥𝐥𝐨 ｗｏｒｌｄ") == ["hello", "world"]
    assert toks("‼ ™") == ["‼", "™"]
    assert toks("café") == toks("cafe\u0301") == ["café"]
    assert toks("ｈｉ", unicode_form="NFC") == ["ｈｉ"]


def test_zero_width_and_control_characters_are_removed():
    assert toks("he\u200bllo\u00ad wo\u200drld\u2060") == ["hello", "world"]
    assert toks("a\x00b\x07c\x1bd") == ["a", "b", "c", "d"]
    assert toks("\ufeffhi") == ["hi"]


def test_right_to_left_text():
    assert toks("\u202bمرحبا بالعالم\u202c @user") == ["مرحبا", "بالعالم", "<user>"]
    assert toks("שלום עולם") == ["שלום", "עולם"]


def test_combining_marks_stay_inside_words():
    assert toks("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]


# --- robustness and statuses -------------------------------------------------------------


def test_statuses_of_unusable_posts():
    posts = [None, float("nan"), np.nan, np.float32("nan"), pd.NA, pd.NaT, np.datetime64("NaT"),
             3, 3.5, np.int64(7), True, Decimal("1.5"), [1, 2], {"a": 1}, object(),
             b"\xff\xfe", bytearray(b"\xc3("), "\ud800 lone surrogate",
             "", "   \n\t", "\u200b\u200c\ufeff", "\x00\x01"]
    tokens, statuses = tokenize_with_status(posts)
    assert tokens == [[]] * len(posts)
    assert statuses == [Status.MISSING] * 7 + [Status.NOT_TEXT] * 8 \
        + [Status.INVALID_ENCODING] * 3 + [Status.EMPTY] * 4


def test_utf8_bytes_are_decoded():
    assert tokenize_with_status([b"caf\xc3\xa9 :)", memoryview(b"ok")]) == (
        [["café", ":)"], ["ok"]], [Status.OK, Status.OK])


def test_status_constants():
    assert Status.OK == "ok"
    assert {"ok", "missing", "not_text", "invalid_encoding", "empty"} <= {s.value for s in Status}


def test_long_posts_are_capped():
    post = "word " * 20_000  # 100,000 characters
    tokens, statuses = tokenize_with_status([post])
    assert statuses == [Status.OK]
    assert tokens[0] == ["word"] * 2000  # 10,000 characters, cut at a space
    assert toks("abc " * 10, max_chars=10) == ["abc", "abc"]
    assert toks("a" * 100_000) == ["aa", "<elong>"]
    assert len(toks("ab " * 50_000)) == 3333  # "ab " * 3333 + "a" cut before the "a"


def test_pathological_posts_do_not_raise():
    posts = ["1" * 100_000, "a." * 50_000, "@a" * 50_000, "😀\u200d" * 30_000,
             "http://a.b/(" * 10_000, "." * 100_000, "\u0301" * 50_000, "#" * 50_000]
    tokens, statuses = tokenize_with_status(posts)
    assert len(tokens) == len(posts)
    assert statuses[:-1] == [Status.OK] * (len(posts) - 1)


# --- input types -------------------------------------------------------------------------


@pytest.mark.parametrize("container", [
    list, tuple, np.array, lambda x: np.array(x, dtype=object),
    lambda x: pd.Series(x, index=[10, 5, 7]), lambda x: pd.Series(x, dtype="string"),
    lambda x: (item for item in x), lambda x: pd.Index(x),
])
def test_any_iterable_of_posts(container):
    assert tokenize(container(["Hi :)", "b", "c"])) == [["hi", ":)"], ["b"], ["c"]]


def test_pandas_missing_values():
    series = pd.Series(["ok", None, pd.NA], dtype="string")
    assert tokenize_with_status(series)[1] == [Status.OK, Status.MISSING, Status.MISSING]


@pytest.mark.parametrize("bad", ["a single post", b"bytes", 42, None,
                                 pd.DataFrame({"text": ["a"]}), np.array([["a", "b"]])])
def test_wrong_batch_argument_raises_type_error(bad):
    with pytest.raises(TypeError, match="texts must"):
        tokenize(bad)


# --- configuration -----------------------------------------------------------------------


def test_config_round_trips_through_json():
    config = PreprocessConfig(lowercase=False, max_chars=500, split_hashtags=False)
    data = json.loads(json.dumps(config.to_dict()))
    assert PreprocessConfig.from_dict(data) == config
    assert PreprocessConfig.from_dict({}) == PreprocessConfig() == PreprocessConfig.from_dict(None)


@pytest.mark.parametrize("data", [
    {"lowercase": "yes"}, {"max_chars": 0}, {"max_chars": 1.5}, {"max_chars": True},
    {"unicode_form": "NFD"}, {"version": 999}, {"strip_stopwords": True},
])
def test_invalid_config_raises_input_error(data):
    with pytest.raises(InputError):
        PreprocessConfig.from_dict(data)


def test_preprocessor_accepts_a_dict_and_the_module_function_a_config():
    assert Preprocessor({"lowercase": False}).tokenize(["Hi"]) == [["Hi"]]
    assert tokenize(["Hi"], {"lowercase": False}) == [["Hi"]]
    assert tokenize(["Hi"], PreprocessConfig(lowercase=False)) == [["Hi"]]
    with pytest.raises(TypeError):
        Preprocessor("NFKC")


def test_preprocessor_pickles_without_its_cache():
    preprocessor = Preprocessor(PreprocessConfig(lowercase=False))
    posts = ["Hello #World @bob :)"]
    expected = preprocessor.tokenize(posts)
    clone = pickle.loads(pickle.dumps(preprocessor))
    assert clone.config == preprocessor.config and not clone._cache
    assert clone.tokenize(posts) == expected


def test_cache_eviction_does_not_change_tokens(monkeypatch):
    posts = [f"word{i} Sooo #Tag{i} @u{i}" for i in range(50)]
    expected = Preprocessor().tokenize(posts)
    monkeypatch.setattr(preprocess, "_MAX_CACHE", 3)
    monkeypatch.setattr(preprocess, "_MAX_PIECE_CACHE", 2)
    small = Preprocessor()
    assert small.tokenize(posts) == expected
    assert len(small._cache) <= 3 and len(small._piece_cache) <= 2


def test_personal_data_is_not_cached():
    preprocessor = Preprocessor()
    preprocessor.tokenize(["jo@example.com http://x.co/abc @bob 555-123-4567 hi!",  # piece by piece
                           "hi x.com (+44 20 7946 0958 u/jodoe jo.doe@x.org)"])  # whole (a spanning gap)
    assert set(preprocessor._cache) == {"hi", "!", "(", ")"}
    assert set(preprocessor._piece_cache) == {"hi!"}


def test_long_pieces_are_not_cached():
    preprocessor = Preprocessor()
    long_piece = "ab" * 60  # 120 characters without whitespace
    assert preprocessor.tokenize([f"{long_piece} ok"]) == [[long_piece, "ok"]]
    assert set(preprocessor._piece_cache) == {"ok"}


# --- pieces: tokenising a post piece by piece equals matching it whole --------------------


def test_whitespace_is_the_same_for_str_split_and_the_token_patterns():
    # the piece path splits with str.split(); the token patterns and the gap test use \s:
    # they must agree on every character that survives cleaning
    import regex

    pattern_space = regex.compile(r"\s", preprocess._FLAGS)
    gap_space = re.compile(r"\s")
    for code in range(0x110000):
        char = chr(code)
        if 0xD800 <= code <= 0xDFFF or preprocess._CONTROL_RE.match(char):
            continue  # never in a cleaned post
        in_pattern = bool(pattern_space.match(char))
        assert char.isspace() == in_pattern, hex(code)
        assert bool(gap_space.match(char)) or not in_pattern, hex(code)


def test_platform_hint_finds_every_platform_handle():
    # the cheap hint must fire wherever the handle rule can match (any case, Kelvin sign too)
    import regex

    last_letters = regex.compile(r"(?i)[ptckgamhnld]")
    hint_class = re.compile(f"[{preprocess._PLATFORM_NAME_ENDS}]")
    for code in range(0x110000):
        char = chr(code)
        if last_letters.fullmatch(char):
            assert hint_class.fullmatch(char), hex(code)
    for text in ["Snapchat: jodoe", "IG - jo.doe", "KIK:jodoe", "tiktok- x_y", "PSN\t: gamer1",
                 "gamerTAG: abc", "discord:abc", "insta: jo", "INSTAGRAM - jo", "xbl: jo", "sc: jo"]:
        assert preprocess._PLATFORM_HANDLE_RE.search(text), text
        assert preprocess._PLATFORM_HINT_RE.search(text), text


@pytest.mark.slow
def test_pieces_give_the_tokens_of_the_whole_post_on_the_corpus(corpus_tokens):
    # the tokens of every post (tokenize: piece by piece, from the piece cache) equal one pass of
    # the token pattern over the whole cleaned post; every fifth post under the fast profile
    from properties import examples

    preprocessor, stride = Preprocessor(), 1 if examples(1) > 1 else 5
    for texts, tokens in corpus_tokens.values():
        for text, got in zip(texts[::stride], tokens[::stride]):
            cleaned = preprocessor._clean(text)
            assert got == ([] if cleaned is None else preprocessor._tokenize_span(cleaned)), text


# --- equivalence with nltk's TweetTokenizer ----------------------------------------------


def test_tokeniser_does_not_import_nltk():
    code = "import sys, tonecls.preprocess; sys.exit('nltk' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.slow
def test_tokens_equal_version_1_except_handles(corpus_tokens):
    # every TweetEval / GoEmotions post gives exactly the tokens of the nltk-based tokeniser
    # of version 1 (hashes in tests/fixtures, see make_tokeniser_v1_hashes.py), except posts a
    # version-2 handle rule applies to, which only gain <user> tokens
    from tokeniser_corpus import digest, touched_by_handle_rules

    expected = json.loads((FIXTURES / "tokeniser_v1_hashes.json").read_text())
    assert sorted(corpus_tokens) == sorted(expected)
    for name, (texts, tokens) in corpus_tokens.items():
        touched = touched_by_handle_rules(texts)
        assert (len(texts), sum(touched)) == (expected[name]["posts"], expected[name]["touched"]), name
        kept = [t for t, skip in zip(tokens, touched) if not skip]
        assert digest(kept) == expected[name]["sha256"], name


# posts where a deliberate difference from nltk may apply (see the module docstring)
_DELIBERATE = re.compile(r"[&\[\]^_<>]|\d|\w\.[A-Z]|@\w+\.\w")


def test_raw_tokens_equal_nltk_tweet_tokenizer_on_tweets():
    if not (DATA_DIR / "tweeteval").is_dir():
        pytest.skip(f"TweetEval not found in {DATA_DIR}")
    lines = []
    for task in ("emotion", "sentiment", "hate", "irony"):
        lines += (DATA_DIR / "tweeteval" / task / "train_text.txt").read_text("utf-8").splitlines()
    sample = random.Random(0).sample(lines, 4000)
    nltk_tokenizer, preprocessor = TweetTokenizer(), Preprocessor()
    compared = 0
    for post in sample:
        text = preprocessor._clean(post)  # entities, invisibles, NFKC: deliberate
        if _DELIBERATE.search(post):
            continue
        compared += 1
        assert preprocessor._raw_tokens(post) == nltk_tokenizer.tokenize(text), post
    assert compared > 1500


# --- properties --------------------------------------------------------------------------


_any_post = st.one_of(
    st.text(), st.none(), st.floats(allow_nan=True), st.integers(), st.binary(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50).map(str.encode),
    st.lists(st.integers(), max_size=2), st.booleans(), st.just(pd.NA),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_any_post, max_size=12))
def test_any_batch_keeps_one_entry_per_post(posts):
    tokens, statuses = tokenize_with_status(posts)
    assert len(tokens) == len(statuses) == len(posts)
    for post_tokens, status in zip(tokens, statuses):
        assert status in set(Status)
        assert isinstance(post_tokens, list)
        assert all(isinstance(token, str) and token for token in post_tokens)
        assert not any(len(token.split()) != 1 for token in post_tokens)  # no whitespace
        assert bool(post_tokens) == (status == Status.OK)
    assert tokens == [tokenize([post])[0] for post in posts]  # independent of the batch


# characters where the tokeniser's alternatives meet: PII, emoticons, emoji, numbers
_TRICKY = st.text(alphabet="aAbxDPT.:/@#_-'\"()<>[];=8 01\u200d\ufe0f😀🏽🇫ⓂⅠ…&+,!?w", max_size=60)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), _TRICKY))
def test_kind_of_a_token_does_not_depend_on_its_context(text):
    # tokens are classified in isolation (and cached); it must agree with the context
    preprocessor = Preprocessor()
    cleaned = preprocessor._clean(text)
    if cleaned is None:
        return
    cleaned = preprocess._HANG_RE.sub(r"\1\1\1", cleaned)
    in_context = [(m.group(), preprocess._KIND_OF_GROUP[m.lastindex])
                  for m in preprocess._KIND_RE.finditer(cleaned)]
    isolated = preprocess._TOKEN_RE.findall(cleaned)
    assert [token for token, _ in in_context] == isolated
    for token, kind in in_context:
        match = preprocess._KIND_RE.fullmatch(token)
        alone = preprocess._KIND_OF_GROUP[match.lastindex] if match else "text"
        assert alone == kind or {alone, kind} <= {"text", "number"}, (token, kind, alone)


_SPACED = st.text(alphabet="a.5-*()+ \t\n:@x#😀", max_size=40)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=120), _TRICKY, _SPACED))
def test_pieces_give_the_tokens_of_the_whole_post(text):
    preprocessor = Preprocessor()
    cleaned = preprocessor._clean(text)
    if cleaned is None:
        return
    whole = preprocessor._tokenize_span(cleaned)
    assert preprocessor._tokenize_clean(cleaned) == whole
    assert preprocessor._tokenize_clean(cleaned) == whole  # from the caches


_label = st.from_regex(r"[a-z][a-z0-9]{1,10}", fullmatch=True)


_email = st.builds("{}{}@{}.{}".format, st.from_regex(r"[a-z][a-z0-9]{2,8}", fullmatch=True),
                   st.sampled_from(["", ".x", "_y", "+tag", "-z"]), _label,
                   st.sampled_from(["com", "org", "co.uk", "io", "de"]))


_url = st.builds("{}{}.{}{}".format, st.sampled_from(["http://", "https://", "www.", "HTTPS://"]),
                 _label, st.sampled_from(["com", "org", "net", "co"]),
                 st.sampled_from(["", "/", "/a/b?c=1&d=2", "/path_(x)", "/~user/page.html"]))


_phone = st.builds(
    "{}{}{}{}{}{}".format, st.sampled_from(["", "+1 ", "1-", "(", "+44 "]),
    st.from_regex(r"[2-9][0-9]{2}", fullmatch=True), st.sampled_from([") ", "-", ".", " "]),
    st.from_regex(r"[0-9]{3}", fullmatch=True), st.sampled_from(["-", ".", " "]),
    st.from_regex(r"[0-9]{4}", fullmatch=True))


_handle = st.builds("@{}".format, st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,14}", fullmatch=True))


_SURVIVING_PII = re.compile(r"@\w|\w@|://|www\.|\d{5}", re.I)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=20)), st.lists(st.one_of(_email, _url, _phone, _handle),
                                                   min_size=1, max_size=4), st.randoms())
def test_no_personal_data_survives(words, personal, rnd):
    pieces = words + personal
    rnd.shuffle(pieces)
    tokens = toks(" ".join(pieces))
    joined = " ".join(tokens)
    for value in personal:
        assert value.lower() not in joined.lower()
    # adjacent phone numbers may merge into one <phone>: count at least one marker
    assert {"<email>", "<url>", "<phone>", "<user>"} & set(tokens)
    assert not any(_SURVIVING_PII.search(token) and not _is_emoticon(token) for token in tokens), tokens


def _is_emoticon(token: str) -> bool:
    """Emoticons such as "8@" or ":@" hold an "@" but no personal data."""
    match = preprocess._KIND_RE.fullmatch(token)
    return bool(match) and preprocess._KIND_OF_GROUP[match.lastindex] == "emoticon"


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_tokens_are_stable_across_calls_and_instances(text):
    first = Preprocessor()
    assert first.tokenize([text]) == first.tokenize([text]) == Preprocessor().tokenize([text])


def test_nan_is_missing_not_text():
    assert tokenize_with_status([math.nan, -math.inf])[1] == [Status.MISSING, Status.NOT_TEXT]
