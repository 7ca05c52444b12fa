"""Load one module of another source tree of tonecls (e.g. a git worktree of an earlier commit)
beside this checkout's, so that a benchmark compares the two side by side in one process."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def module_from_source(source: str | Path, relative_path: str, name: str) -> ModuleType:
    """``SOURCE/relative_path`` imported as the module ``name`` (its own imports of other
    tonecls modules resolve to this checkout's)."""
    spec = importlib.util.spec_from_file_location(name, Path(source) / relative_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
