"""``ToneModel``: a trained network plus everything needed to go from raw posts to predictions.

It holds the Keras network (token ids -> logits per head), the vocabulary, the preprocessing
configuration, the head specs, and the post-processing fitted on validation data: one
temperature per head (calibration) and per-class decision thresholds of multi-label heads.

Predicting is two steps, which together are the scoring protocol
(:class:`tonecls.score.ScoringModel`): :meth:`ToneModel.compute_logits` (posts -> statuses,
languages and logits: the heavy work, with numpy and no pandas, so that worker processes stay
light) and :meth:`ToneModel.predictions_from_logits` (calibrated probabilities and the output
columns, a DataFrame); :meth:`ToneModel.predict` is the two in a row.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from tonecls.errors import InputError
from tonecls.model import bundle as _bundle
from tonecls.model.config import HeadSpec
from tonecls.model.inference import InferenceNetwork
from tonecls.model.vocab import Vocabulary, offsets_of, pad_batch
from tonecls.preprocess import PreprocessConfig, Preprocessor
from tonecls.schema import (
    LANGUAGE_COLUMN,
    N_TOKENS_COLUMN,
    NEGATIVE_CLASS,
    POSITIVE_CLASS,
    STATUS_COLUMN,
    OutputSchema,
    Status,
    join_labels,
)

DEFAULT_BATCH_SIZE = 1024
LONG_POST_MODES = ("full", "windows", "truncate")
# statuses of rows that had no text to tokenise (their token count is missing)
_NO_TEXT = frozenset({Status.MISSING, Status.NOT_TEXT, Status.INVALID_ENCODING, Status.MALFORMED_LINE})


if TYPE_CHECKING:
    import pandas as pd


class UnknownHeadError(InputError, KeyError):
    """A head the model does not have (a KeyError of the lookup, and bad user input: the CLI
    prints it as a one-paragraph error)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class PostLogits(NamedTuple):
    """What :meth:`ToneModel.compute_logits` finds for a batch of posts (plain lists and numpy
    arrays: cheap to send between processes); :meth:`ToneModel.predictions_from_logits` turns
    it into the output columns."""

    statuses: list[str]  # per post: ``ok`` or why it has no predictions
    languages: list[str | None]  # per post: its language, None where it had no tokens to read
    n_tokens: list[int | None]  # per post: its number of tokens, None where it had no text
    ok_rows: np.ndarray  # the rows with predictions (status ok), increasing
    logits: dict[str, np.ndarray]  # per head: uncalibrated logits of the ok rows, float32


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax (scipy.special; keeps float32)."""
    import scipy.special

    return scipy.special.softmax(logits, axis=1)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Element-wise logistic function (scipy.special.expit; keeps float32)."""
    import scipy.special

    return scipy.special.expit(logits)


def _as_list(texts: Iterable[Any]) -> list[Any]:
    """The posts of ``texts`` as a list: one item per post. A table (a DataFrame, a 2-D array)
    or a mapping is refused: iterating it would score its column names, cells or keys."""
    if _is_one_post(texts):
        raise TypeError("texts must be a sequence of posts, not a single string; wrap it in a list.")
    if getattr(texts, "ndim", 1) != 1:
        raise TypeError(f"texts must be one-dimensional (one post per item), got {type(texts).__name__} with "
                        f"ndim={texts.ndim}; pass one column, e.g. df['text'] (or score_frame(df)).")
    if isinstance(texts, Mapping):
        raise TypeError("texts must be a sequence of posts, not a mapping (its keys would be scored); pass "
                        "list(mapping.values()).")
    if isinstance(texts, np.ndarray):
        return texts.tolist()
    if hasattr(texts, "tolist"):  # pandas Series / Index
        return list(texts.tolist())
    return list(texts)


def _is_one_post(texts: Any) -> bool:
    """``predict("one post")``: a single string (or bytes) is one post, not a sequence."""
    return isinstance(texts, (str, bytes))


