"""The ``tonecls`` command line.

Each subcommand is a thin layer: it parses options, calls one public Python function of the
package (the same one notebooks call) and prints a short summary. Heavy imports happen inside
the handlers so that ``tonecls --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from tonecls import __version__
from tonecls.errors import InputError, ToneclsError

Registrar = Callable[["argparse._SubParsersAction"], None]


# --- subcommands -------------------------------------------------------------------------
# Each ``_add_<name>`` registers one subcommand and sets ``func`` to its handler.


# (subcommands are registered in COMMANDS at the bottom of this file)


def _add_score(subparsers) -> None:
    parser = subparsers.add_parser(
        "score",
        help="score every post of an export file (CSV/TSV/JSONL/Parquet) into a new file",
        description="Score every post of INPUT with the tone model and write OUTPUT: every "
        "input column unchanged, then tonecls_status and the predictions of each head. Rows "
        "that cannot be scored are kept and flagged. Formats by extension: .csv .tsv .jsonl "
        ".parquet (and .gz). With --engine dask, OUTPUT is a directory of Parquet parts.",
    )
    parser.add_argument("input", help="export to score")
    parser.add_argument("-o", "--output", required=True, help="scored export to write")
    parser.add_argument("--text-col", default="text", help="column holding the posts (default: text)")
    parser.add_argument("--id-col", default=None, help="post id column (checked; repeated ids reported)")
    parser.add_argument("--model", default=None, help="model bundle directory (default: bundled model)")
    parser.add_argument("--engine", choices=["local", "dask"], default="local",
                        help="local: stream in this process (default); dask: a dask.distributed cluster")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running dask scheduler (default: start a local cluster)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes of the local dask cluster (default: one per core)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted job from its last completed chunk")
    parser.add_argument("--chunksize", type=int, default=None,
                        help="rows per chunk (local engine; default 20000)")
    parser.add_argument("--blocksize", default=None,
                        help="bytes per partition of text inputs (dask engine; default 16MB; "
                        "'none': one partition per file)")
    parser.add_argument("--on-bad-lines", choices=["flag", "error"], default=None,
                        help="malformed lines: flag them as rows (local default) or stop with an error")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run_score)


def _run_score(args: argparse.Namespace) -> int:
    from tonecls.score import DEFAULT_BLOCKSIZE, DEFAULT_CHUNKSIZE, score_file
    from tonecls.score.checkpoint import manifest_path

    try:
        summary = score_file(
            args.input, args.output, text_col=args.text_col, id_col=args.id_col, model=args.model,
            engine=args.engine, scheduler=args.scheduler, workers=args.workers, resume=args.resume,
            chunksize=DEFAULT_CHUNKSIZE if args.chunksize is None else args.chunksize,
            blocksize=None if (args.blocksize or "").lower() == "none"
            else args.blocksize or DEFAULT_BLOCKSIZE,
            on_bad_lines=args.on_bad_lines, progress=False if args.quiet else None,
        )
    except (Exception, KeyboardInterrupt) as error:
        if not isinstance(error, InputError) and manifest_path(args.output).exists():
            print("tonecls score: the completed chunks are kept; run the same command with "
                  "--resume to continue.", file=sys.stderr)
        raise
    print(summary)
    return 0


def _add_train(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a tone model from a JSON config and write a model bundle",
        description="Train the BiLSTM tone model described by CONFIG (heads and their data "
        "sources, network, epochs, seed; see configs/default_model.json), calibrate it on the "
        "validation splits, score it on the test splits, and write the bundle directory "
        "(model, vocabulary, metrics, provenance, MODEL_CARD.md) atomically.",
    )
    parser.add_argument("--config", required=True, help="training config (JSON)")
    parser.add_argument("-o", "--output", required=True, help="bundle directory to write")
    parser.add_argument("--data-dir", default=None, help="benchmark data directory (default: auto)")
    parser.add_argument("--cache-dir", default=None, help="cache tokenised datasets here between runs")
    parser.add_argument("--no-test", action="store_true", help="do not score the test splits")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.set_defaults(func=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    import shlex

    from tonecls.model import train
    from tonecls.model.evaluate import record_test_metrics

    command = ["tonecls", "train", "--config", args.config, "-o", args.output]
    for flag, value in (("--data-dir", args.data_dir), ("--cache-dir", args.cache_dir)):
        if value:
            command += [flag, value]
    command += [flag for flag, on in (("--no-test", args.no_test), ("--quiet", args.quiet)) if on]
    model = train(args.config, data_dir=args.data_dir, cache_dir=args.cache_dir, quiet=args.quiet,
                  command=shlex.join(command))
    if not args.no_test:
        record_test_metrics(model, data_dir=args.data_dir)
    path = model.save(args.output)
    metrics = model.metadata_["metrics"]
    print(f"wrote {path} ({model.metadata_['training_seconds'] / 60:.1f} min of training)")
    for split in ("validation", "test"):
        for head, m in metrics.get(split, {}).items():
            interval = " 95% CI [{:.4f}, {:.4f}]".format(*m["ci95"]) if m.get("ci95") else ""
            print(f"  {split:<10} {head:<12} {m['metric']:<13} {m['value']:.4f}{interval}  (n={m['n']})")
    return 0


def _add_evaluate(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a model on the official test splits beside published results",
        description="Score a model bundle on each head's benchmark split with the official "
        "metric (emotion: macro-F1; sentiment: macro-recall; GoEmotions: macro-F1 over labels) "
        "and print the figures beside published results of other systems.",
    )
    parser.add_argument("--model", default=None, help="model bundle directory (default: bundled model)")
    parser.add_argument("--split", default="test", choices=["test", "val"], help="split (default: test)")
    parser.add_argument("--heads", default=None, help="comma-separated heads (default: all)")
    parser.add_argument("--data-dir", default=None, help="benchmark data directory (default: auto)")
    parser.add_argument("--json", default=None, help="also write the comparison table as JSON here")
    parser.set_defaults(func=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from tonecls.model import comparison_table, evaluate, load_model

    model = load_model(args.model)
    heads = [h.strip() for h in args.heads.split(",") if h.strip()] if args.heads else None
    for head in heads or []:
        if head not in [h.name for h in model.heads_]:
            raise InputError(f"--heads: the model has no head {head!r}; its heads are "
                             f"{', '.join(h.name for h in model.heads_)}.")
    results = evaluate(model, args.split, heads=heads, data_dir=args.data_dir)
    table = comparison_table(results, system=f"tonecls ({args.model or 'bundled model'})",
                             data_dir=args.data_dir)
    print(table.to_string(index=False))
    if args.json:
        from tonecls.exports import atomic_write

        with atomic_write(args.json) as handle:
            handle.write(table.to_json(orient="records", indent=2))
        print(f"wrote {args.json}")
    return 0


def _add_fetch(subparsers) -> None:
    parser = subparsers.add_parser(
        "fetch",
        help="download benchmark datasets (TweetEval, GoEmotions, TwitterAAE) with checksums",
        description="Download the official files of a dataset into the data directory "
        "($TONECLS_DATA_DIR if set, else ~/.cache/tonecls/data), verify their SHA-256 "
        "checksums and derive GoEmotions' ekman and group taxonomies. Files already present "
        "and verified are skipped. Needs network access; nothing else in tonecls does.",
    )
    parser.add_argument("dataset", choices=["tweeteval", "goemotions", "twitteraae", "all"])
    parser.add_argument("--data-dir", default=None, help="where to write (default: see above)")
    parser.add_argument("--force", action="store_true", help="download again even if present")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=_run_fetch)


def _run_fetch(args: argparse.Namespace) -> int:
    import warnings

    from tonecls.datasets import fetch

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        root = fetch(args.dataset, args.data_dir, force=args.force, quiet=args.quiet)
    for warning in caught:
        print(f"tonecls fetch: warning: {warning.message}", file=sys.stderr)
    print(f"{args.dataset}: ready in {root}")
    return 0


def _add_dialect(subparsers) -> None:
    parser = subparsers.add_parser(
        "dialect",
        help="add TwitterAAE dialect proportions and a dialect group to an export",
        description="Append to every row of INPUT the proportions of its words drawn from four "
        "demographically aligned dialect topics (Blodgett, Green & O'Connor 2016: dialect_aa, "
        "dialect_hispanic, dialect_asian, dialect_white; NaN when too few words are in the "
        "model's vocabulary), dialect_n_tokens, and dialect_group (aa_aligned / white_aligned / "
        "undetermined by --threshold). This is a proxy about the language of a post, not about "
        "its author; only the AA- and White-aligned topics were validated by the model's "
        "authors. Every input row is written once, in order.",
    )
    parser.add_argument("input", help="export to read (.csv .tsv .jsonl .parquet, optionally .gz)")
    parser.add_argument("-o", "--output", required=True, help="export to write (format by extension)")
    parser.add_argument("--text-col", default="text", help="column holding the posts (default: text)")
    parser.add_argument("--threshold", type=float, default=0.8,
                        help="proportion at or above which a post is aa_aligned / white_aligned "
                        "(default: 0.8, as in Blodgett et al. 2016)")
    parser.add_argument("--min-tokens", type=int, default=1,
                        help="fewest in-vocabulary tokens for an estimate (default: 1, as released)")
    parser.add_argument("--model-dir", default=None,
                        help="TwitterAAE model directory (default: <data dir>/twitteraae)")
    parser.add_argument("--chunksize", type=int, default=50_000, help="rows per chunk (default 50000)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run_dialect)


def _run_dialect(args: argparse.Namespace) -> int:
    from tonecls.audit.dialect import PROXY_NOTE, DialectEstimator, dialect_file

    estimator = DialectEstimator(args.model_dir, min_tokens=args.min_tokens)
    summary = dialect_file(
        args.input, args.output, text_col=args.text_col, threshold=args.threshold,
        estimator=estimator, chunksize=args.chunksize, resume=args.resume, quiet=args.quiet,
    )
    groups = ", ".join(f"{group} {n}" for group, n in summary["groups"].items())
    resumed = f" (resumed after {summary['resumed_after']} rows)" if summary["resumed_after"] else ""
    print(f"wrote {summary['output']}: {summary['rows']} rows{resumed}, {summary['estimated']} with an "
          f"estimate; groups at threshold {args.threshold}: {groups}")
    print(f"note: {PROXY_NOTE}")
    return 0


def _report_target(output: str) -> Path:
    """The ``-o`` of a report command: a path without extension (NAME.html/.md/.json follow)."""

    target = Path(output)
    if not target.name or target.suffix in (".html", ".md", ".json"):
        raise InputError(f"-o takes a report path without extension (e.g. reports/audit), got {output!r}")
    return target


def _add_probe(subparsers) -> None:
    parser = subparsers.add_parser(
        "probe",
        help="counterfactual identity probes: the same sentences with only an identity term changed",
        description="Score template sentences that differ only in an identity term (gender, "
        "first names, religion, nationality, sexuality, disability; editable lists in "
        "data/probe_terms), optionally the Equity Evaluation Corpus (--eec), and test the "
        "paired differences per head and class (Wilcoxon signed-rank and paired t-test, "
        "corrected for multiple comparisons). Writes NAME.html, NAME.md and NAME.json, and "
        "the scored sentences as NAME_scores.csv.",
    )
    parser.add_argument("-o", "--output", required=True,
                        help="report path without extension, e.g. reports/probes")
    parser.add_argument("--model", default=None, help="model bundle directory (default: bundled model)")
    parser.add_argument("--terms", default=None, help="directory of templates.txt and <dimension>.csv")
    parser.add_argument("--eec", default=None, help="Equity Evaluation Corpus CSV to include")
    parser.add_argument("--no-templates", action="store_true",
                        help="probe only the EEC (requires --eec)")
    parser.add_argument("--dimension", action="append", default=None,
                        help="only this dimension (repeatable; default: all)")
    parser.add_argument("--correction", choices=["fdr_bh", "holm"], default="fdr_bh",
                        help="multiple-comparison correction: Benjamini-Hochberg (default) or Holm")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.set_defaults(func=_run_probe)


def _run_probe(args: argparse.Namespace) -> int:

    from tonecls.audit.probes import run_probes
    from tonecls.exports import atomic_write
    from tonecls.report import write_report

    target = _report_target(args.output)
    result = run_probes(
        args.model, terms_dir=args.terms, eec_path=args.eec, dimensions=args.dimension,
        include_templates=not args.no_templates, correction=args.correction, alpha=args.alpha,
        random_state=args.seed,
    )
    paths = write_report(result.to_report(), target.parent, target.name)
    scores_path = target.parent / f"{target.name}_scores.csv"
    with atomic_write(scores_path, newline="") as handle:
        result.scores.to_csv(handle, index=False)
    for finding in result.findings[:4]:
        print(finding)
    print(f"wrote {paths['html']}, {paths['md']}, {paths['json']} and {scores_path}")
    return 0


def _add_audit(subparsers) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="bias audit of a scored export: metrics by group with bootstrap confidence intervals",
        description="Break down one head's predictions in SCORED (the output of `tonecls score`) "
        "by group: counts, label and prediction distributions, accuracy, macro-F1, per-class "
        "precision / recall (TPR) / F1 / false-positive rate / selection rate, calibration (ECE) "
        "and the subgroup / BPSN / BNSP AUCs; gaps against the overall population and between "
        "groups with stratified bootstrap confidence intervals. Rows whose tonecls_status is not "
        "ok are excluded and counted. Without --label-col only prediction-based metrics are "
        "audited. Writes NAME.html (self-contained), NAME.md (+ NAME_figures/) and NAME.json.",
    )
    parser.add_argument("scored", help="scored export (.csv .tsv .jsonl .parquet, optionally .gz)")
    parser.add_argument("-o", "--output", required=True,
                        help="report path without extension, e.g. reports/audit")
    parser.add_argument("--head", required=True, help="model head to audit, e.g. emotion")
    parser.add_argument("--label-col", default=None,
                        help="gold labels: class names (';'-joined for multi-label heads)")
    parser.add_argument("--group-col", action="append", required=True, metavar="COL",
                        help="column defining groups (repeatable; each is audited on its own)")
    parser.add_argument("--intersections", action="store_true",
                        help="also audit the intersection of all --group-col columns")
    parser.add_argument("--min-group-size", type=int, default=30,
                        help="groups with fewer rows are shown but marked and not tested (default 30)")
    parser.add_argument("--n-bootstrap", type=int, default=1000,
                        help="bootstrap resamples for the confidence intervals (default 1000; 0: none)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--model", default=None,
                        help="model bundle that scored the file, recorded in the provenance")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run_audit)


def _audit_command(args: argparse.Namespace) -> list[str]:
    """The audit command line, rebuilt from the parsed options (for the provenance)."""
    command = ["tonecls", "audit", args.scored, "-o", args.output, "--head", args.head]
    if args.label_col:
        command += ["--label-col", args.label_col]
    for col in args.group_col:
        command += ["--group-col", col]
    command += ["--min-group-size", str(args.min_group_size), "--n-bootstrap",
                str(args.n_bootstrap), "--seed", str(args.seed)]
    if args.model:
        command += ["--model", args.model]
    return command + [flag for flag, on in (("--intersections", args.intersections),
                                            ("--quiet", args.quiet)) if on]


def _run_audit(args: argparse.Namespace) -> int:
    import datetime as dt
    import shlex

    from tonecls.audit.groups import audit_groups, load_scored, model_provenance
    from tonecls.report import write_report

    target = _report_target(args.output)
    provenance = {
        "input file": str(Path(args.scored).resolve()),
        "command": shlex.join(_audit_command(args)),
        "date": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        **(model_provenance(args.model) if args.model else
           {"model": "not recorded (pass --model BUNDLE to record the bundle that scored the file)"}),
    }
    result = audit_groups(
        load_scored(args.scored, head=args.head, columns=[*filter(None, [args.label_col]), *args.group_col]),
        head=args.head, label_col=args.label_col,
        group_cols=args.group_col, min_group_size=args.min_group_size,
        n_bootstrap=args.n_bootstrap, seed=args.seed, intersections=args.intersections,
        quiet=args.quiet,
    )
    paths = write_report(result.to_report(provenance), target.parent, target.name)
    for finding in result.findings[:6]:
        print(finding)
    print(f"wrote {paths['html']}, {paths['md']} and {paths['json']}")
    return 0


def _add_preprocess(subparsers) -> None:
    parser = subparsers.add_parser(
        "preprocess",
        help="tokenise the posts of an export (or of stdin) as the tone model sees them",
        description="Tokenise the text column of INPUT (CSV/TSV/JSONL/Parquet, .gz) into OUTPUT: "
        "every input column unchanged, then the tokens (joined by spaces) and tonecls_status. "
        "Handles, URLs, e-mails, phone numbers and numbers become <user>, <url>, <email>, "
        "<phone>, <number>. With INPUT '-', read one post per line from stdin and print its "
        "tokens (an empty line for a post without tokens).",
    )
    parser.add_argument("input", help="export to tokenise, or - for one post per line on stdin")
    parser.add_argument("-o", "--output", help="export to write (required unless INPUT is -)")
    parser.add_argument("--text-col", default="text", help="column holding the posts (default: text)")
    parser.add_argument("--tokens-col", default="tokens", help="output column of the tokens (default: tokens)")
    parser.add_argument("--config", default=None,
                        help="JSON file of preprocessing options (PreprocessConfig fields), or a "
                        "model bundle's bundle.json to tokenise as that model does; default: defaults")
    parser.add_argument("--chunksize", type=int, default=50_000, help="rows per chunk (default 50000)")
    parser.add_argument("--on-bad-lines", choices=["flag", "error"], default="flag",
                        help="malformed lines: flag them as rows (default) or stop with an error")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run from its last completed chunk")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run_preprocess)


def _run_preprocess(args: argparse.Namespace) -> int:
    import json

    from tonecls.preprocess import PreprocessConfig, Preprocessor, tokenize_file

    config = None
    if args.config:
        try:
            with open(args.config, encoding="utf-8") as handle:
                data = json.load(handle)
            if isinstance(data, dict) and isinstance(data.get("preprocess"), dict):
                data = data["preprocess"]  # a model bundle's bundle.json
            if not isinstance(data, dict):
                raise InputError(f"{args.config} must hold a JSON object of preprocessing options")
            config = PreprocessConfig.from_dict(data)
        except (OSError, ValueError) as error:
            if isinstance(error, InputError):
                raise
            raise InputError(f"cannot read the preprocessing config {args.config}: {error}") from None
    if args.input == "-":
        preprocessor = Preprocessor(config)
        for line in sys.stdin.buffer:  # bytes: a line that is not UTF-8 is flagged, not fatal
            tokens, _ = preprocessor.tokenize_post(line.rstrip(b"\r\n"))
            print(" ".join(tokens))
        return 0
    if not args.output:
        raise InputError("--output is required (or use - as INPUT to read posts from stdin)")
    summary = tokenize_file(
        args.input, args.output, text_col=args.text_col, tokens_col=args.tokens_col,
        config=config, chunksize=args.chunksize, on_bad_lines=args.on_bad_lines,
        resume=args.resume, progress=False if args.quiet else None,
    )
    print(summary)
    return 0


COMMANDS: list[Registrar] = [_add_score, _add_train, _add_evaluate, _add_fetch, _add_dialect, _add_probe, _add_audit, _add_preprocess]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="tonecls",
        description="Sentiment and emotional-tone classification of social media posts, "
        "batch scoring and bias audit reports.",
    )
    parser.add_argument("--version", action="version", version=f"tonecls {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in COMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tonecls`` command; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except ToneclsError as error:
        print(f"tonecls {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tonecls {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
