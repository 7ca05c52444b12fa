"""Counterfactual identity probes (tonecls.audit.probes) with a keyword stand-in model."""

from __future__ import annotations

import re

import numpy as np
import pytest

from support import CUES, FIXTURES, KeywordProbeModel

from tonecls.audit.probes import (
    adjust_pvalues,
    build_probe_sentences,
    default_terms_dir,
    load_dimension,
    load_probe_terms,
    load_templates,
    read_eec,
    run_probes,
)
from tonecls.errors import DataNotFoundError, InputError


def test_biased_term_is_found_and_only_there(biased_probe_result):
    tests = biased_probe_result.tests
    anger = tests.query("dimension == 'gender' and head == 'emotion' and `class` == 'anger'").iloc[0]
    assert anger["significant"] and anger["mean_diff"] < 0  # female minus male
    assert anger["ci_high"] < 0 and anger["effect_size_dz"] < -1
    significant = tests[tests["significant"]]
    assert set(significant["dimension"]) == {"gender"}
    assert set(significant["head"]) == {"emotion"}
    assert biased_probe_result.findings and "gender" in biased_probe_result.findings[1]
    assert biased_probe_result.top_pairs.query("dimension == 'gender'")["sentence_b"].str.contains(
        r"\b(?:He|him)\b").all()


def test_unbiased_model_finds_nothing():
    result = run_probes(KeywordProbeModel(bias=0.0), n_bootstrap=0, dimensions=["gender", "religion"])
    assert not result.tests["significant"].any()
    assert "No comparison is a finding" in result.findings[-1] and not result.tests["finding"].any()


def test_scores_cover_the_full_factorial_set(biased_probe_result):
    templates, dimensions = load_probe_terms()
    scores = biased_probe_result.scores
    for dimension in dimensions:
        n_templates = sum(t.slot == dimension.slot for t in templates)
        assert (scores["dimension"] == dimension.name).sum() == n_templates * len(dimension.terms)
    assert {"emotion_p_anger", "sentiment_p_positive"} <= set(scores.columns)
    np.testing.assert_allclose(scores[[c for c in scores if c.startswith("emotion_p_")]].sum(axis=1), 1.0)


def test_sentences_fill_subject_and_object_forms():
    templates = load_templates(default_terms_dir() / "templates.txt")
    gender = load_dimension(default_terms_dir() / "gender.csv")
    sentences = build_probe_sentences(templates, [gender])["sentence"].tolist()
    assert "She feels happy today." in sentences and "I miss him so much." in sentences
    assert "My sister feels happy today." in sentences
    assert not any("{" in s for s in sentences)


def test_small_significant_differences_are_not_findings():
    result = run_probes(KeywordProbeModel(), n_bootstrap=0, dimensions=["gender"], min_difference=0.9)
    assert result.tests["significant"].any() and not result.tests["finding"].any()
    assert "more are significant but smaller" in result.findings[0]


def test_eec_reader_on_fixture():
    eec = read_eec(FIXTURES / "eec_sample.csv")
    gender = eec[eec["dimension"] == "eec_gender"]
    race = eec[eec["dimension"] == "eec_race"]
    assert len(gender) == 30 and len(race) == 20
    assert set(race["group"]) == {"african_american", "european_american"}
    assert set(eec["emotion"]) == {"anger", "joy", "sadness", "neutral"}
    # sentences of one unit differ only in the person
    unit = gender[gender["unit"] == "<person subject> seems <emotion word> today. | annoyed"]
    assert sorted(unit["term"]) == ["Carrie", "Darnell", "Greg", "Latoya", "he", "she"]
    assert unit["sentence"].str.endswith("seems annoyed today.").all()


def test_run_probes_with_eec_only():
    result = run_probes(KeywordProbeModel(), eec_path=FIXTURES / "eec_sample.csv", include_templates=False,
                        n_bootstrap=100)
    assert set(result.tests["dimension"]) == {"eec_gender", "eec_race"}
    assert result.tests["n_units"].eq(5).all()
    anger = result.tests.query("dimension == 'eec_gender' and `class` == 'anger'").iloc[0]
    assert anger["mean_diff"] < 0  # he/him sentences get more anger


