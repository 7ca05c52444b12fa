"""The TwitterAAE tokeniser (tonecls.audit.dialect.tokens): twokenize's conventions, never failing."""

from __future__ import annotations

import pytest

from tonecls.audit.dialect import tokenize_for_dialect


@pytest.mark.parametrize(
    "text, expected",
    [
        ("@bob Wow!!! he don’t know... http://t.co/x :) #Lit ?!",
         ["wow", "!!!", "he", "don’t", "know", "...", ":)", "#lit", "?!"]),
        ("no ! !", ["no", "!", "!"]),  # punctuation separated by spaces stays separate
        ("so good!!!!!! .....", ["so", "good", "!!!!!!", "....."]),  # runs kept whole, not shortened
        ("lol😂😂 w/ emily4 40% p*ssy", ["lol😂😂", "w/", "emily4", "40%", "p*ssy"]),  # glued text
        ("(hello) grandpa’ &amp; you", ["(", "hello", ")", "grandpa", "’", "&", "you"]),
        ("a . . . b", ["a", ".", ".", ".", "b"]),
        ("", []),
    ],
)
def test_tokenizer_matches_twokenize_conventions(text, expected):
    assert tokenize_for_dialect(text) == expected


def test_tokenizer_never_fails_and_tokens_come_from_the_text():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    alphabet = st.sampled_from([*"ab1 .!?,:;'\"’()*&#@/-=~😂❤\n\t", "http://t.co/x ", "&amp;", ":)", "don’t"])

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(st.lists(alphabet, max_size=40).map("".join))
    def check(text):
        tokens = tokenize_for_dialect(text)
        squeezed = "".join(text.lower().split()).replace("&amp;", "&")
        for token in tokens:
            assert token and not any(ch.isspace() for ch in token)
            assert token in squeezed

    check()
