"""The vendored patterns of nltk's casual tokeniser (tonecls._nltk_casual) equal nltk's."""

from __future__ import annotations

import pytest


def test_vendored_patterns_equal_nltk():
    # tonecls does not import nltk (4 s); its copy of nltk's casual patterns must not drift
    casual = pytest.importorskip("nltk.tokenize.casual")
    from tonecls import _nltk_casual

    assert _nltk_casual.EMOTICONS == casual.EMOTICONS
    assert _nltk_casual.URLS == casual.URLS
    assert _nltk_casual.PHONE_REGEX == casual.PHONE_REGEX
    assert _nltk_casual.ARROWS == casual.REGEXPS[3]
    assert _nltk_casual.WORDS == casual.REGEXPS[9]
    assert _nltk_casual.HANG_RE.pattern == casual.HANG_RE.pattern
    for text in ["&amp; &lt;3 &#128512; &#x1F600; &#150; &#129; &nosuch; &#99999999; &pound;"]:
        assert _nltk_casual.replace_html_entities(text) == casual._replace_html_entities(text)
