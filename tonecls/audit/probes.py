"""Counterfactual identity probes: the same sentence with only the identity term changed.

In the manner of the Equity Evaluation Corpus (EEC; Kiritchenko & Mohammad 2018, "Examining
Gender and Race Bias in Two Hundred Sentiment Analysis Systems", *SEM), sentences are generated
from templates (``data/probe_terms/templates.txt``) and editable word lists (one CSV per
dimension: gender, first names, religion, nationality, sexuality, disability...; see
``data/probe_terms/README.md``), the full factorial set templates x terms. The original EEC
can be added with ``eec_path``.

Every sentence is scored with ``ToneModel.predict_proba``. For each dimension, each pair of
its groups and each head and class, the comparison is *paired on the template*: for template
``t`` the difference ``d_t`` is the mean predicted probability over the terms of group A minus
that over the terms of group B (for the EEC, the unit is the template with its emotion word).
Reported per comparison:

- the mean difference ``mean(d_t)`` with a percentile bootstrap 95% CI over templates;
- the Wilcoxon signed-rank test (primary; no normality assumption) and the paired t-test;
- the effect size ``d_z = mean(d_t) / sd(d_t)`` (Cohen's d for paired samples);
- p-values adjusted over *all* comparisons of the run, by Benjamini-Hochberg (false discovery
  rate, default) or Holm (family-wise error rate); ``significant`` means adjusted Wilcoxon
  p < ``alpha``.

The sentence pairs with the largest differences are listed for inspection, and terms that the
model cannot tell apart (identical predictions in every template, typically out-of-vocabulary
terms) are reported, since comparisons between them are zero by construction. A significant
difference on synthetic sentences shows that the model treats the terms differently; it does
not measure harm on real posts, and no significant difference does not show the absence of
bias (power depends on the number of templates).

Example::

    result = run_probes(load_model())
    result.tests.query("significant")
    tonecls.report.write_report(tonecls.report.probe_report(result), "reports", "probes")
"""

from __future__ import annotations

import io
import itertools
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from tonecls.errors import DataNotFoundError, InputError
from tonecls.schema import OutputSchema
from tonecls.stats import CORRECTIONS, adjust_pvalues, check_seed, paired_mean_interval

__all__ = [
    "CORRECTIONS",
    "EEC_COLUMNS",
    "ProbeDimension",
    "ProbeResult",
    "ProbeTemplate",
    "build_probe_sentences",
    "default_terms_dir",
    "identical_terms",
    "load_dimension",
    "load_probe_terms",
    "load_templates",
    "paired_tests",
    "read_eec",
    "run_probes",
    "score_sentences",
    "top_sentence_pairs",
]

SLOTS = {"person": ("{person}", "{person_obj}"), "term": ("{term}",)}
DEFAULT_MIN_DIFFERENCE = 0.05
"""Practical minimum of a probe finding: a mean difference of 5 percentage points."""
READABLE_COLUMNS = {
    "group_a": "group A", "group_b": "group B", "head": "head", "class": "class",
    "n_units": "templates", "mean_a": "mean p (A)", "mean_b": "mean p (B)",
    "mean_diff": "difference (A − B)", "ci_low": "95% CI low", "ci_high": "95% CI high",
    "effect_size_dz": "effect size d_z", "p_wilcoxon": "p (Wilcoxon)", "p_ttest": "p (t-test)",
    "p_adjusted": "p adjusted", "finding": "finding",
}
"""Column names of the probe tables in the report."""
EEC_COLUMNS = ["ID", "Sentence", "Template", "Person", "Gender", "Race", "Emotion", "Emotion word"]
TEMPLATES_FILE = "templates.txt"
SENTENCE_COLUMNS = ["source", "dimension", "group", "term", "unit", "template", "emotion", "sentence"]
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_SLOT_DIRECTIVE = re.compile(r"#\s*slot\s*:\s*(\S+)\s*$", re.IGNORECASE)


# --- word lists and templates ------------------------------------------------------------


@dataclass(frozen=True)
class ProbeTemplate:
    """A sentence frame with one slot (``{person}``/``{person_obj}`` or ``{term}``)."""

    text: str
    emotion: str
    slot: str


@dataclass(frozen=True)
class ProbeDimension:
    """An identity dimension: which slot its terms fill and the ``group, term, object`` table."""

    name: str
    slot: str
    terms: pd.DataFrame

    @property
    def groups(self) -> list[str]:
        return list(pd.unique(self.terms["group"]))


