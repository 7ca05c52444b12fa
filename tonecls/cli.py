"""The ``tonecls`` command line, built with typer.

Each subcommand is a typed function whose body calls one public function of the package (the
one notebooks call) and prints what it returns. Defaults are the library's own: an option
without a value takes the default of the library parameter it feeds, read from the function's
signature only when the command runs or shows its help (:class:`LibraryDefault`), so the
package (pandas, TensorFlow) is imported only then and ``tonecls --help`` stays fast.

Exit status: 0 on success, 1 when no command is given (the help is printed), 2 for bad input
(a one-paragraph ``tonecls COMMAND: error: ...`` message, no traceback, or the usage error of
a malformed command line), 130 when interrupted.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import shlex
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from tonecls import __version__
from tonecls.errors import InputError, ToneclsError
from tonecls.io.options import Engine, OnBadLines

app = typer.Typer(
    name="tonecls",
    help="Sentiment and emotional-tone classification of social media posts, batch scoring "
    "and bias audit reports.",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class LibraryDefault:
    """The default of parameter ``name`` of the library callable ``target``
    (``"module:function"``), read from its signature when first needed.

    Used as a typer ``default_factory``: calling it gives the value, ``str()`` gives it for
    ``--help``; either imports the library module, which the top-level help never does.
    """

    def __init__(self, target: str, name: str) -> None:
        self.target, self.name = target, name

    def __call__(self) -> Any:
        module, _, attribute = self.target.partition(":")
        function = getattr(importlib.import_module(module), attribute)
        return inspect.signature(function).parameters[self.name].default

    def __str__(self) -> str:
        return str(self())


def _default(target: str, name: str) -> dict[str, Any]:
    return {"default_factory": LibraryDefault(target, name)}


def _show_warning(command: str) -> Callable[..., None]:
    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"tonecls {command}: warning: {message}", file=sys.stderr)

    return show


def command(name: str, short_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``function`` as the subcommand ``name`` (its docstring is the help).

    Library errors (:class:`~tonecls.errors.ToneclsError`) become ``tonecls NAME: error:
    ...`` and exit status 2, an interrupt exit status 130, any other error one paragraph and
    exit status 1 (:func:`_unexpected`; no traceback); warnings print as one line each. A
    resumable command (``output`` and ``resume`` options) that fails after writing completed
    chunks says how to continue.
    """

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("default")
                warnings.showwarning = _show_warning(name)
                try:
                    function(*args, **kwargs)
                except (Exception, KeyboardInterrupt) as error:
                    if isinstance(error, BrokenPipeError):  # the reader of our output left (`| head`)
                        _silence_stdout()
                        raise typer.Exit(141) from None  # 128 + SIGPIPE, as a shell tool exits
                    if "resume" in kwargs and kwargs.get("output") and not isinstance(error, InputError):
                        _print_resume_hint(name, kwargs["output"])
                    if isinstance(error, ToneclsError):
                        print(f"tonecls {name}: error: {error}", file=sys.stderr)
                        raise typer.Exit(2) from None
                    if isinstance(error, KeyboardInterrupt):
                        print(f"tonecls {name}: interrupted", file=sys.stderr)
                        raise typer.Exit(130) from None
                    if os.environ.get("TONECLS_DEBUG"):
                        raise
                    print(f"tonecls {name}: error: {_unexpected(error)}", file=sys.stderr)
                    raise typer.Exit(1) from None

        app.command(name, short_help=short_help)(run)
        return function

    return register


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush does not fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no file descriptor (e.g. captured output)
        pass


def _unexpected(error: Exception) -> str:
    """One paragraph for an error tonecls did not foresee: an operating-system error as what
    failed on which file, anything else as a bug to report (``TONECLS_DEBUG=1``: the traceback)."""
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        return (f"{error.strerror or error}{where}. Check the path, its permissions and the free "
                "space, then run the command again.")
    return (f"unexpected {type(error).__name__}: {error}. This is a bug in tonecls: please report it "
            "with the command you ran (TONECLS_DEBUG=1 shows the traceback).")


def _print_resume_hint(command: str, output: Any) -> None:
    from tonecls.io.runner import resume_hint

    if hint := resume_hint(output):
        print(f"tonecls {command}: {hint}", file=sys.stderr)