def _joined_labels(chosen: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """Per row of the boolean matrix ``chosen``, its classes joined by the label separator
    (:func:`~tonecls.schema.join_labels`): one join per distinct set of labels, not per row."""
    if not len(chosen):
        return np.empty(0, dtype=object)
    distinct, rows = np.unique(chosen, axis=0, return_inverse=True)
    names = np.asarray(classes, dtype=object)
    joined = np.empty(len(distinct), dtype=object)
    joined[:] = [join_labels(names[row]) for row in distinct]
    return joined[rows.reshape(-1)]


def split_windows(token_lists: Sequence[Sequence[str]], window: int,
                  stride: int | None = None) -> tuple[list[Sequence[str]], np.ndarray]:
    """Overlapping windows of ``window`` tokens covering every token of each post.

    Windows start every ``stride`` tokens (default ``window // 2``); the last one ends at the
    post's last token. A post of at most ``window`` tokens is one window (itself). Returns
    the windows and, per window, the index of its post (non-decreasing).
    """
    stride = max(1, window // 2) if stride is None else stride
    windows: list[Sequence[str]] = []
    owners: list[int] = []
    for i, tokens in enumerate(token_lists):
        n = len(tokens)
        if n <= window:
            windows.append(tokens)
            owners.append(i)
            continue
        starts = list(range(0, n - window, stride)) + [n - window]
        windows += [tokens[start:start + window] for start in starts]
        owners += [i] * len(starts)
    return windows, np.asarray(owners, dtype=np.int64)


class ToneModel:
    """A trained tone classifier: raw posts in, calibrated probabilities / labels out.

    Build one with :func:`tonecls.model.train` or load one with :func:`tonecls.load_model`.

    Attributes
    ----------
    heads_ : list of HeadSpec
        The output heads (name, classes in output order, multilabel).
    network_ : InferenceNetwork or keras.Model
        ``token_ids (batch, time) -> {head: logits}``: the numpy network of
        :mod:`tonecls.model.inference` in a loaded or unpickled model (no TensorFlow), the
        Keras network in a freshly trained one.
    vocabulary_ : Vocabulary
    preprocess_config_ : dict
        The :class:`tonecls.preprocess.PreprocessConfig` used in training, as a dict.
    temperatures_ : dict of str -> float
        Logits are divided by these before the softmax / sigmoid (1.0 = uncalibrated).
    biases_ : dict of str -> ndarray
        Per-class biases added to the scaled logits of the heads recalibrated on a user's labels
        (:mod:`tonecls.model.recalibration`); heads not in it have none.
    thresholds_ : dict of str -> ndarray
        Per-class probability thresholds of the multi-label heads (0.5 by default).
    metadata_ : dict
        Metrics, data provenance, training config and command (saved in the bundle).
    source_ : dict
        The bundle the model was loaded from: ``{"bundle": path, "digest": SHA-256 of its
        seal}``; empty for a model trained in this process.
    long_posts : {"full", "windows", "truncate"}
        How posts longer than ``max_length`` tokens are scored: ``"full"`` (default) runs the
        network over every token; ``"windows"`` scores overlapping windows of ``max_length``
        tokens (stride ``max_length // 2``) covering every token and averages their logits;
        ``"truncate"`` keeps the first ``max_length`` tokens (tonecls <= 0.1). Posts of up to
        ``max_length`` tokens are scored identically by all three. See BENCHMARKS.md
        (long posts) for how the default was chosen.
    """

    def __init__(
        self,
        network,
        vocabulary: Vocabulary,
        heads: Sequence[HeadSpec],
        preprocess_config: Mapping[str, Any] | None = None,
        max_length: int = 64,
        temperatures: Mapping[str, float] | None = None,
        thresholds: Mapping[str, Sequence[float]] | None = None,
        metadata: Mapping[str, Any] | None = None,
        long_posts: str = "full",
        source: Mapping[str, Any] | None = None,
        biases: Mapping[str, Sequence[float]] | None = None,
    ) -> None:
        if long_posts not in LONG_POST_MODES:
            raise ValueError(f"long_posts must be one of {LONG_POST_MODES}, got {long_posts!r}")
        self.long_posts = long_posts
        self.network_ = network
        self.vocabulary_ = vocabulary
        self.heads_ = list(heads)
        self.preprocess_config_ = dict(preprocess_config or {})
        self.max_length = int(max_length)
        self.temperatures_ = {h.name: float((temperatures or {}).get(h.name, 1.0)) for h in self.heads_}
        self.thresholds_ = {
            h.name: np.asarray((thresholds or {}).get(h.name, [0.5] * len(h.classes)), dtype=np.float64)
            for h in self.heads_ if h.multilabel
        }
        self.biases_ = {name: np.asarray(values, dtype=np.float64) for name, values in (biases or {}).items()}
        self.metadata_ = dict(metadata or {})
        self.source_ = dict(source or {})
        self._preprocessor = None
        self._infer = None

    # --- repr / lookup ------------------------------------------------------------------

    def __repr__(self) -> str:
        heads = ", ".join(f"{h.name}[{len(h.classes)}{'+' if h.multilabel else ''}]" for h in self.heads_)
        return f"ToneModel(heads=[{heads}], vocabulary={len(self.vocabulary_)})"

    def head(self, name: str) -> HeadSpec:
        """The head called ``name``."""
        for spec in self.heads_:
            if spec.name == name:
                return spec
        raise UnknownHeadError(f"no head {name!r}; this model has {[h.name for h in self.heads_]}")

    # --- tokens -> logits -----------------------------------------------------------------

    @property
    def preprocessor(self):
        """The :class:`tonecls.preprocess.Preprocessor` the model was trained with."""
        if self._preprocessor is None:
            self._preprocessor = Preprocessor(PreprocessConfig.from_dict(self.preprocess_config_))
        return self._preprocessor

    def tokenize_with_status(self, texts: Iterable[Any]) -> tuple[list[list[str]], list[str]]:
        """Tokens and per-row status of ``texts`` under the model's preprocessing."""
        tokens, statuses = self.preprocessor.tokenize_with_status(_as_list(texts))
        return list(tokens), list(statuses)

    def _inference_function(self):
        if self._infer is None:
            if isinstance(self.network_, InferenceNetwork):
                self._infer = self.network_
                return self._infer
            import tensorflow as tf

            network = self.network_

            def infer(token_ids):
                with warnings.catch_warnings():  # reloaded models expect a list: same thing
                    warnings.filterwarnings("ignore", message="The structure of `inputs`")
                    return network(token_ids, training=False)

            self._infer = tf.function(infer, input_signature=[tf.TensorSpec([None, None], tf.int32)])
        return self._infer

    def logits_from_tokens(self, token_lists: Sequence[Sequence[str]],
                           batch_size: int = DEFAULT_BATCH_SIZE) -> dict[str, np.ndarray]:
        """Uncalibrated logits per head for already tokenised posts (one row per token list).

        Posts are sorted by length and each batch is padded only to its own longest post
        (length bucketing), then results are put back in input order. Posts longer than
        ``max_length`` are scored as :attr:`long_posts` says.
        """
        longest = max((len(t) for t in token_lists), default=0)
        if longest <= self.max_length or self.long_posts == "truncate":
            ids, lengths = self.vocabulary_.encode(token_lists, self.max_length)
            return self.logits_from_ids(ids, lengths, batch_size=batch_size)
        if self.long_posts == "full":
            ids, lengths = self.vocabulary_.encode(token_lists, longest)
            return self.logits_from_ids(ids, lengths, batch_size=batch_size)
        windows, owners = split_windows(token_lists, self.max_length)
        ids, lengths = self.vocabulary_.encode(windows, self.max_length)
        per_window = self.logits_from_ids(ids, lengths, batch_size=batch_size)
        counts = np.bincount(owners, minlength=len(token_lists)).astype(np.float64)[:, None]
        out = {}
        for name, values in per_window.items():
            total = np.zeros((len(token_lists), values.shape[1]), dtype=np.float64)
            np.add.at(total, owners, values)
            out[name] = (total / counts).astype(np.float32)  # one window: its logits, exactly
        return out

    def logits_from_ids(self, ids: np.ndarray, lengths: np.ndarray,
                        batch_size: int = DEFAULT_BATCH_SIZE) -> dict[str, np.ndarray]:
        """Logits per head of posts given as flat token ids and lengths (see ``Vocabulary.encode``)."""
        n = len(lengths)
        out = {h.name: np.empty((n, len(h.classes)), dtype=np.float32) for h in self.heads_}
        if n == 0:
            return out
        infer = self._inference_function()
        offsets = offsets_of(lengths)
        order = np.argsort(lengths, kind="stable")
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            result = infer(pad_batch(ids, offsets, lengths, rows))
            for spec in self.heads_:
                out[spec.name][rows] = np.asarray(result[spec.name])
        return out

    # --- public prediction API ------------------------------------------------------------

    def head_proba(self, head: str, logits: np.ndarray) -> np.ndarray:
        """Probabilities of ``head`` from its logits, with the fitted temperature (and the head's
        per-class bias, if recalibrated) applied."""
        scaled = np.asarray(logits, dtype=np.float64) / self.temperatures_[head] + self.biases_.get(head, 0.0)
        return sigmoid(scaled) if self.head(head).multilabel else softmax(scaled)

    @property
    def languages_(self) -> list[str] | None:
        """The languages the model reads (ISO 639-1), which decide which posts are
        ``other_language``: ``metadata_["languages"]`` if set, else ``["en"]`` for a model
        trained only on TweetEval and GoEmotions, else None (unknown). With None or ``[]``
        no post is flagged, though every post's language is still identified."""
        if self.metadata_.get("languages") is not None:
            return list(self.metadata_["languages"])
        heads = self.metadata_.get("config", {}).get("heads", [])
        english = {"tweeteval", "goemotions"}
        if heads and all(h.get("source", {}).get("kind") in english for h in heads):
            return ["en"]
        return None

    def _check_languages(self, tokens: list[list[str]], statuses: list[str],
                         all_languages: bool) -> tuple[list[str], list[str | None]]:
        """The language of each ``ok`` post (:mod:`tonecls.language`; None for the others) and
        the statuses with ``other_language`` for posts confidently in none of
        :attr:`languages_` (unless ``all_languages``)."""
        from tonecls.language import identify, is_other_language

        own = self.languages_
        statuses = list(statuses)
        languages: list[str | None] = [None] * len(statuses)
        ok_rows = [i for i, s in enumerate(statuses) if s == Status.OK]
        for row, language in zip(ok_rows, identify([tokens[i] for i in ok_rows], own or ())):
            languages[row] = language
            if not all_languages and is_other_language(language, own):
                statuses[row] = Status.OTHER_LANGUAGE
        return statuses, languages

    def compute_logits(self, texts: Iterable[Any], batch_size: int = DEFAULT_BATCH_SIZE, *,
                       all_languages: bool = False) -> PostLogits:
        """Status, language, token count and (for ``ok`` posts) logits of every post: the
        heavy part of :meth:`predict`, in numpy (no pandas, no TensorFlow for a loaded model).
        Any iterable of posts; see :meth:`predict` for statuses and ``all_languages``."""
        tokens, statuses = self.tokenize_with_status(texts)
        statuses, languages = self._check_languages(tokens, statuses, all_languages)
        ok_rows = np.flatnonzero(np.fromiter((s == Status.OK for s in statuses), dtype=bool, count=len(statuses)))
        logits = self.logits_from_tokens([tokens[i] for i in ok_rows], batch_size=batch_size)
        n_tokens = [None if s in _NO_TEXT else len(t) for t, s in zip(tokens, statuses)]
        return PostLogits(statuses, languages, n_tokens, ok_rows, logits)

    def proba_from_logits(self, post_logits: PostLogits) -> dict[str, np.ndarray]:
        """Calibrated probabilities per head of :meth:`compute_logits`'s result, one row per
        post (NaN where the post has no predictions)."""
        proba = {}
        for spec in self.heads_:
            values = np.full((len(post_logits.statuses), len(spec.classes)), np.nan)
            values[post_logits.ok_rows] = self.head_proba(spec.name, post_logits.logits[spec.name])
            proba[spec.name] = values
        return proba

    def predict_proba(self, texts: Iterable[Any] | str, batch_size: int = DEFAULT_BATCH_SIZE, *,
                      all_languages: bool = False) -> dict[str, np.ndarray]:
        """Calibrated class probabilities per head, shape ``(n_texts, n_classes)``.

        Rows whose post cannot be scored (missing, not text, empty, in another language...)
        are NaN; see :meth:`predict` for the reason and for ``all_languages``. One post given
        as a string gives one row per head as a 1-D array of shape ``(n_classes,)``.
        """
        if _is_one_post(texts):
            proba = self.predict_proba([texts], batch_size, all_languages=all_languages)
            return {head: values[0] for head, values in proba.items()}
        return self.proba_from_logits(self.compute_logits(texts, batch_size, all_languages=all_languages))

    def predict(self, texts: Iterable[Any] | str, batch_size: int = DEFAULT_BATCH_SIZE, *,
                all_languages: bool = False) -> pd.DataFrame | dict[str, Any]:
        """The scoring output columns (see :mod:`tonecls.schema`), one row per text, in input order.

        ``tonecls_status`` is ``ok`` or why the row was not scored; ``tonecls_language`` the
        post's language (:mod:`tonecls.language`: an ISO 639-1 code, or ``und`` when not
        determined: very short, emoji-only or mixed posts); ``tonecls_n_tokens`` the
        number of tokens of the post; then per single-label head ``H_label``,
        ``H_confidence``, ``H_polarity`` (polarity ``p(positive) - p(negative)``, heads with
        both classes) and ``H_p_<class>``, per multi-label head ``H_labels`` (predicted
        classes joined by ``;``, empty if none) and ``H_p_<class>``. Rows that are not
        ``ok`` have None labels and NaN probabilities.

        Posts confidently in a language the model was not trained on (:attr:`languages_`)
        get the status ``other_language`` and no predictions, unless ``all_languages=True``.
        One post given as a string gives one result: a dict of these columns' values. The rows of a
        pandas Series keep its index (so ``df["label"] = predict(df.text)["sentiment_label"]``
        lines up); other inputs give a RangeIndex.
        """
        if _is_one_post(texts):
            return self.predict([texts], batch_size, all_languages=all_languages).iloc[0].to_dict()
        import pandas as pd

        predictions = self.predictions_from_logits(self.compute_logits(texts, batch_size, all_languages=all_languages))
        if isinstance(texts, pd.Series):  # rows line up with the Series' rows
            predictions.index = texts.index
        return predictions

    def predictions_from_logits(self, post_logits: PostLogits) -> pd.DataFrame:
        """The output columns of :meth:`predict` from :meth:`compute_logits`'s result."""
        import pandas as pd

        proba = self.proba_from_logits(post_logits)
        statuses = post_logits.statuses
        ok = np.zeros(len(statuses), dtype=bool)
        ok[post_logits.ok_rows] = True
        columns: dict[str, Any] = {STATUS_COLUMN: pd.array(statuses, dtype=object),
                                   LANGUAGE_COLUMN: pd.array(post_logits.languages, dtype=object),
                                   N_TOKENS_COLUMN: pd.array(post_logits.n_tokens, dtype="Int32")}
        for spec, head in zip(self.heads_, self.output_schema.heads):
            p = proba[spec.name]
            classes = np.asarray(spec.classes, dtype=object)
            labels = np.full(len(p), None, dtype=object)
            if spec.multilabel:
                labels[ok] = _joined_labels(p[ok] >= self.thresholds_[spec.name], spec.classes)
                columns[head.label_column] = labels
            else:
                labels[ok] = classes[p[ok].argmax(axis=1)]
                columns[head.label_column] = labels
                columns[head.confidence_column] = np.where(ok, np.nan_to_num(p).max(axis=1), np.nan)
            if head.polarity_column:
                index = list(spec.classes)
                columns[head.polarity_column] = p[:, index.index(POSITIVE_CLASS)] - p[:, index.index(NEGATIVE_CLASS)]
            for j, name in enumerate(spec.classes):
                columns[head.proba_column(name)] = p[:, j]
        return pd.DataFrame(columns, index=pd.RangeIndex(len(statuses)))

    @property
    def output_schema(self) -> OutputSchema:
        """The output contract of this model's heads (see :mod:`tonecls.schema`)."""
        return OutputSchema.from_heads(self.heads_)

    def output_columns(self) -> list[str]:
        """Names of the columns :meth:`predict` returns, in order."""
        return self.output_schema.columns

    # --- what the model is -------------------------------------------------------------

    def provenance(self) -> dict[str, Any]:
        """What the model records about itself, for reports: the bundle it was loaded from (None
        if not saved), name, version, dates, versions, training command, heads and metrics."""
        meta = self.metadata_
        recorded = {key: meta.get(key) for key in
                    ("name", "version", "created", "trained_at", "tonecls_version", "keras_version",
                     "command", "metrics")}
        return {"bundle": self.source_.get("bundle"), "digest": self.source_.get("digest"),
                **recorded, "heads": [h.name for h in self.heads_]}

    def identity(self) -> dict[str, Any]:
        """What identifies this model across runs (a resumed job must use the same one): the
        digest of the bundle it was loaded from (else of its weights, vocabulary and heads) and
        a digest of what scoring uses beside the weights (calibration, biases, thresholds,
        long-post mode, preprocessing), which a recalibrated or edited copy changes."""
        import hashlib
        import json

        runtime = {"temperatures": self.temperatures_, "long_posts": self.long_posts,
                   "biases": {k: v.tolist() for k, v in self.biases_.items()},
                   "thresholds": {k: v.tolist() for k, v in self.thresholds_.items()},
                   "preprocess": self.preprocess_config_, "max_length": self.max_length}
        settings = hashlib.sha256(json.dumps(runtime, sort_keys=True, default=str).encode()).hexdigest()
        if self.source_.get("digest"):
            return {"bundle_digest": self.source_["digest"], "settings_digest": settings}
        digest = hashlib.sha256()
        network = self.network_ if isinstance(self.network_, InferenceNetwork) else None
        weights = network.weights if network is not None else {
            f"{i}": np.asarray(w) for i, w in enumerate(self.network_.get_weights())}
        for name in sorted(weights):
            digest.update(name.encode() + np.ascontiguousarray(weights[name], dtype=np.float32).tobytes())
        described = {"heads": [h.to_dict() for h in self.heads_], "tokens": self.vocabulary_.tokens_}
        digest.update(json.dumps(described, sort_keys=True, default=str).encode())
        return {"model_digest": digest.hexdigest(), "settings_digest": settings}

    # --- persistence ---------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """Pickle support (e.g. shipping a model to Dask workers): the network travels as its
        numpy export, so unpickling needs neither Keras nor TensorFlow; caches are rebuilt."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("_preprocessor", "_infer")}
        if not isinstance(self.network_, InferenceNetwork):
            from tonecls.model.keras_export import from_keras

            state["network_"] = from_keras(self.network_, [h.name for h in self.heads_])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({"biases_": {}, **state}, _preprocessor=None, _infer=None)

    def save(self, path: str | Path) -> Path:
        """Write the model bundle directory ``path`` atomically (see :mod:`tonecls.model.bundle`)."""
        return _bundle.save_bundle(self, path)

    @classmethod
    def load(cls, path: str | Path | None = None) -> ToneModel:
        """Load a model bundle (see :func:`load_model`)."""
        return cls(**_bundle.read_bundle(path))


def load_model(path: str | Path | None = None) -> ToneModel:
    """Load a model bundle; with no ``path``, the default model shipped with tonecls.

    Scoring with the loaded model needs neither TensorFlow nor Keras (the network runs in
    numpy, see :mod:`tonecls.model.inference`). Every problem with the bundle (missing,
    damaged, edited files) is an :class:`~tonecls.errors.InputError` that says what is wrong.
    """
    return ToneModel.load(path)