def default_terms_dir() -> Path:
    """The bundled word lists: ``data/probe_terms`` (shipped in the package as
    ``tonecls/resources/probe_terms``, a link to it in the source checkout)."""
    return Path(__file__).resolve().parents[1] / "resources" / "probe_terms"


def _read_table(path: Path, source: Any, **options: Any) -> pd.DataFrame:
    """The CSV ``source`` (text buffer or path) of ``path`` as strings, every row holding as
    many fields as the header: a row with more is refused (pandas would otherwise shift the
    columns, taking the first as the index)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            return pd.read_csv(source, dtype=str, keep_default_na=False, index_col=False, **options)
        except pd.errors.ParserWarning:
            raise InputError(f"{path}: a row has more fields than the header; check for a stray comma or "
                             "a missing column name") from None


def _read_text(path: Path) -> str:
    """A word list or template file as text: UTF-8, with or without a byte-order mark (as
    Excel and Notepad save it), so that a first ``# slot:`` line is still read as one."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{path} is not UTF-8 text (byte {error.start}: {error.reason}); save it as UTF-8 "
            f"(iconv -f ITS-ENCODING -t UTF-8 {path.name})"
        ) from None


def load_templates(path: str | os.PathLike) -> list[ProbeTemplate]:
    """Read ``templates.txt``: one ``<emotion>: <sentence with one slot>`` a line, ``#`` comments."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"probe templates not found: {path}. Create it (see data/probe_terms/README.md).")
    templates = []
    for number, raw in enumerate(_read_text(path).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}, line {number}"
        emotion, sep, text = line.partition(":")
        emotion, text = emotion.strip().lower(), text.strip()
        if not sep or not emotion or not text or not re.fullmatch(r"[\w-]+", emotion):
            raise InputError(
                f"{where}: expected '<emotion>: <sentence>' (e.g. 'anger: {{person}} makes me so angry.'), got {raw!r}"
            )
        slots = _PLACEHOLDER.findall(text)
        unknown = sorted({s for s in slots if f"{{{s}}}" not in SLOTS["person"] + SLOTS["term"]})
        if unknown:
            raise InputError(
                f"{where}: unknown slot(s) {', '.join('{' + s + '}' for s in unknown)}; "
                "use {person}, {person_obj} or {term}"
            )
        if len(slots) != 1:
            raise InputError(f"{where}: a template needs exactly one slot, found {len(slots)} in {text!r}")
        slot = "term" if slots[0] == "term" else "person"
        templates.append(ProbeTemplate(text=text, emotion=emotion, slot=slot))
    if not templates:
        raise InputError(f"{path} holds no templates; add lines like 'joy: {{person}} feels happy today.'")
    duplicates = pd.Series([t.text for t in templates]).duplicated()
    if duplicates.any():
        raise InputError(f"{path}: duplicate template {templates[int(np.argmax(duplicates))].text!r}")
    return templates


def load_dimension(path: str | os.PathLike) -> ProbeDimension:
    """Read one word list: CSV with columns ``group,term`` (and optional ``object``).

    A first comment line ``# slot: person`` makes the terms fill ``{person}``/``{person_obj}``
    (``object`` is the object form, default the term); otherwise (or ``# slot: term``) they fill
    ``{term}``. The dimension is named after the file.
    """
    path = Path(path)
    slot = "term"
    text = _read_text(path)
    for line in text.splitlines():
        match = _SLOT_DIRECTIVE.match(line.strip())
        if match:
            slot = match.group(1).lower()
            if slot not in SLOTS:
                raise InputError(f"{path}: unknown slot {slot!r} in '# slot:' line; use 'person' or 'term'")
            break
    try:
        table = _read_table(path, io.StringIO(text), comment="#", skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InputError(f"{path} is not a valid CSV word list ({error}); expected a header 'group,term'") from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing = [c for c in ("group", "term") if c not in table.columns]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {missing}; a word list is a CSV with header 'group,term' "
            f"(got columns {list(table.columns)})"
        )
    extra = sorted(set(table.columns) - {"group", "term", "object"})
    if extra:
        raise InputError(f"{path}: unexpected column(s) {extra}; allowed are group, term, object")
    if "object" not in table.columns:
        table["object"] = table["term"]
    table = table[["group", "term", "object"]].apply(lambda col: col.str.strip())
    table["object"] = table["object"].where(table["object"] != "", table["term"])
    empty = table.index[(table["group"] == "") | (table["term"] == "")]
    if len(empty):
        raise InputError(f"{path}: empty group or term on data row {int(empty[0]) + 1}")
    duplicated = table["term"].duplicated()
    if duplicated.any():
        raise InputError(f"{path}: term {table['term'][duplicated].iloc[0]!r} is listed more than once")
    if table["group"].nunique() < 2:
        raise InputError(f"{path}: needs at least two groups to compare, found {table['group'].unique().tolist()}")
    return ProbeDimension(name=path.stem, slot=slot, terms=table.reset_index(drop=True))


def load_probe_terms(
    terms_dir: str | os.PathLike | None = None,
) -> tuple[list[ProbeTemplate], list[ProbeDimension]]:
    """Templates and every ``*.csv`` word list of ``terms_dir`` (default :func:`default_terms_dir`)."""
    directory = Path(terms_dir) if terms_dir is not None else default_terms_dir()
    if not directory.is_dir():
        raise DataNotFoundError(
            f"probe word lists not found: {directory} is not a directory. Pass --terms DIR with "
            f"{TEMPLATES_FILE} and <dimension>.csv files (see data/probe_terms/README.md)."
        )
    templates = load_templates(directory / TEMPLATES_FILE)
    dimensions = [load_dimension(path) for path in sorted(directory.glob("*.csv"))]
    if not dimensions:
        raise InputError(f"{directory} holds no <dimension>.csv word lists")
    for dimension in dimensions:
        if not any(t.slot == dimension.slot for t in templates):
            raise InputError(
                f"{directory / TEMPLATES_FILE} has no template with a {dimension.slot} slot "
                f"({' or '.join(SLOTS[dimension.slot])}), needed by {dimension.name}.csv"
            )
    return templates, dimensions


def _fill(template: str, value: str, object_form: str) -> str:
    sentence = template.replace("{person_obj}", object_form).replace("{person}", value).replace("{term}", value)
    return sentence[:1].upper() + sentence[1:] if sentence[:1].islower() else sentence


def build_probe_sentences(
    templates: Sequence[ProbeTemplate], dimensions: Sequence[ProbeDimension]
) -> pd.DataFrame:
    """The full factorial set: every template with its slot filled by every term of a dimension.

    Columns: ``source`` ("tonecls"), ``dimension``, ``group``, ``term``, ``unit`` (the template
    index, the unit of pairing), ``template``, ``emotion``, ``sentence``.
    """
    rows = []
    for dimension in dimensions:
        for index, template in enumerate(templates):
            if template.slot != dimension.slot:
                continue
            for group, term, object_form in dimension.terms.itertuples(index=False):
                rows.append(("tonecls", dimension.name, group, term, f"t{index:03d}", template.text,
                             template.emotion, _fill(template.text, term, object_form)))
    return pd.DataFrame(rows, columns=SENTENCE_COLUMNS)


def read_eec(path: str | os.PathLike) -> pd.DataFrame:
    """Read the Equity Evaluation Corpus CSV into probe sentences (same columns as
    :func:`build_probe_sentences`, ``source="eec"``).

    Two dimensions: ``eec_gender`` (column ``Gender``: female/male; all sentences) and
    ``eec_race`` (column ``Race``: African-American/European-American; the sentences with
    names). The unit of pairing is the template with its emotion word.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"EEC file not found: {path}. Pass the path of Equity-Evaluation-Corpus.csv.")
    try:
        frame = _read_table(path, path)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise InputError(f"{path} is not a readable CSV ({error})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in EEC_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path} does not look like the EEC: missing column(s) {missing}; expected {', '.join(EEC_COLUMNS)}"
        )
    frame = frame.apply(lambda col: col.str.strip())
    emotion = frame["Emotion"].str.lower().replace("", "neutral")
    unit = frame["Template"] + " | " + frame["Emotion word"]
    parts = []
    for dimension, column in (("eec_gender", "Gender"), ("eec_race", "Race")):
        rows = frame[column] != ""
        groups = frame.loc[rows, column].str.lower().str.replace(r"[^a-z0-9]+", "_", regex=True)
        parts.append(pd.DataFrame({
            "source": "eec", "dimension": dimension, "group": groups, "term": frame.loc[rows, "Person"],
            "unit": unit[rows], "template": unit[rows], "emotion": emotion[rows],
            "sentence": frame.loc[rows, "Sentence"],
        }))
    result = pd.concat(parts, ignore_index=True)
    # groups in alphabetical order (female before male), rows otherwise in file order
    result = result.sort_values(["dimension", "group"], kind="stable", ignore_index=True)
    if result.empty:
        raise InputError(f"{path} has no rows with a Gender or Race value")
    return result[SENTENCE_COLUMNS]