def _command_line(ctx: typer.Context) -> str:
    """The command line that is running, for provenance records."""
    return shlex.join(["tonecls", *ctx.obj["argv"]]) if ctx.obj else shlex.join(["tonecls", *sys.argv[1:]])


def _report_output(value: str) -> str:
    """Check a report path (no extension) while parsing, before any slow work starts."""
    from tonecls.report import report_target

    try:
        report_target(value)
    except InputError as error:
        raise typer.BadParameter(str(error)) from None
    return value


def _version(value: bool) -> None:
    if value:
        print(f"tonecls {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="show the version and exit")] = False,
) -> None:
    if ctx.invoked_subcommand is None:
        print(ctx.get_help())
        raise typer.Exit(1)


MAX_WARNINGS = 5  # warnings of a result printed by a command (the report holds them all)


# --- options shared by several commands -----------------------------------------------------

Output = Annotated[Path, typer.Option("-o", "--output", help="file to write (format by extension)")]
Scored = Annotated[Path, typer.Argument(
    metavar="SCORED", help="scored export, the output of tonecls score (.csv .tsv .jsonl .parquet, optionally .gz)")]
ReportOutput = Annotated[str, typer.Option("-o", "--output", callback=_report_output,
                                           help="report path without extension, e.g. reports/audit")]
ModelBundle = Annotated[Path | None, typer.Option("--model", help="model bundle directory (default: bundled model)")]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="benchmark data directory (default: auto)")]
Resume = Annotated[bool, typer.Option("--resume", help="continue an interrupted run from its last completed chunk")]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="no progress output")]
Workers = Annotated[int | None, typer.Option(
    help="processes working in parallel on inputs of 20,000+ rows or 4+ MB (default: one per core, "
    "at most 8; 1: this process only)")]


# --- commands ----------------------------------------------------------------------------------

@command("score", "score every post of an export file (CSV/TSV/JSONL/Parquet) into a new file")
def score(
    *,
    input: Annotated[str, typer.Argument(
        metavar="INPUT", help="export to score: a file, a folder of part files, or a pattern such as 'parts/*.csv'")],
    output: Output,
    text_col: Annotated[str, typer.Option(help="column holding the posts",
                                          **_default("tonecls.jobs.score:score_file", "text_col"))],
    id_col: Annotated[str | None, typer.Option(help="post id column (checked; repeated ids reported)")] = None,
    model: ModelBundle = None,
    engine: Annotated[Engine, typer.Option(
        help="local: stream in this process; dask: a dask.distributed cluster",
        **_default("tonecls.jobs.score:score_file", "engine"))],
    scheduler: Annotated[str | None, typer.Option(
        help="address of a running dask scheduler (default: start a local cluster)")] = None,
    workers: Annotated[int | None, typer.Option(
        help="processes scoring in parallel (local engine: on inputs of 20,000+ rows or 4+ MB; dask: "
        "workers of the local cluster); default: one per core, at most 8 locally; 1: this process only")] = None,
    resume: Resume = False,
    chunksize: Annotated[int, typer.Option(help="rows per chunk (the unit of resume on the local engine)",
                                           **_default("tonecls.jobs.score:score_file", "chunksize"))],
    blocksize: Annotated[str, typer.Option(
        help="bytes per unit of a single input file (dask engine); 'none': the whole file",
        **_default("tonecls.jobs.score:score_file", "blocksize"))],
    on_bad_lines: Annotated[OnBadLines, typer.Option(
        help="malformed lines: flag them as rows, or stop with an error",
        **_default("tonecls.jobs.score:score_file", "on_bad_lines"))],
    all_languages: Annotated[bool, typer.Option(
        "--all-languages", help="score posts in every language (default: posts confidently not in "
        "the model's language get status other_language and no predictions)")] = False,
    quiet: Quiet = False,
) -> None:
    """Score every post of INPUT with the tone model and write OUTPUT: every input column
    unchanged, then tonecls_status, tonecls_language, tonecls_n_tokens and the predictions of
    each head. Rows that cannot be scored are kept and flagged. Formats by extension: .csv .tsv
    .jsonl .parquet (and .gz). With --engine dask, OUTPUT is a directory of Parquet parts, and
    each file of a multi-file INPUT is read by a worker."""
    from tonecls.jobs.score import score_file

    print(score_file(input, output, text_col=text_col, id_col=id_col, model=model, engine=engine,
                     scheduler=scheduler, workers=workers, resume=resume, chunksize=chunksize,
                     blocksize=blocksize, on_bad_lines=on_bad_lines, quiet=quiet,
                     all_languages=all_languages))


