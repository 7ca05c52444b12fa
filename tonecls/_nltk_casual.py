"""The few regular expressions of nltk's casual (Twitter) tokeniser that tonecls uses, vendored.

Importing ``nltk`` costs about 4 s (it loads much of the library), which dominated the start-up
of ``tonecls preprocess`` and ``tonecls score``; tonecls needs only these patterns and the
HTML-entity decoder, copied here verbatim so that tokenisation is unchanged (a test checks
that they equal nltk's when nltk is installed).

Copied from ``nltk/tokenize/casual.py`` of NLTK 3.9 / 3.10:

    Natural Language Toolkit: Twitter Tokenizer
    Copyright (C) 2001-2026 NLTK Project
    Author: Christopher Potts <cgpotts@stanford.edu>
            Ewan Klein <ewan@inf.ed.ac.uk> (modifications)
            Pierpaolo Pantone <> (modifications)
            Tom Aarsen <> (modifications)
    URL: <https://www.nltk.org/>

NLTK is licensed under the Apache License, Version 2.0
(https://www.apache.org/licenses/LICENSE-2.0). Changes: only the pieces below are kept; the
patterns are compiled with :mod:`regex` directly instead of through ``nltk.redos`` (whose
match timeout is not needed for these fixed, linear patterns).
"""

from __future__ import annotations

import html

import regex

__all__ = ["EMOTICONS", "URLS", "PHONE_REGEX", "ARROWS", "WORDS", "HANG_RE", "replace_html_entities"]

# ASCII emoticons (nltk: EMOTICONS)
EMOTICONS = r"""
    (?:
      [<>]?
      [:;=8]                     # eyes
      [\-o\*\']?                 # optional nose
      [\)\]\(\[dDpP/\:\}\{@\|\\] # mouth
      |
      [\)\]\(\[dDpP/\:\}\{@\|\\] # mouth
      [\-o\*\']?                 # optional nose
      [:;=8]                     # eyes
      [<>]?
      |
      </?3                       # heart
    )"""

# URL pattern due to John Gruber, modified by Tom Winzig (nltk: URLS).
# See https://gist.github.com/winzig/8894715
URLS = r"""			# Capture 1: entire matched URL
  (?:
  https?:				# URL protocol and colon
    (?:
      /{1,3}				# 1-3 slashes
      |					#   or
      [a-z0-9%]				# Single letter or digit or '%'
                                       # (Trying not to match e.g. "URI::Escape")
    )
    |					#   or
                                       # looks like domain name followed by a slash:
    [a-z0-9.\-]{1,255}[.]              # bounded to avoid catastrophic backtracking (ReDoS)
    (?:[a-z]{2,13})
    /
  )
  (?:					# One or more:
    [^\s()<>{}\[\]]+			# Run of non-space, non-()<>{}[]
    |					#   or
    \([^\s()]{0,255}?\([^\s()]{1,255}\)[^\s()]{0,255}?\) # balanced parens, one level deep: (...(...)...)
    |
    \([^\s]{1,255}?\)				# balanced parens, non-recursive: (...)
  )+
  (?:					# End with:
    \([^\s()]{0,255}?\([^\s()]{1,255}\)[^\s()]{0,255}?\) # balanced parens, one level deep: (...(...)...)
    |
    \([^\s]{1,255}?\)				# balanced parens, non-recursive: (...)
    |					#   or
    [^\s`!()\[\]{};:'".,<>?«»“”‘’]	# not a space or one of these punct chars
  )
  |					# OR, the following to match naked domains:
  (?:
  	(?<!@)			        # not preceded by a @, avoid matching foo@_gmail.com_
    [a-z0-9]+
    (?:[.\-][a-z0-9]+){0,126}  # bounded to avoid catastrophic backtracking (ReDoS); DNS allows at most 127 labels
    [.]
    (?:[a-z]{2,13})
    \b
    /?
    (?!@)			        # not succeeded by a @,
                            # avoid matching "foo.na" in "foo.na@example.com"
  )
"""

# North American phone numbers (nltk: PHONE_REGEX)
PHONE_REGEX = r"""
    (?:
      (?:            # (international)
        \+?[01]
        [ *\-.\)]*
      )?
      (?:            # (area code)
        [\(]?
        \d{3}
        [ *\-.\)]*
      )?
      \d{3}          # exchange
      [ *\-.\)]*
      \d{4}          # base
    )"""

# ASCII arrows (nltk: REGEXPS[3])
ARROWS = r"""[\-]+>|<[\-]+"""

# Remaining word types (nltk: REGEXPS[9], the last-ditch alternatives)
WORDS = r"""
    (?:[^\W\d_](?:[^\W\d_]|['\-_])+[^\W\d_]) # Words with apostrophes or dashes.
    |
    (?:[+\-]?\d+[,/.:-]\d+[+\-]?)  # Numbers, including fractions, decimals.
    |
    (?:[\w_]+)                     # Words without apostrophes or dashes.
    |
    (?:\.(?:[^\S\r\n]*\.){1,})            # Ellipsis dots.
    |
    (?:\S)                         # Everything else that isn't whitespace.
    """

# Runs of 4+ identical non-alphanumerics (nltk: HANG_RE; replaced by 3 of them)
HANG_RE = regex.compile(r"([^\p{L}\p{N}])\1{3,}")

# HTML entities (nltk: ENT_RE)
_ENT_RE = regex.compile(r"&(#?(x?))([^&;\s]+);")


def replace_html_entities(text: str) -> str:
    """Decode HTML entities; entities that cannot be decoded are removed (nltk's
    ``_replace_html_entities(text)`` with its defaults, for ``str`` input)."""

    def _convert_entity(match):
        entity_body = match.group(3)
        if match.group(1):
            try:
                if match.group(2):
                    number = int(entity_body, 16)
                else:
                    number = int(entity_body, 10)
                # Numeric character references in the 80-9F range are typically
                # interpreted by browsers as representing the characters mapped
                # to bytes 80-9F in the Windows-1252 encoding.
                if 0x80 <= number <= 0x9F:
                    return bytes((number,)).decode("cp1252")
            except ValueError:
                number = None
        else:
            number = html.entities.name2codepoint.get(entity_body)
        if number is not None:
            try:
                return chr(number)
            except (ValueError, OverflowError):
                pass
        return ""

    return _ENT_RE.sub(_convert_entity, text)
