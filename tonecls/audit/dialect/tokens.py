"""The tokeniser of the TwitterAAE vocabulary: ``twokenize``'s token boundaries (ARK TweetNLP)
rebuilt on NLTK's ``TweetTokenizer``.

Lowercased tokens, punctuation runs such as ``!!!`` kept whole, and no split inside text glued
without whitespace (``lol😂``, ``w/``, ``40%``); @-handles and URLs removed (the vocabulary has
none). Every token is located in the text and what ``twokenize`` keeps together is re-joined.
Agreement with twokenize is measured by ``python -m benchmarks.bench_dialect --twokenize``
(BENCHMARKS.md, dialect inference).
"""

from __future__ import annotations

import html

from nltk.tokenize import TweetTokenizer
from nltk.tokenize.casual import EMOTICON_RE, HANG_RE, URLS, remove_handles

__all__ = ["tokenize_for_dialect"]

# Handles are removed (NLTK's remove_handles) and HTML entities unescaped before tokenising, so
# that every token can be located in the text that was tokenised.
_TWEET_TOKENIZER = TweetTokenizer(preserve_case=True, match_phone_numbers=False)
# twokenize's punctSeq: a run of one of these classes is one token ("!!!", "?!", "...", "''").
_PUNCT_CLASSES = (frozenset("'\"“”‘’"), frozenset(".?!,…"), frozenset(":;"))
_CHAR_CLASS = {ch: index for index, chars in enumerate(_PUNCT_CLASSES) for ch in chars}
# twokenize also cuts at separators and its "decorations"; edge punctuation (brackets, "*", "&")
# and typographic apostrophes only at the edge of a word ("p*ssy", "don’t" stay whole). Anything
# else glued without whitespace stays one token ("emily4", "w/", "40%", "lol😂").
_CUTTING_CHARS = frozenset(_CHAR_CLASS) | frozenset("=~—–―♫♪★☆♥❤♡☹☺☻")
_INFIX_CHARS = frozenset("’′()[]{}*&«»")
_URL_RE = None


def _is_url(token: str) -> bool:
    global _URL_RE
    if "." not in token and "/" not in token:
        return False
    if _URL_RE is None:
        import regex

        _URL_RE = regex.compile(URLS, regex.VERBOSE | regex.I | regex.UNICODE)
    return _URL_RE.fullmatch(token) is not None


def _punct_class(token: str) -> int:
    """Index of the twokenize punctuation class all of ``token``'s characters belong to, or -1."""
    cls = _CHAR_CLASS.get(token[0], -1)
    if cls >= 0 and len(token) > 1 and any(_CHAR_CLASS.get(ch, -1) != cls for ch in token):
        return -1
    return cls


def _cuts(token: str) -> bool:
    """Whether twokenize keeps ``token`` apart from text glued to it."""
    if token.isalnum():  # fast path: most tokens are plain words
        return False
    return (
        all(ch in _CUTTING_CHARS or ch in _INFIX_CHARS or "\ue001" <= ch <= "\uebbb" for ch in token)
        or token[0] == "#"
        or EMOTICON_RE.fullmatch(token) is not None
    )


def _aligned_tokens(text: str) -> list[tuple[str | None, int, int]]:
    """NLTK's tokens of ``text`` with their start and end offsets; a run of one twokenize
    punctuation class becomes one token taken whole from ``text`` (NLTK splits "!!!" and
    shortens runs of 4+); URLs become ``None``."""
    aligned: list[tuple[str | None, int, int]] = []
    position = skip = 0
    run_class = -1
    for token in _TWEET_TOKENIZER.tokenize(text):
        if skip and len(token) <= skip and _punct_class(token) == run_class:
            skip -= len(token)  # the rest of a punctuation run already taken whole
            continue
        skip = 0
        start = text.find(token, position)
        if start < 0:  # not found verbatim (NLTK normalised it): keep it, glued to nothing
            aligned.append((token, -1, -1))
            continue
        end = start + len(token)
        if token[0] == "." and any(ch.isspace() for ch in token):  # NLTK's ". . .": separate dots
            aligned.extend((part, start + offset, start + offset + 1) for offset, part in enumerate(token)
                           if not part.isspace())
            position, run_class = end, -1
            continue
        run_class = _punct_class(token) if token[0] in _CHAR_CLASS else -1
        if run_class >= 0:
            while end < len(text) and _CHAR_CLASS.get(text[end]) == run_class:
                end += 1
            run = text[start:end]
            shortened = HANG_RE.sub(r"\1\1\1", run) if len(run) > 3 else run  # as NLTK saw it
            skip = len(shortened) - len(token)
            token = run
        position = end
        aligned.append((None if _is_url(token) else token, start, end))
    return aligned


def tokenize_for_dialect(text: str) -> list[str]:
    """Lowercased Twitter tokens matching the TwitterAAE vocabulary (handles and URLs removed).

    NLTK's ``TweetTokenizer`` tokens, re-joined where ``twokenize`` (the tokenizer the model
    was trained with) keeps text together: punctuation runs, text glued without whitespace
    ("emily4", "w/", "40%") and words with a typographic apostrophe ("don’t").

    >>> tokenize_for_dialect("@bob Wow!!!! he don’t know... http://t.co/x :) emily4 w/")
    ['wow', '!!!!', 'he', 'don’t', 'know', '...', ':)', 'emily4', 'w/']
    """
    # as twokenize's normalizeTextForTagger: "&amp;" first (double-escaped text), then entities
    text = remove_handles(html.unescape(text.replace("&amp;", "&")))
    aligned = _aligned_tokens(text)
    merged: list[str] = []
    previous_end, previous_cuts = -1, True
    index, n_tokens = 0, len(aligned)
    while index < n_tokens:
        token, start, end = aligned[index]
        index += 1
        if token is None:  # a URL: dropped, and nothing is glued across it
            previous_end = -1
            continue
        cuts = _cuts(token)
        glued = start >= 0 and start == previous_end
        if (glued and not previous_cuts and index < n_tokens and token[0] in _INFIX_CHARS
                and all(ch in _INFIX_CHARS for ch in token)):
            following, following_start, following_end = aligned[index]
            if following is not None and following_start == end and not _cuts(following):
                merged[-1] += token + following  # inside a word: "don’t", "p*ssy"
                previous_end = following_end
                index += 1
                continue
        if glued and not cuts and not previous_cuts:
            merged[-1] += token
            previous_end = end
            continue
        merged.append(token)
        previous_end, previous_cuts = end, cuts
    return [token.lower() for token in merged]
