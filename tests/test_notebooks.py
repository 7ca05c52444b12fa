"""The example notebooks (plain .ipynb files, the source of truth) run top to bottom on small data.

Each notebook is executed with nbclient in ``notebooks/``, with ``TONECLS_NOTEBOOK_FAST=1``
(small subsets, one epoch, few bootstrap resamples) and ``TONECLS_OUTPUT_DIR`` set to a
temporary directory, in a kernel running this interpreter. A failing cell fails the test with
that cell's source and traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
DATA_DIR = ROOT.parent / "shared" / "data"
DEFAULT_BUNDLE = ROOT / "tonecls" / "resources" / "default_model" / "bundle.json"
CELL_TIMEOUT = 600  # seconds; a FAST cell takes seconds, this only stops a hung kernel

NOTEBOOKS = ["01_quickstart.ipynb", "02_train_and_evaluate.ipynb", "03_bias_audit.ipynb", "04_prevalence.ipynb",
             "05_privacy.ipynb"]
NEEDS_DEFAULT_MODEL = {"01_quickstart.ipynb", "03_bias_audit.ipynb", "04_prevalence.ipynb"}


@pytest.fixture
def notebook_env(tmp_path, monkeypatch):
    """Environment of a FAST run: outputs in tmp_path, a ``python3`` kernel of this interpreter."""
    kernel_dir = tmp_path / "jupyter" / "kernels" / "python3"
    kernel_dir.mkdir(parents=True)
    (kernel_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (tonecls tests)", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))  # searched before user/system kernels
    monkeypatch.setenv("TONECLS_NOTEBOOK_FAST", "1")
    monkeypatch.setenv("TONECLS_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.delenv("TONECLS_NOTEBOOK_DATA", raising=False)
    return tmp_path / "out"


def skip_without_model(name: str) -> None:
    if name in NEEDS_DEFAULT_MODEL and not (DEFAULT_BUNDLE.is_file() or os.environ.get("TONECLS_MODEL")):
        pytest.skip(f"the bundled default model ({DEFAULT_BUNDLE.parent}) is not built yet "
                    "(set TONECLS_MODEL to a bundle directory to run this notebook with another model)")


def run_notebook(name: str) -> nbformat.NotebookNode:
    """Execute ``notebooks/<name>``; a failing cell fails the test with its error."""
    notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     record_timing=False, resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        pytest.fail(f"{name}: a cell failed:\n{error}", pytrace=False)
    except nbclient.exceptions.CellTimeoutError as error:
        pytest.fail(f"{name}: a cell ran longer than {CELL_TIMEOUT} s:\n{error}", pytrace=False)
    return notebook


def outputs_of(notebook: nbformat.NotebookNode, kind: str) -> list:
    return [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs
            if out.output_type == kind]


def repo_reports() -> list[Path]:
    return sorted((ROOT / "reports").rglob("*")) if (ROOT / "reports").exists() else []


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom(name, notebook_env):
    skip_without_model(name)
    before = repo_reports(), sorted(NOTEBOOK_DIR.iterdir())
    notebook = run_notebook(name)

    images = [out for out in outputs_of(notebook, "display_data") + outputs_of(notebook, "execute_result")
              if "image/png" in out.get("data", {})]
    assert images, f"{name} shows no plot"
    assert (repo_reports(), sorted(NOTEBOOK_DIR.iterdir())) == before, f"{name} wrote into the repository"
    written = sorted(p.name for p in notebook_env.iterdir())
    expected = {
        "01_quickstart.ipynb": {"sample_scored.csv"},
        "02_train_and_evaluate.ipynb": {"small_model"},
        "03_bias_audit.ipynb": {"audit_sentiment.html", "audit_sentiment.md", "audit_sentiment.json",
                                "probes.html", "probes.md", "probes.json"},
        "04_prevalence.ipynb": {"to_label.csv", "prevalence.html", "prevalence.md", "prevalence.json",
                                "recalibrated_model"},
        "05_privacy.ipynb": {"privacy_plain.html", "privacy_plain.md", "privacy_plain.json"},
    }[name]
    assert expected <= set(written), f"{name} wrote {written}"
    # the consistency checks the notebooks print (same API, same answers)
    printed = "".join(out.get("text", "") for out in outputs_of(notebook, "stream"))
    for check in {
        "01_quickstart.ipynb": ["same ids, in the same order, as the input: True", "same labels as score_frame: True"],
        "02_train_and_evaluate.ipynb": ["same probabilities after reloading: True"],
        "03_bias_audit.ipynb": ["audited ", " probe sentences, "],
        "04_prevalence.ipynb": ["true share inside the interval for every class: ", "ECE on held-out folds: "],
        "05_privacy.ipynb": ["epsilon within target: True"],
    }[name]:
        assert check in printed, f"{name} did not print {check!r}"


@pytest.mark.slow
@pytest.mark.skipif(not (DATA_DIR / "tweeteval").is_dir(),
                    reason=f"benchmark data not at {DATA_DIR}: the default run already uses the sample")
@pytest.mark.parametrize("name", ["02_train_and_evaluate.ipynb", "03_bias_audit.ipynb"])
def test_notebook_falls_back_to_the_sample_export(name, notebook_env, monkeypatch):
    """Without benchmark data (forced here), notebooks 02 and 03 work on the sample export."""
    skip_without_model(name)
    monkeypatch.setenv("TONECLS_NOTEBOOK_DATA", "sample")
    notebook = run_notebook(name)
    printed = "".join(out.get("text", "") for out in outputs_of(notebook, "stream"))
    if name == "02_train_and_evaluate.ipynb":
        assert "training on the sample export" in printed
        assert (notebook_env / "small_model" / "bundle.json").is_file()
    else:
        assert "across platform, region" in printed  # the sample's group columns are audited
        assert (notebook_env / "audit_sentiment.json").is_file()


def test_committed_notebooks_are_small_and_error_free():
    for name in NOTEBOOKS:
        path = NOTEBOOK_DIR / name
        assert path.stat().st_size < 1_000_000, f"{name} is {path.stat().st_size:,} bytes; keep outputs small"
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        errors = outputs_of(notebook, "error")
        assert not errors, f"{name} was saved with an error output: {errors[0].get('evalue')}"
        first = next(cell for cell in notebook.cells if cell.cell_type == "code")
        assert 'FAST = os.environ.get("TONECLS_NOTEBOOK_FAST") == "1"' in first.source


@pytest.mark.slow
def test_a_notebook_run_without_an_output_folder_changes_nothing_in_the_repository(notebook_env, monkeypatch):
    """By default a notebook writes into a new temporary folder, never over tracked files."""
    import subprocess

    monkeypatch.delenv("TONECLS_OUTPUT_DIR")

    def status() -> str:
        return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout

    if subprocess.run(["git", "rev-parse"], cwd=ROOT, capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    skip_without_model("01_quickstart.ipynb")
    before = status()
    notebook = run_notebook("01_quickstart.ipynb")
    assert status() == before
    printed = "".join(out.get("text", "") for out in outputs_of(notebook, "stream"))
    assert "tonecls-notebook-" in printed  # the summary names the output in the temporary folder
