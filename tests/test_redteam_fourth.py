"""Fourth red-team pass: probe word lists as editors save them, group and id values of JSONL and
Parquet exports through audit / prevalence / sample, the numbers of the reports against each
other and the input, re-sealed bundles and resume, concurrent writers of one report. Each case
checks the README's promises exactly (every row once, in order, values as they were; bad input
is exit status 2 with one ``tonecls COMMAND: error:`` paragraph, never a silently wrong ``ok``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from support import ROOT
from tonecls.cli import main

SAMPLE = ROOT / "data" / "sample_posts.csv"
QUIET = ["-q", "--workers", "1"]


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def assert_refused(result: tuple[int, str, str], command: str, *said: str) -> None:
    code, out, err = result
    assert code == 2, f"exit {code}\n{out}\n{err}"
    assert err.startswith(f"tonecls {command}: error: "), err
    assert "Traceback" not in out + err and err.count("\n") == 1, err
    for text in said:
        assert text in err, err


# --- probe word lists as editors save them ----------------------------------------------------


def _terms(path: Path, templates: bytes, **lists: bytes) -> Path:
    path.mkdir()
    (path / "templates.txt").write_bytes(templates)
    for name, content in lists.items():
        (path / f"{name}.csv").write_bytes(content)
    return path


TEMPLATES = b"joy: {person} is great.\njoy: My {term} friend is great.\n"
COLORS = b"group,term\na,Red\nb,Blue\n"
BOM = b"\xef\xbb\xbf"


def test_a_person_word_list_saved_with_a_bom_still_fills_the_person_slot(tmp_path, capsys):
    # was: the BOM hid the '# slot: person' line, so 'she' / 'he' silently filled {term}
    # ("My she friend is great.") and the report compared sentences no one wrote
    terms = _terms(tmp_path / "terms", TEMPLATES, colors=COLORS,
                   gender=BOM + b"# slot: person\ngroup,term,object\nfemale,she,her\nmale,he,him\n")
    code, _, err = cli(capsys, "probe", "-o", tmp_path / "r", "--terms", terms)
    assert code == 0, err
    scores = pd.read_csv(tmp_path / "r_scores.csv", dtype=str, keep_default_na=False)
    gender = scores[scores["dimension"] == "gender"]
    assert gender["sentence"].tolist() == ["She is great.", "He is great."]
    assert gender["group"].tolist() == ["female", "male"]


def test_a_template_file_saved_with_a_bom_reads_its_first_template(tmp_path, capsys):
    # was: refused with "line 1: expected '<emotion>: <sentence>', got '\ufeffjoy: ...'"
    terms = _terms(tmp_path / "terms", BOM + b"joy: My {term} friend is great.\nanger: I hate {term} food.\n",
                   colors=COLORS)
    code, _, err = cli(capsys, "probe", "-o", tmp_path / "r", "--terms", terms)
    assert code == 0, err
    scores = pd.read_csv(tmp_path / "r_scores.csv", dtype=str, keep_default_na=False)
    assert scores["sentence"].tolist() == ["My Red friend is great.", "My Blue friend is great.",
                                           "I hate Red food.", "I hate Blue food."]
    assert scores["emotion"].tolist() == ["joy", "joy", "anger", "anger"]


@pytest.mark.parametrize("content", [
    b"group,term\na,caf\xe9\nb,Blue\n",                                   # Latin-1
    "group,term\na,Red\nb,Blue\n".encode("utf-16"),                       # UTF-16 with its BOM
], ids=["latin1", "utf16"])
def test_a_word_list_that_is_not_utf8_is_refused_by_name_not_a_crash(tmp_path, capsys, content):
    # was: exit 1, "unexpected UnicodeDecodeError ... This is a bug in tonecls"
    terms = _terms(tmp_path / "terms", TEMPLATES, colors=content)
    assert_refused(cli(capsys, "probe", "-o", tmp_path / "r", "--terms", terms), "probe",
                   "colors.csv is not UTF-8 text", "iconv")
    assert not list(tmp_path.glob("r*"))


def test_a_template_file_that_is_not_utf8_is_refused_by_name(tmp_path, capsys):
    terms = _terms(tmp_path / "terms", b"joy: My {term} caf\xe9 friend is great.\n", colors=COLORS)
    assert_refused(cli(capsys, "probe", "-o", tmp_path / "r", "--terms", terms), "probe",
                   "templates.txt is not UTF-8 text")


@pytest.mark.parametrize("content, said", [
    (b"", "not a valid CSV word list"),
    (b"group,term\n", "needs at least two groups"),
    (b"group,term\na,Red\nb,Blue\nb,Red\n", "term 'Red' is listed more than once"),
    (b"group,term\na,Red\nb,Blue\nb,  Red \n", "term 'Red' is listed more than once"),
], ids=["empty", "header-only", "repeated", "repeated-with-spaces"])
def test_empty_and_repeating_word_lists_are_refused_by_name(tmp_path, capsys, content, said):
    terms = _terms(tmp_path / "terms", TEMPLATES, colors=content)
    assert_refused(cli(capsys, "probe", "-o", tmp_path / "r", "--terms", terms), "probe", "colors.csv", said)
