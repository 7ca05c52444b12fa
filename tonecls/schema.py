"""The scoring output contract: the one definition of the columns tonecls writes.

Every stage that writes or reads scored data goes through this module (standard library
only, so it sits below everything): the model builds its output columns from an
:class:`OutputSchema`, scoring types them with :meth:`OutputSchema.dtypes`, and the audit
parses a scored file's header back with :meth:`OutputSchema.from_columns`.

A scored row has, after the input's own columns:

- ``tonecls_status``: a :class:`Status` value, ``ok`` or why the row has no predictions;
- ``tonecls_language``: the post's language (ISO 639-1 code; ISO 639-2/3 for languages that
  have no 639-1 code) or ``und`` (undetermined: very short, emoji-only or mixed posts);
  missing for rows with another status than ``ok`` or ``other_language``;
- ``tonecls_n_tokens``: how many tokens the model read (all of them, also past its length; a
  post longer than ``PreprocessConfig.max_chars``, 10,000 characters by default, is read up
  to that cut, between tokens); missing when there was no text to tokenise;
- per single-label head ``H``: ``H_label``, ``H_confidence``, ``H_polarity`` if the head has
  both a ``negative`` and a ``positive`` class (the polarity ``p(positive) - p(negative)``,
  in [-1, 1]) and ``H_p_<class>`` per class;
- per multi-label head ``H``: ``H_labels`` (predicted classes joined by
  :data:`LABEL_SEPARATOR`, empty if none) and ``H_p_<class>`` per class.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "STATUS_COLUMN",
    "LANGUAGE_COLUMN",
    "N_TOKENS_COLUMN",
    "LABEL_SEPARATOR",
    "UNDETERMINED_LANGUAGE",
    "NEGATIVE_CLASS",
    "POSITIVE_CLASS",
    "Status",
    "HeadColumns",
    "OutputSchema",
    "split_labels",
    "join_labels",
]

STATUS_COLUMN = "tonecls_status"
LANGUAGE_COLUMN = "tonecls_language"
N_TOKENS_COLUMN = "tonecls_n_tokens"
LABEL_SEPARATOR = ";"
UNDETERMINED_LANGUAGE = "und"
NEGATIVE_CLASS = "negative"  # a single-label head with both of these classes gets H_polarity
POSITIVE_CLASS = "positive"


class Status(str, enum.Enum):
    """Why a row has (``OK``) or has no predictions. The value is what the column holds."""

    OK = "ok"
    MISSING = "missing"  # None, NaN, pandas NA / NaT
    NOT_TEXT = "not_text"  # a number or any other non-text object
    INVALID_ENCODING = "invalid_encoding"  # bytes that are not UTF-8, lone surrogates
    EMPTY = "empty"  # empty, whitespace-only or only invisible characters
    MALFORMED_LINE = "malformed_line"  # the reader could not parse the row of the file
    OTHER_LANGUAGE = "other_language"  # confidently not in a language the model was trained on

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class _HeadLike(Protocol):
    name: str
    classes: Sequence[str]
    multilabel: bool


def join_labels(labels: Iterable[str]) -> str:
    """The ``H_labels`` cell of a multi-label head: classes joined by :data:`LABEL_SEPARATOR`."""
    return LABEL_SEPARATOR.join(labels)


def split_labels(value: Any) -> list[str]:
    """The classes of one ``H_labels`` cell (or of a gold multi-label cell); ``""`` -> ``[]``."""
    if value is None:
        return []
    return [part.strip() for part in str(value).split(LABEL_SEPARATOR) if part.strip()]


@dataclass(frozen=True)
class HeadColumns:
    """The output columns of one head."""

    name: str
    classes: tuple[str, ...]
    multilabel: bool = False

    @property
    def label_column(self) -> str:
        """``H_labels`` (multi-label) or ``H_label`` (single-label)."""
        return f"{self.name}_labels" if self.multilabel else f"{self.name}_label"

    @property
    def confidence_column(self) -> str | None:
        """``H_confidence`` of a single-label head (the top probability), else None."""
        return None if self.multilabel else f"{self.name}_confidence"

    @property
    def polarity_column(self) -> str | None:
        """``H_polarity``, the polarity ``p(positive) - p(negative)`` in [-1, 1], of a
        single-label head with both a ``negative`` and a ``positive`` class; else None."""
        polar = NEGATIVE_CLASS in self.classes and POSITIVE_CLASS in self.classes
        return f"{self.name}_polarity" if polar and not self.multilabel else None

    def proba_column(self, cls: str) -> str:
        """``H_p_<class>``."""
        return f"{self.name}_p_{cls}"

    @property
    def proba_columns(self) -> list[str]:
        return [self.proba_column(c) for c in self.classes]

    @property
    def text_columns(self) -> list[str]:
        return [self.label_column]

    @property
    def float_columns(self) -> list[str]:
        return [c for c in (self.confidence_column, self.polarity_column) if c] + self.proba_columns

    @property
    def columns(self) -> list[str]:
        """This head's columns, in output order."""
        return [self.label_column, *self.float_columns]


@dataclass(frozen=True)
class OutputSchema:
    """The columns a model writes after the input's own: status, language, token count, then
    each head's."""

    heads: tuple[HeadColumns, ...]

    @classmethod
    def from_heads(cls, heads: Iterable[_HeadLike]) -> OutputSchema:
        """From head specs (anything with ``name``, ``classes`` and ``multilabel``)."""
        return cls(tuple(HeadColumns(h.name, tuple(str(c) for c in h.classes), bool(h.multilabel))
                         for h in heads))

    @property
    def head_names(self) -> list[str]:
        return [h.name for h in self.heads]

    def head(self, name: str) -> HeadColumns:
        """The columns of head ``name``; ``KeyError`` naming the heads there are."""
        for head in self.heads:
            if head.name == name:
                return head
        raise KeyError(f"no head {name!r}; heads: {', '.join(self.head_names) or 'none'}")

    @property
    def columns(self) -> list[str]:
        """Every output column, in order."""
        return [*self.row_columns, *(c for h in self.heads for c in h.columns)]

    @property
    def row_columns(self) -> list[str]:
        """The columns about the post rather than a head: status, language, token count."""
        return [STATUS_COLUMN, LANGUAGE_COLUMN, N_TOKENS_COLUMN]

    @property
    def text_columns(self) -> list[str]:
        return [STATUS_COLUMN, LANGUAGE_COLUMN, *(c for h in self.heads for c in h.text_columns)]

    def dtypes(self) -> dict[str, str]:
        """The pandas dtype of each output column: ``"str"`` for text, ``"Int32"`` (nullable)
        for the token count, ``"float32"`` else."""
        text = set(self.text_columns)
        return {c: "str" if c in text else "Int32" if c == N_TOKENS_COLUMN else "float32"
                for c in self.columns}

    @classmethod
    def from_columns(cls, columns: Iterable[Any]) -> OutputSchema:
        """The heads found in a scored file's column names (``H_label``/``H_labels`` and at
        least one ``H_p_<class>``), in the order their label columns appear."""
        names = [str(c) for c in columns]
        heads = []
        for name in names:
            for suffix, multilabel in (("_labels", True), ("_label", False)):
                if not name.endswith(suffix):
                    continue
                head = name[: -len(suffix)]
                prefix = f"{head}_p_"
                classes = tuple(c[len(prefix):] for c in names if c.startswith(prefix))
                if head and classes:
                    heads.append(HeadColumns(head, classes, multilabel))
                break
        return cls(tuple(heads))
