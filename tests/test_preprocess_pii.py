"""Personal data never reaches the tokens, at any length and in its obfuscated forms.

Random posts of filler text (no "q", "z" or digits) embed personal data whose every piece
holds "qz" (e-mail addresses, obfuscated ones, URLs, handles) or digits (phone numbers) at
random positions; posts are cut at random lengths, so the data often straddles the cut. No
token may hold a "q", a "z" or a digit. The example counts follow the Hypothesis profile.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from properties import examples
from support import hang_guard

from tonecls.preprocess import PreprocessConfig, Preprocessor, tokenize

LETTERS = "abcdefghijklmnoprstuvwxy"  # no q, z
FILLER_WORD = st.one_of(
    st.text(alphabet=LETTERS + LETTERS.upper(), min_size=1, max_size=8),
    st.sampled_from(["the", "at", "dot", "com", "look", "this", "@", "[", "]", "(", ")", ":", "!", "...",
                     "😂", "👍🏽", "#tbt", "é", "&amp;", ":)"]),
)
SEPARATORS = st.sampled_from([" ", "  ", "\n", "\t", ", ", ". ", " (", ") ", "! ", " - "])
SECRET = st.text(alphabet="abcdefghijklmnop0123456789", min_size=1, max_size=10).map(lambda s: "qz" + s)
TLDS = st.sampled_from(["com", "net", "org", "io", "co", "uk", "de", "info"])  # no z in them


def _name(draw) -> str:
    return draw(SECRET) + draw(st.sampled_from(["", ".", "_", "+", "-"])) + draw(st.sampled_from(["", "qzx"]))


@st.composite
def emails(draw) -> str:
    return f"{_name(draw)}@{draw(SECRET)}.{draw(TLDS)}"


@st.composite
def obfuscated_emails(draw) -> str:
    at = draw(st.sampled_from([" at ", " AT ", " [at] ", "[at]", " (at) ", "(at)", " {at} ", " <at> ", " @ ",
                               "@ ", " [@] ", "(@)"]))
    dot = draw(st.sampled_from([" dot ", " DOT ", " [dot] ", "[dot]", " (dot) ", "(dot)", " {dot} ", "."]))
    if at.strip().lower() == "at" and dot == ".":
        dot = " dot "  # bare "at" and a real dot: only for mail providers (below)
    name = _name(draw).rstrip(".+-_")
    return f"{name}{at}{draw(SECRET)}{dot}{draw(TLDS)}"


@st.composite
def personal_data(draw) -> str:
    kind = draw(st.sampled_from(["email", "obfuscated", "url", "handle", "phone", "provider"]))
    if kind == "email":
        return draw(emails())
    if kind == "obfuscated":
        return draw(obfuscated_emails())
    if kind == "provider":
        return f"{draw(SECRET)} at {draw(st.sampled_from(['gmail', 'yahoo', 'hotmail', 'outlook']))}.com"
    if kind == "url":
        scheme = draw(st.sampled_from(["https://", "http://", "www.", "https://www."]))
        return f"{scheme}{draw(SECRET)}.{draw(TLDS)}/{draw(SECRET)}?{draw(SECRET)}=1"
    if kind == "handle":
        return draw(st.sampled_from(["@", "u/", "/u/"])) + draw(SECRET)
    digits = st.text(alphabet="0123456789", min_size=2, max_size=4)
    country = draw(st.text(alphabet="0123456789", min_size=1, max_size=3))
    return "+" + country + "".join(draw(st.sampled_from([" ", "-", "."])) + draw(digits) for _ in range(3))


@st.composite
def posts(draw) -> str:
    pieces = draw(st.lists(st.one_of(FILLER_WORD, personal_data()), min_size=1, max_size=12))
    if not any("qz" in p or p.startswith("+") for p in pieces):
        pieces.insert(draw(st.integers(0, len(pieces))), draw(personal_data()))
    text = ""
    for piece in pieces:
        text += piece + draw(SEPARATORS)
    return text


def _leaks(tokens: list[str]) -> list[str]:
    return [t for t in tokens if any(c in t.lower() for c in "qz0123456789")]


@settings(max_examples=examples(30))
@given(post=posts())
@example(post="A A A A : qz0 @ qz0 dot com ")  # an Instagram credit's " : name @ " before a domain
def test_personal_data_never_becomes_tokens(post):
    assert _leaks(tokenize([post])[0]) == [], post


@settings(max_examples=examples(30))
@given(data=st.data(), post=posts())
def test_personal_data_straddling_the_cut_never_becomes_tokens(data, post):
    """Filler before the post puts its personal data across the cut of a small max_chars."""
    max_chars = data.draw(st.integers(20, 400))
    pad = data.draw(st.sampled_from(["x", "😂", "ab ", "a.b,", "x" * 7 + " "]))
    lead = data.draw(st.integers(0, max_chars + 20))
    before = (pad * (lead // len(pad) + 1))[:lead]
    glue = " " if before[-1:].isalnum() else ""  # "xu/name" is no Reddit handle, "xjane at ..." not Jane's
    long_post = before + glue + post + data.draw(st.sampled_from(["", " tail", "x" * 500]))
    tokens = Preprocessor(PreprocessConfig(max_chars=max_chars)).tokenize([long_post])[0]
    assert _leaks(tokens) == [], (max_chars, long_post)
    assert len(" ".join(tokens)) <= 10 * max_chars + 50  # still cut


def test_an_address_across_the_default_cut_without_whitespace_is_scrubbed():
    post = "😂a" * 4995 + "jane.doe@gmail.com and more"  # (a run of one emoji counts as three)
    assert tokenize([post])[0][-2:] == ["😂", "<email>"]  # not "ajane", ".", "doe", "@gmail"
    post = "x " * 4997 + "+44 20 7946 0958 and jane at gmail dot com"
    assert "gmail" not in tokenize([post])[0] and "jane" not in tokenize([post])[0]


@pytest.mark.parametrize("run", ["1", "x", "1.", "-1", "a@", "ab@c", "a.", "😂"])
def test_a_long_post_without_whitespace_is_cut_in_one_pass(run):
    """Scrubbing the cut of a 60,000-character post without whitespace scans it once (a
    regular expression of the personal-data patterns alone retried at every position and
    hung there); the guard turns a regression into a failure instead of a stuck suite."""
    post = run * (60_000 // len(run)) + " jane.doe@gmail.com"
    with hang_guard(20, "tokenising one long post"):
        tokens, status = Preprocessor().tokenize_post(post)
    assert status == "ok" and tokens and len("".join(tokens)) <= 10_000
    assert not [t for t in tokens if "jane" in t or "gmail" in t]


@pytest.mark.parametrize("post", [
    "jane at gmail dot com", "Jane [at] gmail [dot] com", "jane(at)gmail(dot)com", "jane {at} mail.org",
    "jane @ gmail.com", "jane@gmail dot com", "jane at gmail.com", "JANE AT GMAIL DOT COM",
    "jane dot doe at gmail dot co dot uk", "jane (at) mail (dot) co (dot) uk", "jo.doe [@] x.org",
])
def test_obfuscated_email_forms_are_emails(post):
    assert tokenize([f"write to {post} now"])[0] == ["write", "to", "<email>", "now"]


@pytest.mark.parametrize("post", [
    "look at this dot com bubble", "tickets at ticketmaster.com", "meet me at home dot com",
    "great day @ St.Albans", "#litradioshow @ Blis.fm Studio", "thanks @jane.doe", "at home at last",
    "the dot com era",
])
def test_prose_near_at_and_dot_is_not_an_email(post):
    assert "<email>" not in tokenize([post])[0]
