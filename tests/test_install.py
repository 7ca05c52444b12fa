"""A plain install (no extras) scores and audits without TensorFlow or Keras.

It builds a fresh virtual environment and installs the package from PyPI's wheels, which takes
a minute or two: CI runs it (``.ci/run`` sets ``TONECLS_TEST_PLAIN_INSTALL=1``); elsewhere run
``TONECLS_TEST_PLAIN_INSTALL=1 pytest tests/test_install.py`` or ``bash scripts/check_plain_install.sh``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("TONECLS_TEST_PLAIN_INSTALL") != "1",
                    reason="builds a virtual environment (set TONECLS_TEST_PLAIN_INSTALL=1; CI does)")
def test_a_plain_install_scores_and_audits_without_tensorflow(tmp_path):
    result = subprocess.run(["bash", str(ROOT / "scripts" / "check_plain_install.sh"), str(tmp_path / "venv")],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "without TensorFlow or Keras" in result.stdout
    venv = tmp_path / "venv"
    site = next(venv.glob("lib/python*/site-packages"))
    assert not (site / "tensorflow").exists() and not (site / "keras").exists()