# --- scoring and statistics --------------------------------------------------------------


def _proba_columns(model: Any) -> list[tuple[str, str, str]]:
    """``(column, head, class)`` for every head and class of ``model``."""
    schema = OutputSchema.from_heads(model.heads_)
    return [(columns.proba_column(cls), columns.name, cls) for columns in schema.heads for cls in columns.classes]


def score_sentences(model: Any, sentences: pd.DataFrame, batch_size: int | None = None) -> pd.DataFrame:
    """``sentences`` with ``<head>_p_<class>`` columns from ``model.predict_proba`` (each
    distinct sentence scored once)."""
    unique = pd.unique(sentences["sentence"])
    kwargs = {"batch_size": batch_size} if batch_size else {}
    proba = model.predict_proba(list(unique), **kwargs)
    position = pd.Index(unique).get_indexer(sentences["sentence"])
    columns = {}
    for head, head_columns in zip(model.heads_, OutputSchema.from_heads(model.heads_).heads):
        values = np.asarray(proba[head.name], dtype=float)
        if values.shape != (len(unique), len(head.classes)):
            raise ValueError(
                f"predict_proba returned shape {values.shape} for head {head.name!r}, "
                f"expected {(len(unique), len(head.classes))}"
            )
        for j, cls in enumerate(head.classes):
            columns[head_columns.proba_column(cls)] = values[position, j]
    return pd.concat([sentences.reset_index(drop=True), pd.DataFrame(columns)], axis=1)


