"""The choices of the streaming runner's options, in one place (standard library only, so that
the command line can offer them without importing pandas)."""

from __future__ import annotations

from typing import Literal

__all__ = ["ENGINES", "ON_BAD_LINES", "Engine", "OnBadLines"]

ON_BAD_LINES = ("flag", "error")
"""What to do with a malformed line: keep it as a flagged row, or stop with an error."""
OnBadLines = Literal["flag", "error"]

ENGINES = ("local", "dask")
"""Where the units of a file job are transformed: here (and local worker processes), or on Dask."""
Engine = Literal["local", "dask"]
