"""Token vocabulary: token -> integer id, with padding and out-of-vocabulary ids, and batching.

Id 0 is padding (masked by the network), id 1 is the out-of-vocabulary token; real tokens start
at 2, most frequent first.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

PAD_ID = 0
OOV_ID = 1
PAD_TOKEN = "<pad>"
OOV_TOKEN = "<unk>"

# Tokens that look like a person's handle even after preprocessing (which replaces @handles,
# u/names, name#1234, ...): snake_case names such as "jo_doe" (handles quoted without their @,
# e.g. Instagram credits or "theresa_may:" retweets), long letter-digit mixes such as
# "5twenty1photography", and anything holding "@name", "name@", "://" or "www.".
_SNAKE_CASE_RE = re.compile(r"[^\W_]_+[^\W_]")
_LETTER_DIGIT_LETTER_RE = re.compile(r"[^\W\d_]\d+[^\W\d_]")
_AT_RE = re.compile(r"@\w|\w@")
_EMOTICON_RE = re.compile(r"[tT]_+[tT]|[xX]_+[xX]|[oO0]_+[oO0]|\^_*\^|-_+-")


def looks_like_personal_data(token: str) -> bool:
    """Whether ``token`` looks like a username or address rather than a word (kept out of
    vocabularies: such a token maps to ``<unk>``)."""
    if _AT_RE.search(token) or "://" in token or token.startswith("www."):
        return True
    if _SNAKE_CASE_RE.search(token) and not _EMOTICON_RE.fullmatch(token):
        return True
    return len(token) >= 12 and bool(_LETTER_DIGIT_LETTER_RE.search(token))



class Vocabulary:
    """Maps tokens to ids. Build it with :meth:`fit` on training tokens, or from a token list."""

    def __init__(self, tokens: Sequence[str] = ()) -> None:
        self.tokens_ = [PAD_TOKEN, OOV_TOKEN, *[t for t in tokens if t not in (PAD_TOKEN, OOV_TOKEN)]]
        self.index_ = {token: i for i, token in enumerate(self.tokens_)}

    @classmethod
    def fit(
        cls,
        token_lists: Iterable[Sequence[str]],
        max_size: int = 30000,
        min_count: int = 2,
        keep: set[str] | None = None,
    ) -> Vocabulary:
        """The ``max_size`` most frequent tokens seen at least ``min_count`` times.

        Tokens in ``keep`` (e.g. words that have a pretrained vector) need only one occurrence.
        Tokens that :func:`looks_like_personal_data` are left out. Ties are broken
        alphabetically so the vocabulary is deterministic.
        """
        counts = Counter(token for tokens in token_lists for token in tokens)
        keep = keep or set()
        eligible = [(t, c) for t, c in counts.items()
                    if (c >= min_count or t in keep) and not looks_like_personal_data(t)]
        eligible.sort(key=lambda tc: (-tc[1], tc[0]))
        return cls([t for t, _ in eligible[: max(0, max_size - 2)]])

    def extended(self, tokens: Iterable[str]) -> Vocabulary:
        """This vocabulary with ``tokens`` appended (ids of existing tokens are unchanged)."""
        return Vocabulary([*self.tokens_[2:], *(t for t in tokens if t not in self.index_)])

    def __len__(self) -> int:
        return len(self.tokens_)

    def encode(self, token_lists: Sequence[Sequence[str]], max_length: int) -> tuple[np.ndarray, np.ndarray]:
        """Token lists -> (flat ids, lengths); each post is cut to its first ``max_length`` tokens.

        The flat layout (``ids[offsets[i]:offsets[i] + lengths[i]]``) keeps memory linear in the
        number of tokens; :func:`pad_batch` builds padded matrices for any subset of posts.
        """
        lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
        if len(lengths) and lengths.max() > max_length:
            np.minimum(lengths, max_length, out=lengths)
            token_lists = [tokens[:max_length] for tokens in token_lists]
        tokens = itertools.chain.from_iterable(token_lists)
        ids = np.fromiter(map(self.index_.get, tokens, itertools.repeat(OOV_ID)), dtype=np.int32,
                          count=int(lengths.sum()))
        return ids, lengths

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.tokens_[2:], ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))


def pad_batch(ids: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, rows: np.ndarray,
              width: int | None = None) -> np.ndarray:
    """A (len(rows), width) int32 matrix of the posts ``rows``, right-padded with ``PAD_ID``.

    ``width`` defaults to the longest of these posts (at least 1: an all-padding row is valid).
    """
    row_lengths = lengths[rows]
    width = max(1, int(row_lengths.max(initial=0))) if width is None else width
    batch = np.zeros((len(rows), width), dtype=np.int32)
    positions = np.arange(width)
    keep = positions[None, :] < row_lengths[:, None]
    source = offsets[rows][:, None] + positions[None, :]
    batch[keep] = ids[source[keep]]
    return batch


def offsets_of(lengths: np.ndarray) -> np.ndarray:
    """Start offset of each post in the flat id array."""
    offsets = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    return offsets