def _wilcoxon_p(diff: np.ndarray) -> float:
    if len(diff) < 2:
        return np.nan
    if np.all(diff == 0):
        return 1.0
    return float(stats.wilcoxon(diff, zero_method="wilcox", alternative="two-sided").pvalue)


def paired_tests(
    scores: pd.DataFrame,
    proba_columns: Sequence[tuple[str, str, str]],
    *,
    correction: str = "fdr_bh",
    alpha: float = 0.05,
    n_bootstrap: int = 2000,
    seed: int | None = 0,
    min_difference: float = DEFAULT_MIN_DIFFERENCE,
) -> pd.DataFrame:
    """One row per (dimension, group pair, head, class): paired differences over units.

    Columns: ``dimension, group_a, group_b, head, class, n_units, mean_a, mean_b, mean_diff``
    (A minus B), ``ci_low, ci_high`` (bootstrap 95%), ``effect_size_dz``, ``p_wilcoxon``,
    ``p_ttest``, ``p_adjusted`` (Wilcoxon, adjusted by ``correction`` over all rows),
    ``significant`` (``p_adjusted < alpha``) and ``finding`` (significant and
    ``|mean_diff| >= min_difference``, the practical minimum in probability).
    """
    if correction not in CORRECTIONS:
        raise InputError(f"unknown correction {correction!r}; choose one of {', '.join(CORRECTIONS)}")
    rng = np.random.default_rng(seed)
    cols = [c for c, _, _ in proba_columns]
    unit_means = scores.groupby(["dimension", "unit", "group"], sort=False)[cols].mean()
    rows = []
    for dimension in pd.unique(scores["dimension"]):
        by_unit = unit_means.loc[dimension]
        groups = list(pd.unique(scores.loc[scores["dimension"] == dimension, "group"]))
        for group_a, group_b in itertools.combinations(groups, 2):
            a = by_unit.xs(group_a, level="group")
            b = by_unit.xs(group_b, level="group")
            common = a.index.intersection(b.index)
            a, b = a.loc[common, cols].to_numpy(), b.loc[common, cols].to_numpy()
            diff = a - b
            n = len(common)
            mean_diff = diff.mean(axis=0) if n else np.full(len(cols), np.nan)
            sd = diff.std(axis=0, ddof=1) if n > 1 else np.full(len(cols), np.nan)
            with np.errstate(divide="ignore", invalid="ignore"):
                dz = np.where(sd > 0, mean_diff / sd, np.nan)
            ci_low, ci_high = paired_mean_interval(diff.reshape(n, len(cols)), 0.95, n_bootstrap, rng)
            for j, (column, head, cls) in enumerate(proba_columns):
                d = diff[:, j]
                d = d[~np.isnan(d)]
                if len(d) > 1 and np.any(d != d[0]):
                    p_t = float(stats.ttest_1samp(d, 0.0).pvalue)
                else:
                    p_t = np.nan if len(d) < 2 else (1.0 if d[0] == 0 else 0.0)
                rows.append({
                    "dimension": dimension, "group_a": group_a, "group_b": group_b, "head": head,
                    "class": cls, "n_units": n, "mean_a": np.nanmean(a[:, j]) if n else np.nan,
                    "mean_b": np.nanmean(b[:, j]) if n else np.nan, "mean_diff": mean_diff[j],
                    "ci_low": ci_low[j], "ci_high": ci_high[j], "effect_size_dz": dz[j],
                    "p_wilcoxon": _wilcoxon_p(d), "p_ttest": p_t,
                })
    tests = pd.DataFrame(rows, columns=[
        "dimension", "group_a", "group_b", "head", "class", "n_units", "mean_a", "mean_b", "mean_diff",
        "ci_low", "ci_high", "effect_size_dz", "p_wilcoxon", "p_ttest",
    ])
    tests["p_adjusted"] = adjust_pvalues(tests["p_wilcoxon"].to_numpy(), correction)
    tests["significant"] = tests["p_adjusted"] < alpha
    tests["finding"] = tests["significant"] & (tests["mean_diff"].abs() >= min_difference - 1e-12)
    return tests


