"""A bounded memo: the per-token and per-piece caches of tokenising and language identification."""

from __future__ import annotations

import itertools
from typing import Any


class BoundedMemo(dict):
    """A dict of at most ``limit`` entries: adding to a full memo first drops its older half
    (in insertion order), so a long job's rare keys go while frequent ones, soon seen again,
    come back at once. Lookups are plain dict lookups."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, key: Any, value: Any) -> Any:
        """Store ``key -> value`` (making room first if full) and return ``value``. Safe when
        threads share the memo: a key another thread dropped first is skipped."""
        if len(self) >= self.limit:
            try:
                older = list(itertools.islice(self, max(1, len(self) // 2)))
            except RuntimeError:  # another thread changed the memo meanwhile
                older = []
            for old in older:
                self.pop(old, None)
        self[key] = value
        return value
