"""How much of a benchmark split the model's vocabulary covers (a measure of vocabulary shift).

Usage: python benchmarks/vocab_coverage.py [--model BUNDLE] [--task sentiment] [--top 25]

For each split of a TweetEval task: the share of tokens outside the model's vocabulary (they
all map to one unknown token), the share of tokens outside the vocabulary that have a GloVe
6B vector (what ``pretrained_extra_words`` could recover), and the most frequent unknown tokens.
"""

from __future__ import annotations

import argparse
from collections import Counter

from tonecls import load_model
from tonecls.datasets import load_tweeteval
from tonecls.model.embeddings import GLOVE_PACKAGE_NAME, load_word_vectors, lookup_candidates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model bundle (default: the bundled model)")
    parser.add_argument("--task", default="sentiment", help="TweetEval task (default: sentiment)")
    parser.add_argument("--top", type=int, default=25, help="how many unknown tokens to list")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)

    model = load_model(args.model)
    known = model.vocabulary_.index_
    glove, _ = load_word_vectors(GLOVE_PACKAGE_NAME)
    print(f"| {args.task} split | posts | tokens | outside vocabulary | of which in GloVe 6B | most frequent unknown tokens |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for split in ("train", "val", "test"):
        texts = load_tweeteval(args.task, split, args.data_dir)["text"].tolist()
        counts = Counter(token for tokens in model.tokenize_with_status(texts)[0] for token in tokens)
        unknown = Counter({t: c for t, c in counts.items() if t not in known})
        in_glove = sum(c for t, c in unknown.items() if any(w in glove for w in lookup_candidates(t)))
        total = sum(counts.values())
        top = ", ".join(t for t, _ in unknown.most_common(args.top))
        print(f"| {split} | {len(texts):,} | {total:,} | {sum(unknown.values()) / total:.1%} | "
              f"{in_glove / total:.1%} | {top} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
