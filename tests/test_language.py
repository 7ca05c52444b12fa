"""Language identification of posts (tonecls.language) and the other_language status."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from support import ROOT

from tonecls.language import (
    LanguageRule,
    default_distribution,
    identify,
    identify_texts,
    is_other_language,
    words_for_identification,
)
from tonecls.preprocess import tokenize


POSTS = pd.read_csv(ROOT / "data" / "langid_posts.csv", dtype=str, keep_default_na=False)


OTHER = {
    "c'est vraiment nul, j'ai attendu deux heures pour rien": "fr",
    "die Bahn hat schon wieder 40 Minuten Verspätung, ich könnte ausrasten": "de",
    "que asco de servicio, llevo una hora esperando y nadie contesta el teléfono": "es",
    "o atendimento dessa loja é péssimo, nunca mais compro aqui": "pt",
    "今天又堵车了，迟到了半个小时": "zh",
    "опять автобус опоздал на полчаса, сколько можно": "ru",
}


ENGLISH = [
    "I hate this company, worst experience of my life, furious",
    "@user thanks for the follow!! see u at the game tonight https://t.co/x #GoTeam",
    "finna go to the store, u want sumn?",
    "mate that was proper mental, cheers for the lift",
    "SOOOOO HAPPY RIGHT NOW OMG",
]


def test_clear_posts_get_their_language():
    assert identify_texts(list(OTHER)) == list(OTHER.values())
    assert identify_texts([ENGLISH[0]]) == ["en"]


def test_english_slang_and_dialects_are_never_another_language():
    for language in identify_texts(ENGLISH):
        assert language in ("en", "und")
    rows = POSTS[POSTS["kind"] == "english"]  # hand-written slang, AAE, British, Pidgin...
    flagged = [t for t, lang in zip(rows["text"], identify_texts(rows["text"])) if is_other_language(lang, ["en"])]
    assert len(flagged) <= 1, flagged


@pytest.mark.parametrize("kind", ["short", "emoji"])
def test_very_short_and_emoji_only_posts_are_undetermined(kind):
    rows = POSTS[POSTS["kind"] == kind]
    assert len(rows) >= 10
    assert set(identify_texts(rows["text"])) == {"und"}


def test_mixed_posts_are_undetermined_when_one_half_is_english():
    mixed = ["so much work today, no tengo ganas de nada", "happy birthday mi amor, te quiero mucho",
             "best day ever, merci beaucoup à tous"]
    assert identify_texts(mixed) == ["und"] * len(mixed)
    # without the check of the halves, the whole post reads as its non-English part
    no_check = LanguageRule(threshold=0.6, min_letters=8, mixed_threshold=1.01)
    assert identify(tokenize(mixed), rule=no_check) == ["es", "es", "fr"]
    # and the check is about the model's languages: for a Japanese model they are Spanish/French
    assert identify(tokenize(mixed), languages=("ja",)) == ["es", "es", "fr"]


def test_handles_urls_numbers_and_emoji_do_not_count_as_words():
    tokens = tokenize(["@mariadelcarmen https://t.co/abc 12345 😂😂 #tbt [NAME]"])[0]
    assert words_for_identification(tokens) == "tbt"
    # a Spanish handle does not make an English post Spanish
    assert identify_texts(["@juanperez_gonzalez @ana_maria_lopez this is the best day of my life"]) == ["en"]


def test_not_text_rows_and_empty_token_lists_are_undetermined():
    assert identify([[], ["<user>"]]) == ["und", "und"]
    assert identify_texts([None, 42, ""]) == ["und"] * 3


def test_rule_thresholds_decide():
    tokens = tokenize(["die Bahn hat schon wieder Verspätung"])
    assert identify(tokens) == ["de"]
    assert identify(tokens, rule=LanguageRule(threshold=1.01)) == ["und"]
    assert identify(tokens, rule=LanguageRule(min_letters=100)) == ["und"]


@pytest.mark.parametrize("rule", [LanguageRule(), LanguageRule(threshold=0.7), LanguageRule(threshold=0.45)])
def test_skipping_langid_never_changes_a_status(rule, shared_data):
    """The cascade (fastText alone where it settles the post) flags exactly the posts the
    full average flags; it may only say en where the average said und, or the reverse."""
    texts = POSTS["text"].tolist() + list(OTHER) + ENGLISH
    for task in ("sentiment", "emotion", "irony"):
        texts += (shared_data / "tweeteval" / task / "val_text.txt").read_text(encoding="utf-8").splitlines()[:1500]
    tokens = tokenize(texts)
    cascade = identify(tokens, rule=rule)
    full = identify(tokens, rule=rule, distribution=default_distribution)
    assert [is_other_language(x, ["en"]) for x in cascade] == [is_other_language(x, ["en"]) for x in full]
    changed = {(f, c) for f, c in zip(full, cascade) if f != c}
    assert changed <= {("und", "en"), ("en", "und")}
    if rule.threshold <= 0.5:  # nothing can be settled by fastText alone
        assert not changed


def test_pruned_fasttext_gives_the_languages_of_its_whole_distribution(shared_data):
    """fastText asked only for the languages at the rule's bound: every post's language is
    what the cascade over fastText's whole top-5 distribution gives."""
    from tonecls.language import DEFAULT_RULE, fasttext_distribution, settled_by_fasttext

    texts = POSTS["text"].tolist() + list(OTHER) + ENGLISH
    for task in ("sentiment", "emotion", "hate"):
        texts += (shared_data / "tweeteval" / task / "val_text.txt").read_text(encoding="utf-8").splitlines()[:2000]
    tokens = tokenize(texts)

    def whole_distribution_cascade(post_tokens):
        text = words_for_identification(post_tokens)
        if sum(map(str.isalpha, text)) < DEFAULT_RULE.min_letters:
            return "und"
        settled = settled_by_fasttext(fasttext_distribution(text), frozenset({"en"}))
        return settled if settled is not None else identify([post_tokens], distribution=default_distribution)[0]

    assert identify(tokens) == [whole_distribution_cascade(t) for t in tokens]


def test_is_other_language():
    assert is_other_language("fr", ["en"]) and not is_other_language("en", ["en"])
    assert not is_other_language("und", ["en"]) and not is_other_language(None, ["en"])
    assert not is_other_language("fr", None) and not is_other_language("fr", [])


def test_import_is_light_and_loads_no_tensorflow():
    code = ("import sys, time; t = time.perf_counter(); import tonecls.language as L; "
            "print(time.perf_counter() - t); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules and 'fasttext' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert float(done.stdout.strip()) < 2.0  # generous: the import itself is ~15 ms


def test_probe_templates_are_never_flagged():
    from tonecls.audit.probes import build_probe_sentences, load_probe_terms

    sentences = build_probe_sentences(*load_probe_terms())
    languages = identify_texts(pd.unique(sentences["sentence"]))
    assert not any(is_other_language(lang, ["en"]) for lang in languages)
