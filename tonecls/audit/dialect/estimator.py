"""Dialect groups for posts without demographics: the TwitterAAE model of Blodgett et al. (2016).

This is a proxy about *language*, not about *authors*. For each post the model of

    Su Lin Blodgett, Lisa Green and Brendan O'Connor. 2016. "Demographic Dialectal Variation in
    Social Media: A Case Study of African-American English". Proceedings of EMNLP 2016.
    https://aclanthology.org/D16-1120/ ; code and model: https://github.com/slanglab/twitteraae

infers the *proportion of the post's words* drawn from four demographically aligned language
topics (African-American, Hispanic, Asian and White-aligned). It is not a probability about the
race or ethnicity of whoever wrote the post, and its authors validated only the AA- and
White-aligned topics linguistically: use ``dialect_hispanic`` and ``dialect_asian`` with care.

Inference reproduces ``code/predict.py`` of the released code (MIT license):

- word likelihoods ``p(w | k) = (N_wk + 1) / N_k`` from the count table ``N_wk``, with
  ``N_k = sum_w N_wk`` (add-one on the count, no ``+ V`` in the denominator), each token's
  likelihood vector normalised over the four topics;
- collapsed variational Bayes (CVB0, Asuncion et al. 2009) for the post's topic proportions
  under a symmetric Dirichlet prior ``alpha`` (default 1): token responsibilities start at the
  normalised likelihoods, then each of ``n_passes - 1`` sweeps visits the tokens in order and
  sets ``q_i ∝ p(w_i | k) * (sum_{j != i} q_j + alpha)``; the proportions are ``sum_i q_i``
  normalised. ``n_passes=5`` as released (so four sweeps after the initialisation);
- a post gets no estimate (NaN) when fewer than ``min_tokens`` (1) of its tokens are in the
  model's vocabulary or when they are less than ``min_vocab_fraction`` (20%) of its tokens.

The original is a per-post Python loop; :func:`cvb0_proportions` runs the *same sequential
updates* for a whole batch at once (token position by position across all posts), so the
result is identical to the released code up to floating-point rounding.

Tokenisation must match the model's vocabulary, built with ``twokenize`` (ARK TweetNLP):
lowercased tokens, punctuation runs such as ``!!!`` kept whole, and no split inside text glued
without whitespace (``lol😂``, ``w/``, ``40%``). We reuse NLTK's ``TweetTokenizer`` (case
preserved, then lowercased as the released code does), remove @-handles and URLs (the
vocabulary has none), locate every token in the text and re-join what ``twokenize`` keeps
together (:mod:`tonecls.audit.dialect.tokens`; agreement with twokenize: BENCHMARKS.md,
dialect inference).

Groups (:meth:`DialectEstimator.assign_groups`) follow Blodgett et al. (2016), whose "AA-aligned"
and "White-aligned" sets are the posts with a proportion of at least 0.8 for that topic, a
cut-off reused by later bias studies (e.g. Blodgett & O'Connor 2017; Davidson et al. 2019;
Sap et al. 2019, "The Risk of Racial Bias in Hate Speech Detection", mostly work with the
continuous AA proportion): ``aa_aligned`` when ``dialect_aa >= threshold`` (default 0.8),
``white_aligned`` when ``dialect_white >= threshold``, else ``undetermined`` (also when there is
no estimate). Most posts are ``undetermined`` at 0.8; lower thresholds trade purity for size.

Example::

    est = DialectEstimator().fit()
    est.predict_proportions(["he be trippin lol finna go", "I am going to the store now."])
    est.assign_groups(df["text"])
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from tonecls.audit.dialect.cvb0 import cvb0_proportions
from tonecls.audit.dialect.tokens import tokenize_for_dialect
from tonecls.errors import DataNotFoundError, InputError

__all__ = [
    "DIALECT_TOPICS",
    "PROPORTION_COLUMNS",
    "N_TOKENS_COLUMN",
    "GROUP_COLUMN",
    "GROUP_AA",
    "GROUP_WHITE",
    "GROUP_UNDETERMINED",
    "DEFAULT_THRESHOLD",
    "PROXY_NOTE",
    "DialectEstimator",
    "GroupSizeTally",
    "add_dialect_columns",
    "groups_from_proportions",
    "load_twitteraae",
    "resolve_model_dir",
]

DIALECT_TOPICS = ("aa", "hispanic", "asian", "white")  # column order of model_count_table.txt
PROPORTION_COLUMNS = [f"dialect_{topic}" for topic in DIALECT_TOPICS]
N_TOKENS_COLUMN = "dialect_n_tokens"
GROUP_COLUMN = "dialect_group"
GROUP_AA = "aa_aligned"
GROUP_WHITE = "white_aligned"
GROUP_UNDETERMINED = "undetermined"
DEFAULT_THRESHOLD = 0.8

VOCAB_FILE = "model_vocab.txt"
COUNT_TABLE_FILE = "model_count_table.txt"

PROXY_NOTE = (
    "Dialect proportions are a proxy about the language of a post (the share of its words drawn "
    "from demographically aligned dialect topics, Blodgett et al. 2016), not about its author; "
    "only the AA- and White-aligned topics were validated by the model's authors."
)


# --- model files -------------------------------------------------------------------------


def resolve_model_dir(model_dir: str | os.PathLike | None = None) -> Path:
    """The directory holding ``model_vocab.txt`` and ``model_count_table.txt``.

    An explicit ``model_dir`` is used as is; otherwise ``<data dir>/twitteraae`` where the data
    dir comes from :func:`tonecls.datasets.resolve_data_dir` (``$TONECLS_DATA_DIR``, the cache,
    or ``../shared/data`` beside a source checkout).
    """
    if model_dir is not None:
        directory = Path(model_dir).expanduser()
    else:
        from tonecls.datasets import resolve_data_dir

        directory = resolve_data_dir(dataset="twitteraae") / "twitteraae"
    missing = [name for name in (VOCAB_FILE, COUNT_TABLE_FILE) if not (directory / name).is_file()]
    if missing:
        raise DataNotFoundError(
            f"the TwitterAAE dialect model is incomplete in {directory}: missing "
            f"{', '.join(missing)}. Pass the directory of the released model "
            "(https://github.com/slanglab/twitteraae, model/) or set TONECLS_DATA_DIR to a "
            "directory that contains twitteraae/."
        )
    return directory


@functools.lru_cache(maxsize=4)
def _load_cached(directory: str, mtimes: tuple[float, float]) -> tuple[dict[str, int], np.ndarray]:
    path = Path(directory)
    # Same parsing as the released load_model(): the token is the last tab-separated field,
    # stripped; a token listed twice maps to its last line (dict comprehension semantics).
    with open(path / VOCAB_FILE, encoding="utf-8") as handle:
        vocab = [line.split("\t")[-1].strip() for line in handle]
    counts = pd.read_csv(
        path / COUNT_TABLE_FILE, sep=r"\s+", header=None, engine="c", dtype=np.float64
    ).to_numpy()
    if counts.ndim != 2 or counts.shape[1] != len(DIALECT_TOPICS) or counts.shape[0] != len(vocab):
        raise DataNotFoundError(
            f"the TwitterAAE model in {path} is malformed: {COUNT_TABLE_FILE} has shape "
            f"{counts.shape}, expected ({len(vocab)}, {len(DIALECT_TOPICS)}) to match {VOCAB_FILE}. "
            "Re-download the released model files."
        )
    word_probs = (counts + 1.0) / counts.sum(axis=0)
    likelihoods = word_probs / word_probs.sum(axis=1, keepdims=True)
    likelihoods.setflags(write=False)
    return {word: row for row, word in enumerate(vocab)}, likelihoods


def load_twitteraae(model_dir: str | os.PathLike | None = None) -> tuple[dict[str, int], np.ndarray]:
    """Load (once per process, cached) the TwitterAAE vocabulary and token likelihoods.

    Returns ``(vocabulary, likelihoods)``: token -> row, and a read-only ``(V, 4)`` array of
    ``p(w | k) = (N_wk + 1) / N_k`` normalised over the four topics for each token.
    """
    directory = resolve_model_dir(model_dir).resolve()
    mtimes = tuple((directory / name).stat().st_mtime for name in (VOCAB_FILE, COUNT_TABLE_FILE))
    return _load_cached(str(directory), mtimes)


def groups_from_proportions(
    proportions: pd.DataFrame, threshold: float = DEFAULT_THRESHOLD
) -> pd.Series:
    """Thresholded dialect group: ``aa_aligned`` / ``white_aligned`` / ``undetermined``.

    ``aa_aligned`` when ``dialect_aa >= threshold``, ``white_aligned`` when
    ``dialect_white >= threshold`` (both cannot hold for ``threshold > 0.5``), otherwise and
    where there is no estimate ``undetermined``.
    """
    threshold = check_threshold(threshold)
    aa = proportions["dialect_aa"].to_numpy(dtype=float)
    white = proportions["dialect_white"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        groups = np.where(aa >= threshold, GROUP_AA, np.where(white >= threshold, GROUP_WHITE, GROUP_UNDETERMINED))
    return pd.Series(groups, index=proportions.index, name=GROUP_COLUMN, dtype=object)


def check_threshold(threshold: float) -> float:
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise InputError(f"threshold must be a number in (0.5, 1], got {threshold!r}") from None
    if not 0.5 < value <= 1.0:
        raise InputError(
            f"threshold must be in (0.5, 1] so that a post belongs to at most one group, got {value}"
        )
    return value


class DialectEstimator(BaseEstimator):
    """Per-post dialect proportions (Blodgett et al. 2016) and thresholded dialect groups.

    Parameters
    ----------
    model_dir : path, optional
        Directory of ``model_vocab.txt`` and ``model_count_table.txt``; default
        ``<data dir>/twitteraae`` (see :func:`resolve_model_dir`).
    min_tokens : int, default 1
        Fewest in-vocabulary tokens a post needs for an estimate (released ``thresh1``).
    min_vocab_fraction : float, default 0.2
        Smallest share of a post's tokens that must be in the vocabulary (released ``thresh2``).
    n_passes : int, default 5
        CVB0 passes (released ``numpasses``; the first is the initialisation).
    alpha : float, default 1.0
        Symmetric Dirichlet prior on the post's topic proportions.
    batch_size : int, default 20000
        Posts inferred together (bounds memory).

    Attributes
    ----------
    model_dir_ : Path
        The model directory used.
    vocabulary_ : dict[str, int]
        Token -> row of ``likelihoods_``.
    likelihoods_ : ndarray of shape (n_vocab, 4)
        ``p(w | k)`` normalised over the topics, read-only and shared between instances.

    Nothing is learned: :meth:`fit` loads the released model (once per process); the
    ``predict_*``/``assign_groups`` methods need a fitted estimator (scikit-learn's
    ``NotFittedError`` otherwise). :func:`add_dialect_columns` and :func:`dialect_file` fit a
    copy of an unfitted estimator.
    """

    def __init__(
        self,
        model_dir: str | os.PathLike | None = None,
        *,
        min_tokens: int = 1,
        min_vocab_fraction: float = 0.2,
        n_passes: int = 5,
        alpha: float = 1.0,
        batch_size: int = 20_000,
    ) -> None:
        self.model_dir = model_dir
        self.min_tokens = min_tokens
        self.min_vocab_fraction = min_vocab_fraction
        self.n_passes = n_passes
        self.alpha = alpha
        self.batch_size = batch_size

    def _validate_params(self) -> None:
        if not isinstance(self.min_tokens, (int, np.integer)) or self.min_tokens < 1:
            raise InputError(f"min_tokens must be an integer >= 1, got {self.min_tokens!r}")
        if not 0.0 <= float(self.min_vocab_fraction) <= 1.0:
            raise InputError(f"min_vocab_fraction must be in [0, 1], got {self.min_vocab_fraction!r}")
        if not isinstance(self.n_passes, (int, np.integer)) or self.n_passes < 1:
            raise InputError(f"n_passes must be an integer >= 1, got {self.n_passes!r}")
        if not float(self.alpha) > 0 or not math.isfinite(float(self.alpha)):
            raise InputError(f"alpha must be a positive number, got {self.alpha!r}")
        if not isinstance(self.batch_size, (int, np.integer)) or self.batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {self.batch_size!r}")

    def fit(self, X: Any = None, y: Any = None) -> DialectEstimator:
        """Load the released model (nothing is learned; ``X`` and ``y`` are ignored)."""
        self._validate_params()
        self.model_dir_ = resolve_model_dir(self.model_dir).resolve()
        self.vocabulary_, self.likelihoods_ = load_twitteraae(self.model_dir_)
        return self


    def predict_proportions(self, texts: Iterable[Any]) -> pd.DataFrame:
        """One row per text, in order: ``dialect_aa, dialect_hispanic, dialect_asian,
        dialect_white`` (NaN where no estimate) and ``dialect_n_tokens`` (in-vocabulary tokens).

        Missing or non-string texts get no estimate. A pandas Series keeps its index.
        """
        check_is_fitted(self, "likelihoods_")
        index = texts.index if isinstance(texts, pd.Series) else None
        if isinstance(texts, (str, bytes)):
            raise InputError("texts must be a sequence of posts, not a single string; wrap it in a list")
        texts = list(texts)
        proportions = np.full((len(texts), len(DIALECT_TOPICS)), np.nan)
        n_in_vocab = np.zeros(len(texts), dtype=np.int64)
        for start in range(0, len(texts), self.batch_size):
            stop = min(start + self.batch_size, len(texts))
            self._infer_batch(texts[start:stop], proportions[start:stop], n_in_vocab[start:stop])
        frame = pd.DataFrame(proportions, columns=PROPORTION_COLUMNS, index=index)
        frame[N_TOKENS_COLUMN] = n_in_vocab
        return frame

    def _infer_batch(self, texts: list[Any], out: np.ndarray, n_in_vocab: np.ndarray) -> None:
        vocabulary = self.vocabulary_
        rows: list[int] = []
        lengths: list[int] = []
        estimated: list[int] = []
        seen: dict[str, tuple[list[int], int]] = {}  # repeated posts (retweets) tokenised once
        for position, text in enumerate(texts):
            if not isinstance(text, str):
                continue
            if text in seen:
                ids, n_tokens = seen[text]
            else:
                try:
                    tokens = tokenize_for_dialect(text)
                except TimeoutError:  # NLTK's guard against pathological input: no estimate
                    tokens = []
                ids = [vocabulary[tok] for tok in tokens if tok in vocabulary]
                n_tokens = len(tokens)
                seen[text] = (ids, n_tokens)
            n_in_vocab[position] = len(ids)
            if len(ids) < self.min_tokens or len(ids) < self.min_vocab_fraction * n_tokens:
                continue
            rows.extend(ids)
            lengths.append(len(ids))
            estimated.append(position)
        if estimated:
            out[estimated] = cvb0_proportions(
                self.likelihoods_[np.asarray(rows, dtype=np.int64)],
                lengths,
                alpha=float(self.alpha),
                n_passes=int(self.n_passes),
            )

    def assign_groups(self, texts: Iterable[Any], threshold: float = DEFAULT_THRESHOLD) -> pd.Series:
        """``dialect_group`` per text: ``aa_aligned``, ``white_aligned`` or ``undetermined``."""
        threshold = check_threshold(threshold)
        return groups_from_proportions(self.predict_proportions(texts), threshold)


def fitted(estimator: DialectEstimator | None) -> DialectEstimator:
    """``estimator`` if it is fitted, else a fitted copy (a new default one for None)."""
    if estimator is None:
        return DialectEstimator().fit()
    try:
        check_is_fitted(estimator, "likelihoods_")
    except NotFittedError:
        return clone(estimator).fit()
    return estimator


def add_dialect_columns(
    frame: pd.DataFrame,
    estimator: DialectEstimator | None = None,
    text_col: str = "text",
    threshold: float = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """``frame`` with the four proportions, ``dialect_n_tokens`` and ``dialect_group`` appended
    (an unfitted ``estimator`` is fitted first, see :func:`fitted`)."""
    if text_col not in frame.columns:
        raise InputError(
            f"text column {text_col!r} not found; the columns are {list(frame.columns)}. "
            "Choose the column with --text-col."
        )
    clashes = [c for c in [*PROPORTION_COLUMNS, N_TOKENS_COLUMN, GROUP_COLUMN] if c in frame.columns]
    if clashes:
        raise InputError(
            f"the input already has the column(s) {clashes}; drop them or rename them first "
            "so that nothing is overwritten."
        )
    proportions = fitted(estimator).predict_proportions(frame[text_col].reset_index(drop=True))
    proportions.index = frame.index
    result = pd.concat([frame, proportions], axis=1)
    result[GROUP_COLUMN] = groups_from_proportions(proportions, threshold)
    return result


class GroupSizeTally:
    """How many posts each aligned group would get at every threshold of a grid (0.51 to
    1.00 by 0.01), counted chunk by chunk, to say which threshold would populate a group that
    is (nearly) empty at the chosen one."""

    GRID = np.round(np.arange(0.51, 1.0 + 1e-9, 0.01), 2)
    COLUMNS = {GROUP_AA: "dialect_aa", GROUP_WHITE: "dialect_white"}

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.rows = 0
        self.at_threshold = dict.fromkeys(self.COLUMNS, 0)
        self.on_grid = {group: np.zeros(len(self.GRID), dtype=np.int64) for group in self.COLUMNS}

    def update(self, proportions: pd.DataFrame) -> None:
        """Count the posts of one chunk (a frame with ``dialect_aa`` and ``dialect_white``)."""
        self.rows += len(proportions)
        for group, column in self.COLUMNS.items():
            values = proportions[column].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            self.at_threshold[group] += int((values >= self.threshold).sum())
            below = np.searchsorted(np.sort(values), self.GRID, side="left")  # posts under each t
            self.on_grid[group] += len(values) - below

    def counts(self) -> dict[str, int]:
        """The counts as flat ``{key: n}`` (summable chunk by chunk, kept in a resume manifest)."""
        out = {"rows": self.rows}
        for group in self.COLUMNS:
            out[f"{group}@threshold"] = self.at_threshold[group]
            out.update({f"{group}@{t:.2f}": int(c) for t, c in zip(self.GRID, self.on_grid[group])})
        return out

    @classmethod
    def from_counts(cls, threshold: float, counts: dict[str, int]) -> GroupSizeTally:
        """The tally whose :meth:`counts` (summed over chunks) are ``counts``."""
        tally = cls(threshold)
        tally.rows = int(counts.get("rows", 0))
        for group in cls.COLUMNS:
            tally.at_threshold[group] = int(counts.get(f"{group}@threshold", 0))
            tally.on_grid[group] = np.array([int(counts.get(f"{group}@{t:.2f}", 0)) for t in cls.GRID],
                                            dtype=np.int64)
        return tally

    def warnings(self, min_rows: int | None = None) -> list[str]:
        """One sentence per group with fewer than ``min_rows`` posts at the threshold (default:
        the audit's minimum group size), naming the highest threshold that gives it enough."""
        if min_rows is None:
            from tonecls.audit.groups import DEFAULT_MIN_GROUP_SIZE

            min_rows = DEFAULT_MIN_GROUP_SIZE
        out = []
        for group, n in self.at_threshold.items():
            if n >= min_rows or not self.rows:
                continue
            enough = [(t, c) for t, c in zip(self.GRID, self.on_grid[group]) if c >= min_rows]
            text = (f"dialect group {group} has {n:,} of {self.rows:,} posts at threshold "
                    f"{self.threshold:g}, fewer than the {min_rows} an audit needs to test it; ")
            if enough:
                best, count = enough[-1]
                text += (f"--threshold {best:g} would give it {int(count):,} posts (a lower threshold "
                         "admits posts with a smaller share of the dialect's words).")
            else:
                top = int(self.on_grid[group][0])
                text += (f"even the lowest threshold (0.51) gives it only {top:,}: too few posts in "
                         "this data use this dialect's words to audit the group.")
            out.append(text)
        return out


