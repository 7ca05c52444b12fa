r"""Raw social media posts -> model tokens, with personal data scrubbed.

The tokeniser is nltk's social-media tokeniser (:class:`nltk.tokenize.TweetTokenizer`, whose
patterns are vendored in :mod:`tonecls._nltk_casual`, so that nltk is not imported) compiled
into ONE pattern, with the personal-data patterns placed first, and a single ``findall`` pass
per post. Each token is then normalised (and the normalisation is cached per distinct token):

==========================================  ==============================================
raw                                         tokens
==========================================  ==============================================
``@bob``, ``@user`` (TweetEval)             ``<user>``
``u/jo_doe``, ``/u/spez``, ``jo#1234``      ``<user>`` (Reddit users, Discord-style tags)
``photo : jo.doe @ LA``, ``snapchat: jo``   ``<user>`` (Instagram credits, "platform: name")
``https://t.co/x``, ``www.x.org``, ``x.com``  ``<url>``
``jo.doe@mail.com``                         ``<email>``
``jo [at] x [dot] com``, ``jo @ x.com``     ``<email>`` (also ``jo at gmail dot com``, ``(at)``)
``+1 (555) 123-4567``, ``+44 20 7946 0958``  ``<phone>``
``42``, ``3.5``, ``12:30``, ``1,000,000``    ``<number>`` (also words with 5+ digits in a row)
``[NAME]``, ``[RELIGION]`` (GoEmotions)     ``<name>``, ``<religion>``
``#FirstWorldProblems``                     ``<hashtag> first world problems``
``SOOOO``                                   ``soo <elong> <allcaps>``
``:-(``, ``<3``, ``xD``, ``^_^``            kept as they are (case too: ``:D`` vs ``:p``)
``👍🏽``, ``👩‍👩‍👧``, ``🇫🇷``, ``❤️``              one token per emoji (variation selectors dropped)
``don't``, ``can’t``                        ``don't``, ``can't``
``…``, ``. . .``                            ``...``
==========================================  ==============================================

Stop words and negations are kept: they flip sentiment. A token never contains whitespace.

Before tokenising, HTML entities are decoded, obfuscated e-mail addresses become ``<email>``,
a post longer than :attr:`PreprocessConfig.max_chars` characters (10,000 by default) is cut
(at whitespace when there is some near the end, and only after the personal data near the cut
became its markers, so that no piece of an address cut in two becomes a token), control and
invisible characters are removed (zero-width joiners only where they join emoji), curly
apostrophes become ``'``, a literal ``\n`` (backslash-n, left by some exports) is a line
break, and the text is Unicode-normalised (NFKC by default: fullwidth and "fancy" mathematical
letters become plain letters) except for emoji, which are kept intact.

Deliberate differences from ``TweetTokenizer().tokenize`` (before normalisation): personal data
patterns come first (e-mail before URL, phone numbers with a ``+`` country code, no phone match
inside a longer run of digits); numbers with several separators (``1,000,000``, ``24/11/2026``)
are one token; an emoji is one extended grapheme cluster (nltk splits ``❤️`` and ``🏳️‍🌈``);
``xD``, ``XP``, ``^_^``, ``-_-``, ``o_O``, ``T_T``, ``>_<`` are emoticons; ``[NAME]``-style
placeholders are one token; ``’`` is an apostrophe (nltk splits ``don’t``); ``today.The`` is
two words, not a domain; HTML tags are only ``<b>``-like (nltk's ``<[^>\s]+>`` would keep
``<jo@x.com>``); handles may contain dots (``@jo.doe``).

Bad input never raises from the batch functions: each post gets a status, :data:`Status.OK`
or the reason it has no tokens (:data:`Status.MISSING`, :data:`Status.NOT_TEXT`,
:data:`Status.INVALID_ENCODING`, :data:`Status.EMPTY`).

>>> tokenize(["@user I can't believe it!!! #FirstWorldProblems :( http://t.co/x"])
[['<user>', 'i', "can't", 'believe', 'it', '!', '!', '!', '<hashtag>', 'first', 'world', 'problems', ':(', '<url>']]
"""

from __future__ import annotations

import math
import numbers
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from typing import Any

import regex

from tonecls import _nltk_casual as casual
from tonecls._memo import BoundedMemo
from tonecls.errors import InputError
from tonecls.schema import Status

__all__ = [
    "PreprocessConfig",
    "Preprocessor",
    "tokenize",
    "tokenize_with_status",
    "tokenize_file",
    "TokenizeJob",
    "SPECIAL_TOKENS",
]

# --- statuses ----------------------------------------------------------------------------


# --- marker tokens -----------------------------------------------------------------------

USER = "<user>"
URL = "<url>"
EMAIL = "<email>"
PHONE = "<phone>"
NUMBER = "<number>"
HASHTAG = "<hashtag>"
ALLCAPS = "<allcaps>"
ELONG = "<elong>"
SPECIAL_TOKENS = (USER, URL, EMAIL, PHONE, NUMBER, HASHTAG, ALLCAPS, ELONG)

TOKENIZER_VERSION = 2  # bump whenever what the tokens mean changes
# Versions whose models this tokeniser serves: version 2 only turns more handles (Reddit,
# Discord, Instagram cross-posts, "snapchat: name") into <user>, a token every version-1
# vocabulary has, so version-1 models are tokenised by the version-2 rules.
COMPATIBLE_VERSIONS = (1, 2)