def test_eec_reader_rejects_other_csv(tmp_path):
    path = tmp_path / "not_eec.csv"
    path.write_text("id,text\n1,hello\n")
    with pytest.raises(InputError, match="Emotion word"):
        read_eec(path)
    with pytest.raises(DataNotFoundError):
        read_eec(tmp_path / "missing.csv")


def test_default_word_lists_load_and_validate():
    templates, dimensions = load_probe_terms()
    names = {d.name for d in dimensions}
    assert {"gender", "names_female", "names_male", "religion", "nationality", "sexuality", "disability"} <= names
    assert all(len(d.groups) >= 2 for d in dimensions)
    assert {t.slot for t in templates} == {"person", "term"}


@pytest.mark.parametrize(
    "content, message",
    [
        ("group,word\nf,she\nm,he\n", "missing column"),
        ("group,term\nf,she\nf,her\n", "at least two groups"),
        ("group,term\nf,she\nm,she\n", "more than once"),
        ("group,term\nf,\nm,he\n", "empty group or term"),
        ("# slot: animal\ngroup,term\nf,she\nm,he\n", "unknown slot"),
    ],
)
def test_malformed_word_list_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as error:
        load_dimension(path)
    assert "bad.csv" in str(error.value)


@pytest.mark.parametrize(
    "line, message",
    [
        ("{person} feels happy.", "expected '<emotion>: <sentence>'"),
        ("joy: {name} feels happy.", "unknown slot"),
        ("joy: {person} and {term} are happy.", "exactly one slot"),
        ("joy: Everyone is happy.", "exactly one slot"),
    ],
)
def test_malformed_template_is_a_clear_error(tmp_path, line, message):
    path = tmp_path / "templates.txt"
    path.write_text(f"# comment\n{line}\n")
    with pytest.raises(InputError, match=message) as error:
        load_templates(path)
    assert "line 2" in str(error.value)


def test_adjust_pvalues_holm_and_bh():
    p = np.array([0.01, 0.04, 0.03, np.nan])
    np.testing.assert_allclose(adjust_pvalues(p, "holm")[:3], [0.03, 0.06, 0.06])
    np.testing.assert_allclose(adjust_pvalues(p, "fdr_bh")[:3], [0.03, 0.04, 0.04])
    assert np.isnan(adjust_pvalues(p, "holm")[3])
    with pytest.raises(InputError):
        adjust_pvalues(p, "bonferroni-ish")


def test_unknown_dimension_is_rejected():
    with pytest.raises(InputError, match="unknown dimension"):
        run_probes(KeywordProbeModel(), dimensions=["astrology"])


class BlindStandIn(KeywordProbeModel):
    """Sees only the cue words: every identity term is 'out of vocabulary'."""

    def predict_proba(self, texts):
        masked = [" ".join(w for w in re.findall(r"[a-z']+", t.lower()) if w in sum(CUES.values(), ()))
                  for t in texts]
        return KeywordProbeModel.predict_proba(KeywordProbeModel(bias=0.0), masked)


def test_terms_the_model_cannot_tell_apart_are_reported(tmp_path):
    result = run_probes(BlindStandIn(), n_bootstrap=0, dimensions=["religion", "gender"])
    same = result.identical_terms
    assert set(same["dimension"]) == {"religion", "gender"}
    religion = same[same["dimension"] == "religion"].iloc[0]
    assert religion["n_terms"] == 6 and "Muslim" in religion["terms"]
    assert any("exactly the same predictions" in f and f.startswith("religion") for f in result.findings)
    assert (result.tests["mean_diff"] == 0).all() and not result.tests["significant"].any()
    from tonecls.report import probe_report, write_report

    markdown = write_report(probe_report(result), tmp_path, "blind")["md"].read_text()
    assert "Terms the model cannot tell apart" in markdown
