"""Agreement of tonecls' dialect tokenisation with twokenize, the tokenizer of the TwitterAAE model.

Usage: PYTHONPATH=DIR python benchmarks/dialect_tokenizer_agreement.py

where DIR holds the ``twokenize`` package from PyPI (the Python 3 port of the ARK/Owoputi
twokenize used by Blodgett et al. 2016), e.g. ``pip install --target DIR twokenize``. It is not a
tonecls dependency; this script only measures how closely ``tokenize_for_dialect`` (NLTK's
TweetTokenizer plus re-joining) reproduces it, on the TweetEval test posts of four tasks.
Reference pipeline: ``normalizeTextForTagger`` as in twokenize ("&amp;" then HTML entities),
``tokenize``, @-mentions and URLs dropped, lowercased; the same CVB0 inference on both.
"""

from __future__ import annotations

import html
import re

import numpy as np

from tonecls.audit.dialect import PROPORTION_COLUMNS, DialectEstimator, cvb0_proportions, tokenize_for_dialect
from tonecls.datasets import load_tweeteval

try:
    from twokenize import twokenize
except ImportError as error:  # pragma: no cover
    raise SystemExit(f"needs the twokenize package on PYTHONPATH (see the docstring): {error}")

MENTION = re.compile(r"[@＠][a-zA-Z0-9_]+$")
URL = re.compile(twokenize.url)


def reference_tokens(text: str) -> list[str]:
    tokens = twokenize.tokenize(html.unescape(text.replace("&amp;", "&")))
    return [t.lower() for t in tokens if not MENTION.match(t) and not URL.match(t)]


def main() -> None:
    texts = [t for task in ("sentiment", "emotion", "hate", "offensive")
             for t in load_tweeteval(task, "test")["text"].tolist()]
    estimator = DialectEstimator().fit()
    vocabulary, likelihoods = estimator.vocabulary_, estimator.likelihoods_
    same_tokens = same_in_vocabulary = 0
    rows, lengths, estimated = [], [], []
    for i, text in enumerate(texts):
        ours, reference = tokenize_for_dialect(text), reference_tokens(text)
        same_tokens += ours == reference
        in_vocabulary = [w for w in reference if w in vocabulary]
        same_in_vocabulary += [w for w in ours if w in vocabulary] == in_vocabulary
        if in_vocabulary and len(in_vocabulary) >= 0.2 * len(reference):
            rows += [vocabulary[w] for w in in_vocabulary]
            lengths.append(len(in_vocabulary))
            estimated.append(i)
    reference_p = np.full((len(texts), 4), np.nan)
    reference_p[estimated] = cvb0_proportions(likelihoods[rows], lengths)
    ours_p = estimator.predict_proportions(texts)[PROPORTION_COLUMNS].to_numpy()
    both = ~np.isnan(reference_p[:, 0]) & ~np.isnan(ours_p[:, 0])
    delta = np.abs(ours_p[both] - reference_p[both])

    def group(p):
        return np.where(p[:, 0] >= 0.8, 1, np.where(p[:, 3] >= 0.8, 2, 0))

    print(f"posts: {len(texts)}")
    print(f"identical token lists: {same_tokens / len(texts):.1%}; identical in-vocabulary tokens: "
          f"{same_in_vocabulary / len(texts):.1%}")
    print(f"estimate in one pipeline only: {int((np.isnan(reference_p[:, 0]) != np.isnan(ours_p[:, 0])).sum())}")
    print(f"|difference| of dialect_aa: mean {delta[:, 0].mean():.4f}, 99th percentile "
          f"{np.quantile(delta[:, 0], 0.99):.4f}, max {delta[:, 0].max():.4f}")
    print(f"|difference| of dialect_white: mean {delta[:, 3].mean():.4f}, max {delta[:, 3].max():.4f}")
    print(f"same dialect group at threshold 0.8: {np.mean(group(ours_p[both]) == group(reference_p[both])):.2%}")


if __name__ == "__main__":
    main()
