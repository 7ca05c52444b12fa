"""Scoring, where one process's CPU goes: tokeniser, language check, network, the rest.

Scores 40,000 posts of the 200k-row benchmark export (``bench_scoring`` builds it) with the
default model in this process, after a warm-up on 2,000 other posts: each stage of
``ToneModel.predict`` on its own, then ``predict`` and ``score_frame`` whole, in CPU-seconds
per 1,000 posts. The stages run one after the other on the same posts, so ``predict`` and
``score_frame`` find the tokeniser's caches warm.

    .venv/bin/python -m benchmarks.bench_score_parts
"""

from __future__ import annotations

import pandas as pd

from benchmarks import harness, workloads


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--model", default=None, help="model bundle (default: the default model)")
    parser.add_argument("--posts", type=int, default=40_000)
    args = parser.parse_args(argv)
    if args.smoke:
        args.posts = 300
    with harness.Report(args, "Scoring: where one process's CPU goes") as report:
        from tonecls.language import identify

        rows = 200 + 2_000 if args.smoke else 200_000
        frame = pd.read_csv(workloads.build_export(rows, report.work_dir), nrows=args.posts + 2_000,
                            dtype=str, keep_default_na=False)
        model = workloads.load_scoring_model(args.model)
        workloads.score_frame(frame.iloc[:2_000], model)  # language models loaded, network tables filled
        frame = frame.iloc[2_000:]
        texts = frame["text"].tolist()
        (tokens, statuses), tokeniser = harness.timed(lambda: model.tokenize_with_status(texts))
        ok = [t for t, s in zip(tokens, statuses) if s == "ok"]
        stages = {"tokeniser": tokeniser}
        for label, stage in {
            "language check": lambda: identify(ok),
            "network": lambda: model.logits_from_tokens(ok),
            "`predict` (all, with output columns)": lambda: model.predict(texts),
            "`score_frame`": lambda: workloads.score_frame(frame, model),
        }.items():
            stages[label] = harness.timed(stage)[1]
        table = harness.Table(["stage", "CPU s / 1k posts", "wall s / 1k posts"])
        for label, sample in stages.items():
            table.add(label, harness.number(1000 * sample.cpu_s / len(texts), 3),
                      harness.number(1000 * sample.wall_s / len(texts), 3))
        report.table(table, f"{len(texts):,} posts, one process:")


if __name__ == "__main__":
    main()