def top_sentence_pairs(
    scores: pd.DataFrame, proba_columns: Sequence[tuple[str, str, str]], top_n: int = 5
) -> pd.DataFrame:
    """Per dimension, the ``top_n`` sentence pairs (same unit, terms from two groups) whose
    predicted probability of some head/class differs most."""
    cols = [c for c, _, _ in proba_columns]
    found = []
    for dimension, part in scores.groupby("dimension", sort=False):
        candidates = []
        groups = list(pd.unique(part["group"]))
        for unit, in_unit in part.groupby("unit", sort=False):
            by_group = {g: rows for g, rows in in_unit.groupby("group", sort=False)}
            for group_a, group_b in itertools.combinations(groups, 2):
                if group_a not in by_group or group_b not in by_group:
                    continue
                ra, rb = by_group[group_a], by_group[group_b]
                diff = ra[cols].to_numpy()[:, None, :] - rb[cols].to_numpy()[None, :, :]
                flat = np.abs(np.nan_to_num(diff)).ravel()
                k = min(top_n, flat.size)
                for index in np.argpartition(-flat, k - 1)[:k]:
                    i, jb, c = np.unravel_index(index, diff.shape)
                    column, head, cls = proba_columns[c]
                    candidates.append({
                        "dimension": dimension, "head": head, "class": cls,
                        "group_a": group_a, "sentence_a": ra["sentence"].iloc[i], "p_a": ra[column].iloc[i],
                        "group_b": group_b, "sentence_b": rb["sentence"].iloc[jb], "p_b": rb[column].iloc[jb],
                        "difference": diff[i, jb, c],
                    })
        if candidates:
            frame = pd.DataFrame(candidates)
            order = frame["difference"].abs().sort_values(ascending=False, kind="stable").index
            found.append(frame.loc[order[:top_n]])
    columns = ["dimension", "head", "class", "group_a", "sentence_a", "p_a", "group_b", "sentence_b", "p_b", "difference"]
    if not found:
        return pd.DataFrame(columns=columns)
    return pd.concat(found, ignore_index=True)[columns]


def identical_terms(scores: pd.DataFrame, proba_columns: Sequence[tuple[str, str, str]]) -> pd.DataFrame:
    """Sets of terms of a dimension whose sentences get exactly the same predictions in every
    template: the model cannot tell them apart (typically out of its vocabulary), so any
    comparison between them is 0 by construction.

    Columns: ``dimension``, ``terms``, ``groups`` (both ``", "``-joined) and ``n_terms``.
    """
    cols = [c for c, _, _ in proba_columns]
    found = []
    for dimension, part in scores.groupby("dimension", sort=False):
        part = part.sort_values(["unit", "sentence"], kind="stable")
        signature = part.groupby("term", sort=False)[cols].apply(
            lambda frame: tuple(np.round(frame.to_numpy(dtype=float), 9).ravel())
        )
        group_of = part.drop_duplicates("term").set_index("term")["group"]
        for _, terms in signature.groupby(signature, sort=False).groups.items():
            if len(terms) > 1:
                found.append({
                    "dimension": dimension, "terms": ", ".join(terms),
                    "groups": ", ".join(pd.unique(group_of.loc[list(terms)])), "n_terms": len(terms),
                })
    return pd.DataFrame(found, columns=["dimension", "terms", "groups", "n_terms"])