# --- configuration -----------------------------------------------------------------------


@dataclass(frozen=True)
class PreprocessConfig:
    """How posts are turned into tokens; saved in model bundles (``to_dict``/``from_dict``).

    Personal data (handles, URLs, e-mails, phone numbers, numbers) is always replaced: there
    is deliberately no option to keep it.

    Parameters
    ----------
    lowercase : bool, default=True
        Case-fold words (emoticons keep their case).
    mark_allcaps : bool, default=True
        Follow a shouted word of 2+ letters (``WOW``) by ``<allcaps>``.
    reduce_elongation : bool, default=True
        Shorten letters repeated 3+ times to 2 (``soooo`` -> ``soo``) and follow the word
        by ``<elong>``. A word of exactly three identical letters (``KKK``, ``www``, ``III``)
        is kept as it is.
    split_hashtags : bool, default=True
        ``#FirstWorldProblems`` -> ``<hashtag> first world problems`` (camelCase and digits);
        if False, ``<hashtag> firstworldproblems``.
    unicode_form : {"NFKC", "NFC"}, default="NFKC"
        Unicode normalisation of the text (emoji are never changed).
    max_chars : int, default=10_000
        Posts are cut to this many characters before tokenising (at the last whitespace
        if there is some in the last tenth, or the last 100 characters; personal data near
        the cut is replaced by its marker first, so it is never cut into leaky pieces), so
        that one huge post cannot blow up time or memory (a tweet has at most 280
        characters, a Reddit comment 10,000). Such posts still have status ``"ok"``.
    version : int
        Version of the tokenisation rules the configuration was made with.
    """

    lowercase: bool = True
    mark_allcaps: bool = True
    reduce_elongation: bool = True
    split_hashtags: bool = True
    unicode_form: str = "NFKC"
    max_chars: int = 10_000
    version: int = TOKENIZER_VERSION

    def __post_init__(self) -> None:
        for name in ("lowercase", "mark_allcaps", "reduce_elongation", "split_hashtags"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"PreprocessConfig.{name} must be True or False, "
                                 f"got {getattr(self, name)!r}")
        if self.unicode_form not in ("NFKC", "NFC"):
            raise InputError(f"PreprocessConfig.unicode_form must be 'NFKC' or 'NFC', "
                             f"got {self.unicode_form!r}")
        if isinstance(self.max_chars, bool) or not isinstance(self.max_chars, int) \
                or self.max_chars < 1:
            raise InputError(f"PreprocessConfig.max_chars must be a positive integer, "
                             f"got {self.max_chars!r}")
        if self.version not in COMPATIBLE_VERSIONS:
            raise InputError(
                f"PreprocessConfig.version {self.version!r} is not supported by this tonecls "
                f"(it implements tokenisation version {TOKENIZER_VERSION}); use the tonecls "
                "release the model was trained with, or retrain the model.")

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain JSON-serialisable data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> PreprocessConfig:
        """Rebuild a configuration from :meth:`to_dict` output (missing keys take defaults)."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(
                f"unknown preprocessing option(s) {unknown}; known options are {sorted(known)}. "
                "The configuration was probably written by a newer tonecls: upgrade tonecls.")
        return cls(**data)

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> PreprocessConfig:
        """Read a JSON object of options, or a model bundle's ``bundle.json`` (its
        ``preprocess`` entry: tokenise as that model does)."""
        import json

        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError) as error:
            raise InputError(f"cannot read the preprocessing config {path}: {error}") from None
        if isinstance(data, dict) and isinstance(data.get("preprocess"), dict):
            data = data["preprocess"]  # a model bundle's bundle.json
        if not isinstance(data, dict):
            raise InputError(f"{path} must hold a JSON object of preprocessing options")
        return cls.from_dict(data)


# --- patterns ----------------------------------------------------------------------------

_FLAGS = regex.VERBOSE | regex.IGNORECASE | regex.UNICODE

_EMAIL = r"(?<![\w.+-])[\w.+-]++@[\w-]{1,63}\.(?:[\w-]\.?){1,251}[\w-]"
_PHONE = rf"""(?<!\d)(?:
    \+\d{{1,3}}(?:[ .\-]?\(?\d{{1,4}}\)?){{2,5}}   # international: +44 20 7946 0958
    |
    {casual.PHONE_REGEX}                           # North American (nltk)
)(?!\d)"""
_HANDLE = r"@\w+(?:[.\-]\w+)*"  # also handles with dots or hyphens (@jo.doe, Bluesky's @jo-doe.bsky.social)
_HTML_TAG = r"</?[a-z][a-z0-9]*/?>"  # nltk's <[^>\s]+> would keep "<jo@x.com>", "<@U123>"
_PLACEHOLDER = r"(?-i:\[[A-Z]{2,20}\])"  # [NAME], [RELIGION] (GoEmotions masks)
_EXTRA_EMOTICONS = r"""(?-i:
    [xX][DP]+(?![^\W\d_])           # xD XD xP, not the start of a word (XDD0 is XDD 0 as XDD alone)
    | \^_*\^ | -_+- | [oO0]_[oO0] | [tT]_[tT](?![^\W\d_]) | >_< | ¯\\_\(ツ\)_/¯
)"""
_EMOJI = r"""(?:
    [0-9\#*]\u20e3                                                  # keycaps
    |
    (?=[\p{Extended_Pictographic}\p{Regional_Indicator}\p{Emoji_Modifier}])\X
)"""
_NUMBER = r"[+\-]?\d+(?:[,/.:\-]\d+)+[+\-]?"
_HASHTAG = r"\#+[\w_]+[\w'_\-]*[\w_]+"  # as nltk

# Emoji that are also letters (ℹ, Ⓜ, 🅰, 🅱, 🅾, 🅿): not the start of a word, so that a token's
# kind never depends on what follows it
_LETTER_EMOJI = r"[\u2139\u24c2\U0001F170\U0001F171\U0001F17E\U0001F17F]"

# A word of letters (with inner ' or -) ending where no other alternative could go on: most
# tokens of a post. Tried first, it spares them the personal-data alternatives; it matches
# exactly the tokens nltk's word alternatives would (checked by the tests). Not before ; : =
# 8 (emoticons "D;"), nor before "." + letter (domains).
_PLAIN_WORD = rf"""(?-i:(?![xX][DP]+\b))(?!{_LETTER_EMOJI})[^\W\d_]+(?:['\-][^\W\d_]+)*(?=\s|$|[,!?")]|\.(?:\s|$))"""

# "today.The": a missing space after a full stop, not the domain nltk's URL pattern sees
_JOINED_SENTENCE = rf"""(?-i:(?!{_LETTER_EMOJI})[^\W\d_]+(?=\.\p{{Lu}}\p{{Ll}}+(?![\w.\-/@])))"""

# (kind, pattern) alternatives in order of priority: personal data first (after the plain
# words, which cannot be personal data), then nltk's components
_TOKEN_PATTERNS = (
    ("text", _PLAIN_WORD),
    ("email", _EMAIL),
    ("text", _JOINED_SENTENCE),
    ("url", casual.URLS),
    ("phone", _PHONE),
    ("user", _HANDLE),
    ("placeholder", _PLACEHOLDER),
    ("emoticon", casual.EMOTICONS),
    ("emoticon", _EXTRA_EMOTICONS),
    ("emoji", _EMOJI),
    ("hashtag", _HASHTAG),
    ("number", _NUMBER),
    ("text", "|".join((_HTML_TAG, casual.ARROWS, casual.WORDS))),  # arrows, words
)
# One findall pass per post (no groups: findall then returns plain strings, much faster than
# finditer); a token's kind is found again, once per distinct token, by _KIND_RE, where each
# alternative is one capturing group (match.lastindex -> kind).
_TOKEN_RE = regex.compile("|".join(f"(?:{pattern})" for _, pattern in _TOKEN_PATTERNS), _FLAGS)
_KIND_RE = regex.compile("|".join(f"({pattern})" for _, pattern in _TOKEN_PATTERNS), _FLAGS)
_KIND_OF_GROUP = (None, *(kind for kind, _ in _TOKEN_PATTERNS))
assert _TOKEN_RE.groups == 0 and _KIND_RE.groups == len(_TOKEN_PATTERNS)
_PERSONAL_KINDS = {"email": EMAIL, "url": URL, "phone": PHONE, "user": USER}

# Handles of other platforms, rewritten to " @user" before tokenising (cheaper than more
# alternatives in _TOKEN_RE, and a token's kind never depends on its neighbours):
# - Reddit users: u/name, /u/name (also after another slash: "lol/u/name"), 3+ name characters;
_REDDIT_USER_RE = regex.compile(r"(?<!\w)/?u/[\w\-]{3,}", _FLAGS)
# - Discord-style tags: name#1234 (2-32 name characters and a four-digit discriminator; not
#   after "/", where it is a URL's fragment);
_DISCORD_TAG_RE = regex.compile(r"(?<![\w#/])[^\W\d_][\w.]{1,31}\#\d{4}(?![\w#])", _FLAGS)
# - Instagram cross-posts "caption : jo.doe @ Los Angeles" (the author's handle before " @ place",
#   after " : ", or anywhere after a colon if it has a digit, "_" or "." - "mood: happy @ home"
#   is a caption);
# - a platform's name and a colon or dash: "snapchat: jodoe", "IG - jo.doe", "kik: jodoe".
_CREDIT_RE = regex.compile(r"""
    (?<=(?:^|\s):[ \t]{0,2})(?=[^\W\d])[\w.]{3,30}(?=[ \t]+@[ \t])                # " : jodoe @ place"
    | (?<=:[ \t]{0,2})(?=[^\W\d])(?=[\w.]*[_.\d])[\w.]{3,30}(?=[ \t]+@[ \t])  # "mind:jo_doe @ "
    """, _FLAGS)
#   Platforms whose names also start compounds ("twitter-account") take a colon only, and a
#   following ordinary word ("reddit: it is fun") is prose, not a name.
_PLATFORM_HANDLE_RE = regex.compile(r"""
    (?<!\w)((?:snap|snapchat|sc|kik|ig|insta|instagram|tiktok|twitch|psn|xbl|gamertag|discord)[ \t]?[:\-][ \t]{0,2}
    | (?:twitter|telegram|venmo|cashapp|facebook|fb|youtube|yt|bluesky|bsky|mastodon|reddit|skype|wechat)
      [ \t]?:[ \t]{0,2})(?P<at>@?)(?P<name>(?=[^\W\d])[\w.]{2,30})
    """, _FLAGS)
# cheap tests (stdlib re) of whether the rules above may apply at all
_DISCORD_HINT_RE = re.compile(r"\w#\d{4}")
# (a platform's name ends in one of these letters, or the Kelvin sign, which IGNORECASE
# matches as "k"; a case-sensitive class is much cheaper than the names with IGNORECASE)
_PLATFORM_NAME_ENDS = "ptckgamhnldrobeyPTCKGAMHNLDROBEY\u212a"
_PLATFORM_HINT_RE = re.compile(f"[{_PLATFORM_NAME_ENDS}][ \t]?[:\\-]")

# Obfuscated e-mail addresses, rewritten to " <email> " before tokenising:
# "jane [at] gmail [dot] com", "jane(at)gmail(dot)com", "jane {at} mail.org", "jane @ gmail.com"
# (not "jane @gmail.com": a handle),
# "jane@gmail dot com", "jane at gmail dot com", "jane at gmail.com" (bare "at" and a real dot:
# only for a known mail provider, since "tickets at ticketmaster.com" is prose). A bare "at"
# form is refused when the name or the domain is an ordinary word ("look at this dot com").
_MAIL_TLDS = ("com|net|org|edu|gov|mil|int|info|biz|io|co|me|us|uk|ca|au|de|fr|es|it|nl|be|ch|se|no|dk|"
              "fi|ie|pl|pt|br|mx|ar|in|jp|cn|ru|nz|za|eu|ai|app|dev|xyz")
_MAIL_PROVIDERS = ("gmail|googlemail|yahoo|ymail|hotmail|outlook|live|msn|aol|icloud|me|mac|protonmail|"
                   "proton|gmx|yandex|zoho|mail|comcast|verizon|att|btinternet|qq|163")
_AT_BRACKET = r"\s*[\[({<]\s*(?:at|@)\s*[\])}>]\s*"
_DOT_OBFUSCATED = r"(?:\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\s+dot\s+)"
_ANY_DOT = rf"(?:{_DOT_OBFUSCATED}|\.)"
_LABEL = r"[\w\-]{1,63}"
_TLD = rf"(?:{_MAIL_TLDS})(?![\w\-/?#=&%@])(?!\.\w)"  # not a URL's host: "x @ www.y.com/path"
_OBFUSCATED_EMAIL_RE = regex.compile(rf"""
    (?<![\w.+\-@#/])(?P<name>[\w+\-]+(?:{_ANY_DOT}[\w+\-]+){{0,3}})
    (?:
        (?:{_AT_BRACKET}|\s*@\s+) {_LABEL}(?:{_ANY_DOT}{_LABEL}){{0,3}}{_ANY_DOT}{_TLD}  # [at], " @ "
      | @{_LABEL}(?:{_ANY_DOT}{_LABEL}){{0,3}}{_DOT_OBFUSCATED}{_TLD}                 # jane@gmail dot com
      | \s+at\s+(?P<domain>{_LABEL})
        (?:(?:{_DOT_OBFUSCATED}{_LABEL}){{0,3}}{_DOT_OBFUSCATED}{_TLD}                 # at gmail dot com
          | (?<=(?:{_MAIL_PROVIDERS}))\.{_TLD}(?:\.{_TLD})?)                         # at gmail.com
    )""", _FLAGS)
# cheap tests (stdlib re, on the text and its lower case) of whether _OBFUSCATED_EMAIL_RE may
# match at all (see _may_hold_obfuscated_email)
_SPACED_AT_HINT_RE = re.compile(r"@\s+[\w\-]{1,63}(?:\.|\s*[\[({<]|\s+[dD][oO][tT]\s)")
_AT_HINT_RE = re.compile(rf"at\s*[\])}}>]|@\s*[\])}}>]|at\s+(?:{_MAIL_PROVIDERS})\.|@[\w\-.]+\s*[\[({{<]\s*\.")
# ordinary words that are not the name or domain of a bare-"at" address
_PROSE_WORDS = frozenset("""
    a an the this that these those my your our their his her its me us you him them it i we they he
    she who what which here there home work school out up back now more all some any one look
    looking looked check visit see find shop buy available tickets info details order live
    """.split())

_HANG_RE = casual.HANG_RE  # runs of 4+ identical non-alphanumerics -> 3 (as nltk)
_HANG_CHECK_RE = re.compile(r"(\W|_)\1\1\1")  # cheap test: may _HANG_RE change anything?
_ELONG_RE = regex.compile(r"([^\W\d_])\1{2,}")
_LONG_DIGITS_RE = regex.compile(r"\d{5,}")
_NUMBER_TOKEN_RE = regex.compile(r"[+\-]?\d[\d,/.:\-]*[+\-]?")
_HASHTAG_PART_RE = regex.compile(
    r"\p{Lu}+(?=\p{Lu}\p{Ll})|\p{Lu}?\p{Ll}+(?:'\p{Ll}+)*|\p{Lu}+(?:'\p{Lu}+)*|\d+|[^\W\d_]+")


def _invisible_ranges() -> str:
    """Character class body of the format (Cf) characters to drop, except ZWJ and tags."""
    keep = {0x200D} | set(range(0xE0020, 0xE0080))
    codes = [c for c in range(0x110000)
             if unicodedata.category(chr(c)) == "Cf" and c not in keep]
    codes += list(range(0xFE00, 0xFE10)) + list(range(0xE0100, 0xE01F0))  # variation selectors
    codes.sort()
    ranges, start, prev = [], codes[0], codes[0]
    for c in codes[1:] + [-1]:
        if c != prev + 1:
            ranges.append(f"\\U{start:08x}" if start == prev else f"\\U{start:08x}-\\U{prev:08x}")
            start = c
        prev = c
    return "".join(ranges)


# control characters -> space; invisible format characters, stray ZWJ and tag characters -> ""
_CONTROL_RE = regex.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_INVISIBLE_RE = regex.compile(
    "[" + _invisible_ranges() + "]"
    r"|\u200d(?![\p{Extended_Pictographic}\p{Emoji_Modifier}])"
    r"|(?<![\p{Extended_Pictographic}\p{Emoji_Modifier}\ufe0e\ufe0f])\u200d"
    r"|(?<![\U0001F3F4\U000E0020-\U000E007E])[\U000E0020-\U000E007F]"
)
_SURROGATE_RE = regex.compile(r"[\ud800-\udfff]")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'"})


def _nfkc_protected_chars() -> str:
    """Emoji that NFKC would change (``™`` -> ``TM``, ``‼`` -> ``!!``): kept as they are."""
    pictographic = regex.compile(r"\p{Extended_Pictographic}")
    chars = [chr(c) for c in (*range(0xA0, 0x3300), *range(0x1F000, 0x1F300))
             if pictographic.match(chr(c)) and unicodedata.normalize("NFKC", chr(c)) != chr(c)]
    return "".join(chars)


_NFKC_PROTECTED_RE = regex.compile("([" + regex.escape(_nfkc_protected_chars()) + "])")

_MAX_CACHE = 200_000  # distinct raw tokens kept in a Preprocessor's cache (then the older half goes)
_MAX_PIECE_CACHE = 200_000  # distinct whitespace-delimited pieces kept (likewise)
_MAX_CACHED_PIECE = 100  # characters: longer pieces (URLs, text without spaces) are not cached

# Two pieces of a post (split at whitespace) are tokenised independently unless a token can
# span the whitespace between them: only phone numbers ("555 123 4567", separators " *-.)")
# and spaced ellipses (". . .") can, and only where the left piece ends and the right one
# starts with a digit or one of ".-*()". Every other token lies inside one piece, and the
# token patterns' look-arounds see whitespace and a string's edge alike.
_SPANNING_GAP_RE = re.compile(r"[\d*\-.()]\s+[\d*\-.()]")
_PERSONAL_MARKERS = frozenset(_PERSONAL_KINDS.values())  # the tokens personal data becomes
# a piece that is one handle and nothing else (the "@user" of most TweetEval posts): <user>,
# without matching the token pattern (no other alternative can match it first)
_HANDLE_PIECE_RE = regex.compile(r"@\w+", _FLAGS)


# --- the preprocessor --------------------------------------------------------------------


class Preprocessor:
    """Turns raw posts into model tokens according to a :class:`PreprocessConfig`.

    Parameters
    ----------
    config : PreprocessConfig or dict, optional
        The configuration; default ``PreprocessConfig()``.

    Notes
    -----
    A post is split at whitespace and the tokens of each distinct piece (``"happy"``,
    ``"it!!!"``, ``"#tbt"``) are cached in the instance, as is the normalisation of each
    distinct raw token (at most ``200,000`` entries each, personal data never): most pieces
    of a post were seen before, so most posts need no pattern matching at all. Posts where a
    token may span whitespace (phone numbers, spaced ellipses) are matched whole. The caches
    are not pickled, so a Preprocessor ships cheaply to worker processes. Instances are safe
    to share between threads.
    Parallelism is left to the caller (the worker processes of the file jobs,
    :mod:`tonecls.jobs`); throughput is in BENCHMARKS.md (preprocessing).

    Examples
    --------
    >>> Preprocessor().tokenize(["Sooo HAPPY :D", None])
    [['soo', '<elong>', 'happy', '<allcaps>', ':D'], []]
    >>> Preprocessor().tokenize_with_status(["", 3.5, b"\\xff"])[1]
    ['empty', 'not_text', 'invalid_encoding']
    """

    def __init__(self, config: PreprocessConfig | dict[str, Any] | None = None) -> None:
        if config is None:
            config = PreprocessConfig()
        elif isinstance(config, dict):
            config = PreprocessConfig.from_dict(config)
        elif not isinstance(config, PreprocessConfig):
            raise TypeError(f"config must be a PreprocessConfig or a dict, got {type(config).__name__}")
        self.config = config
        self._cache = BoundedMemo(_MAX_CACHE)  # raw token -> model tokens
        self._piece_cache = BoundedMemo(_MAX_PIECE_CACHE)  # whitespace-free piece -> model tokens

    def __repr__(self) -> str:
        return f"Preprocessor({self.config!r})"

    def __getstate__(self) -> dict[str, Any]:  # caches are not worth shipping to workers
        return {"config": self.config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"])

    # public API

    def tokenize(self, texts: Iterable[Any]) -> list[list[str]]:
        """Tokens of each post; an empty list for a post that is missing, empty or invalid."""
        return self.tokenize_with_status(texts)[0]

    def tokenize_with_status(self, texts: Iterable[Any]) -> tuple[list[list[str]], list[str]]:
        """Tokens of each post and its status (:data:`Status.OK` or why there are no tokens).

        ``texts`` is any iterable of posts (list, tuple, numpy array, pandas Series,
        generator). Items may be anything: ``str``, ``bytes``, ``None``, NaN, numbers...; the
        output has exactly one entry per item, in order, and never raises for an item.
        """
        items = _check_texts(texts)
        all_tokens: list[list[str]] = []
        statuses: list[str] = []
        tokenize_post = self.tokenize_post
        for item in items:
            tokens, status = tokenize_post(item)
            all_tokens.append(tokens)
            statuses.append(status)
        return all_tokens, statuses

    def tokenize_post(self, post: Any) -> tuple[list[str], str]:
        """Tokens and status of a single post (any object; never raises)."""
        if isinstance(post, str):
            text = post
        else:
            text, status = _as_text(post)
            if text is None:
                return [], status
        text = self._clean(text)
        if text is None:
            return [], Status.INVALID_ENCODING
        tokens = self._tokenize_clean(text)
        return (tokens, Status.OK) if tokens else ([], Status.EMPTY)

    # steps

    def _clean(self, text: str) -> str | None:
        """Decode entities, scrub handles and obfuscated e-mails, drop invisibles, normalise
        Unicode, cut a long post (:meth:`_cut`); None for lone surrogates."""
        if not text.isascii() and _SURROGATE_RE.search(text):
            return None  # str decoded with errors="surrogateescape": not valid text
        if len(text) > self.config.max_chars:
            return self._cut(text)
        return self._normalise_text(text)

    def _cut(self, text: str) -> str:
        """A long post cut to ``max_chars`` characters between tokens: the text before the cut
        (and a margin after it) is cleaned and the personal data near the cut replaced by its
        markers first, so that no piece of an e-mail, URL, phone number or handle cut in two
        becomes a token. Only a window of the post is cleaned, grown until it is long enough."""
        max_chars = self.config.max_chars
        margin = max_chars // 10 + _PERSONAL_MARGIN
        size = max_chars + margin
        while True:
            head = _scrub_personal_data(self._normalise_text(text[:size]), max_chars - margin)
            if size >= len(text) or len(head) >= max_chars + margin:
                break
            size *= 2  # markers shortened the window: its far end could reach the cut
        return _truncate(head, max_chars) if len(head) > max_chars else head

    def _normalise_text(self, text: str) -> str:
        """Every cleaning step but the cut."""
        if "\\n" in text:  # a literal backslash-n left by some exports is a line break
            text = text.replace("\\n", " ")
        if "&" in text:
            text = casual.replace_html_entities(text)
        if _may_hold_obfuscated_email(text):  # before the handles: "cap : jo @ jo dot com"
            text = _OBFUSCATED_EMAIL_RE.sub(_obfuscated_email, text)
        text = _scrub_platform_handles(text)
        if text.isascii():
            if _CONTROL_RE.search(text):
                text = _CONTROL_RE.sub(" ", text)
            return text
        if _SURROGATE_RE.search(text):  # from an entity such as "&#xD800;"
            text = _SURROGATE_RE.sub("", text)
        text = _CONTROL_RE.sub(" ", text)
        text = _INVISIBLE_RE.sub("", text)
        text = text.translate(_APOSTROPHES)
        form = self.config.unicode_form
        if not unicodedata.is_normalized(form, text):
            if form == "NFKC" and _NFKC_PROTECTED_RE.search(text):
                pieces = _NFKC_PROTECTED_RE.split(text)  # odd indices: protected emoji
                text = "".join(piece if index % 2 else unicodedata.normalize(form, piece)
                               for index, piece in enumerate(pieces))
            else:
                text = unicodedata.normalize(form, text)
        return text

    def _raw_tokens(self, post: str) -> list[str]:
        """Tokens before normalisation (for tests and debugging)."""
        text = self._clean(post)
        if _HANG_CHECK_RE.search(text):
            text = _HANG_RE.sub(r"\1\1\1", text)
        return _TOKEN_RE.findall(text)

    def _tokenize_clean(self, text: str) -> list[str]:
        """Model tokens of a cleaned post: piece by piece from the cache where no token can
        span whitespace (see :data:`_SPANNING_GAP_RE`), else the whole text matched at once."""
        if _SPANNING_GAP_RE.search(text):
            return self._tokenize_span(text)
        tokens: list[str] = []
        cache = self._piece_cache
        for piece in text.split():
            normalised = cache.get(piece)
            if normalised is None:
                normalised = self._tokenize_piece(piece)
            tokens += normalised
        return tokens

    def _tokenize_piece(self, piece: str) -> tuple[str, ...]:
        """Model tokens of a piece without whitespace, cached unless it holds personal data
        or is long."""
        if piece[0] == "@" and _HANDLE_PIECE_RE.fullmatch(piece):
            return (USER,)
        normalised = tuple(self._tokenize_span(piece))
        if len(piece) <= _MAX_CACHED_PIECE and _PERSONAL_MARKERS.isdisjoint(normalised):
            self._piece_cache.remember(piece, normalised)
        return normalised

    def _tokenize_span(self, text: str) -> list[str]:
        """Model tokens of ``text`` by one pass of the token pattern."""
        if _HANG_CHECK_RE.search(text):
            text = _HANG_RE.sub(r"\1\1\1", text)
        tokens: list[str] = []
        cache = self._cache
        for token in _TOKEN_RE.findall(text):
            normalised = cache.get(token)
            if normalised is None:
                normalised = self._normalise(token)
            tokens += normalised
        return tokens

    def _normalise(self, token: str) -> tuple[str, ...]:
        """Model tokens for one raw token, cached unless it is personal data."""
        match = _KIND_RE.fullmatch(token)
        kind = _KIND_OF_GROUP[match.lastindex] if match else "text"
        if kind in _PERSONAL_KINDS:  # not cached: raw personal data is not kept around
            return (_PERSONAL_KINDS[kind],)
        if kind == "number":
            normalised = (NUMBER,)
        elif kind == "hashtag":
            normalised = self._normalise_hashtag(token)
        elif kind == "emoji":
            normalised = (token.rstrip("\u200d"),)
        elif kind == "placeholder":
            normalised = ("<" + token[1:-1].lower() + ">",)
        elif kind == "emoticon":  # kept as is (":D" and ":d" differ)
            normalised = (token,)
        else:
            normalised = self._normalise_word(token)
        return self._cache.remember(token, normalised)

    def _normalise_word(self, token: str) -> tuple[str, ...]:
        """Tokens for a word / punctuation token: numbers, elongation, shouting, case."""
        if _NUMBER_TOKEN_RE.fullmatch(token) or _LONG_DIGITS_RE.search(token):
            return (NUMBER,)
        if token[0] == "." and len(token) > 1:  # ellipses: ". . .", "......" -> "..."
            return ("..." if token.count(".") >= 3 else "..",)
        config = self.config
        shouted = config.mark_allcaps and token.isupper() and sum(c.isupper() for c in token) >= 2
        token, elongated = self._shorten(token)
        if config.lowercase:
            token = token.casefold()
        out = [token]
        if elongated:
            out.append(ELONG)
        if shouted:
            out.append(ALLCAPS)
        return tuple(out)

    def _shorten(self, word: str) -> tuple[str, bool]:
        """``soooo`` -> (``soo``, True); three identical letters (KKK, www, xxx) are kept."""
        if not self.config.reduce_elongation or (len(word) == 3 and word[0] == word[1] == word[2]):
            return word, False
        shortened = _ELONG_RE.sub(r"\1\1", word)
        return shortened, shortened != word

    def _normalise_hashtag(self, token: str) -> tuple[str, ...]:
        """``#FirstWorldProblems`` -> ``<hashtag> first world problems``."""
        body = token.lstrip("#")
        parts = _HASHTAG_PART_RE.findall(body) if self.config.split_hashtags else [body]
        out = [HASHTAG]
        for part in parts:
            if part.isdigit():
                out.append(NUMBER)
                continue
            part, elongated = self._shorten(part)
            if _LONG_DIGITS_RE.search(part):
                part = NUMBER
            elif self.config.lowercase:
                part = part.casefold()
            out.append(part)
            if elongated:
                out.append(ELONG)
        return tuple(out)


# --- helpers -----------------------------------------------------------------------------


def _scrub_platform_handles(text: str) -> str:
    """Reddit, Discord and context handles -> `` @user`` (the space: ``:@`` is an emoticon)."""
    if "u/" in text or "U/" in text:
        text = _REDDIT_USER_RE.sub(" @user", text)
    if "#" in text and _DISCORD_HINT_RE.search(text):
        text = _DISCORD_TAG_RE.sub(" @user", text)
    if ("@ " in text or "@\t" in text) and ":" in text:
        text = _CREDIT_RE.sub(" @user", text)
    if (":" in text or "-" in text) and _PLATFORM_HINT_RE.search(text):
        text = _PLATFORM_HANDLE_RE.sub(_platform_handle, text)
    return text


def _platform_handle(match: regex.Match) -> str:
    """``"snapchat: @user"`` for a platform's name and a handle; the text itself when the
    "handle" is an ordinary word (without an ``@``)."""
    if not match.group("at") and match.group("name").casefold() in _PROSE_WORDS:
        return match.group()
    return match.group(1) + " @user"



def _check_texts(texts: Any) -> Iterable[Any]:
    """Validate the batch argument: an iterable of posts, not a single string."""
    if isinstance(texts, (str, bytes, bytearray)):
        raise TypeError(
            f"texts must be an iterable of posts (list, tuple, array, pandas Series), got a "
            f"single {type(texts).__name__}; wrap it in a list: tokenize([text])")
    ndim = getattr(texts, "ndim", 1)
    if ndim != 1:
        raise TypeError(
            f"texts must be one-dimensional (one post per item), got an object with ndim={ndim}"
            "; pass one column, e.g. df['text']")
    try:
        iter(texts)
    except TypeError:
        raise TypeError(f"texts must be an iterable of posts, got {type(texts).__name__}") from None
    return texts


def _as_text(post: Any) -> tuple[str | None, str]:
    """(text, "ok") for text-like posts, else (None, reason)."""
    if isinstance(post, (bytes, bytearray, memoryview)):
        try:
            return bytes(post).decode("utf-8"), Status.OK
        except UnicodeDecodeError:
            return None, Status.INVALID_ENCODING
    if post is None or type(post).__name__ in ("NAType", "NaTType"):
        return None, Status.MISSING
    if isinstance(post, numbers.Number):
        try:
            if math.isnan(post):
                return None, Status.MISSING
        except (TypeError, ValueError):  # complex and friends
            pass
        return None, Status.NOT_TEXT
    if type(post).__name__ == "datetime64" and str(post) == "NaT":
        return None, Status.MISSING
    return None, Status.NOT_TEXT


def _may_hold_obfuscated_email(text: str) -> bool:
    """Whether :data:`_OBFUSCATED_EMAIL_RE` may match (every form has a spaced "@", a "dot",
    a bracketed "at" / "@", or "at" before a mail provider's domain)."""
    if "@" in text and _SPACED_AT_HINT_RE.search(text):
        return True
    lower = text.lower()
    return "dot" in lower or (("at" in lower or "@" in lower) and _AT_HINT_RE.search(lower) is not None)


def _obfuscated_email(match: regex.Match) -> str:
    """``" <email> "`` for an obfuscated address; the text itself for a bare-"at" match whose
    name or domain is an ordinary word."""
    domain = match.group("domain")
    if domain is not None:
        name = match.group("name").casefold()
        if name in _PROSE_WORDS or domain.casefold() in _PROSE_WORDS:
            return match.group()
    return f" {EMAIL} "


_PERSONAL_MARGIN = 1000  # characters: longer than any personal-data token but a URL's tail
def _scrub_personal_data(text: str, start: int) -> str:
    """``text`` with the e-mails, URLs, phone numbers and handles after ``start`` (from the
    whitespace before it, where tokens begin) replaced by their markers. The text is scanned
    as the tokenizer scans it (one pass of the token pattern, linear in its length), so the
    personal data replaced is exactly what the tokenizer would have found there."""
    if start > 0:
        start = max(text.rfind(" ", 0, start), text.rfind("\n", 0, start), text.rfind("\t", 0, start), 0)
    else:
        start = 0
    tail = text[start:]
    if _HANG_CHECK_RE.search(tail):
        tail = _HANG_RE.sub(r"\1\1\1", tail)
    pieces = [text[:start]]
    end = 0
    for match in _KIND_RE.finditer(tail):
        kind = _KIND_OF_GROUP[match.lastindex]
        if kind in _PERSONAL_KINDS:
            pieces += (tail[end:match.start()], f" {_PERSONAL_KINDS[kind]} ")
            end = match.end()
    pieces.append(tail[end:])
    return "".join(pieces)


def _truncate(text: str, max_chars: int) -> str:
    """The first ``max_chars`` characters, cut at whitespace if there is some in the last
    tenth (at least 100 characters), so that an e-mail or URL is not cut into leaky parts."""
    head = text[:max_chars]
    if not text[max_chars].isspace():
        window = max(max_chars // 10, 100)
        cut = max(head.rfind(" ", -window), head.rfind("\n", -window), head.rfind("\t", -window))
        if cut > 0:
            head = head[:cut]
    return head


# --- module-level shortcuts --------------------------------------------------------------

_PREPROCESSORS: dict[PreprocessConfig, Preprocessor] = {}


def preprocessor_for(config: PreprocessConfig | dict[str, Any] | None) -> Preprocessor:
    """The shared :class:`Preprocessor` of ``config`` (None: the defaults), built once per config."""
    if isinstance(config, dict):
        config = PreprocessConfig.from_dict(config)
    config = config or PreprocessConfig()
    if config not in _PREPROCESSORS:
        _PREPROCESSORS[config] = Preprocessor(config)
    return _PREPROCESSORS[config]


def tokenize(texts: Iterable[Any],
             config: PreprocessConfig | dict[str, Any] | None = None) -> list[list[str]]:
    """Model tokens of each post (see :class:`Preprocessor`); ``[]`` for an unusable post.

    >>> tokenize(["Call me at +1 (555) 123-4567 or jo@mail.com"])
    [['call', 'me', 'at', '<phone>', 'or', '<email>']]
    """
    return preprocessor_for(config).tokenize(texts)


def tokenize_with_status(
        texts: Iterable[Any],
        config: PreprocessConfig | dict[str, Any] | None = None,
) -> tuple[list[list[str]], list[str]]:
    """Tokens of each post and its status: :data:`Status.OK` or why it has no tokens."""
    return preprocessor_for(config).tokenize_with_status(texts)


def tokenize_lines(lines: Iterable[bytes | str],
                   config: PreprocessConfig | dict[str, Any] | None = None) -> Iterator[str]:
    """The tokens of one post per line, joined by spaces (an empty string for a post without
    tokens). Lines may be bytes: a line that is not UTF-8 yields no tokens instead of failing."""
    preprocessor = preprocessor_for(config)
    for line in lines:
        tokens, _ = preprocessor.tokenize_post(line.rstrip(b"\r\n" if isinstance(line, bytes) else "\r\n"))
        yield " ".join(tokens)
