"""The README's first-screen commands work from a clean clone of the repository.

CI (`.ci/run`) runs the test command itself after installing from scratch; here the main-job
command runs in a fresh `git clone` of this checkout, with the already installed environment,
and must produce the scored sample export and the audit report.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
MAIN_JOB = "bash scripts/quickstart.sh"
TEST_COMMAND = "bash scripts/test.sh"


def first_screen_commands() -> list[str]:
    """Commands of the first fenced shell block of README.md, comments stripped."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", readme, re.S)
    assert block, "README.md has no ```bash block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.split("#", 1)[0].strip()]


def test_readme_first_screen_gives_the_main_job_and_the_test_command():
    assert first_screen_commands() == [MAIN_JOB, TEST_COMMAND]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_screen = readme.split("<!-- end of first screen -->")[0]
    assert len(first_screen.splitlines()) <= 40
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_main_job_from_a_clean_clone(tmp_path):
    clone = tmp_path / "tonecls"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {
        **os.environ,
        "TONECLS_VENV": sys.prefix,  # this environment already has the requirements
        "TONECLS_SKIP_SETUP": "1",
        "PYTHONPATH": str(clone),  # run the clone's code, not this checkout's
    }
    done = subprocess.run(MAIN_JOB.split(), cwd=clone, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    sample = pd.read_csv(clone / "data" / "sample_posts.csv", dtype=str, keep_default_na=False)
    scored = pd.read_csv(clone / "reports" / "sample_scored.csv", dtype=str, keep_default_na=False)
    assert scored["id"].tolist() == sample["id"].tolist()
    assert scored[sample.columns].equals(sample)
    assert {"tonecls_status", "sentiment_label", "emotion_label", "ekman_labels"} <= set(scored.columns)
    assert (scored["tonecls_status"] == "ok").sum() >= len(sample) - 10

    html = (clone / "reports" / "sample_audit.html").read_text(encoding="utf-8")
    assert "<html" in html and "data:image/png;base64," in html
    assert not re.search(r"""(src|href)=["']https?://""", html)
    for suffix in (".md", ".json"):
        assert (clone / "reports" / f"sample_audit{suffix}").is_file()
