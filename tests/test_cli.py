"""The command line as a whole: help, version, exit statuses, usage errors, library defaults."""

from __future__ import annotations

import subprocess
import sys

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


def test_library_defaults_are_read_from_the_function_signature():
    import inspect

    from tonecls.audit.groups import audit_groups

    default = LibraryDefault("tonecls.audit.groups:audit_groups", "n_bootstrap")
    assert default() == inspect.signature(audit_groups).parameters["n_bootstrap"].default
    assert str(default) == str(default())


@pytest.mark.parametrize("argv", [["--help"], ["score", "--help"], ["audit", "--help"]])
def test_help_imports_no_heavy_library(argv):
    """`tonecls --help` stays fast: neither TensorFlow nor pandas is imported for it."""
    code = (f"import sys; from tonecls.cli import main; status = main({argv!r}); "
            "heavy = [m for m in ('tensorflow', 'keras', 'pandas') if m in sys.modules]; "
            "print(status, heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    status, heavy = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "0"
    assert heavy == ("[]" if argv == ["--help"] else heavy)
    assert "tensorflow" not in heavy and "keras" not in heavy
