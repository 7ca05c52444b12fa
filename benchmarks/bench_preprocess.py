"""Preprocessing: tonecls' tokeniser against nltk's plain TweetTokenizer, side by side, one core.

Tokenises every TweetEval text (all tasks and splits, 199,465 posts) with nltk's
``TweetTokenizer().tokenize`` (the baseline: no personal-data scrubbing, no normalisation),
tonecls' ``Preprocessor().tokenize`` with fresh caches (every post new to them) and with the
same Preprocessor again (caches full), repetitions alternating; then the share of posts whose raw
tokens (before normalisation) equal nltk's, and the CPU time of pathological posts.

    nice -n 10 .venv/bin/python -m benchmarks.bench_preprocess
    git archive COMMIT tonecls | tar -x -C /tmp/tonecls-before      # an earlier tokeniser ...
    .venv/bin/python -m benchmarks.bench_preprocess --compare-source /tmp/tonecls-before  # ... beside

``--compare-source`` adds the Preprocessor of another source tree of tonecls (fresh caches)
and counts the posts whose tokens differ from this checkout's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from benchmarks import harness
from benchmarks.workloads import tweeteval_texts
from tonecls.preprocess import Preprocessor

PATHOLOGICAL = {  # name -> (piece, repeats); posts are cut at max_chars (10,000) first
    "100,000 digits": ("1", 100_000),
    "100,000 letters": ("a", 100_000),
    "10,000 x '12 '": ("12 ", 10_000),
    "50,000 x '@a'": ("@a", 50_000),
    "25,000 x '😀\\u200d'": ("😀\u200d", 25_000),
    "10,000 x 'http://a.b/('": ("http://a.b/(", 10_000),
    "50,000 x 'a.' (slowest found)": ("a.", 50_000),
    "50,000 x '-.'": ("-.", 50_000),
}


def variants(texts: list[str], source: str | None) -> tuple[dict[str, Callable[[], object]], str]:
    """The tokenisers to time (label -> run over ``texts``) and the baseline's label."""
    from nltk.tokenize import TweetTokenizer

    nltk_tokenizer = TweetTokenizer()
    warm = Preprocessor()
    warm.tokenize(texts)
    found: dict[str, Callable[[], object]] = {
        "nltk TweetTokenizer (no scrubbing, no normalisation)": lambda: [nltk_tokenizer.tokenize(t) for t in texts],
    }
    baseline = next(iter(found))
    if source:
        other = harness.module_from_source(source, "tonecls/preprocess.py", "preprocess_compared").Preprocessor
        baseline = f"{Path(source).name}, fresh Preprocessor"
        found[baseline] = lambda: other().tokenize(texts)
    found["tonecls, fresh Preprocessor (every post new to the caches)"] = lambda: Preprocessor().tokenize(texts)
    found["tonecls, the same Preprocessor again (caches full)"] = lambda: warm.tokenize(texts)
    return found, baseline


def agreement(texts: list[str]) -> harness.Table:
    """Posts whose raw tokens equal nltk's TweetTokenizer on the same cleaned text (entities
    decoded, invisibles removed, NFKC): the rest are the tokeniser's deliberate differences."""
    from nltk.tokenize import TweetTokenizer

    nltk_tokenizer, preprocessor = TweetTokenizer(), Preprocessor()
    agree = sum(preprocessor._raw_tokens(text) == nltk_tokenizer.tokenize(preprocessor._clean(text))
                for text in texts)
    table = harness.Table(["measure", "posts", "share"])
    table.add("raw tokens equal to nltk TweetTokenizer's on the cleaned text", f"{agree:,} of {len(texts):,}",
              f"{100 * agree / len(texts):.2f}%")
    return table


def pathological(scale: int) -> harness.Table:
    """CPU milliseconds of one Preprocessor on each pathological post (``repeats // scale``)."""
    preprocessor = Preprocessor()
    table = harness.Table(["post", "CPU ms"])
    for name, (piece, repeats) in PATHOLOGICAL.items():
        _, sample = harness.timed(lambda: preprocessor.tokenize_post(piece * (repeats // scale)))
        table.add(name, harness.number(1000 * sample.cpu_s, 1))
    return table


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N posts")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per variant (the best counts)")
    parser.add_argument("--compare-source", metavar="SOURCE",
                        help="also time the Preprocessor of this source tree of tonecls")
    args = parser.parse_args(argv)
    with harness.Report(args, "Preprocessing: tokenisers side by side") as report:
        texts = tweeteval_texts()[: args.limit]
        found, baseline = variants(texts, args.compare_source)
        repeats = 1 if args.smoke else args.repeat
        timings = harness.alternate(found, repeats, keep_results=bool(args.compare_source))
        report.table(harness.rate_table(timings, len(texts), baseline=baseline),
                     f"{len(texts):,} TweetEval posts, one process, best of {repeats} alternating repetitions:")
        if args.compare_source:
            ours = timings["tonecls, fresh Preprocessor (every post new to the caches)"].result
            differ = sum(a != b for a, b in zip(timings[baseline].result, ours))
            report.note(f"\nposts whose tokens differ from {Path(args.compare_source).name}'s: "
                        f"{differ:,} of {len(texts):,}")
        report.table(agreement(texts))
        report.table(pathological(100 if args.smoke else 1), "Pathological posts, CPU time:")


if __name__ == "__main__":
    main()
