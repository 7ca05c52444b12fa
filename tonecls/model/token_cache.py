"""Tokenised training texts cached on disk between runs, keyed by the texts and the preprocessing."""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tonecls.io.files import atomic_write

__all__ = ["tokenize_cached"]


def tokenize_cached(preprocessor: Any, texts: Sequence[Any], token_cache: str | Path | None) -> tuple[list, list]:
    """``preprocessor.tokenize_with_status(texts)``, read from (or saved to) ``token_cache`` when given."""
    if token_cache is None:
        return preprocessor.tokenize_with_status(texts)
    from tonecls import preprocess

    digest = hashlib.sha256()
    digest.update(json.dumps([preprocessor.config.to_dict(), preprocess.TOKENIZER_VERSION], sort_keys=True,
                             default=str).encode())
    for text in texts:
        digest.update(repr(text).encode("utf-8", "surrogatepass") + b"\x00")
    path = Path(token_cache) / f"tokens-{digest.hexdigest()[:24]}.pkl"
    if path.is_file():
        with open(path, "rb") as handle:
            return pickle.load(handle)
    result = preprocessor.tokenize_with_status(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as handle:
        pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return result