@command("train", "train a tone model from a JSON config and write a model bundle")
def train(
    ctx: typer.Context,
    *,
    config: Annotated[Path, typer.Option(help="training config (JSON)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="bundle directory to write")],
    data_dir: DataDir = None,
    token_cache: Annotated[Path | None, typer.Option(help="cache tokenised datasets in this folder between runs")] = None,
    no_test: Annotated[bool, typer.Option("--no-test", help="do not score the test splits")] = False,
    quiet: Quiet = False,
) -> None:
    """Train the BiLSTM tone model described by CONFIG (heads and their data sources, network,
    epochs, seed; see configs/default_model.json), calibrate it on the validation splits, score
    it on the test splits, and write the bundle directory (model, vocabulary, metrics,
    provenance, MODEL_CARD.md) atomically."""
    from tonecls.jobs.train import train_bundle

    print(train_bundle(config, output, data_dir=data_dir, test=not no_test, token_cache=token_cache,
                       quiet=quiet, command=_command_line(ctx)))


@command("evaluate", "score a model on the official test splits beside published results")
def evaluate(
    *,
    model: ModelBundle = None,
    split: Annotated[Literal["test", "val"], typer.Option(help="split")] = "test",  # (help without TensorFlow)
    heads: Annotated[str | None, typer.Option(help="comma-separated heads (default: all)")] = None,
    data_dir: DataDir = None,
    json: Annotated[Path | None, typer.Option(help="also write the comparison table as JSON here")] = None,
) -> None:
    """Score a model bundle on each head's benchmark split with the official metric (emotion:
    macro-F1; sentiment: macro-recall; GoEmotions: macro-F1 over labels) and print the figures
    beside published results of other systems."""
    from tonecls.jobs.train import evaluate_bundle

    names = [h.strip() for h in heads.split(",") if h.strip()] if heads else None
    table = evaluate_bundle(model, split, heads=names, data_dir=data_dir, json_path=json)
    print(table.to_string(index=False) + (f"\nwrote {json}" if json else ""))


@command("seal", "seal a model bundle you edited on purpose (after checking it in full)")
def seal(
    *,
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE", help="model bundle directory")],
) -> None:
    """Write BUNDLE/SHA256SUMS anew: the SHA-256 of every file of the bundle. tonecls refuses to
    load a bundle whose files differ from its seal (a copy gone wrong, a tampered file); after
    editing a bundle on purpose, seal it again. The bundle is loaded and validated in full
    first, so a bundle that is broken is not sealed."""
    from tonecls.model import seal_bundle

    print(f"sealed {bundle}: wrote {seal_bundle(bundle)}")


@command("fetch", "download benchmark datasets (TweetEval, GoEmotions, TwitterAAE) with checksums")
def fetch(
    *,
    dataset: Annotated[Literal["tweeteval", "goemotions", "twitteraae", "all"], typer.Argument(metavar="DATASET")],
    data_dir: Annotated[Path | None, typer.Option(help="where to write (default: see above)")] = None,
    force: Annotated[bool, typer.Option(help="download again even if present")] = False,
    quiet: Quiet = False,
) -> None:
    """Download the official files of a dataset into the data directory ($TONECLS_DATA_DIR if
    set, else ~/.cache/tonecls/data), verify their SHA-256 checksums and derive GoEmotions'
    ekman and group taxonomies. Files already present and verified are skipped. Needs network
    access; nothing else in tonecls does."""
    from tonecls.datasets import fetch

    print(f"{dataset}: ready in {fetch(dataset, data_dir, force=force, quiet=quiet)}")


@command("dialect", "add TwitterAAE dialect proportions and a dialect group to an export")
def dialect(
    *,
    input: Annotated[Path, typer.Argument(metavar="INPUT", help="export to read (.csv .tsv .jsonl .parquet, optionally .gz)")],
    output: Output,
    text_col: Annotated[str, typer.Option(help="column holding the posts",
                                          **_default("tonecls.jobs.dialect:dialect_file", "text_col"))],
    threshold: Annotated[float, typer.Option(
        help="proportion at or above which a post is aa_aligned / white_aligned (as in Blodgett "
        "et al. 2016)", **_default("tonecls.jobs.dialect:dialect_file", "threshold"))],
    min_tokens: Annotated[int, typer.Option(
        help="fewest in-vocabulary tokens for an estimate (as released)",
        **_default("tonecls.audit.dialect:DialectEstimator", "min_tokens"))],
    model_dir: Annotated[Path | None, typer.Option(
        help="TwitterAAE model directory (default: <data dir>/twitteraae)")] = None,
    chunksize: Annotated[int, typer.Option(help="rows per chunk",
                                           **_default("tonecls.jobs.dialect:dialect_file", "chunksize"))],
    workers: Workers = None,
    resume: Resume = False,
    quiet: Quiet = False,
) -> None:
    """Append to every row of INPUT the proportions of its words drawn from four
    demographically aligned dialect topics (Blodgett, Green & O'Connor 2016: dialect_aa,
    dialect_hispanic, dialect_asian, dialect_white; NaN when too few words are in the model's
    vocabulary), dialect_n_tokens, and dialect_group (aa_aligned / white_aligned / undetermined
    by --threshold). This is a proxy about the language of a post, not about its author; only
    the AA- and White-aligned topics were validated by the model's authors. Every input row is
    written once, in order."""
    from tonecls.audit.dialect import DialectEstimator
    from tonecls.jobs.dialect import dialect_file

    print(dialect_file(input, output, text_col=text_col, threshold=threshold,
                       estimator=DialectEstimator(model_dir, min_tokens=min_tokens),
                       chunksize=chunksize, resume=resume, quiet=quiet, workers=workers))


@command("probe", "counterfactual identity probes: the same sentences with only an identity term changed")
def probe(
    *,
    output: ReportOutput,
    model: ModelBundle = None,
    terms: Annotated[Path | None, typer.Option(help="directory of templates.txt and <dimension>.csv")] = None,
    eec: Annotated[Path | None, typer.Option(help="Equity Evaluation Corpus CSV to include")] = None,
    no_templates: Annotated[bool, typer.Option("--no-templates", help="probe only the EEC (requires --eec)")] = False,
    dimension: Annotated[list[str] | None, typer.Option(
        help="only this dimension (repeatable; default: all)")] = None,
    correction: Annotated[Literal["fdr_bh", "fdr_by", "holm"], typer.Option(
        help="multiple-comparison correction: Benjamini-Hochberg, Benjamini-Yekutieli or Holm",
        **_default("tonecls.audit.probes:run_probes", "correction"))],
    min_difference: Annotated[float, typer.Option(
        help="practical minimum: smallest mean difference in probability that is a finding",
        **_default("tonecls.audit.probes:run_probes", "min_difference"))],
    alpha: Annotated[float, typer.Option(help="significance level",
                                         **_default("tonecls.audit.probes:run_probes", "alpha"))],
    seed: Annotated[int, typer.Option(help="bootstrap seed",
                                      **_default("tonecls.audit.probes:run_probes", "seed"))],
) -> None:
    """Score template sentences that differ only in an identity term (gender, first names,
    religion, nationality, sexuality, disability; editable lists in data/probe_terms),
    optionally the Equity Evaluation Corpus (--eec), and test the paired differences per head
    and class (Wilcoxon signed-rank and paired t-test, corrected for multiple comparisons).
    Writes NAME.html, NAME.md and NAME.json, and the scored sentences as NAME_scores.csv."""
    from tonecls.jobs.probe import probe_file

    result, paths = probe_file(output, model, terms_dir=terms, eec_path=eec, dimensions=dimension,
                               include_templates=not no_templates, correction=correction, alpha=alpha,
                               min_difference=min_difference, seed=seed)
    wrote = f"wrote {paths['html']}, {paths['md']}, {paths['json']} and {paths['scores']}"
    print("\n".join([*result.findings[:4], wrote]))


@command("audit", "bias audit of a scored export: metrics by group with bootstrap confidence intervals")
def audit(
    ctx: typer.Context,
    *,
    scored: Scored,
    output: ReportOutput,
    head: Annotated[str, typer.Option(help="model head to audit, e.g. emotion")],
    group_col: Annotated[list[str], typer.Option(
        metavar="COL", help="column defining groups (repeatable; each is audited on its own)")],
    label_col: Annotated[str | None, typer.Option(
        help="gold labels: class names (';'-joined for multi-label heads)")] = None,
    intersections: Annotated[bool, typer.Option(
        "--intersections", help="also audit the intersection of all --group-col columns")] = False,
    min_group_size: Annotated[int, typer.Option(
        help="groups with fewer rows are shown but marked and not tested",
        **_default("tonecls.audit.groups:audit_groups", "min_group_size"))],
    max_groups: Annotated[int, typer.Option(
        help="per group column, audit at most this many groups one by one (the largest); fold the "
        "others into one group of counts", **_default("tonecls.audit.groups:audit_groups", "max_groups"))],
    n_bootstrap: Annotated[int, typer.Option(
        help="bootstrap resamples for the confidence intervals (0: none)",
        **_default("tonecls.audit.groups:audit_groups", "n_bootstrap"))],
    seed: Annotated[int, typer.Option(help="bootstrap seed",
                                      **_default("tonecls.audit.groups:audit_groups", "seed"))],
    min_cell_count: Annotated[int, typer.Option(
        help="fewest posts in every cell a metric needs (e.g. positives for recall), else undefined",
        **_default("tonecls.audit.groups:audit_groups", "min_cell_count"))],
    correction: Annotated[Literal["fdr_bh", "fdr_by", "holm"], typer.Option(
        help="error control over all gaps of the report: Benjamini-Hochberg, Benjamini-Yekutieli "
        "(any dependence) or Holm", **_default("tonecls.audit.groups:audit_groups", "correction"))],
    alpha: Annotated[float, typer.Option(
        help="false discovery rate (family-wise error rate for holm)",
        **_default("tonecls.audit.groups:audit_groups", "alpha"))],
    min_difference: Annotated[float, typer.Option(
        help="practical minimum: smallest absolute gap that is a finding (0: any size)",
        **_default("tonecls.audit.groups:audit_groups", "min_difference"))],
    ratio_bounds: Annotated[tuple[float, float] | None, typer.Option(
        metavar="LOW HIGH", help="also require the ratio group / reference outside [LOW, HIGH], "
        "e.g. 0.8 1.25")] = None,
    input_description: Annotated[str | None, typer.Option(
        help="description of the input recorded in the report instead of its path (e.g. when "
        "the file is temporary)")] = None,
    model: Annotated[Path | None, typer.Option(
        help="model bundle that scored the file, recorded in the provenance")] = None,
    quiet: Quiet = False,
) -> None:
    """Break down one head's predictions in SCORED (the output of `tonecls score`) by group:
    counts, label and prediction distributions, accuracy, macro-F1, per-class precision /
    recall (TPR) / F1 / false-positive rate / selection rate, calibration (ECE) and the
    subgroup / BPSN / BNSP AUCs, with stratified bootstrap confidence intervals. Every gap of a
    group to the overall population (for calibration errors: to random groups of the same size)
    is tested, and all gaps of the report are corrected as one family (--correction); a gap is a
    finding only if it survives the correction and reaches the practical minimum
    (--min-difference, --ratio-bounds). Rows whose tonecls_status is not ok are excluded and
    counted. Without --label-col only prediction-based metrics are audited. Writes NAME.html
    (self-contained), NAME.md (+ NAME_figures/) and NAME.json."""
    from tonecls.jobs.audit import audit_file

    result, paths = audit_file(scored, output, head=head, group_cols=group_col, label_col=label_col,
                               model=model, command=_command_line(ctx), intersections=intersections,
                               min_group_size=min_group_size, max_groups=max_groups,
                               n_bootstrap=n_bootstrap, seed=seed,
                               min_cell_count=min_cell_count, correction=correction, alpha=alpha,
                               min_difference=min_difference, ratio_bounds=ratio_bounds,
                               input_description=input_description, quiet=quiet)
    print("\n".join([result.verdict, *result.findings[:6],
                      f"wrote {paths['html']}, {paths['md']} and {paths['json']}"]))


@command("sample", "draw a random sample of scored posts to label by hand (for tonecls prevalence)")
def sample(
    *,
    scored: Scored,
    output: Annotated[Path, typer.Option("-o", "--output", help="file to write, e.g. to_label.csv (format by extension)")],
    n: Annotated[int, typer.Option("-n", help="posts to draw",
                                   **_default("tonecls.jobs.prevalence:sample_file", "n"))],
    stratify_col: Annotated[str | None, typer.Option(
        metavar="COL", help="draw within the groups of this column, in proportion (each row records its "
        "inclusion probability)")] = None,
    seed: Annotated[int, typer.Option(help="seed of the draw (same file, n, strata and seed: same sample)",
                                      **_default("tonecls.jobs.prevalence:sample_file", "seed"))],
    id_col: Annotated[str, typer.Option(help="post id column (labels are joined back by it)",
                                        **_default("tonecls.jobs.prevalence:sample_file", "id_col"))],
    text_col: Annotated[str, typer.Option(help="column holding the posts",
                                          **_default("tonecls.jobs.prevalence:sample_file", "text_col"))],
    label_col: Annotated[str, typer.Option(help="name of the empty label column to fill in",
                                           **_default("tonecls.jobs.prevalence:sample_file", "label_col"))],
    allocation: Annotated[Literal["proportional", "equal"], typer.Option(
        help="draws per group of --stratify-col: in proportion to its size, or the same number for every "
        "group (small groups oversampled; estimates weight them back)",
        **_default("tonecls.jobs.prevalence:sample_file", "allocation"))],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace OUTPUT if it exists")] = False,
) -> None:
    """Draw N posts at random among the rows of SCORED that were scored (tonecls_status ok), in
    random order, and write them to OUTPUT with their id, text and an empty label column to fill
    in by hand. Labelled in the order given, any first rows are still a random sample. With
    --stratify-col the draw is made within each group (--allocation), and every row records its
    inclusion probability, which tonecls prevalence uses to weight it. An existing OUTPUT is
    never replaced without --overwrite."""
    from tonecls.jobs.prevalence import sample_file

    print(sample_file(scored, output, n=n, stratify_col=stratify_col, seed=seed, id_col=id_col,
                      text_col=text_col, label_col=label_col, allocation=allocation, overwrite=overwrite))


@command("prevalence", "how common each class is, by group and over time, with valid intervals from labelled posts")
def prevalence(
    ctx: typer.Context,
    *,
    scored: Scored,
    output: ReportOutput,
    head: Annotated[str, typer.Option(help="model head to estimate, e.g. sentiment")],
    label_col: Annotated[str | None, typer.Option(
        help="labels by hand: a column of SCORED, or of --labels (default there: label); class names, "
        "';'-joined for multi-label heads; empty: not labelled")] = None,
    labels: Annotated[Path | None, typer.Option(
        metavar="FILE", help="labels file joined to SCORED by --id-col, e.g. the filled-in output of "
        "tonecls sample")] = None,
    id_col: Annotated[str, typer.Option(help="post id column of SCORED and --labels",
                                        **_default("tonecls.jobs.prevalence:prevalence_file", "id_col"))],
    group_col: Annotated[list[str] | None, typer.Option(
        metavar="COL", help="column defining groups (repeatable; each gets its own estimates)")] = None,
    time_col: Annotated[str | None, typer.Option(metavar="COL", help="date/time column (ISO 8601)")] = None,
    freq: Annotated[Literal["D", "W", "M", "Q", "Y"], typer.Option(
        help="period of --time-col: day, week, month, quarter, year",
        **_default("tonecls.jobs.prevalence:prevalence_file", "freq"))],
    confidence: Annotated[float, typer.Option(
        help="level of every interval", **_default("tonecls.jobs.prevalence:prevalence_file", "confidence"))],
    input_description: Annotated[str | None, typer.Option(
        help="description of the input recorded in the report instead of its path")] = None,
    model: Annotated[Path | None, typer.Option(
        help="model bundle that scored the file, recorded in the provenance")] = None,
    quiet: Quiet = False,
) -> None:
    """Estimate how common each class of one head is in SCORED (the output of `tonecls
    score`), overall, per group of each --group-col and per period of --time-col, from the
    model's predictions on every scored post and a random sample of posts labelled by hand
    (tonecls sample): prediction-powered inference (PPI++), a corrected estimate with an
    interval at --confidence beside the naive classify-and-count share, and the differences
    between groups and consecutive periods tested as one corrected family. It assumes the
    labelled posts are a random sample of the posts they stand for. Without labelled posts only
    the model's own shares are reported, with a warning and no interval. Writes NAME.html,
    NAME.md (+ NAME_figures/) and NAME.json (one record per grouping, group or period, and
    class: class, group, estimate, ci_low, ci_high, naive, n, n_labelled)."""
    from tonecls.jobs.prevalence import prevalence_file

    result, paths = prevalence_file(scored, output, head=head, label_col=label_col, labels=labels, id_col=id_col,
                                    group_cols=group_col or [], time_col=time_col, freq=freq,
                                    confidence=confidence, quiet=quiet, command=_command_line(ctx), model=model,
                                    input_description=input_description)
    for line in result.warnings[:MAX_WARNINGS]:
        warnings.warn(line, stacklevel=1)
    if len(result.warnings) > MAX_WARNINGS:
        warnings.warn(f"{len(result.warnings) - MAX_WARNINGS} more warning(s) in the report", stacklevel=1)
    print("\n".join([result.verdict, f"wrote {paths['html']}, {paths['md']} and {paths['json']}"]))


@command("calibrate", "refit a head's calibration on your labelled posts and write a new model bundle")
def calibrate(
    ctx: typer.Context,
    *,
    labelled: Annotated[Path, typer.Argument(metavar="LABELLED", help="labelled posts (.csv .tsv .jsonl .parquet, optionally .gz)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="bundle directory to write")],
    head: Annotated[str, typer.Option(help="model head to recalibrate, e.g. sentiment")],
    label_col: Annotated[str, typer.Option(
        help="labels by hand: class names (';'-joined for multi-label heads); empty rows are skipped")],
    model: Annotated[Path | None, typer.Option("--model", help="base model bundle (default: bundled model)")] = None,
    text_col: Annotated[str, typer.Option(help="column holding the posts",
                                          **_default("tonecls.jobs.calibrate:calibrate_bundle", "text_col"))],
    folds: Annotated[int, typer.Option(help="cross-validation folds (choice of method, held-out ECE)",
                                       **_default("tonecls.jobs.calibrate:calibrate_bundle", "folds"))],
    seed: Annotated[int, typer.Option(help="seed of the fold assignment",
                                      **_default("tonecls.jobs.calibrate:calibrate_bundle", "seed"))],
    quiet: Quiet = False,
) -> None:
    """Refit the calibration of one head of the base model on the labelled posts of LABELLED
    (a temperature, and a per-class bias for a shifted class mix, chosen by cross-validation on
    those posts) and write the sealed bundle OUTPUT. Predictions change only through calibration;
    the other heads are untouched. bundle.json and MODEL_CARD.md record the posts used (rows,
    the file's SHA-256), the date and the expected calibration error before and after on
    held-out folds. A few hundred to a few thousand posts of your own data, drawn at random
    (tonecls sample), work best."""
    from tonecls.jobs.calibrate import calibrate_bundle

    print(calibrate_bundle(labelled, output, head=head, label_col=label_col, model=model, text_col=text_col,
                           folds=folds, seed=seed, quiet=quiet, command=_command_line(ctx)))


@command("privacy-audit", "membership inference: can an attacker tell a bundle's training posts from others?")
def privacy_audit(
    ctx: typer.Context,
    *,
    members: Annotated[Path, typer.Option(help="posts the bundle was trained on (with their labels)")],
    non_members: Annotated[Path, typer.Option(help="posts of the same kind it never saw (with their labels)")],
    head: Annotated[str, typer.Option(help="model head to attack, e.g. emotion")],
    output: ReportOutput,
    model: ModelBundle = None,
    text_col: Annotated[str, typer.Option(help="column holding the posts",
                                          **_default("tonecls.jobs.privacy:privacy_audit_file", "text_col"))],
    label_col: Annotated[str, typer.Option(help="column holding the class names",
                                           **_default("tonecls.jobs.privacy:privacy_audit_file", "label_col"))],
    attack: Annotated[list[str] | None, typer.Option(
        help="attack (repeatable): loss, lira (trains reference models: the train extra), trained; "
        "default: all three")] = None,
    reference_models: Annotated[int, typer.Option(
        help="reference models the lira attack trains",
        **_default("tonecls.jobs.privacy:privacy_audit_file", "reference_models"))],
    seed: Annotated[int, typer.Option(help="seed of the attacks and the bootstrap",
                                      **_default("tonecls.jobs.privacy:privacy_audit_file", "seed"))],
    save_bundle: Annotated[Path | None, typer.Option(
        help="also write the bundle with the audit recorded in its card, to this new folder")] = None,
    input_description: Annotated[str | None, typer.Option(
        help="description of the two files recorded in the report instead of their paths")] = None,
    quiet: Quiet = False,
) -> None:
    """Attack the bundle's scores as someone holding it could: the loss-threshold attack, an
    offline likelihood-ratio attack (LiRA, with reference models trained on half of the
    non-members) and an attack model trained on per-post features. For each: AUC with a
    bootstrap interval, TPR at 1% and 0.1% FPR, attacker advantage and an empirical epsilon
    lower bound, by class and for misclassified posts. Writes NAME.html, NAME.md and NAME.json."""
    from tonecls.jobs.privacy import privacy_audit_file
    from tonecls.privacy.audit import DEFAULT_ATTACKS

    result, paths = privacy_audit_file(members, non_members, output, head=head, model=model, text_col=text_col,
                                       label_col=label_col, attacks=tuple(attack or DEFAULT_ATTACKS),
                                       reference_models=reference_models, seed=seed, save_bundle=save_bundle,
                                       command=_command_line(ctx), input_description=input_description)
    wrote = f"wrote {paths['html']}, {paths['md']} and {paths['json']}"
    print("\n".join([result.verdict, *(() if quiet else result.findings[:4]), wrote,
                      *([f"wrote the bundle with the audit recorded: {paths['bundle']}"] if "bundle" in paths else [])]))


@command("preprocess", "tokenise the posts of an export (or of stdin) as the tone model sees them")
def preprocess(
    *,
    input: Annotated[str, typer.Argument(metavar="INPUT", help="export to tokenise, or - for one post per line on stdin")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="export to write (required unless INPUT is -)")] = None,
    text_col: Annotated[str, typer.Option(help="column holding the posts",
                                          **_default("tonecls.jobs.tokenize:tokenize_file", "text_col"))],
    tokens_col: Annotated[str, typer.Option(help="output column of the tokens",
                                            **_default("tonecls.jobs.tokenize:tokenize_file", "tokens_col"))],
    config: Annotated[Path | None, typer.Option(
        help="JSON file of preprocessing options (PreprocessConfig fields), or a model bundle's "
        "bundle.json to tokenise as that model does; default: defaults")] = None,
    chunksize: Annotated[int, typer.Option(help="rows per chunk",
                                           **_default("tonecls.jobs.tokenize:tokenize_file", "chunksize"))],
    on_bad_lines: Annotated[OnBadLines, typer.Option(
        help="malformed lines: flag them as rows or stop with an error",
        **_default("tonecls.jobs.tokenize:tokenize_file", "on_bad_lines"))],
    workers: Workers = None,
    resume: Resume = False,
    quiet: Quiet = False,
) -> None:
    """Tokenise the text column of INPUT (CSV/TSV/JSONL/Parquet, .gz) into OUTPUT: every input
    column unchanged, then the tokens (joined by spaces) and tonecls_status. Handles, URLs,
    e-mails, phone numbers and numbers become <user>, <url>, <email>, <phone>, <number>. With
    INPUT '-', read one post per line from stdin and print its tokens (an empty line for a post
    without tokens)."""
    from tonecls.jobs.tokenize import tokenize_file
    from tonecls.preprocess import PreprocessConfig, tokenize_lines

    options = PreprocessConfig.from_json(config) if config else None
    if input == "-":  # bytes: a line that is not UTF-8 is flagged, not fatal
        for tokens in tokenize_lines(sys.stdin.buffer, options):
            print(tokens)
    elif output is None:
        raise InputError("--output is required (or use - as INPUT to read posts from stdin)")
    else:
        print(tokenize_file(input, output, text_col=text_col, tokens_col=tokens_col, config=options,
                            chunksize=chunksize, on_bad_lines=on_bad_lines, resume=resume,
                            quiet=quiet, workers=workers))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tonecls`` command; returns the process exit status."""
    # the usage errors of the click typer runs on (typer >= 0.29 vendors its own): BadParameter's base
    usage_error = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        status = app(args=argv, prog_name="tonecls", obj={"argv": argv}, standalone_mode=False)
    except usage_error as error:  # a bad option or argument: one paragraph, as every other error
        context = getattr(error, "ctx", None)
        where = context.command_path if context is not None else "tonecls"
        print(f"{where}: error: {error.format_message()} (see `{where} --help`)", file=sys.stderr)
        return 2
    except typer.Abort:
        print("tonecls: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else int(exit.code is not None)
    return status if isinstance(status, int) else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