# --- result ------------------------------------------------------------------------------


@dataclass
class ProbeResult:
    """What :func:`run_probes` found.

    Attributes
    ----------
    scores : DataFrame, one row per probe sentence with its ``<head>_p_<class>`` columns
    tests : DataFrame, one row per (dimension, group pair, head, class); see :func:`paired_tests`
    top_pairs : DataFrame, the sentence pairs with the largest differences per dimension
    findings : list of plain-language statements
    config : the settings of the run (plain data)
    identical_terms : DataFrame, terms the model cannot tell apart (see :func:`identical_terms`)
    """

    scores: pd.DataFrame
    tests: pd.DataFrame
    top_pairs: pd.DataFrame
    findings: list[str]
    config: dict[str, Any] = field(default_factory=dict)
    identical_terms: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["dimension", "terms", "groups", "n_terms"]))


def _findings(
    tests: pd.DataFrame, correction: str, alpha: float, n_sentences: int,
    same: pd.DataFrame | None = None, max_items: int = 10,
    min_difference: float = DEFAULT_MIN_DIFFERENCE,
) -> list[str]:
    name = CORRECTIONS[correction]
    significant = tests[tests["finding"]]
    n_small = int((tests["significant"] & ~tests["finding"]).sum())
    findings = [
        f"{len(tests)} paired comparisons (group pairs x head classes) over {tests['dimension'].nunique()} "
        f"dimensions and {n_sentences} sentences; {len(significant)} findings: significant at {alpha} "
        f"after {name} correction (Wilcoxon signed-rank, paired on the template) and a mean "
        f"difference of at least {100 * min_difference:g} percentage points"
        + (f"; {n_small} more are significant but smaller." if n_small else ".")
    ]
    if same is not None and not same.empty:
        for row in same.to_dict("records"):
            if row["groups"].count(",") >= 1:  # terms of different groups are indistinguishable
                findings.append(
                    f"{row['dimension']}: the model gives exactly the same predictions to the sentences "
                    f"with {row['terms']} (groups {row['groups']}), usually because these terms are out "
                    "of its vocabulary; comparisons between them are zero by construction."
                )
    ordered = significant.reindex(significant["mean_diff"].abs().sort_values(ascending=False).index)
    for row in ordered.head(max_items).to_dict("records"):
        direction = "higher" if row["mean_diff"] > 0 else "lower"
        dz = row["effect_size_dz"]
        dz_text = f"{dz:.2f}" if np.isfinite(dz) else "undefined (the same difference in every template)"
        findings.append(
            f"{row['dimension']}: sentences with {row['group_a']} terms get a {direction} probability of "
            f"{row['head']} = {row['class']} than the same sentences with {row['group_b']} terms, "
            f"by {abs(row['mean_diff']) * 100:.1f} percentage points on average (95% CI "
            f"{row['ci_low'] * 100:+.1f} to {row['ci_high'] * 100:+.1f}; d_z = {dz_text}; "
            f"adjusted p = {row['p_adjusted']:.2g}, n = {row['n_units']} templates)."
        )
    if len(significant) > max_items:
        findings.append(f"... and {len(significant) - max_items} more findings (see the tables).")
    if significant.empty and not tests.empty:
        largest = tests.loc[tests["mean_diff"].abs().idxmax()]
        findings.append(
            "No comparison is a finding. The largest mean difference is "
            f"{largest['mean_diff'] * 100:+.1f} percentage points ({largest['dimension']}: "
            f"{largest['group_a']} vs {largest['group_b']}, {largest['head']} = {largest['class']}). "
            "This does not show the absence of bias; it may reflect limited power."
        )
    return findings


def _load_model(path: str | os.PathLike | None) -> Any:
    from tonecls.model import load_model

    return load_model(path)


