"""The command line as a whole (tonecls.cli): help, version, exit statuses, usage errors,
library defaults; over many bad inputs every failure is exit status 2, one paragraph naming
what was wrong and never a traceback, and nothing is written; --help imports no heavy library."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tonecls.cli import LibraryDefault, main


def test_no_command_prints_the_help_and_exits_1(capsys):
    assert main([]) == 1
    out = capsys.readouterr().out
    assert "Usage: tonecls" in out
    for command in ("score", "train", "evaluate", "fetch", "dialect", "probe", "audit", "preprocess"):
        assert f"  {command} " in out


def test_version_and_help_exit_0(capsys):
    from tonecls import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"tonecls {__version__}"
    assert main(["audit", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--n-bootstrap" in out and "[default: 1000]" in out  # the library's default


def test_malformed_command_lines_exit_2_without_traceback(capsys):
    assert main(["score"]) == 2
    err = capsys.readouterr().err
    assert "Missing argument" in err and "Traceback" not in err
    assert main(["score", "in.csv", "-o", "out.csv", "--engine", "spark"]) == 2
    assert "spark" in capsys.readouterr().err
    assert main(["nonsense"]) == 2
    assert main(["audit", "x.csv", "-o", "r.html", "--head", "h", "--group-col", "g"]) == 2
    assert "without extension" in capsys.readouterr().err  # checked while parsing, before any work


def test_library_errors_are_one_paragraph_and_exit_2(tmp_path, capsys):
    assert main(["score", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "out.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tonecls score: error: ") and err.count("\n") == 1


def test_an_interrupt_exits_130(monkeypatch, tmp_path, capsys):
    import functools

    import tonecls.jobs.tokenize

    @functools.wraps(tonecls.jobs.tokenize.tokenize_file)  # keeps the signature the CLI's defaults read
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tonecls.jobs.tokenize, "tokenize_file", interrupted)
    assert main(["preprocess", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv")]) == 130
    assert capsys.readouterr().err == "tonecls preprocess: interrupted\n"
    # with completed chunks on disk, a resumable command says how to continue
    import tonecls.io.runner

    monkeypatch.setattr(tonecls.io.runner, "resume_hint", lambda output: f"run again with --resume ({output.name})")
    assert main(["preprocess", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv")]) == 130
    assert capsys.readouterr().err == ("tonecls preprocess: run again with --resume (out.csv)\n"
                                       "tonecls preprocess: interrupted\n")


@pytest.mark.parametrize(("error", "said"), [
    (KeyError("writer"), "unexpected KeyError: 'writer'. This is a bug in tonecls"),
    (PermissionError(13, "Permission denied", "/data/out.csv"), "Permission denied (/data/out.csv). Check the path"),
])
def test_an_unforeseen_error_is_one_paragraph_and_exit_1(monkeypatch, tmp_path, capsys, error, said):
    import functools

    import tonecls.jobs.tokenize

    @functools.wraps(tonecls.jobs.tokenize.tokenize_file)
    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(tonecls.jobs.tokenize, "tokenize_file", failing)
    monkeypatch.delenv("TONECLS_DEBUG", raising=False)
    assert main(["preprocess", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tonecls preprocess: error: {said}") and "Traceback" not in err
    monkeypatch.setenv("TONECLS_DEBUG", "1")  # the developer's traceback on request
    with pytest.raises(type(error)):
        main(["preprocess", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv")])


def test_library_defaults_are_read_from_the_function_signature():
    import inspect

    from tonecls.audit.groups import audit_groups

    default = LibraryDefault("tonecls.audit.groups:audit_groups", "n_bootstrap")
    assert default() == inspect.signature(audit_groups).parameters["n_bootstrap"].default
    assert str(default) == str(default())


@pytest.mark.slow
def test_help_imports_no_heavy_library():
    """`tonecls --help` imports neither TensorFlow nor pandas; no command's --help imports TensorFlow
    (one process for all: each help is the same few milliseconds)."""
    code = ("import sys, typer.main; from tonecls.cli import app, main; status = [main(['--help'])]; "
            "light = [m for m in ('tensorflow', 'keras', 'pandas') if m in sys.modules]; "
            "commands = sorted(typer.main.get_command(app).commands); "
            "status += [main([c, '--help']) for c in commands]; "
            "print(len(commands), status, light, [m for m in ('tensorflow', 'keras') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    count, rest = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert int(count) >= 13  # every command of the README
    assert rest == f"{[0] * (int(count) + 1)} [] []"


@pytest.fixture
def posts(tmp_path) -> Path:
    path = tmp_path / "posts.csv"
    path.write_text("id,text\n1,love it\n2,hate it\n", encoding="utf-8")
    return path


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    varied = b"id,text\n" + b"".join(f"{i},post {i * 7919 % 10007}\n".encode() for i in range(5000))
    compressed = gzip.compress(varied)
    files = {
        "empty.csv": b"",
        "corrupt.parquet": b"PAR1 this is not parquet",
        "truncated.csv.gz": compressed[: len(compressed) // 2],
        "binary.jsonl.gz": b"\x00\x01\x02 not gzip",
        "posts.xlsx": b"PK\x03\x04",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return {name: tmp_path / name for name in files}


def _broken_bundles(tmp_path: Path) -> dict[str, Path]:
    empty = tmp_path / "no_bundle"
    empty.mkdir()
    bad_json = tmp_path / "bad_json"
    bad_json.mkdir()
    (bad_json / "bundle.json").write_text("{not json", encoding="utf-8")
    wrong = tmp_path / "wrong_fields"
    wrong.mkdir()
    (wrong / "bundle.json").write_text(json.dumps({"heads": "sentiment", "max_length": -3}), encoding="utf-8")
    return {"no_bundle": empty, "bad_json": bad_json, "wrong_fields": wrong}


def _cases(tmp_path: Path, posts: Path) -> list[tuple[str, list[str]]]:
    out = str(tmp_path / "out.csv")
    bad = _bad_files(tmp_path)
    folder = tmp_path / "a_folder.csv"
    folder.mkdir()
    (tmp_path / "busy.csv.partial").write_text("the user's own file")
    (tmp_path / "manifest_broken.csv.partial").write_text("")
    (tmp_path / "manifest_broken.csv.partial.json").write_text("{oops")
    cases = [
        ("missing input", ["score", str(tmp_path / "missing.csv"), "-o", out]),
        ("input is a directory", ["score", str(folder), "-o", out]),
        ("unknown input extension", ["score", str(bad["posts.xlsx"]), "-o", out]),
        ("unknown output extension", ["score", str(posts), "-o", str(tmp_path / "out.xlsx")]),
        ("output is the input", ["score", str(posts), "-o", str(posts)]),
        ("output is a directory", ["score", str(posts), "-o", str(folder)]),
        ("output directory not writable", ["score", str(posts), "-o", "/proc/tonecls/out.csv"]),
        ("wrong text column", ["score", str(posts), "-o", out, "--text-col", "body"]),
        ("wrong id column", ["score", str(posts), "-o", out, "--id-col", "post_id"]),
        ("chunksize 0", ["score", str(posts), "-o", out, "--chunksize", "0"]),
        ("blocksize abc", ["score", str(posts), "-o", str(tmp_path / "o.parquet"), "--engine", "dask",
                           "--blocksize", "abc"]),
        ("no workers", ["score", str(posts), "-o", out, "--workers", "0"]),
        ("dask to csv", ["score", str(posts), "-o", out, "--engine", "dask"]),
        ("empty file", ["score", str(bad["empty.csv"]), "-o", out]),
        ("corrupt parquet", ["score", str(bad["corrupt.parquet"]), "-o", out]),
        ("truncated gzip", ["score", str(bad["truncated.csv.gz"]), "-o", out]),
        ("not gzip", ["score", str(bad["binary.jsonl.gz"]), "-o", out]),
        ("foreign partial", ["score", str(posts), "-o", str(tmp_path / "busy.csv")]),
        ("unreadable manifest", ["score", str(posts), "-o", str(tmp_path / "manifest_broken.csv"),
                                 "--resume"]),
        ("preprocess missing input", ["preprocess", str(tmp_path / "missing.csv"), "-o", out]),
        ("preprocess wrong column", ["preprocess", str(posts), "-o", out, "--text-col", "body"]),
        ("preprocess no output", ["preprocess", str(posts)]),
        ("preprocess output is input", ["preprocess", str(posts), "-o", str(posts)]),
        ("dialect missing input", ["dialect", str(tmp_path / "missing.csv"), "-o", out]),
        ("dialect threshold", ["dialect", str(posts), "-o", out, "--threshold", "2"]),
        ("dialect model missing", ["dialect", str(posts), "-o", out, "--model-dir", str(tmp_path / "nope")]),
        ("audit missing file", ["audit", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "rep"),
                                "--head", "sentiment", "--group-col", "g"]),
        ("audit unknown head", ["audit", str(posts), "-o", str(tmp_path / "rep"), "--head", "sentiment",
                                "--group-col", "id"]),
    ]
    for name, bundle in _broken_bundles(tmp_path).items():
        cases.append((f"broken bundle ({name})", ["score", str(posts), "-o", out, "--model", str(bundle)]))
    return cases


def test_every_bad_input_is_exit_2_with_one_paragraph_and_no_traceback(tmp_path, posts, capsys):
    failures = []
    for name, argv in _cases(tmp_path, posts):
        code = main(argv)
        printed = capsys.readouterr()
        text = printed.out + printed.err
        message = printed.err.strip()
        command = argv[0]
        if (code != 2 or "Traceback" in text or "\n\n" in message
                or not message.startswith(f"tonecls {command}: error: ")):
            failures.append(f"{name}: exit {code}\n{text}")
    assert not failures, "\n---\n".join(failures)
    # nothing was written next to the inputs, and the user's own files are untouched
    assert not (tmp_path / "out.csv").exists() and not list(tmp_path.glob("out.csv.*"))
    assert (tmp_path / "busy.csv.partial").read_text() == "the user's own file"


def test_bad_values_are_named_in_the_message(tmp_path, posts, capsys):
    main(["score", str(posts), "-o", str(tmp_path / "o.parquet"), "--engine", "dask", "--blocksize", "abc"])
    assert "'abc' is not a size" in capsys.readouterr().err
    main(["score", str(posts), "-o", str(tmp_path / "o.csv"), "--text-col", "body"])
    err = capsys.readouterr().err
    assert "'body'" in err and "['id', 'text']" in err




@pytest.mark.parametrize(("argv", "said"), [
    (["score", "posts.csv", "-o", "out.csv", "--chunksize", "1.5"], "tonecls score: error: Invalid value for '--chunksize'"),
    (["score"], "tonecls score: error: Missing argument 'INPUT'."),
    (["scor"], "tonecls: error: No such command 'scor'. Did you mean 'score'?"),
    (["score", "posts.csv", "-o", "out.csv", "--engine", "spark"], "tonecls score: error: Invalid value for '--engine'"),
])
def test_usage_errors_are_one_paragraph_with_exit_2(argv, said, capsys):
    assert main(argv) == 2
    printed = capsys.readouterr()
    assert printed.err.startswith(said) and printed.err.count("\n") == 1 and "--help`)" in printed.err
    assert "Usage:" not in printed.err + printed.out


def test_a_reader_that_leaves_early_ends_the_command_quietly(tmp_path):
    """`tonecls preprocess - | head -n 1`: exit 141 (SIGPIPE's), no message, no traceback."""
    posts = tmp_path / "posts.txt"
    posts.write_text("".join(f"post number {i} is great\n" for i in range(200_000)), encoding="utf-8")
    script = f'{sys.executable} -m tonecls preprocess - < {posts} 2> {tmp_path / "err"} | head -n 1; ' \
             'echo "status ${PIPESTATUS[0]}"'
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.splitlines() == ["post number <number> is great", "status 141"]
    assert (tmp_path / "err").read_text() == ""


def test_resume_without_an_interrupted_run_says_so(tmp_path, posts, capsys):
    assert main(["score", str(posts), "-o", str(tmp_path / "scored.csv"), "--resume", "-q"]) == 0
    assert "nothing to resume (no interrupted run writing" in capsys.readouterr().out