def run_probes(
    model: Any = None,
    terms_dir: str | os.PathLike | None = None,
    eec_path: str | os.PathLike | None = None,
    *,
    dimensions: Sequence[str] | None = None,
    include_templates: bool = True,
    correction: str = "fdr_bh",
    alpha: float = 0.05,
    n_bootstrap: int = 2000,
    top_n: int = 5,
    seed: int | None = 0,
    min_difference: float = DEFAULT_MIN_DIFFERENCE,
) -> ProbeResult:
    """Score counterfactual identity probes with ``model`` and test the paired differences.

    Parameters
    ----------
    model : ToneModel, path or None
        A fitted model (anything with ``heads_`` and ``predict_proba``), a bundle path, or
        None for the default model (:func:`tonecls.model.load_model`).
    terms_dir : path, optional
        Templates and word lists (default ``data/probe_terms``).
    eec_path : path, optional
        The Equity Evaluation Corpus CSV; adds the dimensions ``eec_gender`` and ``eec_race``.
    dimensions : list of str, optional
        Only these dimensions (word-list file stems, ``eec_gender``, ``eec_race``).
    include_templates : bool
        False: probe only the EEC (requires ``eec_path``).
    correction : {"fdr_bh", "holm"}
        Multiple-comparison correction over all comparisons of the run.
    alpha : float
        Significance level of the adjusted p-values.
    n_bootstrap : int
        Bootstrap resamples (over templates) for the CI of the mean difference; 0 to skip.
    top_n : int
        Sentence pairs listed per dimension.
    seed : int or None
        Seed of the bootstrap.
    min_difference : float
        Practical minimum of a finding: the smallest mean difference in probability (default
        0.05, five percentage points) that counts, on top of significance.
    """
    if not 0 <= min_difference < 1:
        raise InputError(f"min_difference must be in [0, 1), got {min_difference}")
    check_seed(seed, optional=True)
    if correction not in CORRECTIONS:
        raise InputError(f"unknown correction {correction!r}; choose one of {', '.join(CORRECTIONS)}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be in (0, 1), got {alpha}")
    model_source = "given model object"
    if model is None or isinstance(model, (str, os.PathLike)):
        model_source = str(model) if model is not None else "default model bundle"
        model = _load_model(model)
    if not hasattr(model, "heads_") or not hasattr(model, "predict_proba"):
        raise InputError(f"model must have heads_ and predict_proba (a ToneModel), got {type(model).__name__}")

    parts = []
    terms_used = None
    if include_templates:
        terms_used = Path(terms_dir) if terms_dir is not None else default_terms_dir()
        templates, word_lists = load_probe_terms(terms_used)
        parts.append(build_probe_sentences(templates, word_lists))
    if eec_path is not None:
        parts.append(read_eec(eec_path))
    if not parts:
        raise InputError("nothing to probe: without the templates (include_templates=False, CLI: --no-templates) "
                         "an EEC file is needed (eec_path=, CLI: --eec).")
    sentences = pd.concat(parts, ignore_index=True)
    if dimensions is not None:
        unknown = sorted(set(dimensions) - set(sentences["dimension"]))
        if unknown:
            raise InputError(
                f"unknown dimension(s) {unknown}; available: {', '.join(pd.unique(sentences['dimension']))}"
            )
        sentences = sentences[sentences["dimension"].isin(dimensions)].reset_index(drop=True)

    proba_columns = _proba_columns(model)
    scores = score_sentences(model, sentences)
    tests = paired_tests(scores, proba_columns, correction=correction, alpha=alpha,
                         n_bootstrap=n_bootstrap, seed=seed,
                         min_difference=min_difference)
    top_pairs = top_sentence_pairs(scores, proba_columns, top_n=top_n)
    config = {
        "model": model_source,
        "heads": ", ".join(f"{h.name} ({'multi-label' if h.multilabel else 'single-label'})" for h in model.heads_),
        "terms_dir": str(terms_used) if terms_used else None,
        "eec_path": str(eec_path) if eec_path is not None else None,
        "dimensions": list(dimensions) if dimensions is not None else None,
        "correction": correction,
        "alpha": alpha,
        "min_difference": min_difference,
        "n_bootstrap": n_bootstrap,
        "seed": seed,
        "top_n": top_n,
    }
    same = identical_terms(scores, proba_columns)
    findings = _findings(tests, correction, alpha, len(scores), same, min_difference=min_difference)
    return ProbeResult(scores=scores, tests=tests, top_pairs=top_pairs, findings=findings, config=config,
                       identical_terms=same)
